//! Packets on the direct node-to-node connections (`SOCK_SEQPACKET`, one packet per message).
//!
//! A packet is a little-endian `u32` header length, the `bincode` [`DataPacket`] header, then,
//! for [`Payload::Inline`], the payload bytes. A payload of [`crate::ZERO_COPY_THRESHOLD`] bytes
//! or more lives in a shared memory region (a sealed `memfd`) owned by the sender: the first
//! packet that uses a region on a connection carries its file descriptor (`SCM_RIGHTS`), later
//! ones only its id. The receiver maps it read-only and, once every event referring to the
//! message was dropped, hands the region back: through the connection's *release ring* (see
//! [`DataPacket::ReleaseRing`]) when it has one, else with a [`DataPacket::Release`] packet.
//! The sender then reuses the region.

use serde::{Deserialize, Serialize};

use crate::metadata::Metadata;

/// One packet on a data connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DataPacket {
    /// Sender → receiver: a message on the sender's output `output` (index into its outputs).
    Message {
        /// The output's index among the sender's outputs.
        output: u16,
        /// The message's metadata.
        metadata: Metadata,
        /// Where its payload is.
        payload: Payload,
    },
    /// Sender → receiver: no more messages will come on `output`.
    OutputClosed {
        /// The output's index among the sender's outputs.
        output: u16,
    },
    /// Sender → receiver: the region will not be used again; forget its mapping.
    RetireRegion {
        /// The region's id.
        region: u64,
    },
    /// Receiver → sender: the receiver no longer reads the message it got in `region`.
    Release {
        /// The region's id.
        region: u64,
    },
    /// Sender → receiver, before the first message in a region: the packet carries a small
    /// sealed shared memory ring (`SCM_RIGHTS`) into which the receiver writes the ids of the
    /// regions it releases, instead of sending [`DataPacket::Release`] packets, which would
    /// wake the sender after every message. A receiver that cannot use it (or finds it full)
    /// sends packets.
    ReleaseRing,
    /// The peer node was restarted (see `restart_policy`): what came before this packet was
    /// from (or for) the process that exited, what comes after is from the new one, which
    /// has none of the previous regions, release ring or state. The daemon sends it on the
    /// restarted node's end before the new process starts; the receiver forgets the old
    /// incarnation and answers with the same packet, after which everything it sends is for
    /// the new process.
    PeerRestarted {
        /// How many times the peer has been restarted so far.
        restarts: u32,
    },
}

/// Where a message's payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// `len` bytes after the header, in the same packet.
    Inline {
        /// The payload's length.
        len: u32,
    },
    /// `len` bytes at the start of shared memory region `region`; the packet carries the
    /// region's file descriptor when `fd_attached`.
    Region {
        /// The region's id, unique among the sender's regions.
        region: u64,
        /// The payload's length.
        len: u64,
        /// Whether this packet carries the region's descriptor (the first message in it to
        /// this receiver).
        fd_attached: bool,
    },
}

/// Largest packet on a data connection: header plus an inline payload.
pub const MAX_PACKET_LEN: usize = 64 * 1024;

/// Serializes a packet header followed by `inline` into `buf` (cleared first).
pub fn encode_packet(
    buf: &mut Vec<u8>,
    packet: &DataPacket,
    inline: &[u8],
) -> Result<(), bincode::Error> {
    buf.clear();
    // The header's length is patched in after serializing it (one pass over the metadata).
    buf.extend_from_slice(&[0; 4]);
    bincode::serialize_into(&mut *buf, packet)?;
    let header_len = u32::try_from(buf.len() - 4)
        .map_err(|_| bincode::Error::from(bincode::ErrorKind::SizeLimit))?;
    buf[..4].copy_from_slice(&header_len.to_le_bytes());
    buf.extend_from_slice(inline);
    Ok(())
}

/// Errors decoding a packet.
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    #[error("packet of {0} bytes is too short for its header")]
    /// The packet (of this many bytes) is too short for its header.
    Truncated(usize),
    #[error("malformed packet header")]
    /// The header does not decode.
    Header(#[from] bincode::Error),
    #[error("inline payload of {declared} bytes but {actual} bytes follow the header")]
    /// The inline payload's length differs from what the header declares.
    InlineLength {
        /// The length the header declares.
        declared: u32,
        /// The bytes that follow the header.
        actual: usize,
    },
}

/// Splits a received packet into its header and inline payload.
pub fn decode_packet(packet: &[u8]) -> Result<(DataPacket, &[u8]), PacketError> {
    if packet.len() < 4 {
        return Err(PacketError::Truncated(packet.len()));
    }
    let header_len = u32::from_le_bytes([packet[0], packet[1], packet[2], packet[3]]) as usize;
    let rest = &packet[4..];
    if header_len > rest.len() {
        return Err(PacketError::Truncated(packet.len()));
    }
    let header: DataPacket = bincode::deserialize(&rest[..header_len])?;
    let inline = &rest[header_len..];
    if let DataPacket::Message {
        payload: Payload::Inline { len },
        ..
    } = &header
    {
        if *len as usize != inline.len() {
            return Err(PacketError::InlineLength {
                declared: *len,
                actual: inline.len(),
            });
        }
    }
    Ok((header, inline))
}
