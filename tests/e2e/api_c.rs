//! The C node API end to end: nodes compiled with gcc through the CMake integration in
//! `cpp/`, run by the real `dora` binary.

use nix::sys::signal::Signal;

use crate::support::{
    native::{c_test_nodes, copy_example, dora_build},
    node_lines, run_dora, Dataflow, Running,
};

#[test]
fn c_example_listener_prints_what_the_talker_sent() {
    let (_tmp, example) = copy_example("c-dataflow");
    dora_build(&example);
    let output = run_dora(&["run", "dataflow.yml"], &example);
    assert!(output.status.success(), "dora run failed: {output:#?}");

    let listener = node_lines(&output.stdout, "listener");
    let messages: Vec<&str> = listener
        .iter()
        .filter_map(|line| line.strip_prefix("received message: "))
        .collect();
    let expected: Vec<String> = (0..10).map(|i| format!("hello from C #{i}")).collect();
    assert_eq!(messages, expected, "stdout:\n{}", output.stdout);

    let blocks: Vec<&&str> = listener
        .iter()
        .filter(|line| line.starts_with("received block #"))
        .collect();
    assert_eq!(blocks.len(), 10, "stdout:\n{}", output.stdout);
    assert!(
        blocks
            .iter()
            .all(|line| line.ends_with(": 65536 bytes, contents ok")),
        "a block arrived damaged: {blocks:?}"
    );
    assert!(listener.contains(&"input closed: message"));
    assert!(listener.contains(&"input closed: block"));
}

#[test]
fn c_api_misuse_returns_error_codes_and_the_node_keeps_running() {
    let nodes = c_test_nodes();
    let dataflow = Dataflow::new(&format!(
        r#"
nodes:
  - id: misuse
    path: {}
    inputs:
      tick: dora/timer/millis/20
    outputs: [out]
"#,
        nodes.join("c_api_misuse").display()
    ));

    let mut run = Running::start(&["run", "dataflow.yml"], dataflow.cwd());
    // The first tick ran the checks that need a live context; Stop brings the rest.
    run.wait_for_line("[misuse] waiting for stop");
    run.signal(Signal::SIGINT);
    let output = run.finish();
    assert!(output.status.success(), "dora run failed: {output:#?}");

    let lines = node_lines(&output.stdout, "misuse");
    let failed: Vec<&&str> = lines.iter().filter(|l| l.contains(": FAILED")).collect();
    assert!(failed.is_empty(), "misused calls misbehaved: {failed:#?}");
    for check in [
        "send_output_null_context",
        "send_output_bogus_context",
        "send_output_unknown_output",
        "send_allocated_unknown_output",
        "input_data_of_stop",
        "input_id_of_stop",
        "event_error_of_stop",
        "send_output_after_free",
        "next_event_after_free",
        "double_free_context",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("check {check}: ok"))),
            "check `{check}` did not run; stdout:\n{}",
            output.stdout
        );
    }
    // Error codes come with a message naming the problem.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("check send_output_unknown_output: ok")
                && l.contains("`nope` is not an output of node `misuse`")),
        "{}",
        output.stdout
    );
    assert!(
        lines.contains(&"misuse checks done: failures=0"),
        "the node did not reach its end; stdout:\n{}",
        output.stdout
    );
}
