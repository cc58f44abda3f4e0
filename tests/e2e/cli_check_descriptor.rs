//! The descriptor through the real binary: `dora check --dataflow` on valid files, on each
//! kind of mistake, and on garbage.

use std::{path::Path, process::Command};

use crate::support::{self, dora};

fn check(path: &Path) -> (bool, String, String) {
    let output = Command::new(dora())
        .args(["check", "--coordinator-port", "1", "--dataflow"])
        .arg(path)
        .env("DORA_DESCRIPTOR_TEST_HOME", "/home/robot")
        .output()
        .expect("running dora check");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn fixture(name: &str) -> std::path::PathBuf {
    support::fixture(&format!("descriptor/{name}"))
}

#[test]
fn valid_files_pass() {
    for name in ["valid-all-keys.yml", "v0.3.6-example.yml"] {
        let (ok, stdout, stderr) = check(&fixture(name));
        assert!(ok, "{name}: {stdout}{stderr}");
        assert!(stdout.contains("is valid"), "{name}: {stdout}");
    }
}

/// Each invalid fixture with a diagnostic it must produce: `line:column: field: words`.
#[test]
fn each_mistake_is_reported_with_line_column_and_field() {
    let cases = [
        (
            "unknown-node.yml",
            "9:15: nodes[1].inputs.speech:",
            "did you mean `talker`?",
        ),
        (
            "unknown-key.yml",
            "4:5: nodes[0].inptus:",
            "did you mean `inputs`?",
        ),
        (
            "unknown-output.yml",
            "10:15: nodes[1].inputs.speech:",
            "did you mean `speech`?",
        ),
        (
            "duplicate-node-id.yml",
            "4:9: nodes[1].id:",
            "`camera` is already used",
        ),
        (
            "duplicate-key.yml",
            "4:5: nodes[0].path:",
            "duplicate key `path`",
        ),
        (
            "bad-timers.yml",
            "5:13: nodes[0].inputs.zero:",
            "N must be at least 1",
        ),
        (
            "bad-timers.yml",
            "6:17: nodes[0].inputs.furlongs:",
            "unknown unit `furlongs`",
        ),
        ("node-kind.yml", "2:5: nodes[0]:", "found none"),
        (
            "node-kind.yml",
            "6:5: nodes[1].operator:",
            "found `path`, `operator`",
        ),
        (
            "syntax-error.yml",
            "5:7: nodes[0].inputs[1]:",
            "invalid YAML",
        ),
        (
            "undefined-env.yml",
            "5:13: nodes[0].env.DATA:",
            "is not set",
        ),
    ];
    for (name, position, words) in cases {
        let path = fixture(name);
        let (ok, stdout, stderr) = check(&path);
        assert!(!ok, "{name} must be refused: {stdout}");
        let prefix = format!("{}:", path.display());
        let diagnostic = stderr
            .lines()
            .find(|l| l.starts_with(&prefix) && l.contains(position) && l.contains(words))
            .unwrap_or_else(|| {
                panic!("{name}: no diagnostic with `{position}` and `{words}`:\n{stderr}")
            });
        // FILE:LINE:COLUMN: FIELD: message
        let mut parts = diagnostic[prefix.len()..].splitn(3, ':');
        let line: usize = parts
            .next()
            .and_then(|l| l.parse().ok())
            .expect("a line number");
        let column: usize = parts
            .next()
            .and_then(|c| c.trim().parse().ok())
            .expect("a column");
        assert!(line >= 1 && column >= 1, "{diagnostic}");
    }
}

#[test]
fn random_bytes_and_truncated_yaml_give_clean_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut seed: u64 = 0x5eed;
    for round in 0..20 {
        let bytes: Vec<u8> = (0..(round * 37 + 1))
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 56) as u8
            })
            .collect();
        let path = dir.path().join(format!("random-{round}.yml"));
        std::fs::write(&path, bytes).expect("writing");
        let (ok, _, stderr) = check(&path);
        assert!(!ok, "random bytes accepted");
        assert!(stderr.contains(&format!("{}:", path.display())), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let valid = std::fs::read_to_string(fixture("v0.3.6-example.yml")).expect("fixture");
    for cut in (1..valid.len()).step_by(valid.len() / 25 + 1) {
        let path = dir.path().join("truncated.yml");
        std::fs::write(&path, &valid[..cut]).expect("writing");
        let (ok, stdout, stderr) = check(&path);
        assert!(!stderr.contains("panicked"), "cut at {cut}: {stderr}");
        if !ok {
            assert!(
                stderr.contains(&format!("{}:", path.display())),
                "cut at {cut}: {stdout}{stderr}"
            );
        }
    }
}
