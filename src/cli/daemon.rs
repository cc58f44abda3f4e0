//! `dora daemon`: run a daemon in the foreground, connected to a coordinator.

use std::{net::SocketAddr, process::ExitCode};

use super::client::{DEFAULT_DAEMON_PORT, DEFAULT_LOCAL_LISTEN_PORT, LOCALHOST};
use dora_daemon::service::{run, DaemonOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Unique identifier for the machine (required for distributed dataflows)
    #[arg(long)]
    machine_id: Option<String>,
    /// Address and port number of the dora coordinator
    #[arg(long, default_value_t = LOCALHOST)]
    coordinator_addr: std::net::IpAddr,
    /// Port number of the coordinator control server
    #[arg(long, default_value_t = DEFAULT_DAEMON_PORT)]
    coordinator_port: u16,
    /// Port for dynamic nodes to connect to this daemon
    #[arg(long, default_value_t = DEFAULT_LOCAL_LISTEN_PORT)]
    local_listen_port: u16,
    /// The coordinator's token file [env: DORA_TOKEN_FILE]; default: the one the
    /// coordinator wrote on this machine for --coordinator-port
    #[arg(long, value_name = "PATH")]
    token_file: Option<std::path::PathBuf>,
    /// Suppresses all log output to stdout.
    #[arg(long)]
    quiet: bool,
    /// Write diagnostics (all of stderr) to FILE, rotated to FILE.1 at 8 MiB
    #[arg(long, value_name = "FILE")]
    log_file: Option<std::path::PathBuf>,
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    if let Some(path) = &args.log_file {
        super::log_file::redirect_stderr(path)?;
    }
    let options = DaemonOptions {
        machine_id: args.machine_id.unwrap_or_default(),
        coordinator_addr: SocketAddr::new(args.coordinator_addr, args.coordinator_port),
        local_listen_addr: SocketAddr::new(LOCALHOST, args.local_listen_port),
        token_file: args.token_file,
    };
    if !args.quiet {
        eprintln!(
            "dora daemon of {}: coordinator at {}",
            dora_control::Machine(&options.machine_id),
            options.coordinator_addr
        );
    }
    // Nodes are spawned from the runtime's worker threads, which live as long as the daemon
    // (a parent-death signal is tied to the spawning thread).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| eyre::eyre!("starting the async runtime: {err}"))?;
    runtime.block_on(run(options))?;
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(ExitCode::SUCCESS)
}
