//! The Rust ROS 2 API (`dora-ros2`) against a real DDS implementation that ROS 2 uses: a dora
//! node (`tests/ros2_api_node`) publishes and subscribes `std_msgs/String` through
//! `Ros2Node`, with its subscription merged into its event stream, and talks to the Eclipse
//! Cyclone DDS peer built from `ros2_ws/interop_peers`.
//!
//! Every case runs inside a private network namespace (`unshare -n`, loopback with multicast
//! and a 224.0.0.0/4 route), so discovery traffic never reaches the machine's interfaces.
//! Volatile topics lose what is sent before discovery completes: the peer publisher waits for
//! a matched reader, and the peer subscriber needs only part of what the node publishes.

use std::path::Path;

use crate::support::{
    dds::{self, peer},
    helpers::ros2_api_node as api_node,
    Dataflow,
};

/// Runs `script` in a private network namespace with `$PEER` (the Cyclone DDS string peer)
/// and `$NODE` (the ROS 2 API test node).
fn in_private_network(script: &str, cwd: &Path) -> (bool, String) {
    dds::in_private_network(
        script,
        cwd,
        &[("PEER", &peer("string_peer")), ("NODE", &api_node())],
    )
}

#[test]
fn ros2_api_node_publishes_and_subscribes_beside_its_dora_inputs() {
    let dataflow = Dataflow::new(&format!(
        r#"
nodes:
  - id: api
    path: {}
    args: pubsub /from_api to_api 100 5
    inputs:
      tick: dora/timer/millis/30
"#,
        api_node().display()
    ));
    // The peer subscriber needs 20 of the node's 100 messages; the peer publisher waits until
    // the node's subscription matched, then sends 5.
    let script = r#"
"$PEER" sub /from_api 20 20000 > sub.out 2>&1 &
sub=$!
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
"$PEER" pub /to_api 5 50 hello > pub.out 2>&1; echo "pub-exit=$?"
wait $sub; echo "sub-exit=$?"
wait $run; echo "run-exit=$?"
cat sub.out pub.out run.out
"#;
    let (_, output) = in_private_network(script, dataflow.cwd());
    // ROS → node: every message, in order, through the merged event stream.
    assert!(output.contains("pub-exit=0"), "{output}");
    for i in 0..5 {
        assert!(
            output.contains(&format!("[api] got: hello {i}")),
            "{output}"
        );
    }
    // Node → ROS: at least the 20 the peer waited for, with their content.
    assert!(
        output.contains("sub-exit=0"),
        "the peer got 20 messages: {output}"
    );
    assert!(output.contains("received: api "), "{output}");
    // The node ended by itself once both counts were reached.
    assert!(
        output.contains("[api] published 100, received 5"),
        "{output}"
    );
    assert!(output.contains("run-exit=0"), "{output}");
}

#[test]
fn ros2_api_reports_bad_names_types_and_data() {
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let (ok, output) = in_private_network(r#""$NODE" errors"#, dir.path());
    assert!(ok, "{output}");
    for expected in [
        "error: node name: `bad/name` is not a valid ROS 2 name: a node name cannot contain `/`",
        "error: domain: domain_id `300` is not a ROS 2 domain id (0 to 232)",
        "error: topic: `/a//b` is not a valid ROS 2 name: a name cannot contain `//`",
        "error: type: unknown ROS 2 type `nope_msgs/msg/Nope`; looked in",
        "resolved: /checker/out",
        "error: not a struct: publishing on /checker/out: expected a struct array shaped like \
         std_msgs/msg/String, got Int32",
        "error: field type: publishing on /checker/out: row 0: data: expected Utf8, got Int32",
    ] {
        assert!(
            output.contains(expected),
            "missing `{expected}` in:\n{output}"
        );
    }
}

#[test]
fn ros2_api_node_is_announced_on_ros_discovery_info_with_its_topics() {
    let dataflow = Dataflow::new(&format!(
        r#"
nodes:
  - id: api
    path: {}
    args: pubsub /from_api /to_api 60 0
    inputs:
      tick: dora/timer/millis/100
"#,
        api_node().display()
    ));
    // The reader of `ros_discovery_info` joins once the node's endpoints exist: the
    // transient-local announcement gives it the node's last state.
    let script = r#"
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
for i in $(seq 200); do grep -q "ros2 node /api_node" run.out && break; sleep 0.05; done
"$(dirname "$PEER")/interop_peer" discovery api_node 20000 > discovery.out 2>&1
echo "discovery-exit=$?"
kill -TERM $run; wait $run
cat discovery.out run.out
"#;
    let (_, output) = in_private_network(script, dataflow.cwd());
    assert!(output.contains("discovery-exit=0"), "{output}");
    assert!(
        output.contains("node namespace=/ name=api_node readers=1 writers=1"),
        "{output}"
    );
    let writer = output
        .lines()
        .find(|l| l.starts_with("writer "))
        .unwrap_or_default();
    assert!(writer.ends_with("topic=rt/from_api"), "{output}");
    let reader = output
        .lines()
        .find(|l| l.starts_with("reader "))
        .unwrap_or_default();
    assert!(reader.ends_with("topic=rt/to_api"), "{output}");
}
