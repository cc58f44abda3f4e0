//! ROS 2 message types at run time, for the dora ROS 2 bridge.
//!
//! No code generation: `.msg` and `.srv` files are parsed when a type is first needed, a
//! message is one row of an Arrow `StructArray`, and rows are encoded to and decoded from the
//! CDR bytes that ROS 2 nodes exchange over DDS.
//!
//! It owns the interface format (`.msg`/`.srv`), the search for interface packages, the Arrow
//! shape of each message type and CDR. It never talks DDS or opens a socket (that is
//! `dora-ros2`), never needs a ROS 2 installation, and never generates code; its only I/O is
//! reading interface folders and files.
//!
//! - [`TypeStore`] finds interface packages (`AMENT_PREFIX_PATH`, `DORA_ROS2_MSG_PATH`, folders
//!   given by the caller, the interfaces shipped in `ros2_ws/`) and resolves `pkg/Type`,
//!   `pkg/msg/Type` and `pkg/srv/Type` names ([`store`] has the search rules).
//! - [`parse`] holds the `.msg`/`.srv` format rules; [`types`] the resulting data model.
//! - [`mapping`] maps a message type to its Arrow type ([`arrow_type`]).
//! - [`cdr`] encodes a row ([`serialize`]) and decodes messages into rows ([`MessageBuilder`],
//!   [`deserialize`]).
//!
//! ```
//! use arrow_array::Array;
//! use dora_ros2_types::{arrow_type, deserialize, serialize, TypeStore};
//!
//! let store = TypeStore::new();
//! let string_type = store.message("std_msgs/String")?;
//! let bytes = [0, 1, 0, 0, 3, 0, 0, 0, b'h', b'i', 0];
//! let row = deserialize(&string_type, &bytes)?;
//! assert_eq!(row.data_type(), &arrow_type(&string_type));
//! assert_eq!(serialize(&string_type, &row, 0)?, bytes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cdr;
pub mod error;
pub mod mapping;
pub mod parse;
pub mod store;
pub mod types;

pub use cdr::{deserialize, serialize, serialize_into, MessageBuilder, ENCAPSULATION_HEADER};
pub use error::{DeserializeError, ParseError, SerializeError, TypeError};
pub use mapping::arrow_type;
pub use store::{shipped_interfaces_dir, TypeStore, TypeStoreBuilder};
pub use types::{
    Cardinality, Constant, ElementType, Field, FieldType, MessageDefinition, MessageType,
    Primitive, ServiceDefinition, ServiceType, TypeName, Value,
};
