//! Errors of each operation: parsing a file, looking up a type, serializing a row,
//! deserializing bytes.

use std::path::PathBuf;

use arrow_schema::ArrowError;

/// A `.msg`/`.srv` file that does not follow the format: names the file, the 1-based line and
/// the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct ParseError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line of the problem.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A type could not be found or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TypeError {
    /// The name is not `pkg/Type`, `pkg/msg/Type` or `pkg/srv/Type`.
    #[error("invalid ROS 2 type name `{name}`: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// No package found defines the type.
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
        /// The type as asked for.
        name: String,
        /// `pkg/msg/Type.field` when a nested type is missing.
        referenced_by: Option<String>,
        /// Every folder searched, in order, including missing ones.
        looked_in: Vec<PathBuf>,
        /// Known types with a similar name.
        suggestions: Vec<String>,
    },
    /// The type's file does not follow the format.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The type's file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The type contains itself, directly or through nested types.
    #[error("ROS 2 type `{chain}` contains itself")]
    Recursive {
        /// The types from the outer one back to itself, joined by ` → `.
        chain: String,
    },
    /// A message was asked for by a service's name, or the other way round.
    #[error("`{name}` is a {found}, not a {wanted}")]
    WrongKind {
        /// The type as asked for.
        name: String,
        /// What it is (`message` or `service`).
        found: &'static str,
        /// What was asked for.
        wanted: &'static str,
    },
}

/// An Arrow row that does not fit the message type. `path` is the field path, for instance
/// `pose.position.x` or `poses[3].header.frame_id`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SerializeError {
    /// A field's Arrow type is not the one of the message field.
    #[error("{path}: expected {expected}, got {got}")]
    WrongType {
        /// The field path.
        path: String,
        /// The Arrow type the message field needs.
        expected: String,
        /// The Arrow type found.
        got: String,
    },
    /// The row has a field the message type does not have.
    #[error("{path}: unknown field of {message_type}")]
    UnknownField {
        /// The field path.
        path: String,
        /// The message type.
        message_type: String,
    },
    /// A bounded string or sequence is longer than its bound.
    #[error("{path}: {len} {unit} exceed the bound of {bound}")]
    OverBound {
        /// The field path.
        path: String,
        /// The length found.
        len: usize,
        /// The bound of the field.
        bound: usize,
        /// What is counted (`elements`, `bytes` or `UTF-16 code units`).
        unit: &'static str,
    },
    /// A fixed-size array has another number of elements.
    #[error("{path}: fixed-size array of {expected} elements got {got}")]
    WrongLength {
        /// The field path.
        path: String,
        /// The array size of the field.
        expected: usize,
        /// The number of elements found.
        got: usize,
    },
    /// A string or sequence is too long for CDR's 32-bit length.
    #[error("{path}: length {len} does not fit the 32-bit CDR length")]
    TooLong {
        /// The field path.
        path: String,
        /// The length found.
        len: usize,
    },
    /// The row asked for is not in the array.
    #[error("row {row} is out of range for an array of {len} rows")]
    RowOutOfRange {
        /// The row asked for.
        row: usize,
        /// The number of rows of the array.
        len: usize,
    },
}

/// Bytes that are not a valid CDR encoding of the message type. Never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeserializeError {
    /// The bytes do not start with the encapsulation header this crate reads.
    #[error("CDR encapsulation header {found:02x?} is not `00 01 00 00` (XCDR1 little endian)")]
    Header {
        /// The first bytes (at most four).
        found: Vec<u8>,
    },
    /// The message ends before a field does.
    #[error(
        "{path}: message truncated: needs {needed} bytes at offset {offset}, {available} left"
    )]
    Truncated {
        /// The field path.
        path: String,
        /// Where the field starts, counted from the end of the encapsulation header.
        offset: usize,
        /// The bytes the field needs.
        needed: usize,
        /// The bytes left.
        available: usize,
    },
    /// A length prefix promises more than the bytes left.
    #[error("{path}: length {len} at offset {offset} exceeds the {available} bytes left")]
    LengthTooLarge {
        /// The field path.
        path: String,
        /// Where the length is, counted from the end of the encapsulation header.
        offset: usize,
        /// The length read.
        len: usize,
        /// The bytes left.
        available: usize,
    },
    /// A bounded string or sequence is longer than its bound.
    #[error("{path}: {len} {unit} exceed the bound of {bound}")]
    OverBound {
        /// The field path.
        path: String,
        /// The length read.
        len: usize,
        /// The bound of the field.
        bound: usize,
        /// What is counted (`elements`, `bytes` or `UTF-16 code units`).
        unit: &'static str,
    },
    /// A string's bytes are not in its encoding.
    #[error("{path}: string is not valid {encoding}")]
    Encoding {
        /// The field path.
        path: String,
        /// `UTF-8` for `string`, `UTF-16` for `wstring`.
        encoding: &'static str,
    },
    /// The decoded messages hold more data than 32-bit Arrow offsets can address.
    #[error("batch too large for 32-bit Arrow offsets")]
    Overflow,
    /// Arrow refused the decoded data.
    #[error("building the Arrow array failed: {0}")]
    Arrow(String),
}

impl From<ArrowError> for DeserializeError {
    fn from(e: ArrowError) -> Self {
        Self::Arrow(e.to_string())
    }
}
