//! ROS 2 services through the bridge against eProsima Fast DDS (Debian's `libfastrtps-dev`)
//! speaking rmw_fastrtps' service mapping (`ros2_ws/interop_peers/fastdds_add_two_ints_peer`):
//! plain CDR payloads, requests naming the client's reply reader as related sample identity,
//! replies tied to their request by `PID_RELATED_SAMPLE_IDENTITY`. A dataflow server answers a
//! Fast DDS client, and a dataflow client gets its answers from a Fast DDS server.
//!
//! Every case runs inside a private network namespace (`unshare -n`, loopback with multicast
//! and a 224.0.0.0/4 route), so discovery traffic never reaches the machine's interfaces, and
//! every wait is bounded (the peer's own timeouts, the polling loops, `timeout -s KILL`).

mod common;

use std::path::{Path, PathBuf};

use common::Dataflow;

fn peer() -> PathBuf {
    common::interop_peers().join("fastdds_add_two_ints_peer")
}

fn service_node() -> PathBuf {
    common::built_binary("dora-ros2-service-test-nodes", "ros2-service-node")
}

fn in_private_network(script: &str, cwd: &Path) -> (bool, String) {
    common::in_private_network(script, cwd, &[("PEER", &peer())])
}

fn dataflow(yaml: &str) -> Dataflow {
    Dataflow::new(&yaml.replace("SERVICE_NODE", &service_node().display().to_string()))
}

#[test]
fn ros2_service_dataflow_server_answers_a_fast_dds_client() {
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
    // The client sends its three requests at once, so each reply must find its own request
    // by the related sample identity.
    let script = r#"
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
"$PEER" client /add_two_ints 2 30 20000 3 > peer.out 2>&1; echo "peer-exit=$?"
kill -TERM $run; wait $run
cat peer.out run.out
"#;
    let (_, output) = in_private_network(script, dataflow.dir.path());
    assert!(output.contains("peer-exit=0"), "{output}");
    for k in 1..=3 {
        assert!(
            output.contains(&format!("a={} b={} sum: {}", 2 * k, 30 * k, 32 * k)),
            "{output}"
        );
    }
    assert!(output.contains("answered 3"), "{output}");
    assert!(
        !output.contains("ignored a reply"),
        "every reply named this client and a pending request: {output}"
    );
    // The dataflow saw the requests with integer request ids.
    assert!(
        output.contains("[adder] request a=2 b=30 id=Some(Integer(1))"),
        "{output}"
    );
}

#[test]
fn ros2_service_dataflow_server_answers_two_fast_dds_clients_each_with_its_own_replies() {
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
    args: add-server 6
    inputs:
      request: add-service/request
    outputs: [sum]
"#,
    );
    // Both clients' reply readers see every reply; each keeps only those that name it.
    let script = r#"
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
"$PEER" client /add_two_ints 1 10 20000 3 > one.out 2>&1 &
one=$!
"$PEER" client /add_two_ints 5 50 20000 3 > two.out 2>&1; echo "two-exit=$?"
wait $one; echo "one-exit=$?"
kill -TERM $run; wait $run
echo "--- one"; cat one.out; echo "--- two"; cat two.out; cat run.out
"#;
    let (_, output) = in_private_network(script, dataflow.dir.path());
    assert!(output.contains("one-exit=0"), "{output}");
    assert!(output.contains("two-exit=0"), "{output}");
    let (one, two) = output
        .split_once("--- two")
        .unwrap_or_else(|| panic!("{output}"));
    for k in 1..=3 {
        assert!(
            one.contains(&format!("a={k} b={} sum: {}", 10 * k, 11 * k)),
            "{output}"
        );
        assert!(
            two.contains(&format!("a={} b={} sum: {}", 5 * k, 50 * k, 55 * k)),
            "{output}"
        );
    }
}

#[test]
fn ros2_service_dataflow_client_gets_answers_from_a_fast_dds_server() {
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
"$PEER" server /add_two_ints 30 3 > peer.out 2>&1 &
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
        // Like an rmw_fastrtps client, the bridge names its reply reader in every request.
        assert!(
            output.contains(&format!(
                "request: a={k} b={} seq={k} related_to_reader=yes",
                1000 * k
            )),
            "{output}"
        );
        assert!(
            output.contains(&format!("[caller] reply req-{k} sum={}", 1001 * k)),
            "the reply carries the request's request_id: {output}"
        );
    }
}
