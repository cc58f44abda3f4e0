//! Starting a dataflow, step by step: find its folder, resolve every node's program before
//! anything starts, create the log folder, bind the control endpoint, route, then spawn the
//! nodes dora starts and offer the dynamic ones. A step that fails ends the run with nothing
//! left behind: nodes already spawned are killed, sockets and folders closed and removed.

use std::{
    collections::HashMap,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
};

use dora_descriptor::{Descriptor, LocalCommunication, Node};
use dora_message::config::{DaemonAddress, NodeConfig, RuntimeConfig};
use eyre::WrapErr;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    control::{self, ControlMessage, Listener},
    dataflow::{kill_all, Dataflow, Internal, NodeState, Started},
    dynamic,
    node_output::{LogSink, NodeLog, Stream},
    restart,
    routing::{self, Routing},
    spawn::{self, Program},
    start_bridges, DataflowSpec, RemoteSpec,
};

/// What to run for a local node: `None` for a dynamic node, which the user starts.
type Resolved = Option<(Program, Option<RuntimeConfig>)>;

/// The daemon's control endpoint for one dataflow, served until dropped.
pub(crate) struct ControlEndpoint {
    acceptor: JoinHandle<()>,
    /// Holds the Unix socket; removed with it.
    _socket_dir: tempfile::TempDir,
}

impl Drop for ControlEndpoint {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// Starts every local node of `spec` and returns the running dataflow. Connections to the
/// control endpoint report to `control`, node processes to `internal`.
pub(crate) async fn start(
    spec: DataflowSpec,
    sink: LogSink,
    control: &mpsc::UnboundedSender<ControlMessage>,
    internal: &mpsc::UnboundedSender<Internal>,
) -> eyre::Result<Dataflow> {
    let DataflowSpec {
        id,
        descriptor,
        local_nodes: local_ids,
        remote,
        hot_reload,
        dynamic_nodes,
    } = spec;
    let (dataflow_path, working_dir) = locate(&descriptor)?;
    let local_nodes: Vec<&Node> = descriptor
        .nodes
        .iter()
        .filter(|n| local_ids.as_ref().is_none_or(|ids| ids.contains(&n.id)))
        .collect();
    let programs = resolve_programs(&local_nodes, &working_dir, &dataflow_path, hot_reload)?;
    if programs.iter().any(Option::is_none) && dynamic_nodes.is_none() {
        eyre::bail!("the dataflow has dynamic nodes, but this daemon does not serve them");
    }
    let log_dir = create_log_dir(&working_dir, &id)?;
    let node_ids: Vec<String> = local_nodes.iter().map(|n| n.id.clone()).collect();
    let (endpoint, address) =
        bind_control(descriptor.communication.local, &id, &node_ids, control).await?;
    let remote_nodes = remote_nodes(&descriptor, &local_nodes, remote.as_ref());
    let mut routing = routing::plan(&local_nodes, &remote_nodes, &id, &address)?.connect()?;
    for (config, program) in routing.configs.iter_mut().zip(&programs) {
        config.runtime = program.as_ref().and_then(|(_, runtime)| runtime.clone());
        config.dataflow_path = Some(dataflow_path.clone());
    }
    restart::mark_restartable_peers(&mut routing.configs, &local_nodes);
    let launcher = Launcher {
        dataflow_id: &id,
        working_dir: &working_dir,
        log_dir: &log_dir,
        sink: &sink,
        internal,
    };
    let (nodes, offers) = launcher.spawn_all(&local_nodes, &programs, &mut routing)?;
    let offers = offer_dynamic_nodes(&id, &nodes, offers, dynamic_nodes.as_ref(), control);
    let respawner = restart::Respawner {
        working_dir: working_dir.clone(),
        internal: internal.clone(),
        nodes: restartable_nodes(&local_nodes, programs, &mut routing),
    };
    let Routing {
        fds,
        timers,
        stdout_routes,
        bridges,
        ..
    } = routing;
    // The daemon's copies of the data sockets must go, so that a node's exit hangs up its
    // peers' connections (those of restartable nodes were kept above, until they end).
    drop(fds);
    if let Some(remote) = remote {
        start_bridges(&id, remote, bridges);
    }
    Ok(Dataflow::new(Started {
        queue_sizes: queue_sizes(&local_nodes),
        id,
        nodes,
        sink,
        dynamic_nodes,
        log_dir,
        stdout_routes,
        timer_routes: timers,
        endpoint,
        offers,
        respawner,
    }))
}

/// What restarting each node with a restart policy needs (by node index), its data
/// connections taken from `routing`.
fn restartable_nodes(
    nodes: &[&Node],
    programs: Vec<Resolved>,
    routing: &mut Routing,
) -> Vec<Option<restart::Restartable>> {
    nodes
        .iter()
        .zip(programs)
        .enumerate()
        .map(|(index, (node, program))| {
            let (program, _) = program.filter(|_| restart::is_restartable(node))?;
            Some(restart::Restartable {
                node: (*node).clone(),
                program,
                config: routing.configs[index].clone(),
                fds: std::mem::take(&mut routing.fds[index]),
                budget: restart::Budget::new(node.restart),
            })
        })
        .collect()
}

/// Offers the dataflow's dynamic nodes until the returned guard is dropped, and tells the
/// user they wait to be started.
fn offer_dynamic_nodes(
    dataflow_id: &str,
    nodes: &[NodeState],
    offers: Vec<dynamic::Offer>,
    dynamic_nodes: Option<&dynamic::DynamicNodes>,
    control: &mpsc::UnboundedSender<ControlMessage>,
) -> Option<dynamic::OfferGuard> {
    let guard = match (dynamic_nodes, offers.is_empty()) {
        (Some(dynamic_nodes), false) => {
            let node_ids = nodes.iter().map(|n| n.id.clone()).collect();
            Some(dynamic_nodes.offer(dataflow_id, node_ids, offers, control.clone()))
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
    guard
}

/// The dataflow file and the folder its nodes run in.
fn locate(descriptor: &Descriptor) -> eyre::Result<(PathBuf, PathBuf)> {
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
    Ok((dataflow_path, working_dir))
}

/// Every local node's program, checked before anything starts.
fn resolve_programs(
    nodes: &[&Node],
    working_dir: &Path,
    dataflow_path: &Path,
    hot_reload: bool,
) -> eyre::Result<Vec<Resolved>> {
    let mut programs = nodes
        .iter()
        .map(|node| match spawn::is_dynamic(node) {
            true => Ok(None),
            false => spawn::resolve(node, working_dir, Some(dataflow_path)).map(Some),
        })
        .collect::<eyre::Result<Vec<_>>>()?;
    if hot_reload {
        for (program, _) in programs.iter_mut().flatten() {
            program
                .env
                .push((spawn::HOT_RELOAD_ENV.to_owned(), "1".to_owned()));
        }
    }
    Ok(programs)
}

/// `out/<dataflow id>` beside the dataflow file.
fn create_log_dir(working_dir: &Path, dataflow_id: &str) -> eyre::Result<PathBuf> {
    let log_dir = working_dir.join("out").join(dataflow_id);
    std::fs::create_dir_all(&log_dir)
        .wrap_err_with(|| format!("creating the log folder {}", log_dir.display()))?;
    Ok(log_dir)
}

/// Binds the control endpoint nodes connect to (a Unix socket in a fresh folder, or a TCP
/// port on 127.0.0.1) and serves it, reporting to `control`.
async fn bind_control(
    communication: LocalCommunication,
    dataflow_id: &str,
    node_ids: &[String],
    control: &mpsc::UnboundedSender<ControlMessage>,
) -> eyre::Result<(ControlEndpoint, DaemonAddress)> {
    // In this process's run folder when it has one, so a crash leaves nothing that the
    // next start does not clean up (see `run_folder`).
    let mut builder = tempfile::Builder::new();
    builder.prefix("dora-");
    let socket_dir = match crate::run_folder::current() {
        Some(folder) => builder.tempdir_in(folder),
        None => builder.tempdir(),
    }
    .wrap_err("creating a folder for the daemon socket")?;
    let (listener, address) = match communication {
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
    let acceptor = tokio::spawn(control::accept(
        listener,
        dataflow_id.to_owned(),
        node_ids.to_vec(),
        control.clone(),
    ));
    let endpoint = ControlEndpoint {
        acceptor,
        _socket_dir: socket_dir,
    };
    Ok((endpoint, address))
}

/// The dataflow's other nodes, with the machines that run them.
fn remote_nodes<'a>(
    descriptor: &'a Descriptor,
    local_nodes: &[&Node],
    remote: Option<&RemoteSpec>,
) -> Vec<(&'a Node, String)> {
    let Some(remote) = remote else {
        return Vec::new();
    };
    descriptor
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
        .collect()
}

/// (node index, input id) → the input's queue size.
fn queue_sizes(nodes: &[&Node]) -> HashMap<(usize, String), usize> {
    nodes
        .iter()
        .enumerate()
        .flat_map(|(i, node)| {
            node.inputs()
                .into_iter()
                .map(move |(id, input)| ((i, id), input.queue_size))
        })
        .collect()
}

/// What spawning a dataflow's nodes needs.
struct Launcher<'a> {
    dataflow_id: &'a str,
    working_dir: &'a Path,
    log_dir: &'a Path,
    sink: &'a LogSink,
    internal: &'a mpsc::UnboundedSender<Internal>,
}

impl Launcher<'_> {
    /// Spawns every node that dora starts and prepares the offers of the dynamic ones. On
    /// failure, kills the nodes it already started.
    fn spawn_all(
        &self,
        nodes: &[&Node],
        programs: &[Resolved],
        routing: &mut Routing,
    ) -> eyre::Result<(Vec<NodeState>, Vec<dynamic::Offer>)> {
        let mut states = Vec::new();
        let mut offers = Vec::new();
        for (index, (node, program)) in nodes.iter().zip(programs).enumerate() {
            match self.launch(index, node, program, routing, &mut offers) {
                Ok(state) => states.push(state),
                Err(err) => {
                    kill_all(&mut states);
                    return Err(err);
                }
            }
        }
        Ok((states, offers))
    }

    /// Spawns node `index`, or adds its offer to `offers` when it is dynamic.
    fn launch(
        &self,
        index: usize,
        node: &Node,
        program: &Resolved,
        routing: &mut Routing,
        offers: &mut Vec<dynamic::Offer>,
    ) -> eyre::Result<NodeState> {
        let log_path = self.log_dir.join(format!("log_{}.txt", node.id));
        let log = NodeLog::create(self.dataflow_id, &node.id, &log_path, self.sink.clone())
            .wrap_err_with(|| format!("creating {}", log_path.display()))?;
        let mut state = NodeState::new(index, &node.id, program.is_none(), log);
        match program {
            Some((program, _)) => self.spawn(&mut state, node, program, routing)?,
            None => {
                let config_json = serde_json::to_string(&routing.configs[index])
                    .wrap_err("serializing a dynamic node's config")?;
                let fds = std::mem::take(&mut routing.fds[index]);
                offers.push(dynamic::Offer::new(
                    index,
                    node.id.clone(),
                    config_json,
                    fds,
                ));
            }
        }
        Ok(state)
    }

    /// Starts a node's process, captures its output and reports its exit.
    fn spawn(
        &self,
        state: &mut NodeState,
        node: &Node,
        program: &Program,
        routing: &Routing,
    ) -> eyre::Result<()> {
        let index = state.index;
        let process = Process {
            node,
            program,
            dataflow_id: self.dataflow_id,
            working_dir: self.working_dir,
            config: &routing.configs[index],
            fds: &routing.fds[index],
            forward_stdout: !routing.stdout_routes[index].is_empty(),
        };
        spawn_process(state, &process, self.internal)
    }
}

/// One start of a node's process.
pub(crate) struct Process<'a> {
    pub(crate) node: &'a Node,
    pub(crate) program: &'a Program,
    /// The dataflow's UUID, for the record of the node's process in the run folder.
    pub(crate) dataflow_id: &'a str,
    pub(crate) working_dir: &'a Path,
    pub(crate) config: &'a NodeConfig,
    /// The node's ends of its data connections, inherited.
    pub(crate) fds: &'a [OwnedFd],
    /// The node has `send_stdout_as`: its stdout lines go to the dataflow too.
    pub(crate) forward_stdout: bool,
}

/// Starts a node's process (its first start or a restart), captures its output into its log
/// and reports its exit on `internal`.
pub(crate) fn spawn_process(
    state: &mut NodeState,
    process: &Process<'_>,
    internal: &mpsc::UnboundedSender<Internal>,
) -> eyre::Result<()> {
    let index = state.index;
    let mut child = spawn::spawn(
        process.node,
        process.program,
        process.working_dir,
        process.config,
        process.fds,
    )?;
    if let Some(stdout) = child.stdout.take() {
        let forward = process
            .forward_stdout
            .then(|| forward_stdout(index, internal.clone()));
        let task = state.log.capture(stdout, Stream::Stdout, forward);
        state.output_tasks.push(task);
    }
    if let Some(stderr) = child.stderr.take() {
        let task = state.log.capture(stderr, Stream::Stderr, None);
        state.output_tasks.push(task);
    }
    state.pid = child.id().map(|pid| pid as i32);
    let record = child
        .id()
        .and_then(|pid| crate::run_folder::record_node(pid, process.dataflow_id, &process.node.id));
    let exited = internal.clone();
    tokio::spawn(async move {
        let status = child.wait().await;
        drop(record);
        let _ = exited.send(Internal::Exited(index, status));
    });
    Ok(())
}

/// A channel for the stdout lines of a `send_stdout_as` node, passed on as events of the
/// running dataflow, and its end once the pipe closed.
fn forward_stdout(
    index: usize,
    internal: mpsc::UnboundedSender<Internal>,
) -> mpsc::UnboundedSender<String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            let _ = internal.send(Internal::StdoutLine(index, line));
        }
        let _ = internal.send(Internal::StdoutClosed(index));
    });
    tx
}
