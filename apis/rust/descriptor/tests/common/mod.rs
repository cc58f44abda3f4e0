//! Helpers shared by the descriptor tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use dora_descriptor::{Descriptor, DescriptorError, Diagnostic};

/// `tests/fixtures/descriptor/` at the root of the repository.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures/descriptor")
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// Environment used by the tests instead of the process environment.
pub fn test_env(name: &str) -> Option<String> {
    match name {
        "DORA_DESCRIPTOR_TEST_HOME" => Some("/home/robot".to_owned()),
        _ => None,
    }
}

/// Parses `text` with [`test_env`].
pub fn parse(text: &str) -> Result<Descriptor, DescriptorError> {
    Descriptor::parse_with_env(text, None, &test_env)
}

/// Parses a fixture with [`test_env`], naming it by file name in diagnostics.
pub fn parse_fixture(name: &str) -> Result<Descriptor, DescriptorError> {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    Descriptor::parse_with_env(&text, Some(Path::new(name)), &test_env)
}

/// The diagnostics of an invalid text; fails the test if the text is valid.
pub fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => {
            let diagnostics = error.diagnostics().to_vec();
            assert!(!diagnostics.is_empty(), "no diagnostics in {error}");
            diagnostics
        }
    }
}

/// The only diagnostic of an invalid text.
pub fn diagnostic(text: &str) -> Diagnostic {
    let mut all = diagnostics(text);
    assert_eq!(all.len(), 1, "expected one diagnostic, got {all:#?}");
    all.remove(0)
}

/// Asserts position, field and a part of the message.
#[track_caller]
pub fn assert_diagnostic(d: &Diagnostic, line: usize, column: usize, field: &str, message: &str) {
    assert_eq!(
        (d.line, d.column, d.field.as_str()),
        (line, column, field),
        "wrong place for {d}"
    );
    assert!(
        d.message.contains(message),
        "`{}` does not contain `{message}`",
        d.message
    );
}
