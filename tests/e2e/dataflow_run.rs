//! `dora run` end to end: real node processes, real sockets and shared memory.

use crate::support::{assert_gone, dora_shm_files, pid_in, run_dora, test_node, Dataflow, Running};
use nix::sys::signal::Signal;

fn assert_no_shm_left() {
    let left = dora_shm_files();
    assert!(left.is_empty(), "files left in /dev/shm: {left:?}");
}

fn sizes_dataflow(communication: &str) -> Dataflow {
    Dataflow::new(&format!(
        r#"
{communication}
nodes:
  - id: sender
    path: TEST_NODE
    args: send 0,4095,4096,8388608 3
    outputs: [data]
  - id: receiver
    path: TEST_NODE
    args: receive 12
    inputs:
      data: {{ source: sender/data, queue_size: 100 }}
"#
    ))
}

fn assert_sizes_delivered(dataflow: &Dataflow) {
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(output.status.success(), "dora run failed: {output:?}");
    let received: Vec<&str> = output
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[receiver] ok "))
        .collect();
    let expected: Vec<String> = [0, 4095, 4096, 8388608]
        .iter()
        .flat_map(|size| [*size; 3])
        .enumerate()
        .map(|(seq, size)| format!("seq={seq} size={size}"))
        .collect();
    assert_eq!(received, expected, "stdout: {}", output.stdout);
    assert!(output.stdout.contains("[receiver] closed data"));
    assert!(output.stdout.contains("[receiver] received 12"));
    // Logs are written beside the dataflow.
    assert!(dataflow.log("receiver").contains("received 12"));
    assert!(dataflow.log("sender").contains("sent 12 messages"));
    assert_no_shm_left();
}

#[test]
fn messages_arrive_in_order_and_intact_over_unix_socket() {
    assert_sizes_delivered(&sizes_dataflow(""));
}

#[test]
fn messages_arrive_in_order_and_intact_over_tcp_control() {
    assert_sizes_delivered(&sizes_dataflow("communication:\n  _unstable_local: Tcp"));
}

#[test]
fn timers_tick_in_every_unit() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: millis
    path: TEST_NODE
    args: ticks 3
    inputs:
      tick: dora/timer/millis/10
  - id: micros
    path: TEST_NODE
    args: ticks 3
    inputs:
      tick: dora/timer/micros/5000
  - id: hz
    path: TEST_NODE
    args: ticks 2
    inputs:
      tick: dora/timer/hz/50
  - id: secs
    path: TEST_NODE
    args: ticks 1
    inputs:
      tick: dora/timer/secs/1
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(output.status.success(), "{output:?}");
    for expected in [
        "[millis] tick 3 on tick",
        "[micros] tick 3 on tick",
        "[hz] tick 2 on tick",
        "[secs] tick 1 on tick",
    ] {
        assert!(
            output.stdout.contains(expected),
            "missing `{expected}`: {output:?}"
        );
    }
}

#[test]
fn queue_size_one_drops_the_oldest_and_logs_it() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: send 16 50
    outputs: [data]
  - id: receiver
    path: TEST_NODE
    args: slow-receive 100
    inputs:
      data: { source: sender/data, queue_size: 1 }
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(output.status.success(), "{output:?}");
    let seqs: Vec<i64> = output
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[receiver] got seq="))
        .map(|s| s.parse().expect("a sequence number"))
        .collect();
    assert!(seqs.len() < 50, "nothing was dropped: {seqs:?}");
    assert_eq!(
        seqs.last(),
        Some(&49),
        "the newest message must survive: {seqs:?}"
    );
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "out of order: {seqs:?}"
    );
    let log = dataflow.log("receiver");
    assert!(
        log.contains("dropped") && log.contains("input `data`"),
        "drops not logged: {log}"
    );
}

#[test]
fn failing_node_fails_the_run_with_its_code_and_stderr() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: fine
    path: TEST_NODE
    args: ticks 2
    inputs:
      tick: dora/timer/millis/10
  - id: broken
    path: TEST_NODE
    args: fail 3
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(!output.status.success(), "{output:?}");
    assert!(
        output.stderr.contains("node `broken` exited with code 3"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("failing on purpose with code 3"),
        "stderr tail missing: {}",
        output.stderr
    );
    assert!(!output.stderr.contains("node `fine`"), "{}", output.stderr);
    assert_no_shm_left();
}

fn stop_dataflow() -> Dataflow {
    Dataflow::new(
        r#"
nodes:
  - id: polite
    path: TEST_NODE
    args: wait-stop
    inputs:
      tick: dora/timer/secs/1
  - id: stubborn
    path: TEST_NODE
    args: ignore-stop
    inputs:
      tick: dora/timer/secs/1
"#,
    )
}

fn stop_with(signal: Signal) {
    let dataflow = stop_dataflow();
    let mut run = Running::start(
        &["run", "dataflow.yml", "--grace-duration", "500ms"],
        dataflow.dir.path(),
    );
    let polite = pid_in(&run.wait_for_line("[polite] waiting"));
    let stubborn = pid_in(&run.wait_for_line("[stubborn] ignoring"));
    run.signal(signal);
    let output = run.finish();
    assert!(!output.status.success(), "a killed node fails the run");
    assert!(output.stdout.contains("[polite] stopping"), "{output:?}");
    assert!(
        output
            .stderr
            .contains("node `stubborn` was killed after the grace period"),
        "{}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("node `polite`"),
        "{}",
        output.stderr
    );
    assert_gone(polite);
    assert_gone(stubborn);
    assert_no_shm_left();
}

#[test]
fn sigint_stops_nodes_and_kills_those_that_ignore_stop() {
    stop_with(Signal::SIGINT);
}

#[test]
fn sigterm_stops_nodes_and_kills_those_that_ignore_stop() {
    stop_with(Signal::SIGTERM);
}

#[test]
fn receiver_killed_while_holding_shared_memory_leaves_nothing_behind() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: send 1048576 3
    outputs: [data]
  - id: holder
    path: TEST_NODE
    args: hold
    inputs:
      data: sender/data
"#,
    );
    let mut run = Running::start(&["run", "dataflow.yml"], dataflow.dir.path());
    let line = run.wait_for_line("[holder] holding");
    assert!(line.contains("bytes=1048576"), "{line}");
    let holder = pid_in(&line);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(holder), Signal::SIGKILL)
        .expect("killing the holder");
    let output = run.finish();
    assert!(!output.status.success());
    assert!(
        output
            .stderr
            .contains("node `holder` was killed by SIGKILL"),
        "{}",
        output.stderr
    );
    assert!(
        output.stdout.contains("[sender] sent 3 messages"),
        "{output:?}"
    );
    assert_gone(holder);
    assert_no_shm_left();
}

#[test]
fn invalid_dataflow_is_refused_with_its_position() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: a
    path: TEST_NODE
    inputs:
      x: nowhere/out
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(!output.status.success());
    assert!(
        output.stderr.contains("dataflow.yml:6:"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("nowhere"), "{}", output.stderr);
    assert!(
        !dataflow.dir.path().join("out").exists(),
        "nothing may start"
    );
}

#[test]
fn missing_executable_is_named_before_anything_starts() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: ghost
    path: ./not-built-yet
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(!output.status.success());
    assert!(
        output.stderr.contains("node `ghost`") && output.stderr.contains("not-built-yet"),
        "{}",
        output.stderr
    );
}

#[test]
fn stdout_of_a_node_becomes_an_output_with_send_stdout_as() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: chatty
    path: shell
    args: echo first line; echo second line
    send_stdout_as: text
    outputs: [text]
  - id: reader
    path: TEST_NODE
    args: slow-receive 0
    inputs:
      text: chatty/text
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.contains("[chatty] first line"), "{output:?}");
    assert_eq!(
        output.stdout.matches("[reader] got seq=").count(),
        2,
        "{output:?}"
    );
}

#[test]
fn arrow_arrays_arrive_equal_nested_sliced_and_large() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: send-arrow
    outputs: [data]
  - id: receiver
    path: TEST_NODE
    args: receive-arrow
    inputs:
      data: sender/data
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.contains("[receiver] arrays received 6"),
        "{output:?}"
    );
    assert_no_shm_left();
}

#[test]
fn async_event_stream_receives_and_ends() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: send 8,8192 2
    outputs: [data]
  - id: receiver
    path: TEST_NODE
    args: async-receive
    inputs:
      data: { source: sender/data, queue_size: 100 }
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(output.status.success(), "{output:?}");
    for seq in 0..4 {
        assert!(
            output
                .stdout
                .contains(&format!("[receiver] async got seq={seq}")),
            "{output:?}"
        );
    }
    assert!(output.stdout.contains("[receiver] async stream ended"));
}

#[test]
fn sending_on_an_undeclared_output_names_the_declared_ones() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: bad-output
    outputs: [data, status]
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.contains(
            "[sender] error: `nope` is not an output of node `sender`; declared outputs: `data`, `status`"
        ),
        "{output:?}"
    );
}

#[test]
fn a_node_not_started_by_dora_gets_a_clear_error() {
    let output = std::process::Command::new(test_node())
        .arg("wait-stop")
        .env_remove("DORA_NODE_CONFIG")
        .output()
        .expect("running the test node");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DORA_NODE_CONFIG is not set") && stderr.contains("dora run"),
        "{stderr}"
    );
}

#[test]
fn sender_killed_while_lending_shared_memory_leaves_nothing_behind() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: send-hang 1048576
    outputs: [data]
  - id: receiver
    path: TEST_NODE
    args: receive 1
    inputs:
      data: sender/data
"#,
    );
    let mut run = Running::start(&["run", "dataflow.yml"], dataflow.dir.path());
    let sender = pid_in(&run.wait_for_line("[sender] sent pid="));
    run.wait_for_line("[receiver] ok seq=0 size=1048576");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(sender), Signal::SIGKILL)
        .expect("killing the sender");
    let output = run.finish();
    assert!(!output.status.success());
    assert!(
        output
            .stderr
            .contains("node `sender` was killed by SIGKILL"),
        "{}",
        output.stderr
    );
    // The receiver saw its input close when the sender died, and finished normally.
    assert!(
        output.stdout.contains("[receiver] received 1"),
        "{output:?}"
    );
    assert!(
        !output.stderr.contains("node `receiver`"),
        "{}",
        output.stderr
    );
    assert_gone(sender);
    assert_no_shm_left();
}

/// Runs a sender that sends `count` messages of `size` bytes back to back (`sender_args`
/// after `region-burst COUNT SIZE`) into a receiver that lets them pile up in its queue, and
/// checks that the burst needed many regions and that both sides map at most the pool's 8
/// free regions afterwards. An `idle` sender gets nothing from the receiver (not even
/// `done`), so that nothing but its own I/O thread's looks can shrink its pool.
fn burst_leaves_eight_regions(count: usize, size: usize, sender_args: &str) {
    let sender_inputs = if sender_args == "idle" {
        ""
    } else {
        "inputs:\n      done: receiver/done"
    };
    let dataflow = Dataflow::new(&format!(
        r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: region-burst {count} {size} {sender_args}
    {sender_inputs}
    outputs: [data]
  - id: receiver
    path: TEST_NODE
    args: region-drain {count}
    inputs:
      data: {{ source: sender/data, queue_size: {count} }}
    outputs: [done]
"#
    ));
    let output = run_dora(&["run", "dataflow.yml"], dataflow.dir.path());
    assert!(output.status.success(), "dora run failed: {output:?}");
    let count_after = |prefix: &str| -> usize {
        output
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{prefix}` line: {output:?}"))
    };
    let burst: usize = output
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("[sender] sent {count}, mapping ")))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no burst line: {output:?}"));
    assert!(burst > count / 3, "the burst needed many regions: {burst}");
    assert!(count_after("[sender] sender regions: ") <= 8, "{output:?}");
    assert!(
        count_after("[receiver] receiver regions: ") <= 8,
        "{output:?}"
    );
    assert_no_shm_left();
}

#[test]
fn a_burst_of_shared_memory_messages_leaves_at_most_eight_regions_mapped() {
    // 300 messages of 64 KiB pile up in the receiver's queue, so the sender needs a region
    // for each; they come back through the connection's release ring, and all but the
    // pool's 8 free regions are retired, on both sides.
    burst_leaves_eight_regions(300, 65536, "");
}

#[test]
fn a_burst_larger_than_the_release_ring_comes_back_too() {
    // More regions than the ring holds: the receiver falls back to release packets.
    burst_leaves_eight_regions(1500, 4096, "");
}

#[test]
fn an_idle_sender_shrinks_its_pool_after_a_burst() {
    // The sender neither sends nor reads after the burst: its I/O thread alone must take
    // the regions back from the ring and retire the surplus.
    burst_leaves_eight_regions(300, 65536, "idle");
}
