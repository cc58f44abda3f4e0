//! The dora dataflow descriptor.
//!
//! A dataflow is a YAML file listing nodes, their inputs and outputs, and timers, in the format
//! of dora-rs v0.3.6. [`Descriptor::read`] and [`Descriptor::parse`] turn a file into a
//! [`Descriptor`] and validate it; every error they return names the file, the line and column
//! and the offending field (see [`DescriptorError`] and [`Diagnostic`]).
//!
//! It owns the dataflow format: what a file may say, what it means (the data model of
//! [`Descriptor`]) and every error about it. It never starts, connects to or builds anything;
//! its only I/O is [`Descriptor::read`] reading the file and the environment lookups of
//! `$VAR` in `env` values. No input makes it panic. The CLI, the coordinator, the daemon
//! and the ROS 2 crates all link it, so its dependencies stay few and small.
//!
//! ```
//! use dora_descriptor::{Descriptor, InputMapping};
//!
//! let text = "nodes:\n  - id: talker\n    path: ./talker\n    outputs: [speech]\n  \
//!             - id: listener\n    path: ./listener\n    inputs: {speech: talkr/speech}\n";
//! let error = Descriptor::parse(text, None).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "<input>:7:22: nodes[1].inputs.speech: unknown node `talkr` (did you mean `talker`?)"
//! );
//!
//! let fixed = text.replace("talkr", "talker");
//! let dataflow = Descriptor::parse(&fixed, None).unwrap();
//! let (id, input) = &dataflow.node("listener").unwrap().inputs()[0];
//! assert_eq!(id, "speech");
//! assert!(matches!(&input.mapping, InputMapping::User { source, .. } if source == "talker"));
//! ```
//!
//! # The format
//!
//! ```yaml
//! communication: { _unstable_local: UnixDomain }   # or Tcp, Shmem
//! _unstable_deploy: { machine: A }                  # default machine of every node
//! nodes:
//!   - id: camera                      # unique, non-empty, no `/`
//!     path: ./camera                  # or `shell` (args run by sh -c) or `dynamic`
//!     args: --fps 30
//!     build: cargo build -p camera    # one command per non-empty line
//!     env: { FPS: 30, ROOT: $HOME/data }
//!     _unstable_deploy: { machine: B }  # `deploy:` is accepted too
//!     send_stdout_as: logs
//!     inputs:
//!       tick: dora/timer/millis/33    # or secs, micros, hz (N ≥ 1)
//!     outputs: [image]
//!   - id: detector
//!     operator:                       # single operator, id `op` unless given
//!       python: detect.py             # or shared-library: / wasm:, or python: {source, conda_env}
//!       inputs:
//!         image: { source: camera/image, queue_size: 1 }
//!       outputs: [boxes]
//!   - id: ui
//!     operators:                      # several operators, each with an `id`
//!       - id: plot
//!         shared-library: ./plot
//!         inputs: { boxes: detector/boxes, image: camera/image }
//! ```
//!
//! The legacy `custom: { source, args, envs, build, inputs, outputs, send_stdout_as }` form of
//! a node is accepted; its `envs` join the node's `env`.
//!
//! # Rules
//!
//! - Unknown keys are errors everywhere, with the closest valid key suggested; so are
//!   duplicate keys and values of the wrong type.
//! - A node has exactly one of `path`, `custom`, `operator`, `operators`; `args`, `build`,
//!   `send_stdout_as`, `inputs` and `outputs` at node level go with `path` only.
//! - An operator has exactly one of `shared-library`, `python`, `wasm`; operator ids are
//!   unique within their node.
//! - At most one operator of a node sets `send_stdout_as`. The operators of a node run in
//!   one `dora runtime` process and share its stdout, so the lines they print cannot be told
//!   apart: every line of that stdout, whichever operator (or the runtime) printed it, is
//!   sent on the output of the operator that sets `send_stdout_as`.
//! - Node, operator, input and output ids are non-empty and contain no `/`; outputs are listed
//!   once.
//! - An input is `node/output`, `node/operator/output` or a timer, written as such or as
//!   `{ source: ..., queue_size: N }` (N ≥ 1, default [`DEFAULT_QUEUE_SIZE`]). The node must
//!   exist, and the output must be declared by it (or by the operator); `send_stdout_as`
//!   counts as declared. For a node with a single `operator:`, `node/output` means that
//!   operator's output. No other `dora/...` input exists.
//! - `env` values are booleans, numbers or strings; in strings `$VAR` and `${VAR}` are
//!   replaced from the environment (`$$` is a `$`), and an unset variable is an error.
//! - YAML anchors and aliases work; YAML tags other than the standard ones, several documents
//!   in one file, and nesting deeper than 64 levels are refused.
//!
//! - The file is UTF-8 text of at most [`limits::MAX_FILE_BYTES`] without control characters
//!   (any of U+0000–U+001F except tab, line feed and carriage return, U+007F, U+0080–U+009F):
//!   the first one is reported with its line, column and code, before any parsing.
//! - Ids are at most [`limits::MAX_ID_BYTES`] bytes, map keys at most
//!   [`limits::MAX_KEY_BYTES`], and the text of the file with its aliases expanded at most
//!   [`limits::MAX_EXPANDED_BYTES`]; [`limits`] lists every budget of reading a file.
//!   Values quoted in errors are cut to [`limits::MAX_QUOTED_CHARS`] characters.
//!
//! Every problem of the file is reported (the first [`MAX_DIAGNOSTICS`], sorted by position),
//! and no input makes the parser panic.

mod error;
mod expand;
pub mod limits;
mod model;
mod parse;
mod read;
mod suggest;
mod validate;
mod yaml;

pub use error::{DescriptorError, Diagnostic, MAX_DIAGNOSTICS, NO_FILE};
pub use model::*;
