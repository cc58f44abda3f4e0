//! Wire types shared by every dora process.
//!
//! Nothing else in the project defines what travels between processes: the node
//! configuration passed in `DORA_NODE_CONFIG` ([`config`]), the control protocol between a
//! node and its daemon ([`node_daemon`]), the packets on the direct node-to-node data
//! connections ([`data`]), message [`metadata`] and the layout of Arrow arrays in a payload
//! ([`arrow`]). Every connection starts with a handshake carrying [`PROTOCOL_VERSION`]; a peer
//! with another version is refused with both versions named.

pub mod arrow;
pub mod config;
pub mod coordinator;
pub mod data;
pub mod frame;
pub mod metadata;
pub mod node_daemon;

/// Version of the wire protocol. Processes refuse peers whose version differs.
pub const PROTOCOL_VERSION: &str = concat!("dora-protocol/", env!("CARGO_PKG_VERSION"));

/// Payloads of this many bytes or more travel in shared memory; smaller ones inline.
pub const ZERO_COPY_THRESHOLD: usize = 4096;

/// Environment variable that carries a node's [`config::NodeConfig`] as JSON.
pub const NODE_CONFIG_ENV: &str = "DORA_NODE_CONFIG";

pub use metadata::{Metadata, Parameter, RESTARTED_PARAMETER};
