//! ROS 2 quality of service and its DDS policies.

use std::time::Duration;

use rustdds::{
    policy::{Deadline, Durability, History, Lifespan, Liveliness, Reliability},
    QosPolicies, QosPolicyBuilder,
};

/// ROS 2 quality of service of a publisher or subscription.
///
/// [`Qos::default`] is ROS 2's default profile: reliable, volatile, keep-last 10 (set
/// explicitly, since plain DDS defaults differ). A reader and a writer match when the reader
/// asks for no more than the writer offers: a reliable reader does not match a best-effort
/// writer, a transient-local reader does not match a volatile writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qos {
    /// Reliable (retransmits lost samples) or best effort.
    pub reliable: bool,
    /// Transient local (late joiners get the last `keep_last` samples) or volatile.
    pub transient_local: bool,
    /// History depth; `None` keeps all samples.
    pub keep_last: Option<u32>,
    /// How long a sample stays valid.
    pub lifespan: Option<Duration>,
    /// Longest expected time between samples.
    pub deadline: Option<Duration>,
    /// Lease duration of automatic liveliness.
    pub liveliness: Option<Duration>,
}

impl Default for Qos {
    fn default() -> Self {
        Self {
            reliable: true,
            transient_local: false,
            keep_last: Some(10),
            lifespan: None,
            deadline: None,
            liveliness: None,
        }
    }
}

impl Qos {
    /// Best effort instead of reliable.
    pub fn best_effort(mut self) -> Self {
        self.reliable = false;
        self
    }

    /// Transient local instead of volatile.
    pub fn transient_local(mut self) -> Self {
        self.transient_local = true;
        self
    }

    /// Keeps the last `depth` samples.
    pub fn keep_last(mut self, depth: u32) -> Self {
        self.keep_last = Some(depth);
        self
    }

    /// Keeps all samples.
    pub fn keep_all(mut self) -> Self {
        self.keep_last = None;
        self
    }

    /// The DDS policies of this profile.
    pub fn to_dds(&self) -> QosPolicies {
        let to_dds = |d: Duration| rustdds::Duration::from(d);
        let mut builder = QosPolicyBuilder::new()
            .reliability(if self.reliable {
                Reliability::Reliable {
                    max_blocking_time: rustdds::Duration::from_millis(100),
                }
            } else {
                Reliability::BestEffort
            })
            .durability(if self.transient_local {
                Durability::TransientLocal
            } else {
                Durability::Volatile
            })
            .history(match self.keep_last {
                Some(depth) => History::KeepLast {
                    depth: depth.min(i32::MAX as u32) as i32,
                },
                None => History::KeepAll,
            });
        if let Some(lifespan) = self.lifespan {
            builder = builder.lifespan(Lifespan {
                duration: to_dds(lifespan),
            });
        }
        if let Some(deadline) = self.deadline {
            builder = builder.deadline(Deadline(to_dds(deadline)));
        }
        if let Some(lease) = self.liveliness {
            builder = builder.liveliness(Liveliness::Automatic {
                lease_duration: to_dds(lease),
            });
        }
        builder.build()
    }
}

impl std::fmt::Display for Qos {
    /// The profile the way a log line shows it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{ reliability: {}, durability: {}, history: ",
            if self.reliable {
                "reliable"
            } else {
                "best_effort"
            },
            if self.transient_local {
                "transient_local"
            } else {
                "volatile"
            },
        )?;
        match self.keep_last {
            Some(depth) => write!(f, "keep_last({depth}) }}"),
            None => write!(f, "keep_all }}"),
        }
    }
}

impl From<dora_descriptor::Ros2Qos> for Qos {
    fn from(qos: dora_descriptor::Ros2Qos) -> Self {
        let dora_descriptor::Ros2Qos {
            reliable,
            transient_local,
            keep_last,
            lifespan,
            deadline,
            liveliness,
        } = qos;
        Self {
            reliable,
            transient_local,
            keep_last,
            lifespan,
            deadline,
            liveliness,
        }
    }
}

impl From<&dora_descriptor::Ros2Qos> for Qos {
    fn from(qos: &dora_descriptor::Ros2Qos) -> Self {
        Self::from(*qos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_ros2_defaults() {
        let qos = Qos::default();
        assert_eq!(
            qos.to_string(),
            "{ reliability: reliable, durability: volatile, history: keep_last(10) }"
        );
        assert_eq!(Qos::from(dora_descriptor::Ros2Qos::default()), qos);
        assert_eq!(
            qos.best_effort().transient_local().keep_all().to_string(),
            "{ reliability: best_effort, durability: transient_local, history: keep_all }"
        );
    }
}
