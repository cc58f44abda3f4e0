//! `dora run`: run a dataflow on this machine in one command (coordinator and daemon roles
//! in this process), until every node has exited or the user stops it.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use dora_descriptor::Descriptor;
use eyre::WrapErr;

use dora_message::node_daemon::{DEFAULT_LOCAL_LISTEN_PORT, LOCAL_LISTEN_PORT_ENV};

use dora_daemon::{
    dynamic::DynamicNodes, run_dataflow, ClosedStdout, DataflowSpec, LogSink, NodeExit, StopRequest,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path to the dataflow descriptor file
    #[arg(value_name = "PATH")]
    dataflow: PathBuf,
    /// Time nodes get to exit after a stop request before they are killed (e.g. 500ms, 15s)
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    grace_duration: Duration,
}

/// Parses `500ms`, `15s`, `2m`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (examples: 500ms, 15s, 2m)"))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "us" | "µs" => value / 1e6,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown duration unit `{other}` (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|err| format!("`{text}`: {err}"))
}

/// Cleans up after crashed dora processes and makes this process's run folder, which holds
/// the node socket and the records of running nodes (see `dora_daemon::run_folder`). Without
/// one (logged), the dataflow still runs, its socket in a temporary folder.
fn claim_run_folder() -> Option<dora_daemon::run_folder::RunFolder> {
    use dora_daemon::run_folder::{claim, Role};
    match claim(Role::Run, None) {
        Ok((folder, swept)) => {
            for swept in swept {
                tracing::info!("cleaned up after a dora process that crashed: {swept}");
            }
            Some(folder)
        }
        Err(err) => {
            tracing::warn!("no run folder: {err}");
            None
        }
    }
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let descriptor = match Descriptor::read(&args.dataflow) {
        Ok(descriptor) => descriptor,
        Err(err) => {
            eprintln!("{err}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let _run_folder = claim_run_folder();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .wrap_err("starting the async runtime")?;
    let has_dynamic_nodes = descriptor.nodes.iter().any(dora_daemon::is_dynamic);
    let mut spec = DataflowSpec {
        id: uuid::Uuid::now_v7().to_string(),
        descriptor,
        local_nodes: None,
        remote: None,
        hot_reload: false,
        dynamic_nodes: None,
    };
    let grace = args.grace_duration;
    let (stop_tx, stop_rx) = tokio::sync::mpsc::unbounded_channel();
    let closed_stdout = ClosedStdout::new(stop_tx.clone(), grace);
    let sink = LogSink::terminal(Some(closed_stdout.clone()));
    let result = runtime
        .block_on(async move {
            if has_dynamic_nodes {
                // Dynamic nodes find this process as they would find a daemon: by the local
                // listen port.
                let port = local_listen_port()?;
                let address = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
                let nodes = DynamicNodes::bind(address).await.wrap_err_with(|| {
                    format!(
                        "the dataflow has dynamic nodes; to serve them next to a daemon, set \
                         {LOCAL_LISTEN_PORT_ENV} to another port than {port} for `dora run` and \
                         its dynamic nodes"
                    )
                })?;
                spec.dynamic_nodes = Some(nodes);
            }
            forward_signals(stop_tx, grace)?;
            run_dataflow(spec, stop_rx, sink, None).await
        })
        .wrap_err_with(|| format!("running dataflow {}", args.dataflow.display()))?;
    runtime.shutdown_timeout(Duration::from_millis(100));

    for node in &result.nodes {
        match node.exit {
            NodeExit::Success => {}
            NodeExit::NeverConnected => eprintln!("dora: node `{}` {}", node.node_id, node.exit),
            _ => {
                eprintln!("dora: node `{}` {}", node.node_id, node.exit);
                if !node.stderr_tail.is_empty() && !matches!(node.exit, NodeExit::Killed) {
                    eprintln!("  last lines of its stderr:");
                    for line in &node.stderr_tail {
                        eprintln!("    {line}");
                    }
                }
            }
        }
    }
    eprintln!("dora: logs in {}", result.log_dir.display());
    if closed_stdout.is_closed() {
        // The reader of the output left: end as a process ended by SIGPIPE does in a shell.
        return Ok(ExitCode::from(141));
    }
    if !result.is_success() {
        eprintln!("dora: dataflow {} failed", result.dataflow_id);
        Ok(ExitCode::FAILURE)
    } else {
        eprintln!(
            "dora: dataflow {} finished successfully",
            result.dataflow_id
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// The port whose dynamic node socket `dora run` serves: `DORA_DAEMON_LOCAL_LISTEN_PORT`, as
/// for the dynamic nodes themselves, else the daemon's default.
fn local_listen_port() -> eyre::Result<u16> {
    match std::env::var(LOCAL_LISTEN_PORT_ENV) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| eyre::eyre!("{LOCAL_LISTEN_PORT_ENV}=`{text}` is not a port number")),
        Err(_) => Ok(DEFAULT_LOCAL_LISTEN_PORT),
    }
}

/// Turns SIGINT and SIGTERM into stop requests: the first stops the dataflow gracefully, the
/// next ones kill what is left.
fn forward_signals(
    stop: tokio::sync::mpsc::UnboundedSender<StopRequest>,
    grace: Duration,
) -> eyre::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigint = signal(SignalKind::interrupt()).wrap_err("installing the SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        let mut first = true;
        loop {
            tokio::select! {
                _ = sigint.recv() => {}
                _ = sigterm.recv() => {}
            }
            let request = if first {
                eprintln!("dora: press Ctrl-C again to kill the nodes now");
                StopRequest::Graceful(grace)
            } else {
                StopRequest::Kill
            };
            first = false;
            if stop.send(request).is_err() {
                break;
            }
        }
    });
    Ok(())
}
