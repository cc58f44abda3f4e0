//! The DDS side of the bridge, on `rustdds`: raw CDR payloads in and out (the message layout
//! is known only at run time), ROS 2 QoS, and the `ros_discovery_info` announcement that
//! makes the bridge's node visible to `ros2 node list` / `ros2 node info`.
//!
//! Shared with the Rust node API: the code lives in `dora-ros2` (`apis/rust/ros2`).

use dora_descriptor::Ros2Qos;
use rustdds::QosPolicies;

pub use dora_ros2::dds::{
    discovery_writer, participant_entities_info, RawCdr, RawMessage, RawReader, RawWriter,
};

/// The bridge's DDS participant: its `domain_id`, else `ROS_DOMAIN_ID`, else 0, on loopback
/// only when ROS 2's environment asks for it.
pub fn create_participant(
    bridge: &dora_descriptor::Ros2Bridge,
) -> eyre::Result<(rustdds::DomainParticipant, u16)> {
    // The descriptor allows 0 to 232 only.
    let explicit = bridge.domain_id.and_then(|d| u16::try_from(d).ok());
    dora_ros2::dds::create_participant(explicit).map_err(|err| eyre::eyre!("{err}"))
}

/// The DDS QoS of a ROS 2 profile.
pub fn qos(profile: &Ros2Qos) -> QosPolicies {
    dora_ros2::Qos::from(profile).to_dds()
}

/// Describes a QoS profile the way a warning should show it.
pub fn describe(profile: &Ros2Qos) -> String {
    dora_ros2::Qos::from(profile).to_string()
}
