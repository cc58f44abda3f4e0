//! The parser budgets through the real binary: `dora check --dataflow` refuses a NUL byte
//! with its position, and an alias bomb quickly under a memory cap.

use std::process::Command;

use crate::support::{dora, text};

/// `dora check` of `contents` under `ulimit -v` (KiB of address space), with a deadline;
/// returns the status and stderr.
fn check_capped(contents: &[u8], address_space_kib: u64) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("dataflow.yml");
    std::fs::write(&path, contents).expect("writing the dataflow");
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -v {address_space_kib} && exec timeout 60 \"$DORA\" check \
             --coordinator-port 1 --dataflow \"$FILE\""
        ))
        .env("DORA", dora())
        .env("FILE", &path)
        .output()
        .expect("running bash");
    (
        output.status.code(),
        text(&output.stderr),
        path.display().to_string(),
    )
}

#[test]
fn a_nul_byte_is_refused_with_its_line_and_column() {
    let contents = b"nodes:\n  - id: a\n    path: shell\n    args: \"echo a\"\n\0  - id: b\n    path: [[[ bad\n";
    let (status, stderr, path) = check_capped(contents, 4 * 1024 * 1024);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{path}:5:1: <root>: control character U+0000 in the file"
        )),
        "{stderr}"
    );
}

#[test]
fn an_alias_bomb_fails_fast_under_a_memory_cap() {
    let mut yaml = format!("a: &a \"{}\"\n", "x".repeat(10_000));
    for level in 1..=5u8 {
        let prev = (b'a' + level - 1) as char;
        let name = (b'a' + level) as char;
        let items = vec![format!("*{prev}"); 10].join(", ");
        yaml.push_str(&format!("{name}: &{name} [{items}]\n"));
    }
    // 256 MiB of address space: the expanded file would be about 100 MB of text and far more
    // as a tree; the refusal needs a few MB.
    let (status, stderr, path) = check_capped(yaml.as_bytes(), 256 * 1024);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{path}:5:8: e[0]: the file holds more than 16777216 bytes of text once its \
             aliases are expanded"
        )),
        "{stderr}"
    );
}
