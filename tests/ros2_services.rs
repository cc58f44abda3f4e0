//! ROS 2 services through the bridge (issue 4, test case 5) against Eclipse Cyclone DDS
//! peers speaking rmw_cyclonedds' service mapping (`ros2_ws/interop_peers/add_two_ints_peer`,
//! built with Debian's `cyclonedds-dev`): a dataflow server answers a Cyclone client, and a
//! dataflow client gets its answers from a Cyclone server.
//!
//! Every case runs inside a private network namespace (`unshare -n`, loopback with multicast
//! and a 224.0.0.0/4 route), so discovery traffic never reaches the machine's interfaces, and
//! every wait is bounded (the peers' own timeouts, the polling loops, `timeout -s KILL`).

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use common::{dora, Dataflow};

/// Builds the Cyclone DDS peers once per test binary; returns the AddTwoInts peer.
fn peer() -> &'static Path {
    static PEER: OnceLock<PathBuf> = OnceLock::new();
    PEER.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = root.join("target/ros2-interop-peers");
        let status = Command::new("sh")
            .arg(root.join("ros2_ws/interop_peers/build.sh"))
            .arg(&out)
            .status()
            .expect("running the peer build (needs cyclonedds-dev, cyclonedds-tools, cc)");
        assert!(status.success(), "building the Cyclone DDS peers failed");
        out.join("add_two_ints_peer")
    })
}

/// Builds the service test node once per test binary and returns its path.
fn service_node() -> &'static Path {
    static NODE: OnceLock<PathBuf> = OnceLock::new();
    NODE.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "dora-ros2-service-test-nodes"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo to build the service test node");
        assert!(status.success(), "building the service test node failed");
        let path = dora()
            .parent()
            .expect("the dora binary lives in a folder")
            .join("ros2-service-node");
        assert!(path.exists(), "{} was not built", path.display());
        path
    })
}

/// Runs `script` with `sh` in a fresh network namespace; returns (success, output).
fn in_private_network(script: &str, cwd: &Path) -> (bool, String) {
    let setup =
        "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo";
    let mut command = Command::new("timeout");
    command.args(["-s", "KILL", "90", "unshare"]);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } != 0 {
        command.arg("-r");
    }
    let output = command
        .args(["-n", "sh", "-c", &format!("{setup} && {script}")])
        .current_dir(cwd)
        .env("DORA", dora())
        .env("PEER", peer())
        .output()
        .expect("running unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

fn dataflow(yaml: &str) -> Dataflow {
    Dataflow::new(&yaml.replace("SERVICE_NODE", &service_node().display().to_string()))
}

#[test]
fn ros2_service_dataflow_server_answers_a_cyclone_client() {
    let dataflow = dataflow(
        r#"
nodes:
  - id: add-service
    ros2:
      service: /add_two_ints
      service_type: example_interfaces/AddTwoInts
      role: server
    outputs: [request]
    inputs:
      reply: adder/sum
  - id: adder
    path: SERVICE_NODE
    args: add-server 3
    inputs:
      request: add-service/request
    outputs: [sum]
"#,
    );
    let script = r#"
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
"$PEER" client /add_two_ints 3 20000 > peer.out 2>&1; echo "peer-exit=$?"
kill -TERM $run; wait $run
cat peer.out run.out
"#;
    let (_, output) = in_private_network(script, dataflow.dir.path());
    assert!(output.contains("peer-exit=0"), "{output}");
    for (seq, sum) in [(1, 101), (2, 202), (3, 303)] {
        assert!(
            output.contains(&format!("reply: seq={seq} sum={sum}")),
            "{output}"
        );
    }
    // The dataflow saw the requests with integer request ids.
    assert!(
        output.contains("[adder] request a=1 b=100 id=Some(Integer(1))"),
        "{output}"
    );
}

#[test]
fn ros2_service_dataflow_client_gets_answers_from_a_cyclone_server() {
    let dataflow = dataflow(
        r#"
nodes:
  - id: caller
    path: SERVICE_NODE
    args: add-client 3
    outputs: [request]
    inputs:
      reply: add-client/reply
  - id: add-client
    ros2:
      service: add_two_ints
      service_type: example_interfaces/srv/AddTwoInts
      role: client
    outputs: [reply]
    inputs:
      request: caller/request
"#,
    );
    let script = r#"
"$PEER" server /add_two_ints 3 30000 > peer.out 2>&1 &
peer=$!
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
wait $peer; echo "peer-exit=$?"
for i in $(seq 100); do grep -q "replies 3" run.out && break; sleep 0.05; done
kill -TERM $run; wait $run
cat peer.out run.out
"#;
    let (_, output) = in_private_network(script, dataflow.dir.path());
    assert!(output.contains("peer-exit=0"), "{output}");
    for k in 1..=3 {
        assert!(
            output.contains(&format!("request: a={k} b={}", 1000 * k)),
            "{output}"
        );
        assert!(
            output.contains(&format!("[caller] reply req-{k} sum={}", 1001 * k)),
            "the reply carries the request's request_id: {output}"
        );
    }
}
