//! The `ros2:` bridge node: every form parses, and each mistake is named with its position.

mod common;

use std::time::Duration;

use common::{diagnostics, parse};
use dora_descriptor::{NodeKind, NodeSource, Ros2Bridge, Ros2Direction, Ros2Qos, Ros2Role};

fn bridge(text: &str, id: &str) -> Ros2Bridge {
    let descriptor = parse(text).unwrap_or_else(|err| panic!("{err}"));
    let node = descriptor.node(id).expect("the node");
    match &node.kind {
        NodeKind::Custom(custom) => match &custom.source {
            NodeSource::Ros2(bridge) => (**bridge).clone(),
            other => panic!("not a bridge: {other:?}"),
        },
        other => panic!("not a bridge: {other:?}"),
    }
}

const TALKER: &str = r#"
  - id: talker
    path: talker
    outputs: [cmd]
"#;

#[test]
fn single_topic_publish_and_subscribe() {
    let text = format!(
        "nodes:{TALKER}
  - id: to-ros
    ros2:
      topic: /turtle1/cmd_vel
      message_type: geometry_msgs/Twist
      direction: publish
    inputs:
      twist: talker/cmd
  - id: from-ros
    ros2:
      topic: /turtle1/pose
      message_type: turtlesim/msg/Pose
      direction: subscribe
      domain_id: 7
      node_name: pose_bridge
      namespace: /robot
    outputs: [pose]
"
    );
    let publish = bridge(&text, "to-ros");
    assert_eq!(publish.topics.len(), 1);
    assert_eq!(publish.topics[0].direction, Ros2Direction::Publish);
    assert_eq!(publish.topics[0].dataflow_id, "twist");
    assert_eq!(publish.topics[0].qos, Ros2Qos::default());
    let subscribe = bridge(&text, "from-ros");
    assert_eq!(subscribe.topics[0].direction, Ros2Direction::Subscribe);
    assert_eq!(subscribe.topics[0].dataflow_id, "pose");
    assert_eq!(subscribe.topics[0].message_type, "turtlesim/msg/Pose");
    assert_eq!(subscribe.domain_id, Some(7));
    assert_eq!(subscribe.node_name.as_deref(), Some("pose_bridge"));
    assert_eq!(subscribe.namespace.as_deref(), Some("/robot"));
}

#[test]
fn several_topics_with_shared_and_own_qos() {
    let text = format!(
        "nodes:{TALKER}
  - id: bridge
    ros2:
      qos: {{ reliable: false, keep_last: 5 }}
      topics:
        - topic: /chatter
          message_type: std_msgs/String
          direction: subscribe
          output: chatter
        - topic: /cmd
          message_type: geometry_msgs/msg/Twist
          direction: publish
          input: cmd
          qos: {{ reliable: true, durability: transient_local, keep_all: true, deadline: 0.5 }}
    inputs:
      cmd: talker/cmd
    outputs: [chatter]
"
    );
    let bridge = bridge(&text, "bridge");
    assert_eq!(bridge.topics.len(), 2);
    assert_eq!(
        bridge.topics[0].qos,
        Ros2Qos {
            reliable: false,
            keep_last: Some(5),
            ..Ros2Qos::default()
        }
    );
    assert_eq!(
        bridge.topics[1].qos,
        Ros2Qos {
            reliable: true,
            transient_local: true,
            keep_last: None,
            deadline: Some(Duration::from_millis(500)),
            ..Ros2Qos::default()
        }
    );
}

#[test]
fn service_client_and_server() {
    let text = format!(
        "nodes:{TALKER}
  - id: adder
    ros2:
      service: /add_two_ints
      service_type: example_interfaces/AddTwoInts
      role: client
    inputs:
      request: talker/cmd
    outputs: [sum]
"
    );
    let bridge = bridge(&text, "adder");
    assert_eq!(bridge.services.len(), 1);
    assert_eq!(bridge.services[0].role, Ros2Role::Client);
}

#[test]
fn mistakes_are_named_with_their_position() {
    let cases = [
        (
            "  - id: b\n    ros2:\n      topic: /x\n      message_type: std_msgs/String\n      direction: sideways\n    outputs: [o]\n",
            "nodes[1].ros2.direction",
            "unknown direction `sideways`",
        ),
        (
            "  - id: b\n    ros2:\n      topik: /x\n    outputs: [o]\n",
            "nodes[1].ros2.topik",
            "did you mean `topic`?",
        ),
        (
            "  - id: b\n    ros2:\n      topic: /x\n      message_type: std_msgs/String\n      direction: subscribe\n    outputs: [o, p]\n",
            "nodes[1].ros2",
            "exactly one output",
        ),
        (
            "  - id: b\n    ros2:\n      topics:\n        - topic: /x\n          message_type: std_msgs/String\n          direction: subscribe\n          output: wrong\n    outputs: [right]\n",
            "nodes[1].ros2.topics[0].output",
            "not one of the node's outputs",
        ),
        (
            "  - id: b\n    ros2:\n      topic: /x\n      message_type: std_msgs/String\n      direction: publish\n      qos: { durability: forever }\n    inputs:\n      i: talker/cmd\n",
            "nodes[1].ros2.qos.durability",
            "unknown durability `forever`",
        ),
        (
            "  - id: b\n    ros2:\n      topic: /x\n      service: /y\n    outputs: [o]\n",
            "nodes[1].ros2",
            "one of `topic`, `topics` or `service`",
        ),
        (
            "  - id: b\n    ros2:\n      topic: /x\n      message_type: std_msgs/String\n      direction: subscribe\n    args: --nope\n    outputs: [o]\n",
            "nodes[1].args",
            "a bridge has no process",
        ),
    ];
    for (node, field, message) in cases {
        let text = format!("nodes:{TALKER}{node}");
        let found = diagnostics(&text);
        assert!(
            found
                .iter()
                .any(|d| d.field == field && d.message.contains(message) && d.line > 0),
            "expected `{field}: …{message}…`, got {found:#?}"
        );
    }
}
