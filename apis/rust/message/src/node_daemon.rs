//! Control protocol between a node and its daemon (framed with [`crate::frame`]).
//!
//! The node connects, sends [`NodeRequest::Hello`] and waits: the daemon answers
//! [`DaemonReply::Start`] once every node of the dataflow said hello or exited (the start
//! barrier), or [`DaemonReply::Refused`] with a reason. After that the daemon pushes
//! [`DaemonEvent`]s (timer ticks, messages it produces itself, stop) and the node reports
//! [`NodeRequest`]s.

use serde::{Deserialize, Serialize};

use crate::metadata::Metadata;

/// Node → daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NodeRequest {
    /// First frame of a node: it joins its dataflow and waits for the start barrier.
    Hello {
        /// The node API's [`crate::PROTOCOL_VERSION`].
        protocol_version: String,
        /// The dataflow's UUID.
        dataflow_id: String,
        /// The node's id.
        node_id: String,
    },
    /// Messages were dropped from an input's queue because the node did not keep up.
    InputsDropped {
        /// The input's id.
        input: String,
        /// How many messages were dropped since the last report.
        count: u64,
    },
    /// The node will not read events anymore.
    EventStreamClosed,
}

/// Daemon → node, answer to [`NodeRequest::Hello`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DaemonReply {
    /// Every node of the dataflow is ready: start.
    Start,
    /// The node may not join, for the reason given.
    Refused(String),
}

/// Daemon → node, after [`DaemonReply::Start`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DaemonEvent {
    /// A timer input ticked; the payload is an empty array.
    Timer {
        /// The input's index in the node's configuration.
        input: u16,
        /// When the timer ticked.
        timestamp: uhlc::Timestamp,
    },
    /// A message produced by the daemon (for example a line of a `send_stdout_as` node);
    /// the payload follows inline.
    Input {
        /// The input's index in the node's configuration.
        input: u16,
        /// The message's metadata.
        metadata: Metadata,
        /// The payload's bytes.
        payload: Vec<u8>,
    },
    /// An input fed by the daemon is closed.
    InputClosed {
        /// The input's index in the node's configuration.
        input: u16,
    },
    /// The dataflow is stopping: finish and exit.
    Stop,
}

/// Variable naming the daemon's local listen port, which dynamic nodes use to find the
/// daemon (default [`DEFAULT_LOCAL_LISTEN_PORT`], as `dora daemon --local-listen-port`).
pub const LOCAL_LISTEN_PORT_ENV: &str = "DORA_DAEMON_LOCAL_LISTEN_PORT";

/// The daemon's default local listen port (dora-rs v0.3.6).
pub const DEFAULT_LOCAL_LISTEN_PORT: u16 = 53291;

/// The name, in Linux's abstract Unix socket namespace (nothing on disk), on which the daemon
/// whose local listen port is `port` hands out the configuration of its dynamic nodes.
pub fn dynamic_node_socket_name(port: u16) -> String {
    format!("dora-daemon-{port}")
}

/// Dynamic node → daemon, first frame on the dynamic node socket: "I am node `node_id`".
///
/// A [`DynamicNodeReply::Config`] answer is followed by the node's data sockets, passed with
/// `SCM_RIGHTS` in messages of one byte (at most [`MAX_FDS_PER_MESSAGE`] each), in the order
/// of the configuration's peers. The connection then serves as the node's control connection:
/// it goes on with [`NodeRequest::Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicNodeRequest {
    /// The node API's [`crate::PROTOCOL_VERSION`].
    pub protocol_version: String,
    /// The id of the dynamic node to connect as.
    pub node_id: String,
}

/// Daemon → dynamic node, answer to [`DynamicNodeRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DynamicNodeReply {
    /// The node's configuration (JSON of [`crate::config::NodeConfig`]; its descriptor numbers
    /// are the daemon's and must be replaced by the received ones) and how many descriptors
    /// follow.
    Config {
        /// The node's configuration, as JSON.
        config_json: String,
        /// How many data sockets follow.
        fds: u32,
    },
    /// No such dynamic node can connect now, for the reason given.
    Refused(String),
}

/// Most descriptors passed in one message on the dynamic node socket (the kernel's limit is
/// 253).
pub const MAX_FDS_PER_MESSAGE: usize = 200;
