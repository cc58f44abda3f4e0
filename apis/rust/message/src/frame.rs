//! Length-prefixed frames for stream connections (Unix stream sockets and TCP).
//!
//! A frame is a little-endian `u64` length followed by that many bytes of `bincode`. A length
//! above [`MAX_FRAME_LEN`] is refused before anything is allocated, so a peer sending garbage
//! cannot make the receiver allocate gigabytes, and [`encode`] refuses a value whose frame
//! would exceed it, so a sender never puts a frame on the wire that its peer must refuse.

use std::io::{self, Read, Write};

use serde::{de::DeserializeOwned, Serialize};

/// Largest frame accepted (64 MiB).
pub const MAX_FRAME_LEN: u64 = 64 * 1024 * 1024;

/// Errors reading or decoding a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection I/O failed: {0}")]
    /// Reading or writing the connection failed.
    Io(#[from] io::Error),
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME_LEN} bytes")]
    /// The length prefix announces a frame larger than [`MAX_FRAME_LEN`] (its length).
    TooLarge(u64),
    #[error("frame of {len} bytes exceeds this connection's budget of {budget} bytes")]
    /// The length prefix announces a frame larger than the connection allows (a CLI
    /// connection's budget is smaller than [`MAX_FRAME_LEN`]).
    OverBudget {
        /// The announced length.
        len: u64,
        /// The connection's largest frame.
        budget: u64,
    },
    #[error("malformed frame")]
    /// The frame's bytes do not decode as the expected type.
    Decode(#[from] bincode::Error),
}

/// Serializes `value` as one frame (length prefix included).
///
/// Fails with [`FrameError::TooLarge`] (and allocates nothing) when the frame's body would
/// exceed [`MAX_FRAME_LEN`]: such a frame is never produced.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, FrameError> {
    let len = bincode::serialized_size(value)?;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge(len));
    }
    let mut buf = Vec::with_capacity(8 + len as usize);
    buf.extend_from_slice(&len.to_le_bytes());
    bincode::serialize_into(&mut buf, value)?;
    Ok(buf)
}

/// Decodes the body of a frame (without its length prefix).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    Ok(bincode::deserialize(body)?)
}

/// Checks a length prefix.
pub fn check_len(prefix: [u8; 8]) -> Result<usize, FrameError> {
    let len = u64::from_le_bytes(prefix);
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge(len));
    }
    Ok(len as usize)
}

/// Writes one frame.
pub fn write<T: Serialize>(writer: &mut impl Write, value: &T) -> Result<(), FrameError> {
    writer.write_all(&encode(value)?)?;
    Ok(())
}

/// Reads one frame; `Ok(None)` on a clean end of stream before a frame starts.
pub fn read<T: DeserializeOwned>(reader: &mut impl Read) -> Result<Option<T>, FrameError> {
    let mut prefix = [0u8; 8];
    match reader.read_exact(&mut prefix) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err.into()),
    }
    let len = check_len(prefix)?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    decode(&body).map(Some)
}

/// Splits complete frames off the front of `buf` (bytes read so far from a stream).
///
/// Returns the decoded frames; incomplete trailing bytes stay in `buf`.
pub fn drain<T: DeserializeOwned>(buf: &mut Vec<u8>) -> Result<Vec<T>, FrameError> {
    let mut frames = Vec::new();
    let mut start = 0;
    while buf.len() - start >= 8 {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&buf[start..start + 8]);
        let len = check_len(prefix)?;
        if buf.len() - start - 8 < len {
            break;
        }
        frames.push(decode(&buf[start + 8..start + 8 + len])?);
        start += 8 + len;
    }
    buf.drain(..start);
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_refuses_a_frame_above_the_limit() {
        let big = vec![0u8; MAX_FRAME_LEN as usize];
        // The Vec's own length prefix makes the body 8 bytes longer than the limit.
        match encode(&big) {
            Err(FrameError::TooLarge(len)) => assert_eq!(len, MAX_FRAME_LEN + 8),
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(encode(&vec![0u8; 1024]).is_ok());
    }
}
