//! The daemon as a long-running service (`dora daemon`): registers with the coordinator,
//! runs the dataflow parts it is given, streams their logs, and reports how they ended.
//!
//! The connection to the coordinator is re-established with backoff whenever it is lost
//! (a coordinator restart, a network hiccup): dataflows keep running meanwhile, and what
//! they report is buffered and sent after the daemon registered again. A coordinator that
//! sends nothing for [`COORDINATOR_TIMEOUT`] (it sends heartbeats every second) counts as
//! lost.

use std::{
    collections::{BTreeMap, VecDeque},
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use dora_descriptor::Descriptor;
use dora_message::{
    coordinator::{CoordinatorToDaemon, DaemonToCoordinator, InterDaemon, NodeOutcome, Role},
    frame::FrameError,
};
use eyre::WrapErr;
use tokio::{
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpListener, TcpStream,
    },
    sync::{mpsc, oneshot},
};

use super::access::{check_starter, SharedToken};
use super::{
    dynamic::DynamicNodes, log_service::LogReads, outbox::Outbox, run_dataflow, DataflowResult,
    DataflowSpec, LogSink, NodeExit, RemoteSpec, StopRequest,
};
use dora_control::{
    access::Token,
    net::{connect_with_token, read_frame, write_frame},
    AcceptBackoff,
};

/// Where data links deliver, by dataflow id.
type Registry = std::sync::Arc<
    std::sync::Mutex<
        BTreeMap<String, std::sync::mpsc::Sender<dora_message::coordinator::InterDaemon>>,
    >,
>;

/// A coordinator silent for this long is considered lost and the daemon reconnects.
pub const COORDINATOR_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages kept for the coordinator while it is unreachable.
const MAX_BUFFERED: usize = 100_000;

/// The first wait before reconnecting to the coordinator; it doubles up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(50);

/// The longest wait between attempts to reach the coordinator.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How often the daemon sends heartbeats and checks on the coordinator's.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// Grace duration of the dataflows stopped by `dora destroy`.
const DESTROY_GRACE: Duration = Duration::from_secs(5);

/// Settings of `dora daemon`.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// This machine's id, as `_unstable_deploy: {machine: ID}` names it.
    pub machine_id: String,
    /// Where the coordinator listens for daemons.
    pub coordinator_addr: SocketAddr,
    /// The local listen port (default 127.0.0.1:53291): it names the socket where dynamic
    /// nodes take their configuration (see [`super::dynamic`]).
    pub local_listen_addr: SocketAddr,
    /// The coordinator's token file (`--token-file`); `None`: `DORA_TOKEN_FILE`, else the
    /// default file of the coordinator's daemon port (see [`super::access`]).
    pub token_file: Option<PathBuf>,
}

/// A dataflow part this daemon runs.
struct RunningDataflow {
    name: String,
    /// Every node of the dataflow, for a coordinator that learns of it on registration.
    nodes: Vec<String>,
    stop: mpsc::UnboundedSender<StopRequest>,
}

/// Runs the daemon until the coordinator tells it to exit (`dora destroy`).
pub async fn run(options: DaemonOptions) -> eyre::Result<()> {
    let mut daemon = Daemon::bind(options).await?;
    let _run_folder = claim_run_folder(&daemon.options)?;
    while !daemon.done() {
        match daemon.connect().await {
            Ok(stream) => daemon.serve(stream).await,
            Err(err) => daemon.wait_to_retry(err).await,
        }
    }
    Ok(())
}

/// Cleans up after crashed dora processes of this user and makes this daemon's run folder
/// (see [`crate::run_folder`]), which is removed when the daemon exits.
fn claim_run_folder(options: &DaemonOptions) -> eyre::Result<crate::run_folder::RunFolder> {
    use crate::run_folder::{claim, DaemonInfo, Role as Owner};
    let info = DaemonInfo {
        local_listen_port: options.local_listen_addr.port(),
        coordinator_addr: options.coordinator_addr,
        machine_id: options.machine_id.clone(),
    };
    let (folder, swept) =
        claim(Owner::Daemon, Some(&info)).wrap_err("making the daemon's run folder")?;
    for swept in swept {
        tracing::warn!("cleaned up after a dora process that crashed: {swept}");
    }
    Ok(folder)
}

/// The daemon service's state. One task owns it; each method handles one event.
struct Daemon {
    options: DaemonOptions,
    dynamic_nodes: DynamicNodes,
    /// Where other daemons connect to send data to this machine's nodes.
    data_address: SocketAddr,
    registry: Registry,
    /// The token the daemon joined with, which data links present and must present.
    token: SharedToken,
    /// What dataflows report (spawned, log lines, finished), for the coordinator.
    to_coordinator: Outbox,
    outbox: mpsc::UnboundedReceiver<DaemonToCoordinator>,
    dataflows: BTreeMap<String, RunningDataflow>,
    /// Kept while the coordinator is unreachable, sent after registering again.
    buffered: VecDeque<DaemonToCoordinator>,
    /// The wait before the next attempt to reach the coordinator.
    backoff: Duration,
    /// `dora destroy` was received: exit once every dataflow has finished.
    destroying: bool,
    /// The coordinator's unreachability was reported (once per outage).
    warned: bool,
    /// `dora logs` reads of this daemon's node logs.
    log_reads: LogReads,
}

/// One connection to the coordinator: what it sends, and whether it is still alive.
struct Connection {
    frames: mpsc::UnboundedReceiver<Result<Option<CoordinatorToDaemon>, FrameError>>,
    reader: tokio::task::JoinHandle<()>,
    heartbeat: tokio::time::Interval,
    last_seen: Instant,
}

impl Connection {
    /// Reads frames from the coordinator until it hangs up or sends garbage.
    fn new(mut reader: OwnedReadHalf) -> Self {
        let (frames_tx, frames) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            loop {
                let frame = read_frame::<CoordinatorToDaemon>(&mut reader).await;
                let end = !matches!(frame, Ok(Some(_)));
                if frames_tx.send(frame).is_err() || end {
                    break;
                }
            }
        });
        Self {
            frames,
            reader,
            heartbeat: tokio::time::interval(HEARTBEAT_INTERVAL),
            last_seen: Instant::now(),
        }
    }

    /// False when the coordinator has been silent for too long.
    fn coordinator_alive(&self) -> bool {
        if self.last_seen.elapsed() > COORDINATOR_TIMEOUT {
            tracing::warn!(
                "no heartbeat from the coordinator for {COORDINATOR_TIMEOUT:?}; reconnecting"
            );
            return false;
        }
        true
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Daemon {
    /// Takes the local listen port and an inter-daemon data port.
    async fn bind(options: DaemonOptions) -> eyre::Result<Self> {
        let dynamic_nodes = DynamicNodes::bind(options.local_listen_addr).await?;
        let data_listener = TcpListener::bind((options.local_listen_addr.ip(), 0))
            .await
            .wrap_err("binding the inter-daemon data port")?;
        let data_address = data_listener.local_addr()?;
        let registry: Registry = Default::default();
        let token = SharedToken::default();
        tokio::spawn(accept_links(data_listener, registry.clone(), token.clone()));
        let (to_coordinator, outbox) = Outbox::channel();
        Ok(Self {
            options,
            dynamic_nodes,
            data_address,
            registry,
            token,
            to_coordinator,
            outbox,
            dataflows: BTreeMap::new(),
            buffered: VecDeque::new(),
            backoff: INITIAL_BACKOFF,
            destroying: false,
            warned: false,
            log_reads: LogReads::default(),
        })
    }

    /// Whether the daemon should exit: destroyed, and no dataflow left.
    fn done(&self) -> bool {
        self.destroying && self.dataflows.is_empty()
    }

    async fn connect(&self) -> eyre::Result<TcpStream> {
        let role = Role::Daemon {
            machine_id: self.options.machine_id.clone(),
        };
        let token = self.token.load(
            self.options.token_file.as_deref(),
            self.options.coordinator_addr.port(),
        )?;
        connect_with_token(self.options.coordinator_addr, role, Some(&token)).await
    }

    /// The coordinator is unreachable: waits before the next attempt, keeping what running
    /// dataflows report meanwhile.
    async fn wait_to_retry(&mut self, err: eyre::Report) {
        if !self.warned {
            tracing::warn!("cannot reach the coordinator: {err:#}; retrying");
            self.warned = true;
        }
        let deadline = tokio::time::sleep(self.backoff);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                Some(message) = self.outbox.recv() => {
                    let message = self.outgoing(message);
                    buffer(&mut self.buffered, message, &self.to_coordinator);
                }
            }
        }
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    /// Registers with the coordinator, then serves the connection until it is lost or the
    /// daemon is done.
    async fn serve(&mut self, stream: TcpStream) {
        self.warned = false;
        self.backoff = INITIAL_BACKOFF;
        tracing::info!(
            "connected to the coordinator at {}",
            self.options.coordinator_addr
        );
        let (reader, mut writer) = stream.into_split();
        if !self.register(&mut writer).await {
            return;
        }
        let mut connection = Connection::new(reader);
        let lost = 'serve: loop {
            let outgoing = tokio::select! {
                frame = connection.frames.recv() => {
                    if !self.coordinator_frame(frame) {
                        break None;
                    }
                    connection.last_seen = Instant::now();
                    None
                }
                Some(message) = self.outbox.recv() => Some(self.outgoing(message)),
                _ = connection.heartbeat.tick() => {
                    if !connection.coordinator_alive() {
                        break None;
                    }
                    for notice in self.to_coordinator.drop_notices() {
                        if let Err(message) = self.deliver(&mut writer, notice).await {
                            break 'serve message;
                        }
                    }
                    Some(DaemonToCoordinator::Heartbeat)
                }
            };
            if let Some(message) = outgoing {
                if let Err(message) = self.deliver(&mut writer, message).await {
                    break message;
                }
            }
            if self.done() {
                return;
            }
        };
        if let Some(message) = lost {
            buffer(&mut self.buffered, message, &self.to_coordinator);
        }
    }

    /// Sends the registration (with the dataflows still running) and what was buffered.
    /// False when the connection failed meanwhile.
    async fn register(&mut self, writer: &mut OwnedWriteHalf) -> bool {
        let register = DaemonToCoordinator::Register {
            machine_id: self.options.machine_id.clone(),
            pid: std::process::id(),
            data_address: self.data_address,
            running: self
                .dataflows
                .iter()
                .map(|(id, d)| dora_message::coordinator::RunningDataflow {
                    id: id.clone(),
                    name: d.name.clone(),
                    nodes: d.nodes.clone(),
                })
                .collect(),
        };
        if write_frame(writer, &register).await.is_err() {
            return false;
        }
        while let Some(message) = self.buffered.pop_front() {
            if let Err(lost) = self.deliver(writer, message).await {
                if let Some(message) = lost {
                    self.buffered.push_front(message);
                }
                return false;
            }
        }
        true
    }

    /// Writes one message to the coordinator and frees its place in the queue. A message
    /// that cannot be encoded within the frame limit is dropped and counted (never sent, so
    /// never refused). When the connection fails, `Err` holds the message if it must be sent
    /// again after reconnecting (results); log lines, notices and log chunks are dropped
    /// and counted instead, so nothing is re-sent in a loop.
    async fn deliver(
        &mut self,
        writer: &mut OwnedWriteHalf,
        message: DaemonToCoordinator,
    ) -> Result<(), Option<DaemonToCoordinator>> {
        match write_frame(writer, &message).await {
            Ok(()) => {
                self.to_coordinator.release(&message);
                Ok(())
            }
            Err(err @ (FrameError::TooLarge(_) | FrameError::Decode(_))) => {
                tracing::warn!("dropped a message to the coordinator: {err}");
                self.to_coordinator.lost(&message);
                Ok(())
            }
            Err(err) => {
                tracing::warn!("writing to the coordinator failed: {err}; reconnecting");
                match message {
                    DaemonToCoordinator::Heartbeat => Err(None),
                    DaemonToCoordinator::Log(_)
                    | DaemonToCoordinator::Notice { .. }
                    | DaemonToCoordinator::LogChunk { .. } => {
                        self.to_coordinator.lost(&message);
                        Err(None)
                    }
                    message => Err(Some(message)),
                }
            }
        }
    }

    /// A frame from the coordinator, or the end of its connection. False when the
    /// connection is lost.
    fn coordinator_frame(
        &mut self,
        frame: Option<Result<Option<CoordinatorToDaemon>, FrameError>>,
    ) -> bool {
        match frame {
            Some(Ok(Some(message))) => {
                self.coordinator_message(message);
                true
            }
            Some(Ok(None)) | None => {
                tracing::warn!("the coordinator closed the connection; reconnecting");
                false
            }
            Some(Err(err)) => {
                tracing::warn!("dropped the coordinator connection: {err}; reconnecting");
                false
            }
        }
    }

    fn coordinator_message(&mut self, message: CoordinatorToDaemon) {
        let registry = self.registry.clone();
        let running = move |id: &str| registry.lock().is_ok_and(|r| r.contains_key(id));
        let Some(message) = self
            .log_reads
            .handle(message, &self.to_coordinator, running)
        else {
            return;
        };
        match message {
            CoordinatorToDaemon::Heartbeat
            | CoordinatorToDaemon::ReadLog(_)
            | CoordinatorToDaemon::LogCredit { .. }
            | CoordinatorToDaemon::CancelLog { .. } => {}
            CoordinatorToDaemon::Spawn {
                dataflow_id,
                name,
                descriptor,
                path,
                nodes,
                placement,
                peers,
                hot_reload,
                started_by,
            } => {
                let assignment = Assignment {
                    dataflow_id,
                    machine_id: self.options.machine_id.clone(),
                    descriptor,
                    path,
                    nodes,
                    placement,
                    peers,
                    hot_reload,
                    started_by,
                    token: self.token.get(),
                };
                self.spawn(assignment, name);
            }
            CoordinatorToDaemon::Stop {
                dataflow_id,
                grace_duration,
            } => self.stop(&dataflow_id, grace_duration),
            CoordinatorToDaemon::Destroy => {
                self.destroying = true;
                for dataflow in self.dataflows.values() {
                    let _ = dataflow.stop.send(StopRequest::Graceful(DESTROY_GRACE));
                }
            }
        }
    }

    /// Starts this machine's part of a dataflow.
    fn spawn(&mut self, assignment: Assignment, name: String) {
        let (stop_tx, stop_rx) = mpsc::unbounded_channel();
        let (incoming_tx, incoming) = std::sync::mpsc::channel();
        if let Ok(mut registry) = self.registry.lock() {
            registry.insert(assignment.dataflow_id.clone(), incoming_tx);
        }
        let running = RunningDataflow {
            name,
            nodes: assignment
                .placement
                .iter()
                .map(|(node, _)| node.clone())
                .collect(),
            stop: stop_tx,
        };
        self.dataflows
            .insert(assignment.dataflow_id.clone(), running);
        self.log_reads
            .remember(&assignment.dataflow_id, &assignment.path);
        let run = run_assignment(
            assignment,
            incoming,
            self.dynamic_nodes.clone(),
            stop_rx,
            self.to_coordinator.clone(),
        );
        tokio::spawn(run);
    }

    fn stop(&mut self, dataflow_id: &str, grace_duration: Duration) {
        if let Some(dataflow) = self.dataflows.get(dataflow_id) {
            // No grace at all (a part the coordinator already counted as gone): kill without
            // asking first.
            let request = if grace_duration.is_zero() {
                StopRequest::Kill
            } else {
                StopRequest::Graceful(grace_duration)
            };
            let _ = dataflow.stop.send(request);
        }
    }

    /// A message a dataflow reports, on its way to the coordinator: a finished dataflow is
    /// forgotten.
    fn outgoing(&mut self, message: DaemonToCoordinator) -> DaemonToCoordinator {
        if let DaemonToCoordinator::Finished { dataflow_id, .. } = &message {
            self.dataflows.remove(dataflow_id);
            if let Ok(mut registry) = self.registry.lock() {
                registry.remove(dataflow_id);
            }
        }
        message
    }
}

fn buffer(
    buffered: &mut VecDeque<DaemonToCoordinator>,
    message: DaemonToCoordinator,
    outbox: &Outbox,
) {
    if matches!(message, DaemonToCoordinator::Heartbeat) {
        return;
    }
    if buffered.len() >= MAX_BUFFERED {
        // Log lines are the least important; results must survive.
        if let Some(position) = buffered
            .iter()
            .position(|m| matches!(m, DaemonToCoordinator::Log(_)))
        {
            if let Some(dropped) = buffered.remove(position) {
                outbox.lost(&dropped);
            }
        }
    }
    buffered.push_back(message);
}

/// This machine's part of a dataflow, as the coordinator assigned it.
struct Assignment {
    dataflow_id: String,
    machine_id: String,
    /// The dataflow's YAML text and file path.
    descriptor: String,
    path: PathBuf,
    /// The nodes this machine runs.
    nodes: Vec<String>,
    /// The machine of every node of the dataflow.
    placement: Vec<(String, String)>,
    /// Where each machine's daemon accepts data links.
    peers: Vec<(String, SocketAddr)>,
    hot_reload: bool,
    /// The uid of the user who started the dataflow.
    started_by: u32,
    /// What data links to other machines present.
    token: Option<Token>,
}

/// Tells the coordinator how one dataflow part is doing.
struct Reporter {
    dataflow_id: String,
    to_coordinator: Outbox,
}

impl Reporter {
    fn spawned(&self, result: Result<(), String>) {
        self.to_coordinator.send(DaemonToCoordinator::Spawned {
            dataflow_id: self.dataflow_id.clone(),
            result,
        });
    }

    fn finished(&self, nodes: Vec<NodeOutcome>) {
        self.to_coordinator.send(DaemonToCoordinator::Finished {
            dataflow_id: self.dataflow_id.clone(),
            nodes,
        });
    }
}

/// Runs a dataflow part to its end, reporting `Spawned` (or why it could not start), then
/// `Finished` with every node's outcome.
async fn run_assignment(
    assignment: Assignment,
    incoming: std::sync::mpsc::Receiver<InterDaemon>,
    dynamic_nodes: DynamicNodes,
    stop: mpsc::UnboundedReceiver<StopRequest>,
    to_coordinator: Outbox,
) {
    let reporter = Reporter {
        dataflow_id: assignment.dataflow_id.clone(),
        to_coordinator,
    };
    if let Err(reason) = check_starter(assignment.started_by, &assignment.machine_id) {
        tracing::warn!(
            "refused to start dataflow {}: {reason}",
            assignment.dataflow_id
        );
        reporter.spawned(Err(reason));
        return reporter.finished(Vec::new());
    }
    let descriptor = match Descriptor::parse(&assignment.descriptor, Some(&assignment.path)) {
        Ok(descriptor) => descriptor,
        Err(err) => {
            reporter.spawned(Err(err.to_string()));
            return reporter.finished(Vec::new());
        }
    };
    let machine_id = assignment.machine_id;
    let spec = DataflowSpec {
        id: assignment.dataflow_id,
        descriptor,
        local_nodes: Some(assignment.nodes),
        remote: Some(RemoteSpec {
            machine_id: machine_id.clone(),
            placement: assignment.placement,
            peers: assignment.peers,
            incoming,
            token: assignment.token,
        }),
        hot_reload: assignment.hot_reload,
        dynamic_nodes: Some(dynamic_nodes),
    };
    match run_reporting_spawn(spec, stop, &reporter).await {
        Ok(result) => reporter.finished(outcomes(result, &machine_id)),
        Err(err) => {
            reporter.spawned(Err(format!("{err:#}")));
            reporter.finished(Vec::new());
        }
    }
}

/// Runs a dataflow, reporting `Spawned` as soon as its nodes started.
async fn run_reporting_spawn(
    spec: DataflowSpec,
    stop: mpsc::UnboundedReceiver<StopRequest>,
    reporter: &Reporter,
) -> eyre::Result<DataflowResult> {
    let sink = LogSink {
        print: false,
        forward: Some(reporter.to_coordinator.clone()),
        closed_stdout: None,
    };
    let (spawned_tx, spawned_rx) = oneshot::channel();
    let run = run_dataflow(spec, stop, sink, Some(spawned_tx));
    tokio::pin!(run);
    tokio::select! {
        // A dataflow whose nodes all fail at once finishes right after spawning: report
        // the spawn first, or the coordinator would see it end without having started.
        biased;
        spawned = spawned_rx => {
            if spawned.is_ok() {
                reporter.spawned(Ok(()));
            }
            let result = run.await;
            if spawned.is_err() {
                if let Err(err) = &result {
                    reporter.spawned(Err(format!("{err:#}")));
                }
            }
            result
        }
        result = &mut run => result,
    }
}

/// What the coordinator learns of each node of a finished dataflow part.
fn outcomes(result: DataflowResult, machine_id: &str) -> Vec<NodeOutcome> {
    result
        .nodes
        .into_iter()
        .map(|node| NodeOutcome {
            failure: (!node.exit.is_success()).then(|| node.exit.to_string()),
            killed: matches!(node.exit, NodeExit::Killed),
            node_id: node.node_id,
            machine_id: machine_id.to_owned(),
            stderr_tail: node.stderr_tail,
        })
        .collect()
}

/// Accepts data links from other daemons and feeds what they send to the dataflow named in
/// their hello (waiting a little for a dataflow this daemon is still starting).
async fn accept_links(listener: TcpListener, registry: Registry, token: SharedToken) {
    use dora_message::coordinator::{InterDaemon, LinkHello};
    let mut backoff = AcceptBackoff::new("data links");
    loop {
        let Some((mut stream, peer)) = backoff.outcome(listener.accept().await).await else {
            continue;
        };
        let registry = registry.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let admit = |handshake: &dora_message::coordinator::Handshake| {
                token.admit(handshake.token.as_deref())
            };
            if let Err(reason) = dora_control::net::accept_checked(&mut stream, admit).await {
                return tracing::warn!("dropped data link from {peer}: {reason}");
            }
            let hello = match read_frame::<LinkHello>(&mut stream).await {
                Ok(Some(hello)) => hello,
                other => {
                    return tracing::warn!("dropped data link from {peer}: bad hello {other:?}")
                }
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            let deliver = loop {
                let found = registry
                    .lock()
                    .ok()
                    .and_then(|r| r.get(&hello.dataflow_id).cloned());
                match found {
                    Some(deliver) => break deliver,
                    None if Instant::now() > deadline => {
                        return tracing::warn!(
                            "dropped data link from {}: no dataflow {} here",
                            dora_control::Machine(&hello.from_machine),
                            hello.dataflow_id
                        )
                    }
                    None => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            };
            loop {
                match read_frame::<InterDaemon>(&mut stream).await {
                    Ok(Some(message)) => {
                        if deliver.send(message).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(err) => {
                        return tracing::warn!(
                            "data link from {} failed: {err}",
                            dora_control::Machine(&hello.from_machine)
                        )
                    }
                }
            }
        });
    }
}
