//! `dora build`: runs the dataflow's build commands in order, in the dataflow's folder, and
//! stops at the first failure. The commands are shell syntax (the tests run on Linux only).

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{dora, text};

fn dora_build(dataflow: &Path, cwd: &Path) -> Output {
    Command::new(dora())
        .arg("build")
        .arg(dataflow)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("failed to run dora")
}

/// Writes `yaml` as `<tmp>/project/dataflow.yml` and returns the temp dir.
fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("project");
    std::fs::create_dir(&project).expect("create project dir");
    std::fs::write(project.join("dataflow.yml"), yaml).expect("write dataflow");
    dir
}

#[test]
fn build_runs_commands_in_order_in_dataflow_folder() {
    let dir = project(
        r#"
nodes:
  - id: first
    build: |
      echo first-1 >> build.log
      echo first-2 >> build.log
    path: ./first
    outputs:
      - out
  - id: no-build
    path: ./second
    inputs:
      in: first/out
  - id: single
    operator:
      build: echo single >> build.log
      python: single.py
      inputs:
        in: first/out
  - id: runtime
    operators:
      - id: a
        build: echo runtime-a >> build.log
        python: a.py
        inputs:
          in: first/out
      - id: b
        build: echo runtime-b >> build.log && echo to-stdout
        python: b.py
        inputs:
          in: first/out
"#,
    );
    // Run from the temp dir, not the project folder: commands must run beside the yaml.
    let out = dora_build(Path::new("project/dataflow.yml"), dir.path());
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));

    let log = std::fs::read_to_string(dir.path().join("project/build.log")).expect("build.log");
    assert_eq!(log, "first-1\nfirst-2\nsingle\nruntime-a\nruntime-b\n");
    assert!(!dir.path().join("build.log").exists());

    assert_eq!(
        text(&out.stdout),
        "[build] first: echo first-1 >> build.log\n\
         [build] first: echo first-2 >> build.log\n\
         [build] single: echo single >> build.log\n\
         [build] runtime/a: echo runtime-a >> build.log\n\
         [build] runtime/b: echo runtime-b >> build.log && echo to-stdout\n\
         to-stdout\n"
    );
}

#[test]
fn build_stops_at_first_failing_command() {
    let dir = project(
        r#"
nodes:
  - id: first
    build: echo first >> build.log
    path: ./first
    outputs:
      - out
  - id: broken
    build: |
      echo broken >> build.log
      exit 7
      echo after-failure >> build.log
    path: ./broken
    inputs:
      in: first/out
  - id: last
    build: echo last >> build.log
    path: ./last
    inputs:
      in: first/out
"#,
    );
    let out = dora_build(Path::new("project/dataflow.yml"), dir.path());
    assert!(!out.status.success());

    let log = std::fs::read_to_string(dir.path().join("project/build.log")).expect("build.log");
    assert_eq!(log, "first\nbroken\n");

    let stderr = text(&out.stderr);
    assert!(stderr.contains("`broken`"), "node not named: {stderr}");
    assert!(stderr.contains("`exit 7`"), "command not named: {stderr}");
    assert!(
        stderr.contains("exited with status 7"),
        "status not named: {stderr}"
    );
}

#[test]
fn build_reports_signal() {
    let dir = project(
        r#"
nodes:
  - id: killed
    build: kill -9 $$
    path: ./killed
    outputs:
      - out
"#,
    );
    let out = dora_build(Path::new("project/dataflow.yml"), dir.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("killed by signal 9"),
        "signal not named: {stderr}"
    );
}

#[test]
fn build_without_commands_succeeds_quietly() {
    let dir = project(
        r#"
nodes:
  - id: plain
    path: ./plain
    outputs:
      - out
"#,
    );
    let out = dora_build(Path::new("project/dataflow.yml"), dir.path());
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
}
