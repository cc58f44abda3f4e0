//! Valid dataflows parse into the expected model.

mod common;

use std::time::Duration;

use common::{fixture, parse, parse_fixture};
use dora_descriptor::*;

fn user(source: &str, operator: Option<&str>, output: &str) -> InputMapping {
    InputMapping::User {
        source: source.to_owned(),
        operator: operator.map(str::to_owned),
        output: output.to_owned(),
    }
}

fn input<'a>(inputs: &'a [(String, Input)], id: &str) -> &'a Input {
    &inputs
        .iter()
        .find(|(i, _)| i == id)
        .unwrap_or_else(|| panic!("no input {id}"))
        .1
}

#[test]
fn every_key_parses() {
    let d = parse_fixture("valid-all-keys.yml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        d.path.as_deref(),
        Some(std::path::Path::new("valid-all-keys.yml"))
    );
    assert_eq!(d.communication.local, LocalCommunication::Tcp);
    assert_eq!(d.deploy.machine.as_deref(), Some("main"));
    let ids: Vec<&str> = d.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["camera", "detector", "ui", "recorder", "remote"]);

    let camera = d.node("camera").unwrap();
    assert_eq!(camera.name.as_deref(), Some("Camera"));
    assert_eq!(camera.description.as_deref(), Some("Captures frames"));
    assert_eq!(camera.deploy.machine.as_deref(), Some("robot"));
    assert_eq!(camera.location, Location { line: 8, column: 9 });
    assert_eq!(camera.env["FPS"], EnvValue::Integer(30));
    assert_eq!(camera.env["GAIN"], EnvValue::Float(1.5));
    assert_eq!(camera.env["ENABLED"], EnvValue::Bool(true));
    assert_eq!(camera.env["QUOTED"], EnvValue::String("42".into()));
    assert_eq!(
        camera.env["DATA_DIR"],
        EnvValue::String("/home/robot/data".into())
    );
    assert_eq!(
        camera.env["LABEL"],
        EnvValue::String("/home/robot-cam".into())
    );
    let custom = camera.custom().unwrap();
    assert_eq!(
        custom.source,
        NodeSource::Path("./target/debug/camera".into())
    );
    assert_eq!(
        custom.args.as_deref(),
        Some("--fps 30 --device /dev/video0")
    );
    assert_eq!(custom.build, ["cargo build -p camera", "echo built"]);
    assert_eq!(custom.send_stdout_as.as_deref(), Some("logs"));
    assert_eq!(custom.outputs, ["image", "logs"]);
    let tick = input(&custom.inputs, "tick");
    assert_eq!(
        tick.mapping,
        InputMapping::Timer {
            interval: Duration::from_millis(33)
        }
    );
    assert_eq!(tick.queue_size, DEFAULT_QUEUE_SIZE);
    assert_eq!(
        tick.location,
        Location {
            line: 28,
            column: 13
        }
    );
    assert_eq!(
        input(&custom.inputs, "slow").timer(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(
        input(&custom.inputs, "fast").timer(),
        Some(Duration::from_micros(500))
    );
    assert_eq!(
        input(&custom.inputs, "rate").timer(),
        Some(Duration::from_millis(250))
    );
    assert_eq!(camera.timers().len(), 4);
    assert_eq!(d.machine_of(camera), Some("robot"));

    let detector = d.node("detector").unwrap();
    let NodeKind::Runtime(runtime) = &detector.kind else {
        panic!("detector is not a runtime node")
    };
    assert!(runtime.single);
    let op = &runtime.operators[0];
    assert_eq!(op.id, DEFAULT_OPERATOR_ID);
    assert_eq!(op.name.as_deref(), Some("Detector"));
    assert_eq!(op.description.as_deref(), Some("Finds objects"));
    assert_eq!(op.source, OperatorSource::Python("detect.py".into()));
    assert_eq!(op.conda_env.as_deref(), Some("vision"));
    assert_eq!(op.build, ["pip install -r requirements.txt"]);
    assert_eq!(op.send_stdout_as.as_deref(), Some("stdout"));
    assert_eq!(op.outputs, ["boxes"]);
    let image = input(&op.inputs, "image");
    assert_eq!(image.mapping, user("camera", None, "image"));
    assert_eq!(image.queue_size, 1);
    assert_eq!(
        image.location,
        Location {
            line: 47,
            column: 19
        }
    );
    assert_eq!(d.machine_of(detector), Some("main"));

    let ui = d.node("ui").unwrap();
    assert_eq!(ui.deploy.machine.as_deref(), Some("laptop"));
    let ops = ui.operators();
    assert_eq!(ops.len(), 3);
    assert_eq!(
        ops[0].source,
        OperatorSource::SharedLibrary("./target/debug/plot".into())
    );
    assert_eq!(ops[1].source, OperatorSource::Wasm("./filter.wasm".into()));
    assert_eq!(ops[2].source, OperatorSource::Python("script.py".into()));
    assert_eq!(ops[2].conda_env, None);
    // `detector/boxes` names the single operator of `detector`.
    assert_eq!(
        input(&ops[0].inputs, "boxes").mapping,
        user("detector", Some("op"), "boxes")
    );
    assert_eq!(
        input(&ops[0].inputs, "boxes_again").mapping,
        user("detector", Some("op"), "boxes")
    );
    assert_eq!(
        input(&ops[1].inputs, "frame").mapping,
        user("ui", Some("plot"), "frame")
    );
    assert_eq!(ui.outputs(), ["plot/frame", "filter/clean"]);

    let recorder = d.node("recorder").unwrap();
    let custom = recorder.custom().unwrap();
    assert_eq!(custom.source, NodeSource::Shell);
    assert_eq!(custom.args.as_deref(), Some("tee /tmp/recording.txt"));
    assert_eq!(custom.build, ["make recorder"]);
    assert_eq!(recorder.env["MODE"], EnvValue::String("append".into()));
    assert_eq!(input(&custom.inputs, "frame").queue_size, 100);
    assert_eq!(recorder.outputs(), ["done", "echo"]);

    let remote = d.node("remote").unwrap();
    assert_eq!(remote.custom().unwrap().source, NodeSource::Dynamic);
    assert_eq!(remote.env["LEVEL"], EnvValue::Integer(-3));

    assert_eq!(d.timers().len(), 4);
}

#[test]
fn read_uses_the_process_environment_and_names_the_file() {
    std::env::set_var("DORA_DESCRIPTOR_TEST_HOME", "/from/process");
    let d = Descriptor::read(&fixture("valid-all-keys.yml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        d.node("camera").unwrap().env["DATA_DIR"],
        EnvValue::String("/from/process/data".into())
    );
    assert!(d.path.unwrap().ends_with("valid-all-keys.yml"));
}

#[test]
fn missing_file_names_the_file() {
    let error = Descriptor::read(&fixture("does-not-exist.yml")).unwrap_err();
    assert!(matches!(error, DescriptorError::Io { .. }));
    assert!(error.to_string().contains("does-not-exist.yml"), "{error}");
    assert!(error.diagnostics().is_empty());
}

#[test]
fn v0_3_6_example_parses() {
    let d = parse_fixture("v0.3.6-example.yml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.nodes.len(), 5);
    assert_eq!(d.communication, Communication::default());
}

#[test]
fn defaults_and_short_forms() {
    let d = parse(
        "nodes:\n  - id: a\n    path: a.py\n    outputs: [x]\n    inputs:\n  - id: b\n    path: b\n    inputs: {x: a/x}\n    env:\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.communication.local, LocalCommunication::UnixDomain);
    assert_eq!(d.deploy, Deploy::default());
    let b = d.node("b").unwrap();
    assert!(b.env.is_empty());
    assert_eq!(b.inputs()[0].1.mapping, user("a", None, "x"));
    assert!(d.node("c").is_none());
}

#[test]
fn yaml_features_are_accepted() {
    // Anchors and aliases, flow style, quoted keys, comments, a document marker.
    let text = r#"---
# comment
nodes:
  - id: "a"
    path: &p ./node
    outputs: [x, 'y']
  - {id: b, path: *p, inputs: {x: a/x, "y": a/y}}
"#;
    let d = parse(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        d.nodes[1].custom().unwrap().source,
        NodeSource::Path("./node".into())
    );
}

#[test]
fn single_operator_may_be_named_by_its_id() {
    let d = parse(
        "nodes:\n  - id: a\n    operator:\n      id: det\n      python: a.py\n      outputs: [x]\n  - id: b\n    path: b\n    inputs: {one: a/x, two: a/det/x}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let b = d.node("b").unwrap();
    for (_, input) in b.inputs() {
        assert_eq!(input.mapping, user("a", Some("det"), "x"));
        assert_eq!(input.mapping.to_string(), "a/det/x");
    }
}

#[test]
fn byte_order_mark_and_crlf_line_ends() {
    let text = "\u{feff}nodes:\r\n  - id: a\r\n    path: a\r\n    build: |\r\n      make\r\n      make install\r\n";
    let d = parse(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.nodes[0].custom().unwrap().build, ["make", "make install"]);
    assert_eq!(d.nodes[0].location, Location { line: 2, column: 9 });
}
