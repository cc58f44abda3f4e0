//! Errors of the node API.

use std::io;

/// Everything that can go wrong in a node's use of the API.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The process was not started by dora: `DORA_NODE_CONFIG` is not set.
    #[error(
        "{} is not set: this program is a dora node and must be started by dora \
         (for example `dora run dataflow.yml`)",
        dora_message::NODE_CONFIG_ENV
    )]
    NotStartedByDora,
    /// The node's configuration is unusable (why): malformed, or naming descriptors that
    /// are not the data sockets dora passed.
    #[error("invalid DORA_NODE_CONFIG: {0}")]
    InvalidConfig(String),
    /// The node API and the daemon speak different protocol versions (both named).
    #[error("protocol version mismatch: this node speaks {ours}, the daemon speaks {theirs}")]
    VersionMismatch {
        /// This node API's protocol version.
        ours: String,
        /// The daemon's.
        theirs: String,
    },
    /// Connecting to the daemon failed.
    #[error("cannot reach the dora daemon at {address}: {source}")]
    DaemonUnreachable {
        /// The daemon's address (a socket path or a TCP address).
        address: String,
        /// Why connecting failed.
        source: io::Error,
    },
    /// The daemon refused the node, for the reason given.
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
        /// The abstract socket's name.
        socket: String,
        /// The local listen port it belongs to.
        port: u16,
        /// Why connecting failed.
        source: io::Error,
    },
    /// The daemon did not give this process the dynamic node it asked for: no running
    /// dataflow has such a dynamic node, the node is not dynamic, it is already connected,
    /// or several dataflows have it.
    #[error("the dora daemon refused dynamic node `{node_id}`: {reason}")]
    DynamicNodeRefused {
        /// The node asked for.
        node_id: String,
        /// The daemon's reason.
        reason: String,
    },
    /// Receiving a dynamic node's configuration from the daemon failed.
    #[error("receiving the configuration of dynamic node `{node_id}` from the dora daemon failed: {reason}")]
    DynamicNodeHandoff {
        /// The node asked for.
        node_id: String,
        /// What failed.
        reason: String,
    },
    /// The connection to the daemon failed or closed (why), or a resource the node's I/O
    /// needs (an eventfd, a pipe, its thread) could not be created.
    #[error("lost the connection to the dora daemon: {0}")]
    DaemonConnection(String),
    /// Sending on an output the node does not declare.
    #[error("`{output}` is not an output of node `{node}`; declared outputs: {declared}")]
    UnknownOutput {
        /// This node.
        node: String,
        /// The output named.
        output: String,
        /// The declared outputs, listed for the message.
        declared: String,
    },
    /// Sending on an output closed with [`crate::DoraNode::close_outputs`].
    #[error("output `{0}` was closed")]
    OutputClosed(String),
    /// Creating or mapping shared memory failed (why).
    #[error("shared memory: {0}")]
    SharedMemory(String),
    /// Sending to a receiving node failed for another reason than it having exited (which
    /// is not an error: it gets nothing).
    #[error("sending to node `{peer}` failed: {source}")]
    Send {
        /// The receiving node.
        peer: String,
        /// The socket error.
        source: io::Error,
    },
    /// A message header could not be encoded (why).
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
