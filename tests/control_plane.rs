//! Coordinator, daemon and the lifecycle commands, driven through the real binary on random
//! ports.

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{
    assert_gone, free_port, pid_in, run_dora, up, wait_for_output, Dataflow, KillOnDrop, Ports,
    Running, TIMEOUT,
};

const TICKER: &str = r#"
nodes:
  - id: ticker
    path: TEST_NODE
    args: ticks 100000
    inputs:
      tick: dora/timer/millis/20
"#;

#[test]
fn up_start_list_logs_stop_destroy() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(TICKER);
    let cwd = dataflow.dir.path();
    let guard = up(&ports, cwd);
    assert_eq!(guard.0.len(), 2, "up starts a coordinator and a daemon");

    // A second `up` starts nothing.
    let again = run_dora(
        &[
            "up",
            "--coordinator-port",
            &ports.control,
            "--daemon-port",
            &ports.daemon,
        ],
        cwd,
    );
    assert!(
        again.status.success() && !again.stdout.contains("(pid "),
        "{again:?}"
    );

    let started = run_dora(
        &ports.cli(&["start", "dataflow.yml", "--detach", "--name", "clock"]),
        cwd,
    );
    assert!(started.status.success(), "{started:?}");
    let id = started
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("dataflow started: "))
        .expect("the UUID is printed")
        .to_owned();
    assert_eq!(
        uuid::Uuid::parse_str(&id).map(|u| u.get_version_num()),
        Ok(7)
    );
    assert!(started.stdout.contains("name: clock"));

    let list = run_dora(&ports.cli(&["list"]), cwd);
    assert!(
        list.stdout.contains(&id) && list.stdout.contains("Running"),
        "{list:?}"
    );

    wait_for_output(
        &ports.cli(&["logs", "clock", "ticker"]),
        cwd,
        "tick 3 on tick",
    );

    let unknown = run_dora(&ports.cli(&["logs", "clock", "nobody"]), cwd);
    assert!(!unknown.status.success());
    assert!(
        unknown.stderr.contains("ticker"),
        "valid nodes listed: {unknown:?}"
    );

    let stop = run_dora(
        &ports.cli(&["stop", "--name", "clock", "--grace-duration", "2s"]),
        cwd,
    );
    assert!(stop.status.success(), "{stop:?}");
    assert!(stop.stdout.contains("stopped"), "{stop:?}");

    let list = run_dora(&ports.cli(&["list"]), cwd);
    assert!(list.stdout.contains("Succeeded"), "{list:?}");
    // Logs stay readable after the end.
    let logs = run_dora(&ports.cli(&["logs", &id, "ticker"]), cwd);
    assert!(logs.stdout.contains("[ticker] tick 1 on tick"), "{logs:?}");

    let destroy = run_dora(&ports.cli(&["destroy"]), cwd);
    assert!(destroy.status.success(), "{destroy:?}");
    for &pid in &guard.0 {
        assert_gone(pid);
    }
    let after = run_dora(&ports.cli(&["destroy"]), cwd);
    assert!(after.stdout.contains("Nothing to destroy"), "{after:?}");
    let check = run_dora(&ports.cli(&["check"]), cwd);
    assert!(!check.status.success(), "{check:?}");
}

#[test]
fn attached_start_of_a_failing_dataflow_fails_with_the_stderr_tail() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: broken
    path: TEST_NODE
    args: fail 3
"#,
    );
    let cwd = dataflow.dir.path();
    let _guard = up(&ports, cwd);
    let output = run_dora(&ports.cli(&["start", "dataflow.yml"]), cwd);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        output.stderr.contains("node `broken` exited with code 3"),
        "{output:?}"
    );
    assert!(
        output.stderr.contains("failing on purpose with code 3"),
        "{output:?}"
    );
    let list = run_dora(&ports.cli(&["list"]), cwd);
    assert!(list.stdout.contains("Failed"), "{list:?}");
    run_dora(&ports.cli(&["destroy"]), cwd);
}

#[test]
fn stop_kills_a_node_that_ignores_stop_after_the_grace_duration() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: stubborn
    path: TEST_NODE
    args: ignore-stop
  - id: polite
    path: TEST_NODE
    args: wait-stop
"#,
    );
    let cwd = dataflow.dir.path();
    let _guard = up(&ports, cwd);
    let started = run_dora(&ports.cli(&["start", "dataflow.yml", "--detach"]), cwd);
    assert!(started.status.success(), "{started:?}");
    let line = wait_for_output(&ports.cli(&["logs", "stubborn"]), cwd, "ignoring pid=");
    let stubborn = pid_in(
        line.lines()
            .find(|l| l.contains("ignoring pid="))
            .expect("line"),
    );
    let stop = run_dora(&ports.cli(&["stop", "--grace-duration", "500ms"]), cwd);
    assert!(stop.status.success(), "{stop:?}");
    assert!(
        stop.stdout.contains("node `stubborn` was killed"),
        "the kill is reported: {stop:?}"
    );
    assert!(!stop.stdout.contains("node `polite`"), "{stop:?}");
    assert_gone(stubborn);
    run_dora(&ports.cli(&["destroy"]), cwd);
}

fn spawn_dora(args: &[&str]) -> Child {
    Command::new(common::dora())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting dora")
}

#[test]
fn daemon_reconnects_to_a_restarted_coordinator() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: counter
    path: TEST_NODE
    args: ticks 3
    inputs:
      tick: dora/timer/millis/10
"#,
    );
    // `quiet` prints once when it starts, before the restart: the new coordinator can only
    // know it from the daemon's registration.
    let survivor = Dataflow::new(&format!(
        "{TICKER}
  - id: quiet
    path: TEST_NODE
    args: wait-stop
"
    ));
    let cwd = dataflow.dir.path();
    let coordinator_args = [
        "coordinator",
        "--port",
        &ports.daemon,
        "--control-port",
        &ports.control,
    ];
    let mut coordinator = spawn_dora(&coordinator_args);
    let mut daemon = spawn_dora(&[
        "daemon",
        "--coordinator-port",
        &ports.daemon,
        "--local-listen-port",
        &ports.local,
    ]);
    let mut guard = KillOnDrop(vec![coordinator.id() as i32, daemon.id() as i32]);
    wait_for_output(&ports.cli(&["check"]), cwd, "daemon: 1 connected");
    // A dataflow that runs across the restart.
    let started = run_dora(
        &ports.cli(&["start", "dataflow.yml", "--detach", "--name", "survivor"]),
        survivor.dir.path(),
    );
    assert!(started.status.success(), "{started:?}");

    coordinator.kill().expect("killing the coordinator");
    coordinator.wait().expect("reaping the coordinator");
    let check = run_dora(&ports.cli(&["check"]), cwd);
    assert!(!check.status.success(), "{check:?}");

    let mut coordinator = spawn_dora(&coordinator_args);
    guard.0.push(coordinator.id() as i32);
    wait_for_output(&ports.cli(&["check"]), cwd, "daemon: 1 connected");
    // The new coordinator learned the running dataflow from the daemon, and its nodes.
    let list = run_dora(&ports.cli(&["list"]), cwd);
    assert!(
        list.stdout.contains("survivor") && list.stdout.contains("Running"),
        "{list:?}"
    );
    let unknown = run_dora(&ports.cli(&["logs", "survivor", "nobody"]), cwd);
    assert!(
        unknown
            .stderr
            .contains("has no node `nobody`; its nodes: ticker, quiet"),
        "{unknown:?}"
    );
    let stop = run_dora(&ports.cli(&["stop", "survivor"]), cwd);
    assert!(
        stop.status.success() && stop.stdout.contains("stopped"),
        "{stop:?}"
    );

    let output = run_dora(&ports.cli(&["start", "dataflow.yml"]), cwd);
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.contains("[counter] tick 3 on tick"),
        "{output:?}"
    );

    run_dora(&ports.cli(&["destroy"]), cwd);
    assert!(wait_exit(&mut daemon), "the daemon exits on destroy");
    assert!(
        wait_exit(&mut coordinator),
        "the coordinator exits on destroy"
    );
}

fn wait_exit(child: &mut Child) -> bool {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Freezes a process (SIGSTOP) until dropped, then lets it continue (SIGCONT): a failing
/// test leaves no stopped process behind.
struct Frozen(nix::unistd::Pid);

impl Frozen {
    fn new(pid: i32) -> Self {
        let pid = nix::unistd::Pid::from_raw(pid);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("freezing");
        Self(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(self.0, nix::sys::signal::Signal::SIGCONT);
    }
}

/// The pid a node printed in its log (`... pid=N`).
fn node_pid(ports: &Ports, cwd: &std::path::Path, dataflow: &str, node: &str) -> i32 {
    let logs = wait_for_output(&ports.cli(&["logs", dataflow, node]), cwd, "pid=");
    pid_in(
        logs.lines()
            .find(|l| l.contains("pid="))
            .expect("a pid line"),
    )
}

#[test]
fn lost_daemon_fails_its_dataflows_with_a_message() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: stubborn
    path: TEST_NODE
    args: ignore-stop
  - id: polite
    path: TEST_NODE
    args: wait-stop
"#,
    );
    let cwd = dataflow.dir.path();
    let guard = up(&ports, cwd);
    let started = run_dora(
        &ports.cli(&["start", "dataflow.yml", "--detach", "--name", "doomed"]),
        cwd,
    );
    assert!(started.status.success(), "{started:?}");
    let nodes = KillOnDrop(vec![
        node_pid(&ports, cwd, "doomed", "stubborn"),
        node_pid(&ports, cwd, "doomed", "polite"),
    ]);
    // The daemon is the second process `up` started; freeze it so it stops heartbeating.
    let frozen = Frozen::new(guard.0[1]);
    wait_for_output(&ports.cli(&["list"]), cwd, "Failed");
    let stop = run_dora(&ports.cli(&["stop"]), cwd);
    assert!(!stop.status.success(), "no dataflow runs anymore: {stop:?}");

    // Stopping it by name stops nothing: it says how the dataflow ended, and why.
    let stop = run_dora(&ports.cli(&["stop", "doomed"]), cwd);
    assert!(!stop.status.success(), "{stop:?}");
    assert!(!stop.stdout.contains("stopped"), "{stop:?}");
    assert!(
        stop.stderr
            .contains("had already finished (Failed); nothing was stopped"),
        "{stop:?}"
    );
    assert!(
        stop.stderr
            .contains("the default daemon was lost (no heartbeat for 5s)"),
        "the lost machine is named: {stop:?}"
    );
    assert!(!stop.stderr.contains("``"), "{stop:?}");

    // The daemon comes back: the nodes it was declared lost with must not run on.
    drop(frozen);
    for &pid in &nodes.0 {
        assert_gone(pid);
    }
    wait_for_output(&ports.cli(&["check"]), cwd, "daemon: 1 connected");
    let list = run_dora(&ports.cli(&["list"]), cwd);
    assert!(list.stdout.contains("Failed"), "{list:?}");

    let destroy = run_dora(&ports.cli(&["destroy"]), cwd);
    assert!(destroy.status.success(), "{destroy:?}");
    for &pid in &guard.0 {
        assert_gone(pid);
    }
}

#[test]
fn invalid_dataflow_is_refused_before_anything_is_sent() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: a
    path: TEST_NODE
    inputs:
      x: nowhere/out
"#,
    );
    let cwd = dataflow.dir.path();
    let _guard = up(&ports, cwd);
    let output = run_dora(&ports.cli(&["start", "dataflow.yml"]), cwd);
    assert!(!output.status.success());
    assert!(output.stderr.contains("dataflow.yml:6:"), "{output:?}");
    let list = run_dora(&ports.cli(&["list"]), cwd);
    assert!(list.stdout.contains("No dataflows"), "{list:?}");
    run_dora(&ports.cli(&["destroy"]), cwd);
}

#[test]
fn a_machine_without_daemon_is_named() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: far
    _unstable_deploy:
      machine: mars
    path: TEST_NODE
    args: ticks 1
    inputs:
      tick: dora/timer/millis/10
"#,
    );
    let cwd = dataflow.dir.path();
    let _guard = up(&ports, cwd);
    let output = run_dora(&ports.cli(&["start", "dataflow.yml"]), cwd);
    assert!(!output.status.success());
    assert!(output.stderr.contains("machine `mars`"), "{output:?}");
    run_dora(&ports.cli(&["destroy"]), cwd);
}

/// Sends `bytes` to `port` and waits until the other side closes the connection.
fn send_garbage(port: &str, bytes: &[u8]) {
    let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).expect("connecting");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("setting a timeout");
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}

#[test]
fn garbage_on_every_port_is_dropped_and_nothing_else_is_affected() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(TICKER);
    let cwd = dataflow.dir.path();
    let _guard = up(&ports, cwd);
    let started = run_dora(&ports.cli(&["start", "dataflow.yml", "--detach"]), cwd);
    assert!(started.status.success(), "{started:?}");

    let oversized = u64::MAX.to_le_bytes();
    let truncated = [16u8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3];
    let wrong_version = {
        let handshake = dora_message::coordinator::Handshake {
            protocol_version: "dora-protocol/0.0.0".into(),
            role: dora_message::coordinator::Role::Cli,
        };
        dora_message::frame::encode(&handshake).expect("encoding")
    };
    for port in [&ports.control, &ports.daemon, &ports.local] {
        send_garbage(port, b"GET / HTTP/1.1\r\n\r\n");
        send_garbage(port, &oversized);
        send_garbage(port, &truncated);
        send_garbage(port, &[0xff; 4096]);
    }
    // A wrong version is refused with both versions named.
    let mut stream =
        TcpStream::connect(format!("127.0.0.1:{}", ports.control)).expect("connecting");
    stream.write_all(&wrong_version).expect("writing");
    let reply: Option<dora_message::coordinator::HandshakeReply> =
        dora_message::frame::read(&mut stream).expect("a reply");
    match reply {
        Some(dora_message::coordinator::HandshakeReply::Refused(reason)) => {
            assert!(reason.contains("dora-protocol/0.0.0"), "{reason}");
            assert!(reason.contains(dora_message::PROTOCOL_VERSION), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Everything still works.
    let check = run_dora(&ports.cli(&["check"]), cwd);
    assert!(check.status.success(), "{check:?}");
    let list = run_dora(&ports.cli(&["list"]), cwd);
    assert!(
        list.stdout.contains("Running"),
        "the dataflow survived: {list:?}"
    );
    let stop = run_dora(&ports.cli(&["stop"]), cwd);
    assert!(stop.status.success(), "{stop:?}");
    run_dora(&ports.cli(&["destroy"]), cwd);
}

#[test]
fn a_truncated_frame_is_logged_as_one() {
    let ports = Ports::new();
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let cwd = dir.path();
    let mut coordinator = Running::start(
        &[
            "coordinator",
            "--port",
            &ports.daemon,
            "--control-port",
            &ports.control,
        ],
        cwd,
    );
    let mut daemon = Running::start(
        &[
            "daemon",
            "--coordinator-port",
            &ports.daemon,
            "--local-listen-port",
            &ports.local,
        ],
        cwd,
    );
    let _guard = KillOnDrop(vec![
        coordinator.child.id() as i32,
        daemon.child.id() as i32,
    ]);
    wait_for_output(&ports.cli(&["check"]), cwd, "daemon: 1 connected");

    // A length prefix announcing 16 bytes, then 3; and half a length prefix.
    let short_body = [16u8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3];
    let short_prefix = [16u8, 0, 0];
    for port in [&ports.control, &ports.daemon, &ports.local] {
        send_garbage(port, &short_body);
        send_garbage(port, &short_prefix);
    }
    let check = run_dora(&ports.cli(&["check"]), cwd);
    assert!(check.status.success(), "{check:?}");
    run_dora(&ports.cli(&["destroy"]), cwd);
    assert!(wait_exit(&mut coordinator.child), "the coordinator exits");
    assert!(wait_exit(&mut daemon.child), "the daemon exits");

    for (who, output) in [
        ("coordinator", coordinator.finish()),
        ("daemon", daemon.finish()),
    ] {
        let reasons: Vec<&str> = output
            .stderr
            .lines()
            .filter(|l| l.contains("dropped connection from"))
            .collect();
        let expected = if who == "coordinator" { 4 } else { 2 };
        assert_eq!(reasons.len(), expected, "{who}: {output:?}");
        for reason in &reasons {
            assert!(
                reason.contains("the peer closed the connection in the middle of a frame"),
                "{who}: {reason}"
            );
        }
        assert!(
            output.stderr.contains("after 3 bytes of the 16-byte body"),
            "{who}: {output:?}"
        );
        assert!(
            output
                .stderr
                .contains("after 3 bytes of the 8-byte length prefix"),
            "{who}: {output:?}"
        );
    }
}

#[test]
fn start_attached_streams_output_and_first_ctrl_c_stops() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: polite
    path: TEST_NODE
    args: wait-stop
"#,
    );
    let cwd = dataflow.dir.path();
    let _guard = up(&ports, cwd);
    let mut run = Running::start(&ports.cli(&["start", "dataflow.yml"]), cwd);
    run.wait_for_line("[polite] waiting pid=");
    run.signal(nix::sys::signal::Signal::SIGINT);
    let output = run.finish();
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.contains("[polite] stopping"), "{output:?}");
    // Notices name the machine they come from, the default one in words.
    assert!(
        output
            .stderr
            .contains("dora: [default machine] stopping the dataflow"),
        "{output:?}"
    );
    run_dora(&ports.cli(&["destroy"]), cwd);
}

#[test]
fn one_dataflow_across_two_daemons_moves_small_and_large_messages() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: sender
    _unstable_deploy:
      machine: A
    path: TEST_NODE
    args: send 8,1048576 3
    outputs: [data]
  - id: receiver
    deploy:
      machine: B
    path: TEST_NODE
    args: receive 6
    inputs:
      data: { source: sender/data, queue_size: 100 }
"#,
    );
    let cwd = dataflow.dir.path();
    let mut coordinator = spawn_dora(&[
        "coordinator",
        "--port",
        &ports.daemon,
        "--control-port",
        &ports.control,
    ]);
    let local_a = free_port().to_string();
    let local_b = free_port().to_string();
    let mut daemon_a = spawn_dora(&[
        "daemon",
        "--machine-id",
        "A",
        "--coordinator-port",
        &ports.daemon,
        "--local-listen-port",
        &local_a,
    ]);
    let mut daemon_b = spawn_dora(&[
        "daemon",
        "--machine-id",
        "B",
        "--coordinator-port",
        &ports.daemon,
        "--local-listen-port",
        &local_b,
    ]);
    let _guard = KillOnDrop(vec![
        coordinator.id() as i32,
        daemon_a.id() as i32,
        daemon_b.id() as i32,
    ]);
    wait_for_output(&ports.cli(&["check"]), cwd, "daemon: 2 connected");
    let output = run_dora(&ports.cli(&["start", "dataflow.yml"]), cwd);
    assert!(output.status.success(), "{output:?}");
    let received: Vec<&str> = output
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[receiver] ok "))
        .collect();
    assert_eq!(
        received,
        [
            "seq=0 size=8",
            "seq=1 size=8",
            "seq=2 size=8",
            "seq=3 size=1048576",
            "seq=4 size=1048576",
            "seq=5 size=1048576"
        ],
        "{output:?}"
    );
    assert!(
        output.stdout.contains("[receiver] closed data"),
        "{output:?}"
    );
    run_dora(&ports.cli(&["destroy"]), cwd);
    for child in [&mut coordinator, &mut daemon_a, &mut daemon_b] {
        assert!(wait_exit(child), "destroy ends every process");
    }
}

#[test]
fn a_dataflow_across_two_daemons_survives_a_coordinator_restart() {
    let ports = Ports::new();
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: left
    _unstable_deploy:
      machine: A
    path: TEST_NODE
    args: wait-stop
  - id: right
    _unstable_deploy:
      machine: B
    path: TEST_NODE
    args: wait-stop
"#,
    );
    let cwd = dataflow.dir.path();
    let coordinator_args = [
        "coordinator",
        "--port",
        &ports.daemon,
        "--control-port",
        &ports.control,
    ];
    let mut coordinator = spawn_dora(&coordinator_args);
    let mut guard = KillOnDrop(vec![coordinator.id() as i32]);
    let mut daemons = Vec::new();
    for machine in ["A", "B"] {
        let local = free_port().to_string();
        let daemon = spawn_dora(&[
            "daemon",
            "--machine-id",
            machine,
            "--coordinator-port",
            &ports.daemon,
            "--local-listen-port",
            &local,
        ]);
        guard.0.push(daemon.id() as i32);
        daemons.push(daemon);
    }
    wait_for_output(&ports.cli(&["check"]), cwd, "daemon: 2 connected");
    let started = run_dora(
        &ports.cli(&["start", "dataflow.yml", "--detach", "--name", "pair"]),
        cwd,
    );
    assert!(started.status.success(), "{started:?}");
    let pids = [
        node_pid(&ports, cwd, "pair", "left"),
        node_pid(&ports, cwd, "pair", "right"),
    ];
    guard.0.extend(pids);

    coordinator.kill().expect("killing the coordinator");
    coordinator.wait().expect("reaping the coordinator");
    let mut coordinator = spawn_dora(&coordinator_args);
    guard.0.push(coordinator.id() as i32);
    wait_for_output(&ports.cli(&["check"]), cwd, "daemon: 2 connected");

    // Both parts belong to the dataflow again: a stop asks both nodes, kills neither.
    let stop = run_dora(&ports.cli(&["stop", "pair"]), cwd);
    assert!(stop.status.success(), "{stop:?}");
    assert!(!stop.stdout.contains("killed"), "{stop:?}");
    for node in ["left", "right"] {
        let logs = run_dora(&ports.cli(&["logs", "pair", node]), cwd);
        assert!(
            logs.stdout.contains(&format!("[{node}] stopping")),
            "{node} got the stop: {logs:?}"
        );
    }
    for pid in pids {
        assert_gone(pid);
    }
    run_dora(&ports.cli(&["destroy"]), cwd);
    assert!(wait_exit(&mut coordinator), "destroy ends the coordinator");
    for daemon in &mut daemons {
        assert!(wait_exit(daemon), "destroy ends every daemon");
    }
}

#[test]
fn a_crashing_dataflow_leaves_others_running_and_logs_follow() {
    let ports = Ports::new();
    let steady = Dataflow::new(TICKER);
    let crashing = Dataflow::new(
        r#"
nodes:
  - id: broken
    path: TEST_NODE
    args: fail 3
"#,
    );
    let cwd = steady.dir.path();
    let _guard = up(&ports, cwd);
    let started = run_dora(
        &ports.cli(&["start", "dataflow.yml", "--detach", "--name", "steady"]),
        cwd,
    );
    assert!(started.status.success(), "{started:?}");
    let crashed = run_dora(&ports.cli(&["start", "dataflow.yml"]), crashing.dir.path());
    assert!(!crashed.status.success(), "{crashed:?}");
    // With two dataflows, a node alone is ambiguous.
    let ambiguous = run_dora(&ports.cli(&["logs", "ticker"]), cwd);
    assert!(!ambiguous.status.success(), "{ambiguous:?}");
    assert!(
        ambiguous.stderr.contains("several dataflows, name one: "),
        "{ambiguous:?}"
    );

    // The steady dataflow still runs and its log can be followed.
    let mut follow = Running::start(&ports.cli(&["logs", "steady", "ticker", "--follow"]), cwd);
    let first = follow.wait_for_line("[ticker] tick");
    let n: u64 = first
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .expect("a tick number");
    follow.wait_for_line(&format!("[ticker] tick {} on tick", n + 5));
    let stop = run_dora(&ports.cli(&["stop", "steady"]), cwd);
    assert!(stop.status.success(), "{stop:?}");
    let output = follow.finish();
    assert!(
        output.status.success(),
        "following ends with the dataflow: {output:?}"
    );
    run_dora(&ports.cli(&["destroy"]), cwd);
}

#[test]
fn attach_and_detach_together_are_refused() {
    let dataflow = Dataflow::new(TICKER);
    let output = run_dora(
        &[
            "start",
            "dataflow.yml",
            "--attach",
            "--detach",
            "--coordinator-port",
            "1",
        ],
        dataflow.dir.path(),
    );
    assert!(!output.status.success());
    assert!(output.stderr.contains("--detach"), "{output:?}");
}

#[test]
fn up_whose_daemon_cannot_start_says_why_and_leaves_nothing_running() {
    let ports = Ports::new();
    // The daemon's local listen port is taken: the daemon exits at once.
    let taken = std::net::TcpListener::bind(("127.0.0.1", ports.local.parse::<u16>().unwrap()))
        .expect("occupying the local listen port");
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let started = Instant::now();
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
        dir.path(),
    );
    assert!(!output.status.success(), "{output:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "dora up waited for a daemon that had exited: {output:?}"
    );
    assert!(
        output
            .stderr
            .contains("the daemon exited before it was ready"),
        "{output:?}"
    );
    assert!(
        output.stderr.contains(&ports.local),
        "the daemon's own error names the port: {output:?}"
    );
    // The coordinator this `dora up` started was stopped too.
    let check = run_dora(&ports.cli(&["check"]), dir.path());
    assert!(!check.status.success(), "{check:?}");
    assert!(
        check.stdout.contains("coordinator: not reachable"),
        "a coordinator was left running: {check:?}"
    );
    drop(taken);
}
