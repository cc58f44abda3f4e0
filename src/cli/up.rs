//! `dora up`: start a coordinator and a daemon in the background unless they already run,
//! and wait until both are ready.

use std::{
    net::SocketAddr,
    process::{Child, Command, ExitCode, Stdio},
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
    coordinator_status_checked(addr).await.ok().flatten()
}

/// [`coordinator_status`], but a coordinator that refuses this user is an error that says so.
pub async fn coordinator_status_checked(addr: SocketAddr) -> eyre::Result<Option<Vec<String>>> {
    match request(addr, &ControlRequest::Status).await {
        Ok(ControlReply::Status { daemons }) => Ok(Some(daemons)),
        Err(err) if err.downcast_ref::<super::client::Refused>().is_some() => Err(err),
        _ => Ok(None),
    }
}

/// A process this command started in the background. Until it is ready, its stderr goes to
/// an unlinked temporary file, so that an early failure can be shown.
struct Background {
    child: Child,
    what: &'static str,
    stderr: std::fs::File,
}

impl Background {
    /// Ends the process (it failed to get ready, or a later step failed).
    fn abandon(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the process wrote on stderr (its last lines).
    fn stderr_tail(&mut self) -> String {
        use std::io::{Read, Seek};
        let mut text = String::new();
        if self.stderr.rewind().is_ok() {
            let _ = self.stderr.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

/// Polls the coordinator until `ready` holds for its daemon list, failing at once when the
/// process exits, or at the deadline.
fn wait_until(
    addr: SocketAddr,
    process: &mut Background,
    ready: impl Fn(&[String]) -> bool,
) -> eyre::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(daemons) = block_on(coordinator_status(addr))? {
            if ready(&daemons) {
                return Ok(());
            }
        }
        if let Some(status) = process
            .child
            .try_wait()
            .wrap_err("watching a started process")?
        {
            let tail = process.stderr_tail();
            eyre::bail!(
                "{} exited before it was ready ({status}){}",
                process.what,
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(":\n{tail}")
                }
            );
        }
        if Instant::now() > deadline {
            let tail = process.stderr_tail();
            eyre::bail!(
                "{} was not ready within {READY_TIMEOUT:?}{}",
                process.what,
                if tail.is_empty() {
                    String::new()
                } else {
                    format!("; it said:\n{tail}")
                }
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_background(what: &'static str, args: &[String]) -> eyre::Result<Background> {
    let exe = std::env::current_exe().wrap_err("locating the dora executable")?;
    // Unlinked at once: nothing is left behind, and the process keeps writing to it.
    let stderr = tempfile::tempfile().wrap_err("creating a temporary file for its errors")?;
    let mut command = Command::new(exe);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            stderr
                .try_clone()
                .wrap_err("duplicating a file descriptor")?,
        );
    // Its own session: it outlives this command and the terminal's signals.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .spawn()
        .wrap_err_with(|| format!("starting `dora {}`", args.join(" ")))?;
    Ok(Background {
        child,
        what,
        stderr,
    })
}

/// `args` with `--token-file PATH` when one was given (else the processes use the default
/// file of their port).
fn with_token_file(coordinator: &CoordinatorArgs, mut args: Vec<String>) -> Vec<String> {
    if let Some(path) = &coordinator.token_file {
        args.extend(["--token-file".into(), path.display().to_string()]);
    }
    args
}

pub fn exec(args: Args) -> eyre::Result<ExitCode> {
    let control = args.coordinator.socket_addr();
    let mut started_anything = false;
    let mut coordinator = None;
    match block_on(coordinator_status_checked(control))?? {
        Some(_) => println!("coordinator already running at {control}"),
        None => {
            let mut process = spawn_background(
                "the coordinator",
                &with_token_file(
                    &args.coordinator,
                    vec![
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
                    ],
                ),
            )?;
            if let Err(err) = wait_until(control, &mut process, |_| true) {
                process.abandon();
                return Err(err);
            }
            println!(
                "started coordinator (pid {}), control at {control}",
                process.child.id()
            );
            coordinator = Some(process);
            started_anything = true;
        }
    }
    match block_on(coordinator_status(control))? {
        Some(daemons) if !daemons.is_empty() => {
            println!("daemon already running ({} connected)", daemons.len())
        }
        _ => {
            let mut process = spawn_background(
                "the daemon",
                &with_token_file(
                    &args.coordinator,
                    vec![
                        "daemon".into(),
                        "--quiet".into(),
                        "--coordinator-addr".into(),
                        args.coordinator.coordinator_addr.to_string(),
                        "--coordinator-port".into(),
                        args.daemon_port.to_string(),
                        "--local-listen-port".into(),
                        args.local_listen_port.to_string(),
                    ],
                ),
            )?;
            if let Err(err) = wait_until(control, &mut process, |daemons| !daemons.is_empty()) {
                process.abandon();
                // Leave nothing half started: a coordinator started here goes too.
                if let Some(coordinator) = coordinator {
                    coordinator.abandon();
                }
                return Err(err);
            }
            println!("started daemon (pid {})", process.child.id());
            started_anything = true;
        }
    }
    if !started_anything {
        println!("nothing to start");
    }
    Ok(ExitCode::SUCCESS)
}
