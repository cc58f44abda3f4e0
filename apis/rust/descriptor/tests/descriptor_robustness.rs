//! No input makes the parser panic, and every error has a position.

mod common;

use common::{fixture, parse};
use dora_descriptor::{Descriptor, DescriptorError};

/// A simple linear congruential generator, so that the inputs are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Asserts that an error has at least one diagnostic with a 1-based position.
#[track_caller]
fn assert_positioned(error: &DescriptorError, input: &[u8]) {
    let diagnostics = error.diagnostics();
    assert!(
        !diagnostics.is_empty(),
        "no diagnostics for {input:?}: {error}"
    );
    for d in diagnostics {
        assert!(
            d.line >= 1 && d.column >= 1,
            "bad position in {d} for {input:?}"
        );
        assert!(!d.field.is_empty() && !d.message.is_empty(), "{d}");
    }
}

#[test]
fn random_bytes_give_positioned_errors() {
    let mut rng = Lcg(42);
    // Bytes that make YAML-looking noise more likely than uniform bytes would.
    let alphabet = b"nodes:id path inputs outputs -/[]{}:,'\"&*!#|>?%@`\t\n\r 0123456789\xff\xc3";
    for i in 0..200 {
        let len = (rng.next() % 400) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = rng.next();
                if i % 2 == 0 {
                    alphabet[(r as usize) % alphabet.len()]
                } else {
                    r as u8
                }
            })
            .collect();
        if let Err(error) = Descriptor::parse_bytes(&bytes, None) {
            assert_positioned(&error, &bytes);
        }
    }
}

#[test]
fn every_truncation_of_a_valid_file_is_handled() {
    let text = std::fs::read(fixture("valid-all-keys.yml")).unwrap();
    for end in 0..text.len() {
        let prefix = &text[..end];
        match Descriptor::parse_bytes(prefix, None) {
            Ok(_) => {}
            Err(error) => assert_positioned(&error, prefix),
        }
    }
}

#[test]
fn hostile_documents_are_refused_cleanly() {
    let deep_flow = "[".repeat(100_000);
    let deep_block: String = (0..2_000)
        .map(|i| format!("{}- a:\n", " ".repeat(i * 2)))
        .collect();
    let deep_map: String = (0..2_000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = (b'a' + i - 1) as char;
        let name = (b'a' + i) as char;
        laughs.push_str(&format!(
            "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("only comments", "# nothing\n".into()),
        ("scalar", "hello".into()),
        ("list", "- a\n- b\n".into()),
        ("null", "~".into()),
        ("tabs", "nodes:\n\t- id: a\n".into()),
        ("two documents", "nodes: []\n---\nnodes: []\n".into()),
        ("unknown alias", "nodes: *x\n".into()),
        ("custom tag", "nodes: !custom []\n".into()),
        ("complex key", "? [a]\n: b\n".into()),
        ("deep flow", deep_flow),
        ("deep block", deep_block),
        ("deep map", deep_map),
        ("billion laughs", laughs),
        ("unclosed quote", "nodes:\n  - id: \"a\n".into()),
        ("bom", "\u{feff}nodes: 3\n".into()),
        ("nul", "nodes:\0\n".into()),
    ];
    for (name, text) in cases {
        match parse(&text) {
            Ok(d) => panic!("{name}: accepted {d:?}"),
            Err(error) => {
                assert_positioned(&error, name.as_bytes());
                // The message must render without panicking too.
                assert!(!error.to_string().is_empty());
            }
        }
    }
}

#[test]
fn invalid_utf8_points_at_the_byte() {
    let error = Descriptor::parse_bytes(b"nodes:\n  - id: ab\xffc\n", None).unwrap_err();
    let d = &error.diagnostics()[0];
    assert_eq!((d.line, d.column), (2, 11), "{d}");
    assert!(d.message.contains("not UTF-8"), "{d}");
    assert_eq!(d.file, "<input>");
}
