//! CDR bytes → Arrow rows.

use std::sync::Arc;

use arrow_array::{
    types::{
        Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
        UInt32Type, UInt64Type, UInt8Type,
    },
    ArrayRef, ArrowPrimitiveType, BooleanArray, FixedSizeListArray, ListArray, PrimitiveArray,
    StringArray, StructArray,
};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;

use super::{FieldPath, Scalar, ENCAPSULATION_HEADER};
use crate::{
    error::DeserializeError,
    mapping::{arrow_fields, field_data_type},
    types::{Cardinality, ElementType, FieldType, MessageType, Primitive},
};

/// Decodes one CDR message (encapsulation header included) into a one-row `StructArray`.
pub fn deserialize(
    message: &Arc<MessageType>,
    bytes: &[u8],
) -> Result<StructArray, DeserializeError> {
    let mut builder = MessageBuilder::new(message.clone());
    builder.append_cdr(bytes)?;
    builder.finish()
}

/// Collects decoded messages into one `StructArray`, one row per message, without an
/// intermediate per-message array. A message that fails to decode adds nothing.
#[derive(Debug)]
pub struct MessageBuilder {
    root: StructColumn,
}

impl MessageBuilder {
    /// An empty builder for messages of type `message`.
    pub fn new(message: Arc<MessageType>) -> Self {
        Self {
            root: StructColumn::new(message),
        }
    }

    /// The type of the messages it decodes.
    pub fn message_type(&self) -> &Arc<MessageType> {
        &self.root.message
    }

    /// Messages appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.root.len
    }

    /// Whether no message was appended since the last [`finish`](Self::finish).
    pub fn is_empty(&self) -> bool {
        self.root.len == 0
    }

    /// Decodes one CDR message (encapsulation header included) and appends it as a row.
    pub fn append_cdr(&mut self, bytes: &[u8]) -> Result<(), DeserializeError> {
        let payload = match bytes.split_at_checked(ENCAPSULATION_HEADER.len()) {
            Some((header, payload)) if header[..2] == ENCAPSULATION_HEADER[..2] => payload,
            _ => {
                return Err(DeserializeError::Header {
                    found: bytes.iter().take(4).copied().collect(),
                })
            }
        };
        self.append_payload(payload)
    }

    /// Decodes one message payload that has no encapsulation header.
    pub fn append_payload(&mut self, payload: &[u8]) -> Result<(), DeserializeError> {
        let before = self.root.len;
        let mut reader = Reader {
            data: payload,
            pos: 0,
        };
        let result = reader.message(&mut self.root, &FieldPath::Root);
        if result.is_err() {
            self.root.truncate(before);
        }
        result
    }

    /// The rows appended so far as a `StructArray` of [`arrow_type`](crate::arrow_type); the
    /// builder is empty afterwards and can be reused.
    pub fn finish(&mut self) -> Result<StructArray, DeserializeError> {
        self.root.finish()
    }
}

#[derive(Debug)]
struct StructColumn {
    message: Arc<MessageType>,
    columns: Vec<Column>,
    len: usize,
}

#[derive(Debug)]
enum Column {
    Bool(Vec<bool>),
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Utf8 {
        offsets: Vec<i32>,
        data: Vec<u8>,
    },
    List {
        offsets: Vec<i32>,
        child: Box<Column>,
    },
    Fixed {
        size: usize,
        child: Box<Column>,
    },
    Struct(StructColumn),
}

impl StructColumn {
    fn new(message: Arc<MessageType>) -> Self {
        let columns = message.fields.iter().map(|f| Column::new(&f.ty)).collect();
        Self {
            message,
            columns,
            len: 0,
        }
    }

    fn truncate(&mut self, len: usize) {
        for c in &mut self.columns {
            c.truncate(len);
        }
        self.len = len.min(self.len);
    }

    fn finish(&mut self) -> Result<StructArray, DeserializeError> {
        let len = std::mem::take(&mut self.len);
        if self.message.fields.is_empty() {
            return Ok(StructArray::new_empty_fields(len, None));
        }
        let arrays = self
            .message
            .fields
            .iter()
            .zip(&mut self.columns)
            .map(|(f, c)| c.finish(&field_data_type(&f.ty)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StructArray::try_new(
            arrow_fields(&self.message),
            arrays,
            None,
        )?)
    }
}

fn offset(len: usize) -> Result<i32, DeserializeError> {
    i32::try_from(len).map_err(|_| DeserializeError::Overflow)
}

fn primitive_array<T: ArrowPrimitiveType>(values: &mut Vec<T::Native>) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(
        ScalarBuffer::from(std::mem::take(values)),
        None,
    ))
}

impl Column {
    fn new(ty: &FieldType) -> Self {
        let element = Self::element(&ty.element);
        match ty.cardinality {
            Cardinality::Single => element,
            Cardinality::Array(size) => Self::Fixed {
                size,
                child: Box::new(element),
            },
            Cardinality::Sequence { .. } => Self::List {
                offsets: vec![0],
                child: Box::new(element),
            },
        }
    }

    fn element(element: &ElementType) -> Self {
        match element {
            ElementType::Primitive(p) => match p {
                Primitive::Bool => Self::Bool(Vec::new()),
                Primitive::Byte | Primitive::Char | Primitive::UInt8 => Self::U8(Vec::new()),
                Primitive::Int8 => Self::I8(Vec::new()),
                Primitive::UInt16 => Self::U16(Vec::new()),
                Primitive::Int16 => Self::I16(Vec::new()),
                Primitive::UInt32 => Self::U32(Vec::new()),
                Primitive::Int32 => Self::I32(Vec::new()),
                Primitive::UInt64 => Self::U64(Vec::new()),
                Primitive::Int64 => Self::I64(Vec::new()),
                Primitive::Float32 => Self::F32(Vec::new()),
                Primitive::Float64 => Self::F64(Vec::new()),
            },
            ElementType::String { .. } | ElementType::WString { .. } => Self::Utf8 {
                offsets: vec![0],
                data: Vec::new(),
            },
            ElementType::Message(m) => Self::Struct(StructColumn::new(m.clone())),
        }
    }

    /// Drops everything after the first `len` entries.
    fn truncate(&mut self, len: usize) {
        fn cut_offsets(offsets: &mut Vec<i32>, len: usize) -> usize {
            let end = offsets.get(len).copied().unwrap_or(0);
            offsets.truncate(len + 1);
            usize::try_from(end).unwrap_or(0)
        }
        match self {
            Self::Bool(v) => v.truncate(len),
            Self::U8(v) => v.truncate(len),
            Self::I8(v) => v.truncate(len),
            Self::U16(v) => v.truncate(len),
            Self::I16(v) => v.truncate(len),
            Self::U32(v) => v.truncate(len),
            Self::I32(v) => v.truncate(len),
            Self::U64(v) => v.truncate(len),
            Self::I64(v) => v.truncate(len),
            Self::F32(v) => v.truncate(len),
            Self::F64(v) => v.truncate(len),
            Self::Utf8 { offsets, data } => {
                if len + 1 < offsets.len() {
                    let end = cut_offsets(offsets, len);
                    data.truncate(end);
                }
            }
            Self::List { offsets, child } => {
                if len + 1 < offsets.len() {
                    let end = cut_offsets(offsets, len);
                    child.truncate(end);
                }
            }
            Self::Fixed { size, child } => child.truncate(len * *size),
            Self::Struct(s) => s.truncate(len),
        }
    }

    fn finish(&mut self, data_type: &DataType) -> Result<ArrayRef, DeserializeError> {
        let internal = || DeserializeError::Arrow(format!("column does not match {data_type}"));
        Ok(match self {
            Self::Bool(v) => Arc::new(BooleanArray::from(std::mem::take(v))),
            Self::U8(v) => primitive_array::<UInt8Type>(v),
            Self::I8(v) => primitive_array::<Int8Type>(v),
            Self::U16(v) => primitive_array::<UInt16Type>(v),
            Self::I16(v) => primitive_array::<Int16Type>(v),
            Self::U32(v) => primitive_array::<UInt32Type>(v),
            Self::I32(v) => primitive_array::<Int32Type>(v),
            Self::U64(v) => primitive_array::<UInt64Type>(v),
            Self::I64(v) => primitive_array::<Int64Type>(v),
            Self::F32(v) => primitive_array::<Float32Type>(v),
            Self::F64(v) => primitive_array::<Float64Type>(v),
            Self::Utf8 { offsets, data } => {
                let offsets =
                    OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, vec![0])));
                Arc::new(StringArray::try_new(
                    offsets,
                    Buffer::from_vec(std::mem::take(data)),
                    None,
                )?)
            }
            Self::List { offsets, child } => {
                let DataType::List(item) = data_type else {
                    return Err(internal());
                };
                let offsets =
                    OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, vec![0])));
                let values = child.finish(item.data_type())?;
                Arc::new(ListArray::try_new(item.clone(), offsets, values, None)?)
            }
            Self::Fixed { child, .. } => {
                let DataType::FixedSizeList(item, size) = data_type else {
                    return Err(internal());
                };
                let values = child.finish(item.data_type())?;
                Arc::new(FixedSizeListArray::try_new(
                    item.clone(),
                    *size,
                    values,
                    None,
                )?)
            }
            Self::Struct(s) => Arc::new(s.finish()?),
        })
    }
}

fn extend<T: Scalar>(values: &mut Vec<T>, bytes: &[u8]) {
    values.extend(bytes.chunks_exact(T::SIZE).map(T::get));
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }

    fn take(&mut self, n: usize, path: &FieldPath<'_>) -> Result<&'a [u8], DeserializeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.data.len());
        match end.and_then(|end| self.data.get(self.pos..end)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(DeserializeError::Truncated {
                path: path.to_string(),
                offset: self.pos,
                needed: n,
                available: self.remaining(),
            }),
        }
    }

    fn u32(&mut self, path: &FieldPath<'_>) -> Result<u32, DeserializeError> {
        self.align(4);
        Ok(u32::get(self.take(4, path)?))
    }

    /// Reads a length and checks that `len * min_size` bytes are left.
    fn length(&mut self, min_size: usize, path: &FieldPath<'_>) -> Result<usize, DeserializeError> {
        let at = self.pos;
        let len = usize::try_from(self.u32(path)?).unwrap_or(usize::MAX);
        if len.saturating_mul(min_size) > self.remaining() {
            return Err(DeserializeError::LengthTooLarge {
                path: path.to_string(),
                offset: at,
                len,
                available: self.remaining(),
            });
        }
        Ok(len)
    }

    fn message(
        &mut self,
        column: &mut StructColumn,
        path: &FieldPath<'_>,
    ) -> Result<(), DeserializeError> {
        let StructColumn {
            message,
            columns,
            len,
        } = column;
        if message.fields.is_empty() {
            self.take(1, path)?;
        }
        for (field, column) in message.fields.iter().zip(columns.iter_mut()) {
            let path = FieldPath::Field(path, &field.name);
            self.field(&field.ty, column, &path)?;
        }
        *len += 1;
        Ok(())
    }

    fn field(
        &mut self,
        ty: &FieldType,
        column: &mut Column,
        path: &FieldPath<'_>,
    ) -> Result<(), DeserializeError> {
        match (ty.cardinality, column) {
            (Cardinality::Single, column) => self.elements(&ty.element, column, 1, path, false),
            (Cardinality::Array(n), Column::Fixed { child, .. }) => {
                self.elements(&ty.element, child, n, path, true)
            }
            (Cardinality::Sequence { bound }, Column::List { offsets, child }) => {
                let len = self.length(min_size(&ty.element), path)?;
                if let Some(bound) = bound.filter(|b| len > *b) {
                    return Err(DeserializeError::OverBound {
                        path: path.to_string(),
                        len,
                        bound,
                        unit: "elements",
                    });
                }
                self.elements(&ty.element, child, len, path, true)?;
                offsets.push(offset(child.len())?);
                Ok(())
            }
            _ => Err(DeserializeError::Arrow(format!(
                "{path}: internal column mismatch"
            ))),
        }
    }

    fn elements(
        &mut self,
        element: &ElementType,
        column: &mut Column,
        n: usize,
        path: &FieldPath<'_>,
        indexed: bool,
    ) -> Result<(), DeserializeError> {
        match (element, column) {
            (ElementType::Primitive(p), column) => {
                if n == 0 {
                    return Ok(());
                }
                let size = p.size();
                self.align(size);
                let total = n.checked_mul(size).ok_or(DeserializeError::Overflow)?;
                let bytes = self.take(total, path)?;
                match column {
                    Column::Bool(v) => v.extend(bytes.iter().map(|b| *b != 0)),
                    Column::U8(v) => v.extend_from_slice(bytes),
                    Column::I8(v) => extend(v, bytes),
                    Column::U16(v) => extend(v, bytes),
                    Column::I16(v) => extend(v, bytes),
                    Column::U32(v) => extend(v, bytes),
                    Column::I32(v) => extend(v, bytes),
                    Column::U64(v) => extend(v, bytes),
                    Column::I64(v) => extend(v, bytes),
                    Column::F32(v) => extend(v, bytes),
                    Column::F64(v) => extend(v, bytes),
                    _ => {
                        return Err(DeserializeError::Arrow(format!(
                            "{path}: internal column mismatch"
                        )))
                    }
                }
            }
            (
                ElementType::String { bound } | ElementType::WString { bound },
                Column::Utf8 { offsets, data },
            ) => {
                let wide = matches!(element, ElementType::WString { .. });
                for i in 0..n {
                    let item_path = FieldPath::Index(path, i);
                    let item_path = if indexed { &item_path } else { path };
                    if wide {
                        self.wstring(*bound, data, item_path)?;
                    } else {
                        self.string(*bound, data, item_path)?;
                    }
                    offsets.push(offset(data.len())?);
                }
            }
            (ElementType::Message(_), Column::Struct(structs)) => {
                for i in 0..n {
                    let item_path = FieldPath::Index(path, i);
                    let item_path = if indexed { &item_path } else { path };
                    self.message(structs, item_path)?;
                }
            }
            _ => {
                return Err(DeserializeError::Arrow(format!(
                    "{path}: internal column mismatch"
                )))
            }
        }
        Ok(())
    }

    fn string(
        &mut self,
        bound: Option<usize>,
        out: &mut Vec<u8>,
        path: &FieldPath<'_>,
    ) -> Result<(), DeserializeError> {
        let len = self.length(1, path)?;
        let bytes = self.take(len, path)?;
        // The length counts a terminating NUL; tolerate writers that leave it out.
        let text = bytes.strip_suffix(&[0]).unwrap_or(bytes);
        if let Some(bound) = bound.filter(|b| text.len() > *b) {
            return Err(DeserializeError::OverBound {
                path: path.to_string(),
                len: text.len(),
                bound,
                unit: "bytes",
            });
        }
        if std::str::from_utf8(text).is_err() {
            return Err(DeserializeError::Encoding {
                path: path.to_string(),
                encoding: "UTF-8",
            });
        }
        out.extend_from_slice(text);
        Ok(())
    }

    fn wstring(
        &mut self,
        bound: Option<usize>,
        out: &mut Vec<u8>,
        path: &FieldPath<'_>,
    ) -> Result<(), DeserializeError> {
        let len = self.length(2, path)?;
        if let Some(bound) = bound.filter(|b| len > *b) {
            return Err(DeserializeError::OverBound {
                path: path.to_string(),
                len,
                bound,
                unit: "UTF-16 code units",
            });
        }
        let bytes = self.take(len * 2, path)?;
        let units = bytes.chunks_exact(2).map(u16::get);
        for c in char::decode_utf16(units) {
            let c = c.map_err(|_| DeserializeError::Encoding {
                path: path.to_string(),
                encoding: "UTF-16",
            })?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        Ok(())
    }
}

/// The fewest bytes one element takes on the wire, to reject absurd counts early.
fn min_size(element: &ElementType) -> usize {
    match element {
        ElementType::Primitive(p) => p.size(),
        ElementType::String { .. } | ElementType::WString { .. } => 4,
        ElementType::Message(_) => 1,
    }
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Self::Bool(v) => v.len(),
            Self::U8(v) => v.len(),
            Self::I8(v) => v.len(),
            Self::U16(v) => v.len(),
            Self::I16(v) => v.len(),
            Self::U32(v) => v.len(),
            Self::I32(v) => v.len(),
            Self::U64(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::F32(v) => v.len(),
            Self::F64(v) => v.len(),
            Self::Utf8 { offsets, .. } | Self::List { offsets, .. } => offsets.len() - 1,
            Self::Fixed { size, child } => child.len() / (*size).max(1),
            Self::Struct(s) => s.len,
        }
    }
}
