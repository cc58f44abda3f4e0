//! Reading a dataflow: bytes → text → YAML tree → model → validated [`Descriptor`].

use std::path::Path;

use crate::error::{DescriptorError, Problems, NO_FILE};
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
        let bytes = std::fs::read(path).map_err(|error| DescriptorError::Io {
            path: path.to_owned(),
            error,
        })?;
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
        // Editors hide a byte order mark, so columns are counted without it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
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

fn file_name(path: Option<&Path>) -> String {
    path.map_or_else(|| NO_FILE.to_owned(), |p| p.display().to_string())
}
