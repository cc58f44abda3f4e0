//! The control plane: the CLI and the daemons talking to the coordinator.
//!
//! Every connection starts with a [`Handshake`] from the connecting side, answered with a
//! [`HandshakeReply`]; a peer speaking another [`crate::PROTOCOL_VERSION`] is refused with
//! both versions named. Messages are frames ([`crate::frame`]).
//!
//! - CLI → coordinator (control port, default 6012): one [`ControlRequest`] per connection,
//!   answered by one [`ControlReply`] — or, for [`ControlRequest::Attach`] and following
//!   logs, a stream of replies ending with a final one.
//! - daemon → coordinator (daemon port, default 53290): [`DaemonToCoordinator`] and
//!   [`CoordinatorToDaemon`] both ways on one long-lived connection, with heartbeats.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

/// First message on every control-plane connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handshake {
    pub protocol_version: String,
    pub role: Role,
}

/// Who is connecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Cli,
    Daemon { machine_id: String },
}

/// Answer to a [`Handshake`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandshakeReply {
    Accepted { protocol_version: String },
    Refused(String),
}

/// What a dataflow is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataflowStatus {
    Running,
    Succeeded,
    Failed,
}

impl std::fmt::Display for DataflowStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DataflowStatus::Running => "Running",
            DataflowStatus::Succeeded => "Succeeded",
            DataflowStatus::Failed => "Failed",
        })
    }
}

/// A dataflow as `dora list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataflowEntry {
    pub id: String,
    pub name: String,
    pub status: DataflowStatus,
}

/// How one node ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeOutcome {
    pub node_id: String,
    pub machine_id: String,
    /// `None` on success, else what happened ("exited with code 3", "was killed after the
    /// grace period", ...).
    pub failure: Option<String>,
    /// The node was killed by dora after the grace period.
    pub killed: bool,
    pub stderr_tail: Vec<String>,
}

/// The result of a finished dataflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataflowResult {
    pub id: String,
    pub name: String,
    pub nodes: Vec<NodeOutcome>,
    /// Problems not tied to one node (a lost daemon, a failed spawn).
    pub errors: Vec<String>,
}

impl DataflowResult {
    pub fn is_success(&self) -> bool {
        self.errors.is_empty() && self.nodes.iter().all(|n| n.failure.is_none())
    }
}

/// A line of a node's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub dataflow_id: String,
    pub node_id: String,
    pub stderr: bool,
    pub line: String,
}

/// CLI → coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ControlRequest {
    /// Start a dataflow; `descriptor` is the YAML text, already validated by the CLI.
    Start {
        descriptor: String,
        /// The dataflow file (absolute), for messages and for the daemons' working directory.
        path: PathBuf,
        name: Option<String>,
        /// Reload Python operators whose file changed, keeping the dataflow running.
        hot_reload: bool,
    },
    /// Stream the dataflow's logs and end with its result.
    Attach {
        dataflow: String,
    },
    Stop {
        /// A UUID or a name; `None` when exactly one dataflow runs.
        dataflow: Option<String>,
        grace_duration: Option<Duration>,
    },
    List,
    Logs {
        dataflow: Option<String>,
        node: String,
        follow: bool,
    },
    /// Stop every dataflow, end the daemons and the coordinator.
    Destroy,
    /// Report the connected daemons.
    Status,
}

/// Coordinator → CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ControlReply {
    Started {
        id: String,
        name: String,
    },
    Log(LogLine),
    /// A message from dora itself while attached (a node killed, a daemon lost, ...).
    Notice(String),
    Finished(DataflowResult),
    Stopped(DataflowResult),
    List(Vec<DataflowEntry>),
    /// All log lines so far (follow mode then streams [`ControlReply::Log`]s).
    LogLines(Vec<LogLine>),
    /// End of a followed log: the dataflow finished.
    LogEnd,
    Destroyed {
        dataflows_stopped: usize,
        daemons: usize,
    },
    Status {
        daemons: Vec<String>,
    },
    Error(String),
}

/// Coordinator → daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CoordinatorToDaemon {
    /// Run the nodes `nodes` of a dataflow on this daemon.
    Spawn {
        dataflow_id: String,
        name: String,
        descriptor: String,
        path: PathBuf,
        nodes: Vec<String>,
        /// The machine of every node of the dataflow.
        placement: Vec<(String, String)>,
        /// Where the other daemons of this dataflow accept data connections, by machine id.
        peers: Vec<(String, std::net::SocketAddr)>,
        /// Reload Python operators whose file changed (`dora start --hot-reload`).
        hot_reload: bool,
    },
    Stop {
        dataflow_id: String,
        grace_duration: Duration,
    },
    /// Stop everything and exit.
    Destroy,
    Heartbeat,
}

/// A dataflow a daemon runs part of when it registers: what a coordinator that started
/// meanwhile learns of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningDataflow {
    pub id: String,
    pub name: String,
    /// Every node of the dataflow (on all machines), as in its descriptor.
    pub nodes: Vec<String>,
}

/// Daemon → coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DaemonToCoordinator {
    /// Sent after the handshake (again after every reconnect).
    Register {
        machine_id: String,
        /// Where this daemon accepts data connections from other daemons.
        data_address: std::net::SocketAddr,
        /// Dataflows still running here (after a coordinator restart).
        running: Vec<RunningDataflow>,
    },
    Spawned {
        dataflow_id: String,
        result: Result<(), String>,
    },
    Log(LogLine),
    /// A message from dora about a dataflow (killed nodes, dropped messages).
    Notice {
        dataflow_id: String,
        message: String,
    },
    Finished {
        dataflow_id: String,
        nodes: Vec<NodeOutcome>,
    },
    Heartbeat,
}

/// First frame on a daemon-to-daemon data link (after the [`Handshake`]): which dataflow's
/// messages follow, and from which machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkHello {
    pub dataflow_id: String,
    pub from_machine: String,
}

/// Daemon → daemon, on a data link: the outputs of the sender's nodes that nodes on the
/// receiving machine consume. This is the seam where another transport (Zenoh) slots in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InterDaemon {
    Message {
        node: String,
        output: String,
        metadata: crate::Metadata,
        data: Vec<u8>,
    },
    OutputClosed {
        node: String,
        output: String,
    },
}
