//! Layout of an Arrow array inside a flat payload.
//!
//! A sender copies every buffer of an [`ArrayData`] (validity bitmaps, values, offsets, and the
//! buffers of child arrays) into one contiguous payload, each buffer starting at a multiple of
//! [`BUFFER_ALIGNMENT`] bytes, and describes where each landed in an [`ArrowTypeInfo`]. A
//! receiver rebuilds the array from the payload without copying: every buffer becomes a slice
//! of the one payload [`Buffer`]. Rebuilding validates the layout, so a malformed description
//! is an error, never a panic or an out-of-bounds read.

use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};
use arrow_data::ArrayData;
use arrow_schema::{ArrowError, DataType};
use serde::{Deserialize, Serialize};

/// Alignment of every buffer inside a payload (Arrow's recommended 64 bytes).
pub const BUFFER_ALIGNMENT: usize = 64;

/// Where an Arrow array's buffers are inside a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrowTypeInfo {
    /// The array's Arrow type.
    pub data_type: DataType,
    /// Number of elements.
    pub len: usize,
    /// Number of null elements.
    pub null_count: usize,
    /// Validity bitmap: its bytes and the bit offset of the array's first element.
    pub validity: Option<(BufferOffset, usize)>,
    /// Offset of the first element into the buffers, in elements (as `ArrayData::offset`).
    pub offset: usize,
    /// The array's buffers, in Arrow's order for `data_type`.
    pub buffer_offsets: Vec<BufferOffset>,
    /// Layouts of the child arrays (of lists, structs, ...), in order.
    pub child_data: Vec<ArrowTypeInfo>,
}

/// A byte range of the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferOffset {
    /// Start, in bytes from the start of the payload.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl ArrowTypeInfo {
    /// Layout of a `UInt8` array of `len` bytes, the form raw bytes travel in.
    pub fn byte_array(len: usize) -> Self {
        Self {
            data_type: DataType::UInt8,
            len,
            null_count: 0,
            validity: None,
            offset: 0,
            buffer_offsets: vec![BufferOffset { offset: 0, len }],
            child_data: Vec::new(),
        }
    }

    /// Layout of an empty array of type `Null` (what timer ticks carry).
    pub fn empty() -> Self {
        Self {
            data_type: DataType::Null,
            len: 0,
            null_count: 0,
            validity: None,
            offset: 0,
            buffer_offsets: Vec::new(),
            child_data: Vec::new(),
        }
    }
}

fn align(offset: usize) -> usize {
    offset.div_ceil(BUFFER_ALIGNMENT) * BUFFER_ALIGNMENT
}

/// Number of payload bytes [`copy_array_into`] needs for `data`.
pub fn required_size(data: &ArrayData) -> usize {
    fn walk(data: &ArrayData, mut size: usize) -> usize {
        if let Some(nulls) = data.nulls() {
            size = align(size) + nulls.buffer().len();
        }
        for buffer in data.buffers() {
            size = align(size) + buffer.len();
        }
        for child in data.child_data() {
            size = walk(child, size);
        }
        size
    }
    walk(data, 0)
}

/// Copies the buffers of `data` into `target` (at least [`required_size`] bytes) and returns
/// their layout.
///
/// # Panics
/// If `target` is shorter than [`required_size`]`(data)`; callers size it with that function.
pub fn copy_array_into(target: &mut [u8], data: &ArrayData) -> ArrowTypeInfo {
    fn place(target: &mut [u8], next: &mut usize, bytes: &[u8]) -> BufferOffset {
        let offset = align(*next);
        target[offset..offset + bytes.len()].copy_from_slice(bytes);
        *next = offset + bytes.len();
        BufferOffset {
            offset,
            len: bytes.len(),
        }
    }
    fn walk(target: &mut [u8], next: &mut usize, data: &ArrayData) -> ArrowTypeInfo {
        let validity = data.nulls().map(|nulls| {
            (
                place(target, next, nulls.buffer().as_slice()),
                nulls.offset(),
            )
        });
        let buffer_offsets = data
            .buffers()
            .iter()
            .map(|buffer| place(target, next, buffer.as_slice()))
            .collect();
        let child_data = data
            .child_data()
            .iter()
            .map(|child| walk(target, next, child))
            .collect();
        ArrowTypeInfo {
            data_type: data.data_type().clone(),
            len: data.len(),
            null_count: data.null_count(),
            validity,
            offset: data.offset(),
            buffer_offsets,
            child_data,
        }
    }
    let mut next = 0;
    walk(target, &mut next, data)
}

/// Rebuilds an array from a payload without copying, validating the layout.
pub fn array_from_buffer(buffer: &Buffer, info: &ArrowTypeInfo) -> Result<ArrayData, ArrowError> {
    fn slice(buffer: &Buffer, range: BufferOffset) -> Result<Buffer, ArrowError> {
        match range.offset.checked_add(range.len) {
            Some(end) if end <= buffer.len() => {
                Ok(buffer.slice_with_length(range.offset, range.len))
            }
            _ => Err(ArrowError::InvalidArgumentError(format!(
                "buffer range {}..+{} lies outside the {}-byte payload",
                range.offset,
                range.len,
                buffer.len()
            ))),
        }
    }
    fn walk(buffer: &Buffer, info: &ArrowTypeInfo, depth: usize) -> Result<ArrayData, ArrowError> {
        if depth > 64 {
            return Err(ArrowError::InvalidArgumentError(
                "array nesting deeper than 64 levels".into(),
            ));
        }
        let nulls = match info.validity {
            Some((range, bit_offset)) => {
                let bits = slice(buffer, range)?;
                let needed = bit_offset
                    .checked_add(info.len)
                    .map(|bits| bits.div_ceil(8))
                    .unwrap_or(usize::MAX);
                if needed > bits.len() {
                    return Err(ArrowError::InvalidArgumentError(format!(
                        "validity bitmap of {} bytes is too short for {} elements at bit offset {bit_offset}",
                        bits.len(),
                        info.len
                    )));
                }
                Some(NullBuffer::new(BooleanBuffer::new(
                    bits, bit_offset, info.len,
                )))
            }
            None => None,
        };
        let buffers = info
            .buffer_offsets
            .iter()
            .map(|range| slice(buffer, *range))
            .collect::<Result<Vec<_>, _>>()?;
        let child_data = info
            .child_data
            .iter()
            .map(|child| walk(buffer, child, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        ArrayData::builder(info.data_type.clone())
            .len(info.len)
            .offset(info.offset)
            .nulls(nulls)
            .buffers(buffers)
            .child_data(child_data)
            .build()
    }
    walk(buffer, info, 0)
}
