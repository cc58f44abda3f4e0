//! A dora node that is also a ROS 2 node through `dora-ros2`, for `tests/e2e/ros2_node_api.rs`.
//!
//! - `pubsub PUB_TOPIC SUB_TOPIC PUB_COUNT RECV_COUNT`: on each `tick` input publishes
//!   `std_msgs/String` "api N" on PUB_TOPIC (PUB_COUNT messages); prints `got: …` for each
//!   message of SUB_TOPIC; returns once both counts are reached (or at `Stop`).
//! - `errors`: prints the errors of bad names, an unknown type and bad publish data
//!   (`error: …`), without joining a dataflow.

use std::{process::ExitCode, sync::Arc};

use dora_node_api::{
    arrow::{
        array::{Array, ArrayRef, Int32Array, StringArray, StructArray},
        schema::{DataType, Field},
    },
    DoraNode, Event,
};
use dora_ros2::{EventStreamExt, Merged, Qos, Ros2Node, RosNodeOptions};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let result = match arg(0) {
        "pubsub" => pubsub(
            arg(1),
            arg(2),
            arg(3).parse().unwrap_or(10),
            arg(4).parse().unwrap_or(1),
        ),
        "errors" => errors(),
        other => Err(format!("unknown mode `{other}`").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ros2-api-node: {err}");
            ExitCode::FAILURE
        }
    }
}

fn string_message(text: &str) -> StructArray {
    let data: ArrayRef = Arc::new(StringArray::from(vec![text]));
    StructArray::from(vec![(
        Arc::new(Field::new("data", DataType::Utf8, false)),
        data,
    )])
}

fn pubsub(pub_topic: &str, sub_topic: &str, pub_count: usize, recv_count: usize) -> Result<()> {
    let (_node, events) = DoraNode::init_from_env()?;
    let ros = Ros2Node::new(&RosNodeOptions {
        name: "api_node",
        namespace: "/",
        domain_id: None,
    })?;
    let publisher = ros.create_publisher(pub_topic, "std_msgs/String", Qos::default())?;
    let subscription = ros.create_subscription(sub_topic, "std_msgs/msg/String", Qos::default())?;
    let from_sub = subscription.id();
    println!(
        "ros2 node {}{} publishes {} and subscribes to {}",
        ros.namespace(),
        ros.name(),
        publisher.topic(),
        subscription.topic()
    );
    let mut events = events.merge_ros2(subscription);
    let (mut published, mut received) = (0, 0);
    while let Some(item) = events.recv() {
        match item {
            Merged::Dora(Event::Input { id, .. }) if id.as_str() == "tick" => {
                if published < pub_count {
                    publisher.publish(&string_message(&format!("api {published}")))?;
                    published += 1;
                }
            }
            Merged::Dora(Event::Stop) => break,
            Merged::Dora(_) => {}
            Merged::Ros2 { subscription, data } if subscription == from_sub => {
                let rows = data
                    .as_any()
                    .downcast_ref::<StructArray>()
                    .ok_or("a message is a struct array")?;
                let text = rows
                    .column_by_name("data")
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                    .ok_or("std_msgs/String has a Utf8 `data` field")?;
                for row in 0..text.len() {
                    println!("got: {}", text.value(row));
                }
                received += text.len();
            }
            Merged::Ros2Error { error, .. } => eprintln!("ros2 error: {error}"),
            other => return Err(format!("unexpected item {other:?}").into()),
        }
        if published >= pub_count && received >= recv_count {
            break;
        }
    }
    println!("published {published}, received {received}");
    Ok(())
}

fn errors() -> Result<()> {
    let report = |what: &str, err: dora_ros2::Ros2Error| println!("error: {what}: {err}");
    let options = |name| RosNodeOptions {
        name,
        namespace: "/",
        domain_id: None,
    };
    match Ros2Node::new(&options("bad/name")) {
        Ok(_) => return Err("a node name with `/` was accepted".into()),
        Err(err) => report("node name", err),
    }
    match Ros2Node::new(&RosNodeOptions {
        domain_id: Some(300),
        ..options("n")
    }) {
        Ok(_) => return Err("domain 300 was accepted".into()),
        Err(err) => report("domain", err),
    }
    let ros = Ros2Node::new(&options("checker"))?;
    match ros.create_publisher("/a//b", "std_msgs/String", Qos::default()) {
        Ok(_) => return Err("topic `/a//b` was accepted".into()),
        Err(err) => report("topic", err),
    }
    match ros.create_subscription("/x", "nope_msgs/Nope", Qos::default()) {
        Ok(_) => return Err("an unknown type was accepted".into()),
        Err(err) => report("type", err),
    }
    let publisher = ros.create_publisher("~/out", "std_msgs/String", Qos::default())?;
    println!("resolved: {}", publisher.topic());
    let numbers: ArrayRef = Arc::new(Int32Array::from(vec![1]));
    match publisher.publish(&numbers) {
        Ok(_) => return Err("an Int32 array was published".into()),
        Err(err) => report("not a struct", err),
    }
    let wrong = StructArray::from(vec![(
        Arc::new(Field::new("data", DataType::Int32, false)),
        numbers,
    )]);
    match publisher.publish(&wrong) {
        Ok(_) => return Err("an Int32 `data` field was published".into()),
        Err(err) => report("field type", err),
    }
    Ok(())
}
