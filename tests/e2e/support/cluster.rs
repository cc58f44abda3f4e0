//! Running clusters: a coordinator and daemons on random ports, ended on drop.
//!
//! [`Cluster`] is what `dora up` starts (one coordinator, one daemon), serving one dataflow
//! folder. [`Services`] starts the coordinator and each daemon as its own process, for tests
//! that kill, restart or read one of them.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::{dora, free_port, run_dora, wait_exit, wait_for_output, Dataflow, Output, Running};

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

    /// The arguments of `dora up` on these ports.
    pub fn up_args(&self) -> [&str; 7] {
        [
            "up",
            "--coordinator-port",
            &self.control,
            "--daemon-port",
            &self.daemon,
            "--local-listen-port",
            &self.local,
        ]
    }
}

/// A dataflow started with `dora start --detach`.
pub struct Started {
    pub uuid: String,
    pub name: String,
}

/// `dora up` on random ports, serving the dataflow folder of one YAML string. Dropping it
/// runs `dora destroy` (unless the test did) and kills whatever `dora up` started.
pub struct Cluster {
    pub ports: Ports,
    pub dataflow: Dataflow,
    /// The coordinator's and the daemon's pids, in that order.
    pub pids: Vec<i32>,
    /// `XDG_STATE_HOME` of `dora up`, where the processes it starts keep their log files.
    _state: tempfile::TempDir,
    destroyed: bool,
}

impl Cluster {
    /// Writes `yaml` as the dataflow (see [`Dataflow::new`]) and starts a coordinator and a
    /// daemon with `dora up`.
    pub fn up(yaml: &str) -> Self {
        let ports = Ports::new();
        let dataflow = Dataflow::new(yaml);
        let state = tempfile::tempdir().expect("creating a temp dir");
        let state_home = state.path().to_str().expect("a UTF-8 temp path");
        let output = Running::start_with_env(
            &ports.up_args(),
            dataflow.cwd(),
            &[("XDG_STATE_HOME", state_home)],
        )
        .finish();
        assert!(output.status.success(), "dora up failed: {output:?}");
        let pids = output
            .stdout
            .lines()
            .filter_map(|l| l.split("(pid ").nth(1))
            .map(|rest| {
                rest.split(')')
                    .next()
                    .and_then(|pid| pid.parse().ok())
                    .unwrap_or_else(|| panic!("no pid in `dora up` output: {output:?}"))
            })
            .collect();
        Self {
            ports,
            dataflow,
            pids,
            _state: state,
            destroyed: false,
        }
    }

    /// The dataflow's folder, where the commands run.
    pub fn cwd(&self) -> &Path {
        self.dataflow.cwd()
    }

    /// Runs `dora ARGS --coordinator-port PORT` in the dataflow's folder to completion.
    pub fn dora(&self, args: &[&str]) -> Output {
        self.dora_in(args, self.cwd())
    }

    /// [`Cluster::dora`] in another folder.
    pub fn dora_in(&self, args: &[&str], cwd: &Path) -> Output {
        run_dora(&self.ports.cli(args), cwd)
    }

    /// Starts `dora ARGS --coordinator-port PORT` in the dataflow's folder.
    pub fn running(&self, args: &[&str]) -> Running {
        Running::start(&self.ports.cli(args), self.cwd())
    }

    /// Runs `dora ARGS` until its stdout contains `needle`; returns that stdout.
    pub fn wait_for(&self, args: &[&str], needle: &str) -> String {
        wait_for_output(&self.ports.cli(args), self.cwd(), needle)
    }

    /// `dora start dataflow.yml --detach` (named `name` if given); returns its UUID and name.
    pub fn start_detached(&self, name: Option<&str>) -> Started {
        self.start_detached_in(name, self.cwd())
    }

    /// [`Cluster::start_detached`] of the `dataflow.yml` in another folder.
    pub fn start_detached_in(&self, name: Option<&str>, cwd: &Path) -> Started {
        let mut args = vec!["start", "dataflow.yml", "--detach"];
        if let Some(name) = name {
            args.extend(["--name", name]);
        }
        let started = self.dora_in(&args, cwd);
        assert!(started.status.success(), "{started:?}");
        let field = |prefix: &str| {
            started
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no `{prefix}` line: {started:?}"))
                .to_owned()
        };
        Started {
            uuid: field("dataflow started: "),
            name: field("name: "),
        }
    }

    /// The pid a node of `dataflow` printed in its log (`... pid=N`).
    pub fn node_pid(&self, dataflow: &str, node: &str) -> i32 {
        let logs = self.wait_for(&["logs", dataflow, node], "pid=");
        super::pid_in(
            logs.lines()
                .find(|l| l.contains("pid="))
                .expect("a pid line"),
        )
    }

    /// `dora destroy`; returns its output.
    pub fn destroy(&mut self) -> Output {
        self.destroyed = true;
        self.dora(&["destroy"])
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.destroyed {
            // Bounded and never panicking: this may run while a failed test unwinds.
            if let Ok(mut child) = Command::new(dora())
                .args(self.ports.cli(&["destroy"]))
                .current_dir(self.cwd())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
            {
                let deadline = Instant::now() + Duration::from_secs(20);
                while Instant::now() < deadline && !matches!(child.try_wait(), Ok(Some(_))) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        drop(super::KillOnDrop(std::mem::take(&mut self.pids)));
    }
}

/// A coordinator and daemons started as separate processes (`dora coordinator`,
/// `dora daemon`), killed on drop unless they exited.
pub struct Services {
    pub ports: Ports,
    pub coordinator: Child,
    pub daemons: Vec<Child>,
}

impl Services {
    /// A coordinator and one daemon per entry of `machines` (`None`: the default machine),
    /// each with its own local listen port; waits until every daemon registered.
    pub fn start(machines: &[Option<&str>], cwd: &Path) -> Self {
        let ports = Ports::new();
        let coordinator = spawn_quiet(&coordinator_args(&ports));
        let mut services = Self {
            ports,
            coordinator,
            daemons: Vec::new(),
        };
        for (i, machine) in machines.iter().enumerate() {
            let local = if i == 0 {
                services.ports.local.clone()
            } else {
                free_port().to_string()
            };
            let mut args = vec!["daemon"];
            if let Some(machine) = machine {
                args.extend(["--machine-id", machine]);
            }
            args.extend([
                "--coordinator-port",
                &services.ports.daemon,
                "--local-listen-port",
                &local,
            ]);
            services.daemons.push(spawn_quiet(&args));
        }
        services.wait_for_daemons(cwd);
        services
    }

    /// Waits until `dora check` counts every daemon as connected.
    pub fn wait_for_daemons(&self, cwd: &Path) {
        let connected = format!("daemon: {} connected", self.daemons.len());
        wait_for_output(&self.ports.cli(&["check"]), cwd, &connected);
    }

    /// Kills the coordinator (the daemons keep running).
    pub fn kill_coordinator(&mut self) {
        self.coordinator.kill().expect("killing the coordinator");
        self.coordinator.wait().expect("reaping the coordinator");
    }

    /// Starts a new coordinator on the same ports, after [`Services::kill_coordinator`].
    pub fn start_coordinator(&mut self) {
        self.coordinator = spawn_quiet(&coordinator_args(&self.ports));
    }

    /// Runs `dora ARGS --coordinator-port PORT` in `cwd` to completion.
    pub fn dora(&self, args: &[&str], cwd: &Path) -> Output {
        run_dora(&self.ports.cli(args), cwd)
    }

    /// `dora destroy`, then asserts that the coordinator and every daemon exit.
    pub fn destroy(&mut self, cwd: &Path) {
        self.dora(&["destroy"], cwd);
        assert!(
            wait_exit(&mut self.coordinator),
            "destroy ends the coordinator"
        );
        for daemon in &mut self.daemons {
            assert!(wait_exit(daemon), "destroy ends every daemon");
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.coordinator).chain(&mut self.daemons) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `dora coordinator` on `ports`.
pub fn coordinator_args(ports: &Ports) -> [&str; 5] {
    [
        "coordinator",
        "--port",
        &ports.daemon,
        "--control-port",
        &ports.control,
    ]
}

/// `dora daemon` of the default machine on `ports`.
pub fn daemon_args(ports: &Ports) -> [&str; 5] {
    [
        "daemon",
        "--coordinator-port",
        &ports.daemon,
        "--local-listen-port",
        &ports.local,
    ]
}

fn spawn_quiet(args: &[&str]) -> Child {
    Command::new(dora())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting dora")
}

/// A node that ticks every 20 ms for a long time: a dataflow that runs until stopped.
pub const TICKER: &str = r#"
nodes:
  - id: ticker
    path: TEST_NODE
    args: ticks 100000
    inputs:
      tick: dora/timer/millis/20
"#;
