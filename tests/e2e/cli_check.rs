//! `dora check`: dataflow validation and the coordinator's reachability.

use std::net::TcpListener;
use std::process::{Command, Output};

use crate::support::{dora, fixture, free_port, text};

fn dora_check(args: &[&str]) -> Output {
    Command::new(dora())
        .arg("check")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("failed to run dora")
}

#[test]
fn check_valid_dataflow_succeeds_without_coordinator() {
    let dataflow = fixture("cli/dataflow.yml");
    let port = free_port().to_string();
    let out = dora_check(&[
        "--dataflow",
        dataflow.to_str().expect("utf-8 path"),
        "--coordinator-port",
        &port,
    ]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "dataflow {} is valid: 5 nodes, 10 edges, 2 timers",
            dataflow.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("coordinator: not reachable at 127.0.0.1:{port}")),
        "{stdout}"
    );
}

#[test]
fn check_invalid_dataflow_fails_with_positions() {
    let dataflow = fixture("cli/invalid.yml");
    let port = free_port().to_string();
    let out = dora_check(&[
        "--dataflow",
        dataflow.to_str().expect("utf-8 path"),
        "--coordinator-port",
        &port,
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is invalid"), "{stderr}");
    assert!(
        stderr.contains("invalid.yml:5:"),
        "no line:column: {stderr}"
    );
    assert!(
        text(&out.stdout).contains("coordinator: not reachable"),
        "coordinator state not reported"
    );
}

#[test]
fn check_without_dataflow_fails_when_coordinator_unreachable() {
    let port = free_port().to_string();
    let out = dora_check(&["--coordinator-port", &port]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!(
            "coordinator: not reachable at 127.0.0.1:{port}\ndaemon: unknown (no coordinator)\n"
        )
    );
}

#[test]
fn check_without_dataflow_fails_when_something_else_listens() {
    // Not a coordinator: it accepts and hangs up without answering the handshake.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = listener
        .local_addr()
        .expect("local addr")
        .port()
        .to_string();
    let server = std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            drop(stream);
        }
    });
    let out = dora_check(&[
        "--coordinator-addr",
        "127.0.0.1",
        "--coordinator-port",
        &port,
    ]);
    assert!(!out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("coordinator: not reachable at 127.0.0.1:{port}")),
        "{}",
        text(&out.stdout)
    );
    // A local CLI reaches a coordinator through its Unix socket and so never connected
    // here: end the listener's wait.
    let _ = std::net::TcpStream::connect(format!("127.0.0.1:{port}"));
    server.join().expect("the listener thread");
}
