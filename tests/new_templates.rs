//! `dora new` end to end: every template is generated into a temporary folder, built with
//! `dora build` (real cargo, real C/C++ compilers and CMake — a missing tool fails the test),
//! and run with `dora run`; the tests check what the nodes printed, then stop the dataflow
//! with Ctrl-C (the templates run until stopped, like dora-rs v0.3.6's).

mod common;

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::Command,
};

use common::{run_dora, Output, Running};
use nix::sys::signal::Signal;

/// One cargo target folder for every Rust project the tests generate, so the dependencies
/// (Arrow, the node API) are built once, not once per test. Each project's `target` is a
/// symbolic link to it, so the paths in the generated dataflows stay as generated.
fn shared_cargo_target() -> PathBuf {
    let target = common::dora()
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("new-templates"))
        .expect("the dora binary lives in target/<profile>");
    std::fs::create_dir_all(&target).expect("creating the shared target folder");
    target
}

fn share_cargo_target(project: &Path) {
    std::os::unix::fs::symlink(shared_cargo_target(), project.join("target"))
        .expect("linking the project's target folder");
}

/// Runs `dora ARGS` in `cwd` with `CARGO_TARGET_DIR` set to the shared target folder. No
/// timeout: a first build compiles the dependencies and may take minutes.
fn dora_building(args: &[&str], cwd: &Path) -> Output {
    let output = Command::new(common::dora())
        .args(args)
        .current_dir(cwd)
        .env("CARGO_TARGET_DIR", shared_cargo_target())
        .output()
        .expect("starting dora");
    Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn dora_new(args: &[&str], cwd: &Path) {
    let mut all = vec!["new"];
    all.extend_from_slice(args);
    let output = run_dora(&all, cwd);
    assert!(output.status.success(), "dora new failed: {output:?}");
}

/// Builds the dataflow `file` in `dir`, runs it, waits for every `expected` line, stops it
/// with Ctrl-C and checks that it ended cleanly.
fn build_and_run(dir: &Path, file: &str, expected: &[&str]) -> Output {
    let build = dora_building(&["build", file], dir);
    assert!(build.status.success(), "dora build failed: {build:?}");
    let mut run = Running::start(&["run", file, "--grace-duration", "5s"], dir);
    for line in expected {
        run.wait_for_line(line);
    }
    run.signal(Signal::SIGINT);
    let output = run.finish();
    assert!(output.status.success(), "dora run failed: {output:?}");
    output
}

#[test]
fn new_rust_dataflow_builds_and_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    dora_new(&["robot"], dir.path());
    let project = dir.path().join("robot");
    share_cargo_target(&project);
    build_and_run(
        &project,
        "dataflow.yml",
        &[
            "[listener_1] listener_1 heard on `speech_1`: Hello World #1 from talker_1",
            "[listener_1] listener_1 heard on `speech_2`: Hello World #1 from talker_2",
            "[listener_1] listener_1 heard on `speech_1`: Hello World #3 from talker_1",
        ],
    );
}

#[test]
fn new_rust_node_builds_and_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    dora_new(&["robot_node", "--kind", "custom-node"], dir.path());
    share_cargo_target(&dir.path().join("robot_node"));
    std::fs::write(
        dir.path().join("dataflow.yml"),
        r#"
nodes:
  - id: first
    build: cargo build --manifest-path robot_node/Cargo.toml
    path: robot_node/target/debug/robot_node
    inputs:
      tick: dora/timer/millis/50
    outputs:
      - status
  - id: second
    path: robot_node/target/debug/robot_node
    inputs:
      status: first/status
    outputs:
      - status
"#,
    )
    .expect("writing the dataflow");
    build_and_run(
        dir.path(),
        "dataflow.yml",
        &[
            "[first] robot_node received input `tick` #1",
            "[second] robot_node received input `status` #2",
        ],
    );
}

#[test]
fn new_rust_operator_builds_and_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    dora_new(&["robot_operator", "--kind", "operator"], dir.path());
    share_cargo_target(&dir.path().join("robot_operator"));
    std::fs::write(
        dir.path().join("dataflow.yml"),
        r#"
nodes:
  - id: runtime
    operators:
      - id: first
        build: cargo build --manifest-path robot_operator/Cargo.toml
        shared-library: robot_operator/target/debug/robot_operator
        inputs:
          tick: dora/timer/millis/50
        outputs:
          - status
      - id: second
        shared-library: robot_operator/target/debug/robot_operator
        inputs:
          status: runtime/first/status
        outputs:
          - status
"#,
    )
    .expect("writing the dataflow");
    build_and_run(
        dir.path(),
        "dataflow.yml",
        &[
            "[runtime] robot_operator received input `tick` #1",
            "[runtime] robot_operator received input `status` #2",
        ],
    );
}

#[test]
fn new_refuses_bad_names_and_existing_folders_writing_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["2fast", "my-robot", "a b", "../escape"] {
        let output = run_dora(&["new", name], dir.path());
        assert!(!output.status.success(), "`{name}` accepted: {output:?}");
        assert!(output.stderr.contains("is not a valid name"), "{output:?}");
    }
    std::fs::create_dir(dir.path().join("taken")).expect("creating a folder");
    let output = run_dora(&["new", "taken", "--lang", "c"], dir.path());
    assert!(!output.status.success(), "{output:?}");
    assert!(output.stderr.contains("already exists"), "{output:?}");
    let left: Vec<OsString> = std::fs::read_dir(dir.path())
        .expect("reading the temp dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, [OsString::from("taken")]);
    assert_eq!(
        std::fs::read_dir(dir.path().join("taken"))
            .expect("reading taken/")
            .count(),
        0
    );
}

#[test]
fn new_python_dataflow_runs_as_generated() {
    common::python();
    let dir = tempfile::tempdir().expect("temp dir");
    dora_new(&["robot", "--lang", "python"], dir.path());
    build_and_run(
        &dir.path().join("robot"),
        "dataflow.yml",
        &[
            "[listener_1] listener_1 heard on `speech_1`: Hello World #1 from talker_1",
            "[listener_1] listener_1 heard on `speech_2`: Hello World #1 from talker_2",
            "[listener_1] listener_1 heard on `speech_1`: Hello World #3 from talker_1",
        ],
    );
}

/// The node is a package: pip installs it (into a folder of the test), its own test passes
/// against the installed copy, and it runs in a dataflow.
#[test]
fn new_python_node_installs_passes_its_test_and_runs() {
    let python = common::python();
    let dir = tempfile::tempdir().expect("temp dir");
    dora_new(
        &["robot_node", "--kind", "node", "--lang", "python"],
        dir.path(),
    );
    let site = dir.path().join("site");
    let install = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
        ])
        .arg("--target")
        .arg(&site)
        .arg(dir.path().join("robot_node"))
        .output()
        .expect("running pip");
    assert!(
        install.status.success(),
        "pip install of the generated node failed (it needs setuptools, as .ci/run installs): {}",
        String::from_utf8_lossy(&install.stderr)
    );
    assert!(site.join("robot_node/main.py").exists());
    let test = Command::new(python)
        .arg(dir.path().join("robot_node/tests/test_robot_node.py"))
        .env("PYTHONPATH", &site)
        .env_remove("DORA_NODE_CONFIG")
        .output()
        .expect("running the node's test");
    assert!(
        test.status.success() && String::from_utf8_lossy(&test.stdout).contains("ok"),
        "the generated test failed: {test:?}"
    );
    std::fs::write(
        dir.path().join("dataflow.yml"),
        r#"
nodes:
  - id: first
    path: robot_node/robot_node/main.py
    inputs:
      tick: dora/timer/millis/50
    outputs:
      - status
  - id: second
    path: robot_node/robot_node/main.py
    inputs:
      status: first/status
    outputs:
      - status
"#,
    )
    .expect("writing the dataflow");
    build_and_run(
        dir.path(),
        "dataflow.yml",
        &[
            "[first] robot_node received input `tick` #1",
            "[second] robot_node received input `status` #2",
        ],
    );
}

#[test]
fn new_python_operator_runs_as_generated() {
    common::python();
    let dir = tempfile::tempdir().expect("temp dir");
    dora_new(
        &["robot_operator", "--kind", "operator", "--lang", "python"],
        dir.path(),
    );
    std::fs::write(
        dir.path().join("dataflow.yml"),
        r#"
nodes:
  - id: runtime
    operators:
      - id: first
        python: robot_operator/robot_operator.py
        inputs:
          tick: dora/timer/millis/50
        outputs:
          - status
      - id: second
        python: robot_operator/robot_operator.py
        inputs:
          status: runtime/first/status
        outputs:
          - status
"#,
    )
    .expect("writing the dataflow");
    build_and_run(
        dir.path(),
        "dataflow.yml",
        &[
            "[runtime] robot_operator received input `tick` #1",
            "[runtime] robot_operator received input `status` #2",
        ],
    );
}

/// Runs `dora ARGS` for a C/C++ project: the CMake integration builds the dora static
/// libraries with cargo in the checkout; the debug profile shares what the tests built.
fn dora_cmake(args: &[&str], cwd: &Path) -> Output {
    let output = Command::new(common::dora())
        .args(args)
        .current_dir(cwd)
        .env("DORA_CARGO_PROFILE", "debug")
        .output()
        .expect("starting dora");
    Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn build_and_run_cmake(dir: &Path, expected: &[&str]) {
    let build = dora_cmake(&["build", "dataflow.yml"], dir);
    assert!(build.status.success(), "dora build failed: {build:?}");
    let mut run = Running::start(&["run", "dataflow.yml", "--grace-duration", "5s"], dir);
    for line in expected {
        run.wait_for_line(line);
    }
    run.signal(Signal::SIGINT);
    let output = run.finish();
    assert!(output.status.success(), "dora run failed: {output:?}");
}

fn cmake_dataflow(lang: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    dora_new(&["robot", "--lang", lang], dir.path());
    build_and_run_cmake(
        &dir.path().join("robot"),
        &[
            "[listener_1] listener_1 heard on `speech_1`: Hello World #1 from talker_1",
            "[listener_1] listener_1 heard on `speech_2`: Hello World #1 from talker_2",
            "[listener_1] listener_1 heard on `speech_1`: Hello World #3 from talker_1",
        ],
    );
}

fn cmake_node(lang: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    dora_new(
        &["robot_node", "--kind", "node", "--lang", lang],
        dir.path(),
    );
    std::fs::write(
        dir.path().join("dataflow.yml"),
        r#"
nodes:
  - id: first
    build: cmake -S robot_node -B robot_node/build && cmake --build robot_node/build
    path: robot_node/build/robot_node
    inputs:
      tick: dora/timer/millis/50
    outputs:
      - status
  - id: second
    path: robot_node/build/robot_node
    inputs:
      status: first/status
    outputs:
      - status
"#,
    )
    .expect("writing the dataflow");
    build_and_run_cmake(
        dir.path(),
        &[
            "[first] robot_node received input `tick` #1",
            "[second] robot_node received input `status` #2",
        ],
    );
}

fn cmake_operator(lang: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    dora_new(
        &["robot_operator", "--kind", "operator", "--lang", lang],
        dir.path(),
    );
    if lang != "c" {
        // The C++ template is written against the C++ operator API (cxx), not the C header.
        let project = dir.path().join("robot_operator");
        let read = |file: &str| {
            std::fs::read_to_string(project.join(file))
                .unwrap_or_else(|err| panic!("reading the generated {file}: {err}"))
        };
        assert!(read("operator.h").contains("#include \"dora-operator-api.h\""));
        assert!(read("CMakeLists.txt").contains("dora_add_cxx_operator(robot_operator"));
        assert!(!read("operator.cpp").contains("dora/operator_api.h"));
    }
    std::fs::write(
        dir.path().join("dataflow.yml"),
        r#"
nodes:
  - id: runtime
    operators:
      - id: first
        build: cmake -S robot_operator -B robot_operator/build && cmake --build robot_operator/build
        shared-library: robot_operator/build/robot_operator
        inputs:
          tick: dora/timer/millis/50
        outputs:
          - status
      - id: second
        shared-library: robot_operator/build/robot_operator
        inputs:
          status: runtime/first/status
        outputs:
          - status
"#,
    )
    .expect("writing the dataflow");
    build_and_run_cmake(
        dir.path(),
        &[
            "[runtime] robot_operator received input `tick` #1",
            "[runtime] robot_operator received input `status` #2",
        ],
    );
}

#[test]
fn new_c_dataflow_builds_and_runs() {
    cmake_dataflow("c");
}

#[test]
fn new_c_node_builds_and_runs() {
    cmake_node("c");
}

#[test]
fn new_c_operator_builds_and_runs() {
    cmake_operator("c");
}

#[test]
fn new_cxx_dataflow_builds_and_runs() {
    cmake_dataflow("cxx");
}

#[test]
fn new_cxx_node_builds_and_runs() {
    cmake_node("c++");
}

#[test]
fn new_cxx_operator_builds_and_runs() {
    cmake_operator("c++");
}
