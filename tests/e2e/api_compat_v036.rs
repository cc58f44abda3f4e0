//! Nodes written only against the names of the dora-rs v0.3.6 node APIs (Rust, C, C++ and
//! the C operator API) build with warnings as errors and run together in one dataflow.
//! `docs/compat-v0.3.6.md` lists what those APIs held and what became of each item.

use std::{path::Path, process::Command};

use crate::support::{
    helpers::built,
    native::{cmake, require_tools, run},
    node_lines, repo, run_dora, Dataflow,
};

/// Compiles `source` with `compiler` and `args` (syntax only), failing on any warning.
fn compiles_cleanly(compiler: &str, args: &[&str], source: &Path) {
    let mut command = Command::new(compiler);
    command
        .args(["-fsyntax-only", "-Wall", "-Wextra", "-Werror"])
        .args(args)
        .arg("-I")
        .arg(repo().join("cpp").join("include").join("dora"))
        .arg(source);
    run(command);
}

#[test]
fn the_c_header_and_v036_c_node_compile_as_c99_c11_and_cxx() {
    require_tools();
    let c_node = repo().join("tests").join("compat_v036").join("c_node.c");
    compiles_cleanly("gcc", &["-std=c99"], &c_node);
    compiles_cleanly("gcc", &["-std=c11"], &c_node);
    compiles_cleanly("g++", &["-x", "c++", "-std=c++17"], &c_node);
    let header = repo().join("cpp").join("include").join("dora");
    compiles_cleanly("g++", &["-x", "c++"], &header.join("node_api.h"));
    compiles_cleanly("g++", &["-x", "c++"], &header.join("operator_types.h"));
}

#[test]
fn v036_rust_c_and_cxx_nodes_run_together() {
    require_tools();
    let build = tempfile::tempdir().expect("creating a temp dir");
    cmake(&repo().join("tests").join("compat_v036"), build.path());
    let rust_node = built("v036-node");
    let status = built("v036-status");
    let sink = built("v036-sink");
    let c = |name: &str| build.path().join(name).display().to_string();

    let dataflow = Dataflow::new(&format!(
        r#"
nodes:
  - id: rust-node
    path: {rust_node}
    inputs:
      tick: dora/timer/millis/30
    outputs: [random, scalars, vectors, typed, sample, raw, bytes]
  - id: rust-status
    path: {status}
    inputs:
      tick: dora/timer/millis/10
      random: rust-node/random
    outputs: [status, status-bytes]
  - id: c-node
    path: {c_node}
    inputs:
      status: rust-status/status-bytes
    outputs: [message]
  - id: cxx-c-node
    path: {cxx_c_node}
    inputs:
      message: c-node/message
    outputs: [message]
  - id: cxx-node
    path: {cxx_node}
    inputs:
      message: cxx-c-node/message
    outputs: [counter]
  - id: runtime-node
    operators:
      - id: c-operator
        shared-library: {operator}
        inputs:
          counter: cxx-node/counter
        outputs: [doubled]
  - id: rust-sink
    path: {sink}
    inputs:
      message: rust-status/status
      forwarded: cxx-c-node/message
      # Sent in bursts of 14 and 10 messages.
      scalars:
        source: rust-node/scalars
        queue_size: 20
      vectors:
        source: rust-node/vectors
        queue_size: 20
      typed: rust-node/typed
      sample: rust-node/sample
      raw: rust-node/raw
      bytes: rust-node/bytes
      doubled: runtime-node/c-operator/doubled
"#,
        rust_node = rust_node.display(),
        status = status.display(),
        sink = sink.display(),
        c_node = c("v036_c_node"),
        cxx_c_node = c("v036_cxx_c_node"),
        cxx_node = c("v036_cxx_node"),
        operator = c("v036_c_operator"),
    ));

    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "dora run failed: {output:#?}");
    let stdout = &output.stdout;

    let source = node_lines(stdout, "rust-node");
    assert!(source.contains(&"sent five values"), "stdout:\n{stdout}");
    assert!(
        stdout.contains("tracing works in node rust-node"),
        "the `tracing` feature printed nothing:\n{stdout}"
    );

    let status = node_lines(stdout, "rust-status");
    assert!(
        status.contains(&"merged stream delivered external event"),
        "stdout:\n{stdout}"
    );
    assert!(status.contains(&"`random` input was closed -> exiting"));

    let sink = node_lines(stdout, "rust-sink");
    let messages: Vec<&str> = sink
        .iter()
        .filter_map(|line| line.strip_prefix("sink received message: "))
        .collect();
    assert_eq!(messages.len(), 5, "stdout:\n{stdout}");
    for (i, message) in messages.iter().enumerate() {
        let value = format!(
            "operator received random value {:#x} after ",
            0xd07a_0001 + i
        );
        assert!(message.starts_with(&value), "{message} (stdout:\n{stdout})");
    }
    // The same lines, through the C node and the C++ node using the C API.
    let forwarded: Vec<&str> = sink
        .iter()
        .filter_map(|line| line.strip_prefix("forwarded "))
        .collect();
    assert_eq!(forwarded, messages, "stdout:\n{stdout}");
    for expected in [
        "scalar bool true",
        "scalar u8 8",
        "scalar u16 16",
        "scalar u32 32",
        "scalar u64 64",
        "scalar i8 -8",
        "scalar i16 -16",
        "scalar i32 -32",
        "scalar i64 -64",
        "scalar f32 0.5",
        "scalar f64 0.25",
        "scalar str text",
        "scalar String owned",
        "scalar () null x0",
        "vector u8 [1, 2, 3]",
        "vector u16 [1, 2, 3]",
        "vector u32 [1, 2, 3]",
        "vector u64 [1, 2, 3]",
        "vector i8 [-1, 2, 3]",
        "vector i16 [-1, 2, 3]",
        "vector i32 [-1, 2, 3]",
        "vector i64 [-1, 2, 3]",
        "vector f32 [0.5, 1.5]",
        "vector f64 [0.5, 1.5]",
        "typed [1, 2, 3]",
        "sample 4096 values ok",
        "raw 8192 bytes ok",
        "bytes hello",
        "doubled [2]",
        "doubled [10]",
        "sink finished",
    ] {
        assert!(
            sink.contains(&expected),
            "no `{expected}` in stdout:\n{stdout}"
        );
    }
    assert!(!stdout.contains("a message without timestamp"));

    let c_node = node_lines(stdout, "c-node");
    assert!(
        c_node.contains(&"c node forwarded 5 messages"),
        "stdout:\n{stdout}"
    );
    assert!(
        c_node
            .iter()
            .any(|line| line.starts_with("c node received `status` (timestamp set): operator")),
        "stdout:\n{stdout}"
    );
    let cxx_c_node = node_lines(stdout, "cxx-c-node");
    assert!(cxx_c_node.contains(&"cxx c-api node forwarded 5 messages"));
    let cxx_node = node_lines(stdout, "cxx-node");
    assert!(
        cxx_node.iter().any(|line| line.ends_with("(counter: 5)")),
        "stdout:\n{stdout}"
    );
    assert!(
        cxx_node.contains(&"unknown output: error returned"),
        "send_output did not return the error in a DoraResult:\n{stdout}"
    );
}
