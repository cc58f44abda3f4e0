//! ROS 2 publishers and subscriptions for dora nodes.
//!
//! A node that adds this crate becomes a ROS 2 node as well: it publishes and subscribes to
//! ROS 2 topics directly on the DDS wire (through the pure-Rust `rustdds`, no ROS 2
//! installation needed), and the messages of its subscriptions arrive in its event stream next
//! to its dora inputs. It is the programmatic counterpart of the `ros2:` bridge nodes of the
//! dataflow YAML and shares their code: names, QoS, CDR and discovery behave the same.
//!
//! It owns the ROS 2 side of a node: the DDS participant, publishers, subscriptions, topic
//! name rules, QoS and the discovery announcement. DDS is a heavy dependency, so it lives
//! here and never in `dora-node-api`: only nodes that depend on `dora-ros2` link it. It never
//! talks to the daemon itself (dora messages stay with the node API) and never parses message
//! types (that is `dora-ros2-types`).
//!
//! # Messages
//!
//! Message types are read at run time from `.msg` files (see [`dora_ros2_types`]): those under
//! `DORA_ROS2_MSG_PATH`, under every prefix of `AMENT_PREFIX_PATH` and the standard interfaces
//! shipped with dora. A message is one row of an Arrow [`StructArray`](arrow_array::StructArray)
//! (`std_msgs/String` is `Struct{data: Utf8}`, nested messages are nested structs, arrays are
//! lists). [`Publisher::publish`] sends one message per row; a subscription yields each message
//! as a one-row struct array.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use dora_node_api::{arrow::array::{Array, StringArray, StructArray}, DoraNode, Event};
//! use dora_node_api::arrow::schema::{DataType, Field};
//! use dora_ros2::{EventStreamExt, Merged, Qos, Ros2Node, RosNodeOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (_node, events) = DoraNode::init_from_env()?;
//! // Announced on `ros_discovery_info`: `ros2 node list` shows `/my_node`.
//! let ros = Ros2Node::new(&RosNodeOptions {
//!     name: "my_node",
//!     namespace: "/",
//!     domain_id: None, // ROS_DOMAIN_ID, else 0
//! })?;
//! let publisher = ros.create_publisher("/chatter", "std_msgs/String", Qos::default())?;
//! let subscription = ros.create_subscription("/in", "std_msgs/String", Qos::default())?;
//! let from_in = subscription.id();
//!
//! let mut events = events.merge_ros2(subscription);
//! while let Some(item) = events.recv() {
//!     match item {
//!         Merged::Dora(Event::Input { id, .. }) if id.as_str() == "tick" => {
//!             let text: Arc<dyn Array> = Arc::new(StringArray::from(vec!["hello"]));
//!             let message = StructArray::from(vec![(
//!                 Arc::new(Field::new("data", DataType::Utf8, false)),
//!                 text,
//!             )]);
//!             publisher.publish(&message)?; // one message per row
//!         }
//!         Merged::Dora(Event::Stop) => break,
//!         Merged::Dora(_) => {}
//!         Merged::Ros2 { subscription, data } if subscription == from_in => {
//!             println!("/in: {data:?}"); // a one-row struct array
//!         }
//!         Merged::Ros2Error { error, .. } => eprintln!("{error}"),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Names, QoS, discovery
//!
//! - Topic names follow the ROS 2 rules: `/abs`, `rel` (under the namespace) and `~/x` (under
//!   the node) resolve like in rclcpp; invalid names are rejected with the rule they break.
//!   `/a/b` is the DDS topic `rt/a/b`, the type `pkg/msg/T` is `pkg::msg::dds_::T_`.
//! - [`Qos::default`] is ROS 2's default (reliable, volatile, keep-last 10).
//! - The domain is `RosNodeOptions::domain_id`, else `ROS_DOMAIN_ID`, else 0.
//!   `ROS_LOCALHOST_ONLY=1` or `ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST` keep the traffic on
//!   the loopback interface.
//! - The node announces itself and its publishers and subscriptions on `ros_discovery_info`,
//!   as rmw implementations do, so ROS 2 tools list it.
//!
//! The modules [`dds`] and [`names`] are the building blocks the `dora` bridge shares.

pub mod dds;
mod error;
mod merge;
pub mod names;
mod node;
mod qos;

pub use dora_ros2_types::{self as types, TypeStore};
pub use error::Ros2Error;
pub use merge::{EventStreamExt, Merged, MergedEvents};
pub use names::InvalidName;
pub use node::{Publisher, Ros2Node, RosNodeOptions, Subscription, SubscriptionId};
pub use qos::Qos;
