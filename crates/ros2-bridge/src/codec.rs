//! Message types of the bridge: from a `pkg/Type` name to its DDS type name and the
//! conversion between CDR payloads and Arrow rows, on top of `dora-ros2-types`.

use std::{path::Path, sync::Arc};

use arrow_array::{Array, ArrayRef, StructArray};
use dora_ros2_types::{MessageType, ENCAPSULATION_HEADER};
use eyre::eyre;

/// The message types the bridge can use.
pub struct TypeStore {
    store: dora_ros2_types::TypeStore,
}

impl TypeStore {
    /// Loads the type definitions: the node's `msg_paths` (relative to `working_dir`) first,
    /// then `DORA_ROS2_MSG_PATH`, `AMENT_PREFIX_PATH` and the interfaces shipped with dora.
    pub fn load(extra: &[String], working_dir: &Path) -> eyre::Result<Self> {
        let mut builder = dora_ros2_types::TypeStore::builder();
        for path in extra {
            builder = builder.path(working_dir.join(path));
        }
        Ok(Self {
            store: builder.build(),
        })
    }

    /// The codec of a message type given as `pkg/Type` or `pkg/msg/Type`.
    pub fn codec(&self, message_type: &str) -> eyre::Result<Codec> {
        let message = self
            .store
            .message(message_type)
            .map_err(|err| eyre!("{err}"))?;
        Ok(Codec { message })
    }

    /// The request and response codecs of a service type given as `pkg/Srv` or
    /// `pkg/srv/Srv`.
    pub fn service_codecs(&self, service_type: &str) -> eyre::Result<(Codec, Codec)> {
        let service = self
            .store
            .service(service_type)
            .map_err(|err| eyre!("{err}"))?;
        Ok((
            Codec {
                message: service.request.clone(),
            },
            Codec {
                message: service.response.clone(),
            },
        ))
    }
}

/// Encodes and decodes one message type.
pub struct Codec {
    message: Arc<MessageType>,
}

impl Codec {
    /// The DDS type name of the message type (`pkg::msg::dds_::Name_`).
    pub fn dds_type_name(&self) -> String {
        self.message.name.dds_name()
    }

    /// The CDR payload (after the encapsulation header) of every row of `array`, which must
    /// be a struct array shaped like the message.
    pub fn encode(&self, array: &ArrayRef) -> eyre::Result<Vec<Vec<u8>>> {
        let rows = array
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(|| {
                eyre!(
                    "expected a struct array shaped like {}, got {}",
                    self.message.name,
                    array.data_type()
                )
            })?;
        let mut messages = Vec::with_capacity(rows.len());
        let mut buffer = Vec::new();
        for row in 0..rows.len() {
            buffer.clear();
            dora_ros2_types::serialize_into(&self.message, rows, row, &mut buffer)
                .map_err(|err| eyre!("{err}"))?;
            messages.push(
                buffer
                    .get(ENCAPSULATION_HEADER.len()..)
                    .unwrap_or_default()
                    .to_vec(),
            );
        }
        Ok(messages)
    }

    /// One message (a full CDR buffer, with its encapsulation header) as a one-row struct
    /// array.
    pub fn decode(&self, message: &[u8]) -> eyre::Result<ArrayRef> {
        let row =
            dora_ros2_types::deserialize(&self.message, message).map_err(|err| eyre!("{err}"))?;
        Ok(Arc::new(row))
    }
}
