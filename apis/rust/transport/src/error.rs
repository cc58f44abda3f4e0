//! Errors of the transport.

use std::{io, os::fd::RawFd};

/// What can go wrong on the data plane. The messages are complete sentences for a node's
/// error event or the daemon's log.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Creating, sealing, checking or mapping a region or a release ring failed, or a peer
    /// sent one that is not a sealed `memfd`.
    #[error("shared memory: {0}")]
    SharedMemory(String),
    /// Sending a packet to a peer failed for another reason than the peer hanging up (which
    /// is not an error: see [`Peer::send`](crate::Peer::send)).
    #[error("sending to node `{peer}` failed: {source}")]
    Send {
        /// The peer node.
        peer: String,
        /// The error of `sendmsg`.
        source: io::Error,
    },
    /// A descriptor handed to [`Peer::from_inherited`](crate::Peer::from_inherited) is not
    /// an open `SOCK_SEQPACKET` socket.
    #[error(
        "file descriptor {fd} for the connection to node `{node_id}` is not an inherited data \
         socket"
    )]
    NotADataSocket {
        /// The descriptor.
        fd: RawFd,
        /// The peer node it was meant to connect to.
        node_id: String,
    },
}
