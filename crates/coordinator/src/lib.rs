//! The coordinator: holds the running and finished dataflows, answers the CLI, tells daemons
//! what to spawn and stop, and fans node logs out to attached CLIs.
//!
//! It owns the dataflow registry (each dataflow's UUID v7, unique name, placement of nodes on
//! machines, outcome and the log lines daemons forward) and its listeners: a port for
//! daemons, a port for the CLI, and a Unix socket for local CLIs (see [`listen`] for whom
//! each admits). It never spawns a process, never opens a node's socket and never sees a
//! message: daemons run the nodes and move the data, and only report to it. It reads and
//! writes no files; a dataflow's text arrives in the CLI's request and goes on to the daemons
//! as is.
//!
//! All state lives in one task ([`State`]); connection tasks only translate frames into
//! [`Event`]s and replies back into frames, so no lock is ever held across I/O.
//!
//! # Logs
//!
//! The coordinator keeps no log history: daemons write every node's log to disk. It passes
//! live lines on to attached CLIs and keeps only the last [`RECENT_LINES`] lines of a
//! dataflow (at most [`RECENT_BYTES`]) for a CLI that attaches late. Each CLI connection
//! has a queue of [`CLI_QUEUE`] replies: a CLI too slow for the live lines loses lines,
//! counted and told with a notice, and never grows the coordinator. `dora logs` is answered
//! by the daemon that ran the node, which streams the file in chunks of at most 1 MiB, a few
//! at a time: the coordinator hands the daemon a credit for each chunk once it was written
//! to the CLI, so a slow CLI slows the read down instead of filling memory.
//!
//! # Faults
//!
//! - A daemon that closes its connection, or sends nothing for [`DAEMON_TIMEOUT`] (it sends a
//!   heartbeat every second), is lost: its dataflows fail with a message that says so.
//! - A daemon that reconnects (after a coordinator restart, say) registers again and reports
//!   the dataflows it still runs, so they show up in `dora list` and finish normally. A
//!   dataflow part the coordinator already counted as gone (its daemon was lost, then came
//!   back) is killed instead: its result was reported, so its nodes must not run on.
//! - Anything malformed on either port ends that one connection with a logged reason.

mod listen;
mod names;

pub use dora_control::Machine;

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use dora_descriptor::{Descriptor, Node};
use dora_message::coordinator::{
    ControlReply, ControlRequest, CoordinatorToDaemon, DaemonProcess, DaemonToCoordinator,
    DataflowEntry, DataflowResult, DataflowStatus, KilledNode, LogLine, NodeOutcome, Role,
    RunningDataflow,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpStream, UnixStream},
    sync::mpsc,
};

use dora_control::{
    access,
    net::{accept_checked, read_frame, read_frame_with, write_frame, FrameLimits},
    AcceptBackoff,
};

/// Live log lines kept per dataflow for a CLI that attaches late.
pub const RECENT_LINES: usize = 200;

/// Bytes of [`RECENT_LINES`] kept at most.
pub const RECENT_BYTES: usize = 1024 * 1024;

/// Replies waiting to be written to one CLI connection at most; live lines and notices
/// beyond it are dropped and counted.
pub const CLI_QUEUE: usize = 256;

/// How long a CLI has, after its handshake, to start sending its one request.
pub const REQUEST_START: Duration = Duration::from_secs(10);

/// How long a CLI has to deliver its whole request after the handshake: [`REQUEST_START`]
/// plus the time the largest request may take on the slowest link assumed (about 80 s in
/// all), so an idle or trickling connection is dropped instead of held.
pub fn request_deadline() -> Duration {
    REQUEST_START + FrameLimits::CLI.deadline(FrameLimits::CLI.max_len)
}

/// A daemon silent for this long is considered lost.
pub const DAEMON_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the coordinator sends heartbeats and checks on daemons.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// Grace duration of `dora stop` and `dora destroy` when none is given.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(15);

/// Where the coordinator listens.
#[derive(Debug, Clone)]
pub struct CoordinatorOptions {
    /// For daemons (default 127.0.0.1:53290).
    pub daemon_addr: SocketAddr,
    /// For the CLI (default 127.0.0.1:6012). Local CLIs use the Unix socket named after
    /// its port ([`dora_control::access::control_socket_path`]).
    pub control_addr: SocketAddr,
    /// The token file (`--token-file`): read when it exists, else created. `None`: a new
    /// token in the default file of each port ([`dora_control::access::default_token_path`]).
    pub token_file: Option<PathBuf>,
}

/// Runs the coordinator until `dora destroy` (or SIGINT/SIGTERM, which end it at once).
/// Its socket, and the token files it made by default, are removed when it returns.
pub async fn run(options: CoordinatorOptions) -> eyre::Result<()> {
    let (listeners, _cleanup) = listen::bind(&options).await?;
    tracing::info!(
        "coordinator listening for daemons on {} and for the CLI on {} and {}",
        options.daemon_addr,
        options.control_addr,
        access::control_socket_path(options.control_addr.port()).display()
    );
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|err| eyre::eyre!("watching for SIGTERM: {err}"))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|err| eyre::eyre!("watching for SIGINT: {err}"))?;
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let acceptor = tokio::spawn(accept_loop(listeners, events_tx.clone()));
    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
    let mut state = State::default();
    loop {
        tokio::select! {
            Some(event) = events_rx.recv() => state.handle(event),
            _ = heartbeat.tick() => state.heartbeat(),
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        }
        if state.exit {
            break;
        }
    }
    acceptor.abort();
    // Let the CLI connection deliver the last reply before the process ends.
    if let Some(reply) = state.exit_reply.take() {
        let _ = tokio::time::timeout(Duration::from_secs(2), reply.closed()).await;
    }
    Ok(())
}

/// What connection tasks report to the state task.
enum Event {
    DaemonConnected {
        conn: u64,
        machine_id: String,
        pid: u32,
        data_address: SocketAddr,
        running: Vec<RunningDataflow>,
        tx: mpsc::UnboundedSender<CoordinatorToDaemon>,
    },
    FromDaemon {
        conn: u64,
        machine_id: String,
        message: DaemonToCoordinator,
    },
    DaemonGone {
        conn: u64,
        machine_id: String,
        reason: String,
    },
    Control {
        request: ControlRequest,
        /// The uid the request acts as: the local peer's, or the coordinator's own for a
        /// token-authenticated TCP request.
        requester: u32,
        reply: mpsc::UnboundedSender<ControlReply>,
    },
    /// A chunk of a log was written to the CLI whose replies go to `connection`.
    LogChunkWritten {
        connection: mpsc::WeakUnboundedSender<ControlReply>,
    },
}

async fn accept_loop(listeners: listen::Listeners, events: mpsc::UnboundedSender<Event>) {
    let listen::Listeners {
        daemons,
        control,
        local,
        token,
        owner,
    } = listeners;
    let mut daemon_backoff = AcceptBackoff::new("daemon connections");
    let mut control_backoff = AcceptBackoff::new("CLI connections");
    let mut local_backoff = AcceptBackoff::new("local CLI connections");
    let mut next_conn = 0u64;
    loop {
        tokio::select! {
            accepted = daemons.accept() => {
                if let Some((stream, peer)) = daemon_backoff.outcome(accepted).await {
                    next_conn += 1;
                    let conn = Tcp { stream, peer, daemon_port: true, conn: next_conn };
                    tokio::spawn(conn.serve(token.clone(), owner, events.clone()));
                }
            }
            accepted = control.accept() => {
                if let Some((stream, peer)) = control_backoff.outcome(accepted).await {
                    let conn = Tcp { stream, peer, daemon_port: false, conn: 0 };
                    tokio::spawn(conn.serve(token.clone(), owner, events.clone()));
                }
            }
            accepted = local.accept() => {
                if let Some((stream, _)) = local_backoff.outcome(accepted).await {
                    tokio::spawn(serve_local(stream, owner, events.clone()));
                }
            }
        }
    }
}

/// A new connection on one of the TCP ports.
struct Tcp {
    stream: TcpStream,
    peer: SocketAddr,
    daemon_port: bool,
    conn: u64,
}

impl Tcp {
    /// Admits the peer if it presents the token, then serves it as what it said it is.
    async fn serve(
        mut self,
        token: access::Token,
        owner: u32,
        events: mpsc::UnboundedSender<Event>,
    ) {
        let peer = self.peer;
        let _ = self.stream.set_nodelay(true);
        let admit = |handshake: &dora_message::coordinator::Handshake| {
            token.admit(handshake.token.as_deref())
        };
        let role = match accept_checked(&mut self.stream, admit).await {
            Ok(role) => role,
            Err(reason) => return tracing::warn!("dropped connection from {peer}: {reason}"),
        };
        match (role, self.daemon_port) {
            // Authenticated by the token: the request acts as the coordinator's user.
            (Role::Cli, false) => serve_cli(self.stream, owner, events).await,
            (Role::Daemon { machine_id }, true) => {
                serve_daemon(self.stream, self.conn, machine_id, events).await
            }
            (role, _) => tracing::warn!(
                "dropped connection from {peer}: {role:?} connected to the wrong port"
            ),
        }
    }
}

/// Serves a CLI on the local socket if it runs as the coordinator's user or root.
async fn serve_local(mut stream: UnixStream, owner: u32, events: mpsc::UnboundedSender<Event>) {
    let uid = match stream.peer_cred() {
        Ok(cred) => cred.uid(),
        Err(err) => return tracing::warn!("dropped a local connection: {err}"),
    };
    let admit = |_: &dora_message::coordinator::Handshake| {
        if access::may_serve(owner, uid) {
            Ok(())
        } else {
            Err(format!(
                "permission denied: you run as uid {uid}, and this dora coordinator runs as \
                 uid {owner} and serves only that user and root"
            ))
        }
    };
    match accept_checked(&mut stream, admit).await {
        Ok(Role::Cli) => serve_cli(stream, uid, events).await,
        Ok(role) => tracing::warn!(
            "dropped a local connection of uid {uid}: {role:?} must use the daemon port"
        ),
        Err(reason) => tracing::warn!("refused a local connection of uid {uid}: {reason}"),
    }
}

async fn serve_cli(
    stream: impl AsyncRead + AsyncWrite + Send + 'static,
    requester: u32,
    events: mpsc::UnboundedSender<Event>,
) {
    let (mut reader, writer) = tokio::io::split(stream);
    let read = read_frame_with::<ControlRequest>(&mut reader, FrameLimits::CLI);
    let request = match tokio::time::timeout(request_deadline(), read).await {
        Ok(Ok(Some(request))) => request,
        Ok(Ok(None)) => return,
        Ok(Err(err)) => return tracing::warn!("dropped a CLI connection: {err}"),
        Err(_) => {
            return tracing::warn!(
                "dropped a CLI connection that sent no whole request within {:?}",
                request_deadline()
            )
        }
    };
    let (reply_tx, mut reply_rx) = mpsc::unbounded_channel();
    let connection = reply_tx.downgrade();
    if events
        .send(Event::Control {
            request,
            requester,
            reply: reply_tx,
        })
        .is_err()
    {
        return;
    }
    // Replies stream until the state task drops the sender; a CLI that goes away ends it.
    // They pass through a bounded queue to the writer, so a slow CLI holds at most
    // `CLI_QUEUE` of them here: live lines and notices that do not fit are dropped and
    // counted, and the CLI is told how many with the next notice that fits.
    let (queue_tx, queue) = mpsc::channel(CLI_QUEUE);
    let mut writer_task = tokio::spawn(write_replies(writer, queue, events, connection));
    let mut dropped = 0u64;
    loop {
        tokio::select! {
            reply = reply_rx.recv() => match reply {
                Some(reply) => {
                    if dropped > 0 {
                        let notice = ControlReply::Notice(format!(
                            "dropped {dropped} log line(s) or notice(s): this CLI did not keep up"
                        ));
                        if queue_tx.try_send(notice).is_ok() {
                            dropped = 0;
                        }
                    }
                    let droppable = matches!(reply, ControlReply::Log(_) | ControlReply::Notice(_));
                    match queue_tx.try_send(reply) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) if droppable => dropped += 1,
                        Err(mpsc::error::TrySendError::Full(reply)) => {
                            if queue_tx.send(reply).await.is_err() {
                                return;
                            }
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => return,
                    }
                }
                None => break,
            },
            _ = &mut writer_task => return,
            // The CLI sends nothing more; EOF or garbage means it left.
            _ = read_frame_with::<ControlRequest>(&mut reader, FrameLimits::CLI) => {
                writer_task.abort();
                return;
            }
        }
    }
    drop(queue_tx);
    let _ = writer_task.await;
}

/// Writes the replies of one CLI connection until the last one; says when a log chunk was
/// written, so that its read may go on.
async fn write_replies(
    mut writer: impl AsyncWrite + Unpin,
    mut queue: mpsc::Receiver<ControlReply>,
    events: mpsc::UnboundedSender<Event>,
    connection: mpsc::WeakUnboundedSender<ControlReply>,
) {
    while let Some(reply) = queue.recv().await {
        let last = is_final(&reply);
        if write_frame(&mut writer, &reply).await.is_err() || last {
            return;
        }
        if matches!(reply, ControlReply::LogChunk(_)) {
            let connection = connection.clone();
            let _ = events.send(Event::LogChunkWritten { connection });
        }
    }
}

async fn serve_daemon(
    stream: TcpStream,
    conn: u64,
    machine_id: String,
    events: mpsc::UnboundedSender<Event>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let (pid, data_address, running) = match read_frame::<DaemonToCoordinator>(&mut reader).await {
        Ok(Some(DaemonToCoordinator::Register {
            machine_id: registered,
            pid,
            data_address,
            running,
        })) if registered == machine_id => (pid, data_address, running),
        other => {
            return tracing::warn!(
                "dropped {}: expected a registration, got {other:?}",
                Machine(&machine_id).daemon()
            )
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    if events
        .send(Event::DaemonConnected {
            conn,
            machine_id: machine_id.clone(),
            pid,
            data_address,
            running,
            tx,
        })
        .is_err()
    {
        return;
    }
    let writer_task = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if write_frame(&mut writer, &message).await.is_err() {
                break;
            }
        }
    });
    let reason = loop {
        match read_frame::<DaemonToCoordinator>(&mut reader).await {
            Ok(Some(message)) => {
                let event = Event::FromDaemon {
                    conn,
                    machine_id: machine_id.clone(),
                    message,
                };
                if events.send(event).is_err() {
                    break "the coordinator is shutting down".to_owned();
                }
            }
            Ok(None) => break "the daemon closed its connection".to_owned(),
            Err(err) => break format!("connection failed: {err}"),
        }
    };
    writer_task.abort();
    let _ = events.send(Event::DaemonGone {
        conn,
        machine_id,
        reason,
    });
}

/// Whether `reply` ends its exchange (everything but streamed logs and notices).
fn is_final(reply: &ControlReply) -> bool {
    !matches!(
        reply,
        ControlReply::Log(_)
            | ControlReply::Notice(_)
            | ControlReply::LogLines(_)
            | ControlReply::LogChunk(_)
    )
}

/// A `dora start` request, with the uid its nodes run as.
struct Start {
    descriptor: String,
    path: PathBuf,
    name: Option<String>,
    hot_reload: bool,
    started_by: u32,
}

struct DaemonState {
    conn: u64,
    pid: u32,
    tx: mpsc::UnboundedSender<CoordinatorToDaemon>,
    data_address: SocketAddr,
    last_seen: Instant,
}

struct DataflowState {
    id: String,
    name: String,
    status: DataflowStatus,
    /// The nodes of the descriptor (for a dataflow learned from a re-registering daemon,
    /// as that daemon listed them).
    nodes: Vec<String>,
    /// Machines that still run part of the dataflow.
    running_on: BTreeSet<String>,
    /// Machines whose daemon was lost while running part of the dataflow: that part counts
    /// as gone, and is killed if the daemon comes back.
    lost_on: BTreeSet<String>,
    /// Machines that have not confirmed the spawn yet, and who asked for it.
    pending_spawn: BTreeSet<String>,
    start_reply: Option<mpsc::UnboundedSender<ControlReply>>,
    outcomes: Vec<NodeOutcome>,
    errors: Vec<String>,
    /// The last live lines (see [`RECENT_LINES`]), for a CLI that attaches late.
    recent: VecDeque<LogLine>,
    recent_bytes: usize,
    /// Nodes that sent lines (a daemon may know nodes the descriptor did not list).
    logged_nodes: BTreeSet<String>,
    /// The dataflow file, when it was started here: where daemons find its logs.
    path: Option<PathBuf>,
    /// Node → the machine it runs on, when it was started here.
    node_machines: BTreeMap<String, String>,
    attached: Vec<mpsc::UnboundedSender<ControlReply>>,
    stop_waiters: Vec<mpsc::UnboundedSender<ControlReply>>,
    stop_sent: bool,
    /// Node → how many times it was restarted under its `restart_policy`.
    restarts: BTreeMap<String, u32>,
}

impl DataflowState {
    fn new(id: String, name: String, nodes: Vec<String>, machines: BTreeSet<String>) -> Self {
        Self {
            id,
            name,
            status: DataflowStatus::Running,
            nodes,
            running_on: machines.clone(),
            lost_on: BTreeSet::new(),
            pending_spawn: machines,
            start_reply: None,
            outcomes: Vec::new(),
            errors: Vec::new(),
            recent: VecDeque::new(),
            recent_bytes: 0,
            logged_nodes: BTreeSet::new(),
            path: None,
            node_machines: BTreeMap::new(),
            attached: Vec::new(),
            stop_waiters: Vec::new(),
            stop_sent: false,
            restarts: BTreeMap::new(),
        }
    }

    /// The dataflow's node ids: those of the descriptor, then any other node that logged
    /// or finished.
    fn node_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.nodes.iter().map(String::as_str).collect();
        let reported = self
            .logged_nodes
            .iter()
            .map(String::as_str)
            .chain(self.outcomes.iter().map(|o| o.node_id.as_str()));
        for id in reported {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    fn result(&self) -> DataflowResult {
        DataflowResult {
            id: self.id.clone(),
            name: self.name.clone(),
            nodes: self.outcomes.clone(),
            errors: self.errors.clone(),
        }
    }

    /// Keeps `line` among the recent ones, forgetting the oldest beyond the bounds.
    fn remember(&mut self, line: LogLine) {
        if !self.logged_nodes.contains(&line.node_id) {
            self.logged_nodes.insert(line.node_id.clone());
        }
        self.recent_bytes += line.line.len();
        self.recent.push_back(line);
        while self.recent.len() > RECENT_LINES || self.recent_bytes > RECENT_BYTES {
            match self.recent.pop_front() {
                Some(old) => self.recent_bytes -= old.line.len(),
                None => break,
            }
        }
    }

    fn notice(&mut self, message: String) {
        self.attached
            .retain(|a| a.send(ControlReply::Notice(message.clone())).is_ok());
    }
}

/// A `dora logs` read in progress: the daemon streaming the file, and the CLI.
struct LogRead {
    machine_id: String,
    reply: mpsc::UnboundedSender<ControlReply>,
}

#[derive(Default)]
struct State {
    daemons: BTreeMap<String, DaemonState>,
    /// `dora logs` reads by request id.
    log_reads: BTreeMap<u64, LogRead>,
    next_log_read: u64,
    /// By id; UUID v7 ids sort by start time.
    dataflows: BTreeMap<String, DataflowState>,
    destroy_reply: Option<mpsc::UnboundedSender<ControlReply>>,
    /// When the daemons were told to exit.
    destroy_sent: Option<Instant>,
    stopped_for_destroy: usize,
    daemons_told: usize,
    /// The dataflows `dora destroy` stopped, whose killed nodes its reply names.
    destroyed_dataflows: Vec<String>,
    /// Daemons lost and not back, by machine: `dora destroy` names them, since they may
    /// still run (hung, stopped or cut off).
    lost_daemons: BTreeMap<String, DaemonProcess>,
    /// Set when the coordinator should exit; holds the CLI connection to flush first.
    exit_reply: Option<mpsc::UnboundedSender<ControlReply>>,
    exit: bool,
}

impl State {
    fn handle(&mut self, event: Event) {
        match event {
            Event::DaemonConnected {
                conn,
                machine_id,
                pid,
                data_address,
                running,
                tx,
            } => {
                self.lost_daemons.remove(&machine_id);
                let daemon = DaemonState {
                    conn,
                    pid,
                    tx,
                    data_address,
                    last_seen: Instant::now(),
                };
                self.daemon_connected(machine_id, daemon, running);
            }
            Event::FromDaemon {
                conn,
                machine_id,
                message,
            } => {
                match self.daemons.get_mut(&machine_id) {
                    Some(daemon) if daemon.conn == conn => daemon.last_seen = Instant::now(),
                    _ => return,
                }
                self.daemon_message(&machine_id, message);
            }
            Event::DaemonGone {
                conn,
                machine_id,
                reason,
            } => self.daemon_gone(conn, &machine_id, &reason),
            Event::Control {
                request,
                requester,
                reply,
            } => self.control(request, requester, reply),
            Event::LogChunkWritten { connection } => self.log_chunk_written(&connection),
        }
        self.check_destroy();
    }

    /// A daemon registered (again): it tells which dataflows it still runs, so that the
    /// coordinator adopts those it does not know and kills parts that count as gone.
    fn daemon_connected(
        &mut self,
        machine_id: String,
        state: DaemonState,
        running: Vec<RunningDataflow>,
    ) {
        let (tx, data_address) = (&state.tx, state.data_address);
        let daemon = Machine(&machine_id).daemon();
        if let Some(old) = self.daemons.get(&machine_id) {
            tracing::warn!("{daemon} connected again; dropping its previous connection");
            let _ = old.tx.send(CoordinatorToDaemon::Heartbeat);
        }
        tracing::info!("{daemon} registered (data address {data_address})");
        for RunningDataflow { id, name, nodes } in running {
            let Some(dataflow) = self.dataflows.get_mut(&id) else {
                // Started before this coordinator did: adopt it.
                let mut dataflow = DataflowState::new(
                    id.clone(),
                    name,
                    nodes,
                    BTreeSet::from([machine_id.clone()]),
                );
                dataflow.pending_spawn.clear();
                self.dataflows.insert(id, dataflow);
                continue;
            };
            let counted_as_gone = dataflow.lost_on.contains(&machine_id)
                || dataflow.status != DataflowStatus::Running;
            if !counted_as_gone {
                // A new connection of a daemon never declared lost, or another
                // machine of an adopted dataflow.
                dataflow.running_on.insert(machine_id.clone());
                continue;
            }
            // The dataflow's result already counts this part as gone (and may be
            // out): its nodes must not run on.
            tracing::warn!(
                "{daemon} still runs part of dataflow {} ({}), which counts that part \
                 as gone; killing its nodes there",
                dataflow.id,
                dataflow.name
            );
            let _ = tx.send(CoordinatorToDaemon::Stop {
                dataflow_id: id,
                grace_duration: Duration::ZERO,
            });
        }
        if self.destroy_reply.is_some() {
            let _ = tx.send(CoordinatorToDaemon::Destroy);
        }
        self.daemons.insert(machine_id, state);
    }

    /// A daemon connection ended; only the current connection of a machine counts.
    fn daemon_gone(&mut self, conn: u64, machine_id: &str, reason: &str) {
        if self.daemons.get(machine_id).is_some_and(|d| d.conn == conn) {
            if self.destroy_sent.is_some() {
                tracing::info!("{} exited", Machine(machine_id).daemon());
                self.daemons.remove(machine_id);
            } else {
                self.daemon_lost(machine_id, reason);
            }
        }
    }

    fn heartbeat(&mut self) {
        let now = Instant::now();
        let lost: Vec<String> = self
            .daemons
            .iter()
            .filter(|(_, d)| now.duration_since(d.last_seen) > DAEMON_TIMEOUT)
            .map(|(id, _)| id.clone())
            .collect();
        for machine_id in lost {
            self.daemon_lost(
                &machine_id,
                &format!("no heartbeat for {}s", DAEMON_TIMEOUT.as_secs()),
            );
        }
        for daemon in self.daemons.values() {
            let _ = daemon.tx.send(CoordinatorToDaemon::Heartbeat);
        }
        self.check_destroy();
    }

    fn daemon_lost(&mut self, machine_id: &str, reason: &str) {
        let daemon = Machine(machine_id).daemon();
        tracing::warn!("{daemon} lost: {reason}");
        if let Some(lost) = self.daemons.remove(machine_id) {
            self.lost_daemons.insert(
                machine_id.to_owned(),
                DaemonProcess {
                    machine_id: machine_id.to_owned(),
                    pid: lost.pid,
                    reason: format!("lost: {reason}"),
                },
            );
        }
        self.log_reads.retain(|_, read| {
            if read.machine_id != machine_id {
                return true;
            }
            let _ = read.reply.send(ControlReply::Error(format!(
                "{daemon}, which has the log, was lost ({reason})"
            )));
            false
        });
        let ids: Vec<String> = self
            .dataflows
            .values()
            .filter(|d| d.running_on.contains(machine_id))
            .map(|d| d.id.clone())
            .collect();
        for id in ids {
            let message = format!(
                "{daemon} was lost ({reason}); its nodes are counted as gone (and are killed \
                 if it comes back)"
            );
            if let Some(dataflow) = self.dataflows.get_mut(&id) {
                dataflow.lost_on.insert(machine_id.to_owned());
                dataflow.errors.push(message.clone());
                dataflow.notice(message);
                dataflow.pending_spawn.remove(machine_id);
            }
            self.machine_finished(&id, machine_id, Vec::new());
        }
    }

    fn daemon_message(&mut self, machine_id: &str, message: DaemonToCoordinator) {
        match message {
            DaemonToCoordinator::Heartbeat | DaemonToCoordinator::Register { .. } => {}
            DaemonToCoordinator::Spawned {
                dataflow_id,
                result,
            } => {
                let Some(dataflow) = self.dataflows.get_mut(&dataflow_id) else {
                    return;
                };
                dataflow.pending_spawn.remove(machine_id);
                if let Err(err) = result {
                    dataflow
                        .errors
                        .push(format!("spawning on {} failed: {err}", Machine(machine_id)));
                }
                if dataflow.pending_spawn.is_empty() {
                    if let Some(reply) = dataflow.start_reply.take() {
                        if dataflow.errors.is_empty() {
                            let _ = reply.send(ControlReply::Started {
                                id: dataflow.id.clone(),
                                name: dataflow.name.clone(),
                            });
                        } else {
                            let _ = reply.send(ControlReply::Error(dataflow.errors.join("; ")));
                        }
                    }
                    if !dataflow.errors.is_empty() {
                        self.send_stop(&dataflow_id, Duration::from_secs(1));
                    }
                }
            }
            DaemonToCoordinator::Log(line) => {
                let Some(dataflow) = self.dataflows.get_mut(&line.dataflow_id) else {
                    return;
                };
                dataflow
                    .attached
                    .retain(|a| a.send(ControlReply::Log(line.clone())).is_ok());
                // An adopted dataflow's placement is learned from where lines come from.
                if !dataflow.node_machines.contains_key(&line.node_id) {
                    dataflow
                        .node_machines
                        .insert(line.node_id.clone(), machine_id.to_owned());
                }
                dataflow.remember(line);
            }
            DaemonToCoordinator::LogChunk { request, text } => {
                self.log_chunk(machine_id, request, text)
            }
            DaemonToCoordinator::LogEnd { request, error } => {
                if let Some(read) = self.log_reads.remove(&request) {
                    let _ = read.reply.send(match error {
                        Some(error) => ControlReply::Error(error),
                        None => ControlReply::LogEnd,
                    });
                }
            }
            DaemonToCoordinator::Notice {
                dataflow_id,
                message,
            } => {
                if let Some(dataflow) = self.dataflows.get_mut(&dataflow_id) {
                    dataflow.notice(format!("[{}] {message}", Machine(machine_id).label()));
                }
            }
            DaemonToCoordinator::Finished { dataflow_id, nodes } => {
                self.machine_finished(&dataflow_id, machine_id, nodes);
            }
            // The daemon also sends a notice saying so, which attached CLIs print.
            DaemonToCoordinator::NodeRestarted {
                dataflow_id,
                node_id,
                count,
                ..
            } => {
                if let Some(dataflow) = self.dataflows.get_mut(&dataflow_id) {
                    dataflow.restarts.insert(node_id, count);
                }
            }
        }
    }

    fn machine_finished(&mut self, id: &str, machine_id: &str, nodes: Vec<NodeOutcome>) {
        let Some(dataflow) = self.dataflows.get_mut(id) else {
            return;
        };
        if !dataflow.running_on.remove(machine_id) {
            // A part killed after its daemon came back from being lost: the dataflow's
            // result already counts it as gone.
            return;
        }
        for node in &nodes {
            if !dataflow.node_machines.contains_key(&node.node_id) {
                dataflow
                    .node_machines
                    .insert(node.node_id.clone(), node.machine_id.clone());
            }
        }
        dataflow.outcomes.extend(nodes);
        if !dataflow.running_on.is_empty() || dataflow.status != DataflowStatus::Running {
            return;
        }
        let result = dataflow.result();
        dataflow.status = if result.is_success() {
            DataflowStatus::Succeeded
        } else {
            DataflowStatus::Failed
        };
        tracing::info!(
            "dataflow {} ({}) {}",
            dataflow.id,
            dataflow.name,
            dataflow.status
        );
        if let Some(reply) = dataflow.start_reply.take() {
            // It ended before every daemon confirmed the spawn: a spawn error is the answer;
            // otherwise it did start, and attaching shows how it ended.
            let _ = reply.send(if result.errors.is_empty() {
                ControlReply::Started {
                    id: dataflow.id.clone(),
                    name: dataflow.name.clone(),
                }
            } else {
                ControlReply::Error(result.errors.join("; "))
            });
        }
        for attached in dataflow.attached.drain(..) {
            let _ = attached.send(ControlReply::Finished(result.clone()));
        }
        for waiter in dataflow.stop_waiters.drain(..) {
            let _ = waiter.send(ControlReply::Stopped(result.clone()));
        }
    }

    fn send_stop(&mut self, id: &str, grace_duration: Duration) {
        let Some(dataflow) = self.dataflows.get_mut(id) else {
            return;
        };
        dataflow.stop_sent = true;
        for machine in &dataflow.running_on {
            if let Some(daemon) = self.daemons.get(machine) {
                let _ = daemon.tx.send(CoordinatorToDaemon::Stop {
                    dataflow_id: id.to_owned(),
                    grace_duration,
                });
            }
        }
    }

    /// Finds a dataflow by UUID or name; with `None`, the only one matching `only`, which
    /// `what` describes ("dataflow", "running dataflow").
    fn resolve(
        &self,
        dataflow: Option<&str>,
        only: impl Fn(&DataflowState) -> bool,
        what: &str,
    ) -> Result<String, String> {
        let describe = |d: &DataflowState| format!("{} ({}, {})", d.id, d.name, d.status);
        match dataflow {
            Some(key) => self
                .dataflows
                .values()
                .rev()
                .find(|d| d.id == key || d.name == key)
                .map(|d| d.id.clone())
                .ok_or_else(|| {
                    let known: Vec<String> = self.dataflows.values().map(describe).collect();
                    if known.is_empty() {
                        format!("no dataflow `{key}`: there are no dataflows")
                    } else {
                        format!("no dataflow `{key}`; known dataflows: {}", known.join(", "))
                    }
                }),
            None => {
                let candidates: Vec<&DataflowState> =
                    self.dataflows.values().filter(|d| only(d)).collect();
                match candidates.as_slice() {
                    [one] => Ok(one.id.clone()),
                    [] => Err(format!("there is no {what}")),
                    many => Err(format!(
                        "several {what}s, name one: {}",
                        many.iter()
                            .map(|d| describe(d))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                }
            }
        }
    }

    fn control(
        &mut self,
        request: ControlRequest,
        requester: u32,
        reply: mpsc::UnboundedSender<ControlReply>,
    ) {
        let outcome = match request {
            ControlRequest::Start {
                descriptor,
                path,
                name,
                hot_reload,
            } => {
                let start = Start {
                    descriptor,
                    path,
                    name,
                    hot_reload,
                    started_by: requester,
                };
                self.start(start, reply.clone())
            }
            ControlRequest::Attach { dataflow } => self.attach(&dataflow, &reply),
            ControlRequest::Stop {
                dataflow,
                grace_duration,
            } => self.stop(dataflow.as_deref(), grace_duration, &reply),
            ControlRequest::List => {
                let _ = reply.send(self.list());
                Ok(())
            }
            ControlRequest::Logs {
                dataflow,
                node,
                follow,
                tail,
                since,
            } => self.logs(dataflow.as_deref(), node, (follow, tail, since), &reply),
            ControlRequest::Destroy => {
                self.destroy(reply.clone());
                Ok(())
            }
            ControlRequest::Status => {
                let _ = reply.send(ControlReply::Status {
                    daemons: self.daemons.keys().cloned().collect(),
                });
                Ok(())
            }
        };
        if let Err(message) = outcome {
            let _ = reply.send(ControlReply::Error(message));
        }
    }

    /// Sends the dataflow's logs so far, then follows it until it finishes (or, when it has
    /// finished already, sends how it ended).
    fn attach(
        &mut self,
        dataflow: &str,
        reply: &mpsc::UnboundedSender<ControlReply>,
    ) -> Result<(), String> {
        let id = self.resolve(Some(dataflow), |_| true, "dataflow")?;
        let Some(dataflow) = self.dataflows.get_mut(&id) else {
            return Ok(());
        };
        for line in &dataflow.recent {
            let _ = reply.send(ControlReply::Log(line.clone()));
        }
        if dataflow.status == DataflowStatus::Running {
            dataflow.attached.push(reply.clone());
        } else {
            let _ = reply.send(ControlReply::Finished(dataflow.result()));
        }
        Ok(())
    }

    /// Stops a running dataflow; the reply waits until it finished.
    fn stop(
        &mut self,
        dataflow: Option<&str>,
        grace_duration: Option<Duration>,
        reply: &mpsc::UnboundedSender<ControlReply>,
    ) -> Result<(), String> {
        let id = self.resolve(
            dataflow,
            |d| d.status == DataflowStatus::Running,
            "running dataflow",
        )?;
        let Some(state) = self.dataflows.get_mut(&id) else {
            return Ok(());
        };
        if state.status != DataflowStatus::Running {
            // Nothing to stop: answer with how it ended, not with `Stopped`.
            let _ = reply.send(ControlReply::Finished(state.result()));
            return Ok(());
        }
        state.stop_waiters.push(reply.clone());
        self.send_stop(&id, grace_duration.unwrap_or(DEFAULT_GRACE));
        Ok(())
    }

    /// Every dataflow the coordinator knows, running or finished.
    fn list(&self) -> ControlReply {
        let entries = self
            .dataflows
            .values()
            .map(|d| DataflowEntry {
                id: d.id.clone(),
                name: d.name.clone(),
                status: d.status,
                restarts: d.restarts.iter().map(|(n, c)| (n.clone(), *c)).collect(),
            })
            .collect();
        ControlReply::List(entries)
    }

    /// Asks the daemon that ran `node` to stream its log file (as `options` = follow,
    /// tail, since select); its chunks go on to `reply` as they arrive.
    fn logs(
        &mut self,
        dataflow: Option<&str>,
        node: String,
        options: (bool, Option<u64>, Option<std::time::SystemTime>),
        reply: &mpsc::UnboundedSender<ControlReply>,
    ) -> Result<(), String> {
        let (follow, tail, since) = options;
        let id = self.resolve(dataflow, |_| true, "dataflow")?;
        let Some(state) = self.dataflows.get(&id) else {
            return Ok(());
        };
        let known = state.node_ids();
        if !known.contains(&node.as_str()) {
            return Err(format!(
                "dataflow {} ({}) has no node `{node}`; its nodes: {}",
                state.id,
                state.name,
                if known.is_empty() {
                    "none known".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        }
        let machine_id = match state.node_machines.get(&node) {
            Some(machine) => machine.clone(),
            // Adopted from a daemon that registered again, and silent since: one of the
            // machines it runs on.
            None => state
                .running_on
                .iter()
                .next()
                .cloned()
                .or_else(|| {
                    (self.daemons.len() == 1)
                        .then(|| self.daemons.keys().next().cloned())
                        .flatten()
                })
                .ok_or_else(|| format!("the machine that ran node `{node}` is not known"))?,
        };
        let Some(daemon) = self.daemons.get(&machine_id) else {
            return Err(format!(
                "the log of node `{node}` is on {}, which is not connected",
                Machine(&machine_id)
            ));
        };
        self.next_log_read += 1;
        let request = self.next_log_read;
        let sent = daemon.tx.send(CoordinatorToDaemon::ReadLog(
            dora_message::coordinator::LogRead {
                request,
                dataflow_id: id,
                node_id: node,
                path: state.path.clone(),
                tail,
                since,
                follow,
            },
        ));
        if sent.is_err() {
            return Err(format!("{} is going away", Machine(&machine_id).daemon()));
        }
        self.log_reads.insert(
            request,
            LogRead {
                machine_id,
                reply: reply.clone(),
            },
        );
        Ok(())
    }

    /// A chunk of a log read: on to its CLI (or, when the CLI left, the read is cancelled).
    fn log_chunk(&mut self, machine_id: &str, request: u64, text: String) {
        let Some(read) = self.log_reads.get(&request) else {
            return;
        };
        if read.reply.send(ControlReply::LogChunk(text)).is_err() {
            self.log_reads.remove(&request);
            if let Some(daemon) = self.daemons.get(machine_id) {
                let _ = daemon.tx.send(CoordinatorToDaemon::CancelLog { request });
            }
        }
    }

    /// A chunk reached its CLI: the daemon may send the next one.
    fn log_chunk_written(&mut self, connection: &mpsc::WeakUnboundedSender<ControlReply>) {
        let Some(connection) = connection.upgrade() else {
            return;
        };
        let read = self
            .log_reads
            .iter()
            .find(|(_, read)| read.reply.same_channel(&connection));
        if let Some((&request, read)) = read {
            if let Some(daemon) = self.daemons.get(&read.machine_id) {
                let _ = daemon.tx.send(CoordinatorToDaemon::LogCredit { request });
            }
        }
    }

    /// Stops every running dataflow; the reply waits until they finished and the daemons
    /// were told to exit.
    fn destroy(&mut self, reply: mpsc::UnboundedSender<ControlReply>) {
        let running: Vec<String> = self
            .dataflows
            .values()
            .filter(|d| d.status == DataflowStatus::Running)
            .map(|d| d.id.clone())
            .collect();
        self.stopped_for_destroy = running.len();
        self.destroyed_dataflows = running.clone();
        for id in running {
            self.send_stop(&id, DEFAULT_GRACE);
        }
        self.destroy_reply = Some(reply);
    }

    fn start(
        &mut self,
        start: Start,
        reply: mpsc::UnboundedSender<ControlReply>,
    ) -> Result<(), String> {
        let Start {
            descriptor: descriptor_text,
            path,
            name,
            hot_reload,
            started_by,
        } = start;
        if self.destroy_reply.is_some() {
            return Err("the coordinator is shutting down".into());
        }
        let descriptor =
            Descriptor::parse(&descriptor_text, Some(&path)).map_err(|err| err.to_string())?;
        let name = self.dataflow_name(name)?;
        let placement = self.place(&descriptor)?;
        let id = uuid::Uuid::now_v7().to_string();
        let peers: Vec<(String, SocketAddr)> = placement
            .keys()
            .filter_map(|m| self.daemons.get(m).map(|d| (m.clone(), d.data_address)))
            .collect();
        for (machine, nodes) in &placement {
            if let Some(daemon) = self.daemons.get(machine) {
                let _ = daemon.tx.send(CoordinatorToDaemon::Spawn {
                    dataflow_id: id.clone(),
                    name: name.clone(),
                    descriptor: descriptor_text.clone(),
                    path: path.clone(),
                    nodes: nodes.clone(),
                    placement: placement
                        .iter()
                        .flat_map(|(m, ns)| ns.iter().map(move |n| (n.clone(), m.clone())))
                        .collect(),
                    peers: peers.clone(),
                    hot_reload,
                    started_by,
                });
            }
        }
        let machines: BTreeSet<String> = placement.keys().cloned().collect();
        let mut dataflow = DataflowState::new(
            id.clone(),
            name,
            descriptor.nodes.iter().map(|n| n.id.clone()).collect(),
            machines,
        );
        dataflow.start_reply = Some(reply);
        dataflow.path = Some(path);
        dataflow.node_machines = placement
            .iter()
            .flat_map(|(m, ns)| ns.iter().map(move |n| (n.clone(), m.clone())))
            .collect();
        self.dataflows.insert(id, dataflow);
        Ok(())
    }

    /// The name of a new dataflow: the one asked for, unless a running dataflow has it or it
    /// is a UUID, or a generated one that no running dataflow has.
    fn dataflow_name(&self, name: Option<String>) -> Result<String, String> {
        let running_names: BTreeSet<&str> = self
            .dataflows
            .values()
            .filter(|d| d.status == DataflowStatus::Running)
            .map(|d| d.name.as_str())
            .collect();
        match name {
            Some(name) if running_names.contains(name.as_str()) => {
                Err(format!("a running dataflow is already named `{name}`"))
            }
            Some(name) if uuid::Uuid::parse_str(&name).is_ok() => {
                Err(format!("`{name}` is a UUID; choose a name that is not one"))
            }
            Some(name) => Ok(name),
            None => Ok(names::generate(|candidate| {
                !running_names.contains(candidate)
            })),
        }
    }

    /// Which machine runs each node: machine → its nodes.
    fn place(&self, descriptor: &Descriptor) -> Result<BTreeMap<String, Vec<String>>, String> {
        let mut placement: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for node in &descriptor.nodes {
            let machine = self.machine_for(descriptor, node)?;
            placement.entry(machine).or_default().push(node.id.clone());
        }
        Ok(placement)
    }

    /// The machine of `node`: the one it names, else the default daemon (the one without a
    /// machine id, or the only one connected); that daemon must be connected.
    fn machine_for(&self, descriptor: &Descriptor, node: &Node) -> Result<String, String> {
        let machine = match descriptor.machine_of(node) {
            Some(machine) => machine.to_owned(),
            None if self.daemons.contains_key("") => String::new(),
            None if self.daemons.len() == 1 => {
                self.daemons.keys().next().cloned().unwrap_or_default()
            }
            None if self.daemons.is_empty() => {
                return Err("no daemon is connected to the coordinator (start one with `dora up` or `dora daemon`)".into())
            }
            None => {
                return Err(format!(
                    "node `{}` names no machine and there is no default daemon; connected machines: {}",
                    node.id,
                    self.daemons.keys().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                ))
            }
        };
        if !self.daemons.contains_key(&machine) {
            let connected: Vec<String> = self
                .daemons
                .keys()
                .map(|m| match Machine(m).is_default() {
                    true => Machine(m).label().to_owned(),
                    false => format!("`{m}`"),
                })
                .collect();
            return Err(format!(
                "node `{}` is deployed on {}, but no daemon with that machine id is connected (connected: {})",
                node.id,
                Machine(&machine),
                if connected.is_empty() { "none".into() } else { connected.join(", ") }
            ));
        }
        Ok(machine)
    }

    /// The daemons not seen exiting after `dora destroy` told them to: those lost (and not
    /// back), and those still connected.
    fn daemons_left(&self) -> Vec<DaemonProcess> {
        let timeout = format!("did not exit within {}s", DAEMON_TIMEOUT.as_secs());
        let connected = self.daemons.iter().map(|(machine_id, d)| DaemonProcess {
            machine_id: machine_id.clone(),
            pid: d.pid,
            reason: timeout.clone(),
        });
        self.lost_daemons
            .values()
            .cloned()
            .chain(connected)
            .collect()
    }

    /// The nodes of the dataflows `dora destroy` stopped that had to be killed.
    fn killed_for_destroy(&self) -> Vec<KilledNode> {
        self.destroyed_dataflows
            .iter()
            .filter_map(|id| self.dataflows.get(id))
            .flat_map(|d| {
                d.outcomes.iter().filter(|o| o.killed).map(|o| KilledNode {
                    dataflow_id: d.id.clone(),
                    dataflow_name: d.name.clone(),
                    node_id: o.node_id.clone(),
                    machine_id: o.machine_id.clone(),
                })
            })
            .collect()
    }

    /// Completes `dora destroy`: once no dataflow runs, tells the daemons to exit, and once
    /// they are gone (or did not leave within [`DAEMON_TIMEOUT`]) answers and exits.
    fn check_destroy(&mut self) {
        if self.exit || self.destroy_reply.is_none() {
            return;
        }
        if self
            .dataflows
            .values()
            .any(|d| d.status == DataflowStatus::Running)
        {
            return;
        }
        let sent = *self.destroy_sent.get_or_insert_with(|| {
            self.daemons_told = self.daemons.len();
            for daemon in self.daemons.values() {
                let _ = daemon.tx.send(CoordinatorToDaemon::Destroy);
            }
            Instant::now()
        });
        if !self.daemons.is_empty() && sent.elapsed() < DAEMON_TIMEOUT {
            return;
        }
        if let Some(reply) = self.destroy_reply.take() {
            let _ = reply.send(ControlReply::Destroyed {
                dataflows_stopped: self.stopped_for_destroy,
                daemons: self.daemons_told,
                daemons_left: self.daemons_left(),
                killed_nodes: self.killed_for_destroy(),
            });
            self.exit_reply = Some(reply);
        }
        self.exit = true;
    }
}
