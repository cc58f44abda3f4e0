//! Warnings for discovered peers whose QoS cannot match one of the bridge's readers or
//! writers. DDS silently refuses such matches, so without a warning a ROS 2 user only sees
//! "no data"; the warning names the topic and both profiles, as `ros2 topic info -v` would.

use std::collections::HashSet;

use dora_descriptor::Ros2Qos;
use rustdds::{
    policy::{Durability, History, Reliability},
    DomainParticipantStatusEvent, QosPolicies, GUID,
};

use super::dds;

/// The bridge's own readers and writers with the profile each was created with.
#[derive(Default)]
pub struct QosWatch {
    entities: Vec<(GUID, String, Ros2Qos)>,
    warned: HashSet<(GUID, GUID)>,
}

impl QosWatch {
    /// Remembers one of the bridge's readers or writers.
    pub fn add(&mut self, guid: GUID, topic: &str, qos: &Ros2Qos) {
        self.entities.push((guid, topic.to_owned(), *qos));
    }

    /// The warning for `event`, once per pair of local and remote entity.
    pub fn warning(&mut self, event: &DomainParticipantStatusEvent) -> Option<String> {
        let (local, remote, ours_is_reader, requested, offered) = match event {
            DomainParticipantStatusEvent::RemoteWriterQosIncompatible {
                local_reader,
                remote_writer,
                requested_qos,
                offered_qos,
            } => (
                *local_reader,
                *remote_writer,
                true,
                requested_qos,
                offered_qos,
            ),
            DomainParticipantStatusEvent::RemoteReaderQosIncompatible {
                local_writer,
                remote_reader,
                requested_qos,
                offered_qos,
            } => (
                *local_writer,
                *remote_reader,
                false,
                requested_qos,
                offered_qos,
            ),
            _ => return None,
        };
        let (_, topic, ours) = self.entities.iter().find(|(guid, ..)| *guid == local)?;
        if !self.warned.insert((local, remote)) {
            return None;
        }
        let (our_role, their_role, theirs) = if ours_is_reader {
            ("subscription", "publisher", offered)
        } else {
            ("publisher", "subscription", requested)
        };
        Some(format!(
            "warning: QoS incompatible on {topic}: our {our_role} has {} but a discovered \
             {their_role} ({remote:?}) has {}; they will not communicate{}",
            dds::describe(ours),
            describe_dds(theirs),
            hint(requested, offered),
        ))
    }
}

/// A discovered entity's QoS in the same words as [`dds::describe`]. Discovery does not
/// carry the history policy, so it is left out when unknown.
pub fn describe_dds(qos: &QosPolicies) -> String {
    let reliability = match qos.reliability() {
        Some(Reliability::Reliable { .. }) => "reliable",
        Some(Reliability::BestEffort) => "best_effort",
        None => "unspecified",
    };
    let durability = match qos.durability() {
        Some(Durability::Volatile) => "volatile",
        Some(Durability::TransientLocal) => "transient_local",
        Some(Durability::Transient) => "transient",
        Some(Durability::Persistent) => "persistent",
        None => "unspecified",
    };
    let history = match qos.history() {
        Some(History::KeepLast { depth }) => format!(", history: keep_last({depth})"),
        Some(History::KeepAll) => ", history: keep_all".to_owned(),
        None => String::new(),
    };
    format!("{{ reliability: {reliability}, durability: {durability}{history} }}")
}

/// Which policy failed, in words (the two checks that ROS 2 users meet in practice).
fn hint(requested: &QosPolicies, offered: &QosPolicies) -> &'static str {
    if requested.is_reliable() && !offered.is_reliable() {
        " (a reliable reader needs a reliable writer)"
    } else if durability_rank(requested.durability()) > durability_rank(offered.durability()) {
        " (a transient_local reader needs a transient_local writer)"
    } else {
        ""
    }
}

fn durability_rank(durability: Option<Durability>) -> u8 {
    match durability {
        None | Some(Durability::Volatile) => 0,
        Some(Durability::TransientLocal) => 1,
        Some(Durability::Transient) => 2,
        Some(Durability::Persistent) => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_discovered_qos() {
        let reliable = dds::qos(&Ros2Qos::default());
        assert_eq!(
            describe_dds(&reliable),
            "{ reliability: reliable, durability: volatile, history: keep_last(10) }"
        );
        let best_effort = dds::qos(&Ros2Qos {
            reliable: false,
            ..Ros2Qos::default()
        });
        assert_eq!(
            hint(&reliable, &best_effort),
            " (a reliable reader needs a reliable writer)"
        );
        assert_eq!(hint(&best_effort, &reliable), "");
    }
}
