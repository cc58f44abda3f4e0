//! The ROS 2 bridge against a real DDS implementation that ROS 2 uses: Eclipse Cyclone DDS
//! peers built from `ros2_ws/interop_peers` with Debian's `cyclonedds-dev`.
//!
//! Every case runs inside a private network namespace (`unshare -n`, loopback with multicast
//! and a 224.0.0.0/4 route), so discovery traffic never reaches the machine's interfaces.
//! Volatile topics lose what is sent before discovery completes: the cases wait for matches
//! (the peer publisher waits for a reader) or assert a lower bound on what arrived.

use std::path::Path;

use crate::support::{
    dds::{self, peer},
    helpers::ros2_example_controller,
    repo, Dataflow,
};

/// Runs `script` in a private network namespace with `$PEER` (the Cyclone DDS string peer).
fn in_private_network(script: &str, cwd: &Path) -> (bool, String) {
    dds::in_private_network(script, cwd, &[("PEER", &peer("string_peer"))])
}

#[test]
fn ros2_string_from_ros_reaches_the_dataflow() {
    let dataflow = Dataflow::new(dds::CHATTER_TO_PRINTER);
    let script = r#"
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
"$PEER" pub /chatter 5 50 hello || echo PEER-FAILED
for i in $(seq 100); do grep -q "got: hello 4" run.out && break; sleep 0.05; done
kill -TERM $run; wait $run
cat run.out
"#;
    let (_, output) = in_private_network(script, dataflow.cwd());
    assert!(!output.contains("PEER-FAILED"), "{output}");
    for i in 0..5 {
        assert!(
            output.contains(&format!("[printer] got: hello {i}")),
            "{output}"
        );
    }
}

#[test]
fn ros2_string_from_the_dataflow_reaches_ros() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: talker
    path: TEST_NODE
    args: ros-talk 100 30
    outputs: [out]
  - id: ros-out
    ros2:
      topic: from_dora
      message_type: std_msgs/msg/String
      direction: publish
    inputs:
      text: talker/out
"#,
    );
    let script = r#"
"$PEER" sub /from_dora 20 20000 > peer.out 2>&1 &
peer=$!
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1
wait $peer; echo "peer-exit=$?"
cat peer.out run.out
"#;
    let (_, output) = in_private_network(script, dataflow.cwd());
    assert!(
        output.contains("peer-exit=0"),
        "the peer got 20 messages: {output}"
    );
    assert!(output.contains("received: dora "), "{output}");
    assert!(output.contains("finished successfully"), "{output}");
}

#[test]
fn ros2_unknown_message_type_is_named_before_any_traffic() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: ros-in
    ros2:
      topic: /x
      message_type: nope_msgs/Nope
      direction: subscribe
    outputs: [x]
"#,
    );
    let script = r#""$DORA" run dataflow.yml; echo "exit=$?""#;
    let (_, output) = in_private_network(script, dataflow.cwd());
    assert!(
        output.contains("node `ros-in` exited with code 1"),
        "{output}"
    );
    assert!(
        output.contains("unknown ROS 2 type `nope_msgs/msg/Nope`"),
        "{output}"
    );
    assert!(
        output.contains("looked in"),
        "where it looked is listed: {output}"
    );
    assert!(output.contains("exit=1"), "{output}");
}

#[test]
fn ros2_example_drives_a_turtle_with_twist_and_reads_its_pose() {
    let root = repo();
    // The example's dataflow, pointed at the debug build and made to end by itself.
    let yaml = std::fs::read_to_string(root.join("examples/ros2-bridge/dataflow.yml"))
        .expect("reading the example");
    let controller = ros2_example_controller();
    let yaml = yaml
        .replace(
            "path: ../../target/release/ros2-bridge-example-controller",
            &format!("path: {}\n    env:\n      COUNT: 40", controller.display()),
        )
        .replace(
            "msg_paths: [msg]",
            &format!(
                "msg_paths: [{}]",
                root.join("examples/ros2-bridge/msg").display()
            ),
        );
    let dataflow = Dataflow::new(&yaml);
    let turtle = peer("turtle_peer");
    let script = format!(
        r#"
"{turtle}" 8000 10 > turtle.out 2>&1 &
turtle=$!
"$DORA" run dataflow.yml --grace-duration 1s > run.out 2>&1 &
run=$!
wait $turtle; echo "turtle-exit=$?"
kill -TERM $run; wait $run
cat turtle.out run.out
"#,
        turtle = turtle.display()
    );
    let (_, output) = in_private_network(&script, dataflow.cwd());
    assert!(
        output.contains("turtle-exit=0"),
        "the turtle got commands: {output}"
    );
    assert!(
        output.contains("cmd_vel: linear.x=1.00 angular.z=0.50"),
        "{output}"
    );
    assert!(
        output.contains("[controller] pose: x="),
        "poses came back: {output}"
    );
}
