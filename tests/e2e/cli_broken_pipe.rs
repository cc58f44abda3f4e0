//! A command whose output goes to a pipe closed early (`dora check … | head -1`) ends quietly
//! with the conventional status of a process ended by `SIGPIPE` (141 in a shell), never
//! with a panic.

use std::process::Command;

use crate::support::{assert_gone, dora, fixture, pid_in, text, Dataflow};

/// Runs `dora ARGS | head -c 1` in a shell with a deadline; returns dora's status as the
/// shell saw it and dora's stderr.
fn into_closed_pipe(args: &str) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let stderr = dir.path().join("stderr");
    // `head -c 1` exits after one byte; dora then writes into a pipe without reader (the
    // callers print more than a pipe buffer holds, so dora writes after head is gone).
    let script = format!(
        "timeout 60 \"$DORA\" {args} 2>\"$ERR\" | head -c 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\""
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("DORA", dora())
        .env("ERR", &stderr)
        .output()
        .expect("running bash");
    let status = text(&output.stdout).trim().parse().unwrap_or(-1);
    let stderr = std::fs::read_to_string(&stderr).unwrap_or_default();
    (status, stderr)
}

#[test]
fn commands_end_quietly_on_a_closed_stdout() {
    // A dataflow of many nodes, so that `graph --mermaid` prints more than a pipe buffer
    // holds.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut yaml = String::from("nodes:\n");
    for i in 0..3000 {
        yaml.push_str(&format!(
            "  - id: node{i}\n    path: shell\n    args: echo\n    outputs: [o]\n"
        ));
    }
    let big = dir.path().join("big.yml");
    std::fs::write(&big, yaml).expect("writing the dataflow");
    let valid = fixture("descriptor/valid-all-keys.yml");
    for args in [
        format!("graph --mermaid {}", big.display()),
        format!("check --coordinator-port 1 --dataflow {}", valid.display()),
    ] {
        let (status, stderr) = into_closed_pipe(&args);
        assert!(!stderr.contains("panicked"), "dora {args}: {stderr}");
        assert!(
            status == 141 || status == 0 || status == 1,
            "dora {args}: status {status}: {stderr}"
        );
    }
    let (status, stderr) = into_closed_pipe(&format!("graph --mermaid {}", big.display()));
    assert_eq!(status, 141, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// `dora run | head`: once the reader left, the dataflow stops (its nodes end, none is left
/// running unseen) and dora ends with the status of a closed pipe.
#[test]
fn dora_run_stops_its_dataflow_when_its_output_closes() {
    let dataflow = Dataflow::new(
        r#"
nodes:
  - id: chatty
    path: shell
    args: echo pid=$$ >&2; while true; do echo line; sleep 0.01; done
"#,
    );
    let stderr = dataflow.cwd().join("stderr");
    let script = "timeout 60 \"$DORA\" run dataflow.yml --grace-duration 1s 2>\"$ERR\" \
                  | head -n 3 >/dev/null; echo \"${PIPESTATUS[0]}\"";
    let output = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dataflow.cwd())
        .env("DORA", dora())
        .env("ERR", &stderr)
        .output()
        .expect("running bash");
    let status: i32 = text(&output.stdout).trim().parse().unwrap_or(-1);
    let stderr = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert_eq!(status, 141, "{stderr}");
    assert!(
        stderr.contains("standard output was closed; stopping the dataflow"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("pid="))
        .unwrap_or_else(|| panic!("no pid line in {stderr}"));
    assert_gone(pid_in(line));
}
