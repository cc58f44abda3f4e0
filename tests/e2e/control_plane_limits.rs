//! Bounded memory on the control plane: huge node output, many log lines, unfinished frames
//! and nodes that drop messages all cost bounded memory and leave everything else working.

use std::{
    io::{Read, Write},
    os::unix::net::UnixStream,
    time::{Duration, Instant},
};

use crate::support::{
    assert_gone,
    cluster::{Cluster, TICKER},
    Dataflow, Running, TIMEOUT,
};

/// The resident memory of process `pid`, in MiB (from /proc/PID/status).
fn rss_mib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("a VmRSS line");
    kib / 1024
}

/// Runs `check` until it returns true, for at most [`TIMEOUT`].
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !check() {
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_70_mb_line_is_split_into_continued_pieces_and_the_daemon_stays_connected() {
    let mut cluster = Cluster::up(
        r#"
nodes:
  - id: big
    path: shell
    args: head -c 70000000 /dev/zero | tr '\0' x; echo; echo done; sleep 600
"#,
    );
    let ticker = Dataflow::new(TICKER);
    let other = cluster.start_detached_in(Some("other"), ticker.cwd());
    let big = cluster.start_detached(Some("big"));
    let tail = cluster.wait_for(&["logs", "big", "big", "--tail", "3"], "[big] done");
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 3, "{tail}");
    let piece = lines[0]
        .strip_prefix("[big] ")
        .and_then(|l| l.strip_suffix(" [continued]"))
        .unwrap_or_else(|| panic!("not a continued piece: {:.80}", lines[0]));
    assert_eq!(piece.len(), 64 * 1024);
    assert!(piece.bytes().all(|b| b == b'x'));
    let last = lines[1].strip_prefix("[big] ").expect("the last piece");
    assert_eq!(
        last.len(),
        70_000_000 % (64 * 1024),
        "the last piece is not continued"
    );
    // The other dataflow still runs and still ticks; the daemon never reconnected.
    let list = cluster.dora(&["list"]);
    assert!(
        list.stdout
            .lines()
            .any(|l| l.contains("other") && l.contains("Running")),
        "{list:?}"
    );
    let ticks_before = cluster
        .dora(&["logs", "other", "ticker", "--tail", "1"])
        .stdout;
    wait_until("the ticker ticking on", || {
        cluster
            .dora(&["logs", "other", "ticker", "--tail", "1"])
            .stdout
            != ticks_before
    });
    let check = cluster.dora(&["check"]);
    assert!(check.stdout.contains("daemon: 1 connected"), "{check:?}");
    assert!(
        std::fs::read_dir(ticker.cwd().join("out").join(&other.uuid)).is_ok(),
        "the ticker logs"
    );
    let _ = big;
    let pids = cluster.pids.clone();
    let destroyed = cluster.destroy();
    assert!(destroyed.status.success(), "{destroyed:?}");
    for pid in pids {
        assert_gone(pid);
    }
}

#[test]
fn the_coordinator_stays_small_under_100_mb_of_output_and_logs_stream_it() {
    let mut cluster = Cluster::up(
        r#"
nodes:
  - id: flood
    path: shell
    args: seq -f '%098.0f' 1 1000000; echo last-line
"#,
    );
    let coordinator = cluster.pids[0];
    let before = rss_mib(coordinator);
    cluster.start_detached(Some("flood"));
    let mut peak = before;
    wait_until("the flood to end", || {
        peak = peak.max(rss_mib(coordinator));
        cluster.dora(&["list"]).stdout.contains("Succeeded")
    });
    let tail = cluster.dora(&["logs", "flood", "flood", "--tail", "5"]);
    assert!(tail.status.success(), "{tail:?}");
    let expected: Vec<String> = (999_997..=1_000_000)
        .map(|n| format!("[flood] {n:098}"))
        .chain(["[flood] last-line".to_owned()])
        .collect();
    assert_eq!(tail.stdout.lines().collect::<Vec<_>>(), expected);
    peak = peak.max(rss_mib(coordinator));
    // The whole log (its newest 64 MiB, the rest rotated away), streamed.
    let mut full = cluster.running(&["logs", "flood", "flood"]);
    full.wait_for_line("last-line");
    peak = peak.max(rss_mib(coordinator));
    let output = full.finish();
    assert!(output.status.success(), "{:?}", output.status);
    let after = rss_mib(coordinator);
    eprintln!("coordinator RSS: {before} MiB before, {peak} MiB at most, {after} MiB after");
    assert!(peak < 100, "the coordinator grew to {peak} MiB");
    cluster.destroy();
}

#[test]
fn logs_since_shows_only_recent_lines() {
    let mut cluster = Cluster::up(
        r#"
nodes:
  - id: slow
    path: shell
    args: echo old line; sleep 3; echo new line; sleep 600
"#,
    );
    cluster.start_detached(Some("slow"));
    cluster.wait_for(&["logs", "slow", "slow"], "new line");
    let recent = cluster.dora(&["logs", "slow", "slow", "--since", "2s"]);
    assert!(recent.status.success(), "{recent:?}");
    assert!(recent.stdout.contains("[slow] new line"), "{recent:?}");
    assert!(!recent.stdout.contains("old line"), "{recent:?}");
    let all = cluster.dora(&["logs", "slow", "slow", "--since", "2000-01-01T00:00:00Z"]);
    assert!(all.stdout.contains("old line") && all.stdout.contains("new line"));
    let bad = cluster.dora(&["logs", "slow", "slow", "--since", "yesterday-ish"]);
    assert!(!bad.status.success());
    assert!(bad.stderr.contains("RFC 3339"), "{bad:?}");
    cluster.destroy();
}

/// A local CLI connection (the coordinator's Unix socket) that passed the handshake.
fn cli_connection(port: &str) -> UnixStream {
    let port: u16 = port.parse().expect("a port number");
    let path = dora_control::access::control_socket_path(port);
    let mut stream = UnixStream::connect(&path).expect("connecting");
    let handshake = dora_message::coordinator::Handshake {
        protocol_version: dora_message::PROTOCOL_VERSION.into(),
        role: dora_message::coordinator::Role::Cli,
        token: None,
    };
    stream
        .write_all(&dora_message::frame::encode(&handshake).expect("encoding"))
        .expect("sending the handshake");
    let reply: Option<dora_message::coordinator::HandshakeReply> =
        dora_message::frame::read(&mut stream).expect("a reply");
    assert!(
        matches!(
            reply,
            Some(dora_message::coordinator::HandshakeReply::Accepted { .. })
        ),
        "{reply:?}"
    );
    stream
}

/// Whether the coordinator closed `stream` within `within`.
fn closed_within(stream: &mut UnixStream, within: Duration) -> bool {
    stream
        .set_read_timeout(Some(within))
        .expect("setting a timeout");
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(err) => !matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn unfinished_cli_frames_cost_what_arrived_and_are_dropped_after_their_deadline() {
    let mut cluster = Cluster::up(TICKER);
    let coordinator = cluster.pids[0];
    let port = cluster.ports.control.clone();
    // Above a CLI's budget: refused at the prefix.
    let mut over = cli_connection(&port);
    over.write_all(&(60u64 << 20).to_le_bytes()).unwrap();
    // The coordinator may already have refused the prefix and closed: a failed write is fine.
    let _ = over.write_all(b"a few bytes");
    assert!(closed_within(&mut over, Duration::from_secs(5)));
    // Within it, stalled: they cost only what arrived.
    let before = rss_mib(coordinator);
    let mut stalled: Vec<UnixStream> = (0..4)
        .map(|_| {
            let mut stream = cli_connection(&port);
            stream.write_all(&(16u64 << 20).to_le_bytes()).unwrap();
            stream.write_all(b"a few bytes").unwrap();
            stream
        })
        .collect();
    let list = cluster.dora(&["list"]);
    assert!(
        list.status.success(),
        "the coordinator answers meanwhile: {list:?}"
    );
    let grown = rss_mib(coordinator).saturating_sub(before);
    assert!(
        grown < 16,
        "4 frames announcing 16 MiB grew the coordinator by {grown} MiB"
    );
    // A small stalled frame: dropped after its deadline (10 s + 4 s for 1 MiB).
    let mut small = cli_connection(&port);
    // Taken before the prefix leaves, so the coordinator's deadline cannot start earlier.
    let started = Instant::now();
    small.write_all(&(1u64 << 20).to_le_bytes()).unwrap();
    small.write_all(b"a few bytes").unwrap();
    assert!(closed_within(&mut small, Duration::from_secs(30)));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(13),
        "dropped too early: {waited:?}"
    );
    assert!(cluster.dora(&["list"]).status.success());
    stalled.clear();
    cluster.destroy();
}

#[test]
fn a_node_that_never_reads_a_1_khz_input_gets_one_drop_summary_per_second() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: sleeper
    path: TEST_NODE
    args: slow-receive 100000
    inputs:
      tick:
        source: dora/timer/millis/1
        queue_size: 1
"#,
    );
    let run = Running::start(&["run", "dataflow.yml"], dataflow.cwd());
    let notices = |log: &str| -> Vec<(std::time::SystemTime, u64)> {
        log.lines()
            .filter_map(|l| {
                let entry = dora_daemon::log_file::parse_entry(l)?;
                let count = entry.text.strip_prefix("dropped ")?.split(' ').next()?;
                Some((entry.time, count.parse().ok()?))
            })
            .collect()
    };
    dataflow.wait_for_log("sleeper", "dropped");
    wait_until("four drop notices", || {
        notices(&dataflow.log("sleeper")).len() >= 4
    });
    // Before stopping: the end of the run says what is left at once.
    let said = notices(&dataflow.log("sleeper"));
    run.signal(nix::sys::signal::Signal::SIGINT);
    run.signal(nix::sys::signal::Signal::SIGINT);
    let _ = run.finish();
    for pair in said.windows(2) {
        let gap = pair[1].0.duration_since(pair[0].0).unwrap_or_default();
        assert!(
            // One a second by the daemon's clock; the file's times may differ by the time
            // each write took on a loaded machine.
            gap >= Duration::from_millis(500),
            "two notices {gap:?} apart: {said:?}"
        );
    }
    assert!(
        said[1..].iter().any(|&(_, count)| count > 100),
        "summaries carry counts: {said:?}"
    );
}
