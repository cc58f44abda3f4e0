//! The C++ node API end to end: nodes compiled with g++ (C++17) through the CMake integration
//! in `cpp/`, exchanging Arrow arrays with a Rust node, run by the real `dora` binary.

use crate::support::{
    helpers::cpp_test_receiver,
    native::{c_test_nodes, copy_example, dora_build},
    node_lines, run_dora, test_node, Dataflow,
};

/// The text after ` region=` / ` region ` in `line`.
fn region_in(line: &str) -> &str {
    line.rsplit_once("region=")
        .or_else(|| line.rsplit_once("region "))
        .map(|(_, region)| region.trim())
        .unwrap_or_else(|| panic!("no region in `{line}`"))
}

fn assert_shared_memory(region: &str) {
    assert!(
        region.contains("/memfd:dora-"),
        "the payload is not in a dora shared memory region: `{region}`"
    );
}

#[test]
fn arrow_arrays_from_cxx_arrive_in_a_rust_node_with_the_same_values() {
    let nodes = c_test_nodes();
    let receiver = cpp_test_receiver();
    let dataflow = Dataflow::new(&format!(
        r#"
nodes:
  - id: sender
    path: {}
    inputs:
      tick: dora/timer/millis/20
      echo: receiver/echo
    outputs: [int32, struct, int32_in_place, big]
  - id: receiver
    path: {}
    inputs:
      int32: sender/int32
      struct: sender/struct
      int32_in_place: sender/int32_in_place
      big: sender/big
    outputs: [echo]
"#,
        nodes.join("cxx_arrow_sender").display(),
        receiver.display()
    ));

    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "dora run failed: {output:#?}");
    let received = node_lines(&output.stdout, "receiver");
    let line = |prefix: &str| -> &str {
        received
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line; stdout:\n{}", output.stdout))
    };
    assert_eq!(
        line("int32 "),
        "int32 ok Some([Some(1), Some(-2), Some(3), None, Some(5)])"
    );
    assert_eq!(
        line("struct "),
        r#"struct ok a=Some([10, 20, 30]) b=Some(["x", "yy", "zzz"])"#
    );
    assert_eq!(
        line("int32_in_place "),
        "int32_in_place ok Some([42, 43, 44, 45])"
    );
    let big = line("big ");
    assert!(
        big.starts_with("big ok len=262144 first=1000 "),
        "1 MiB array damaged: {big}"
    );

    // The values the Rust node read live in the very region the C++ node wrote them into.
    let sender = node_lines(&output.stdout, "sender");
    let sent = sender
        .iter()
        .find(|l| l.starts_with("big sent "))
        .unwrap_or_else(|| panic!("no `big sent` line; stdout:\n{}", output.stdout));
    assert_shared_memory(region_in(sent));
    assert_eq!(
        region_in(sent),
        region_in(big),
        "the 1 MiB payload was copied"
    );

    // Rust -> C++ through event_as_arrow_input, and errors as exceptions.
    assert!(sender.contains(&"echo ok"), "stdout:\n{}", output.stdout);
    assert!(
        sender.iter().any(|l| l.starts_with(
            "unknown output rejected: `no-such-output` is not an output of node `sender`"
        )),
        "stdout:\n{}",
        output.stdout
    );
    for expected in [
        "array outside sample rejected: the Arrow array is not inside the allocated sample: \
         buffer 0 of array",
        "null array rejected: argument `array` is NULL",
    ] {
        assert!(
            sender.iter().any(|l| l.starts_with(expected)),
            "no `{expected}`; stdout:\n{}",
            output.stdout
        );
    }
}

#[test]
fn cxx_example_sends_1mib_frames_without_copying() {
    let (_tmp, example) = copy_example("cxx-dataflow");
    dora_build(&example);
    let output = run_dora(&["run", "dataflow.yml"], &example);
    assert!(output.status.success(), "dora run failed: {output:#?}");

    let sent: Vec<&str> = node_lines(&output.stdout, "sender")
        .into_iter()
        .filter(|l| l.starts_with("sent frame #"))
        .collect();
    let received: Vec<&str> = node_lines(&output.stdout, "receiver")
        .into_iter()
        .filter(|l| l.starts_with("received frame #"))
        .collect();
    assert_eq!(sent.len(), 5, "stdout:\n{}", output.stdout);
    assert_eq!(received.len(), 5, "stdout:\n{}", output.stdout);
    for (frame, (sent, received)) in sent.iter().zip(&received).enumerate() {
        assert!(
            received.starts_with(&format!(
                "received frame #{frame}: 262144 Int32 values ok from region "
            )),
            "{received}"
        );
        assert_shared_memory(region_in(sent));
        assert_eq!(
            region_in(sent),
            region_in(received),
            "frame {frame} was copied on its way"
        );
    }
}

#[test]
fn metadata_parameters_of_every_type_reach_a_cxx_node() {
    let nodes = c_test_nodes();
    let dataflow = Dataflow::new(&format!(
        r#"
nodes:
  - id: sender
    path: {}
    args: send-parameters
    outputs: [data]
  - id: receiver
    path: {}
    inputs:
      data: sender/data
"#,
        test_node().display(),
        nodes.join("cxx_metadata_receiver").display()
    ));

    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "dora run failed: {output:#?}");
    let received = node_lines(&output.stdout, "receiver");
    let params: Vec<&str> = received
        .iter()
        .copied()
        .filter(|l| l.starts_with("param "))
        .collect();
    assert_eq!(
        params,
        [
            "param count int -42",
            "param flag bool true",
            "param floats float_list [0.5,-1.5]",
            "param frame string camera_link",
            "param ints int_list [1,-2,3]",
            "param names string_list [left,right]",
            "param ratio float 0.25",
        ],
        "stdout:\n{}",
        output.stdout
    );
    let line = |prefix: &str| -> &str {
        received
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line; stdout:\n{}", output.stdout))
    };
    assert_eq!(
        line("missing: "),
        "missing: the input has no metadata parameter `missing` (its parameters: `count`, \
         `flag`, `floats`, `frame`, `ints`, `names`, `ratio`)"
    );
    assert_eq!(
        line("wrong type: "),
        "wrong type: metadata parameter `frame` is a string, not an integer"
    );
}
