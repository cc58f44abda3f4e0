//! Recovery from a crash of any one process: `dora up` after the coordinator was killed
//! (it adopts the daemon that still runs), a daemon killed by a signal (the next daemon
//! start cleans its run folder and its orphaned nodes), and `dora destroy` with a daemon
//! that does not leave (it is killed, with its nodes, and named).
//!
//! Each test gets its own `TMPDIR` (so run folders of other tests' daemons stay out of its
//! way) and `XDG_STATE_HOME` (where `dora up` puts the log files of what it starts).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use crate::support::{
    assert_gone, cluster::Ports, dora, pid_in, wait_for_output, Dataflow, KillOnDrop, Output,
    Running,
};

/// A node that never connects: a shell that starts a child in its process group (which
/// outlives the shell when only the shell is killed) and prints both pids.
const SLEEPER: &str = r#"
nodes:
  - id: sleeper
    path: sh
    args: -c 'sleep 300 & echo "child pid=$!"; echo "leader pid=$$"; wait'
"#;

/// A private `TMPDIR` and `XDG_STATE_HOME` for every `dora` command of a test.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        for sub in ["tmp", "state"] {
            std::fs::create_dir(dir.path().join(sub)).expect("creating a folder");
        }
        Self { dir }
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn env(&self) -> Vec<(String, PathBuf)> {
        vec![
            ("TMPDIR".into(), self.tmp()),
            ("XDG_STATE_HOME".into(), self.dir.path().join("state")),
        ]
    }

    /// Runs `dora ARGS` in `cwd` with the sandbox's environment.
    fn dora(&self, args: &[&str], cwd: &Path) -> Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().expect("a UTF-8 temp path")))
            .collect();
        Running::start_with_env(args, cwd, &env).finish()
    }

    /// The log file `dora up` gave a process (`coordinator-PORT.log`, `daemon-PORT.log`).
    fn log(&self, name: &str) -> String {
        let path = self.dir.path().join("state/dora/log").join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
    }

    /// The run folder of daemon `pid`.
    fn daemon_folder(&self, pid: i32) -> PathBuf {
        let root = std::fs::read_dir(self.tmp())
            .expect("listing TMPDIR")
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("dora-"))
            .expect("a run root in TMPDIR")
            .path();
        std::fs::read_dir(&root)
            .expect("listing the run root")
            .flatten()
            .find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("daemon-{pid}-"))
            })
            .unwrap_or_else(|| panic!("no run folder of daemon {pid} in {}", root.display()))
            .path()
    }
}

/// The pid in the `started ROLE (pid N)` line of `dora up`.
fn started_pid(up: &Output, role: &str) -> Option<i32> {
    let prefix = format!("started {role} (pid ");
    up.stdout.lines().find_map(|l| {
        l.strip_prefix(&prefix)?
            .split(')')
            .next()
            .and_then(|p| p.parse().ok())
    })
}

/// `dora up` on `ports`: must succeed.
fn up(sandbox: &Sandbox, ports: &Ports, cwd: &Path) -> Output {
    let output = sandbox.dora(&ports.up_args(), cwd);
    assert!(output.status.success(), "dora up failed: {output:?}");
    output
}

/// Starts the dataflow detached; returns its UUID and the pids of the sleeper's shell and
/// of the child in its process group.
fn start_sleeper(sandbox: &Sandbox, ports: &Ports, dataflow: &Dataflow) -> (String, i32, i32) {
    let started = sandbox.dora(
        &ports.cli(&["start", "dataflow.yml", "--detach"]),
        dataflow.cwd(),
    );
    assert!(started.status.success(), "{started:?}");
    let uuid = started
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("dataflow started: "))
        .unwrap_or_else(|| panic!("no UUID: {started:?}"))
        .to_owned();
    dataflow.wait_for_log("sleeper", "leader pid=");
    let log = dataflow.log("sleeper");
    let pid_of = |what: &str| pid_in(log.lines().find(|l| l.contains(what)).expect("a pid line"));
    (uuid, pid_of("leader pid="), pid_of("child pid="))
}

/// `dora up` in a sandbox with the sleeper dataflow running, and every process involved.
struct Scene {
    sandbox: Sandbox,
    ports: Ports,
    dataflow: Dataflow,
    coordinator: i32,
    daemon: i32,
    uuid: String,
    /// The sleeper's shell.
    leader: i32,
    /// The child in the sleeper's process group.
    child: i32,
    /// Kills them all if the test fails half-way.
    guard: KillOnDrop,
}

impl Scene {
    fn up() -> Self {
        let sandbox = Sandbox::new();
        let ports = Ports::new();
        let dataflow = Dataflow::new(SLEEPER);
        let first = up(&sandbox, &ports, dataflow.cwd());
        let coordinator = started_pid(&first, "coordinator").expect("a coordinator pid");
        let daemon = started_pid(&first, "daemon").expect("a daemon pid");
        let (uuid, leader, child) = start_sleeper(&sandbox, &ports, &dataflow);
        let guard = KillOnDrop(vec![coordinator, daemon, leader, child]);
        Self {
            sandbox,
            ports,
            dataflow,
            coordinator,
            daemon,
            uuid,
            leader,
            child,
            guard,
        }
    }
}

/// `dora destroy` succeeds and `pids` are gone afterwards.
fn destroy(sandbox: &Sandbox, ports: &Ports, cwd: &Path, pids: &[i32]) -> Output {
    let destroy = sandbox.dora(&ports.cli(&["destroy"]), cwd);
    assert!(destroy.status.success(), "{destroy:?}");
    for &pid in pids {
        assert_gone(pid);
    }
    destroy
}

fn sigkill(pid: i32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("killing a process");
}

#[test]
fn coordinator_sigkill_then_up_adopts_the_running_daemon() {
    let Scene {
        sandbox,
        ports,
        dataflow,
        coordinator,
        daemon,
        uuid,
        leader,
        child,
        mut guard,
    } = Scene::up();

    sigkill(coordinator);
    assert_gone(coordinator);

    let second = up(&sandbox, &ports, dataflow.cwd());
    assert!(
        second
            .stdout
            .contains(&format!("adopted the running daemon (pid {daemon})")),
        "{second:?}"
    );
    assert!(started_pid(&second, "daemon").is_none(), "{second:?}");
    let new_coordinator = started_pid(&second, "coordinator").expect("a coordinator pid");
    guard.0.push(new_coordinator);

    // The daemon re-registered with the dataflow it still runs.
    let list = sandbox.dora(&ports.cli(&["list"]), dataflow.cwd());
    assert!(
        list.stdout
            .lines()
            .any(|l| l.contains(&uuid) && l.contains("Running")),
        "{list:?}"
    );
    let stop = sandbox.dora(
        &ports.cli(&["stop", &uuid, "--grace-duration", "200ms"]),
        dataflow.cwd(),
    );
    assert!(stop.status.success(), "{stop:?}");
    assert_gone(leader);
    assert_gone(child);

    destroy(&sandbox, &ports, dataflow.cwd(), &[new_coordinator, daemon]);
}

#[test]
fn daemon_sigkill_is_cleaned_up_by_the_next_daemon_start() {
    let Scene {
        sandbox,
        ports,
        dataflow,
        coordinator,
        daemon,
        leader,
        child,
        mut guard,
        ..
    } = Scene::up();
    let folder = sandbox.daemon_folder(daemon);
    let socket_dir = std::fs::read_dir(&folder)
        .expect("listing the run folder")
        .flatten()
        .find(|e| e.path().join("daemon.sock").exists());
    assert!(
        socket_dir.is_some(),
        "the node socket lives in the run folder"
    );

    sigkill(daemon);
    assert_gone(daemon);
    // The shell dies with its daemon (parent-death signal); the child in its group lives on.
    assert_gone(leader);
    assert!(Path::new(&format!("/proc/{child}")).exists());
    assert!(folder.exists(), "a killed daemon cannot clean up");

    let second = up(&sandbox, &ports, dataflow.cwd());
    let new_daemon = started_pid(&second, "daemon").expect("up starts a daemon");
    guard.0.push(new_daemon);
    assert!(second.stdout.contains("coordinator already running"));
    assert!(
        !folder.exists(),
        "the next daemon removed {}",
        folder.display()
    );
    assert_gone(child);
    let log = sandbox.log(&format!("daemon-{}.log", ports.local));
    assert!(
        log.contains(&format!("process {daemon}, which is gone"))
            && log.contains("killed its orphaned node `sleeper`"),
        "{log}"
    );

    destroy(&sandbox, &ports, dataflow.cwd(), &[coordinator, new_daemon]);
}

#[test]
fn destroy_kills_a_daemon_that_does_not_leave_and_its_nodes() {
    let Scene {
        sandbox,
        ports,
        dataflow,
        coordinator,
        daemon,
        leader,
        child,
        guard: _guard,
        ..
    } = Scene::up();

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .expect("stopping the daemon");
    let destroy = destroy(
        &sandbox,
        &ports,
        dataflow.cwd(),
        &[daemon, leader, child, coordinator],
    );
    assert!(
        destroy.stdout.contains(&format!(
            "Killed the daemon of the default machine (pid {daemon}"
        )),
        "{destroy:?}"
    );
    assert!(
        destroy.stdout.contains(&format!(
            "Killed its node `sleeper` of dataflow {}",
            dataflow_id(&dataflow)
        )),
        "{destroy:?}"
    );
}

/// The UUID of the dataflow's only run (its `out/<uuid>` folder).
fn dataflow_id(dataflow: &Dataflow) -> String {
    dataflow
        .log_dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .expect("a run folder name")
}

#[test]
fn up_twice_starts_nothing_the_second_time() {
    let sandbox = Sandbox::new();
    let ports = Ports::new();
    let dataflow = Dataflow::new(SLEEPER);
    let first = up(&sandbox, &ports, dataflow.cwd());
    let _guard = KillOnDrop(
        ["coordinator", "daemon"]
            .iter()
            .filter_map(|role| started_pid(&first, role))
            .collect(),
    );
    let second = up(&sandbox, &ports, dataflow.cwd());
    assert!(second.stdout.contains("nothing to start"), "{second:?}");
    assert!(!second.stdout.contains("(pid "), "{second:?}");
    let destroy = sandbox.dora(&ports.cli(&["destroy"]), dataflow.cwd());
    assert!(destroy.status.success(), "{destroy:?}");
}

#[test]
fn up_whose_daemon_fails_leaves_a_coordinator_it_did_not_start() {
    let sandbox = Sandbox::new();
    let ports = Ports::new();
    let dataflow = Dataflow::new(SLEEPER);
    let mut coordinator = Command::new(dora())
        .args(crate::support::cluster::coordinator_args(&ports))
        .envs(sandbox.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting a coordinator");
    let _guard = KillOnDrop(vec![coordinator.id() as i32]);
    wait_for_output(
        &ports.cli(&["check"]),
        dataflow.cwd(),
        "coordinator: running",
    );
    // Something else holds the daemon's local listen port: the daemon cannot start.
    let _blocker = std::net::TcpListener::bind(("127.0.0.1", ports.local.parse().expect("a port")))
        .expect("holding the local listen port");

    let up = sandbox.dora(&ports.up_args(), dataflow.cwd());
    assert!(!up.status.success(), "{up:?}");
    assert!(up.stdout.contains("coordinator already running"), "{up:?}");
    assert!(
        up.stderr.contains("the daemon exited before it was ready")
            && up.stderr.contains("Address already in use"),
        "the error shows the end of the daemon's log: {up:?}"
    );
    assert!(
        up.stderr.contains("left the coordinator at")
            && up.stderr.contains("running (it was running before)"),
        "{up:?}"
    );
    assert!(
        coordinator
            .try_wait()
            .expect("watching the coordinator")
            .is_none(),
        "up must not end a coordinator it did not start"
    );
    let list = sandbox.dora(&ports.cli(&["list"]), dataflow.cwd());
    assert!(list.status.success(), "{list:?}");
    let _ = coordinator.kill();
    let _ = coordinator.wait();
}
