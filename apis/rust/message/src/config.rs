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
    /// The running dataflow's UUID.
    pub dataflow_id: String,
    /// This node's id.
    pub node_id: String,
    /// How to reach the daemon's control endpoint.
    pub daemon: DaemonAddress,
    /// The node's inputs in declaration order.
    pub inputs: Vec<InputConfig>,
    /// The node's declared outputs; an output's position is its index on the wire.
    pub outputs: Vec<String>,
    /// Direct connections to the nodes this node exchanges messages with.
    pub peers: Vec<PeerConfig>,
    /// For a node made of operators (run by `dora runtime`): the operators. Their inputs and
    /// outputs appear in `inputs`/`outputs` as `operator/id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeConfig>,
    /// The dataflow's YAML file (also in `DORA_DATAFLOW_PATH` for nodes dora spawns; a
    /// dynamic node only gets it here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataflow_path: Option<std::path::PathBuf>,
}

/// The operators a `dora runtime` process hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// In declaration order.
    pub operators: Vec<OperatorConfig>,
}

/// One operator of a runtime node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorConfig {
    /// The operator's id within its node.
    pub id: String,
    /// Where its code is.
    pub source: OperatorSource,
    /// The operator's own input ids (without the `operator/` prefix).
    pub inputs: Vec<String>,
    /// The operator's own output ids (without the `operator/` prefix).
    pub outputs: Vec<String>,
    /// An output of this operator (without the `operator/` prefix) that receives every line
    /// the node's process prints to stdout, one message per line.
    pub send_stdout_as: Option<String>,
}

/// Where an operator's code is, resolved to an absolute path by the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperatorSource {
    /// A shared library with the C operator ABI.
    SharedLibrary(PathBuf),
    /// A Python file with an `Operator` class.
    Python {
        /// The Python file.
        path: PathBuf,
        /// The conda environment to run it in (the v0.3.6 `conda_env` key).
        conda_env: Option<String>,
    },
    /// WebAssembly: parsed for compatibility, refused at start.
    Wasm(PathBuf),
}

/// Where the daemon listens for its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DaemonAddress {
    /// A Unix stream socket at this path.
    Unix(PathBuf),
    /// A TCP address (`communication._unstable_local: Tcp`).
    Tcp(SocketAddr),
}

/// One input of a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputConfig {
    /// The input's id.
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
    /// The peer has a restart policy: its exit does not close this connection (the daemon
    /// keeps it open and later sends [`crate::data::DataPacket::PeerRestarted`]), and its
    /// outputs closing means nothing until the connection itself closes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restartable: bool,
}

/// Environment variable with the dataflow file's path, which the daemon sets for every node
/// it spawns (the ROS 2 bridge and Python's `dataflow_descriptor()` read it).
pub const DATAFLOW_PATH_ENV: &str = "DORA_DATAFLOW_PATH";
