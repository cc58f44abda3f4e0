//! What the fuzz targets and the seed writer share.

/// The message types of the `cdr` target: the first byte of an input (and of a seed) picks
/// one by its index, so the target and `seeds` must agree on this order.
pub const CDR_TYPES: &[&str] = &[
    "std_msgs/String",
    "dora_demo_msgs/RobotState",
    "sensor_msgs/Image",
    "sensor_msgs/PointCloud2",
    "sensor_msgs/JointState",
    "geometry_msgs/PoseStamped",
    "example_interfaces/Float64MultiArray",
    "nav_msgs/Path",
];
