//! The budgets of reading a dataflow: how much input, work and output one file may cause.
//!
//! A dataflow file may come from anyone, so reading it is bounded in memory and time whatever
//! it holds. Each limit below is refused with a diagnostic naming the file, the line and
//! column and the field, never by a crash or a long wait.

/// Largest dataflow file read (16 MiB); a larger file (or text) is refused before parsing.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Most bytes of scalar text (keys and values) in a dataflow once every YAML alias is
/// expanded (16 MiB). Each `*alias` adds the text of the value it names; the alias that
/// crosses the limit is refused before its value is copied, so a file of nested aliases
/// ("billion laughs") cannot make the reader allocate more than about this much.
pub const MAX_EXPANDED_BYTES: usize = 16 * 1024 * 1024;

/// Most values (scalars, lists, maps, aliases expanded) in one dataflow.
pub const MAX_VALUES: usize = 1_000_000;

/// Deepest nesting of lists and maps accepted (a dataflow needs about 6 levels).
pub const MAX_DEPTH: usize = 64;

/// Longest node, operator, input or output id, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// Longest map key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Longest word (in characters) for which a "did you mean" suggestion is searched; longer
/// words are not typos of anything a dataflow names.
pub const MAX_SUGGESTION_WORD: usize = 64;

/// Most candidates compared for one suggestion; with more (a dataflow of thousands of
/// nodes), the error lists some of them instead of suggesting one.
pub const MAX_SUGGESTION_CANDIDATES: usize = 1000;

/// Most characters of a value quoted in an error; a longer value is cut, marked `…` and
/// followed by its length in bytes.
pub const MAX_QUOTED_CHARS: usize = 80;
