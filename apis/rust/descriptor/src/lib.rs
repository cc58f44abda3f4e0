//! The dora dataflow descriptor.
//!
//! A dataflow is a YAML file listing nodes, their inputs and outputs, and timers, in the format
//! of dora-rs v0.3.6. [`Descriptor::read`] and [`Descriptor::parse`] turn a file into a
//! [`Descriptor`] and validate it; every error they return names the file, the line and column
//! and the offending field (see [`DescriptorError`]).

mod model;

pub use model::*;
