//! The Python API end to end: `.py` nodes (`from dora import Node`) next to Rust nodes,
//! Python operators, hot reload, and `dora check` of the Python module. Needs the `dora`
//! Python module (`pip install ./apis/python`), pyarrow and numpy; fails (never skips)
//! without them.

use std::{path::Path, process::Command};

use crate::support::{
    cluster::Cluster, dora, free_port, python, repo, run_dora, Dataflow, KillOnDrop, Output,
    Running,
};

/// A dataflow whose folder also holds the given Python files. Checks the Python setup first.
fn python_dataflow(yaml: &str, files: &[(&str, &str)]) -> Dataflow {
    python();
    let dataflow = Dataflow::new(yaml);
    for (name, text) in files {
        dataflow.write(name, text);
    }
    dataflow
}

/// The pattern the test node's `send` and `receive` modes use.
const PATTERN: &str = r#"
import numpy as np

def pattern(seq, size):
    return ((seq * 31 + np.arange(size, dtype=np.uint64)) % 251).astype(np.uint8)
"#;

#[test]
fn python_and_rust_nodes_exchange_10_mb_and_python_reads_it_in_place() {
    let sender = format!(
        r#"{PATTERN}
import pyarrow as pa
from dora import Node

node = Node()
for seq in range(3):
    node.send_output("data", pa.array(pattern(seq, 10_000_000)), {{"seq": seq}})
print("python sent 3")
"#
    );
    // The receiver checks every byte and that the array's buffer lies in a mapping of the
    // sender's shared memory region (a memfd named after the dataflow), not in a copy.
    let receiver = format!(
        r#"{PATTERN}
import sys
from dora import Node

def mapping_of(address):
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if start <= address < end:
                return fields[5] if len(fields) > 5 else "(anonymous)"
    return "(none)"

node = Node()
received = 0
for event in node:
    if event["type"] != "INPUT":
        continue
    value = event["value"]
    seq = event["metadata"]["seq"]
    array = value.to_numpy(zero_copy_only=True)
    if len(array) != 10_000_000 or not np.array_equal(array, pattern(seq, len(array))):
        sys.exit(f"message {{seq}} is corrupted")
    mapping = mapping_of(value.buffers()[1].address)
    if not mapping.startswith("/memfd:dora-" + node.dataflow_id()):
        sys.exit(f"message {{seq}} is not in the sender's region but in {{mapping}}")
    print(f"in place seq={{seq}} mapping={{mapping}}")
    received += 1
print(f"python received {{received}}")
"#
    );
    let dataflow = python_dataflow(
        r#"
nodes:
  - id: py-sender
    path: sender.py
    outputs: [data]
  - id: rust-receiver
    path: TEST_NODE
    args: receive 3
    inputs:
      data: py-sender/data
  - id: rust-sender
    path: TEST_NODE
    args: send 10000000 3
    outputs: [data]
  - id: py-receiver
    path: receiver.py
    inputs:
      data: rust-sender/data
"#,
        &[("sender.py", &sender), ("receiver.py", &receiver)],
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stdout.contains("[rust-receiver] received 3"),
        "{output:?}"
    );
    assert!(
        output.stdout.contains("[py-receiver] python received 3"),
        "{output:?}"
    );
    assert_eq!(
        output.stdout.matches("in place seq=").count(),
        3,
        "{output:?}"
    );
}

/// `send_output_raw` fills the outgoing shared memory in place through numpy (no copy); a
/// view kept past `fill` is refused with `BufferError` and nothing is sent; an exception in
/// `fill` is passed on and nothing is sent.
#[test]
fn python_send_output_raw_fills_shared_memory_in_place_and_refuses_escaping_views() {
    let sender = format!(
        r#"{PATTERN}
import numpy as np
from dora import Node

node = Node()
for seq in range(3):
    def fill(buffer):
        assert buffer.format == "B" and len(buffer) == 10_000_000 and not buffer.readonly
        np.frombuffer(buffer, dtype=np.uint8)[:] = pattern(seq, 10_000_000)
        buffer[:2] = bytes(pattern(seq, 2))  # slices take bytes, too
    node.send_output_raw("data", 10_000_000, fill, {{"seq": seq}})
kept = []
try:
    node.send_output_raw("data", 4096, lambda b: kept.append(np.frombuffer(b, dtype=np.uint8)))
except BufferError as error:
    print(f"refused: {{error}}")
try:
    node.send_output_raw("data", 16, lambda b: 1 / 0)
except ZeroDivisionError:
    print("fill error passed on")
print("python sent 3")
"#
    );
    let dataflow = python_dataflow(
        r#"
nodes:
  - id: py-sender
    path: sender.py
    outputs: [data]
  - id: rust-receiver
    path: TEST_NODE
    args: receive 3
    inputs:
      data: py-sender/data
"#,
        &[("sender.py", &sender)],
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "{output:?}");
    // The receiver checks every byte against the pattern and that exactly 3 arrived.
    assert!(
        output.stdout.contains("[rust-receiver] received 3"),
        "{output:?}"
    );
    assert!(
        output.stdout.contains("[py-sender] refused: send_output_raw(\"data\"): a view of the output buffer outlived `fill`"),
        "{output:?}"
    );
    assert!(
        output.stdout.contains("[py-sender] fill error passed on"),
        "{output:?}"
    );
    assert!(
        output.stdout.contains("[py-sender] python sent 3"),
        "{output:?}"
    );
}

#[test]
fn next_times_out_iteration_ends_when_inputs_close_and_descriptor_is_readable() {
    let late = r#"
import time
import pyarrow as pa
from dora import Node

node = Node()
time.sleep(1.0)
node.send_output("data", pa.array([1, 2, 3]), {"flag": True, "gain": 0.5, "names": ["a", "b"]})
node.send_output("data", b"\x07\x08")
"#;
    let reader = r#"
import time
from dora import Node

node = Node("reader")
start = time.monotonic()
event = node.next(timeout=0.1)
print(f"timeout result={event} waited_enough={time.monotonic() - start >= 0.09}")
events = list(node)
for event in events:
    if event["type"] == "INPUT":
        metadata = {k: v for k, v in event["metadata"].items() if k != "timestamp"}
        print(f"input {event['id']} {event['value'].to_pylist()} {sorted(metadata.items())}")
        print(f"has timestamp {event['metadata']['timestamp'].year > 2000}")
    else:
        print(f"{event['type']} {event.get('id')}")
print(f"iteration ended; next={node.next(timeout=0.1)}")
descriptor = node.dataflow_descriptor()
print(f"descriptor nodes={[n['id'] for n in descriptor['nodes']]} id_len={len(node.dataflow_id())}")
"#;
    let dataflow = python_dataflow(
        r#"
nodes:
  - id: late
    path: late.py
    outputs: [data]
  - id: reader
    path: reader.py
    inputs:
      data: late/data
"#,
        &[("late.py", late), ("reader.py", reader)],
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "{output:?}");
    for expected in [
        "[reader] timeout result=None waited_enough=True",
        "[reader] input data [1, 2, 3] [('flag', True), ('gain', 0.5), ('names', ['a', 'b'])]",
        "[reader] input data [7, 8] []",
        "[reader] has timestamp True",
        "[reader] INPUT_CLOSED data",
        "[reader] iteration ended; next=None",
        "[reader] descriptor nodes=['late', 'reader'] id_len=36",
    ] {
        assert!(
            output.stdout.contains(expected),
            "no `{expected}`: {output:?}"
        );
    }
}

#[test]
fn stop_reaches_a_python_node_as_an_event() {
    let node = r#"
from dora import Node

node = Node()
ready = False
for event in node:
    if event["type"] == "INPUT" and not ready:
        ready = True
        print("ready")
    elif event["type"] == "STOP":
        print("got STOP")
print("iteration ended")
"#;
    let dataflow = python_dataflow(
        r#"
nodes:
  - id: stopper
    path: stopper.py
    inputs:
      tick: dora/timer/millis/50
"#,
        &[("stopper.py", node)],
    );
    let mut run = Running::start(&["run", "dataflow.yml"], dataflow.cwd());
    run.wait_for_line("[stopper] ready");
    run.signal(nix::sys::signal::Signal::SIGINT);
    let output = run.finish();
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.contains("[stopper] got STOP"), "{output:?}");
    assert!(
        output.stdout.contains("[stopper] iteration ended"),
        "{output:?}"
    );
}

#[test]
fn a_python_node_that_raises_fails_the_dataflow_with_its_traceback() {
    let node = r#"
from dora import Node

def process(event):
    raise ValueError(f"cannot handle frame {event['value'].to_pylist()[0]}")

node = Node()
for event in node:
    if event["type"] == "INPUT":
        process(event)
"#;
    let dataflow = python_dataflow(
        r#"
nodes:
  - id: feeder
    path: TEST_NODE
    args: send 1 1
    outputs: [data]
  - id: faulty
    path: faulty.py
    inputs:
      data: feeder/data
"#,
        &[("faulty.py", node)],
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(!output.status.success(), "{output:?}");
    assert!(output.stderr.contains("faulty"), "{output:?}");
    assert!(
        output.stderr.contains("in process"),
        "the traceback's frames are shown: {output:?}"
    );
    assert!(
        output.stderr.contains("ValueError: cannot handle frame 0"),
        "{output:?}"
    );
}

#[test]
fn node_outside_a_dataflow_says_how_to_start_it() {
    let output = Command::new(python())
        .args(["-c", "from dora import Node; Node()"])
        .env_remove("DORA_NODE_CONFIG")
        .output()
        .expect("running python");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("RuntimeError"), "{stderr}");
    assert!(stderr.contains("dora run dataflow.yml"), "{stderr}");
}

const DOUBLER: &str = r#"
import pyarrow.compute as pc
from dora import DoraStatus

class Operator:
    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            send_output("doubled", pc.multiply(dora_event["value"], 2), dora_event["metadata"])
        return DoraStatus.CONTINUE
"#;

const SUMMER: &str = r#"
import pyarrow as pa
from dora import DoraStatus

class Operator:
    def __init__(self):
        self.count = 0

    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            self.count += 1
            total = sum(dora_event["value"].to_pylist())
            send_output("sum", pa.array([total]))
            print(f"summer got {dora_event['id']} total={total}")
        elif dora_event["type"] == "INPUT_CLOSED":
            print(f"summer saw {dora_event['id']} close after {self.count}")
        return DoraStatus.CONTINUE
"#;

#[test]
fn python_operators_of_one_node_talk_to_each_other_and_to_other_nodes() {
    let feeder = r#"
import pyarrow as pa
from dora import Node

node = Node()
for _ in range(3):
    node.send_output("numbers", pa.array([1, 2, 3]))
"#;
    let printer = r#"
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print(f"printer got {event['id']} {event['value'].to_pylist()}")
print("printer done")
"#;
    let dataflow = python_dataflow(
        r#"
nodes:
  - id: feeder
    path: feeder.py
    outputs: [numbers]
  - id: math
    operators:
      - id: doubler
        python: doubler.py
        inputs:
          numbers: feeder/numbers
        outputs: [doubled]
      - id: summer
        python:
          source: summer.py
        inputs:
          doubled: math/doubler/doubled
        outputs: [sum]
  - id: printer
    path: printer.py
    inputs:
      sum: math/summer/sum
"#,
        &[
            ("feeder.py", feeder),
            ("doubler.py", DOUBLER),
            ("summer.py", SUMMER),
            ("printer.py", printer),
        ],
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        output
            .stdout
            .matches("[printer] printer got sum [12]")
            .count(),
        3,
        "{output:?}"
    );
    assert!(
        output.stdout.contains("[math] summer got doubled total=12"),
        "{output:?}"
    );
    assert!(
        output
            .stdout
            .contains("[math] summer saw doubled close after 3"),
        "{output:?}"
    );
    assert!(
        output.stdout.contains("[printer] printer done"),
        "{output:?}"
    );
}

#[test]
fn a_python_operator_that_raises_fails_its_node_with_the_traceback() {
    let operator = r#"
from dora import DoraStatus

class Operator:
    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            return 1 // 0
        return DoraStatus.CONTINUE
"#;
    let dataflow = python_dataflow(
        r#"
nodes:
  - id: runtime
    operator:
      python: broken.py
      inputs:
        tick: dora/timer/millis/50
"#,
        &[("broken.py", operator)],
    );
    let output = run_dora(&["run", "dataflow.yml"], dataflow.cwd());
    assert!(!output.status.success(), "{output:?}");
    assert!(
        output.stderr.contains("ZeroDivisionError"),
        "the traceback's last lines are in the error: {output:?}"
    );
}

fn versioned_operator(version: &str) -> String {
    format!(
        r#"
import pyarrow as pa
from dora import DoraStatus

class Operator:
    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            send_output("says", pa.array(["{version}"]))
        return DoraStatus.CONTINUE
"#
    )
}

#[test]
fn hot_reload_replaces_a_python_operator_while_the_dataflow_runs() {
    let listener = r#"
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print(f"heard {event['value'].to_pylist()[0]}")
"#;
    let operator_v1 = versioned_operator("v1");
    python();
    let cluster = Cluster::up(
        r#"
nodes:
  - id: speaker
    operator:
      python: speaker.py
      inputs:
        tick: dora/timer/millis/50
      outputs: [says]
  - id: listener
    path: listener.py
    inputs:
      says: speaker/op/says
"#,
    );
    let dataflow = &cluster.dataflow;
    dataflow.write("speaker.py", &operator_v1);
    dataflow.write("listener.py", listener);
    let mut run = cluster.running(&["start", "dataflow.yml", "--attach", "--hot-reload"]);
    run.wait_for_line("[listener] heard v1");

    dataflow.write("speaker.py", &versioned_operator("v2"));
    run.wait_for_new_line("[speaker] dora: reloaded operator `op`");
    run.wait_for_new_line("[listener] heard v2");

    // A broken file is reported and the running operator goes on.
    dataflow.write("speaker.py", "class Operator(:\n");
    dataflow.wait_for_log("speaker", "reloading operator `op` failed");
    dataflow.wait_for_log("speaker", "SyntaxError");
    run.wait_for_new_line("[listener] heard v2");

    dataflow.write("speaker.py", &versioned_operator("v3"));
    run.wait_for_new_line("[listener] heard v3");

    let stop = cluster.dora(&["stop"]);
    assert!(stop.status.success(), "{stop:?}");
    let output = run.finish();
    assert!(output.status.success(), "{output:?}");
}

/// A fake virtual environment whose `python` runs `script`.
fn fake_venv(script: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let venv = tempfile::tempdir().expect("creating a temp dir");
    let bin = venv.path().join("bin");
    std::fs::create_dir(&bin).expect("creating bin/");
    let python = bin.join("python");
    std::fs::write(&python, format!("#!/bin/sh\n{script}\n")).expect("writing python");
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755))
        .expect("making python executable");
    venv
}

fn check_with_venv(dataflow: &Dataflow, venv: Option<&Path>) -> Output {
    let mut command = Command::new(dora());
    command
        .args(["check", "--dataflow", "dataflow.yml", "--coordinator-port"])
        .arg(free_port().to_string())
        .current_dir(dataflow.cwd());
    if let Some(venv) = venv {
        command.env("VIRTUAL_ENV", venv);
    }
    command.output().expect("running dora check").into()
}

#[test]
fn check_reports_a_missing_or_mismatched_dora_python_module() {
    let dataflow = python_dataflow(
        r#"
nodes:
  - id: node
    path: node.py
    inputs:
      tick: dora/timer/secs/1
"#,
        &[("node.py", "from dora import Node\n")],
    );

    let ok = check_with_venv(&dataflow, None);
    assert!(ok.status.success(), "{ok:?}");
    assert!(
        ok.stdout.contains(&format!(
            "has the dora module {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{ok:?}"
    );

    let missing = fake_venv("echo \"ModuleNotFoundError: No module named 'dora'\" >&2\nexit 1");
    let output = check_with_venv(&dataflow, Some(missing.path()));
    assert!(!output.status.success(), "{output:?}");
    assert!(
        output
            .stderr
            .contains("the `dora` Python module is not installed"),
        "{output:?}"
    );
    assert!(
        output.stderr.contains("pip install ./apis/python"),
        "{output:?}"
    );

    let old = fake_venv("printf 0.0.1");
    let output = check_with_venv(&dataflow, Some(old.path()));
    assert!(!output.status.success(), "{output:?}");
    assert!(
        output.stderr.contains(&format!(
            "is version 0.0.1, but this dora is version {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{output:?}"
    );
}

#[test]
fn python_examples_run() {
    python();
    let root = repo().join("examples");
    for (example, expected) in [
        ("python-dataflow", "[listener] listener got 30 results"),
        (
            "python-operator-dataflow",
            "[listener] listener got 29 speeds",
        ),
    ] {
        let output = run_dora(&["run", "dataflow.yml"], &root.join(example));
        assert!(output.status.success(), "{example}: {output:?}");
        assert!(output.stdout.contains(expected), "{example}: {output:?}");
    }
}

#[test]
fn a_python_dynamic_node_started_by_hand_receives_messages() {
    let receiver = format!(
        r#"{PATTERN}
import sys
from dora import Node

node = Node("py-dynamic")
# A dynamic node gets the dataflow's path from the daemon, not from its environment.
print("descriptor nodes:", [n["id"] for n in node.dataflow_descriptor()["nodes"]])
received = 0
for event in node:
    if event["type"] != "INPUT":
        continue
    seq = event["metadata"]["seq"]
    array = event["value"].to_numpy(zero_copy_only=True)
    if not np.array_equal(array, pattern(seq, len(array))):
        sys.exit(f"message {{seq}} is corrupted")
    print(f"dynamic got seq={{seq}} size={{len(array)}}")
    received += 1
print(f"dynamic received {{received}} as {{node.node_id()}}")
"#
    );
    let dataflow = python_dataflow(
        r#"
nodes:
  - id: sender
    path: TEST_NODE
    args: send 100,8192 3
    outputs: [data]
  - id: py-dynamic
    path: dynamic
    inputs:
      data: sender/data
"#,
        &[("receiver.py", &receiver)],
    );
    let cwd = dataflow.cwd();
    let port = free_port().to_string();
    let port_env = ("DORA_DAEMON_LOCAL_LISTEN_PORT", port.as_str());
    let run = Running::start_with_env(&["run", "dataflow.yml"], cwd, &[port_env]);
    let _run_guard = KillOnDrop(vec![run.pid()]);
    // The dataflow offers the node once its log says so.
    dataflow.wait_for_log("py-dynamic", "waiting for the user to start it");

    let node = Running::spawn(
        Command::new(python())
            .arg("receiver.py")
            .env(port_env.0, port_env.1),
        cwd,
    );
    let _node_guard = KillOnDrop(vec![node.pid()]);
    let node = node.finish();
    assert!(node.status.success(), "{node:?}");
    assert!(
        node.stdout.contains("dynamic got seq=5 size=8192"),
        "{node:?}"
    );
    assert!(
        node.stdout.contains("dynamic received 6 as py-dynamic"),
        "{node:?}"
    );
    assert!(
        node.stdout
            .contains("descriptor nodes: ['sender', 'py-dynamic']"),
        "{node:?}"
    );
    let output = run.finish();
    assert!(output.status.success(), "{output:?}");
}
