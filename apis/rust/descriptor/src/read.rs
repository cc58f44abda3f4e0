//! Reading a dataflow: bytes → text → YAML tree → model → validated [`Descriptor`].

use std::path::Path;

use std::io::Read;

use crate::error::{DescriptorError, Problems, NO_FILE};
use crate::limits::MAX_FILE_BYTES;
use crate::model::{Descriptor, Location};
use crate::parse::Walker;
use crate::validate::validate;
use crate::yaml;

impl Descriptor {
    /// Reads and validates a dataflow file. `$VAR` in `env` values are expanded from the
    /// environment of this process.
    ///
    /// # Errors
    ///
    /// [`DescriptorError::Io`] when the file cannot be read, [`DescriptorError::Invalid`] with
    /// every problem found (up to [`MAX_DIAGNOSTICS`](crate::MAX_DIAGNOSTICS)) otherwise.
    pub fn read(path: &Path) -> Result<Descriptor, DescriptorError> {
        let io_error = |error| DescriptorError::Io {
            path: path.to_owned(),
            error,
        };
        // One byte more than the cap tells a file at the cap from a larger one without
        // reading (or allocating for) the rest, whatever the file is (a pipe has no size).
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(io_error)?
            .take(MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        Descriptor::parse_bytes(&bytes, Some(path))
    }

    /// Parses and validates YAML text; `path` is only used in messages and stored in
    /// [`Descriptor::path`].
    ///
    /// # Errors
    ///
    /// [`DescriptorError::Invalid`] with every problem found.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Descriptor, DescriptorError> {
        Descriptor::parse_with_env(text, path, &|name| std::env::var(name).ok())
    }

    /// Parses and validates raw bytes; bytes that are not UTF-8 give an error at their
    /// position.
    ///
    /// # Errors
    ///
    /// [`DescriptorError::Invalid`] with every problem found.
    pub fn parse_bytes(bytes: &[u8], path: Option<&Path>) -> Result<Descriptor, DescriptorError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Descriptor::parse(text, path),
            Err(error) => {
                let valid = &bytes[..error.valid_up_to()];
                // The prefix is valid UTF-8 by definition of `valid_up_to`.
                let prefix = String::from_utf8_lossy(valid);
                let line = prefix.matches('\n').count() + 1;
                let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                let mut problems = Problems::default();
                problems.push(
                    Location { line, column },
                    "",
                    format!(
                        "the file is not UTF-8 text (invalid byte 0x{:02x})",
                        bytes[error.valid_up_to()]
                    ),
                );
                Err(problems.into_error(&file_name(path)))
            }
        }
    }

    /// Like [`Descriptor::parse`], with `lookup` giving the value of each environment
    /// variable named by a `$VAR` in an `env` value (`None`: not set).
    ///
    /// # Errors
    ///
    /// [`DescriptorError::Invalid`] with every problem found.
    pub fn parse_with_env(
        text: &str,
        path: Option<&Path>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Descriptor, DescriptorError> {
        let file = file_name(path);
        if text.len() > MAX_FILE_BYTES {
            let mut problems = Problems::default();
            problems.push(
                Location { line: 1, column: 1 },
                "",
                format!(
                    "the file is larger than {MAX_FILE_BYTES} bytes (16 MiB), the most a \
                     dataflow file may hold"
                ),
            );
            return Err(problems.into_error(&file));
        }
        // Editors hide a byte order mark, so columns are counted without it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if let Some((location, c)) = first_control_character(text) {
            let mut problems = Problems::default();
            problems.push(
                location,
                "",
                format!(
                    "control character U+{:04X} in the file: a dataflow file is text, where \
                     only tabs and line breaks may be control characters",
                    u32::from(c)
                ),
            );
            return Err(problems.into_error(&file));
        }
        let root = match yaml::load(text) {
            Ok(root) => root,
            Err(error) => {
                let mut problems = Problems::default();
                problems.push(error.location, error.field, error.message);
                return Err(problems.into_error(&file));
            }
        };
        let mut walker = Walker::new(lookup);
        let parsed = walker.descriptor(root.as_ref());
        let mut problems = walker.problems;
        let Some(mut parsed) = parsed else {
            return Err(problems.into_error(&file));
        };
        validate(&mut parsed.nodes, &mut problems);
        if !problems.is_empty() {
            return Err(problems.into_error(&file));
        }
        Ok(Descriptor {
            path: path.map(Path::to_owned),
            nodes: parsed.nodes.into_iter().map(|p| p.node).collect(),
            communication: parsed.communication,
            deploy: parsed.deploy,
        })
    }
}

/// The first control character other than tab, line feed and carriage return, and where it
/// is (column in characters, as in every diagnostic).
fn first_control_character(text: &str) -> Option<(Location, char)> {
    let (index, c) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))?;
    let before = &text[..index];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    Some((Location { line, column }, c))
}

fn file_name(path: Option<&Path>) -> String {
    path.map_or_else(|| NO_FILE.to_owned(), |p| p.display().to_string())
}
