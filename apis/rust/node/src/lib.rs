//! The Rust API of a dora node.
//!
//! A node is a process started by dora for one node of a dataflow. It joins with
//! [`DoraNode::init_from_env`], which returns the [`DoraNode`] handle (to send outputs) and the
//! [`EventStream`] of its inputs (a `path: dynamic` node, which the user starts while its
//! dataflow runs, joins with [`DoraNode::init_from_node_id`] instead):
//!
//! ```no_run
//! use dora_node_api::{arrow::array::UInt64Array, DoraNode, Event};
//!
//! let (mut node, mut events) = DoraNode::init_from_env()?;
//! while let Some(event) = events.recv() {
//!     match event {
//!         Event::Input { id, data, .. } if id.as_str() == "tick" => {
//!             node.send_output("count".into(), Default::default(), UInt64Array::from(vec![1]))?;
//!         }
//!         Event::Stop => break,
//!         _ => {}
//!     }
//! }
//! # Ok::<(), dora_node_api::NodeError>(())
//! ```
//!
//! # Data plane
//!
//! Messages go straight from the sending node to each receiving node over a socket pair the
//! daemon set up before the nodes started; the daemon is not on the path. Payloads below
//! 4 KiB travel inside the packet. Larger payloads are written once into a shared memory
//! region of the sender ([`DoraNode::allocate_data_sample`], [`DoraNode::send_output_raw`])
//! and receivers map that region read-only: no copy, whatever the size. A region returns to
//! the sender's pool once every receiver dropped the data (or exited).

pub mod allocator;
mod arrow_data;
mod compat;
mod convert;
mod error;
mod event_stream;
mod node;

pub use arrow_data::{ArrowData, DataId, NodeId, OperatorId};
pub use compat::{arrow_utils, dora_core, merged};
pub use convert::{ConversionError, IntoArrow};
pub use error::NodeError;
pub use event_stream::{Event, EventStream};
pub use node::{DataSample, DoraNode};

pub use dora_message::{
    arrow::ArrowTypeInfo, config::NodeConfig, metadata::MetadataParameters, Metadata, Parameter,
    ZERO_COPY_THRESHOLD,
};

/// The Arrow crates the API uses, re-exported so nodes build against the same versions.
///
/// `array`, `datatypes` and `error` are laid out as in the `arrow` crate (which dora-rs
/// v0.3.6 re-exported whole), so paths like `arrow::datatypes::DataType` keep working.
pub mod arrow {
    pub use arrow_buffer as buffer;
    pub use arrow_data as data;
    pub use arrow_schema as schema;

    /// Arrays, with builders, casts (`AsArray`) and `ArrayData` as in the `arrow` crate.
    pub mod array {
        pub use arrow_array::builder::*;
        pub use arrow_array::cast::*;
        pub use arrow_array::iterator::*;
        pub use arrow_array::*;
        pub use arrow_data::{ArrayData, ArrayDataBuilder};
    }

    /// Data types and schemas, with the primitive type markers (`UInt8Type`, ...).
    pub mod datatypes {
        pub use arrow_array::types::*;
        pub use arrow_array::{ArrowNativeTypeOp, ArrowPrimitiveType};
        pub use arrow_buffer::{i256, ArrowNativeType};
        pub use arrow_schema::*;
    }

    /// The Arrow error type.
    pub mod error {
        pub use arrow_schema::ArrowError;
        /// A result with an [`ArrowError`].
        pub type Result<T> = std::result::Result<T, ArrowError>;
    }
}

pub use futures;
pub use uhlc;
