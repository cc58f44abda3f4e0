//! CDR encoding of ROS 2 messages, as ROS 2's DDS middlewares put them on the wire.
//!
//! Format (XCDR1 / plain CDR, little endian), checked byte for byte against `rosbags`:
//! - a 4-byte encapsulation header `00 01 00 00` (CDR_LE, options zero), then the payload;
//! - every primitive is aligned to its own size (1, 2, 4 or 8) counted from the start of the
//!   payload, i.e. after the header; padding bytes are zero; no padding after the last field;
//! - `bool` is one byte 0/1; `byte`/`char` one byte;
//! - `string` is a `u32` length that counts the terminating NUL, the UTF-8 bytes, then the NUL;
//! - `wstring` is a `u32` count of UTF-16 code units, then the code units (2 bytes each), no
//!   terminator — what rmw_cyclonedds and Fast CDR 2 write (rosbags does not support wstring);
//! - `T[]` and `T[<=N]` are a `u32` element count, then the elements; `T[N]` is the N elements
//!   without a count; the first element of a primitive array is aligned to the element size (no
//!   padding when the sequence is empty);
//! - a nested message is its fields in order, with no alignment of its own; a message without
//!   fields is one zero byte (ROS 2's `structure_needs_at_least_one_member`).
//!
//! Arrays of primitives are copied as one block (a `memcpy` on little-endian hosts), so a
//! 921,600-byte image costs one copy each way.
//!
//! Deserialization checks every length against the bytes that are left before allocating, so
//! truncated or hostile input gives a [`DeserializeError`](crate::DeserializeError), never a panic
//! or a huge allocation. Trailing bytes after the last field are ignored (writers may pad).

mod de;
mod ser;

use std::fmt;

use arrow_buffer::ArrowNativeType;

pub use de::{deserialize, MessageBuilder};
pub use ser::{serialize, serialize_into};

/// The encapsulation header of XCDR1 little endian.
pub const ENCAPSULATION_HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

/// A field path for error messages: `pose.position.x`, `poses[2].header`.
#[derive(Clone, Copy)]
pub(crate) enum FieldPath<'a> {
    /// The message itself.
    Root,
    /// A field of the value at the parent path.
    Field(&'a FieldPath<'a>, &'a str),
    /// An element of the array or sequence at the parent path.
    Index(&'a FieldPath<'a>, usize),
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldPath::Root => f.write_str("<message>"),
            FieldPath::Field(FieldPath::Root, name) => f.write_str(name),
            FieldPath::Field(parent, name) => write!(f, "{parent}.{name}"),
            FieldPath::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// A primitive in its little-endian wire form.
pub(crate) trait Scalar: ArrowNativeType {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    /// `bytes` is exactly `SIZE` long.
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                <[u8; std::mem::size_of::<$t>()]>::try_from(bytes)
                    .map(<$t>::from_le_bytes)
                    .unwrap_or_default()
            }
        }
    )*};
}

scalar!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);
