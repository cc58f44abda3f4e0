//! Helpers for the end-to-end tests: the real `dora` binary, the test node, temporary
//! dataflow folders, and waits that always have a deadline.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, OnceLock},
    thread,
    time::{Duration, Instant},
};

/// Every wait in the tests gives up after this long.
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub fn dora() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dora"))
}

/// The folder of the built binaries (`target/debug`).
fn bin_dir() -> PathBuf {
    dora()
        .parent()
        .map(Path::to_owned)
        .expect("the dora binary lives in a folder")
}

/// Builds the test node once per test binary and returns its path.
pub fn test_node() -> &'static Path {
    static NODE: OnceLock<PathBuf> = OnceLock::new();
    NODE.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "dora-test-nodes"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo to build the test node");
        assert!(status.success(), "building the test node failed");
        let path = bin_dir().join("test-node");
        assert!(path.exists(), "{} was not built", path.display());
        path
    })
}

/// A temporary folder holding a dataflow file.
pub struct Dataflow {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Dataflow {
    /// Writes `yaml` (with `TEST_NODE` replaced by the test node's path) to `dataflow.yml`.
    pub fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let path = dir.path().join("dataflow.yml");
        let yaml = yaml.replace("TEST_NODE", &test_node().display().to_string());
        std::fs::write(&path, yaml).expect("writing the dataflow");
        Self { dir, path }
    }

    /// The single `out/<uuid>` log folder of the last run.
    pub fn log_dir(&self) -> PathBuf {
        let out = self.dir.path().join("out");
        let mut runs: Vec<PathBuf> = std::fs::read_dir(&out)
            .expect("the out folder exists")
            .map(|e| e.expect("reading out/").path())
            .collect();
        runs.sort();
        runs.pop().expect("one run folder")
    }

    pub fn log(&self, node: &str) -> String {
        std::fs::read_to_string(self.log_dir().join(format!("log_{node}.txt")))
            .expect("reading a node log")
    }
}

/// The output of a finished command.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A running `dora` command whose output lines can be awaited.
pub struct Running {
    pub child: Child,
    stdout_lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: thread::JoinHandle<String>,
}

impl Running {
    pub fn start(args: &[&str], cwd: &Path) -> Self {
        Self::start_with_env(args, cwd, &[])
    }

    /// [`Running::start`] with extra environment variables.
    pub fn start_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(
            Command::new(dora()).args(args).envs(env.iter().copied()),
            cwd,
        )
    }

    /// Runs any program (a node started by hand) with awaitable output lines.
    pub fn spawn(command: &mut Command, cwd: &Path) -> Self {
        let mut child = command
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting dora");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        Self {
            child,
            stdout_lines: rx,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// Waits for a stdout line containing `needle` and returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        if let Some(line) = self.stdout.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line containing `{needle}` within {TIMEOUT:?}; stdout so far:\n{}",
                        self.stdout.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for a stdout line containing `needle` among the lines not seen yet.
    pub fn wait_for_new_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no new line containing `{needle}` within {TIMEOUT:?}; stdout so far:\n{}",
                        self.stdout.join("\n")
                    );
                }
            }
        }
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), signal)
            .expect("signalling dora");
    }

    /// Waits for the command to exit (killing it after [`TIMEOUT`]).
    pub fn finish(mut self) -> Output {
        let status = wait_with_timeout(&mut self.child);
        let mut stdout = std::mem::take(&mut self.stdout);
        while let Ok(line) = self.stdout_lines.recv_timeout(Duration::from_secs(5)) {
            stdout.push(line);
        }
        let stderr = self.stderr.join().unwrap_or_default();
        Output {
            status,
            stdout: stdout.join("\n"),
            stderr,
        }
    }
}

fn wait_with_timeout(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for dora") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dora did not exit within {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `dora ARGS` in `cwd` to completion.
pub fn run_dora(args: &[&str], cwd: &Path) -> Output {
    Running::start(args, cwd).finish()
}

/// Names in `/dev/shm` that belong to dora.
pub fn dora_shm_files() -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains("dora"))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts that no process with `pid` exists anymore.
pub fn assert_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        // A zombie waiting to be reaped by init still has a /proc entry for a moment.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if state.contains(") Z") {
            return;
        }
        assert!(Instant::now() < deadline, "process {pid} is still running");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The pid in a line like `waiting pid=123`.
pub fn pid_in(line: &str) -> i32 {
    line.split("pid=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in `{line}`"))
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port")
}

/// Kills `pid` (and its process group) when dropped: background processes a test started.
pub struct KillOnDrop(pub Vec<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Builds binary `bin` of workspace package `package` once per test binary and returns its
/// path (next to the `dora` binary).
pub fn built_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if !built.iter().any(|p| p == package) {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", package])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap_or_else(|err| panic!("running cargo to build {package}: {err}"));
        assert!(status.success(), "building {package} failed");
        built.push(package.to_owned());
    }
    let path = bin_dir().join(bin);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Builds the interop peers (`ros2_ws/interop_peers`: Cyclone DDS and Fast DDS) once per test
/// binary and returns their folder. Needs Debian's cyclonedds-dev, cyclonedds-tools,
/// libfastrtps-dev and libfastcdr-dev.
pub fn interop_peers() -> &'static Path {
    static PEERS: OnceLock<PathBuf> = OnceLock::new();
    PEERS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = root.join("target/ros2-interop-peers");
        let status = Command::new("sh")
            .arg(root.join("ros2_ws/interop_peers/build.sh"))
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .expect("running the peer build (needs cyclonedds-dev, cyclonedds-tools, libfastrtps-dev, libfastcdr-dev, cc, c++)");
        assert!(status.success(), "building the DDS interop peers failed");
        out
    })
}

/// Runs `script` with `sh` in a fresh network namespace — loopback up with multicast and a
/// 224.0.0.0/4 route, nothing else — so that DDS discovery never leaves the test. `$DORA` is
/// set, plus `env`. Killed after 90 s. Returns whether it succeeded and its output.
pub fn in_private_network(script: &str, cwd: &Path, env: &[(&str, &Path)]) -> (bool, String) {
    let setup =
        "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo";
    let mut command = Command::new("timeout");
    command.args(["-s", "KILL", "90", "unshare"]);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // Without root, a user namespace grants the right to make a network namespace.
        command.arg("-r");
    }
    command
        .args(["-n", "sh", "-c", &format!("{setup} && {script}")])
        .current_dir(cwd)
        .env("DORA", dora());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("running unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Ports of one coordinator/daemon pair.
pub struct Ports {
    pub control: String,
    pub daemon: String,
    pub local: String,
}

impl Ports {
    pub fn new() -> Self {
        Self {
            control: free_port().to_string(),
            daemon: free_port().to_string(),
            local: free_port().to_string(),
        }
    }

    /// `args` followed by `--coordinator-port CONTROL`.
    pub fn cli<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        all.extend(["--coordinator-port", &self.control]);
        all
    }
}

/// `dora up` on random ports; returns the guard that kills what it started.
pub fn up(ports: &Ports, cwd: &std::path::Path) -> KillOnDrop {
    let output = run_dora(
        &[
            "up",
            "--coordinator-port",
            &ports.control,
            "--daemon-port",
            &ports.daemon,
            "--local-listen-port",
            &ports.local,
        ],
        cwd,
    );
    assert!(output.status.success(), "dora up failed: {output:?}");
    let pids = output
        .stdout
        .lines()
        .filter(|l| l.contains("(pid "))
        .map(|l| {
            l.split("(pid ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .and_then(|p| p.parse().ok())
                .expect("a pid")
        })
        .collect();
    KillOnDrop(pids)
}

/// The Python interpreter the daemon runs `.py` nodes and Python operators with (the
/// active virtual environment's, else `python3` or `python` on `PATH`), checked once to have
/// the `dora` module of this version, pyarrow and numpy. Panics with how to install them:
/// the Python tests never skip.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = std::env::var_os("VIRTUAL_ENV")
            .map(|venv| Path::new(&venv).join("bin/python"))
            .filter(|p| p.is_file())
            .or_else(|| {
                let path = std::env::var_os("PATH")?;
                ["python3", "python"].iter().find_map(|name| {
                    std::env::split_paths(&path)
                        .map(|dir| dir.join(name))
                        .find(|p| p.is_file())
                })
            })
            .expect("the Python tests need python3 on PATH");
        let output = Command::new(&python)
            .args([
                "-c",
                "import sys, numpy, pyarrow, dora; sys.stdout.write(dora.__version__)",
            ])
            .output()
            .unwrap_or_else(|err| panic!("running {}: {err}", python.display()));
        let install = "install them with `python3 -m pip install --user pyarrow numpy \
                       ./apis/python` (as .ci/run does)";
        assert!(
            output.status.success(),
            "the Python tests need the `dora` module (apis/python), pyarrow and numpy for {}; \
             {install}:\n{}",
            python.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let version = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(
            version,
            env!("CARGO_PKG_VERSION"),
            "the `dora` Python module of {} has another version than dora; reinstall it: {install}",
            python.display()
        );
        python
    })
}

/// Runs `dora ARGS` in `cwd` until its stdout contains `needle` (polling; fails the test after
/// [`TIMEOUT`]); returns that stdout.
pub fn wait_for_output(args: &[&str], cwd: &Path, needle: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let output = run_dora(args, cwd);
        if output.stdout.contains(needle) {
            return output.stdout;
        }
        assert!(
            Instant::now() < deadline,
            "`dora {}` never printed `{needle}`: {output:?}",
            args.join(" ")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
