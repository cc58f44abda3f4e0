//! dora's data plane: how a message moves from one process to another on the same machine,
//! without the daemon on the way and without copying its payload.
//!
//! Nodes link it through the node API; the daemon uses it for the bridges that carry
//! messages to and from other machines. It knows nothing of dataflows, events or queues:
//! it moves packets and lends memory.
//!
//! # Connections
//!
//! Every pair of processes that exchange messages has its own `SOCK_SEQPACKET` Unix socket
//! pair, created by the daemon before they start ([`Peer`]). A packet is one
//! [`DataPacket`](dora_message::data::DataPacket): a message with a small payload inline, a
//! message in a shared memory region, or one of the notices that manage regions. Sending
//! blocks while the receiver's socket buffer is full (backpressure); notices never block
//! ([`Notice`]), because a thread that reads sockets must not wait on a full one. A peer that
//! hung up is not an error for the sender: it gets nothing more.
//!
//! # Regions, lent and released
//!
//! A payload of 4 KiB or more is written once into a *region*: a sealed anonymous `memfd`
//! ([`OwnedRegion`]) owned by the sending process and taken from its [`Pool`]. The pool
//! *lends* a region to be filled in place; sending it gives every receiver one token and,
//! the first time, the region's descriptor (`SCM_RIGHTS`). Receivers map it read-only
//! ([`ReceivedRegion`]) and *release* their token when they no longer read the message,
//! through a [release ring](release_ring) in shared memory that wakes nobody, or with a
//! packet when the ring is full. A region whose tokens all came back is free again; a steady
//! stream of large messages maps no new memory.
//!
//! # Who owns what
//!
//! - The sender owns its regions and its pool, and writes a region only while no receiver
//!   holds a token for it. It creates the release ring of each connection and reads it.
//! - A receiver owns its read-only mappings and the producer side of the rings it was sent;
//!   it unmaps a region when the sender retires it ([`Notice::Retire`]) or hangs up.
//! - Regions have no name in `/dev/shm`: only descriptors and mappings refer to them, so the
//!   kernel frees each one with the last process that maps it. A process that crashes leaves
//!   nothing behind.
//!
//! # A misbehaving peer
//!
//! Everything a peer sends is checked before use: a region must be a `memfd` sealed against
//! shrinking (so a mapping can never be truncated under its reader, which would raise
//! `SIGBUS`), a message must fit its region, packets must decode. The release ring is read as
//! untrusted memory: each side keeps its own index and only reads the other's. So a peer can
//! lose its own messages and releases, keep a sender's regions until it hangs up (its tokens
//! then come back at once), or send garbage that ends its connection; it cannot make the other
//! process map memory that can shrink, read or write outside the release ring, or loop on it.
//! What seals cannot stop is a sender writing into a region while receivers read it:
//! receivers trust their senders (nodes of the same dataflow, run by the same user) with the
//! contents of their messages.
//!
//! # Linux only
//!
//! The design rests on `memfd_create` with file sealing, `SOCK_SEQPACKET` Unix sockets,
//! `SCM_RIGHTS`, `eventfd` and `poll`; the crate does not compile on other systems.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "dora-transport is Linux-only: it needs memfd_create with file sealing (F_ADD_SEALS), \
     SOCK_SEQPACKET Unix sockets with SCM_RIGHTS descriptor passing, MSG_CMSG_CLOEXEC and \
     eventfd, which this target does not provide"
);

#[cfg(target_os = "linux")]
pub mod connection;
#[cfg(target_os = "linux")]
mod error;
#[cfg(target_os = "linux")]
pub mod poll;
#[cfg(target_os = "linux")]
pub mod pool;
#[cfg(target_os = "linux")]
pub mod release_ring;
#[cfg(target_os = "linux")]
pub mod shared_memory;

#[cfg(target_os = "linux")]
pub use connection::{receive_fds, Notice, Peer, Received};
#[cfg(target_os = "linux")]
pub use error::TransportError;
#[cfg(target_os = "linux")]
pub use poll::EventFd;
#[cfg(target_os = "linux")]
pub use pool::{Lease, Pool, Retired};
#[cfg(target_os = "linux")]
pub use shared_memory::{OwnedRegion, ReceivedRegion};
