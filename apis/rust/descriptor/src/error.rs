//! Errors of reading a dataflow file.

use std::{fmt, io, path::PathBuf};

use crate::model::Location;

/// Most diagnostics kept in a [`DescriptorError::Invalid`]; the rest are only counted.
pub const MAX_DIAGNOSTICS: usize = 20;

/// The file name used in diagnostics when the text did not come from a file.
pub const NO_FILE: &str = "<input>";

/// One problem in a dataflow file.
///
/// Displays as `FILE:LINE:COLUMN: FIELD: MESSAGE`, for instance
/// ``dataflow.yml:12:9: nodes[2].inputs.tick: unknown node `talkr` (did you mean `talker`?)``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as it was named to [`Descriptor::read`](crate::Descriptor::read), or
    /// [`NO_FILE`].
    pub file: String,
    /// 1-based line of the offending key or value.
    pub line: usize,
    /// 1-based column (in characters) of the offending key or value.
    pub column: usize,
    /// Where in the dataflow the problem is, such as `nodes[2].inputs.tick`; `<root>` for the
    /// document itself.
    pub field: String,
    /// What is wrong, and how to fix it when we can tell.
    pub message: String,
}

impl Diagnostic {
    /// The line and column.
    pub fn location(&self) -> Location {
        Location {
            line: self.line,
            column: self.column,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.field, self.message
        )
    }
}

/// Why a dataflow could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// The file could not be read.
    #[error("{}: cannot read the dataflow file: {error}", path.display())]
    Io {
        /// The file as it was named.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// The file was read but is not a valid dataflow. Displays one diagnostic per line
    /// (sorted by position), then, when more than [`MAX_DIAGNOSTICS`] were found, a last
    /// line `FILE: N more problems not shown`.
    #[error("{}", render(diagnostics, *omitted))]
    Invalid {
        /// The first [`MAX_DIAGNOSTICS`] problems, sorted by position.
        diagnostics: Vec<Diagnostic>,
        /// How many problems were found beyond those in `diagnostics`.
        omitted: usize,
    },
}

impl DescriptorError {
    /// The diagnostics of an invalid file (empty for an I/O error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            DescriptorError::Io { .. } => &[],
            DescriptorError::Invalid { diagnostics, .. } => diagnostics,
        }
    }
}

fn render(diagnostics: &[Diagnostic], omitted: usize) -> String {
    let mut lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    if omitted > 0 {
        let file = diagnostics.first().map_or(NO_FILE, |d| d.file.as_str());
        let s = if omitted == 1 { "" } else { "s" };
        lines.push(format!("{file}: {omitted} more problem{s} not shown"));
    }
    lines.join("\n")
}

/// A problem before it is tied to a file name.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// Where the problem is.
    pub location: Location,
    /// The field path, `<root>` for the document itself.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Collects the problems of one file.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    /// Records a problem; an empty `field` is the document itself.
    pub fn push(
        &mut self,
        location: Location,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let field = field.into();
        self.list.push(Problem {
            location,
            field: if field.is_empty() {
                "<root>".to_owned()
            } else {
                field
            },
            message: message.into(),
        });
    }

    /// Whether no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Turns the problems into an error naming `file`: sorted by position, capped at
    /// [`MAX_DIAGNOSTICS`].
    pub fn into_error(mut self, file: &str) -> DescriptorError {
        self.list
            .sort_by_key(|p| (p.location.line, p.location.column));
        let omitted = self.list.len().saturating_sub(MAX_DIAGNOSTICS);
        let diagnostics = self
            .list
            .into_iter()
            .take(MAX_DIAGNOSTICS)
            .map(|p| Diagnostic {
                file: file.to_owned(),
                line: p.location.line,
                column: p.location.column,
                field: p.field,
                message: p.message,
            })
            .collect();
        DescriptorError::Invalid {
            diagnostics,
            omitted,
        }
    }
}
