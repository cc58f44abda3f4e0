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
    Hello {
        protocol_version: String,
        dataflow_id: String,
        node_id: String,
    },
    /// Messages were dropped from an input's queue because the node did not keep up.
    InputsDropped { input: String, count: u64 },
    /// The node will not read events anymore.
    EventStreamClosed,
}

/// Daemon → node, answer to [`NodeRequest::Hello`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DaemonReply {
    Start,
    Refused(String),
}

/// Daemon → node, after [`DaemonReply::Start`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DaemonEvent {
    /// A timer input ticked; the payload is an empty array.
    Timer {
        input: u16,
        timestamp: uhlc::Timestamp,
    },
    /// A message produced by the daemon (for example a line of a `send_stdout_as` node);
    /// the payload follows inline.
    Input {
        input: u16,
        metadata: Metadata,
        payload: Vec<u8>,
    },
    /// An input fed by the daemon is closed.
    InputClosed { input: u16 },
    /// The dataflow is stopping: finish and exit.
    Stop,
}
