//! Run folders: what a daemon (or `dora run`) leaves on disk while it runs, so that whatever
//! it leaves behind when it dies is found and cleaned up.
//!
//! Every process that runs dataflows claims a folder `<role>-<pid>-<start>` in the per-user
//! run root ([`root`]: `$TMPDIR/dora-<uid>`, default `/tmp/dora-<uid>`, mode 0700). The name
//! is the owner's identity: its pid and its start time (field 22 of `/proc/<pid>/stat`, in
//! clock ticks since boot), so a pid reused by another process never passes for the owner,
//! and the folder is never seen without its owner (`mkdir` creates name and folder at once).
//! Inside it:
//!
//! - `info`: the daemon's settings (local listen port, coordinator address, machine id), so
//!   that `dora up` recognises a running daemon it may adopt (written atomically by rename);
//! - one folder per dataflow (`dora-XXXXXX`) holding the Unix socket nodes connect to;
//! - one record per running node process, `node-<pid>-<start>`, holding the dataflow and
//!   node ids; it is removed once the daemon reaped the node.
//!
//! [`claim`] first sweeps the root: every folder whose owner is dead (no process with its
//! pid, or one with another start time) is removed, after the process groups of its recorded
//! nodes that still run are killed (a node's leader dies with the daemon through its
//! parent-death signal; processes it started in its group would live on). Only folders of
//! the run root are touched, which only this user can write; a live owner's folder is never
//! touched. `dora destroy` uses [`end_daemon`] for a local daemon that did not exit when told.

use std::{
    fs, io,
    os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::OnceLock,
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{kill, killpg, Signal},
    unistd::Pid,
};

/// Why the run root or a run folder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RunFolderError {
    /// The run root exists but is not a private folder of this user.
    #[error(
        "{path} is not a private folder of this user ({reason}); remove it, or set TMPDIR to \
         another folder"
    )]
    UnsafeRoot {
        /// The run root.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file system operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// This process's identity could not be read from `/proc`.
    #[error("reading this process's start time from /proc/self/stat failed")]
    NoIdentity,
}

fn io_error<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> RunFolderError + 'a {
    move |source| RunFolderError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// A process as the kernel knows it: its pid and its start time, which together name it
/// even after the pid is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId {
    /// The process id.
    pub pid: i32,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat`, field 22).
    pub start: u64,
}

/// The fields of `/proc/<pid>/stat` this module needs.
struct Stat {
    /// Process group id.
    pgrp: i32,
    start: u64,
    zombie: bool,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything: split after it.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field n is fields[n - 3].
    Some(Stat {
        zombie: fields.first()? == &"Z",
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

impl ProcessId {
    /// The process `pid` as it is now, if it exists.
    pub fn of(pid: i32) -> Option<Self> {
        stat(pid).map(|s| Self {
            pid,
            start: s.start,
        })
    }

    /// This process.
    pub fn current() -> Result<Self, RunFolderError> {
        Self::of(std::process::id() as i32).ok_or(RunFolderError::NoIdentity)
    }

    /// Whether this very process still exists (and is not a zombie).
    pub fn is_alive(&self) -> bool {
        stat(self.pid).is_some_and(|s| s.start == self.start && !s.zombie)
    }

    fn name(&self, role: &str) -> String {
        format!("{role}-{}-{}", self.pid, self.start)
    }

    /// Parses `<prefix>-<pid>-<start>`.
    fn parse(name: &str, prefix: &str) -> Option<Self> {
        let rest = name.strip_prefix(prefix)?.strip_prefix('-')?;
        let (pid, start) = rest.split_once('-')?;
        Some(Self {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }
}

/// This process's effective user id.
fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Who owns a run folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `dora daemon`.
    Daemon,
    /// `dora run`.
    Run,
}

impl Role {
    fn prefix(self) -> &'static str {
        match self {
            Role::Daemon => "daemon",
            Role::Run => "run",
        }
    }

    const ALL: [Role; 2] = [Role::Daemon, Role::Run];
}

/// The per-user run root: `$TMPDIR/dora-<uid>` (`/tmp/dora-<uid>` by default), created
/// with mode 0700 if missing. Refused when it is not a folder owned by this user that
/// nobody else may write (another user could have made it first in a shared `/tmp`).
pub fn root() -> Result<PathBuf, RunFolderError> {
    let uid = euid();
    let path = std::env::temp_dir().join(format!("dora-{uid}"));
    match fs::DirBuilder::new().mode(0o700).create(&path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(io_error("creating the run root", &path)(err)),
    }
    let metadata =
        fs::symlink_metadata(&path).map_err(io_error("inspecting the run root", &path))?;
    let unsafe_root = |reason: String| RunFolderError::UnsafeRoot {
        path: path.clone(),
        reason,
    };
    if !metadata.is_dir() {
        return Err(unsafe_root("not a folder".into()));
    }
    if metadata.uid() != uid {
        return Err(unsafe_root(format!("owned by uid {}", metadata.uid())));
    }
    if metadata.permissions().mode() & 0o022 != 0 {
        return Err(unsafe_root(format!(
            "mode {:o}: others may write it",
            metadata.permissions().mode() & 0o777
        )));
    }
    Ok(path)
}

/// A daemon's settings, as `dora up` needs them to recognise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonInfo {
    /// The port dynamic nodes use to find it (`--local-listen-port`).
    pub local_listen_port: u16,
    /// Where it reaches the coordinator.
    pub coordinator_addr: std::net::SocketAddr,
    /// Its machine id (empty for the default machine).
    pub machine_id: String,
}

impl DaemonInfo {
    fn to_text(&self) -> String {
        format!(
            "local_listen_port={}\ncoordinator_addr={}\nmachine_id={}\n",
            self.local_listen_port, self.coordinator_addr, self.machine_id
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        };
        Some(Self {
            local_listen_port: field("local_listen_port")?.parse().ok()?,
            coordinator_addr: field("coordinator_addr")?.parse().ok()?,
            machine_id: field("machine_id")?.to_owned(),
        })
    }
}

/// This process's run folder, removed when dropped (a clean exit).
#[derive(Debug)]
pub struct RunFolder {
    path: PathBuf,
}

/// The run folder of this process, once claimed: where dataflow sockets and node records go.
static CURRENT: OnceLock<PathBuf> = OnceLock::new();

/// The folder [`claim`] made for this process, if any.
pub fn current() -> Option<&'static Path> {
    CURRENT.get().map(PathBuf::as_path)
}

/// Sweeps the run root (see [`sweep`]), then makes this process's run folder, with `info`
/// for a daemon. Sockets of dataflows started afterwards live in it, and node processes
/// are recorded in it.
pub fn claim(
    role: Role,
    info: Option<&DaemonInfo>,
) -> Result<(RunFolder, Vec<Swept>), RunFolderError> {
    let root = root()?;
    let swept = sweep(&root);
    let me = ProcessId::current()?;
    let path = root.join(me.name(role.prefix()));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&path)
        .map_err(io_error("creating the run folder", &path))?;
    let folder = RunFolder { path };
    if let Some(info) = info {
        let staging = folder.path.join(".info");
        fs::write(&staging, info.to_text())
            .map_err(io_error("writing the daemon's settings", &staging))?;
        let target = folder.path.join("info");
        fs::rename(&staging, &target)
            .map_err(io_error("writing the daemon's settings", &target))?;
    }
    let _ = CURRENT.set(folder.path.clone());
    Ok((folder, swept))
}

impl RunFolder {
    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if let Err(err) = fs::remove_dir_all(&self.path) {
            tracing::warn!("removing the run folder {}: {err}", self.path.display());
        }
    }
}

/// A running node process, recorded in the run folder until dropped (once reaped).
#[derive(Debug)]
pub struct NodeRecord {
    path: PathBuf,
}

/// Records node `node_id` of `dataflow_id`, running as process (and process group) `pid`,
/// in this process's run folder. `None` without a run folder, or when the record could not
/// be written (logged: the node runs, but a crash of this process would not find it).
pub fn record_node(pid: u32, dataflow_id: &str, node_id: &str) -> Option<NodeRecord> {
    let folder = current()?;
    let id = ProcessId::of(pid as i32)?;
    let path = folder.join(id.name("node"));
    match fs::write(&path, format!("{dataflow_id}\n{node_id}\n")) {
        Ok(()) => Some(NodeRecord { path }),
        Err(err) => {
            tracing::warn!("recording node `{node_id}` in {}: {err}", path.display());
            None
        }
    }
}

impl Drop for NodeRecord {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// A node process group that was killed because its daemon was gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KilledNode {
    /// The node's (group leader's) pid.
    pub pid: i32,
    /// The dataflow's id.
    pub dataflow_id: String,
    /// The node's id.
    pub node_id: String,
}

impl std::fmt::Display for KilledNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "node `{}` of dataflow {} (process group {})",
            self.node_id, self.dataflow_id, self.pid
        )
    }
}

/// What [`sweep`] removed: the folder of a dead process, and the node groups it killed.
#[derive(Debug, Clone)]
pub struct Swept {
    /// The removed folder.
    pub folder: PathBuf,
    /// Its owner (dead).
    pub owner: ProcessId,
    /// The orphaned node process groups that were still running and were killed.
    pub killed: Vec<KilledNode>,
}

impl std::fmt::Display for Swept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "removed {} of process {}, which is gone",
            self.folder.display(),
            self.owner.pid
        )?;
        for node in &self.killed {
            write!(f, "; killed its orphaned {node}")?;
        }
        Ok(())
    }
}

/// Removes the folders of dead owners in `root` (see the module doc), killing their
/// orphaned node process groups first. Folders of live owners, and names this module did
/// not make, are left alone; failures are logged and skipped.
pub fn sweep(root: &Path) -> Vec<Swept> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut swept = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = Role::ALL
            .iter()
            .find_map(|role| ProcessId::parse(&name, role.prefix()))
        else {
            continue;
        };
        if owner.is_alive() {
            continue;
        }
        let folder = entry.path();
        let killed = kill_recorded_nodes(&folder);
        match fs::remove_dir_all(&folder) {
            Ok(()) => swept.push(Swept {
                folder,
                owner,
                killed,
            }),
            // Another process swept it at the same moment.
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => tracing::warn!("removing the stale run folder {}: {err}", folder.display()),
        }
    }
    swept
}

/// Kills the process groups of the nodes recorded in `folder` that still run.
fn kill_recorded_nodes(folder: &Path) -> Vec<KilledNode> {
    let Ok(entries) = fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut killed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(leader) = ProcessId::parse(&name, "node") else {
            continue;
        };
        if !kill_node_group(leader) {
            continue;
        }
        let text = fs::read_to_string(entry.path()).unwrap_or_default();
        let mut lines = text.lines();
        killed.push(KilledNode {
            pid: leader.pid,
            dataflow_id: lines.next().unwrap_or("?").to_owned(),
            node_id: lines.next().unwrap_or("?").to_owned(),
        });
    }
    killed
}

/// Kills the process group that `leader` started, if it still has members; returns whether
/// it did.
///
/// Nodes run in their own process group, whose id is the leader's pid. The group is ours
/// when the leader itself still runs (same start time). When the leader is gone, its pid
/// cannot be given to a new process while the group still has members, so members of the
/// group that belong to this user and started after the leader are the node's children.
fn kill_node_group(leader: ProcessId) -> bool {
    let uid = euid();
    let ours = match stat(leader.pid) {
        Some(s) if s.start == leader.start => true,
        Some(_) => false,
        None => group_members(leader.pid)
            .into_iter()
            .any(|(pid, start)| start >= leader.start && owner_uid(pid) == Some(uid)),
    };
    ours && killpg(Pid::from_raw(leader.pid), Signal::SIGKILL).is_ok()
}

/// The processes of process group `pgid`, with their start times.
fn group_members(pgid: i32) -> Vec<(i32, u64)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let s = stat(pid)?;
            (s.pgrp == pgid && !s.zombie).then_some((pid, s.start))
        })
        .collect()
}

fn owner_uid(pid: i32) -> Option<u32> {
    fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid())
}

/// A live daemon of this user, as its run folder describes it.
#[derive(Debug, Clone)]
pub struct LiveDaemon {
    /// Its process.
    pub process: ProcessId,
    /// Its settings; `None` while it is still starting.
    pub info: Option<DaemonInfo>,
}

/// The daemons of this user that run now (on this machine, under this run root).
pub fn live_daemons() -> Result<Vec<LiveDaemon>, RunFolderError> {
    let root = root()?;
    let entries = fs::read_dir(&root).map_err(io_error("listing the run root", &root))?;
    Ok(entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let process = ProcessId::parse(&name, Role::Daemon.prefix())?;
            process.is_alive().then(|| LiveDaemon {
                process,
                info: fs::read_to_string(entry.path().join("info"))
                    .ok()
                    .and_then(|t| DaemonInfo::parse(&t)),
            })
        })
        .collect())
}

/// What [`end_daemon`] did.
#[derive(Debug, Clone)]
pub struct EndedDaemon {
    /// The daemon's pid.
    pub pid: i32,
    /// The signal that ended it (`SIGTERM`, or `SIGKILL` when it ignored that).
    pub signal: Signal,
    /// Its node process groups that were still running and were killed.
    pub killed: Vec<KilledNode>,
}

/// How long a daemon gets to exit after `SIGTERM` before `SIGKILL`.
pub const TERM_GRACE: Duration = Duration::from_secs(2);

/// Ends the local daemon `pid` of this user (found by its run folder, so that a pid of
/// something else is never signalled): `SIGTERM` (with `SIGCONT`, in case it is stopped),
/// then `SIGKILL` after [`TERM_GRACE`]; then kills the process groups of its recorded nodes
/// and removes its folder. `Ok(None)` when no live daemon of this user has that pid.
pub fn end_daemon(pid: i32) -> Result<Option<EndedDaemon>, RunFolderError> {
    let Some(daemon) = live_daemons()?.into_iter().find(|d| d.process.pid == pid) else {
        return Ok(None);
    };
    let target = Pid::from_raw(pid);
    let _ = kill(target, Signal::SIGTERM);
    let _ = kill(target, Signal::SIGCONT);
    let mut signal = Signal::SIGTERM;
    if !wait_gone(daemon.process, TERM_GRACE) {
        signal = Signal::SIGKILL;
        let _ = kill(target, Signal::SIGKILL);
        wait_gone(daemon.process, TERM_GRACE);
    }
    let folder = root()?.join(daemon.process.name(Role::Daemon.prefix()));
    let killed = kill_recorded_nodes(&folder);
    if let Err(err) = fs::remove_dir_all(&folder) {
        if err.kind() != io::ErrorKind::NotFound {
            tracing::warn!("removing the run folder {}: {err}", folder.display());
        }
    }
    Ok(Some(EndedDaemon {
        pid,
        signal,
        killed,
    }))
}

/// Waits until `process` is gone (or a zombie); returns whether it went within `timeout`.
fn wait_gone(process: ProcessId, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while process.is_alive() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let id = ProcessId {
            pid: 42,
            start: 1234,
        };
        assert_eq!(ProcessId::parse(&id.name("daemon"), "daemon"), Some(id));
        assert_eq!(ProcessId::parse("daemon-42", "daemon"), None);
        assert_eq!(ProcessId::parse("run-42-1", "daemon"), None);
        assert_eq!(ProcessId::parse("dora-abc", "node"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = ProcessId::current().expect("reading /proc/self");
        assert!(me.is_alive());
        let other = ProcessId {
            start: me.start + 1,
            ..me
        };
        assert!(!other.is_alive());
    }

    #[test]
    fn daemon_info_round_trips() {
        let info = DaemonInfo {
            local_listen_port: 53291,
            coordinator_addr: "127.0.0.1:53290".parse().expect("an address"),
            machine_id: "m1".into(),
        };
        assert_eq!(DaemonInfo::parse(&info.to_text()), Some(info));
        assert_eq!(DaemonInfo::parse("local_listen_port=x\n"), None);
    }

    #[test]
    fn sweep_removes_dead_owners_and_keeps_live_ones() {
        let root = tempfile::tempdir().expect("a temp dir");
        let me = ProcessId::current().expect("reading /proc/self");
        let dead = ProcessId {
            start: me.start + 1,
            ..me
        };
        let live_folder = root.path().join(me.name("daemon"));
        let dead_folder = root.path().join(dead.name("daemon"));
        let foreign = root.path().join("something-else");
        for folder in [&live_folder, &dead_folder, &foreign] {
            fs::create_dir(folder).expect("creating a folder");
        }
        fs::write(dead_folder.join("daemon.sock"), "").expect("writing a file");
        let swept = sweep(root.path());
        assert_eq!(swept.len(), 1, "{swept:?}");
        assert_eq!(swept[0].folder, dead_folder);
        assert!(!dead_folder.exists());
        assert!(live_folder.exists());
        assert!(foreign.exists());
    }

    #[test]
    fn a_node_group_is_killed_only_when_it_is_the_recorded_one() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .expect("starting sleep");
        let id = ProcessId::of(child.id() as i32).expect("sleep runs");
        let impostor = ProcessId {
            start: id.start + 1,
            ..id
        };
        assert!(!kill_node_group(impostor));
        assert!(kill_node_group(id));
        let status = child.wait().expect("waiting for sleep");
        assert!(!status.success());
    }
}
