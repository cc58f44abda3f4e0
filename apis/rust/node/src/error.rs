//! Errors of the node API.

use std::io;

/// Everything that can go wrong in a node's use of the API.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(
        "{} is not set: this program is a dora node and must be started by dora \
         (for example `dora run dataflow.yml`)",
        dora_message::NODE_CONFIG_ENV
    )]
    NotStartedByDora,
    #[error("invalid DORA_NODE_CONFIG: {0}")]
    InvalidConfig(String),
    #[error("protocol version mismatch: this node speaks {ours}, the daemon speaks {theirs}")]
    VersionMismatch { ours: String, theirs: String },
    #[error("cannot reach the dora daemon at {address}: {source}")]
    DaemonUnreachable { address: String, source: io::Error },
    #[error("the dora daemon refused the node: {0}")]
    Refused(String),
    /// [`crate::DoraNode::init_from_node_id`] found no daemon serving dynamic nodes.
    #[error(
        "no dora daemon is running on this machine (looked for the abstract Unix socket \
         `@{socket}` of local listen port {port}, set by {}); start the dataflow with \
         `dora up` and `dora start` first: {source}",
        dora_message::node_daemon::LOCAL_LISTEN_PORT_ENV
    )]
    NoDaemon {
        socket: String,
        port: u16,
        source: io::Error,
    },
    /// The daemon did not give this process the dynamic node it asked for: no running
    /// dataflow has such a dynamic node, the node is not dynamic, it is already connected,
    /// or several dataflows have it.
    #[error("the dora daemon refused dynamic node `{node_id}`: {reason}")]
    DynamicNodeRefused { node_id: String, reason: String },
    /// Receiving a dynamic node's configuration from the daemon failed.
    #[error("receiving the configuration of dynamic node `{node_id}` from the dora daemon failed: {reason}")]
    DynamicNodeHandoff { node_id: String, reason: String },
    #[error("lost the connection to the dora daemon: {0}")]
    DaemonConnection(String),
    #[error("`{output}` is not an output of node `{node}`; declared outputs: {declared}")]
    UnknownOutput {
        node: String,
        output: String,
        declared: String,
    },
    #[error("output `{0}` was closed")]
    OutputClosed(String),
    #[error("shared memory: {0}")]
    SharedMemory(String),
    #[error("sending to node `{peer}` failed: {source}")]
    Send { peer: String, source: io::Error },
    #[error("cannot encode message: {0}")]
    Encode(String),
}

/// The transport's errors keep the variants (and messages) the node API always had.
impl From<dora_transport::TransportError> for NodeError {
    fn from(err: dora_transport::TransportError) -> Self {
        use dora_transport::TransportError;
        match err {
            TransportError::SharedMemory(reason) => NodeError::SharedMemory(reason),
            TransportError::Send { peer, source } => NodeError::Send { peer, source },
            err @ TransportError::NotADataSocket { .. } => {
                NodeError::InvalidConfig(err.to_string())
            }
        }
    }
}
