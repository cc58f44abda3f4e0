//! `dora new` end to end: every template is generated into a temporary folder, built with
//! `dora build` (real cargo, real C/C++ compilers and CMake — a missing tool fails the test),
//! and run with `dora run`; the tests check what the nodes printed, then stop the dataflow
//! with Ctrl-C (the templates run until stopped, like dora-rs v0.3.6's).

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::Command,
};

use nix::sys::signal::Signal;

use crate::support::{dora, native::require_tools, python, run_dora, run_dora_untimed, Running};

/// What the generated dataflow's listener prints (templates of kind `dataflow`).
const DATAFLOW_LINES: &[&str] = &[
    "[listener_1] listener_1 heard on `speech_1`: Hello World #1 from talker_1",
    "[listener_1] listener_1 heard on `speech_2`: Hello World #1 from talker_2",
    "[listener_1] listener_1 heard on `speech_1`: Hello World #3 from talker_1",
];

/// What two generated nodes `first` and `second` print (see [`node_pair`]).
const NODE_LINES: &[&str] = &[
    "[first] robot_node received input `tick` #1",
    "[second] robot_node received input `status` #2",
];

/// What two generated operators print (see [`operator_pair`]).
const OPERATOR_LINES: &[&str] = &[
    "[runtime] robot_operator received input `tick` #1",
    "[runtime] robot_operator received input `status` #2",
];

/// A project language and how `dora build` builds it.
#[derive(Clone, Copy)]
enum Lang {
    Rust,
    Python,
    /// C or C++ through CMake: `c`, `cxx` or `c++`.
    Cmake(&'static str),
}

impl Lang {
    /// The `--lang` argument of `dora new`.
    fn arg(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Cmake(lang) => lang,
        }
    }

    /// Checks what the language's projects need before generating one.
    fn require(self) {
        match self {
            Lang::Rust => {}
            Lang::Python => {
                python();
            }
            Lang::Cmake(_) => require_tools(),
        }
    }

    /// Environment for `dora build`. Rust projects share one cargo target folder, so the
    /// dependencies (Arrow, the node API) are built once, not once per test; CMake projects
    /// build the dora static libraries in cargo's debug profile, which `cargo test` built.
    fn build_env(self) -> Vec<(&'static str, PathBuf)> {
        match self {
            Lang::Rust => vec![("CARGO_TARGET_DIR", shared_cargo_target())],
            Lang::Python => Vec::new(),
            Lang::Cmake(_) => vec![("DORA_CARGO_PROFILE", PathBuf::from("debug"))],
        }
    }
}

/// The cargo target folder of every Rust project the tests generate. Each project's `target`
/// is a symbolic link to it, so the paths in the generated dataflows stay as generated.
fn shared_cargo_target() -> PathBuf {
    let target = dora()
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("new-templates"))
        .expect("the dora binary lives in target/<profile>");
    std::fs::create_dir_all(&target).expect("creating the shared target folder");
    target
}

/// `dora new NAME --kind KIND --lang LANG` in a new temporary folder; returns the folder.
fn generate(name: &str, kind: &str, lang: Lang) -> tempfile::TempDir {
    lang.require();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run_dora(
        &["new", name, "--kind", kind, "--lang", lang.arg()],
        dir.path(),
    );
    assert!(output.status.success(), "dora new failed: {output:?}");
    if let Lang::Rust = lang {
        std::os::unix::fs::symlink(shared_cargo_target(), dir.path().join(name).join("target"))
            .expect("linking the project's target folder");
    }
    dir
}

/// Builds `dataflow.yml` in `dir`, runs it, waits for every `expected` line, stops it with
/// Ctrl-C and checks that it ended cleanly.
fn build_and_run(dir: &Path, lang: Lang, expected: &[&str]) {
    let env = lang.build_env();
    let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let build = run_dora_untimed(&["build", "dataflow.yml"], dir, &env);
    assert!(build.status.success(), "dora build failed: {build:?}");
    let mut run = Running::start(&["run", "dataflow.yml", "--grace-duration", "5s"], dir);
    for line in expected {
        run.wait_for_line(line);
    }
    run.signal(Signal::SIGINT);
    let output = run.finish();
    assert!(output.status.success(), "dora run failed: {output:?}");
}

/// Writes a dataflow of two nodes running the same executable: `first` on a timer, `second`
/// on `first`'s output. `build` is the first node's build command.
fn node_pair(dir: &Path, build: Option<&str>, path: &str) {
    let build = build.map_or(String::new(), |b| format!("\n    build: {b}"));
    write_dataflow(
        dir,
        &format!(
            r#"
nodes:
  - id: first{build}
    path: {path}
    inputs:
      tick: dora/timer/millis/50
    outputs:
      - status
  - id: second
    path: {path}
    inputs:
      status: first/status
    outputs:
      - status
"#
        ),
    );
}

/// Writes a dataflow of one runtime node with two operators of the same source (`key`:
/// `shared-library` or `python`): `first` on a timer, `second` on `first`'s output.
fn operator_pair(dir: &Path, build: Option<&str>, key: &str, source: &str) {
    let build = build.map_or(String::new(), |b| format!("\n        build: {b}"));
    write_dataflow(
        dir,
        &format!(
            r#"
nodes:
  - id: runtime
    operators:
      - id: first{build}
        {key}: {source}
        inputs:
          tick: dora/timer/millis/50
        outputs:
          - status
      - id: second
        {key}: {source}
        inputs:
          status: runtime/first/status
        outputs:
          - status
"#
        ),
    );
}

fn write_dataflow(dir: &Path, yaml: &str) {
    std::fs::write(dir.join("dataflow.yml"), yaml).expect("writing the dataflow");
}

fn dataflow(lang: Lang) {
    let dir = generate("robot", "dataflow", lang);
    build_and_run(&dir.path().join("robot"), lang, DATAFLOW_LINES);
}

fn cmake_node(lang: &'static str) {
    let lang = Lang::Cmake(lang);
    let dir = generate("robot_node", "node", lang);
    node_pair(
        dir.path(),
        Some("cmake -S robot_node -B robot_node/build && cmake --build robot_node/build"),
        "robot_node/build/robot_node",
    );
    build_and_run(dir.path(), lang, NODE_LINES);
}

fn cmake_operator(lang: &'static str) {
    let dir = generate("robot_operator", "operator", Lang::Cmake(lang));
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
    operator_pair(
        dir.path(),
        Some(
            "cmake -S robot_operator -B robot_operator/build && cmake --build robot_operator/build",
        ),
        "shared-library",
        "robot_operator/build/robot_operator",
    );
    build_and_run(dir.path(), Lang::Cmake(lang), OPERATOR_LINES);
}

#[test]
fn new_rust_dataflow_builds_and_runs() {
    dataflow(Lang::Rust);
}

#[test]
fn new_rust_node_builds_and_runs() {
    let dir = generate("robot_node", "custom-node", Lang::Rust);
    node_pair(
        dir.path(),
        Some("cargo build --manifest-path robot_node/Cargo.toml"),
        "robot_node/target/debug/robot_node",
    );
    build_and_run(dir.path(), Lang::Rust, NODE_LINES);
}

#[test]
fn new_rust_operator_builds_and_runs() {
    let dir = generate("robot_operator", "operator", Lang::Rust);
    operator_pair(
        dir.path(),
        Some("cargo build --manifest-path robot_operator/Cargo.toml"),
        "shared-library",
        "robot_operator/target/debug/robot_operator",
    );
    build_and_run(dir.path(), Lang::Rust, OPERATOR_LINES);
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
    dataflow(Lang::Python);
}

/// The node is a package: pip installs it (into a folder of the test), its own test passes
/// against the installed copy, and it runs in a dataflow.
#[test]
fn new_python_node_installs_passes_its_test_and_runs() {
    let dir = generate("robot_node", "node", Lang::Python);
    let python = python();
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
        "pip install of the generated node failed (it needs setuptools, which `scripts/test` \
         installs): {}",
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
    node_pair(dir.path(), None, "robot_node/robot_node/main.py");
    build_and_run(dir.path(), Lang::Python, NODE_LINES);
}

#[test]
fn new_python_operator_runs_as_generated() {
    let dir = generate("robot_operator", "operator", Lang::Python);
    operator_pair(
        dir.path(),
        None,
        "python",
        "robot_operator/robot_operator.py",
    );
    build_and_run(dir.path(), Lang::Python, OPERATOR_LINES);
}

#[test]
fn new_c_dataflow_builds_and_runs() {
    dataflow(Lang::Cmake("c"));
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
    dataflow(Lang::Cmake("cxx"));
}

#[test]
fn new_cxx_node_builds_and_runs() {
    cmake_node("c++");
}

#[test]
fn new_cxx_operator_builds_and_runs() {
    cmake_operator("c++");
}
