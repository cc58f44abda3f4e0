//! Fixtures of the end-to-end tests: the real `dora` binary, temporary dataflow folders,
//! commands whose output lines can be awaited, and waits that always have a deadline.
//!
//! - [`cluster`]: a coordinator and daemon on random ports, ended on drop.
//! - [`helpers`]: the workspace's helper binaries (test nodes, test operator), built once per
//!   run.
//! - [`native`]: C and C++ builds (CMake, gcc), also once per run where they are shared.
//! - [`dds`]: DDS interop peers (Cyclone DDS, Fast DDS) and private network namespaces.

pub mod cluster;
pub mod dds;
pub mod helpers;
pub mod native;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, OnceLock},
    thread,
    time::{Duration, Instant},
};

pub use helpers::test_node;

/// Every wait in the tests gives up after this long.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The `dora` binary under test.
pub fn dora() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dora"))
}

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file of `tests/fixtures`.
pub fn fixture(path: &str) -> PathBuf {
    repo().join("tests/fixtures").join(path)
}

/// A temporary folder holding a dataflow file.
pub struct Dataflow {
    pub dir: tempfile::TempDir,
}

impl Dataflow {
    /// Writes `yaml` (with `TEST_NODE` replaced by the test node's path) to `dataflow.yml`.
    pub fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let path = dir.path().join("dataflow.yml");
        let yaml = if yaml.contains("TEST_NODE") {
            yaml.replace("TEST_NODE", &test_node().display().to_string())
        } else {
            yaml.to_owned()
        };
        std::fs::write(path, yaml).expect("writing the dataflow");
        Self { dir }
    }

    /// The dataflow's folder.
    pub fn cwd(&self) -> &Path {
        self.dir.path()
    }

    /// Writes another file `name` into the dataflow's folder.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.cwd().join(name), text)
            .unwrap_or_else(|err| panic!("writing {name}: {err}"));
    }

    /// The single `out/<uuid>` log folder of the last run.
    pub fn log_dir(&self) -> PathBuf {
        let out = self.cwd().join("out");
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

    /// Waits until the log of `node` in the dataflow's only run contains `needle`.
    pub fn wait_for_log(&self, node: &str, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let found = self.cwd().join("out").is_dir()
                && std::fs::read_to_string(self.log_dir().join(format!("log_{node}.txt")))
                    .is_ok_and(|log| log.contains(needle));
            if found {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the log of `{node}` never contained `{needle}`"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The output of a finished command.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Self {
        Self {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A running command whose output lines can be awaited.
pub struct Running {
    pub child: Child,
    stdout_lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: thread::JoinHandle<String>,
}

impl Running {
    /// Starts `dora ARGS` in `cwd`.
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
            .unwrap_or_else(|err| panic!("starting {command:?}: {err}"));
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

    /// The process id, for a [`KillOnDrop`].
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for a stdout line containing `needle` and returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        if let Some(line) = self.stdout.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        self.wait_for_new_line(needle)
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
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal)
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

/// Waits up to [`TIMEOUT`] for `child` to exit; returns whether it did.
pub fn wait_exit(child: &mut Child) -> bool {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Runs `dora ARGS` in `cwd` to completion.
pub fn run_dora(args: &[&str], cwd: &Path) -> Output {
    Running::start(args, cwd).finish()
}

/// Runs `dora ARGS` in `cwd` with extra environment variables, without a timeout: for builds,
/// whose first run compiles dependencies and may take minutes.
pub fn run_dora_untimed(args: &[&str], cwd: &Path, env: &[(&str, &Path)]) -> Output {
    Command::new(dora())
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .output()
        .expect("starting dora")
        .into()
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
        thread::sleep(Duration::from_millis(50));
    }
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

/// Kills the processes (by pid) when dropped: background processes a test started.
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

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lines of `stdout` printed by `node`, without the `[node] ` prefix.
pub fn node_lines<'a>(stdout: &'a str, node: &str) -> Vec<&'a str> {
    let prefix = format!("[{node}] ");
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .collect()
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
        let install = "`scripts/test` installs them";
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
            "the `dora` Python module of {} has another version than dora; reinstall it \
             ({install})",
            python.display()
        );
        python
    })
}
