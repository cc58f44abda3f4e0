//! Dynamic nodes (`path: dynamic`): nodes started by hand while their dataflow runs, which
//! take their configuration and data sockets from the daemon (`dora up` + `dora start`) or
//! from `dora run`, found by the local listen port.

use std::{path::Path, process::Command};

use crate::support::{
    assert_gone, cluster::Cluster, dora_shm_files, free_port, test_node, Dataflow, KillOnDrop,
    Output, Running,
};

const PORT_ENV: &str = "DORA_DAEMON_LOCAL_LISTEN_PORT";

/// A sender and a receiver that talk through the dynamic node `relay`: 5 small messages and
/// 5 of 8 KiB (shared memory) each way.
const RELAYED: &str = r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: send 100,8192 5
    outputs: [data]
  - id: relay
    path: dynamic
    inputs:
      data: sender/data
    outputs: [echo]
  - id: receiver
    path: TEST_NODE
    args: receive 10
    inputs:
      data: relay/echo
"#;

/// The test node in mode `dynamic-relay ID`, looking for the daemon of local listen `port`.
fn dynamic_relay(id: &str, port: &str, cwd: &Path) -> (Running, KillOnDrop) {
    let running = Running::spawn(
        Command::new(test_node())
            .args(["dynamic-relay", id])
            .env(PORT_ENV, port),
        cwd,
    );
    let guard = KillOnDrop(vec![running.pid()]);
    (running, guard)
}

/// Runs the dynamic relay to completion.
fn relay_once(id: &str, port: &str, cwd: &Path) -> Output {
    let (running, _guard) = dynamic_relay(id, port, cwd);
    running.finish()
}

#[test]
fn a_dynamic_node_started_by_hand_relays_small_and_shared_memory_messages() {
    let mut cluster = Cluster::up(RELAYED);
    let id = cluster.start_detached(Some("relayed")).uuid;

    let relay = relay_once("relay", &cluster.ports.local, cluster.cwd());
    assert!(relay.status.success(), "{relay:?}");
    assert!(relay.stdout.contains("connected as relay"), "{relay:?}");
    assert!(
        relay.stdout.contains("relayed seq=9 size=8192"),
        "{relay:?}"
    );
    assert!(relay.stdout.contains("relayed 10"), "{relay:?}");

    let list = cluster.wait_for(&["list"], "Succeeded");
    assert!(list.contains(&id), "{list}");
    let logs = cluster.dora(&["logs", "relayed", "receiver"]);
    assert!(logs.stdout.contains("ok seq=9 size=8192"), "{logs:?}");
    assert!(logs.stdout.contains("received 10"), "{logs:?}");

    let destroy = cluster.destroy();
    assert!(destroy.status.success(), "{destroy:?}");
    for &pid in &cluster.pids {
        assert_gone(pid);
    }
    assert!(
        !dora_shm_files().iter().any(|name| name.contains(&id)),
        "{:?}",
        dora_shm_files()
    );
}

#[test]
fn dynamic_node_mistakes_get_clear_errors_and_a_stop_never_waits_for_them() {
    let cluster = Cluster::up(
        r#"
nodes:
  - id: steady
    path: TEST_NODE
    args: wait-stop
  - id: relay
    path: dynamic
    inputs:
      tick: dora/timer/millis/50
    outputs: [echo]
"#,
    );
    let cwd = cluster.cwd();
    let ports = &cluster.ports;

    // No daemon on that port.
    let unused = free_port().to_string();
    let none = relay_once("relay", &unused, cwd);
    assert!(!none.status.success(), "{none:?}");
    assert!(
        none.stderr
            .contains("no dora daemon is running on this machine")
            && none.stderr.contains(&format!("dora-daemon-{unused}")),
        "{none:?}"
    );

    // A daemon without dataflows.
    let idle = relay_once("relay", &ports.local, cwd);
    assert!(
        !idle.status.success() && idle.stderr.contains("no dataflow with dynamic nodes"),
        "{idle:?}"
    );

    // Stopped before the dynamic node connected: the stop does not wait for it.
    cluster.start_detached(None);
    let stop = cluster.dora(&["stop", "--grace-duration", "10s"]);
    assert!(stop.status.success(), "{stop:?}");
    cluster.wait_for(&["list"], "Succeeded");

    cluster.start_detached(None);
    let unknown = relay_once("nobody", &ports.local, cwd);
    assert!(!unknown.status.success(), "{unknown:?}");
    assert!(
        unknown
            .stderr
            .contains("no running dataflow has a dynamic node `nobody`")
            && unknown.stderr.contains("`relay`"),
        "the dynamic nodes are listed: {unknown:?}"
    );
    let not_dynamic = relay_once("steady", &ports.local, cwd);
    assert!(
        !not_dynamic.status.success() && not_dynamic.stderr.contains("is not a dynamic node"),
        "{not_dynamic:?}"
    );

    // Garbage on the dynamic node socket is dropped; the node still connects afterwards.
    for garbage in [
        &b"\xff\xff\xff\xff\xff\xff\xff\xffgarbage"[..],
        b"\x03\0\0\0\0\0\0\0abc",
        b"",
    ] {
        use std::{io::Write, os::linux::net::SocketAddrExt};
        let name = format!("dora-daemon-{}", ports.local);
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .expect("an abstract socket name");
        let mut stream = std::os::unix::net::UnixStream::connect_addr(&address)
            .expect("connecting to the dynamic node socket");
        stream.write_all(garbage).expect("sending garbage");
    }

    let (mut relay, _relay_guard) = dynamic_relay("relay", &ports.local, cwd);
    relay.wait_for_line("connected as relay");
    let again = relay_once("relay", &ports.local, cwd);
    assert!(
        !again.status.success() && again.stderr.contains("already connected"),
        "{again:?}"
    );

    // A stop reaches the dynamic node, which ends cleanly.
    let stop = cluster.dora(&["stop", "--grace-duration", "10s"]);
    assert!(stop.status.success(), "{stop:?}");
    let relay = relay.finish();
    assert!(relay.status.success(), "{relay:?}");
    assert!(relay.stdout.contains("stop"), "{relay:?}");
    let list = cluster.dora(&["list"]);
    assert!(!list.stdout.contains("Failed"), "{list:?}");
}

#[test]
fn dora_run_serves_its_dynamic_nodes_too() {
    let dataflow = Dataflow::new(RELAYED);
    let cwd = dataflow.cwd();
    let port = free_port().to_string();
    let run = Running::start_with_env(&["run", "dataflow.yml"], cwd, &[(PORT_ENV, &port)]);
    let _run_guard = KillOnDrop(vec![run.pid()]);
    dataflow.wait_for_log("relay", "waiting for the user to start it");

    let relay = relay_once("relay", &port, cwd);
    assert!(relay.status.success(), "{relay:?}");
    assert!(relay.stdout.contains("relayed 10"), "{relay:?}");
    let output = run.finish();
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.contains("[receiver] received 10"),
        "{output:?}"
    );
}

#[test]
fn a_crashed_dynamic_node_fails_the_dataflow_and_hangs_up_its_peers() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: send 100 1
    outputs: [data]
  - id: relay
    path: dynamic
    inputs:
      data: sender/data
    outputs: [echo]
  - id: receiver
    path: TEST_NODE
    args: receive
    inputs:
      data: relay/echo
"#,
    );
    let cwd = dataflow.cwd();
    let port = free_port().to_string();
    let run = Running::start_with_env(&["run", "dataflow.yml"], cwd, &[(PORT_ENV, &port)]);
    let _run_guard = KillOnDrop(vec![run.pid()]);
    dataflow.wait_for_log("relay", "waiting for the user to start it");

    let relay = Running::spawn(
        Command::new(test_node())
            .args(["dynamic-relay", "relay", "crash"])
            .env(PORT_ENV, &port),
        cwd,
    );
    let _relay_guard = KillOnDrop(vec![relay.pid()]);
    let relay = relay.finish();
    assert!(relay.stdout.contains("relayed seq=0"), "{relay:?}");
    assert!(!relay.status.success(), "{relay:?}");

    // The receiver sees its input closed and ends; the dataflow reports the crash.
    let output = run.finish();
    assert!(!output.status.success(), "{output:?}");
    assert!(
        output.stdout.contains("[receiver] received 1"),
        "{output:?}"
    );
    assert!(
        output
            .stderr
            .contains("node `relay` (a dynamic node) disconnected before closing its event stream"),
        "{output:?}"
    );
}
