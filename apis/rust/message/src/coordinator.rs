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
    /// The sender's [`crate::PROTOCOL_VERSION`].
    pub protocol_version: String,
    /// Who is connecting.
    pub role: Role,
    /// The coordinator's token, which TCP connections must present (see the
    /// `dora-control` crate's `access` module); `None` on a local Unix socket.
    pub token: Option<String>,
}

/// Who is connecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// The `dora` command-line tool.
    Cli,
    /// A daemon, registering its machine.
    Daemon {
        /// The machine the daemon runs on (`--machine-id`; empty for the default machine).
        machine_id: String,
    },
}

/// Answer to a [`Handshake`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandshakeReply {
    /// The connection may go on.
    Accepted {
        /// The coordinator's [`crate::PROTOCOL_VERSION`].
        protocol_version: String,
    },
    /// The connection is refused, for the reason given (a version mismatch names both versions).
    Refused(String),
}

/// What a dataflow is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataflowStatus {
    /// At least one node still runs.
    Running,
    /// Every node ended successfully.
    Succeeded,
    /// Some node failed, or dora could not run the dataflow.
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
    /// The dataflow's UUID.
    pub id: String,
    /// Its human-readable name, unique among the coordinator's dataflows.
    pub name: String,
    /// What it is doing.
    pub status: DataflowStatus,
    /// The nodes that were restarted under their `restart_policy`, with how many times
    /// (empty when none was).
    pub restarts: Vec<(String, u32)>,
}

/// How one node ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeOutcome {
    /// The node's id.
    pub node_id: String,
    /// The machine it ran on.
    pub machine_id: String,
    /// `None` on success, else what happened ("exited with code 3", "was killed after the
    /// grace period", ...).
    pub failure: Option<String>,
    /// The node was killed by dora after the grace period.
    pub killed: bool,
    /// Its last lines on stderr, shown with a failure.
    pub stderr_tail: Vec<String>,
}

/// The result of a finished dataflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataflowResult {
    /// The dataflow's UUID.
    pub id: String,
    /// Its human-readable name.
    pub name: String,
    /// How each node ended.
    pub nodes: Vec<NodeOutcome>,
    /// Problems not tied to one node (a lost daemon, a failed spawn).
    pub errors: Vec<String>,
}

impl DataflowResult {
    /// Whether every node succeeded and nothing else went wrong.
    pub fn is_success(&self) -> bool {
        self.errors.is_empty() && self.nodes.iter().all(|n| n.failure.is_none())
    }
}

/// A line of a node's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The dataflow's UUID.
    pub dataflow_id: String,
    /// The node that wrote the line.
    pub node_id: String,
    /// Whether the line came from stderr (else stdout).
    pub stderr: bool,
    /// The line, without its line break: at most [`MAX_LOG_LINE`] bytes. A longer line of
    /// output arrives as several pieces in order, each but the last with `continued` set.
    pub line: String,
    /// The line goes on in the next piece: the node wrote more than [`MAX_LOG_LINE`] bytes
    /// without a line break. Shown as ` [continued]` at the end of the piece.
    pub continued: bool,
}

/// The longest piece of a node's output line, in bytes (64 KiB); longer lines are split.
pub const MAX_LOG_LINE: usize = 64 * 1024;

/// How a piece of a split line is marked where it is printed.
pub const CONTINUED_MARK: &str = " [continued]";

/// The largest chunk of a log file in one frame (1 MiB; lines are never cut between chunks).
pub const MAX_LOG_CHUNK: usize = 1024 * 1024;

/// CLI → coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ControlRequest {
    /// Start a dataflow; `descriptor` is the YAML text, already validated by the CLI.
    Start {
        /// The dataflow's YAML text.
        descriptor: String,
        /// The dataflow file (absolute), for messages and for the daemons' working directory.
        path: PathBuf,
        /// The name to give the dataflow (`--name`); one is made up when `None`.
        name: Option<String>,
        /// Reload Python operators whose file changed, keeping the dataflow running.
        hot_reload: bool,
    },
    /// Stream the dataflow's logs and end with its result.
    Attach {
        /// A UUID or a name.
        dataflow: String,
    },
    /// Stop a dataflow: every node gets `Stop`, and those still running after the grace
    /// period are killed.
    Stop {
        /// A UUID or a name; `None` when exactly one dataflow runs.
        dataflow: Option<String>,
        /// How long nodes may take to stop (`--grace-duration`); the default when `None`.
        grace_duration: Option<Duration>,
    },
    /// List the running and finished dataflows.
    List,
    /// The log of one node of a dataflow.
    Logs {
        /// A UUID or a name; `None` when exactly one dataflow runs.
        dataflow: Option<String>,
        /// The node.
        node: String,
        /// Keep streaming new lines until the dataflow ends.
        follow: bool,
        /// Only the last this many lines (`--tail`).
        tail: Option<u64>,
        /// Only lines written at or after this time (`--since`).
        since: Option<std::time::SystemTime>,
    },
    /// Stop every dataflow, end the daemons and the coordinator.
    Destroy,
    /// Report the connected daemons.
    Status,
}

/// Coordinator → CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ControlReply {
    /// The dataflow was started.
    Started {
        /// Its UUID.
        id: String,
        /// Its name.
        name: String,
    },
    /// A line of a node's output, while attached or following logs.
    Log(LogLine),
    /// A message from dora itself while attached (a node killed, a daemon lost, ...).
    Notice(String),
    /// An attached dataflow finished on its own.
    Finished(DataflowResult),
    /// The dataflow was stopped.
    Stopped(DataflowResult),
    /// The dataflows, for `dora list`.
    List(Vec<DataflowEntry>),
    /// All log lines so far (follow mode then streams [`ControlReply::Log`]s).
    LogLines(Vec<LogLine>),
    /// A piece of a node's log file for `dora logs`: whole lines of the file's format (see
    /// the daemon's `log_file` module), at most [`MAX_LOG_CHUNK`] bytes.
    LogChunk(String),
    /// End of a log: everything asked for was sent (for a followed log, the dataflow
    /// finished).
    LogEnd,
    /// Everything was destroyed.
    Destroyed {
        /// How many dataflows were running and stopped.
        dataflows_stopped: usize,
        /// How many daemons were told to exit.
        daemons: usize,
        /// Daemons not seen exiting: still connected when the coordinator stopped waiting,
        /// or lost (and not back) while told to exit or before. The CLI ends those of its
        /// own machine.
        daemons_left: Vec<DaemonProcess>,
        /// Nodes of the stopped dataflows that were killed after the grace period.
        killed_nodes: Vec<KilledNode>,
    },
    /// The connected daemons.
    Status {
        /// Their machine ids.
        daemons: Vec<String>,
    },
    /// The request failed, for the reason given.
    Error(String),
}

/// A daemon process as it registered, named in [`ControlReply::Destroyed`] when it was not
/// seen exiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonProcess {
    /// Its machine id (empty for the default machine).
    pub machine_id: String,
    /// Its process id on that machine.
    pub pid: u32,
    /// Why it was not seen exiting ("lost: no heartbeat for 5s", "did not exit within 5s").
    pub reason: String,
}

/// A node that dora killed because it did not stop within the grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KilledNode {
    /// The dataflow's UUID.
    pub dataflow_id: String,
    /// The dataflow's name.
    pub dataflow_name: String,
    /// The node's id.
    pub node_id: String,
    /// The machine it ran on.
    pub machine_id: String,
}

/// What [`CoordinatorToDaemon::ReadLog`] asks of a node's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRead {
    /// Names this read in the chunks.
    pub request: u64,
    /// The dataflow's UUID.
    pub dataflow_id: String,
    /// The node.
    pub node_id: String,
    /// The dataflow file, whose folder holds `out/<uuid>/`, when the coordinator knows it.
    pub path: Option<PathBuf>,
    /// Only the last this many lines.
    pub tail: Option<u64>,
    /// Only lines written at or after this time.
    pub since: Option<std::time::SystemTime>,
    /// Keep sending new lines while the dataflow runs.
    pub follow: bool,
}

/// Coordinator → daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CoordinatorToDaemon {
    /// Run the nodes `nodes` of a dataflow on this daemon.
    Spawn {
        /// The dataflow's UUID.
        dataflow_id: String,
        /// Its name.
        name: String,
        /// The dataflow's YAML text.
        descriptor: String,
        /// The dataflow file (absolute), whose directory is the nodes' working directory.
        path: PathBuf,
        /// The ids of the nodes this daemon runs.
        nodes: Vec<String>,
        /// The machine of every node of the dataflow.
        placement: Vec<(String, String)>,
        /// Where the other daemons of this dataflow accept data connections, by machine id.
        peers: Vec<(String, std::net::SocketAddr)>,
        /// Reload Python operators whose file changed (`dora start --hot-reload`).
        hot_reload: bool,
        /// The uid of the user who started the dataflow: the nodes run as this user, so a
        /// daemon running as another user refuses the spawn.
        started_by: u32,
    },
    /// Stop the daemon's nodes of a dataflow.
    Stop {
        /// The dataflow's UUID.
        dataflow_id: String,
        /// How long nodes may take to stop before they are killed.
        grace_duration: Duration,
    },
    /// Stop everything and exit.
    Destroy,
    /// Sent regularly, so a lost connection is noticed.
    Heartbeat,
    /// Stream a node's log file as [`DaemonToCoordinator::LogChunk`]s, then
    /// [`DaemonToCoordinator::LogEnd`].
    ReadLog(LogRead),
    /// The coordinator passed on one chunk of the read `request`: the daemon may send one
    /// more (it keeps a few in flight at most).
    LogCredit {
        /// The read.
        request: u64,
    },
    /// Nobody waits for the read `request` any more: stop it.
    CancelLog {
        /// The read.
        request: u64,
    },
}

/// A dataflow a daemon runs part of when it registers: what a coordinator that started
/// meanwhile learns of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningDataflow {
    /// The dataflow's UUID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Every node of the dataflow (on all machines), as in its descriptor.
    pub nodes: Vec<String>,
}

/// Daemon → coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DaemonToCoordinator {
    /// Sent after the handshake (again after every reconnect).
    Register {
        /// The daemon's machine id.
        machine_id: String,
        /// The daemon's process id on its machine (named by `dora destroy` if it does not
        /// exit).
        pid: u32,
        /// Where this daemon accepts data connections from other daemons.
        data_address: std::net::SocketAddr,
        /// Dataflows still running here (after a coordinator restart).
        running: Vec<RunningDataflow>,
    },
    /// The outcome of a [`CoordinatorToDaemon::Spawn`].
    Spawned {
        /// The dataflow's UUID.
        dataflow_id: String,
        /// Whether every node was spawned, or why not.
        result: Result<(), String>,
    },
    /// A line of a node's output.
    Log(LogLine),
    /// A message from dora about a dataflow (killed nodes, dropped messages).
    Notice {
        /// The dataflow's UUID.
        dataflow_id: String,
        /// The message.
        message: String,
    },
    /// A piece of a node's log file (whole lines, at most [`MAX_LOG_CHUNK`] bytes), for the
    /// read `request` of a [`CoordinatorToDaemon::ReadLog`].
    LogChunk {
        /// The read.
        request: u64,
        /// The lines.
        text: String,
    },
    /// The read `request` is complete, or failed for the reason given.
    LogEnd {
        /// The read.
        request: u64,
        /// Why the log could not be read.
        error: Option<String>,
    },
    /// The daemon's nodes of a dataflow all ended.
    Finished {
        /// The dataflow's UUID.
        dataflow_id: String,
        /// How each of them ended.
        nodes: Vec<NodeOutcome>,
    },
    /// Sent regularly, so a lost connection is noticed.
    Heartbeat,
    /// A node of a dataflow exited and is restarted under its `restart_policy`.
    NodeRestarted {
        /// The dataflow's UUID.
        dataflow_id: String,
        /// The node.
        node_id: String,
        /// How many times the node has been restarted, this one included.
        count: u32,
        /// How the previous process ended ("exited with code 1").
        reason: String,
    },
}

/// First frame on a daemon-to-daemon data link (after the [`Handshake`]): which dataflow's
/// messages follow, and from which machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkHello {
    /// The dataflow's UUID.
    pub dataflow_id: String,
    /// The sending daemon's machine id.
    pub from_machine: String,
}

/// Daemon → daemon, on a data link: the outputs of the sender's nodes that nodes on the
/// receiving machine consume. This is the seam where another transport (Zenoh) slots in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InterDaemon {
    /// A message of an output.
    Message {
        /// The sending node.
        node: String,
        /// Its output.
        output: String,
        /// The message's metadata.
        metadata: crate::Metadata,
        /// The payload's bytes (its Arrow buffers, laid out as `metadata` says).
        data: Vec<u8>,
    },
    /// The output was closed: its receivers get `InputClosed`.
    OutputClosed {
        /// The node.
        node: String,
        /// Its output.
        output: String,
    },
}
