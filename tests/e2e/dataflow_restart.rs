//! Restart policies end to end: nodes that crash, are killed or exit come back (or not) as
//! their `restart_policy` says, with fresh processes whose messages flow, under `dora run`
//! and under a coordinator and daemon.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::support::cluster::Cluster;
use crate::support::{assert_gone, pid_in, run_dora, Dataflow, Running, TIMEOUT};

/// A node that fails at once, with two restarts allowed.
const CRASHER: &str = r#"
nodes:
  - id: crasher
    path: TEST_NODE
    args: fail 1
    restart_policy: on-failure
    max_restarts: 2
    restart_delay: 0.1
"#;

const GIVE_UP: &str =
    "node `crasher` exited with code 1; restarted 2 times (max_restarts: 2), giving up";

fn starts_of_crasher(log: &str) -> usize {
    log.matches("about to fail").count()
}

#[test]
fn crashing_node_restarts_twice_then_fails_under_dora_run() {
    let dataflow = Dataflow::new(CRASHER);
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(!output.status.success(), "{output:?}");
    assert!(output.stderr.contains(GIVE_UP), "{output:?}");
    assert_eq!(
        output.stderr.matches("restarting it").count(),
        2,
        "{output:?}"
    );
    assert!(output.stderr.contains("(restart 2)"), "{output:?}");
    assert_eq!(starts_of_crasher(&dataflow.log("crasher")), 3);
}

#[test]
fn crashing_node_restarts_twice_then_fails_under_start_attach() {
    let cluster = Cluster::up(CRASHER);
    let output = cluster.dora(&["start", "dataflow.yml", "--attach"]);
    assert!(!output.status.success(), "{output:?}");
    assert!(output.stderr.contains(GIVE_UP), "{output:?}");
    // The first restart may come before the CLI is attached; the second comes after.
    assert!(output.stderr.contains("restarting it"), "{output:?}");
    assert_eq!(starts_of_crasher(&cluster.dataflow.log("crasher")), 3);
    let list = cluster.dora(&["list"]);
    assert!(list.stdout.contains("RESTARTS"), "{list:?}");
    let row = list
        .stdout
        .lines()
        .find(|l| l.contains("Failed"))
        .unwrap_or_else(|| panic!("no failed dataflow: {list:?}"));
    assert!(row.ends_with("crasher=2"), "{list:?}");
}

#[test]
fn on_failure_does_not_restart_a_clean_exit() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: crasher
    path: TEST_NODE
    args: fail 0
    restart_policy: on-failure
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "{output:?}");
    assert!(!output.stderr.contains("restarting"), "{output:?}");
    assert_eq!(starts_of_crasher(&dataflow.log("crasher")), 1);
}

/// `sender` sends an 8 KiB message (shared memory) every 50 ms to `receiver`; both are
/// restarted whatever ends them.
const PAIR: &str = r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: restart-peer 8192
    restart_policy: always
    inputs:
      tick: dora/timer/millis/50
    outputs: [out]
  - id: receiver
    path: TEST_NODE
    args: restart-peer
    restart_policy: always
    inputs:
      in: sender/out
"#;

/// The `dora logs` of a node once it contains `needle` after its `nth` start (1-based).
fn wait_after_start(cluster: &Cluster, uuid: &str, node: &str, nth: usize, needle: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let logs = cluster.dora(&["logs", uuid, node]).stdout;
        if let Some(after) = logs.split("started pid=").nth(nth) {
            if after.contains(needle) {
                return after.to_owned();
            }
        }
        assert!(
            Instant::now() < deadline,
            "`{node}` never printed `{needle}` after start {nth}:\n{logs}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn always_survives_sigkill_and_messages_flow_after_restart() {
    let cluster = Cluster::up(PAIR);
    let started = cluster.start_detached(None);
    let uuid = started.uuid.as_str();
    wait_after_start(&cluster, uuid, "receiver", 1, "got seq=");

    // The receiver is killed: a new process gets the sender's messages.
    let receiver = cluster.node_pid(uuid, "receiver");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(receiver), Signal::SIGKILL)
        .expect("killing the receiver");
    assert_gone(receiver);
    let after = wait_after_start(&cluster, uuid, "receiver", 2, "got seq=");
    let new_receiver = pid_in(&after);
    assert_ne!(new_receiver, receiver);
    assert!(after.contains("restarted=0 size=8192"), "{after}");

    // The sender is killed: its new process's first message is marked.
    let sender = cluster.node_pid(uuid, "sender");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sender), Signal::SIGKILL)
        .expect("killing the sender");
    let marked = wait_after_start(&cluster, uuid, "receiver", 2, "restarted=1");
    let first_marked = marked
        .lines()
        .find(|l| l.contains("restarted=1"))
        .unwrap_or_default();
    assert!(first_marked.contains("seq=0 "), "{marked}");
    // Messages go on flowing after the marked one, unmarked.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let logs = cluster.dora(&["logs", uuid, "receiver"]).stdout;
        let tail = logs.split("restarted=1").nth(1).unwrap_or_default();
        if tail.matches("restarted=0 size=8192").count() >= 5 {
            assert!(!logs.contains("closed"), "an input closed: {logs}");
            assert!(!logs.contains("error event"), "{logs}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no messages after the restart:\n{logs}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        cluster
            .wait_for(&["list"], "receiver=1")
            .contains("sender=1"),
        "both restarts are listed"
    );
    let stop = cluster.dora(&["stop", uuid]);
    assert!(stop.status.success(), "{stop:?}");
}

#[test]
fn always_survives_sigkill_under_dora_run() {
    let dataflow = Dataflow::new(PAIR);
    let mut run = Running::start(&["run", "dataflow.yml"], dataflow.cwd());
    let sender = pid_in(&run.wait_for_line("[sender] started pid="));
    run.wait_for_line("[receiver] got seq=");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sender), Signal::SIGKILL)
        .expect("killing the sender");
    let restarted = pid_in(&run.wait_for_new_line("[sender] started pid="));
    assert_ne!(restarted, sender);
    run.wait_for_new_line("restarted=1");
    run.wait_for_new_line("[receiver] got seq=");
    run.signal(Signal::SIGINT);
    let output = run.finish();
    assert!(output.status.success(), "{output:?}");
    assert!(
        output
            .stderr
            .contains("node `sender` was killed by SIGKILL; restarting it"),
        "{output:?}"
    );
    assert!(!output.stdout.contains("closed"), "{output:?}");
}

#[test]
fn stop_cancels_a_pending_restart() {
    let cluster = Cluster::up(
        r#"
nodes:
  - id: crasher
    path: TEST_NODE
    args: fail 1
    restart_policy: on-failure
    restart_delay: 30
"#,
    );
    let started = cluster.start_detached(None);
    // Listed as restarted once the daemon decided to restart it: the delay runs now.
    cluster.wait_for(&["list"], "crasher=1");
    let begin = Instant::now();
    let stop = cluster.dora(&["stop", &started.uuid, "--grace-duration", "1s"]);
    let took = begin.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "stop took {took:?}: {stop:?}"
    );
    // The dataflow is over, so nothing can start the node again.
    let list = cluster.dora(&["list"]);
    assert!(!list.stdout.contains("Running"), "{list:?}");
    assert_eq!(starts_of_crasher(&cluster.dataflow.log("crasher")), 1);
}

#[test]
fn crashes_farther_apart_than_the_window_do_not_exhaust_max_restarts() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: crasher
    path: shell
    args: sleep 0.6; echo crash; exit 1
    restart_policy: on-failure
    max_restarts: 1
    restart_window: 0.4
"#,
    );
    let mut run = Running::start(&["run", "dataflow.yml"], dataflow.cwd());
    for _ in 0..4 {
        run.wait_for_new_line("[crasher] crash");
    }
    run.signal(Signal::SIGINT);
    let output = run.finish();
    assert!(!output.stderr.contains("giving up"), "{output:?}");
    assert!(output.stderr.contains("(restart 3)"), "{output:?}");
}

#[test]
fn bad_restart_values_name_file_line_and_field() {
    for (line, field, message) in [
        (
            "restart_policy: sometimes",
            "nodes[0].restart_policy",
            "unknown restart policy `sometimes`",
        ),
        (
            "max_restarts: -1",
            "nodes[0].max_restarts",
            "expected a whole number of at least 0",
        ),
        (
            "restart_delay: abc",
            "nodes[0].restart_delay",
            "expected a duration",
        ),
    ] {
        let dataflow = Dataflow::new(&format!(
            "nodes:\n  - id: a\n    path: TEST_NODE\n    {line}\n"
        ));
        let output = run_dora(
            &[
                "check",
                "--dataflow",
                "dataflow.yml",
                "--coordinator-port",
                "1",
            ],
            dataflow.cwd(),
        );
        assert!(!output.status.success(), "{output:?}");
        let text = format!("{}{}", output.stdout, output.stderr);
        assert!(
            text.contains("dataflow.yml:4:") && text.contains(field),
            "{text}"
        );
        assert!(text.contains(message), "{text}");
    }
}
