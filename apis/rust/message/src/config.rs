//! The configuration a daemon hands to each node in `DORA_NODE_CONFIG` (JSON).
//!
//! Routing is decided once, before any node starts: every pair of nodes that exchange messages
//! shares one Unix `SOCK_SEQPACKET` socket pair, created by the daemon and inherited by both
//! nodes at the file descriptor numbers listed here. Messages then go straight from sender to
//! receiver; the daemon only handles control (start barrier, timers, stop).

use std::{net::SocketAddr, path::PathBuf};

use serde::{Deserialize, Serialize};

/// Everything a node needs to join its dataflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// Must equal [`crate::PROTOCOL_VERSION`] of the node API.
    pub protocol_version: String,
    pub dataflow_id: String,
    pub node_id: String,
    /// How to reach the daemon's control endpoint.
    pub daemon: DaemonAddress,
    /// The node's inputs in declaration order.
    pub inputs: Vec<InputConfig>,
    /// The node's declared outputs; an output's position is its index on the wire.
    pub outputs: Vec<String>,
    /// Direct connections to the nodes this node exchanges messages with.
    pub peers: Vec<PeerConfig>,
}

/// Where the daemon listens for its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DaemonAddress {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

/// One input of a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputConfig {
    pub id: String,
    /// Messages kept for the node before the oldest is dropped.
    pub queue_size: usize,
    /// Where messages come from, as written in the dataflow (`node/output`, `dora/timer/...`).
    pub source: String,
}

/// A direct connection to another node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerConfig {
    /// The other node.
    pub node_id: String,
    /// This node's end of the socket pair (inherited file descriptor).
    pub fd: i32,
    /// Indices (into [`NodeConfig::outputs`]) of this node's outputs that the peer receives.
    pub sends: Vec<u16>,
    /// Outputs of the peer that this node receives: the peer's output index and the indices
    /// (into [`NodeConfig::inputs`]) of the inputs each feeds.
    pub receives: Vec<(u16, Vec<u16>)>,
}
