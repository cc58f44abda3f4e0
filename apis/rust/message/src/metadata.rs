//! Message metadata: timestamp, Arrow layout of the payload and user parameters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arrow::ArrowTypeInfo;

/// Metadata that travels with every message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Hybrid logical clock timestamp taken when the message was sent.
    pub timestamp: uhlc::Timestamp,
    /// How the payload bytes form an Arrow array.
    pub type_info: ArrowTypeInfo,
    /// User parameters.
    pub parameters: MetadataParameters,
}

impl Metadata {
    /// Metadata for a payload of layout `type_info`, with no parameters.
    pub fn new(timestamp: uhlc::Timestamp, type_info: ArrowTypeInfo) -> Self {
        Self::from_parameters(timestamp, type_info, BTreeMap::new())
    }

    /// Metadata for a payload of layout `type_info`, with the user's `parameters`.
    pub fn from_parameters(
        timestamp: uhlc::Timestamp,
        type_info: ArrowTypeInfo,
        parameters: MetadataParameters,
    ) -> Self {
        Self {
            timestamp,
            type_info,
            parameters,
        }
    }

    /// When the message was sent (the sender's hybrid logical clock).
    pub fn timestamp(&self) -> uhlc::Timestamp {
        self.timestamp
    }
}

/// Parameter that marks the first message on an input after its sender was restarted under
/// its `restart_policy` (an [`Parameter::Integer`]: how many times the sender has been
/// restarted). Messages the sender's previous process sent but the receiver had not read yet
/// come before it; messages sent to the node while it was down were dropped.
pub const RESTARTED_PARAMETER: &str = "restarted";

/// User parameters of a message, by name.
pub type MetadataParameters = BTreeMap<String, Parameter>;

/// A parameter value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Parameter {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
    /// A list of integers.
    ListInt(Vec<i64>),
    /// A list of floating-point numbers.
    ListFloat(Vec<f64>),
    /// A list of strings.
    ListString(Vec<String>),
}
