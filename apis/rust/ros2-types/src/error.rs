//! Errors of each operation: parsing a file, looking up a type, serializing a row,
//! deserializing bytes.

use std::path::PathBuf;

use arrow_schema::ArrowError;

/// A `.msg`/`.srv` file that does not follow the format: names the file, the 1-based line and
/// the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct ParseError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// A type could not be found or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TypeError {
    #[error("invalid ROS 2 type name `{name}`: {reason}")]
    InvalidName { name: String, reason: String },
    #[error(
        "unknown ROS 2 type `{name}`{}; looked in: {}; {}",
        referenced_by.as_ref().map(|r| format!(" (used by {r})")).unwrap_or_default(),
        if looked_in.is_empty() { "no folders".to_owned() } else {
            looked_in.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        },
        if suggestions.is_empty() { "no similar type is known".to_owned() } else {
            format!("closest known: {}", suggestions.join(", "))
        }
    )]
    Unknown {
        name: String,
        /// `pkg/msg/Type.field` when a nested type is missing.
        referenced_by: Option<String>,
        looked_in: Vec<PathBuf>,
        suggestions: Vec<String>,
    },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ROS 2 type `{chain}` contains itself")]
    Recursive { chain: String },
    #[error("`{name}` is a {found}, not a {wanted}")]
    WrongKind {
        name: String,
        found: &'static str,
        wanted: &'static str,
    },
}

/// An Arrow row that does not fit the message type. `path` is the field path, for instance
/// `pose.position.x` or `poses[3].header.frame_id`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SerializeError {
    #[error("{path}: expected {expected}, got {got}")]
    WrongType {
        path: String,
        expected: String,
        got: String,
    },
    #[error("{path}: unknown field of {message_type}")]
    UnknownField { path: String, message_type: String },
    #[error("{path}: {len} {unit} exceed the bound of {bound}")]
    OverBound {
        path: String,
        len: usize,
        bound: usize,
        unit: &'static str,
    },
    #[error("{path}: fixed-size array of {expected} elements got {got}")]
    WrongLength {
        path: String,
        expected: usize,
        got: usize,
    },
    #[error("{path}: length {len} does not fit the 32-bit CDR length")]
    TooLong { path: String, len: usize },
    #[error("row {row} is out of range for an array of {len} rows")]
    RowOutOfRange { row: usize, len: usize },
}

/// Bytes that are not a valid CDR encoding of the message type. Never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeserializeError {
    #[error("CDR encapsulation header {found:02x?} is not `00 01 00 00` (XCDR1 little endian)")]
    Header { found: Vec<u8> },
    #[error(
        "{path}: message truncated: needs {needed} bytes at offset {offset}, {available} left"
    )]
    Truncated {
        path: String,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("{path}: length {len} at offset {offset} exceeds the {available} bytes left")]
    LengthTooLarge {
        path: String,
        offset: usize,
        len: usize,
        available: usize,
    },
    #[error("{path}: {len} {unit} exceed the bound of {bound}")]
    OverBound {
        path: String,
        len: usize,
        bound: usize,
        unit: &'static str,
    },
    #[error("{path}: string is not valid {encoding}")]
    Encoding {
        path: String,
        encoding: &'static str,
    },
    #[error("batch too large for 32-bit Arrow offsets")]
    Overflow,
    #[error("building the Arrow array failed: {0}")]
    Arrow(String),
}

impl From<ArrowError> for DeserializeError {
    fn from(e: ArrowError) -> Self {
        Self::Arrow(e.to_string())
    }
}
