//! A running dataflow as one value: [`Dataflow`] owns the nodes' states, the inputs the
//! daemon feeds itself (timers, stdout lines), and the start, stop and grace flags. Each of
//! its methods handles one kind of event; [`Dataflow::run`] only picks the next event.
//! Setting the dataflow up (resolving programs, binding the control endpoint, routing,
//! spawning) is in [`crate::setup`].

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    pin::Pin,
    process::ExitStatus,
    sync::Arc,
    time::Duration,
};

use arrow_array::{Array, StringArray};
use dora_message::{
    arrow::{copy_array_into, required_size},
    node_daemon::{DaemonEvent, DaemonReply, NodeRequest},
    Metadata,
};
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
    time::Sleep,
};

use crate::{
    control::ControlMessage,
    drop_notices::{DropNotices, SUMMARY_INTERVAL},
    dynamic::{DynamicNodes, OfferGuard},
    node_output::{LogSink, NodeLog},
    restart::{self, Decision, Respawner},
    routing::InputRef,
    setup::{spawn_process, ControlEndpoint, Process},
    DataflowResult, NodeExit, NodeResult, StopRequest,
};

/// After this long without every node at the start barrier, the laggards are named.
const BARRIER_WARNING: Duration = Duration::from_secs(5);

/// How long an ended node's output readers may take to reach the end of its pipes: a
/// grandchild that keeps them open must not hold up the result.
const OUTPUT_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// One local node, as the running dataflow sees it.
pub(crate) struct NodeState {
    /// Position in the dataflow's node list.
    pub(crate) index: usize,
    pub(crate) id: String,
    pub(crate) pid: Option<i32>,
    /// `path: dynamic`: started by the user; its exit is the end of its control connection.
    pub(crate) dynamic: bool,
    /// The node said it closed its event stream (it ends on purpose).
    closed_events: bool,
    running: bool,
    said_hello: bool,
    events: Option<mpsc::UnboundedSender<DaemonEvent>>,
    /// Events for the node produced before it connected.
    backlog: Vec<DaemonEvent>,
    pending_start: Option<oneshot::Sender<DaemonReply>>,
    exit: Option<NodeExit>,
    pub(crate) log: NodeLog,
    /// The tasks that read the node's stdout and stderr.
    pub(crate) output_tasks: Vec<JoinHandle<()>>,
    /// Where the timers send the node's ticks: its current control connection, if any (a
    /// restarted node gets a new one).
    timer_slot: EventSlot,
    /// Set while the node waits to be restarted.
    restart: Option<PendingRestart>,
}

/// The current event channel of a node, shared with the timer tasks.
type EventSlot = Arc<std::sync::Mutex<Option<mpsc::UnboundedSender<DaemonEvent>>>>;

/// A node that exited and waits to be started again.
struct PendingRestart {
    /// How its last process ended.
    exit: NodeExit,
    /// Renews its connections, then reports [`Internal::RestartDue`].
    task: JoinHandle<()>,
    /// Events the daemon had for it meanwhile (timer ticks, lines of a `send_stdout_as` node).
    dropped: u64,
}

/// What the tasks watching node processes report.
pub(crate) enum Internal {
    Exited(usize, std::io::Result<ExitStatus>),
    StdoutLine(usize, String),
    /// The stdout of a `send_stdout_as` node closed: its last line was forwarded.
    StdoutClosed(usize),
    /// A node waiting to be restarted may start now; the count of messages its peers sent it
    /// meanwhile, which were dropped.
    RestartDue(usize, u64),
}

impl NodeState {
    /// A node that is running (or, when dynamic, expected) and has not connected yet.
    pub(crate) fn new(index: usize, id: &str, dynamic: bool, log: NodeLog) -> Self {
        Self {
            index,
            id: id.to_owned(),
            pid: None,
            dynamic,
            closed_events: false,
            running: true,
            said_hello: false,
            events: None,
            backlog: Vec::new(),
            pending_start: None,
            exit: None,
            log,
            output_tasks: Vec::new(),
            timer_slot: EventSlot::default(),
            restart: None,
        }
    }

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

    /// Sends an event to the node, or keeps it until the node connects (drops it while the
    /// node waits to be restarted).
    fn send(&mut self, event: DaemonEvent) {
        if let Some(pending) = &mut self.restart {
            pending.dropped += 1;
            return;
        }
        match &self.events {
            Some(events) => {
                let _ = events.send(event);
            }
            None if self.running && !self.said_hello => self.backlog.push(event),
            None => {}
        }
    }

    /// Releases the node from the start barrier, if it waits there.
    fn release(&mut self) {
        if let Some(reply) = self.pending_start.take() {
            let _ = reply.send(DaemonReply::Start);
        }
    }

    /// A dynamic node that has not taken its offer yet will not run: withdraw the offer (its
    /// peers see their connections close) and count the node as ended.
    fn withdraw_unconnected(
        &mut self,
        dataflow_id: &str,
        dynamic_nodes: Option<&DynamicNodes>,
    ) -> bool {
        let Some(dynamic_nodes) = dynamic_nodes else {
            return false;
        };
        if !(self.dynamic && self.running && !self.said_hello) {
            return false;
        }
        if dynamic_nodes.withdraw(dataflow_id, self.index) {
            self.log
                .note("the dataflow stopped before this dynamic node connected");
            self.exit = None;
            self.end(NodeExit::NeverConnected);
            return true;
        }
        false
    }

    /// Kills the node's whole process group. A dynamic node, which dora did not start, is
    /// not killed: its offer is withdrawn, or its control connection dropped.
    pub(crate) fn kill(&mut self, dataflow_id: &str, dynamic_nodes: Option<&DynamicNodes>) {
        if self.dynamic {
            if !self.withdraw_unconnected(dataflow_id, dynamic_nodes) {
                self.log.note("dropped the connection of this dynamic node");
                self.end(NodeExit::Killed);
            }
            return;
        }
        if let Some(pid) = self.pid {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// Ends the node's output readers and says how it ended.
    async fn result(self) -> NodeResult {
        for task in self.output_tasks {
            let _ = tokio::time::timeout(OUTPUT_DRAIN_TIMEOUT, task).await;
        }
        NodeResult {
            stderr_tail: self.log.stderr_tail(),
            node_id: self.id,
            exit: self
                .exit
                .unwrap_or(NodeExit::Unknown("no exit status".into())),
        }
    }
}

/// Kills every node dora started, when starting the dataflow failed part way.
pub(crate) fn kill_all(nodes: &mut [NodeState]) {
    for state in nodes.iter_mut().filter(|n| n.running && !n.dynamic) {
        state.kill("", None);
    }
}

/// Where a running dataflow's events come from.
pub(crate) struct Inbox {
    /// Node connections (hello, requests, closed connections).
    pub(crate) control: mpsc::UnboundedReceiver<ControlMessage>,
    /// Node processes (exits, stdout lines).
    pub(crate) internal: mpsc::UnboundedReceiver<Internal>,
    pub(crate) stop_requests: mpsc::UnboundedReceiver<StopRequest>,
}

/// What a dataflow needs besides its nodes once they are started.
pub(crate) struct Started {
    pub(crate) id: String,
    pub(crate) nodes: Vec<NodeState>,
    pub(crate) sink: LogSink,
    pub(crate) dynamic_nodes: Option<DynamicNodes>,
    pub(crate) log_dir: PathBuf,
    pub(crate) stdout_routes: Vec<Vec<InputRef>>,
    pub(crate) timer_routes: BTreeMap<Duration, Vec<InputRef>>,
    pub(crate) queue_sizes: HashMap<(usize, String), usize>,
    pub(crate) endpoint: ControlEndpoint,
    pub(crate) offers: Option<OfferGuard>,
    pub(crate) respawner: Respawner,
}

/// A dataflow whose nodes were started, until every node has exited.
pub(crate) struct Dataflow {
    id: String,
    nodes: Vec<NodeState>,
    sink: LogSink,
    dynamic_nodes: Option<DynamicNodes>,
    log_dir: PathBuf,
    /// Per node, the inputs its stdout lines feed (`send_stdout_as`).
    stdout_routes: Vec<Vec<InputRef>>,
    /// Timer interval → the inputs it feeds, once the barrier is released.
    timer_routes: BTreeMap<Duration, Vec<InputRef>>,
    /// (node, input id) → the input's queue size, for reports of dropped messages.
    queue_sizes: HashMap<(usize, String), usize>,
    hlc: Arc<uhlc::HLC>,
    /// The running timer tasks.
    timers: Vec<JoinHandle<()>>,
    /// The start barrier was released.
    started: bool,
    /// A stop was requested.
    stopping: bool,
    /// After a graceful stop request: when the nodes still running get killed.
    grace: Option<Pin<Box<Sleep>>>,
    /// Nodes that never initialize hold everyone at the barrier: say who, once.
    barrier_warning: Pin<Box<Sleep>>,
    barrier_warned: bool,
    /// Served until the dataflow ends.
    endpoint: ControlEndpoint,
    _offers: Option<OfferGuard>,
    /// Messages dropped on inputs, said at most once per input per second.
    drop_notices: DropNotices,
    /// What restarting the nodes with a restart policy needs.
    respawner: Respawner,
}

impl Dataflow {
    /// Takes over a dataflow whose nodes were just started; the barrier warning's clock
    /// starts now.
    pub(crate) fn new(started: Started) -> Self {
        let Started {
            id,
            nodes,
            sink,
            dynamic_nodes,
            log_dir,
            stdout_routes,
            timer_routes,
            queue_sizes,
            endpoint,
            offers,
            respawner,
        } = started;
        Self {
            id,
            nodes,
            sink,
            dynamic_nodes,
            log_dir,
            stdout_routes,
            timer_routes,
            queue_sizes,
            hlc: Arc::new(uhlc::HLC::default()),
            timers: Vec::new(),
            started: false,
            stopping: false,
            grace: None,
            barrier_warning: Box::pin(tokio::time::sleep(BARRIER_WARNING)),
            barrier_warned: false,
            endpoint,
            _offers: offers,
            drop_notices: DropNotices::default(),
            respawner,
        }
    }

    /// Handles events until every node has exited.
    pub(crate) async fn run(&mut self, mut inbox: Inbox) {
        let mut stop_requests_open = true;
        let mut drop_summary = tokio::time::interval(SUMMARY_INTERVAL);
        while self.nodes.iter().any(|n| n.running) {
            tokio::select! {
                _ = drop_summary.tick() => self.say_due_drops(),
                Some(message) = inbox.control.recv() => self.control_message(message),
                Some(event) = inbox.internal.recv() => self.node_event(event),
                () = &mut self.barrier_warning, if !self.started && !self.barrier_warned => {
                    self.warn_barrier()
                }
                request = inbox.stop_requests.recv(), if stop_requests_open => match request {
                    Some(request) => self.stop_request(request),
                    None => stop_requests_open = false,
                },
                () = grace_period(&mut self.grace), if self.grace.is_some() => self.grace_ended(),
            }
            self.release_barrier_if_ready();
        }
    }

    fn control_message(&mut self, message: ControlMessage) {
        match message {
            ControlMessage::Hello {
                node,
                reply,
                events,
            } => self.hello(node, reply, events),
            ControlMessage::Request { node, request } => self.node_request(node, request),
            ControlMessage::Closed { node } => self.connection_closed(node),
        }
    }

    /// A node connected: it waits at the barrier, or starts at once if the barrier is past.
    fn hello(
        &mut self,
        node: usize,
        reply: oneshot::Sender<DaemonReply>,
        events: mpsc::UnboundedSender<DaemonEvent>,
    ) {
        let state = &mut self.nodes[node];
        if state.said_hello {
            let reason = format!("node `{}` already connected", state.id);
            let _ = reply.send(DaemonReply::Refused(reason));
            return;
        }
        if self.stopping {
            let _ = reply.send(DaemonReply::Refused("the dataflow is stopping".into()));
            return;
        }
        state.said_hello = true;
        for event in state.backlog.drain(..) {
            let _ = events.send(event);
        }
        if let Ok(mut slot) = state.timer_slot.lock() {
            *slot = Some(events.clone());
        }
        state.events = Some(events);
        if self.started {
            let _ = reply.send(DaemonReply::Start);
        } else {
            state.pending_start = Some(reply);
        }
    }

    fn node_request(&mut self, node: usize, request: NodeRequest) {
        match request {
            NodeRequest::InputsDropped { input, count } => {
                let now = std::time::Instant::now();
                if let Some(count) = self.drop_notices.record(node, &input, count, now) {
                    self.say_drops(node, &input, count);
                }
            }
            NodeRequest::EventStreamClosed => self.nodes[node].closed_events = true,
            NodeRequest::Hello { .. } => {}
        }
    }

    /// Says how many messages node `node` dropped on `input` (see [`crate::drop_notices`]).
    fn say_drops(&self, node: usize, input: &str, count: u64) {
        let queue_size = self
            .queue_sizes
            .get(&(node, input.to_owned()))
            .copied()
            .unwrap_or_default();
        self.nodes[node].log.note(&format!(
            "dropped {count} message(s) on input `{input}`: the node did not keep up \
             (queue_size {queue_size})"
        ));
    }

    fn say_due_drops(&mut self) {
        for (node, input, count) in self.drop_notices.due(std::time::Instant::now()) {
            self.say_drops(node, &input, count);
        }
    }

    /// The control connection of a node ended: for a dynamic node, that is its exit.
    fn connection_closed(&mut self, node: usize) {
        let state = &mut self.nodes[node];
        if state.dynamic && state.running {
            let exit = if state.closed_events || self.stopping {
                NodeExit::Success
            } else {
                NodeExit::Disconnected
            };
            state
                .log
                .note(&format!("connection closed: the node {exit}"));
            state.end(exit);
        }
    }

    fn node_event(&mut self, event: Internal) {
        match event {
            Internal::Exited(index, status) => {
                let exit = match status {
                    Ok(status) => exit_of(status),
                    Err(err) => NodeExit::Unknown(err.to_string()),
                };
                self.exited(index, exit);
            }
            Internal::RestartDue(index, dropped) => self.restart_due(index, dropped),
            Internal::StdoutLine(index, line) => self.stdout_line(index, line),
            Internal::StdoutClosed(index) => {
                for &(receiver, input) in &self.stdout_routes[index] {
                    self.nodes[receiver].send(DaemonEvent::InputClosed { input });
                }
            }
        }
    }

    /// A node's process exited: the node ends, or waits to be restarted under its policy.
    fn exited(&mut self, index: usize, exit: NodeExit) {
        let decision = match self.respawner.nodes.get_mut(index) {
            Some(Some(restartable)) if !self.stopping => restartable
                .budget
                .decide(&exit, tokio::time::Instant::now()),
            _ => Decision::Stay,
        };
        let exit = match decision {
            Decision::Restart { count, delay } => {
                match self.respawner.bridge_gap(index, count, delay) {
                    Ok(task) => return self.await_restart(index, exit, count, delay, task),
                    Err(err) => NodeExit::GaveUp(format!("{exit}; cannot restart it: {err:#}")),
                }
            }
            Decision::GiveUp(reason) => NodeExit::GaveUp(reason),
            Decision::Stay => exit,
        };
        if let NodeExit::GaveUp(reason) = &exit {
            self.nodes[index].log.note(reason);
        }
        self.end_node(index, exit);
    }

    /// Ends a node for good; a restartable node's connections close with it.
    fn end_node(&mut self, index: usize, exit: NodeExit) {
        self.respawner.forget(index);
        let state = &mut self.nodes[index];
        if let Some(pending) = state.restart.take() {
            pending.task.abort();
        }
        state.end(exit);
    }

    /// Node `index` exited and is restarted once `task` is done.
    fn await_restart(
        &mut self,
        index: usize,
        exit: NodeExit,
        count: u32,
        delay: Duration,
        task: JoinHandle<()>,
    ) {
        restart::report(
            &self.sink,
            &self.id,
            &self.nodes[index].id,
            count,
            &exit,
            delay,
        );
        let state = &mut self.nodes[index];
        state.said_hello = false;
        state.closed_events = false;
        state.events = None;
        state.pending_start = None;
        state.backlog.clear();
        state.pid = None;
        if let Ok(mut slot) = state.timer_slot.lock() {
            *slot = None;
        }
        state.restart = Some(PendingRestart {
            exit,
            task,
            dropped: 0,
        });
    }

    /// Node `index`'s connections are renewed: start its process again.
    fn restart_due(&mut self, index: usize, dropped: u64) {
        let Some(pending) = self.nodes[index].restart.take() else {
            return;
        };
        let dropped = dropped + pending.dropped;
        let started = match self.respawner.nodes.get(index) {
            Some(Some(r)) => {
                let process = Process {
                    node: &r.node,
                    program: &r.program,
                    dataflow_id: &self.id,
                    working_dir: &self.respawner.working_dir,
                    config: &r.config,
                    fds: &r.fds,
                    forward_stdout: !self.stdout_routes[index].is_empty(),
                };
                spawn_process(&mut self.nodes[index], &process, &self.respawner.internal)
            }
            _ => Err(eyre::eyre!("it has no restart policy")),
        };
        if let Err(err) = started {
            let reason = format!("{}; cannot restart it: {err:#}", pending.exit);
            self.nodes[index].log.note(&reason);
            return self.end_node(index, NodeExit::GaveUp(reason));
        }
        if dropped > 0 {
            self.sink.notice(
                &self.id,
                &format!(
                    "dropped {dropped} message(s) for node `{}` while it was down",
                    self.nodes[index].id
                ),
            );
        }
    }

    /// A stop cancels the pending restarts: those nodes end as their last process did.
    fn cancel_restarts(&mut self) {
        for index in 0..self.nodes.len() {
            if let Some(pending) = self.nodes[index].restart.take() {
                pending.task.abort();
                self.nodes[index]
                    .log
                    .note("restart cancelled: the dataflow is stopping");
                self.end_node(index, pending.exit);
            }
        }
    }

    /// Sends a line of a `send_stdout_as` node as a string message to its receivers.
    fn stdout_line(&mut self, index: usize, line: String) {
        let array = StringArray::from(vec![line]);
        let data = array.to_data();
        let mut payload = vec![0u8; required_size(&data)];
        let type_info = copy_array_into(&mut payload, &data);
        let metadata = Metadata::new(self.hlc.new_timestamp(), type_info);
        for &(receiver, input) in &self.stdout_routes[index] {
            self.nodes[receiver].send(DaemonEvent::Input {
                input,
                metadata: metadata.clone(),
                payload: payload.clone(),
            });
        }
    }

    /// Names the nodes that keep everyone at the start barrier.
    fn warn_barrier(&mut self) {
        self.barrier_warned = true;
        let waiting: Vec<String> = self
            .nodes
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
        self.sink.notice(
            &self.id,
            &format!(
                "still waiting for {} to initialize (DoraNode::init_from_env); \
                 no node receives messages before every node has",
                waiting.join(", ")
            ),
        );
    }

    /// A stop request: the first stops gracefully or kills, a second one kills.
    fn stop_request(&mut self, request: StopRequest) {
        if self.stopping {
            self.sink
                .notice(&self.id, "second stop request: killing all nodes");
            return self.kill_running();
        }
        self.stopping = true;
        self.cancel_restarts();
        match request {
            StopRequest::Kill => {
                self.sink.notice(&self.id, "killing all nodes");
                self.stop_timers();
                self.kill_running();
            }
            StopRequest::Graceful(grace_duration) => self.stop_gracefully(grace_duration),
        }
    }

    /// Sends `Stop` to every node (releasing those at the barrier so that they see it) and
    /// gives them `grace_duration` to exit.
    fn stop_gracefully(&mut self, grace_duration: Duration) {
        self.sink.notice(
            &self.id,
            &format!("stopping the dataflow (nodes have {grace_duration:?} to exit)"),
        );
        self.stop_timers();
        for state in &mut self.nodes {
            state.release();
            if let Some(events) = &state.events {
                let _ = events.send(DaemonEvent::Stop);
            }
            state.withdraw_unconnected(&self.id, self.dynamic_nodes.as_ref());
        }
        self.grace = Some(Box::pin(tokio::time::sleep(grace_duration)));
    }

    /// The grace period is over: kills the nodes still running.
    fn grace_ended(&mut self) {
        self.grace = None;
        for state in self.nodes.iter_mut().filter(|n| n.running) {
            state.exit = Some(NodeExit::Killed);
            state
                .log
                .note("killed: still running after the grace period");
            state.kill(&self.id, self.dynamic_nodes.as_ref());
        }
    }

    fn kill_running(&mut self) {
        for state in self.nodes.iter_mut().filter(|n| n.running) {
            state.exit = Some(NodeExit::Killed);
            state.kill(&self.id, self.dynamic_nodes.as_ref());
        }
    }

    /// The start barrier: releases everyone once every node said hello or exited, and
    /// starts the timers (unless the dataflow is already stopping).
    fn release_barrier_if_ready(&mut self) {
        if self.started || !self.nodes.iter().all(|n| n.said_hello || !n.running) {
            return;
        }
        self.started = true;
        for state in &mut self.nodes {
            state.release();
        }
        if !self.stopping {
            self.start_timers();
        }
    }

    fn start_timers(&mut self) {
        self.timers = self
            .timer_routes
            .iter()
            .map(|(&interval, inputs)| {
                let targets: Vec<(EventSlot, u16)> = inputs
                    .iter()
                    .map(|&(node, input)| (self.nodes[node].timer_slot.clone(), input))
                    .collect();
                tokio::spawn(tick(interval, targets, self.hlc.clone()))
            })
            .collect();
    }

    fn stop_timers(&mut self) {
        for timer in self.timers.drain(..) {
            timer.abort();
        }
    }

    /// Ends the timers and the control endpoint and collects every node's result.
    pub(crate) async fn finish(mut self) -> DataflowResult {
        for (node, input, count) in self.drop_notices.rest() {
            self.say_drops(node, &input, count);
        }
        self.stop_timers();
        drop(self.endpoint);
        let mut results = Vec::new();
        for state in self.nodes {
            results.push(state.result().await);
        }
        DataflowResult {
            dataflow_id: self.id,
            log_dir: self.log_dir,
            nodes: results,
        }
    }
}

/// Waits for the end of the grace period; forever when there is none.
async fn grace_period(grace: &mut Option<Pin<Box<Sleep>>>) {
    match grace {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

/// One timer: sends a tick to every input it feeds, every `interval`.
async fn tick(interval: Duration, targets: Vec<(EventSlot, u16)>, hlc: Arc<uhlc::HLC>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let timestamp = hlc.new_timestamp();
        for (slot, input) in &targets {
            // A node that is down (waiting for a restart) misses its ticks.
            if let Ok(events) = slot.lock() {
                if let Some(events) = events.as_ref() {
                    let _ = events.send(DaemonEvent::Timer {
                        input: *input,
                        timestamp,
                    });
                }
            }
        }
    }
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
