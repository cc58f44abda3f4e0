//! `dora up`: start a coordinator and a daemon in the background unless they already run,
//! and wait until both are ready.

use std::{
    net::SocketAddr,
    process::{Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use dora_message::coordinator::{ControlReply, ControlRequest};
use eyre::WrapErr;

use super::client::{
    block_on, request, CoordinatorArgs, DEFAULT_DAEMON_PORT, DEFAULT_LOCAL_LISTEN_PORT,
};

/// How long `dora up` waits for what it started to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Use a custom configuration (accepted for compatibility; unused)
    #[arg(long, hide = true)]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    coordinator: CoordinatorArgs,
    /// Port where the coordinator listens for daemons
    #[arg(long, default_value_t = DEFAULT_DAEMON_PORT)]
    daemon_port: u16,
    /// Port where the daemon listens for dynamic nodes
    #[arg(long, default_value_t = DEFAULT_LOCAL_LISTEN_PORT)]
    local_listen_port: u16,
}

/// The daemons connected to the coordinator at `addr`, or `None` when none answers.
pub async fn coordinator_status(addr: SocketAddr) -> Option<Vec<String>> {
    match request(addr, &ControlRequest::Status).await {
        Ok(ControlReply::Status { daemons }) => Some(daemons),
        _ => None,
    }
}

/// Polls the coordinator until `ready` holds for its daemon list (or the deadline passes).
fn wait_until(addr: SocketAddr, what: &str, ready: impl Fn(&[String]) -> bool) -> eyre::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(daemons) = block_on(coordinator_status(addr))? {
            if ready(&daemons) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            eyre::bail!("{what} was not ready within {READY_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_background(args: &[String]) -> eyre::Result<u32> {
    let exe = std::env::current_exe().wrap_err("locating the dora executable")?;
    let mut command = Command::new(exe);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Its own session: it outlives this command and the terminal's signals.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .spawn()
        .wrap_err_with(|| format!("starting `dora {}`", args.join(" ")))?;
    Ok(child.id())
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let control = args.coordinator.socket_addr();
    let mut started_anything = false;
    match block_on(coordinator_status(control))? {
        Some(_) => println!("coordinator already running at {control}"),
        None => {
            let pid = spawn_background(&[
                "coordinator".into(),
                "--quiet".into(),
                "--interface".into(),
                args.coordinator.coordinator_addr.to_string(),
                "--port".into(),
                args.daemon_port.to_string(),
                "--control-interface".into(),
                args.coordinator.coordinator_addr.to_string(),
                "--control-port".into(),
                control.port().to_string(),
            ])?;
            wait_until(control, "the coordinator", |_| true)?;
            println!("started coordinator (pid {pid}), control at {control}");
            started_anything = true;
        }
    }
    match block_on(coordinator_status(control))? {
        Some(daemons) if !daemons.is_empty() => {
            println!("daemon already running ({} connected)", daemons.len())
        }
        _ => {
            let pid = spawn_background(&[
                "daemon".into(),
                "--quiet".into(),
                "--coordinator-addr".into(),
                args.coordinator.coordinator_addr.to_string(),
                "--coordinator-port".into(),
                args.daemon_port.to_string(),
                "--local-listen-port".into(),
                args.local_listen_port.to_string(),
            ])?;
            wait_until(control, "the daemon", |daemons| !daemons.is_empty())?;
            println!("started daemon (pid {pid})");
            started_anything = true;
        }
    }
    if !started_anything {
        println!("nothing to start");
    }
    Ok(ExitCode::SUCCESS)
}
