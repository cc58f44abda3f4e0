//! Each validation rule has a failing case: message, field path, line and column.

mod common;

use common::{assert_diagnostic, diagnostic, parse_fixture};
use dora_descriptor::{Descriptor, DescriptorError, MAX_DIAGNOSTICS};

fn fixture_diagnostics(name: &str) -> Vec<dora_descriptor::Diagnostic> {
    match parse_fixture(name) {
        Ok(_) => panic!("{name} is valid"),
        Err(error) => error.diagnostics().to_vec(),
    }
}

// ---- display format ----------------------------------------------------------------------

#[test]
fn display_is_file_line_column_field_message() {
    let error = parse_fixture("unknown-node.yml").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown-node.yml:9:15: nodes[1].inputs.speech: unknown node `talkr` (did you mean `talker`?)"
    );
    let error = Descriptor::parse("nodes: 3", None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "<input>:1:8: nodes: expected a list of nodes, found a number"
    );
}

#[test]
fn every_problem_is_reported_one_per_line_in_order() {
    let error = parse_fixture("many-errors.yml").unwrap_err();
    let text = error.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), error.diagnostics().len());
    assert!(lines.len() >= 15, "{text}");
    for line in &lines {
        assert!(line.starts_with("many-errors.yml:"), "{line}");
    }
    let positions: Vec<(usize, usize)> = error
        .diagnostics()
        .iter()
        .map(|d| (d.line, d.column))
        .collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
}

#[test]
fn diagnostics_are_capped() {
    let mut text = String::from("nodes:\n  - id: a\n    path: a\n");
    for i in 0..30 {
        text.push_str(&format!("    unknown{i}: x\n"));
    }
    let error = Descriptor::parse(&text, None).unwrap_err();
    let DescriptorError::Invalid {
        diagnostics,
        omitted,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(diagnostics.len(), MAX_DIAGNOSTICS);
    assert_eq!(*omitted, 10);
    assert!(error
        .to_string()
        .ends_with("\n<input>: 10 more problems not shown"));
}

// ---- YAML itself -------------------------------------------------------------------------

#[test]
fn syntax_errors_have_a_position() {
    let d = &fixture_diagnostics("syntax-error.yml")[0];
    assert_diagnostic(d, 5, 7, "nodes[0].inputs[1]", "invalid YAML");
}

#[test]
fn tabs_are_reported() {
    let d = diagnostic("nodes:\n\t- id: a\n");
    assert_eq!(d.line, 2);
    assert!(d.message.contains("tabs"), "{d}");
}

#[test]
fn empty_file_and_top_level_scalar() {
    assert_diagnostic(&diagnostic(""), 1, 1, "<root>", "the file is empty");
    assert_diagnostic(&diagnostic("  hello"), 1, 3, "<root>", "found a string");
    assert_diagnostic(&diagnostic("- a"), 1, 1, "<root>", "found a list");
}

#[test]
fn duplicate_keys() {
    let d = &fixture_diagnostics("duplicate-key.yml")[0];
    assert_diagnostic(
        d,
        4,
        5,
        "nodes[0].path",
        "duplicate key `path` (first on line 3, column 5)",
    );
    let d = diagnostic("nodes:\n  - id: a\n    path: a\n    env:\n      A: 1\n      A: 2\n");
    assert_diagnostic(&d, 6, 7, "nodes[0].env.A", "duplicate key `A`");
    let d = diagnostic(
        "nodes:\n  - id: a\n    path: a\n    inputs:\n      t: dora/timer/secs/1\n      t: dora/timer/secs/2\n",
    );
    assert_diagnostic(&d, 6, 7, "nodes[0].inputs.t", "duplicate key `t`");
}

#[test]
fn several_documents_and_unknown_tags() {
    assert_diagnostic(
        &diagnostic("nodes: []\n---\nnodes: []\n"),
        2,
        1,
        "<root>",
        "single YAML document",
    );
    assert_diagnostic(
        &diagnostic("nodes: !weird []\n"),
        1,
        15,
        "nodes",
        "unsupported YAML tag",
    );
}

// ---- keys and types ----------------------------------------------------------------------

#[test]
fn unknown_keys_suggest_the_closest() {
    let d = &fixture_diagnostics("unknown-key.yml")[0];
    assert_diagnostic(
        d,
        4,
        5,
        "nodes[0].inptus",
        "unknown key `inptus` (did you mean `inputs`?)",
    );
    let d = diagnostic("nodes:\n  - id: a\n    path: a\nnodez: 1\n");
    assert_diagnostic(&d, 4, 1, "nodez", "did you mean `nodes`?");
    let d =
        diagnostic("nodes:\n  - id: a\n    operator:\n      pyhton: a.py\n      python: b.py\n");
    assert_diagnostic(
        &d,
        4,
        7,
        "nodes[0].operator.pyhton",
        "did you mean `python`?",
    );
    let d = diagnostic(
        "nodes:\n  - id: a\n    path: a\n    inputs:\n      t:\n        source: dora/timer/secs/1\n        queue: 3\n",
    );
    assert_diagnostic(&d, 7, 9, "nodes[0].inputs.t.queue", "unknown key `queue`");
}

#[test]
fn unknown_keys_without_a_close_match_list_the_valid_keys() {
    let d = diagnostic("nodes:\n  - id: a\n    path: a\ncommunication:\n  zenoh: {}\n");
    assert_diagnostic(
        &d,
        5,
        3,
        "communication.zenoh",
        "unknown key `zenoh`; the keys of `communication` are `_unstable_local`, `_unstable_remote`",
    );
}

#[test]
fn wrong_value_types_name_the_field() {
    let cases: &[(&str, usize, usize, &str, &str)] = &[
        (
            "nodes: 3\n",
            1,
            8,
            "nodes",
            "expected a list of nodes, found a number",
        ),
        (
            "nodes:\n  - 5\n",
            2,
            5,
            "nodes[0]",
            "expected a node (a map), found a number",
        ),
        (
            "nodes:\n  - id: a\n    path: a\n    args: [x]\n",
            4,
            11,
            "nodes[0].args",
            "expected a string, found a list",
        ),
        (
            "nodes:\n  - id: a\n    path: a\n    inputs: [x]\n",
            4,
            13,
            "nodes[0].inputs",
            "expected a map of input ids to sources, found a list",
        ),
        (
            "nodes:\n  - id: a\n    path: a\n    outputs: {x: 1}\n",
            4,
            14,
            "nodes[0].outputs",
            "expected a list of output ids, found a map",
        ),
        (
            "nodes:\n  - id: a\n    path: a\n    env: [A]\n",
            4,
            10,
            "nodes[0].env",
            "expected a map of variable names to values, found a list",
        ),
        (
            "nodes:\n  - id: a\n    path: a\n    env:\n      A: [1]\n",
            5,
            10,
            "nodes[0].env.A",
            "expected a boolean, a number or a string, found a list",
        ),
        (
            "nodes:\n  - id: a\n    path: a\n    env:\n      A:\n",
            5,
            7,
            "nodes[0].env.A",
            "missing value",
        ),
        (
            "nodes:\n  - id: [a]\n    path: a\n",
            2,
            9,
            "nodes[0].id",
            "expected a node id, found a list",
        ),
        (
            "nodes:\n  - id: a\n    path: {x: 1}\n",
            3,
            11,
            "nodes[0].path",
            "expected a program path, `shell` or `dynamic`, found a map",
        ),
        (
            "nodes:\n  - id: a\n    path: a\n    inputs:\n      t: [a/b]\n",
            5,
            10,
            "nodes[0].inputs.t",
            "found a list",
        ),
        (
            "nodes:\n  - id: a\n    path: a\n    _unstable_deploy: robot\n",
            4,
            23,
            "nodes[0]._unstable_deploy",
            "expected `deploy` (a map), found a string",
        ),
        (
            "nodes:\n  - id: a\n    operators: {id: x}\n",
            3,
            16,
            "nodes[0].operators",
            "expected a list of operators, found a map",
        ),
    ];
    for (text, line, column, field, message) in cases {
        assert_diagnostic(&diagnostic(text), *line, *column, field, message);
    }
}

// ---- nodes -------------------------------------------------------------------------------

#[test]
fn a_node_runs_exactly_one_thing() {
    let ds = fixture_diagnostics("node-kind.yml");
    assert_eq!(ds.len(), 2, "{ds:#?}");
    assert_diagnostic(
        &ds[0],
        2,
        5,
        "nodes[0]",
        "needs one of `path`, `custom`, `operator` or `operators`",
    );
    assert_diagnostic(
        &ds[1],
        6,
        5,
        "nodes[1].operator",
        "found `path`, `operator`",
    );
}

#[test]
fn node_level_process_keys_need_path() {
    let d = diagnostic("nodes:\n  - id: a\n    operator: {python: a.py}\n    outputs: [x]\n");
    assert_diagnostic(&d, 4, 5, "nodes[0].outputs", "put `outputs` in `operator`");
    let d = diagnostic("nodes:\n  - id: a\n    custom: {source: a}\n    args: x\n");
    assert_diagnostic(&d, 4, 5, "nodes[0].args", "put `args` in `custom`");
}

#[test]
fn node_ids_are_unique_non_empty_without_slash() {
    let d = &fixture_diagnostics("duplicate-node-id.yml")[0];
    assert_diagnostic(
        d,
        4,
        9,
        "nodes[1].id",
        "node id `camera` is already used by the node on line 2",
    );
    assert_diagnostic(
        &diagnostic("nodes:\n  - id: a/b\n    path: a\n"),
        2,
        9,
        "nodes[0].id",
        "a node id cannot contain `/`, found `a/b`",
    );
    assert_diagnostic(
        &diagnostic("nodes:\n  - id: ''\n    path: a\n"),
        2,
        9,
        "nodes[0].id",
        "a node id cannot be empty",
    );
    assert_diagnostic(
        &diagnostic("nodes:\n  - path: a\n"),
        2,
        5,
        "nodes[0].id",
        "missing required key `id`",
    );
}

#[test]
fn deploy_is_given_once() {
    let d = diagnostic("nodes:\n  - id: a\n    path: a\n    _unstable_deploy: {machine: x}\n    deploy: {machine: y}\n");
    assert_diagnostic(&d, 5, 5, "nodes[0].deploy", "keep one");
}

#[test]
fn communication_values() {
    let d = diagnostic("communication:\n  _unstable_local: Tpc\nnodes:\n  - id: a\n    path: a\n");
    assert_diagnostic(
        &d,
        2,
        20,
        "communication._unstable_local",
        "unknown local communication `Tpc` (did you mean `Tcp`?)",
    );
    let d = diagnostic("communication:\n  _unstable_remote: udp\nnodes:\n  - id: a\n    path: a\n");
    assert_diagnostic(
        &d,
        2,
        21,
        "communication._unstable_remote",
        "expected `tcp`",
    );
}

#[test]
fn legacy_custom_form() {
    let d = diagnostic("nodes:\n  - id: a\n    custom:\n      args: x\n");
    assert_diagnostic(
        &d,
        4,
        7,
        "nodes[0].custom.source",
        "missing required key `source`",
    );
    let d = diagnostic(
        "nodes:\n  - id: a\n    env: {A: 1}\n    custom:\n      source: a\n      envs: {A: 2}\n",
    );
    assert_diagnostic(&d, 6, 14, "nodes[0].custom.envs.A", "`A` is set both");
}

#[test]
fn env_variables_must_be_set() {
    let d = &fixture_diagnostics("undefined-env.yml")[0];
    assert_diagnostic(
        d,
        5,
        13,
        "nodes[0].env.DATA",
        "environment variable `DORA_DESCRIPTOR_TEST_UNDEFINED` is not set",
    );
    let d = diagnostic("nodes:\n  - id: a\n    path: a\n    env:\n      A: \"${OOPS\"\n");
    assert_diagnostic(&d, 5, 10, "nodes[0].env.A", "unterminated");
}

// ---- operators ---------------------------------------------------------------------------

#[test]
fn operators_have_exactly_one_source() {
    let d = diagnostic("nodes:\n  - id: a\n    operator:\n      name: x\n");
    assert_diagnostic(
        &d,
        4,
        7,
        "nodes[0].operator",
        "needs one of `shared-library`, `python` or `wasm`; found none",
    );
    let d =
        diagnostic("nodes:\n  - id: a\n    operator:\n      python: a.py\n      wasm: a.wasm\n");
    assert_diagnostic(&d, 5, 7, "nodes[0].operator.wasm", "found `python`, `wasm`");
    let d =
        diagnostic("nodes:\n  - id: a\n    operator:\n      python:\n        conda_env: base\n");
    assert_diagnostic(
        &d,
        5,
        9,
        "nodes[0].operator.python.source",
        "missing required key `source`",
    );
}

#[test]
fn operator_ids() {
    let d = diagnostic("nodes:\n  - id: a\n    operators:\n      - id: x\n        python: a.py\n      - id: x\n        python: b.py\n");
    assert_diagnostic(
        &d,
        6,
        13,
        "nodes[0].operators[1].id",
        "operator id `x` is already used in this node (line 4)",
    );
    let d = diagnostic("nodes:\n  - id: a\n    operators:\n      - python: a.py\n");
    assert_diagnostic(
        &d,
        4,
        9,
        "nodes[0].operators[0].id",
        "missing required key `id`",
    );
    let d =
        diagnostic("nodes:\n  - id: a\n    operators:\n      - id: x/y\n        python: a.py\n");
    assert_diagnostic(
        &d,
        4,
        13,
        "nodes[0].operators[0].id",
        "an operator id cannot contain `/`",
    );
    let d = diagnostic("nodes:\n  - id: a\n    operators: []\n");
    assert_diagnostic(&d, 3, 16, "nodes[0].operators", "`operators` is empty");
}

#[test]
fn send_stdout_as_is_set_by_one_operator_per_node_at_most() {
    let error = parse_fixture("two-operators-send-stdout-as.yml").unwrap_err();
    assert_eq!(
        error.to_string(),
        "two-operators-send-stdout-as.yml:10:25: nodes[0].operators[1].send_stdout_as: \
         operator `first` already sets `send_stdout_as` (line 7): the operators of a node \
         share one process and its stdout, so at most one of them can send that stdout as an \
         output"
    );
    let d = &error.diagnostics()[0];
    assert_diagnostic(
        d,
        10,
        25,
        "nodes[0].operators[1].send_stdout_as",
        "share one process and its stdout",
    );
    // A single operator with it is fine, and so are operators of different nodes.
    let text = "nodes:\n  - id: a\n    operators:\n      - id: x\n        python: x.py\n        \
                send_stdout_as: out\n      - id: y\n        python: y.py\n  - id: b\n    \
                operator:\n      python: b.py\n      send_stdout_as: out\n";
    assert!(common::parse(text).is_ok());
}

// ---- inputs and outputs ------------------------------------------------------------------

#[test]
fn outputs_are_ids_listed_once() {
    let d = diagnostic("nodes:\n  - id: a\n    path: a\n    outputs: [x, y, x]\n");
    assert_diagnostic(
        &d,
        4,
        21,
        "nodes[0].outputs[2]",
        "output `x` is listed twice (first on line 4)",
    );
    let d = diagnostic("nodes:\n  - id: a\n    path: a\n    outputs:\n      - x/y\n");
    assert_diagnostic(
        &d,
        5,
        9,
        "nodes[0].outputs[0]",
        "an output id cannot contain `/`",
    );
}

#[test]
fn input_ids_have_no_slash() {
    let d =
        diagnostic("nodes:\n  - id: a\n    path: a\n    inputs:\n      x/y: dora/timer/secs/1\n");
    assert_diagnostic(
        &d,
        5,
        7,
        "nodes[0].inputs.x/y",
        "an input id cannot contain `/`",
    );
}

#[test]
fn unknown_node_suggests_or_lists() {
    let d = &fixture_diagnostics("unknown-node.yml")[0];
    assert_diagnostic(
        d,
        9,
        15,
        "nodes[1].inputs.speech",
        "unknown node `talkr` (did you mean `talker`?)",
    );
    let d = diagnostic("nodes:\n  - id: a\n    path: a\n    inputs:\n      x: zzz/out\n");
    assert_diagnostic(
        &d,
        5,
        10,
        "nodes[0].inputs.x",
        "unknown node `zzz`; the nodes are `a`",
    );
}

#[test]
fn unknown_output_lists_the_declared_ones() {
    let d = &fixture_diagnostics("unknown-output.yml")[0];
    assert_diagnostic(
        d,
        10,
        15,
        "nodes[1].inputs.speech",
        "node `talker` has no output `speach` (did you mean `speech`?); its outputs are `speech`, `status`",
    );
    let d = diagnostic(
        "nodes:\n  - id: a\n    path: a\n  - id: b\n    path: b\n    inputs:\n      x: a/out\n",
    );
    assert_diagnostic(
        &d,
        7,
        10,
        "nodes[1].inputs.x",
        "node `a` has no output `out`: it declares no outputs",
    );
}

#[test]
fn operator_sources_of_inputs() {
    let base = "nodes:\n  - id: s\n    operator: {python: s.py, outputs: [o]}\n  - id: m\n    operators:\n      - {id: one, python: a.py, outputs: [o]}\n      - {id: two, python: b.py}\n  - id: c\n    path: c\n    outputs: [o]\n  - id: sink\n    path: sink\n    inputs:\n      x: ";
    let check = |source: &str, message: &str| {
        let d = diagnostic(&format!("{base}{source}\n"));
        assert_diagnostic(&d, 14, 10, "nodes[3].inputs.x", message);
    };
    check(
        "s/p",
        "node `s` has no output `p` (did you mean `o`?); its outputs are `o`",
    );
    check(
        "s/op2/o",
        "node `s` has no operator `op2` (did you mean `op`?)",
    );
    check("m/o", "node `m` is made of operators: name one, as in `m/OPERATOR/o` (did you mean `m/one/o`?); its operators are `one`, `two`");
    check(
        "m/two/o",
        "operator `m/two` has no output `o`: it declares no outputs",
    );
    check("m/three/o", "node `m` has no operator `three`");
    check(
        "c/x/o",
        "node `c` has no operators, so `c/x/o` cannot exist",
    );
}

#[test]
fn inputs_inside_operators_are_checked() {
    let d = diagnostic("nodes:\n  - id: a\n    operators:\n      - id: op\n        python: a.py\n        inputs:\n          x: b/y\n");
    assert_diagnostic(
        &d,
        7,
        14,
        "nodes[0].operators[0].inputs.x",
        "unknown node `b`",
    );
    let d = diagnostic(
        "nodes:\n  - id: a\n    custom:\n      source: a\n      inputs:\n        x: b/y\n",
    );
    assert_diagnostic(&d, 6, 12, "nodes[0].custom.inputs.x", "unknown node `b`");
}

#[test]
fn timers_explain_the_valid_forms() {
    let ds = fixture_diagnostics("bad-timers.yml");
    assert_eq!(ds.len(), 3, "{ds:#?}");
    assert_diagnostic(
        &ds[0],
        5,
        13,
        "nodes[0].inputs.zero",
        "invalid timer `dora/timer/millis/0`: N must be at least 1",
    );
    assert_diagnostic(
        &ds[1],
        6,
        17,
        "nodes[0].inputs.furlongs",
        "unknown unit `furlongs`",
    );
    assert_diagnostic(
        &ds[2],
        7,
        14,
        "nodes[0].inputs.other",
        "unknown dora input `dora/clock`",
    );
    for d in &ds {
        assert!(d.message.contains("`dora/timer/millis/N`"), "{d}");
    }
}

#[test]
fn invalid_input_sources() {
    for source in ["a", "a/", "a/b/c/d", "/x"] {
        let d = diagnostic(&format!(
            "nodes:\n  - id: a\n    path: a\n    inputs:\n      x: {source}\n"
        ));
        assert_diagnostic(&d, 5, 10, "nodes[0].inputs.x", "invalid input source");
    }
    let d = diagnostic("nodes:\n  - id: a\n    path: a\n    inputs:\n      x:\n");
    assert_diagnostic(&d, 5, 7, "nodes[0].inputs.x", "missing source");
}

#[test]
fn queue_size_is_at_least_one() {
    for (size, column) in [("0", 21), ("-3", 21), ("many", 21), ("[1]", 21)] {
        let d = diagnostic(&format!(
            "nodes:\n  - id: a\n    path: a\n    inputs:\n      x: {{source: dora/timer/secs/1, queue_size: {size}}}\n"
        ));
        assert_eq!(d.field, "nodes[0].inputs.x.queue_size", "{d}");
        assert!(d.message.contains("at least 1"), "{d}");
        assert!(d.column > column, "{d}");
    }
    let d = diagnostic(
        "nodes:\n  - id: a\n    path: a\n    inputs:\n      x:\n        queue_size: 2\n",
    );
    assert_diagnostic(
        &d,
        6,
        9,
        "nodes[0].inputs.x.source",
        "missing required key `source`",
    );
}
