use dora_ros2_types::{DeserializeError, SerializeError, TypeError};

use crate::names::InvalidName;

/// What can go wrong with ROS 2 nodes, publishers and subscriptions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Ros2Error {
    /// A node, namespace or topic name that breaks the ROS 2 naming rules.
    #[error(transparent)]
    InvalidName(#[from] InvalidName),
    /// A message type that is not known (the error lists where it looked), or a malformed
    /// `.msg` file.
    #[error(transparent)]
    Type(#[from] TypeError),
    /// A domain id outside 0..=232 (`origin` says where it came from: `ROS_DOMAIN_ID=` or
    /// `domain_id `).
    #[error("{origin}`{value}` is not a ROS 2 domain id (0 to 232)")]
    DomainId {
        /// Where the value came from.
        origin: &'static str,
        /// The value as given.
        value: String,
    },
    /// The DDS implementation refused something.
    #[error("{context}: {message}")]
    Dds {
        /// What was being done.
        context: String,
        /// What the DDS implementation said.
        message: String,
    },
    /// Data given to [`Publisher::publish`](crate::Publisher::publish) that is not a struct
    /// array.
    #[error(
        "publishing on {topic}: expected a struct array shaped like {message_type}, got {got}"
    )]
    NotAStruct {
        /// The topic published on.
        topic: String,
        /// The topic's message type.
        message_type: String,
        /// The Arrow type given.
        got: String,
    },
    /// A row that does not fit the message type (the error names the field path).
    #[error("publishing on {topic}: row {row}: {source}")]
    Serialize {
        /// The topic published on.
        topic: String,
        /// The row that does not fit (0-based); no row of the array was published.
        row: usize,
        /// What does not fit.
        source: SerializeError,
    },
    /// A received message that is not a valid encoding of the topic's type.
    #[error("dropped a malformed message from {topic}: {source}")]
    Deserialize {
        /// The topic the message came from.
        topic: String,
        /// What is wrong with it.
        source: DeserializeError,
    },
}

impl Ros2Error {
    pub(crate) fn dds(context: impl Into<String>, error: impl std::fmt::Debug) -> Self {
        Self::Dds {
            context: context.into(),
            message: format!("{error:?}"),
        }
    }
}
