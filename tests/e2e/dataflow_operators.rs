//! Operators in `dora runtime` end to end: several shared-library operators in one runtime
//! node, messages between them and to other nodes, failures named after the operator.

use crate::support::{
    helpers::test_operator,
    native::{c_test_operator, cxx_test_operator, dora_build},
    repo, run_dora, Dataflow,
};

/// A dataflow whose `TEST_OPERATOR` / `CXX_TEST_OPERATOR` / `C_TEST_OPERATOR` are replaced
/// by the operators' paths (each built only when used).
fn dataflow(yaml: &str) -> Dataflow {
    let mut yaml = yaml.to_owned();
    // Before `TEST_OPERATOR`, which it contains (`CXX_TEST_OPERATOR` does not contain it).
    if yaml.contains("C_TEST_OPERATOR") {
        yaml = yaml.replace("C_TEST_OPERATOR", c_test_operator());
    }
    if yaml.contains("CXX_TEST_OPERATOR") {
        yaml = yaml.replace("CXX_TEST_OPERATOR", cxx_test_operator());
    }
    if yaml.contains("TEST_OPERATOR") {
        yaml = yaml.replace("TEST_OPERATOR", &test_operator());
    }
    Dataflow::new(&yaml)
}

#[test]
fn operators_three_in_one_runtime_node_exchange_messages() {
    let dataflow = dataflow(
        r#"
nodes:
  - id: runtime-node
    operators:
      - id: op1
        shared-library: TEST_OPERATOR
        inputs:
          tick: dora/timer/millis/20
        outputs:
          - number
      - id: op2
        shared-library: TEST_OPERATOR
        inputs:
          number: runtime-node/op1/number
        outputs:
          - doubled
      - id: op3
        shared-library: TEST_OPERATOR
        inputs:
          doubled: runtime-node/op2/doubled
  - id: listener
    path: TEST_NODE
    args: slow-receive 0
    inputs:
      data: runtime-node/op2/doubled
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "dora run failed: {output:?}");
    let doubled: Vec<&str> = output
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[runtime-node] doubled "))
        .collect();
    assert_eq!(doubled, ["2", "4", "6"], "stdout: {}", output.stdout);
    // op1 stopped itself after 3 ticks: op2 and op3 saw their inputs close, in order.
    assert!(output.stdout.contains("[runtime-node] closed number"));
    assert!(output.stdout.contains("[runtime-node] closed doubled"));
    // The other node received op2's output, addressed `runtime-node/op2/doubled`.
    let received = output
        .stdout
        .lines()
        .filter(|l| l.starts_with("[listener] got "))
        .count();
    assert_eq!(received, 3, "stdout: {}", output.stdout);
}

/// The runtime process's stdout goes, line by line, to the one operator output named by
/// `send_stdout_as`: the listener receives exactly what the operators printed, in order, and
/// whichever operator printed it (the operators share one process and one stdout).
#[test]
fn operators_send_stdout_as_sends_every_printed_line() {
    let dataflow = dataflow(
        r#"
nodes:
  - id: runtime-node
    operators:
      - id: op1
        shared-library: TEST_OPERATOR
        inputs:
          tick: dora/timer/millis/20
        outputs:
          - number
      - id: op2
        shared-library: TEST_OPERATOR
        inputs:
          number: runtime-node/op1/number
        outputs:
          - doubled
      - id: op3
        shared-library: TEST_OPERATOR
        send_stdout_as: prints
        inputs:
          doubled: runtime-node/op2/doubled
  - id: listener
    path: TEST_NODE
    args: print-strings
    inputs:
      prints: runtime-node/op3/prints
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "dora run failed: {output:?}");
    let printed: Vec<&str> = output
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[runtime-node] "))
        .collect();
    let received: Vec<&str> = output
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[listener] text: "))
        .collect();
    // op3 printed the doubled values; op2 and op3 printed their closed inputs.
    for line in [
        "doubled 2",
        "doubled 4",
        "doubled 6",
        "closed number",
        "closed doubled",
    ] {
        assert!(printed.contains(&line), "`{line}` not printed: {output:?}");
    }
    assert_eq!(received, printed, "stdout: {}", output.stdout);
    assert!(
        output.stdout.contains("[listener] closed prints"),
        "{output:?}"
    );
}

fn assert_fails_naming(yaml: &str, operator: &str, cause: &str) {
    let dataflow = dataflow(yaml);
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(!output.status.success(), "dora run succeeded: {output:?}");
    let all = format!("{}\n{}", output.stdout, output.stderr);
    let expected = format!("operator `{operator}` failed: {cause}");
    assert!(all.contains(&expected), "no `{expected}` in: {all}");
    assert!(output.stderr.contains("dora: node `runtime-node`"), "{all}");
}

#[test]
fn operators_panic_fails_the_dataflow_naming_the_operator() {
    assert_fails_naming(
        r#"
nodes:
  - id: runtime-node
    operators:
      - id: op1
        shared-library: TEST_OPERATOR
        inputs:
          tick: dora/timer/millis/20
        outputs:
          - number
      - id: op2
        shared-library: TEST_OPERATOR
        inputs:
          panic: runtime-node/op1/number
"#,
        "op2",
        "panicked: boom on purpose",
    );
}

#[test]
fn operators_error_fails_the_dataflow_naming_the_operator() {
    assert_fails_naming(
        r#"
nodes:
  - id: runtime-node
    operator:
      id: failing
      shared-library: TEST_OPERATOR
      inputs:
        fail: dora/timer/millis/20
"#,
        "failing",
        "failing on purpose",
    );
}

/// A C operator written for the v0.3.6 ABI (inputs read with `dora_read_input_id` and
/// `dora_read_data`, `input_closed` read as a `Vec_uint8_t`) runs and talks to another one.
#[test]
fn operators_c_v036_abi_sends_reads_and_sees_inputs_close() {
    let dataflow = dataflow(
        r#"
nodes:
  - id: runtime-node
    operators:
      - id: ticker
        shared-library: C_TEST_OPERATOR
        inputs:
          tick: dora/timer/millis/20
        outputs:
          - echo
      - id: printer
        shared-library: C_TEST_OPERATOR
        inputs:
          echo: runtime-node/ticker/echo
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "dora run failed: {output:?}");
    let got: Vec<&str> = output
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[runtime-node] c got echo: "))
        .collect();
    assert_eq!(got, ["tick 1", "tick 2", "tick 3"], "{output:?}");
    assert!(
        output.stdout.contains("[runtime-node] c closed echo"),
        "{output:?}"
    );
}

/// An error a v0.3.6 C operator builds by hand (a malloc'ed `Vec_uint8_t` whose bytes are not
/// NUL-terminated) fails the node with its text and the operator's id.
#[test]
fn operators_c_v036_error_fails_the_dataflow_with_its_text() {
    assert_fails_naming(
        r#"
nodes:
  - id: runtime-node
    operator:
      id: c-failing
      shared-library: C_TEST_OPERATOR
      inputs:
        fail: dora/timer/millis/20
"#,
        "c-failing",
        "c operator failing on purpose on fail",
    );
}

/// An error dora returns to a C operator from `dora_send_operator_output`, returned as is,
/// comes back with its text.
#[test]
fn operators_c_send_error_returned_by_the_operator_fails_the_dataflow() {
    assert_fails_naming(
        r#"
nodes:
  - id: runtime-node
    operator:
      id: c-sender
      shared-library: C_TEST_OPERATOR
      inputs:
        bad-send: dora/timer/millis/20
      outputs:
        - echo
"#,
        "c-sender",
        "operator `c-sender` has no output `nope` (declared: `echo`)",
    );
}

#[test]
fn operators_cxx_exception_fails_the_dataflow_naming_the_operator() {
    assert_fails_naming(
        r#"
nodes:
  - id: runtime-node
    operators:
      - id: echo
        shared-library: CXX_TEST_OPERATOR
        inputs:
          tick: dora/timer/millis/20
        outputs:
          - echo
      - id: thrower
        shared-library: CXX_TEST_OPERATOR
        inputs:
          throw: runtime-node/echo/echo
"#,
        "thrower",
        "on_input threw: thrown on purpose",
    );
}

#[test]
fn operators_cxx_exception_in_new_operator_fails_the_dataflow_naming_the_operator() {
    assert_fails_naming(
        r#"
nodes:
  - id: runtime-node
    env:
      DORA_TEST_THROW_IN_NEW_OPERATOR: "1"
    operator:
      id: cxx-unborn
      shared-library: CXX_TEST_OPERATOR
      inputs:
        tick: dora/timer/millis/20
"#,
        "cxx-unborn",
        "initialization failed: panicked while initializing: new_operator() threw: thrown in \
         new_operator on purpose",
    );
}

#[test]
fn operators_cxx_error_result_fails_the_dataflow_naming_the_operator() {
    assert_fails_naming(
        r#"
nodes:
  - id: runtime-node
    operator:
      id: cxx-failing
      shared-library: CXX_TEST_OPERATOR
      inputs:
        fail: dora/timer/millis/20
"#,
        "cxx-failing",
        "failing on purpose",
    );
}

#[test]
fn operators_cxx_stop_result_finishes_only_that_operator() {
    let dataflow = dataflow(
        r#"
nodes:
  - id: runtime-node
    operators:
      - id: stopper
        shared-library: CXX_TEST_OPERATOR
        inputs:
          stop: dora/timer/millis/20
        outputs:
          - echo
      - id: rust-op
        shared-library: TEST_OPERATOR
        inputs:
          closing: runtime-node/stopper/echo
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "dora run failed: {output:?}");
    assert!(
        output
            .stdout
            .contains("[runtime-node] cxx test operator: stop after 1 inputs"),
        "{output:?}"
    );
    // The stopped operator's output closed, which finished the Rust operator, and with it
    // the node.
    assert!(
        output.stdout.contains("[runtime-node] closed closing"),
        "{output:?}"
    );
}

#[test]
fn operators_stop_all_ends_every_operator() {
    let dataflow = dataflow(
        r#"
nodes:
  - id: runtime-node
    operators:
      - id: stopper
        shared-library: TEST_OPERATOR
        inputs:
          stop-all: dora/timer/millis/50
      - id: other
        shared-library: TEST_OPERATOR
        inputs:
          something: dora/timer/secs/100
"#,
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "dora run failed: {output:?}");
    assert!(output.stdout.contains("[runtime-node] stop"), "{output:?}");
}

#[test]
fn operators_python_file_without_an_operator_class_fails_clearly() {
    let dataflow = dataflow(
        r#"
nodes:
  - id: runtime-node
    operator:
      python: op.py
      inputs:
        tick: dora/timer/millis/20
"#,
    );
    std::fs::write(dataflow.cwd().join("op.py"), "").expect("writing op.py");
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(!output.status.success(), "dora run succeeded: {output:?}");
    let all = format!("{}\n{}", output.stdout, output.stderr);
    assert!(all.contains("op.py defines no class `Operator`"), "{all}");
}

/// `examples/operators`: a Rust, a C and a C++ operator in one node, built with `dora build`
/// (which needs a C compiler, CMake and g++: a missing one fails the test).
#[test]
fn operators_example_rust_c_and_cxx_operators_between_custom_nodes() {
    let example = repo().join("examples/operators");
    dora_build(&example);
    let output = run_dora(&["run", "dataflow.yml"], &example);
    assert!(output.status.success(), "dora run failed: {output:?}");
    for n in 1..=5u64 {
        let message = format!("{n} squared is {}", n * n);
        assert!(
            output
                .stdout
                .contains(&format!("[sink] message: {message}")),
            "{output:?}"
        );
        let shouted = message.to_uppercase();
        assert!(
            output
                .stdout
                .contains(&format!("[sink] shouted: {shouted}")),
            "{output:?}"
        );
        let reversed: String = shouted.chars().rev().collect();
        assert!(
            output
                .stdout
                .contains(&format!("[sink] reversed: {reversed}")),
            "{output:?}"
        );
    }
    assert!(output
        .stdout
        .contains("[operators] c operator: `message` closed after 5 messages"));
    assert!(output
        .stdout
        .contains("[operators] cxx operator: reversed message 5"));
}
