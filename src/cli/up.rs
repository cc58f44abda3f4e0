//! `dora up`: make sure a coordinator and a local daemon run, starting only what is missing,
//! and wait until both are ready.
//!
//! - A coordinator answering on the control port is used as is.
//! - A daemon is needed unless one is connected. A live daemon of this user on this
//!   machine with the same local listen port (found by its run folder, see
//!   `dora_daemon::run_folder`) is adopted: it reconnects by itself (it retries every few
//!   seconds), so `up` waits for that instead of starting a second daemon that could not
//!   bind the port. One connected to another coordinator port is reported, not adopted.
//! - Processes `up` starts write their diagnostics to a capped log file (`--log-file`, in
//!   [`log_file::default_dir`]); an early failure shows its last lines.
//! - When a step fails, `up` ends what it started itself and never what it found running;
//!   it says what it left running.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use dora_daemon::run_folder::{self, LiveDaemon, ProcessId};
use dora_message::coordinator::{ControlReply, ControlRequest};
use eyre::WrapErr;

use super::{
    client::{block_on, request, CoordinatorArgs, DEFAULT_DAEMON_PORT, DEFAULT_LOCAL_LISTEN_PORT},
    log_file,
};

/// How long `dora up` waits for what it started (or adopted) to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Lines of a log file shown when a process failed to get ready.
const TAIL_LINES: usize = 10;

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

/// A process this command started in the background, writing to its log file.
struct Background {
    child: Child,
    what: &'static str,
    log: PathBuf,
    /// The log file's length before the process started: what follows is its own.
    log_start: u64,
}

impl Background {
    /// Ends the process (it failed to get ready, or a later step failed).
    fn abandon(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the process wrote to its log (its last lines).
    fn log_tail(&self) -> String {
        log_file::tail(&self.log, self.log_start, TAIL_LINES)
    }
}

/// What `dora up` waits on: a process it started, or a daemon it adopted.
enum Watched<'a> {
    Started(&'a mut Background),
    Adopted(ProcessId),
}

impl Watched<'_> {
    fn what(&self) -> String {
        match self {
            Watched::Started(process) => process.what.to_owned(),
            Watched::Adopted(daemon) => format!("the running daemon (pid {})", daemon.pid),
        }
    }

    /// Why it can no longer get ready (it exited), if so.
    fn exited(&mut self) -> eyre::Result<Option<String>> {
        match self {
            Watched::Started(process) => Ok(process
                .child
                .try_wait()
                .wrap_err("watching a started process")?
                .map(|status| format!("exited before it was ready ({status})"))),
            Watched::Adopted(daemon) => {
                Ok((!daemon.is_alive()).then(|| "exited before it reconnected".to_owned()))
            }
        }
    }

    /// The last lines of its log, for a failure message.
    fn details(&self) -> String {
        match self {
            Watched::Started(process) => match process.log_tail() {
                tail if tail.is_empty() => format!(" (log: {})", process.log.display()),
                tail => format!("; the end of its log ({}):\n{tail}", process.log.display()),
            },
            Watched::Adopted(_) => String::new(),
        }
    }
}

/// Polls the coordinator until `ready` holds for its daemon list, failing at once when the
/// watched process exits, or at the deadline.
fn wait_until(
    addr: SocketAddr,
    watched: &mut Watched<'_>,
    ready: impl Fn(&[String]) -> bool,
) -> eyre::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(daemons) = block_on(coordinator_status(addr))? {
            if ready(&daemons) {
                return Ok(());
            }
        }
        if let Some(why) = watched.exited()? {
            eyre::bail!("{} {why}{}", watched.what(), watched.details());
        }
        if Instant::now() > deadline {
            eyre::bail!(
                "{} was not ready within {READY_TIMEOUT:?}{}",
                watched.what(),
                watched.details()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `dora ARGS --log-file LOG` in its own process group, its output in `log`.
fn spawn_background(what: &'static str, args: &[String], log: PathBuf) -> eyre::Result<Background> {
    let exe = std::env::current_exe().wrap_err("locating the dora executable")?;
    // Also its stderr, so that what it says before it opens the file itself is kept.
    let stderr = log_file::open(&log)?;
    let log_start = stderr
        .metadata()
        .map(|m| m.len())
        .wrap_err_with(|| format!("reading the size of {}", log.display()))?;
    let mut command = Command::new(exe);
    command
        .args(args)
        .arg("--log-file")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // Its own process group: it outlives this command and the terminal's signals.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .spawn()
        .wrap_err_with(|| format!("starting `dora {}`", args.join(" ")))?;
    Ok(Background {
        child,
        what,
        log,
        log_start,
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
    let log_dir = log_file::default_dir()?;
    let coordinator = match block_on(coordinator_status_checked(control))?? {
        Some(_) => {
            println!("coordinator already running at {control}");
            None
        }
        None => Some(start_coordinator(&args, &log_dir)?),
    };
    match ensure_daemon(&args, &log_dir) {
        Ok(DaemonStep::Connected) if coordinator.is_none() => println!("nothing to start"),
        Ok(_) => {}
        Err(err) => {
            // Leave nothing half started, but only what this command started.
            match coordinator {
                Some(coordinator) => {
                    let pid = coordinator.child.id();
                    coordinator.abandon();
                    eprintln!("stopped the coordinator this command had started (pid {pid})");
                }
                None => {
                    eprintln!("left the coordinator at {control} running (it was running before)")
                }
            }
            return Err(err);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn start_coordinator(args: &Args, log_dir: &Path) -> eyre::Result<Background> {
    let control = args.coordinator.socket_addr();
    let interface = args.coordinator.coordinator_addr.to_string();
    let mut process = spawn_background(
        "the coordinator",
        &with_token_file(
            &args.coordinator,
            vec![
                "coordinator".into(),
                "--quiet".into(),
                "--interface".into(),
                interface.clone(),
                "--port".into(),
                args.daemon_port.to_string(),
                "--control-interface".into(),
                interface,
                "--control-port".into(),
                control.port().to_string(),
            ],
        ),
        log_dir.join(format!("coordinator-{}.log", control.port())),
    )?;
    if let Err(err) = wait_until(control, &mut Watched::Started(&mut process), |_| true) {
        process.abandon();
        return Err(err);
    }
    println!(
        "started coordinator (pid {}), control at {control}; log: {}",
        process.child.id(),
        process.log.display()
    );
    Ok(process)
}

/// How the daemon step ended.
enum DaemonStep {
    /// A daemon was connected already.
    Connected,
    /// A running daemon reconnected.
    Adopted,
    /// A daemon was started.
    Started,
}

/// Makes sure a daemon is connected: one already is, or a running local daemon is adopted,
/// or one is started. On failure, what this step started is ended, and an adopted daemon
/// is left running (the error says so).
fn ensure_daemon(args: &Args, log_dir: &Path) -> eyre::Result<DaemonStep> {
    let control = args.coordinator.socket_addr();
    if let Some(daemons) = block_on(coordinator_status(control))? {
        if !daemons.is_empty() {
            println!("daemon already running ({} connected)", daemons.len());
            return Ok(DaemonStep::Connected);
        }
    }
    if let Some(daemon) = local_daemon(args.local_listen_port)? {
        return adopt(args, daemon);
    }
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
        log_dir.join(format!("daemon-{}.log", args.local_listen_port)),
    )?;
    let ready = |daemons: &[String]| !daemons.is_empty();
    if let Err(err) = wait_until(control, &mut Watched::Started(&mut process), ready) {
        process.abandon();
        return Err(err);
    }
    println!(
        "started daemon (pid {}); log: {}",
        process.child.id(),
        process.log.display()
    );
    Ok(DaemonStep::Started)
}

/// The live daemon of this user that holds `local_listen_port`, if any.
fn local_daemon(local_listen_port: u16) -> eyre::Result<Option<LiveDaemon>> {
    let daemons = run_folder::live_daemons().wrap_err("looking for a running daemon")?;
    Ok(daemons.into_iter().find(|d| {
        d.info
            .as_ref()
            .is_some_and(|i| i.local_listen_port == local_listen_port)
    }))
}

/// Waits for a running daemon to reconnect, if it connects to this coordinator.
fn adopt(args: &Args, daemon: LiveDaemon) -> eyre::Result<DaemonStep> {
    let pid = daemon.process.pid;
    let expected = SocketAddr::new(args.coordinator.coordinator_addr, args.daemon_port);
    let connects_to = daemon.info.as_ref().map(|i| i.coordinator_addr);
    if connects_to != Some(expected) {
        eyre::bail!(
            "a daemon (pid {pid}) already holds local listen port {} but connects to the \
             coordinator at {}, not {expected}; stop it, or choose another \
             `--local-listen-port` (it was left running)",
            args.local_listen_port,
            connects_to.map_or_else(|| "an unknown address".to_owned(), |a| a.to_string()),
        );
    }
    println!("adopting the running daemon (pid {pid}); waiting for it to reconnect");
    let control = args.coordinator.socket_addr();
    let mut watched = Watched::Adopted(daemon.process);
    if let Err(err) = wait_until(control, &mut watched, |daemons| !daemons.is_empty()) {
        eprintln!("left the daemon (pid {pid}) running (it was running before)");
        return Err(err);
    }
    println!("adopted the running daemon (pid {pid}): it reconnected");
    Ok(DaemonStep::Adopted)
}
