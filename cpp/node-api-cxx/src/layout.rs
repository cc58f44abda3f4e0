//! Describing an Arrow array whose buffers the caller placed inside an output sample, so the
//! sample can be sent as that array without copying.

use arrow_data::ArrayData;
use dora_message::arrow::BufferOffset;
use dora_node_api::ArrowTypeInfo;

/// The layout of `data` relative to `sample`, or a message naming the first buffer that does
/// not lie entirely inside `sample`.
pub fn layout_within(sample: &[u8], data: &ArrayData) -> Result<ArrowTypeInfo, String> {
    walk(sample, data, "array")
}

fn locate(sample: &[u8], bytes: &[u8], what: &str) -> Result<BufferOffset, String> {
    let base = sample.as_ptr() as usize;
    let start = bytes.as_ptr() as usize;
    let inside = start >= base
        && start
            .checked_add(bytes.len())
            .is_some_and(|end| end <= base + sample.len());
    if bytes.is_empty() && !inside {
        // An empty buffer (for example of a zero-length array) carries no data to place.
        return Ok(BufferOffset { offset: 0, len: 0 });
    }
    if !inside {
        return Err(format!(
            "{what} ({} bytes at {start:#x}) is outside the {}-byte sample at {base:#x}",
            bytes.len(),
            sample.len()
        ));
    }
    Ok(BufferOffset {
        offset: start - base,
        len: bytes.len(),
    })
}

fn walk(sample: &[u8], data: &ArrayData, path: &str) -> Result<ArrowTypeInfo, String> {
    let validity = data
        .nulls()
        .map(|nulls| {
            locate(
                sample,
                nulls.buffer().as_slice(),
                &format!("the validity bitmap of {path}"),
            )
            .map(|range| (range, nulls.offset()))
        })
        .transpose()?;
    let buffer_offsets = data
        .buffers()
        .iter()
        .enumerate()
        .map(|(i, buffer)| locate(sample, buffer.as_slice(), &format!("buffer {i} of {path}")))
        .collect::<Result<Vec<_>, _>>()?;
    let child_data = data
        .child_data()
        .iter()
        .enumerate()
        .map(|(i, child)| walk(sample, child, &format!("child {i} of {path}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ArrowTypeInfo {
        data_type: data.data_type().clone(),
        len: data.len(),
        null_count: data.null_count(),
        validity,
        offset: data.offset(),
        buffer_offsets,
        child_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int32Array};
    use arrow_buffer::Buffer;
    use dora_message::arrow::array_from_buffer;

    #[test]
    fn buffers_inside_the_sample_are_located_and_round_trip() {
        let mut sample = vec![0u8; 256];
        let values: Vec<i32> = vec![7, -8, 9];
        for (i, v) in values.iter().enumerate() {
            sample[64 + i * 4..64 + i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
        }
        let buffer = Buffer::from_slice_ref(&sample);
        let data = ArrayData::builder(arrow_schema::DataType::Int32)
            .len(3)
            .add_buffer(buffer.slice_with_length(64, 12))
            .build()
            .expect("valid array");
        let info = layout_within(buffer.as_slice(), &data).expect("inside");
        assert_eq!(
            info.buffer_offsets,
            vec![BufferOffset {
                offset: 64,
                len: 12
            }]
        );
        let rebuilt = array_from_buffer(&buffer, &info).expect("rebuilds");
        let rebuilt = Int32Array::from(rebuilt);
        assert_eq!(rebuilt.values().as_ref(), &values[..]);
    }

    #[test]
    fn a_buffer_outside_the_sample_is_named() {
        let sample = vec![0u8; 64];
        let data = Int32Array::from(vec![1, 2, 3]).to_data();
        let err = layout_within(&sample, &data).unwrap_err();
        assert!(err.contains("buffer 0 of array"), "{err}");
    }
}
