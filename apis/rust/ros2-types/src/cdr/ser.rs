//! Arrow row → CDR bytes.

use arrow_array::{
    cast::AsArray,
    types::{
        Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
        UInt32Type, UInt64Type, UInt8Type,
    },
    Array, ArrayRef, ArrowPrimitiveType, FixedSizeListArray, LargeListArray, LargeStringArray,
    ListArray, PrimitiveArray, StringArray, StructArray,
};
use arrow_buffer::ToByteSlice;

use super::{FieldPath, Scalar, ENCAPSULATION_HEADER};
use crate::{
    error::SerializeError,
    mapping::{describe_data_type, describe_element, describe_field},
    types::{Cardinality, ElementType, Field, FieldType, MessageType, Primitive, Value},
};

/// Serializes row `row` of `array` (a `StructArray` of `message`'s fields) into a new buffer,
/// encapsulation header included.
///
/// Missing fields take their `.msg` defaults. Fails on an unknown field, a field of the wrong
/// Arrow type, a fixed-size array of the wrong length, or a bounded string or sequence over its
/// bound; the error names the field path.
pub fn serialize(
    message: &MessageType,
    array: &StructArray,
    row: usize,
) -> Result<Vec<u8>, SerializeError> {
    let mut out = Vec::with_capacity(256);
    serialize_into(message, array, row, &mut out)?;
    Ok(out)
}

/// Like [`serialize`], appending to `out` (which keeps its capacity across messages). On error
/// `out` is left as it was.
pub fn serialize_into(
    message: &MessageType,
    array: &StructArray,
    row: usize,
    out: &mut Vec<u8>,
) -> Result<(), SerializeError> {
    if row >= array.len() {
        return Err(SerializeError::RowOutOfRange {
            row,
            len: array.len(),
        });
    }
    let start = out.len();
    out.extend_from_slice(&ENCAPSULATION_HEADER);
    let mut writer = Writer {
        out,
        base: start + ENCAPSULATION_HEADER.len(),
    };
    let result = writer.message(message, Some((array, row)), &FieldPath::Root);
    if result.is_err() {
        writer.out.truncate(start);
    }
    result
}

/// Runs `$body` with `$T` bound to the Arrow primitive type of a non-bool primitive, or
/// `$bool` for `bool`.
macro_rules! with_primitive {
    ($p:expr, $T:ident => $body:expr, bool => $bool:expr) => {
        match $p {
            Primitive::Bool => $bool,
            Primitive::Byte | Primitive::Char | Primitive::UInt8 => {
                type $T = UInt8Type;
                $body
            }
            Primitive::Int8 => {
                type $T = Int8Type;
                $body
            }
            Primitive::Int16 => {
                type $T = Int16Type;
                $body
            }
            Primitive::UInt16 => {
                type $T = UInt16Type;
                $body
            }
            Primitive::Int32 => {
                type $T = Int32Type;
                $body
            }
            Primitive::UInt32 => {
                type $T = UInt32Type;
                $body
            }
            Primitive::Int64 => {
                type $T = Int64Type;
                $body
            }
            Primitive::UInt64 => {
                type $T = UInt64Type;
                $body
            }
            Primitive::Float32 => {
                type $T = Float32Type;
                $body
            }
            Primitive::Float64 => {
                type $T = Float64Type;
                $body
            }
        }
    };
}

fn wrong_type(path: &FieldPath<'_>, expected: String, got: &dyn Array) -> SerializeError {
    SerializeError::WrongType {
        path: path.to_string(),
        expected,
        got: describe_data_type(got.data_type()),
    }
}

fn u32_len(len: usize, path: &FieldPath<'_>) -> Result<u32, SerializeError> {
    u32::try_from(len).map_err(|_| SerializeError::TooLong {
        path: path.to_string(),
        len,
    })
}

struct Writer<'o> {
    out: &'o mut Vec<u8>,
    /// Index in `out` where the payload starts; alignment counts from here.
    base: usize,
}

impl Writer<'_> {
    fn align(&mut self, n: usize) {
        let pad = (n - (self.out.len() - self.base) % n) % n;
        self.out.resize(self.out.len() + pad, 0);
    }

    fn put<T: Scalar>(&mut self, v: T) {
        self.align(T::SIZE);
        v.put(self.out);
    }

    fn put_slice<T: Scalar>(&mut self, values: &[T]) {
        if values.is_empty() {
            return;
        }
        self.align(T::SIZE);
        if cfg!(target_endian = "little") {
            self.out.extend_from_slice(values.to_byte_slice());
        } else {
            self.out.reserve(values.len() * T::SIZE);
            for v in values {
                v.put(self.out);
            }
        }
    }

    /// Writes one message; `source` is `None` when every field takes its default.
    fn message(
        &mut self,
        message: &MessageType,
        source: Option<(&StructArray, usize)>,
        path: &FieldPath<'_>,
    ) -> Result<(), SerializeError> {
        if let Some((array, _)) = source {
            if let Some(unknown) = array
                .fields()
                .iter()
                .find(|f| message.field(f.name()).is_none())
            {
                return Err(SerializeError::UnknownField {
                    path: FieldPath::Field(path, unknown.name()).to_string(),
                    message_type: message.name.to_string(),
                });
            }
        }
        if message.fields.is_empty() {
            self.out.push(0);
            return Ok(());
        }
        for field in &message.fields {
            let field_path = FieldPath::Field(path, &field.name);
            match source.and_then(|(array, row)| Some((array.column_by_name(&field.name)?, row))) {
                Some((column, row)) => self.field(field, column, row, &field_path)?,
                None => self.default_field(field, &field_path)?,
            }
        }
        Ok(())
    }

    fn field(
        &mut self,
        field: &Field,
        column: &ArrayRef,
        row: usize,
        path: &FieldPath<'_>,
    ) -> Result<(), SerializeError> {
        let ty = &field.ty;
        match ty.cardinality {
            Cardinality::Single => self.elements(&ty.element, column, row, 1, path, false),
            Cardinality::Array(n) => {
                let (values, start, len) = list_slice(ty, column, row, path)?;
                if len != n {
                    return Err(SerializeError::WrongLength {
                        path: path.to_string(),
                        expected: n,
                        got: len,
                    });
                }
                self.elements(&ty.element, values, start, len, path, true)
            }
            Cardinality::Sequence { bound } => {
                let (values, start, len) = list_slice(ty, column, row, path)?;
                if let Some(bound) = bound.filter(|b| len > *b) {
                    return Err(SerializeError::OverBound {
                        path: path.to_string(),
                        len,
                        bound,
                        unit: "elements",
                    });
                }
                self.put(u32_len(len, path)?);
                self.elements(&ty.element, values, start, len, path, true)
            }
        }
    }

    /// Writes `values[start..start + len]`; `indexed` adds `[i]` to error paths.
    fn elements(
        &mut self,
        element: &ElementType,
        values: &ArrayRef,
        start: usize,
        len: usize,
        path: &FieldPath<'_>,
        indexed: bool,
    ) -> Result<(), SerializeError> {
        let out_of_range = || SerializeError::WrongLength {
            path: path.to_string(),
            expected: start + len,
            got: values.len(),
        };
        let range = start..start + len;
        if range.end > values.len() {
            return Err(out_of_range());
        }
        match element {
            ElementType::Primitive(p) => with_primitive!(p,
                T => {
                    let array = values
                        .as_primitive_opt::<T>()
                        .ok_or_else(|| wrong_type(path, describe_element(element), values))?;
                    self.put_primitives(array, range)
                },
                bool => {
                    let array = values
                        .as_boolean_opt()
                        .ok_or_else(|| wrong_type(path, describe_element(element), values))?;
                    for i in range {
                        self.out.push(u8::from(array.value(i)));
                    }
                }
            ),
            ElementType::String { bound } | ElementType::WString { bound } => {
                let wide = matches!(element, ElementType::WString { .. });
                let strings = StringColumn::new(values)
                    .ok_or_else(|| wrong_type(path, describe_element(element), values))?;
                for i in range {
                    let item_path = FieldPath::Index(path, i - start);
                    let item_path = if indexed { &item_path } else { path };
                    self.string(strings.value(i), *bound, wide, item_path)?;
                }
            }
            ElementType::Message(message) => {
                let structs = values
                    .as_struct_opt()
                    .ok_or_else(|| wrong_type(path, describe_element(element), values))?;
                for i in range {
                    let item_path = FieldPath::Index(path, i - start);
                    let item_path = if indexed { &item_path } else { path };
                    self.message(message, Some((structs, i)), item_path)?;
                }
            }
        }
        Ok(())
    }

    fn put_primitives<T>(&mut self, array: &PrimitiveArray<T>, range: std::ops::Range<usize>)
    where
        T: ArrowPrimitiveType,
        T::Native: Scalar,
    {
        // `range` was checked against the array length by the caller.
        if let Some(values) = array.values().get(range) {
            self.put_slice(values);
        }
    }

    fn string(
        &mut self,
        s: &str,
        bound: Option<usize>,
        wide: bool,
        path: &FieldPath<'_>,
    ) -> Result<(), SerializeError> {
        if wide {
            let units: Vec<u16> = s.encode_utf16().collect();
            if let Some(bound) = bound.filter(|b| units.len() > *b) {
                return Err(SerializeError::OverBound {
                    path: path.to_string(),
                    len: units.len(),
                    bound,
                    unit: "UTF-16 code units",
                });
            }
            self.put(u32_len(units.len(), path)?);
            self.put_slice(&units);
        } else {
            if let Some(bound) = bound.filter(|b| s.len() > *b) {
                return Err(SerializeError::OverBound {
                    path: path.to_string(),
                    len: s.len(),
                    bound,
                    unit: "bytes",
                });
            }
            self.put(u32_len(s.len() + 1, path)?);
            self.out.extend_from_slice(s.as_bytes());
            self.out.push(0);
        }
        Ok(())
    }

    fn default_field(&mut self, field: &Field, path: &FieldPath<'_>) -> Result<(), SerializeError> {
        let element = &field.ty.element;
        let items = match &field.default {
            Some(Value::Sequence(items)) => Some(items.as_slice()),
            _ => None,
        };
        match field.ty.cardinality {
            Cardinality::Single => self.value_or_zero(element, field.default.as_ref(), path),
            Cardinality::Array(n) => match items {
                Some(items) => items
                    .iter()
                    .try_for_each(|v| self.value_or_zero(element, Some(v), path)),
                None => (0..n).try_for_each(|_| self.value_or_zero(element, None, path)),
            },
            Cardinality::Sequence { .. } => {
                let items = items.unwrap_or_default();
                self.put(u32_len(items.len(), path)?);
                items
                    .iter()
                    .try_for_each(|v| self.value_or_zero(element, Some(v), path))
            }
        }
    }

    fn value_or_zero(
        &mut self,
        element: &ElementType,
        value: Option<&Value>,
        path: &FieldPath<'_>,
    ) -> Result<(), SerializeError> {
        match element {
            ElementType::Primitive(p) => {
                let (int, float) = match value {
                    Some(Value::Bool(b)) => (i128::from(*b), f64::from(u8::from(*b))),
                    Some(Value::Int(i)) => (i128::from(*i), *i as f64),
                    Some(Value::UInt(u)) => (i128::from(*u), *u as f64),
                    Some(Value::Float(f)) => (*f as i128, *f),
                    _ => (0, 0.0),
                };
                // The parser range-checked defaults, so the casts below do not truncate.
                match p {
                    Primitive::Bool => self.out.push(u8::from(int != 0)),
                    Primitive::Byte | Primitive::Char | Primitive::UInt8 => self.put(int as u8),
                    Primitive::Int8 => self.put(int as i8),
                    Primitive::Int16 => self.put(int as i16),
                    Primitive::UInt16 => self.put(int as u16),
                    Primitive::Int32 => self.put(int as i32),
                    Primitive::UInt32 => self.put(int as u32),
                    Primitive::Int64 => self.put(int as i64),
                    Primitive::UInt64 => self.put(int as u64),
                    Primitive::Float32 => self.put(float as f32),
                    Primitive::Float64 => self.put(float),
                }
                Ok(())
            }
            ElementType::String { bound } | ElementType::WString { bound } => {
                let s = match value {
                    Some(Value::String(s)) => s.as_str(),
                    _ => "",
                };
                self.string(
                    s,
                    *bound,
                    matches!(element, ElementType::WString { .. }),
                    path,
                )
            }
            ElementType::Message(message) => self.message(message, None, path),
        }
    }
}

/// A `Utf8` or `LargeUtf8` column.
enum StringColumn<'a> {
    Small(&'a StringArray),
    Large(&'a LargeStringArray),
}

impl<'a> StringColumn<'a> {
    fn new(array: &'a ArrayRef) -> Option<Self> {
        if let Some(a) = array.as_string_opt::<i32>() {
            return Some(Self::Small(a));
        }
        array.as_string_opt::<i64>().map(Self::Large)
    }

    fn value(&self, i: usize) -> &'a str {
        match self {
            Self::Small(a) => a.value(i),
            Self::Large(a) => a.value(i),
        }
    }
}

/// The values array and the element range of row `row` of a list column.
fn list_slice<'a>(
    ty: &FieldType,
    column: &'a ArrayRef,
    row: usize,
    path: &FieldPath<'_>,
) -> Result<(&'a ArrayRef, usize, usize), SerializeError> {
    let any = column.as_any();
    if let Some(list) = any.downcast_ref::<ListArray>() {
        let offsets = list.value_offsets();
        let (start, end) = (offsets[row], offsets[row + 1]);
        return Ok((list.values(), start.to_usize(), (end - start).to_usize()));
    }
    if let Some(list) = any.downcast_ref::<LargeListArray>() {
        let offsets = list.value_offsets();
        let (start, end) = (offsets[row], offsets[row + 1]);
        return Ok((list.values(), start.to_usize(), (end - start).to_usize()));
    }
    if let Some(list) = any.downcast_ref::<FixedSizeListArray>() {
        return Ok((
            list.values(),
            list.value_offset_at(row),
            list.value_length().to_usize(),
        ));
    }
    Err(wrong_type(path, describe_field(ty), column))
}

trait ToUsize {
    fn to_usize(self) -> usize;
}

impl ToUsize for i32 {
    fn to_usize(self) -> usize {
        usize::try_from(self).unwrap_or(0)
    }
}

impl ToUsize for i64 {
    fn to_usize(self) -> usize {
        usize::try_from(self).unwrap_or(0)
    }
}
