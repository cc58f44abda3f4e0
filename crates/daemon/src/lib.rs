//! The daemon role: spawns a dataflow's nodes, sets up their direct data connections, runs
//! the start barrier and the timers, collects logs, and stops the dataflow.
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

mod control;
pub mod dynamic;
mod node_output;
pub mod python;
mod remote;
mod routing;
pub mod service;
mod spawn;

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
    process::ExitStatus,
    sync::Arc,
    time::Duration,
};

use arrow_array::{Array, StringArray};
use dora_descriptor::{Descriptor, LocalCommunication, Node};
use dora_message::{
    arrow::{copy_array_into, required_size},
    config::DaemonAddress,
    node_daemon::{DaemonEvent, DaemonReply, NodeRequest},
    Metadata,
};
use eyre::WrapErr;
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

use control::{ControlMessage, Listener};
use node_output::{NodeLog, Stream};

/// After this long without every node at the start barrier, the laggards are named.
const BARRIER_WARNING: Duration = Duration::from_secs(5);

/// A dataflow to run on this daemon.
#[derive(Debug)]
pub struct DataflowSpec {
    /// The dataflow's UUID (v7).
    pub id: String,
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

pub use node_output::LogSink;
pub use spawn::is_dynamic;

/// How a node ended.
#[derive(Debug, Clone)]
pub enum NodeExit {
    Success,
    Code(i32),
    Signal(i32),
    /// Killed by dora after the grace period.
    Killed,
    /// Could not be waited for.
    Unknown(String),
    /// A dynamic node whose connection ended before it closed its event stream.
    Disconnected,
    /// A dynamic node that had not connected when the dataflow was stopped.
    NeverConnected,
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
        }
    }
}

/// The result of one node.
#[derive(Debug, Clone)]
pub struct NodeResult {
    pub node_id: String,
    pub exit: NodeExit,
    pub stderr_tail: Vec<String>,
}

/// The result of a dataflow run.
#[derive(Debug, Clone)]
pub struct DataflowResult {
    pub dataflow_id: String,
    pub log_dir: PathBuf,
    pub nodes: Vec<NodeResult>,
}

impl DataflowResult {
    /// True when every node finished successfully.
    pub fn is_success(&self) -> bool {
        self.nodes.iter().all(|n| n.exit.is_success())
    }
}

/// One running node, as the daemon loop sees it.
struct NodeState {
    /// Position in the daemon loop's node list.
    index: usize,
    id: String,
    pid: Option<i32>,
    /// `path: dynamic`: started by the user; its exit is the end of its control connection.
    dynamic: bool,
    /// The node said it closed its event stream (it ends on purpose).
    closed_events: bool,
    running: bool,
    said_hello: bool,
    events: Option<mpsc::UnboundedSender<DaemonEvent>>,
    /// Events for the node produced before it connected.
    backlog: Vec<DaemonEvent>,
    pending_start: Option<oneshot::Sender<DaemonReply>>,
    exit: Option<NodeExit>,
    log: NodeLog,
    output_tasks: Vec<JoinHandle<()>>,
}

enum Internal {
    Exited(usize, std::io::Result<ExitStatus>),
    StdoutLine(usize, String),
    /// The stdout of a `send_stdout_as` node closed: its last line was forwarded.
    StdoutClosed(usize),
}

impl NodeState {
    /// Marks the node as ended: no more events, no start.
    fn end(&mut self, exit: NodeExit) {
        self.running = false;
        self.events = None;
        self.pending_start = None;
        self.backlog.clear();
        if self.exit.is_none() {
            self.exit = Some(exit);
        }
    }

    /// Sends an event to the node, or keeps it until the node connects.
    fn send(&mut self, event: DaemonEvent) {
        match &self.events {
            Some(events) => {
                let _ = events.send(event);
            }
            None if self.running && !self.said_hello => self.backlog.push(event),
            None => {}
        }
    }
}

/// Runs `descriptor` on this machine until every node has exited.
pub async fn run_dataflow(
    spec: DataflowSpec,
    mut stop_requests: mpsc::UnboundedReceiver<StopRequest>,
    sink: LogSink,
    spawned: Option<oneshot::Sender<()>>,
) -> eyre::Result<DataflowResult> {
    let DataflowSpec {
        id: dataflow_id,
        descriptor,
        local_nodes: local_ids,
        remote,
        hot_reload,
        dynamic_nodes,
    } = spec;
    let dataflow_path = descriptor
        .path
        .clone()
        .ok_or_else(|| eyre::eyre!("the dataflow has no file path"))?;
    let working_dir = dataflow_path
        .parent()
        .map(Path::to_owned)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let working_dir = working_dir
        .canonicalize()
        .wrap_err_with(|| format!("resolving the folder of {}", dataflow_path.display()))?;

    let local_nodes: Vec<&Node> = descriptor
        .nodes
        .iter()
        .filter(|n| local_ids.as_ref().is_none_or(|ids| ids.contains(&n.id)))
        .collect();
    // `None` for dynamic nodes, which the user starts.
    let mut programs = local_nodes
        .iter()
        .map(|node| match spawn::is_dynamic(node) {
            true => Ok(None),
            false => spawn::resolve(node, &working_dir, Some(&dataflow_path)).map(Some),
        })
        .collect::<eyre::Result<Vec<_>>>()?;
    if programs.iter().any(Option::is_none) && dynamic_nodes.is_none() {
        eyre::bail!("the dataflow has dynamic nodes, but this daemon does not serve them");
    }
    if hot_reload {
        for (program, _) in programs.iter_mut().flatten() {
            program
                .env
                .push((spawn::HOT_RELOAD_ENV.to_owned(), "1".to_owned()));
        }
    }

    let log_dir = working_dir.join("out").join(&dataflow_id);
    std::fs::create_dir_all(&log_dir)
        .wrap_err_with(|| format!("creating the log folder {}", log_dir.display()))?;

    // The control endpoint.
    let socket_dir = tempfile::Builder::new()
        .prefix("dora-")
        .tempdir()
        .wrap_err("creating a folder for the daemon socket")?;
    let (listener, address) = match descriptor.communication.local {
        LocalCommunication::Tcp => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .wrap_err("binding the daemon's TCP control port on 127.0.0.1")?;
            let addr = listener.local_addr()?;
            (Listener::Tcp(listener), DaemonAddress::Tcp(addr))
        }
        LocalCommunication::UnixDomain | LocalCommunication::Shmem => {
            let path = socket_dir.path().join("daemon.sock");
            let listener = tokio::net::UnixListener::bind(&path)
                .wrap_err_with(|| format!("binding the daemon socket {}", path.display()))?;
            (Listener::Unix(listener), DaemonAddress::Unix(path))
        }
    };
    let node_ids: Vec<String> = local_nodes.iter().map(|n| n.id.clone()).collect();
    let (control_tx, mut control_rx) = mpsc::unbounded_channel();
    let acceptor = tokio::spawn(control::accept(
        listener,
        dataflow_id.clone(),
        node_ids.clone(),
        control_tx.clone(),
    ));

    let remote_nodes: Vec<(&Node, String)> = match &remote {
        Some(remote) => descriptor
            .nodes
            .iter()
            .filter(|n| !local_nodes.iter().any(|l| l.id == n.id))
            .filter_map(|n| {
                remote
                    .placement
                    .iter()
                    .find(|(id, _)| *id == n.id)
                    .map(|(_, machine)| (n, machine.clone()))
            })
            .collect(),
        None => Vec::new(),
    };
    let mut routing = routing::plan(&local_nodes, &remote_nodes, &dataflow_id, &address)?;
    for (config, program) in routing.configs.iter_mut().zip(&programs) {
        config.runtime = program.as_ref().and_then(|(_, runtime)| runtime.clone());
        config.dataflow_path = Some(dataflow_path.clone());
    }

    // Spawn every node.
    let (internal_tx, mut internal_rx) = mpsc::unbounded_channel();
    let mut nodes: Vec<NodeState> = Vec::new();
    let mut offers = Vec::new();
    for (index, (node, program)) in local_nodes.iter().zip(&programs).enumerate() {
        let log_path = log_dir.join(format!("log_{}.txt", node.id));
        let file = std::fs::File::create(&log_path)
            .wrap_err_with(|| format!("creating {}", log_path.display()))?;
        let log = NodeLog::new(&dataflow_id, &node.id, file, sink.clone());
        let mut state = NodeState {
            index,
            id: node.id.clone(),
            pid: None,
            dynamic: program.is_none(),
            closed_events: false,
            running: true,
            said_hello: false,
            events: None,
            backlog: Vec::new(),
            pending_start: None,
            exit: None,
            log,
            output_tasks: Vec::new(),
        };
        let Some((program, _)) = program else {
            let config_json = serde_json::to_string(&routing.configs[index])
                .wrap_err("serializing a dynamic node's config")?;
            let fds = std::mem::take(&mut routing.fds[index]);
            offers.push(dynamic::Offer::new(
                index,
                node.id.clone(),
                config_json,
                fds,
            ));
            nodes.push(state);
            continue;
        };
        let log = &state.log;
        let mut child = match spawn::spawn(
            node,
            program,
            &working_dir,
            &routing.configs[index],
            &routing.fds[index],
        ) {
            Ok(child) => child,
            Err(err) => {
                kill_all(&mut nodes);
                return Err(err);
            }
        };
        let mut output_tasks = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let forward = (!routing.stdout_routes[index].is_empty()).then(|| {
                let (tx, mut rx) = mpsc::unbounded_channel::<String>();
                let internal = internal_tx.clone();
                tokio::spawn(async move {
                    while let Some(line) = rx.recv().await {
                        let _ = internal.send(Internal::StdoutLine(index, line));
                    }
                    let _ = internal.send(Internal::StdoutClosed(index));
                });
                tx
            });
            output_tasks.push(log.capture(stdout, Stream::Stdout, forward));
        }
        if let Some(stderr) = child.stderr.take() {
            output_tasks.push(log.capture(stderr, Stream::Stderr, None));
        }
        state.pid = child.id().map(|pid| pid as i32);
        state.output_tasks = output_tasks;
        let exited = internal_tx.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = exited.send(Internal::Exited(index, status));
        });
        nodes.push(state);
    }
    let _offers = match (&dynamic_nodes, offers.is_empty()) {
        (Some(dynamic_nodes), false) => {
            Some(dynamic_nodes.offer(&dataflow_id, node_ids.clone(), offers, control_tx.clone()))
        }
        _ => None,
    };
    for state in nodes.iter().filter(|n| n.dynamic) {
        state.log.note(&format!(
            "dynamic node: waiting for the user to start it (`Node(\"{0}\")` in Python, \
             `DoraNode::init_from_node_id` in Rust)",
            state.id
        ));
    }
    // The daemon's copies of the data sockets must go, so that a node's exit hangs up its
    // peers' connections.
    drop(routing.fds);
    if let Some(remote) = remote {
        start_bridges(&dataflow_id, remote, std::mem::take(&mut routing.bridges));
    }
    if let Some(spawned) = spawned {
        let _ = spawned.send(());
    }

    let hlc = Arc::new(uhlc::HLC::default());
    let mut timers: Vec<JoinHandle<()>> = Vec::new();
    let mut started = false;
    let mut stopping = false;
    let mut grace: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    // Nodes that never initialize hold everyone at the barrier: say who, once.
    let barrier_warning = tokio::time::sleep(BARRIER_WARNING);
    tokio::pin!(barrier_warning);
    let mut barrier_warned = false;
    let mut stop_requests_open = true;
    let queue_sizes: HashMap<(usize, String), usize> = local_nodes
        .iter()
        .enumerate()
        .flat_map(|(i, node)| {
            node.inputs()
                .into_iter()
                .map(move |(id, input)| ((i, id), input.queue_size))
        })
        .collect();

    while nodes.iter().any(|n| n.running) {
        let stop_request = tokio::select! {
            Some(message) = control_rx.recv() => {
                match message {
                    ControlMessage::Hello { node, reply, events } => {
                        let state = &mut nodes[node];
                        if state.said_hello {
                            let _ = reply.send(DaemonReply::Refused(format!("node `{}` already connected", state.id)));
                        } else if stopping {
                            let _ = reply.send(DaemonReply::Refused("the dataflow is stopping".into()));
                        } else {
                            state.said_hello = true;
                            for event in state.backlog.drain(..) {
                                let _ = events.send(event);
                            }
                            state.events = Some(events);
                            if started {
                                let _ = reply.send(DaemonReply::Start);
                            } else {
                                state.pending_start = Some(reply);
                            }
                        }
                    }
                    ControlMessage::Request { node, request } => match request {
                        NodeRequest::InputsDropped { input, count } => {
                            let queue_size = queue_sizes.get(&(node, input.clone())).copied().unwrap_or_default();
                            nodes[node].log.note(&format!(
                                "dropped {count} message(s) on input `{input}`: the node did not keep up (queue_size {queue_size})"
                            ));
                        }
                        NodeRequest::EventStreamClosed => nodes[node].closed_events = true,
                        NodeRequest::Hello { .. } => {}
                    },
                    ControlMessage::Closed { node } => {
                        let state = &mut nodes[node];
                        if state.dynamic && state.running {
                            let exit = if state.closed_events || stopping {
                                NodeExit::Success
                            } else {
                                NodeExit::Disconnected
                            };
                            state.log.note(&format!("connection closed: the node {exit}"));
                            state.end(exit);
                        }
                    }
                }
                None
            }
            Some(internal) = internal_rx.recv() => {
                match internal {
                    Internal::Exited(index, status) => {
                        nodes[index].end(match status {
                            Ok(status) => exit_of(status),
                            Err(err) => NodeExit::Unknown(err.to_string()),
                        });
                    }
                    Internal::StdoutClosed(index) => {
                        for &(receiver, input) in &routing.stdout_routes[index] {
                            nodes[receiver].send(DaemonEvent::InputClosed { input });
                        }
                    }
                    Internal::StdoutLine(index, line) => {
                        let array = StringArray::from(vec![line]);
                        let data = array.to_data();
                        let mut payload = vec![0u8; required_size(&data)];
                        let type_info = copy_array_into(&mut payload, &data);
                        let metadata = Metadata::new(hlc.new_timestamp(), type_info);
                        for &(receiver, input) in &routing.stdout_routes[index] {
                            nodes[receiver].send(DaemonEvent::Input { input, metadata: metadata.clone(), payload: payload.clone() });
                        }
                    }
                }
                None
            }
            () = &mut barrier_warning, if !started && !barrier_warned => {
                barrier_warned = true;
                let waiting: Vec<String> = nodes
                    .iter()
                    .filter(|n| n.running && !n.said_hello)
                    .map(|n| match n.dynamic {
                        true => format!(
                            "`{0}` (a dynamic node: start it yourself, with `Node(\"{0}\")` \
                             in Python or `DoraNode::init_from_node_id` in Rust)",
                            n.id
                        ),
                        false => format!("`{}`", n.id),
                    })
                    .collect();
                sink.notice(&dataflow_id, &format!(
                    "still waiting for {} to initialize (DoraNode::init_from_env); \
                     no node receives messages before every node has",
                    waiting.join(", ")
                ));
                None
            }
            request = stop_requests.recv(), if stop_requests_open => {
                if request.is_none() {
                    stop_requests_open = false;
                }
                request
            }
            _ = async { grace.as_mut().expect("guarded").await }, if grace.is_some() => {
                grace = None;
                for state in nodes.iter_mut().filter(|n| n.running) {
                    state.exit = Some(NodeExit::Killed);
                    state.log.note("killed: still running after the grace period");
                    kill(state, &dataflow_id, dynamic_nodes.as_ref());
                }
                None
            }
        };

        match stop_request {
            None => {}
            Some(StopRequest::Kill) | Some(StopRequest::Graceful(_)) if stopping => {
                sink.notice(&dataflow_id, "second stop request: killing all nodes");
                for state in nodes.iter_mut().filter(|n| n.running) {
                    state.exit = Some(NodeExit::Killed);
                    kill(state, &dataflow_id, dynamic_nodes.as_ref());
                }
            }
            Some(StopRequest::Kill) => {
                stopping = true;
                sink.notice(&dataflow_id, "killing all nodes");
                for timer in timers.drain(..) {
                    timer.abort();
                }
                for state in nodes.iter_mut().filter(|n| n.running) {
                    state.exit = Some(NodeExit::Killed);
                    kill(state, &dataflow_id, dynamic_nodes.as_ref());
                }
            }
            Some(StopRequest::Graceful(grace_duration)) => {
                stopping = true;
                sink.notice(
                    &dataflow_id,
                    &format!("stopping the dataflow (nodes have {grace_duration:?} to exit)"),
                );
                for timer in timers.drain(..) {
                    timer.abort();
                }
                for state in &mut nodes {
                    if let Some(reply) = state.pending_start.take() {
                        let _ = reply.send(DaemonReply::Start);
                    }
                    if let Some(events) = &state.events {
                        let _ = events.send(DaemonEvent::Stop);
                    }
                    withdraw_unconnected(state, &dataflow_id, dynamic_nodes.as_ref());
                }
                grace = Some(Box::pin(tokio::time::sleep(grace_duration)));
            }
        }

        // The start barrier: release everyone once every node said hello or exited.
        if !started && nodes.iter().all(|n| n.said_hello || !n.running) {
            started = true;
            for state in &mut nodes {
                if let Some(reply) = state.pending_start.take() {
                    let _ = reply.send(DaemonReply::Start);
                }
            }
            if !stopping {
                timers = start_timers(&routing.timers, &nodes, hlc.clone());
            }
        }
    }

    for timer in timers {
        timer.abort();
    }
    acceptor.abort();
    let mut results = Vec::new();
    for state in nodes {
        // Output readers end when the node's pipes close; a grandchild that keeps them open
        // must not hold up the result.
        for task in state.output_tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        results.push(NodeResult {
            stderr_tail: state.log.stderr_tail(),
            node_id: state.id,
            exit: state
                .exit
                .unwrap_or(NodeExit::Unknown("no exit status".into())),
        });
    }
    Ok(DataflowResult {
        dataflow_id,
        log_dir,
        nodes: results,
    })
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
                    tokio::spawn(remote::link(addr, hello, rx));
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

fn start_timers(
    timers: &std::collections::BTreeMap<Duration, Vec<routing::InputRef>>,
    nodes: &[NodeState],
    hlc: Arc<uhlc::HLC>,
) -> Vec<JoinHandle<()>> {
    timers
        .iter()
        .map(|(&interval, inputs)| {
            let targets: Vec<(mpsc::UnboundedSender<DaemonEvent>, u16)> = inputs
                .iter()
                .filter_map(|&(node, input)| nodes[node].events.clone().map(|e| (e, input)))
                .collect();
            let hlc = hlc.clone();
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let timestamp = hlc.new_timestamp();
                    for (events, input) in &targets {
                        let _ = events.send(DaemonEvent::Timer {
                            input: *input,
                            timestamp,
                        });
                    }
                }
            })
        })
        .collect()
}

fn exit_of(status: ExitStatus) -> NodeExit {
    use std::os::unix::process::ExitStatusExt;
    if status.success() {
        NodeExit::Success
    } else if let Some(code) = status.code() {
        NodeExit::Code(code)
    } else if let Some(signal) = status.signal() {
        NodeExit::Signal(signal)
    } else {
        NodeExit::Unknown(format!("{status}"))
    }
}

/// A dynamic node that has not taken its offer yet will not run: withdraw the offer (its
/// peers see their connections close) and count the node as ended.
fn withdraw_unconnected(
    state: &mut NodeState,
    dataflow_id: &str,
    dynamic_nodes: Option<&dynamic::DynamicNodes>,
) -> bool {
    let Some(dynamic_nodes) = dynamic_nodes else {
        return false;
    };
    if !(state.dynamic && state.running && !state.said_hello) {
        return false;
    }
    if dynamic_nodes.withdraw(dataflow_id, state.index) {
        state
            .log
            .note("the dataflow stopped before this dynamic node connected");
        state.exit = None;
        state.end(NodeExit::NeverConnected);
        return true;
    }
    false
}

/// Kills a node's whole process group. A dynamic node, which dora did not start, is not
/// killed: its offer is withdrawn, or its control connection dropped.
fn kill(state: &mut NodeState, dataflow_id: &str, dynamic_nodes: Option<&dynamic::DynamicNodes>) {
    if state.dynamic {
        if !withdraw_unconnected(state, dataflow_id, dynamic_nodes) {
            state
                .log
                .note("dropped the connection of this dynamic node");
            state.end(NodeExit::Killed);
        }
        return;
    }
    if let Some(pid) = state.pid {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn kill_all(nodes: &mut [NodeState]) {
    for state in nodes.iter_mut().filter(|n| n.running && !n.dynamic) {
        kill(state, "", None);
    }
}
