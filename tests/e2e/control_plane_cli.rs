//! The lifecycle commands' promises to the person at the shell: where the coordinator and
//! daemon listen, dataflow names, which dataflow `stop` means, the second Ctrl-C, and what the
//! commands say when there is no coordinator or no such dataflow. Real binary, random ports.

use crate::support::{
    assert_gone,
    cluster::{Cluster, TICKER},
    free_port, pid_in, run_dora, Dataflow,
};

/// The listening TCP sockets on `port`, as (address, port) in the kernel's hex notation,
/// from both `/proc/net/tcp` and `/proc/net/tcp6`.
fn listeners(port: &str) -> Vec<String> {
    let port: u16 = port.parse().expect("a port");
    let suffix = format!(":{port:04X}");
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is field 1, st (state) field 3; 0A is LISTEN.
            if fields.len() > 3 && fields[3] == "0A" && fields[1].ends_with(&suffix) {
                found.push(format!("{table} {}", fields[1]));
            }
        }
    }
    found
}

#[test]
fn coordinator_and_daemon_listen_only_on_loopback_by_default() {
    let cluster = Cluster::up(TICKER);
    let ports = &cluster.ports;
    for (what, port) in [("control", &ports.control), ("daemon", &ports.daemon)] {
        let found = listeners(port);
        assert!(
            !found.is_empty(),
            "nothing listens on the {what} port {port}"
        );
        for socket in &found {
            // 127.0.0.1 in /proc/net/tcp's little-endian hex.
            assert!(
                socket.starts_with("/proc/net/tcp 0100007F:"),
                "the {what} port listens beyond loopback: {socket}"
            );
        }
    }
    // The daemon's local port, when it listens, is loopback too.
    for socket in listeners(&ports.local) {
        assert!(
            socket.starts_with("/proc/net/tcp 0100007F:"),
            "the local listen port listens beyond loopback: {socket}"
        );
    }
}

#[test]
fn dataflow_names_are_generated_and_unique_among_running_dataflows() {
    let cluster = Cluster::up(TICKER);

    let name = cluster.start_detached(None).name;
    let words: Vec<&str> = name.split('-').collect();
    assert!(
        words.len() >= 2
            && words[..2]
                .iter()
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())),
        "not an adjective-noun name: `{name}`"
    );

    let taken = cluster.dora(&["start", "dataflow.yml", "--detach", "--name", &name]);
    assert!(!taken.status.success(), "{taken:?}");
    assert!(
        taken
            .stderr
            .contains(&format!("a running dataflow is already named `{name}`")),
        "{taken:?}"
    );
    let list = cluster.dora(&["list"]);
    assert_eq!(list.stdout.matches("Running").count(), 1, "{list:?}");

    // Once it stopped, the name is free again.
    let stop = cluster.dora(&["stop", "--name", &name]);
    assert!(stop.status.success(), "{stop:?}");
    let again = cluster.start_detached(Some(&name));
    assert_eq!(again.name, name);
}

#[test]
fn stop_among_several_without_a_terminal_lists_them_and_stops_nothing() {
    let cluster = Cluster::up(TICKER);
    let ids: Vec<String> = ["first-clock", "second-clock"]
        .into_iter()
        .map(|name| cluster.start_detached(Some(name)).uuid)
        .collect();
    // Tests run with stdin not a terminal: `stop` must not guess.
    let stop = cluster.dora(&["stop"]);
    assert!(!stop.status.success(), "{stop:?}");
    assert!(
        stop.stderr.contains("several dataflows are running"),
        "{stop:?}"
    );
    for (id, name) in ids.iter().zip(["first-clock", "second-clock"]) {
        assert!(
            stop.stderr.contains(id) && stop.stderr.contains(name),
            "`{name}` ({id}) is not listed: {stop:?}"
        );
    }
    let list = cluster.dora(&["list"]);
    assert_eq!(list.stdout.matches("Running").count(), 2, "{list:?}");
}

#[test]
fn commands_without_a_coordinator_say_so_and_how_to_start_one() {
    let dataflow = Dataflow::new(TICKER);
    let cwd = dataflow.cwd();
    let port = free_port().to_string();
    let commands: [&[&str]; 4] = [
        &["list"],
        &["stop", "--name", "clock"],
        &["logs", "clock", "ticker"],
        &["start", "dataflow.yml", "--detach"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.extend(["--coordinator-port", &port]);
        let output = run_dora(&args, cwd);
        assert!(!output.status.success(), "{command:?}: {output:?}");
        assert!(
            output.stderr.contains("no dora coordinator is reachable")
                && output.stderr.contains(&port)
                && output.stderr.contains("dora up"),
            "{command:?}: {output:?}"
        );
    }
}

#[test]
fn logs_of_an_unknown_dataflow_lists_the_known_ones() {
    let cluster = Cluster::up(TICKER);
    cluster.start_detached(Some("clock"));
    let logs = cluster.dora(&["logs", "nosuch", "ticker"]);
    assert!(!logs.status.success(), "{logs:?}");
    assert!(
        logs.stderr.contains("no dataflow `nosuch`") && logs.stderr.contains("clock"),
        "{logs:?}"
    );
}

#[test]
fn second_ctrl_c_detaches_from_a_dataflow_that_is_still_stopping() {
    let mut cluster = Cluster::up(
        r#"
nodes:
  - id: stubborn
    path: TEST_NODE
    args: ignore-stop
"#,
    );
    let mut run = cluster.running(&["start", "dataflow.yml"]);
    let stubborn = pid_in(&run.wait_for_line("[stubborn] ignoring pid="));
    run.signal(nix::sys::signal::Signal::SIGINT);
    // The first Ctrl-C stopped the dataflow: the node saw Stop (and ignores it).
    run.wait_for_line("[stubborn] ignoring stop");
    run.signal(nix::sys::signal::Signal::SIGINT);
    let output = run.finish();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    assert!(
        output.stderr.contains("detached") && output.stderr.contains("still stopping"),
        "{output:?}"
    );
    // The CLI left; the dataflow keeps stopping (its grace period runs) without it.
    let list = cluster.dora(&["list"]);
    assert!(list.status.success(), "{list:?}");
    let destroy = cluster.destroy();
    assert!(destroy.status.success(), "{destroy:?}");
    assert_gone(stubborn);
}
