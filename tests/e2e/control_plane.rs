//! Coordinator, daemon and the lifecycle commands, driven through the real binary on random
//! ports.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use crate::support::{
    assert_gone,
    cluster::{coordinator_args, daemon_args, Cluster, Ports, Services, TICKER},
    pid_in, run_dora, wait_exit, Dataflow, KillOnDrop, Running, TIMEOUT,
};

#[test]
fn up_start_list_logs_stop_destroy() {
    let mut cluster = Cluster::up(TICKER);
    assert_eq!(
        cluster.pids.len(),
        2,
        "up starts a coordinator and a daemon"
    );

    // A second `up` starts nothing.
    let ports = &cluster.ports;
    let again = run_dora(
        &[
            "up",
            "--coordinator-port",
            &ports.control,
            "--daemon-port",
            &ports.daemon,
        ],
        cluster.cwd(),
    );
    assert!(
        again.status.success() && !again.stdout.contains("(pid "),
        "{again:?}"
    );

    let started = cluster.start_detached(Some("clock"));
    assert_eq!(
        uuid::Uuid::parse_str(&started.uuid).map(|u| u.get_version_num()),
        Ok(7)
    );
    assert_eq!(started.name, "clock");
    let id = started.uuid;

    let list = cluster.dora(&["list"]);
    assert!(
        list.stdout.contains(&id) && list.stdout.contains("Running"),
        "{list:?}"
    );

    cluster.wait_for(&["logs", "clock", "ticker"], "tick 3 on tick");

    let unknown = cluster.dora(&["logs", "clock", "nobody"]);
    assert!(!unknown.status.success());
    assert!(
        unknown.stderr.contains("ticker"),
        "valid nodes listed: {unknown:?}"
    );

    let stop = cluster.dora(&["stop", "--name", "clock", "--grace-duration", "2s"]);
    assert!(stop.status.success(), "{stop:?}");
    assert!(stop.stdout.contains("stopped"), "{stop:?}");

    let list = cluster.dora(&["list"]);
    assert!(list.stdout.contains("Succeeded"), "{list:?}");
    // Logs stay readable after the end.
    let logs = cluster.dora(&["logs", &id, "ticker"]);
    assert!(logs.stdout.contains("[ticker] tick 1 on tick"), "{logs:?}");

    let destroy = cluster.destroy();
    assert!(destroy.status.success(), "{destroy:?}");
    for &pid in &cluster.pids {
        assert_gone(pid);
    }
    let after = cluster.dora(&["destroy"]);
    assert!(after.stdout.contains("Nothing to destroy"), "{after:?}");
    let check = cluster.dora(&["check"]);
    assert!(!check.status.success(), "{check:?}");
}

#[test]
fn attached_start_of_a_failing_dataflow_fails_with_the_stderr_tail() {
    let cluster = Cluster::up(
        r#"
nodes:
  - id: broken
    path: TEST_NODE
    args: fail 3
"#,
    );
    let output = cluster.dora(&["start", "dataflow.yml"]);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        output.stderr.contains("node `broken` exited with code 3"),
        "{output:?}"
    );
    assert!(
        output.stderr.contains("failing on purpose with code 3"),
        "{output:?}"
    );
    let list = cluster.dora(&["list"]);
    assert!(list.stdout.contains("Failed"), "{list:?}");
}

/// A stubborn node (ignores Stop, prints `ignoring pid=N`) beside a polite one.
const STUBBORN_AND_POLITE: &str = r#"
nodes:
  - id: stubborn
    path: TEST_NODE
    args: ignore-stop
  - id: polite
    path: TEST_NODE
    args: wait-stop
"#;

#[test]
fn stop_kills_a_node_that_ignores_stop_after_the_grace_duration() {
    let cluster = Cluster::up(STUBBORN_AND_POLITE);
    cluster.start_detached(None);
    let line = cluster.wait_for(&["logs", "stubborn"], "ignoring pid=");
    let stubborn = pid_in(
        line.lines()
            .find(|l| l.contains("ignoring pid="))
            .expect("line"),
    );
    let stop = cluster.dora(&["stop", "--grace-duration", "500ms"]);
    assert!(stop.status.success(), "{stop:?}");
    assert!(
        stop.stdout.contains("node `stubborn` was killed"),
        "the kill is reported: {stop:?}"
    );
    assert!(!stop.stdout.contains("node `polite`"), "{stop:?}");
    assert_gone(stubborn);
}

#[test]
fn daemon_reconnects_to_a_restarted_coordinator() {
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
    let cwd = dataflow.cwd();
    let mut services = Services::start(&[None], cwd);
    // A dataflow that runs across the restart.
    let started = services.dora(
        &["start", "dataflow.yml", "--detach", "--name", "survivor"],
        survivor.cwd(),
    );
    assert!(started.status.success(), "{started:?}");

    services.kill_coordinator();
    let check = services.dora(&["check"], cwd);
    assert!(!check.status.success(), "{check:?}");

    services.start_coordinator();
    services.wait_for_daemons(cwd);
    // The new coordinator learned the running dataflow from the daemon, and its nodes.
    let list = services.dora(&["list"], cwd);
    assert!(
        list.stdout.contains("survivor") && list.stdout.contains("Running"),
        "{list:?}"
    );
    let unknown = services.dora(&["logs", "survivor", "nobody"], cwd);
    assert!(
        unknown
            .stderr
            .contains("has no node `nobody`; its nodes: ticker, quiet"),
        "{unknown:?}"
    );
    let stop = services.dora(&["stop", "survivor"], cwd);
    assert!(
        stop.status.success() && stop.stdout.contains("stopped"),
        "{stop:?}"
    );

    let output = services.dora(&["start", "dataflow.yml"], cwd);
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.contains("[counter] tick 3 on tick"),
        "{output:?}"
    );

    services.destroy(cwd);
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

#[test]
fn lost_daemon_fails_its_dataflows_with_a_message() {
    let mut cluster = Cluster::up(STUBBORN_AND_POLITE);
    cluster.start_detached(Some("doomed"));
    let nodes = KillOnDrop(vec![
        cluster.node_pid("doomed", "stubborn"),
        cluster.node_pid("doomed", "polite"),
    ]);
    // The daemon is the second process `up` started; freeze it so it stops heartbeating.
    let frozen = Frozen::new(cluster.pids[1]);
    cluster.wait_for(&["list"], "Failed");
    let stop = cluster.dora(&["stop"]);
    assert!(!stop.status.success(), "no dataflow runs anymore: {stop:?}");

    // Stopping it by name stops nothing: it says how the dataflow ended, and why.
    let stop = cluster.dora(&["stop", "doomed"]);
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
    cluster.wait_for(&["check"], "daemon: 1 connected");
    let list = cluster.dora(&["list"]);
    assert!(list.stdout.contains("Failed"), "{list:?}");

    let destroy = cluster.destroy();
    assert!(destroy.status.success(), "{destroy:?}");
    for &pid in &cluster.pids {
        assert_gone(pid);
    }
}

#[test]
fn invalid_dataflow_is_refused_before_anything_is_sent() {
    let cluster = Cluster::up(
        r#"
nodes:
  - id: a
    path: TEST_NODE
    inputs:
      x: nowhere/out
"#,
    );
    let output = cluster.dora(&["start", "dataflow.yml"]);
    assert!(!output.status.success());
    assert!(output.stderr.contains("dataflow.yml:6:"), "{output:?}");
    let list = cluster.dora(&["list"]);
    assert!(list.stdout.contains("No dataflows"), "{list:?}");
}

#[test]
fn a_machine_without_daemon_is_named() {
    let cluster = Cluster::up(
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
    let output = cluster.dora(&["start", "dataflow.yml"]);
    assert!(!output.status.success());
    assert!(output.stderr.contains("machine `mars`"), "{output:?}");
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
    let cluster = Cluster::up(TICKER);
    cluster.start_detached(None);
    let ports = &cluster.ports;

    let oversized = u64::MAX.to_le_bytes();
    let truncated = [16u8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3];
    let wrong_version = {
        let handshake = dora_message::coordinator::Handshake {
            protocol_version: "dora-protocol/0.0.0".into(),
            role: dora_message::coordinator::Role::Cli,
            token: None,
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
    let check = cluster.dora(&["check"]);
    assert!(check.status.success(), "{check:?}");
    let list = cluster.dora(&["list"]);
    assert!(
        list.stdout.contains("Running"),
        "the dataflow survived: {list:?}"
    );
    let stop = cluster.dora(&["stop"]);
    assert!(stop.status.success(), "{stop:?}");
}

#[test]
fn a_truncated_frame_is_logged_as_one() {
    let ports = Ports::new();
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let cwd = dir.path();
    // Started with their output captured: the test reads what they logged.
    let mut coordinator = Running::start(&coordinator_args(&ports), cwd);
    let mut daemon = Running::start(&daemon_args(&ports), cwd);
    let _guard = KillOnDrop(vec![coordinator.pid(), daemon.pid()]);
    crate::support::wait_for_output(&ports.cli(&["check"]), cwd, "daemon: 1 connected");

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
    let cluster = Cluster::up(
        r#"
nodes:
  - id: polite
    path: TEST_NODE
    args: wait-stop
"#,
    );
    let mut run = cluster.running(&["start", "dataflow.yml"]);
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
}

#[test]
fn one_dataflow_across_two_daemons_moves_small_and_large_messages() {
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
    let cwd = dataflow.cwd();
    let mut services = Services::start(&[Some("A"), Some("B")], cwd);
    let output = services.dora(&["start", "dataflow.yml"], cwd);
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
    services.destroy(cwd);
}

#[test]
fn a_dataflow_across_two_daemons_survives_a_coordinator_restart() {
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
    let cwd = dataflow.cwd();
    let mut services = Services::start(&[Some("A"), Some("B")], cwd);
    let started = services.dora(
        &["start", "dataflow.yml", "--detach", "--name", "pair"],
        cwd,
    );
    assert!(started.status.success(), "{started:?}");
    let node_pid = |node: &str| {
        let logs = crate::support::wait_for_output(
            &services.ports.cli(&["logs", "pair", node]),
            cwd,
            "pid=",
        );
        pid_in(
            logs.lines()
                .find(|l| l.contains("pid="))
                .expect("a pid line"),
        )
    };
    let pids = [node_pid("left"), node_pid("right")];
    let _nodes = KillOnDrop(pids.to_vec());

    services.kill_coordinator();
    services.start_coordinator();
    services.wait_for_daemons(cwd);

    // Both parts belong to the dataflow again: a stop asks both nodes, kills neither.
    let stop = services.dora(&["stop", "pair"], cwd);
    assert!(stop.status.success(), "{stop:?}");
    assert!(!stop.stdout.contains("killed"), "{stop:?}");
    for node in ["left", "right"] {
        let logs = services.dora(&["logs", "pair", node], cwd);
        assert!(
            logs.stdout.contains(&format!("[{node}] stopping")),
            "{node} got the stop: {logs:?}"
        );
    }
    for pid in pids {
        assert_gone(pid);
    }
    services.destroy(cwd);
}

#[test]
fn a_crashing_dataflow_leaves_others_running_and_logs_follow() {
    let cluster = Cluster::up(TICKER);
    let crashing = Dataflow::new(
        r#"
nodes:
  - id: broken
    path: TEST_NODE
    args: fail 3
"#,
    );
    cluster.start_detached(Some("steady"));
    let crashed = cluster.dora_in(&["start", "dataflow.yml"], crashing.cwd());
    assert!(!crashed.status.success(), "{crashed:?}");
    // With two dataflows, a node alone is ambiguous.
    let ambiguous = cluster.dora(&["logs", "ticker"]);
    assert!(!ambiguous.status.success(), "{ambiguous:?}");
    assert!(
        ambiguous.stderr.contains("several dataflows, name one: "),
        "{ambiguous:?}"
    );

    // The steady dataflow still runs and its log can be followed.
    let mut follow = cluster.running(&["logs", "steady", "ticker", "--follow"]);
    let first = follow.wait_for_line("[ticker] tick");
    let n: u64 = first
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .expect("a tick number");
    follow.wait_for_line(&format!("[ticker] tick {} on tick", n + 5));
    let stop = cluster.dora(&["stop", "steady"]);
    assert!(stop.status.success(), "{stop:?}");
    let output = follow.finish();
    assert!(
        output.status.success(),
        "following ends with the dataflow: {output:?}"
    );
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
        dataflow.cwd(),
    );
    assert!(!output.status.success());
    assert!(output.stderr.contains("--detach"), "{output:?}");
}

#[test]
fn up_whose_daemon_cannot_start_says_why_and_leaves_nothing_running() {
    let ports = Ports::new();
    // The daemon's local listen port is taken: the daemon exits at once.
    let local: u16 = ports.local.parse().expect("a port number");
    let taken =
        std::net::TcpListener::bind(("127.0.0.1", local)).expect("occupying the local listen port");
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let started = Instant::now();
    let output = run_dora(&ports.up_args(), dir.path());
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
