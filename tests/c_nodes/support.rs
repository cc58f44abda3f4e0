//! Helpers of the C and C++ API tests: real compilers, the CMake integration, example
//! folders copied to temporary directories.
#![allow(dead_code)]

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::common;

/// Builds (cargo, CMake, C/C++) may take this long: the first one compiles the static
/// libraries.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails the test (never skips it) when `cmake`, `make` or `g++` is missing.
pub fn require_tools() {
    for tool in ["cmake", "make", "g++", "gcc"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            found,
            "`{tool}` is not installed: the C/C++ API tests need the Debian packages \
             cmake, make and g++ (installed by .ci/run)"
        );
    }
}

/// Result of a finished command.
#[derive(Debug)]
pub struct Finished {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to completion, killing it and failing the test after `timeout`.
pub fn run(mut command: Command, timeout: Duration) -> Finished {
    let description = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {description}: {err}"));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{description} did not finish within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    Finished {
        success: status.success(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Copies `examples/<name>` (without build outputs) into a temporary tree that mirrors the
/// repository (`<tmp>/examples/<name>`, `<tmp>/cpp` linked to this repository's `cpp/`), so
/// the example's relative paths work and nothing is written into the source tree.
/// Returns the temporary tree and the example's folder in it.
pub fn copy_example(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("creating a temp dir");
    let target = tmp.path().join("examples").join(name);
    copy_dir(&repo().join("examples").join(name), &target);
    std::os::unix::fs::symlink(repo().join("cpp"), tmp.path().join("cpp")).expect("linking cpp/");
    (tmp, target)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating a folder");
    for entry in std::fs::read_dir(from).expect("reading an example folder") {
        let entry = entry.expect("reading an example folder");
        let name = entry.file_name();
        let path = entry.path();
        if path.is_dir() {
            if name != "build" && name != "out" {
                copy_dir(&path, &to.join(&name));
            }
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copying an example file");
        }
    }
}

/// `dora build dataflow.yml` in `dir`, with the dora static libraries built in cargo's debug
/// profile (the one `cargo test` already built).
pub fn dora_build(dir: &Path) {
    let mut command = Command::new(common::dora());
    command
        .args(["build", "dataflow.yml"])
        .current_dir(dir)
        .env("DORA_CARGO_PROFILE", "debug");
    let build = run(command, BUILD_TIMEOUT);
    assert!(build.success, "dora build failed: {build:#?}");
}

/// Builds the C/C++ test nodes of `tests/c_nodes` with CMake into `build_dir` and returns
/// that folder (holding `c_api_misuse` and `cxx_arrow_sender`).
pub fn build_test_nodes(build_dir: &Path) -> PathBuf {
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(repo().join("tests").join("c_nodes"))
        .arg("-B")
        .arg(build_dir)
        .arg("-DDORA_CARGO_PROFILE=debug");
    let configured = run(configure, BUILD_TIMEOUT);
    assert!(
        configured.success,
        "cmake configure failed: {configured:#?}"
    );
    let mut build = Command::new("cmake");
    build.arg("--build").arg(build_dir);
    let built = run(build, BUILD_TIMEOUT);
    assert!(built.success, "cmake build failed: {built:#?}");
    build_dir.to_owned()
}

/// The lines of `stdout` printed by `node`, without the `[node] ` prefix.
pub fn node_lines<'a>(stdout: &'a str, node: &str) -> Vec<&'a str> {
    let prefix = format!("[{node}] ");
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .collect()
}
