//! C and C++ builds: real compilers, the CMake integration in `cpp/`, example folders copied
//! to temporary directories. The test nodes and operators of `tests/` are built once per run,
//! beside the `dora` binary, so a later run rebuilds them incrementally.
//!
//! The CMake integration builds the dora static libraries with cargo in the debug profile
//! (`DORA_CARGO_PROFILE=debug`): the libraries `cargo test` already built.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    thread,
    time::{Duration, Instant},
};

use super::{dora, repo};

/// Builds (cargo, CMake, C/C++) may take this long: the first one compiles the static
/// libraries.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// Fails the test (never skips it) when `cmake`, `make`, `g++` or `gcc` is missing.
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
             cmake, make, gcc and g++ (`scripts/test` installs them)"
        );
    }
}

/// Runs `command` to completion, failing the test with its output when it fails, and after
/// [`BUILD_TIMEOUT`] (killing it).
pub fn run(mut command: Command) {
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
    let deadline = Instant::now() + BUILD_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{description} did not finish within {BUILD_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "{description} failed ({status}):\nstdout:\n{}\nstderr:\n{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
}

/// A build folder `name` beside the `dora` binary.
fn build_dir(name: &str) -> PathBuf {
    dora()
        .parent()
        .map(|dir| dir.join(name))
        .expect("the dora binary lives in a folder")
}

/// Configures and builds the CMake project `source` into `build_dir` in cargo's debug profile.
pub fn cmake(source: &Path, build_dir: &Path) {
    require_tools();
    // A build folder configured for another checkout (a copied or moved `target/`) is
    // refused by CMake: start it afresh.
    let cache = std::fs::read_to_string(build_dir.join("CMakeCache.txt")).unwrap_or_default();
    let home = format!("CMAKE_HOME_DIRECTORY:INTERNAL={}", source.display());
    if !cache.is_empty() && !cache.lines().any(|line| line == home) {
        std::fs::remove_dir_all(build_dir).expect("removing a stale CMake build folder");
    }
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(source)
        .arg("-B")
        .arg(build_dir)
        .arg("-DDORA_CARGO_PROFILE=debug");
    run(configure);
    let mut build = Command::new("cmake");
    build.arg("--build").arg(build_dir);
    run(build);
}

/// The C/C++ test nodes of `tests/c_nodes` (`c_api_misuse`, `cxx_arrow_sender`,
/// `cxx_metadata_receiver`), built once; returns their folder.
pub fn c_test_nodes() -> &'static Path {
    static NODES: OnceLock<PathBuf> = OnceLock::new();
    NODES.get_or_init(|| {
        let dir = build_dir("c-test-nodes");
        cmake(&repo().join("tests/c_nodes"), &dir);
        dir
    })
}

/// The C++ test operator of `tests/cxx_operators`, built once, as a dataflow names it.
pub fn cxx_test_operator() -> &'static str {
    static OPERATOR: OnceLock<String> = OnceLock::new();
    OPERATOR.get_or_init(|| {
        let dir = build_dir("cxx-test-operator");
        cmake(&repo().join("tests/cxx_operators"), &dir);
        assert!(dir.join("libcxx_test_operator.so").exists());
        dir.join("cxx_test_operator").display().to_string()
    })
}

/// `tests/c_operators/v036_operator.c` (a C operator written against the dora-rs v0.3.6
/// operator ABI), compiled with gcc once, as a dataflow names it.
pub fn c_test_operator() -> &'static str {
    static OPERATOR: OnceLock<String> = OnceLock::new();
    OPERATOR.get_or_init(|| {
        require_tools();
        let dir = build_dir("c-test-operator");
        std::fs::create_dir_all(&dir).expect("creating the C operator's build folder");
        let mut compile = Command::new("gcc");
        compile
            .args([
                "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I",
            ])
            .arg(repo().join("cpp/include"))
            .arg("-o")
            .arg(dir.join("libc_v036_operator.so"))
            .arg(repo().join("tests/c_operators/v036_operator.c"));
        run(compile);
        dir.join("c_v036_operator").display().to_string()
    })
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
    require_tools();
    let mut command = Command::new(dora());
    command
        .args(["build", "dataflow.yml"])
        .current_dir(dir)
        .env("DORA_CARGO_PROFILE", "debug");
    run(command);
}
