//! Who may use a coordinator: local users other than its owner and root are refused on its
//! Unix socket, TCP needs its token (CLIs and daemons alike), nodes run as the user who
//! started the dataflow, and a coordinator out of file descriptors backs off instead of
//! spinning. Tests that switch users run `dora` as uid 65534 through `setpriv`.

use std::{
    io::Write,
    net::TcpStream,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output as StdOutput, Stdio},
    time::{Duration, Instant},
};

use dora_message::coordinator::{Handshake, HandshakeReply, Role};

use crate::support::{
    cluster::{Cluster, Ports, TICKER},
    dora, free_port, run_dora, wait_exit, wait_for_output, KillOnDrop, Output, TIMEOUT,
};

/// The unprivileged user the tests switch to.
const NOBODY: u32 = 65534;

/// A folder every user may read and enter (and, with `writable`, write), removed on drop.
fn shared_dir(writable: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("opening the temp dir");
    if writable {
        std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY))
            .expect("giving the temp dir to nobody");
    }
    dir
}

/// The `dora` binary as a path uid 65534 can execute: the built one when its folders are
/// open to everyone, else a copy in an open folder (kept in `keep`).
fn dora_for_nobody(keep: &mut Option<tempfile::TempDir>) -> PathBuf {
    let runs = Command::new("setpriv")
        .args(nobody_args())
        .arg(dora())
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if runs {
        return dora();
    }
    let dir = shared_dir(false);
    let copy = dir.path().join("dora");
    std::fs::copy(dora(), &copy).expect("copying dora where nobody can run it");
    *keep = Some(dir);
    copy
}

fn nobody_args() -> [String; 3] {
    [
        format!("--reuid={NOBODY}"),
        format!("--regid={NOBODY}"),
        "--clear-groups".into(),
    ]
}

/// `dora ARGS` as uid 65534 with `HOME=home`, in `cwd`.
fn as_nobody(dora: &Path, args: &[&str], cwd: &Path, home: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(nobody_args())
        .arg(dora)
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .stdin(Stdio::null());
    command
}

/// Runs `command` to completion, killing it after [`TIMEOUT`].
fn finish(command: &mut Command) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("starting {command:?}: {err}"));
    let pid = child.id() as i32;
    let guard = KillOnDrop(vec![pid]);
    let output: StdOutput = child.wait_with_output().expect("waiting for the command");
    drop(guard);
    output.into()
}

#[test]
fn other_local_users_are_refused_and_the_owners_dataflow_keeps_running() {
    let cluster = Cluster::up(TICKER);
    let started = cluster.start_detached(None);
    let mut copy = None;
    let dora = dora_for_nobody(&mut copy);
    let home = shared_dir(true);
    let cwd = shared_dir(false);
    std::fs::write(
        cwd.path().join("dataflow.yml"),
        std::fs::read_to_string(cluster.cwd().join("dataflow.yml")).expect("the dataflow"),
    )
    .expect("writing a dataflow nobody can read");
    std::fs::set_permissions(
        cwd.path().join("dataflow.yml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let port = cluster.ports.control.as_str();
    for args in [
        vec!["list"],
        vec!["stop", &started.uuid],
        vec!["destroy"],
        vec!["start", "dataflow.yml", "--detach"],
    ] {
        let mut full = args.clone();
        full.extend(["--coordinator-port", port]);
        let output = finish(&mut as_nobody(&dora, &full, cwd.path(), home.path()));
        assert!(!output.status.success(), "{args:?} as nobody: {output:?}");
        assert!(
            output.stderr.contains(&format!(
                "you run as uid {NOBODY}, and this dora coordinator runs as uid 0"
            )),
            "{args:?} as nobody: {output:?}"
        );
    }
    let list = cluster.dora(&["list"]);
    assert!(list.status.success(), "{list:?}");
    assert!(
        list.stdout
            .lines()
            .any(|l| l.contains(&started.uuid) && l.contains("Running")),
        "root's dataflow still runs: {list:?}"
    );
}

/// Sends a handshake with `token` to `port` and returns the answer.
fn handshake(port: &str, role: Role, token: Option<&str>) -> HandshakeReply {
    let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).expect("connecting");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("setting a timeout");
    let frame = dora_message::frame::encode(&Handshake {
        protocol_version: dora_message::PROTOCOL_VERSION.into(),
        role,
        token: token.map(str::to_owned),
    })
    .expect("encoding");
    stream.write_all(&frame).expect("writing");
    dora_message::frame::read(&mut stream)
        .expect("reading the answer")
        .expect("an answer")
}

fn refusal(reply: HandshakeReply) -> String {
    match reply {
        HandshakeReply::Refused(reason) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The token `dora up` made for the coordinator of `port`.
fn default_token(port: &str) -> String {
    let home = std::env::var("HOME").expect("HOME is set");
    std::fs::read_to_string(Path::new(&home).join(format!(".dora/coordinator-{port}.token")))
        .expect("the coordinator's default token file")
        .trim()
        .to_owned()
}

#[test]
fn tcp_ports_admit_only_peers_with_the_token() {
    let cluster = Cluster::up(TICKER);
    let ports = &cluster.ports;
    let token = default_token(&ports.control);
    assert_eq!(
        token,
        default_token(&ports.daemon),
        "one token for both ports"
    );
    let wrong = "ab".repeat(32);
    let daemon = || Role::Daemon {
        machine_id: "intruder".into(),
    };
    for (port, role) in [(&ports.control, Role::Cli), (&ports.daemon, daemon())] {
        let none = refusal(handshake(port, role.clone(), None));
        assert!(none.contains("none was presented"), "{none}");
        assert!(none.contains("--token-file"), "{none}");
        let bad = refusal(handshake(port, role.clone(), Some(&wrong)));
        assert!(bad.contains("not the coordinator's"), "{bad}");
        assert!(
            !bad.contains(&wrong) && !bad.contains(&token),
            "never echoed: {bad}"
        );
    }
    assert!(matches!(
        handshake(&ports.control, Role::Cli, Some(&token)),
        HandshakeReply::Accepted { .. }
    ));
    // The intruding daemon never joined.
    let check = cluster.dora(&["check"]);
    assert!(check.stdout.contains("daemon: 1 connected"), "{check:?}");
}

/// A private network namespace with one non-loopback address, held by a sleeping process:
/// `command` runs a program inside it.
struct PrivateNetwork {
    holder: std::process::Child,
}

const PRIVATE_ADDR: &str = "10.77.0.1";

impl PrivateNetwork {
    fn new() -> Self {
        let script = format!(
            "ip link set lo up && ip link add v0 type veth peer name v1 && ip addr add \
             {PRIVATE_ADDR}/24 dev v0 && ip link set v0 up && ip link set v1 up && echo ready && exec sleep 600"
        );
        let mut holder = Command::new("unshare")
            .args(["-n", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting unshare");
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("piped stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("reading from unshare");
        if line.trim() != "ready" {
            let _ = holder.kill();
            let _ = holder.wait();
            panic!("could not set up a private network (needs root, unshare and ip)");
        }
        Self { holder }
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("nsenter");
        command
            .args(["-t", &self.holder.id().to_string(), "-n"])
            .arg(program)
            .stdin(Stdio::null());
        command
    }
}

impl Drop for PrivateNetwork {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

#[test]
fn the_cli_over_tcp_needs_the_right_token_file() {
    let net = PrivateNetwork::new();
    let dir = tempfile::tempdir().expect("a temp dir");
    let token_file = dir.path().join("token");
    let ports = Ports::new();
    let mut coordinator = net
        .command(&dora())
        .args([
            "coordinator",
            "--interface",
            "0.0.0.0",
            "--port",
            &ports.daemon,
            "--control-interface",
            "0.0.0.0",
            "--control-port",
            &ports.control,
            "--token-file",
        ])
        .arg(&token_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the coordinator");
    let _kill = KillOnDrop(vec![coordinator.id() as i32]);
    let cli = |token: Option<&Path>| {
        let mut command = net.command(&dora());
        command.args([
            "list",
            "--coordinator-addr",
            PRIVATE_ADDR,
            "--coordinator-port",
            &ports.control,
        ]);
        if let Some(token) = token {
            command.arg("--token-file").arg(token);
        }
        command
            .env("HOME", dir.path())
            .env_remove("DORA_TOKEN_FILE");
        finish(&mut command)
    };
    // Ready once the right token works (the coordinator creates the file first).
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let output = cli(Some(&token_file));
        if output.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the coordinator never answered: {output:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mode = std::fs::metadata(&token_file)
        .expect("the token file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is private");

    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "cd".repeat(32)).expect("writing a wrong token");
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let output = cli(Some(&wrong));
    assert!(!output.status.success(), "{output:?}");
    assert!(
        output.stderr.contains("not the coordinator's"),
        "{output:?}"
    );

    let output = cli(None);
    assert!(!output.status.success(), "{output:?}");
    assert!(output.stderr.contains("--token-file"), "{output:?}");

    let _ = coordinator.kill();
    let _ = coordinator.wait();
}

#[test]
fn a_daemon_joins_only_with_the_token() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let token_file = dir.path().join("token");
    let ports = Ports::new();
    let spawn = |args: &[&str], token: &Path, stderr: Stdio| {
        Command::new(dora())
            .args(args)
            .arg("--token-file")
            .arg(token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("starting dora")
    };
    let mut coordinator = spawn(
        &[
            "coordinator",
            "--port",
            &ports.daemon,
            "--control-port",
            &ports.control,
        ],
        &token_file,
        Stdio::null(),
    );
    let _kill_coordinator = KillOnDrop(vec![coordinator.id() as i32]);
    wait_for_output(&ports.cli(&["check"]), dir.path(), "coordinator: running");

    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "ef".repeat(32)).expect("writing a wrong token");
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let log = dir.path().join("intruder.log");
    let intruder_args = [
        "daemon",
        "--machine-id",
        "intruder",
        "--coordinator-port",
        &ports.daemon,
        "--local-listen-port",
        &ports.local,
    ];
    let mut intruder = spawn(
        &intruder_args,
        &wrong,
        std::fs::File::create(&log).expect("a log file").into(),
    );
    let _kill_intruder = KillOnDrop(vec![intruder.id() as i32]);
    let deadline = Instant::now() + TIMEOUT;
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("not the coordinator's")) {
        assert!(Instant::now() < deadline, "the daemon was never refused");
        std::thread::sleep(Duration::from_millis(20));
    }
    let check = run_dora(&ports.cli(&["check"]), dir.path());
    assert!(check.stdout.contains("daemon: none connected"), "{check:?}");
    let _ = intruder.kill();
    let _ = intruder.wait();

    let local = free_port().to_string();
    let mut daemon = spawn(
        &[
            "daemon",
            "--coordinator-port",
            &ports.daemon,
            "--local-listen-port",
            &local,
        ],
        &token_file,
        Stdio::null(),
    );
    let _kill_daemon = KillOnDrop(vec![daemon.id() as i32]);
    wait_for_output(&ports.cli(&["check"]), dir.path(), "daemon: 1 connected");
    run_dora(&ports.cli(&["destroy"]), dir.path());
    assert!(wait_exit(&mut coordinator) && wait_exit(&mut daemon));
    assert!(token_file.exists(), "an explicit token file is kept");
}

const WHOAMI: &str = r#"
nodes:
  - id: whoami
    path: /usr/bin/id
    args: -u
"#;

#[test]
fn nodes_run_as_the_starter_and_a_daemon_of_another_user_refuses() {
    let mut copy = None;
    let dora_path = dora_for_nobody(&mut copy);
    let home = shared_dir(true);
    let work = shared_dir(true);
    let dataflow = work.path().join("dataflow.yml");
    std::fs::write(&dataflow, WHOAMI).expect("writing the dataflow");
    std::os::unix::fs::chown(&dataflow, Some(NOBODY), Some(NOBODY)).expect("chown");
    let ports = Ports::new();
    let quiet = |command: &mut Command| {
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting dora as nobody")
    };
    let mut coordinator = quiet(&mut as_nobody(
        &dora_path,
        &crate::support::cluster::coordinator_args(&ports),
        work.path(),
        home.path(),
    ));
    let mut daemon = quiet(&mut as_nobody(
        &dora_path,
        &crate::support::cluster::daemon_args(&ports),
        work.path(),
        home.path(),
    ));
    let _kill = KillOnDrop(vec![coordinator.id() as i32, daemon.id() as i32]);
    // Root may use (and trusts) every user's coordinator.
    wait_for_output(&ports.cli(&["check"]), work.path(), "daemon: 1 connected");

    let refused = run_dora(&ports.cli(&["start", "dataflow.yml"]), work.path());
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        refused.stderr.contains("started by uid 0")
            && refused.stderr.contains(&format!("runs as uid {NOBODY}"))
            && refused.stderr.contains("start a daemon as uid 0"),
        "{refused:?}"
    );

    let start = ports.cli(&["start", "dataflow.yml"]);
    let output = finish(&mut as_nobody(&dora_path, &start, work.path(), home.path()));
    assert!(output.status.success(), "{output:?}");
    assert!(
        output
            .stdout
            .lines()
            .any(|l| l == format!("[whoami] {NOBODY}")),
        "the node ran as its starter: {output:?}"
    );

    run_dora(&ports.cli(&["destroy"]), work.path());
    assert!(wait_exit(&mut coordinator) && wait_exit(&mut daemon));
    assert!(
        !dora_control::access::control_socket_path(ports.control.parse().expect("a port")).exists(),
        "the coordinator removed its socket"
    );
}

#[test]
fn a_coordinator_out_of_file_descriptors_backs_off_and_recovers() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let ports = Ports::new();
    let log = dir.path().join("coordinator.log");
    let mut coordinator = Command::new("prlimit")
        .arg("--nofile=64:64")
        .arg(dora())
        .args(crate::support::cluster::coordinator_args(&ports))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("a log file"))
        .spawn()
        .expect("starting the coordinator under prlimit");
    let _kill = KillOnDrop(vec![coordinator.id() as i32]);
    wait_for_output(&ports.cli(&["check"]), dir.path(), "coordinator: running");

    // More connections than the coordinator has descriptors; they send nothing.
    let flood: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(format!("127.0.0.1:{}", ports.control)).expect("connecting"))
        .collect();
    let warnings = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("accepting") && l.contains("failed"))
            .count()
    };
    let deadline = Instant::now() + TIMEOUT;
    while warnings() == 0 {
        assert!(
            Instant::now() < deadline,
            "the coordinator never ran out of descriptors"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Not a wait for readiness: the time during which a spinning loop would write
    // thousands of warnings, and a backing-off one writes at most one per 5 s.
    let busy_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < busy_until {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(flood);

    let deadline = Instant::now() + TIMEOUT;
    loop {
        let list = run_dora(&ports.cli(&["list"]), dir.path());
        if list.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the coordinator never recovered: {list:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let count = warnings();
    assert!(
        (1..=6).contains(&count),
        "{count} accept warnings:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let _ = coordinator.kill();
    let _ = coordinator.wait();
}
