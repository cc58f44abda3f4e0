//! The daemon role: spawns a dataflow's nodes, sets up their direct data connections, runs
//! the start barrier and the timers, collects logs, and stops the dataflow.
//!
//! This crate owns the life of a dataflow's nodes on one machine, from resolving their
//! programs to reporting how each ended, and the daemon service (`dora daemon`) that runs
//! dataflow parts for the coordinator. It must never sit on the data path of local
//! messages: routing is decided once at start ([`routing`]) and nodes then talk over their
//! own socket pairs; the daemon only feeds the inputs it owns (timers, `send_stdout_as`
//! lines) and forwards what crosses machines. It must never leave a process or a socket
//! behind: a run that fails to start kills what it spawned, every node runs in its own
//! process group with a parent-death signal, and the daemon drops its copies of data sockets
//! as soon as the nodes hold theirs.
//!
//! # Lifecycle
//!
//! 1. Every node's executable is resolved before anything starts, so a missing binary fails
//!    the run without leaving processes behind.
//! 2. Nodes are spawned with their data sockets (see [`routing`]). Each connects to the
//!    control endpoint and waits: once every node said hello or exited, all are released at
//!    once (the start barrier) and timers start.
//! 3. When a node exits, its receivers see their inputs closed (the data socket hangs up).
//! 4. Stop (Ctrl-C, SIGTERM): every node gets `Stop`; nodes still running after the grace
//!    duration are killed (their whole process group) and reported as killed. A second
//!    Ctrl-C kills at once.
//! 5. The run ends when every node has exited; the result lists each node's exit status and,
//!    for failed nodes, the last lines of their stderr.
//!
//! A dynamic node (`path: dynamic`) is not spawned: the user starts it, and it takes its
//! configuration and data sockets from the daemon (see [`dynamic`]). The barrier waits for
//! it like for any node; its exit is the end of its control connection, a success when it
//! closed its event stream first (or the dataflow was stopping). A dataflow stopped before
//! its dynamic node connected withdraws the node; one killed drops the node's connection.
//!
//! The running dataflow is one value with a method per event (see [`dataflow`]); starting
//! it is a sequence of small steps (see [`setup`]).

pub mod access;
mod control;
mod dataflow;
mod drop_notices;
pub mod dynamic;
pub mod log_file;
pub mod log_read;
mod log_service;
mod node_output;
pub mod outbox;
pub mod python;
mod remote;
mod restart;
mod routing;
pub mod run_folder;
pub mod service;
mod setup;
mod spawn;

use std::{collections::HashMap, fmt, path::PathBuf, sync::Arc, time::Duration};

use dora_descriptor::Descriptor;
use tokio::sync::{mpsc, oneshot};

use dataflow::Inbox;

/// A dataflow to run on this daemon.
#[derive(Debug)]
pub struct DataflowSpec {
    /// The dataflow's UUID (v7).
    pub id: String,
    /// The whole dataflow, with its file path (nodes run in the file's folder).
    pub descriptor: Descriptor,
    /// The ids of the nodes this daemon runs; `None` for all of them.
    pub local_nodes: Option<Vec<String>>,
    /// Where the other nodes run, when the dataflow spans several machines.
    pub remote: Option<RemoteSpec>,
    /// Reload Python operators whose file changed (`dora start --hot-reload`).
    pub hot_reload: bool,
    /// Where this process offers dynamic nodes; needed when the dataflow has some.
    pub dynamic_nodes: Option<dynamic::DynamicNodes>,
}

/// How a dataflow spanning several machines reaches its other parts.
#[derive(Debug)]
pub struct RemoteSpec {
    /// This daemon's machine id.
    pub machine_id: String,
    /// The machine of every node of the dataflow.
    pub placement: Vec<(String, String)>,
    /// Where each machine's daemon accepts data links.
    pub peers: Vec<(String, std::net::SocketAddr)>,
    /// What other machines send to this machine's nodes.
    pub incoming: std::sync::mpsc::Receiver<dora_message::coordinator::InterDaemon>,
    /// The coordinator's token, which data links to other machines present.
    pub token: Option<dora_control::access::Token>,
}

/// A request to stop a running dataflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRequest {
    /// Send `Stop` to every node and kill those still running after the grace duration. A
    /// second graceful request kills at once.
    Graceful(Duration),
    /// Kill every node now.
    Kill,
}

pub use node_output::{ClosedStdout, LogSink};
pub use spawn::is_dynamic;

/// How a node ended.
#[derive(Debug, Clone)]
pub enum NodeExit {
    /// Exited with status 0, or (a dynamic node) closed its event stream before its
    /// connection ended.
    Success,
    /// Exited with this non-zero status.
    Code(i32),
    /// Ended by this signal, not sent by dora's grace period.
    Signal(i32),
    /// Killed by dora after the grace period.
    Killed,
    /// Could not be waited for.
    Unknown(String),
    /// A dynamic node whose connection ended before it closed its event stream.
    Disconnected,
    /// A dynamic node that had not connected when the dataflow was stopped.
    NeverConnected,
    /// The node kept exiting and its restart budget is spent: how it last ended and how
    /// often it was restarted ("exited with code 1; restarted 2 times (max_restarts: 2),
    /// giving up").
    GaveUp(String),
}

impl NodeExit {
    /// Whether the node ended as it should: it finished, or it was a dynamic node that the
    /// user never started before the dataflow was stopped.
    pub fn is_success(&self) -> bool {
        matches!(self, NodeExit::Success | NodeExit::NeverConnected)
    }
}

impl fmt::Display for NodeExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeExit::Success => f.write_str("finished successfully"),
            NodeExit::Code(code) => write!(f, "exited with code {code}"),
            NodeExit::Signal(signal) => {
                let name = nix::sys::signal::Signal::try_from(*signal)
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|_| format!("signal {signal}"));
                write!(f, "was killed by {name}")
            }
            NodeExit::Killed => f.write_str("was killed after the grace period (it did not stop)"),
            NodeExit::Unknown(err) => write!(f, "ended in an unknown state: {err}"),
            NodeExit::Disconnected => f.write_str(
                "(a dynamic node) disconnected before closing its event stream: it crashed or \
                 was killed",
            ),
            NodeExit::NeverConnected => {
                f.write_str("(a dynamic node) was never started before the dataflow stopped")
            }
            NodeExit::GaveUp(reason) => f.write_str(reason),
        }
    }
}

/// The result of one node.
#[derive(Debug, Clone)]
pub struct NodeResult {
    /// The node's id.
    pub node_id: String,
    /// How it ended.
    pub exit: NodeExit,
    /// Its last lines of stderr (at most ten), shown when it failed.
    pub stderr_tail: Vec<String>,
}

/// The result of a dataflow run.
#[derive(Debug, Clone)]
pub struct DataflowResult {
    /// The dataflow's UUID.
    pub dataflow_id: String,
    /// Where the nodes' logs are (`out/<uuid>` beside the dataflow file).
    pub log_dir: PathBuf,
    /// Every local node, in the order of the dataflow file.
    pub nodes: Vec<NodeResult>,
}

impl DataflowResult {
    /// True when every node finished successfully.
    pub fn is_success(&self) -> bool {
        self.nodes.iter().all(|n| n.exit.is_success())
    }
}

/// Runs `spec` on this machine until every node has exited.
///
/// `stop_requests` stops the dataflow (see [`StopRequest`]); `sink` receives the nodes'
/// output lines and dora's notices besides the log files; `spawned` is told once every node
/// was started (or offered, when dynamic). An error means the dataflow could not start, and
/// then no node of it is left running.
pub async fn run_dataflow(
    spec: DataflowSpec,
    stop_requests: mpsc::UnboundedReceiver<StopRequest>,
    sink: LogSink,
    spawned: Option<oneshot::Sender<()>>,
) -> eyre::Result<DataflowResult> {
    // Both senders live as long as the loop, so neither channel closes under it.
    let (control_tx, control) = mpsc::unbounded_channel();
    let (internal_tx, internal) = mpsc::unbounded_channel();
    let mut dataflow = setup::start(spec, sink, &control_tx, &internal_tx).await?;
    if let Some(spawned) = spawned {
        let _ = spawned.send(());
    }
    dataflow
        .run(Inbox {
            control,
            internal,
            stop_requests,
        })
        .await;
    Ok(dataflow.finish().await)
}

/// Starts forwarding between local nodes and the other machines of the dataflow.
fn start_bridges(dataflow_id: &str, remote: RemoteSpec, bridges: Vec<remote::Bridge>) {
    use dora_transport::Peer;
    let mut links: HashMap<String, mpsc::UnboundedSender<dora_message::coordinator::InterDaemon>> =
        HashMap::new();
    let mut receiving = Vec::new();
    for bridge in bridges {
        let peer = Arc::new(Peer::from_owned(bridge.node_id.clone(), bridge.fd));
        if !bridge.sends.is_empty() {
            let Some(&(_, addr)) = remote.peers.iter().find(|(m, _)| *m == bridge.machine) else {
                tracing::warn!(
                    "dataflow {dataflow_id}: no data address for {}",
                    dora_control::Machine(&bridge.machine)
                );
                continue;
            };
            let link = links
                .entry(bridge.machine.clone())
                .or_insert_with(|| {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let hello = dora_message::coordinator::LinkHello {
                        dataflow_id: dataflow_id.to_owned(),
                        from_machine: remote.machine_id.clone(),
                    };
                    tokio::spawn(remote::link(addr, hello, remote.token.clone(), rx));
                    tx
                })
                .clone();
            let (peer, node_id, sends) = (peer.clone(), bridge.node_id.clone(), bridge.sends);
            std::thread::spawn(move || remote::forward_outgoing(peer, node_id, sends, link));
        }
        if !bridge.receives.is_empty() {
            receiving.push((peer, bridge.receives));
        }
    }
    let id = dataflow_id.to_owned();
    let incoming = remote.incoming;
    std::thread::spawn(move || remote::deliver_incoming(id, incoming, receiving));
}
