//! The workspace's helper binaries: test nodes, the test operator, the Rust receiver of the
//! C++ tests and the ROS 2 example's controller.
//!
//! `cargo test` builds only the `dora` binary for this test binary (depending on another
//! package's binaries needs unstable cargo features), so the first test that needs a helper
//! runs one `cargo build --workspace` of the same profile; every other test waits for that
//! build and reuses it. It selects the same packages as `cargo test --workspace`, so cargo
//! resolves the same dependency features and compiles only what the test build did not: the
//! helper binaries and libraries themselves. (A narrower `-p` selection would resolve other
//! features for shared dependencies and compile them, and everything above them, again.)

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

/// The folder of the built binaries (`target/debug`), after building the helpers once.
fn built_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--workspace"])
            .current_dir(super::repo())
            .status()
            .unwrap_or_else(|err| panic!("running cargo to build the test helpers: {err}"));
        assert!(status.success(), "building the test helpers failed");
        super::dora()
            .parent()
            .map(Path::to_owned)
            .expect("the dora binary lives in a folder")
    })
}

/// The path of helper binary (or library file) `name`.
pub fn built(name: &str) -> PathBuf {
    let path = built_dir().join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// The general-purpose test node (`tests/nodes`).
pub fn test_node() -> PathBuf {
    built("test-node")
}

/// The ROS 2 interop test node (`tests/ros2_nodes`).
pub fn ros2_test_node() -> PathBuf {
    built("ros2-test-node")
}

/// The ROS 2 service test node (`tests/ros2_service_nodes`).
pub fn ros2_service_node() -> PathBuf {
    built("ros2-service-node")
}

/// The node using the Rust ROS 2 API (`tests/ros2_api_node`).
pub fn ros2_api_node() -> PathBuf {
    built("ros2-api-node")
}

/// The Rust node that checks what the C++ test node sent (`tests/c_nodes/arrow-receiver`).
pub fn cpp_test_receiver() -> PathBuf {
    built("cpp-test-receiver")
}

/// The controller of `examples/ros2-bridge`, in the debug profile.
pub fn ros2_example_controller() -> PathBuf {
    built("ros2-bridge-example-controller")
}

/// The test operator (`apis/rust/operator/test-operator`) as a dataflow names it: without
/// the `lib` prefix and `.so` suffix, as dora-rs v0.3.6 allows.
pub fn test_operator() -> String {
    built("libdora_test_operator.so");
    built_dir().join("dora_test_operator").display().to_string()
}
