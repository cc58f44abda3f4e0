//! The control plane's connections: framed, versioned TCP between the CLI, the coordinator
//! and the daemons ([`net`]), and how messages name a machine ([`Machine`]); who may use a
//! coordinator ([`access`]); what accept loops do when accepting fails ([`AcceptBackoff`]).
//!
//! Owns: the handshake that every control connection starts with, and reading and writing
//! the length-prefixed frames of [`dora_message::frame`] on async streams.
//!
//! Never: keeps state between connections, or lets one bad connection affect another. The
//! wire types themselves live in `dora-message`; this crate only moves them.

pub mod access;
mod backoff;
mod machine;
pub mod net;

pub use backoff::{AcceptBackoff, Reaction};
pub use machine::Machine;
