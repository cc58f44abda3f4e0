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
    time::{Duration, Instant},
};

use dora_descriptor::Descriptor;
use dora_message::coordinator::{CoordinatorToDaemon, DaemonToCoordinator, NodeOutcome, Role};
use eyre::WrapErr;
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot},
};

use super::{
    dynamic::DynamicNodes, run_dataflow, DataflowSpec, LogSink, NodeExit, RemoteSpec, StopRequest,
};
use dora_control::net::{connect, read_frame, write_frame};

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

/// Settings of `dora daemon`.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub machine_id: String,
    pub coordinator_addr: SocketAddr,
    /// The local listen port (default 127.0.0.1:53291): it names the socket where dynamic
    /// nodes take their configuration (see [`super::dynamic`]).
    pub local_listen_addr: SocketAddr,
}

struct RunningDataflow {
    name: String,
    /// Every node of the dataflow, for a coordinator that learns of it on registration.
    nodes: Vec<String>,
    stop: mpsc::UnboundedSender<StopRequest>,
}

/// Runs the daemon until the coordinator tells it to exit (`dora destroy`).
pub async fn run(options: DaemonOptions) -> eyre::Result<()> {
    let dynamic_nodes = DynamicNodes::bind(options.local_listen_addr).await?;
    let data_listener = TcpListener::bind((options.local_listen_addr.ip(), 0))
        .await
        .wrap_err("binding the inter-daemon data port")?;
    let data_address = data_listener.local_addr()?;
    let registry: Registry = Default::default();
    tokio::spawn(accept_links(data_listener, registry.clone()));

    let (to_coordinator, mut outbox) = mpsc::unbounded_channel::<DaemonToCoordinator>();
    let mut dataflows: BTreeMap<String, RunningDataflow> = BTreeMap::new();
    let mut buffered: VecDeque<DaemonToCoordinator> = VecDeque::new();
    let mut backoff = Duration::from_millis(50);
    let mut destroying = false;
    let mut warned = false;

    loop {
        if destroying && dataflows.is_empty() {
            return Ok(());
        }
        let stream = match connect(
            options.coordinator_addr,
            Role::Daemon {
                machine_id: options.machine_id.clone(),
            },
        )
        .await
        {
            Ok(stream) => stream,
            Err(err) => {
                if !warned {
                    tracing::warn!("cannot reach the coordinator: {err:#}; retrying");
                    warned = true;
                }
                // Keep collecting what running dataflows report while waiting.
                let deadline = tokio::time::sleep(backoff);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        () = &mut deadline => break,
                        Some(message) = outbox.recv() => {
                            if let DaemonToCoordinator::Finished { dataflow_id, .. } = &message {
                                dataflows.remove(dataflow_id);
                                if let Ok(mut registry) = registry.lock() {
                                    registry.remove(dataflow_id);
                                }
                            }
                            buffer(&mut buffered, message);
                        }
                    }
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                if destroying && dataflows.is_empty() {
                    return Ok(());
                }
                continue;
            }
        };
        warned = false;
        backoff = Duration::from_millis(50);
        tracing::info!(
            "connected to the coordinator at {}",
            options.coordinator_addr
        );
        let (mut reader, mut writer) = stream.into_split();
        let register = DaemonToCoordinator::Register {
            machine_id: options.machine_id.clone(),
            data_address,
            running: dataflows
                .iter()
                .map(|(id, d)| dora_message::coordinator::RunningDataflow {
                    id: id.clone(),
                    name: d.name.clone(),
                    nodes: d.nodes.clone(),
                })
                .collect(),
        };
        if write_frame(&mut writer, &register).await.is_err() {
            continue;
        }
        let mut flushed = true;
        while let Some(message) = buffered.pop_front() {
            if write_frame(&mut writer, &message).await.is_err() {
                buffered.push_front(message);
                flushed = false;
                break;
            }
        }
        if !flushed {
            continue;
        }

        let (frames_tx, mut frames) = mpsc::unbounded_channel();
        let reader_task = tokio::spawn(async move {
            loop {
                let frame = read_frame::<CoordinatorToDaemon>(&mut reader).await;
                let end = !matches!(frame, Ok(Some(_)));
                if frames_tx.send(frame).is_err() || end {
                    break;
                }
            }
        });
        let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
        let mut last_seen = Instant::now();
        // Serve the connection until it fails.
        let lost: Option<DaemonToCoordinator> = loop {
            let outgoing = tokio::select! {
                frame = frames.recv() => {
                    match frame {
                        Some(Ok(Some(message))) => {
                            last_seen = Instant::now();
                            match message {
                                CoordinatorToDaemon::Heartbeat => {}
                                CoordinatorToDaemon::Spawn { dataflow_id, name, descriptor, path, nodes, placement, peers, hot_reload } => {
                                    let (stop_tx, stop_rx) = mpsc::unbounded_channel();
                                    let (incoming_tx, incoming) = std::sync::mpsc::channel();
                                    if let Ok(mut registry) = registry.lock() {
                                        registry.insert(dataflow_id.clone(), incoming_tx);
                                    }
                                    let all_nodes = placement.iter().map(|(node, _)| node.clone()).collect();
                                    let remote = RemoteSpec {
                                        machine_id: options.machine_id.clone(),
                                        placement,
                                        peers,
                                        incoming,
                                    };
                                    spawn_dataflow(
                                        dataflow_id.clone(), &options.machine_id, descriptor, path, nodes,
                                        remote, hot_reload, dynamic_nodes.clone(), stop_rx, to_coordinator.clone(),
                                    );
                                    dataflows.insert(dataflow_id, RunningDataflow { name, nodes: all_nodes, stop: stop_tx });
                                }
                                CoordinatorToDaemon::Stop { dataflow_id, grace_duration } => {
                                    if let Some(dataflow) = dataflows.get(&dataflow_id) {
                                        // No grace at all (a part the coordinator already
                                        // counted as gone): kill without asking first.
                                        let request = if grace_duration.is_zero() {
                                            StopRequest::Kill
                                        } else {
                                            StopRequest::Graceful(grace_duration)
                                        };
                                        let _ = dataflow.stop.send(request);
                                    }
                                }
                                CoordinatorToDaemon::Destroy => {
                                    destroying = true;
                                    for dataflow in dataflows.values() {
                                        let _ = dataflow.stop.send(StopRequest::Graceful(Duration::from_secs(5)));
                                    }
                                }
                            }
                            None
                        }
                        Some(Ok(None)) | None => {
                            tracing::warn!("the coordinator closed the connection; reconnecting");
                            break None;
                        }
                        Some(Err(err)) => {
                            tracing::warn!("dropped the coordinator connection: {err}; reconnecting");
                            break None;
                        }
                    }
                }
                Some(message) = outbox.recv() => {
                    if let DaemonToCoordinator::Finished { dataflow_id, .. } = &message {
                        dataflows.remove(dataflow_id);
                        if let Ok(mut registry) = registry.lock() {
                            registry.remove(dataflow_id);
                        }
                    }
                    Some(message)
                }
                _ = heartbeat.tick() => {
                    if last_seen.elapsed() > COORDINATOR_TIMEOUT {
                        tracing::warn!("no heartbeat from the coordinator for {COORDINATOR_TIMEOUT:?}; reconnecting");
                        break None;
                    }
                    Some(DaemonToCoordinator::Heartbeat)
                }
            };
            if let Some(message) = outgoing {
                if let Err(err) = write_frame(&mut writer, &message).await {
                    tracing::warn!("writing to the coordinator failed: {err}; reconnecting");
                    break Some(message);
                }
            }
            if destroying && dataflows.is_empty() {
                reader_task.abort();
                return Ok(());
            }
        };
        reader_task.abort();
        if let Some(message) = lost {
            if !matches!(message, DaemonToCoordinator::Heartbeat) {
                buffer(&mut buffered, message);
            }
        }
    }
}

fn buffer(buffered: &mut VecDeque<DaemonToCoordinator>, message: DaemonToCoordinator) {
    if matches!(message, DaemonToCoordinator::Heartbeat) {
        return;
    }
    if buffered.len() >= MAX_BUFFERED {
        // Log lines are the least important; results must survive.
        if let Some(position) = buffered
            .iter()
            .position(|m| matches!(m, DaemonToCoordinator::Log(_)))
        {
            buffered.remove(position);
        }
    }
    buffered.push_back(message);
}

#[allow(clippy::too_many_arguments)]
fn spawn_dataflow(
    dataflow_id: String,
    machine_id: &str,
    descriptor: String,
    path: std::path::PathBuf,
    nodes: Vec<String>,
    remote: RemoteSpec,
    hot_reload: bool,
    dynamic_nodes: DynamicNodes,
    stop: mpsc::UnboundedReceiver<StopRequest>,
    to_coordinator: mpsc::UnboundedSender<DaemonToCoordinator>,
) {
    let machine_id = machine_id.to_owned();
    tokio::spawn(async move {
        let report = |result: Result<(), String>| {
            let _ = to_coordinator.send(DaemonToCoordinator::Spawned {
                dataflow_id: dataflow_id.clone(),
                result,
            });
        };
        let finished = |nodes: Vec<NodeOutcome>| {
            let _ = to_coordinator.send(DaemonToCoordinator::Finished {
                dataflow_id: dataflow_id.clone(),
                nodes,
            });
        };
        let descriptor = match Descriptor::parse(&descriptor, Some(&path)) {
            Ok(descriptor) => descriptor,
            Err(err) => {
                report(Err(err.to_string()));
                return finished(Vec::new());
            }
        };
        let spec = DataflowSpec {
            id: dataflow_id.clone(),
            descriptor,
            local_nodes: Some(nodes),
            remote: Some(remote),
            hot_reload,
            dynamic_nodes: Some(dynamic_nodes),
        };
        let sink = LogSink {
            print: false,
            forward: Some(to_coordinator.clone()),
        };
        let (spawned_tx, spawned_rx) = oneshot::channel();
        let run = run_dataflow(spec, stop, sink, Some(spawned_tx));
        tokio::pin!(run);
        let result = tokio::select! {
            // A dataflow whose nodes all fail at once finishes right after spawning: report
            // the spawn first, or the coordinator would see it end without having started.
            biased;
            spawned = spawned_rx => {
                if spawned.is_ok() {
                    report(Ok(()));
                }
                let result = run.await;
                if spawned.is_err() {
                    if let Err(err) = &result {
                        report(Err(format!("{err:#}")));
                    }
                }
                result
            }
            result = &mut run => result,
        };
        match result {
            Ok(result) => finished(
                result
                    .nodes
                    .into_iter()
                    .map(|node| NodeOutcome {
                        failure: (!node.exit.is_success()).then(|| node.exit.to_string()),
                        killed: matches!(node.exit, NodeExit::Killed),
                        node_id: node.node_id,
                        machine_id: machine_id.clone(),
                        stderr_tail: node.stderr_tail,
                    })
                    .collect(),
            ),
            Err(err) => {
                report(Err(format!("{err:#}")));
                finished(Vec::new());
            }
        }
    });
}

/// Accepts data links from other daemons and feeds what they send to the dataflow named in
/// their hello (waiting a little for a dataflow this daemon is still starting).
async fn accept_links(listener: TcpListener, registry: Registry) {
    use dora_message::coordinator::{InterDaemon, LinkHello};
    loop {
        let Ok((mut stream, peer)) = listener.accept().await else {
            continue;
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            if let Err(reason) = dora_control::net::accept(&mut stream).await {
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
