//! ROS 2 names: topic names resolved and validated with the ROS 2 rules, and their DDS
//! spelling (`rt/…`). Shared with the Rust node API: the code lives in `dora-ros2`.

pub use dora_ros2::names::*;
