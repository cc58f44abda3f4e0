//! What travels with each benchmark message.
//!
//! Every payload of 8 bytes or more starts with the message's sequence number
//! (little-endian), written by the sender and checked by the receiver: it proves the receiver
//! looks at the message that was sent without making the sender touch more than one page.
//!
//! Through the socket (the floor) a message is a fixed frame header ([`Header::encode`]) and
//! the payload. Through dora, as in dora-rs's benchmark, a message carries no metadata
//! parameters: the phase is the input, the size the payload's length, the sequence number the
//! stamp (for 0-byte payloads, the arrival count) and the count the schedule's
//! ([`Identify`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::collections::BTreeMap;

use crate::{
    plan::{self, Phase},
    Result,
};

/// The description of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Which phase the message belongs to.
    pub phase: Phase,
    /// Payload length in bytes.
    pub size: usize,
    /// Position of the message in its phase, from 0.
    pub seq: u64,
    /// Number of messages of the phase.
    pub count: u64,
}

/// Length of a socket frame header: [`Header`] plus the send time, five little-endian `u64`.
pub const FRAME_HEADER_LEN: usize = 40;

impl Header {
    /// Writes the socket frame header for this message, sent at `sent`.
    pub fn encode(self, sent: SystemTime, out: &mut [u8; FRAME_HEADER_LEN]) {
        let sent_ns = sent
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        let phase = match self.phase {
            Phase::Latency => 0,
            Phase::Throughput => 1,
        };
        let fields = [phase, self.size as u64, self.seq, self.count, sent_ns];
        for (chunk, field) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&field.to_le_bytes());
        }
    }

    /// Reads a socket frame header: the message's header and its send time.
    pub fn decode(frame: &[u8; FRAME_HEADER_LEN]) -> Result<(Header, SystemTime)> {
        let mut fields = [0u64; 5];
        for (field, chunk) in fields.iter_mut().zip(frame.chunks_exact(8)) {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(chunk);
            *field = u64::from_le_bytes(bytes);
        }
        let [phase, size, seq, count, sent_ns] = fields;
        let phase = match phase {
            0 => Phase::Latency,
            1 => Phase::Throughput,
            other => return Err(format!("bad phase {other} in frame header").into()),
        };
        let header = Header {
            phase,
            size: usize::try_from(size)?,
            seq,
            count,
        };
        Ok((header, UNIX_EPOCH + Duration::from_nanos(sent_ns)))
    }
}

/// Writes `seq` into the first 8 bytes of `payload`, when it has that many.
pub fn stamp(payload: &mut [u8], seq: u64) {
    if let Some(head) = payload.get_mut(..8) {
        head.copy_from_slice(&seq.to_le_bytes());
    }
}

/// The sequence number [`stamp`] wrote into `payload`, `None` below 8 bytes.
pub fn stamped_seq(payload: &[u8]) -> Option<u64> {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(payload.get(..8)?);
    Some(u64::from_le_bytes(bytes))
}

/// Recovers the [`Header`] of a message received through dora from what the message itself
/// carries and the schedule of [`plan`].
#[derive(Debug, Default)]
pub struct Identify {
    /// Messages received per phase and size, for payloads too small to carry a stamp.
    received: BTreeMap<(Phase, usize), u64>,
}

impl Identify {
    /// The header of a message received on the input of `phase` with `payload`; an error when
    /// the payload's length is not one of the schedule's sizes.
    pub fn header(&mut self, phase: Phase, payload: &[u8]) -> Result<Header> {
        let size = payload.len();
        if !plan::SIZES.contains(&size) {
            return Err(format!(
                "{} message of {size} bytes: not a size of the schedule",
                phase.as_str()
            )
            .into());
        }
        let received = self.received.entry((phase, size)).or_default();
        let seq = stamped_seq(payload).unwrap_or(*received);
        *received += 1;
        let count = match phase {
            Phase::Latency => plan::LATENCY_MESSAGES,
            Phase::Throughput => plan::throughput_messages(size),
        };
        Ok(Header {
            phase,
            size,
            seq,
            count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_header_round_trips() {
        let header = Header {
            phase: Phase::Throughput,
            size: 4096,
            seq: 7,
            count: 20_000,
        };
        let sent = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        let mut frame = [0; FRAME_HEADER_LEN];
        header.encode(sent, &mut frame);
        let (decoded, decoded_sent) = Header::decode(&frame).expect("valid frame");
        assert_eq!(decoded, header);
        assert_eq!(decoded_sent, sent);
    }

    #[test]
    fn headers_are_recovered_from_payload_and_schedule() {
        let mut identify = Identify::default();
        let mut payload = vec![0; 4096];
        stamp(&mut payload, 41);
        let header = identify
            .header(Phase::Throughput, &payload)
            .expect("a known size");
        assert_eq!(
            header,
            Header {
                phase: Phase::Throughput,
                size: 4096,
                seq: 41,
                count: plan::throughput_messages(4096),
            }
        );
        // Without a stamp, the sequence number is the arrival count of that phase and size.
        for expected in 0..3 {
            let header = identify.header(Phase::Latency, &[]).expect("a known size");
            assert_eq!(
                (header.seq, header.count),
                (expected, plan::LATENCY_MESSAGES)
            );
        }
        assert!(identify.header(Phase::Latency, &[0; 7]).is_err());
    }

    #[test]
    fn stamp_needs_eight_bytes() {
        let mut small = [0; 7];
        stamp(&mut small, 3);
        assert_eq!(small, [0; 7]);
        assert_eq!(stamped_seq(&small), None);
        let mut payload = [0; 64];
        stamp(&mut payload, 3);
        assert_eq!(stamped_seq(&payload), Some(3));
    }
}
