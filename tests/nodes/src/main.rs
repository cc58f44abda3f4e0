//! A node with several behaviours, chosen by its first argument, for the end-to-end tests.
//!
//! - `send SIZES COUNT`: sends COUNT messages of each size (comma-separated) on `data`, each
//!   filled with a pattern derived from its sequence number (parameter `seq`), then exits.
//! - `receive EXPECTED`: checks every message's pattern, prints `ok seq=S size=N`, and exits
//!   with 1 on a corrupted message or when it did not get EXPECTED messages.
//! - `ticks N`: prints `tick K` for N timer ticks, then exits.
//! - `fail CODE`: writes a few lines to stderr and exits with CODE.
//! - `wait-stop`: prints `waiting pid=P`, exits 0 after `Stop`.
//! - `ignore-stop`: prints `ignoring pid=P`, keeps running after `Stop`.
//! - `hold`: prints `holding pid=P bytes=N` after its first message and keeps it forever.
//! - `slow-receive DELAY_MS`: prints `got seq=S` for each message, sleeping DELAY_MS after each.
//! - `send-hang SIZE`: sends one message of SIZE bytes, prints `sent pid=P`, then hangs.
//! - `ros-talk N INTERVAL_MS`: sends N rows `{data: "dora K"}` on `out`, INTERVAL_MS apart.
//! - `print-strings`: prints each string of every string-array input as `text: …`, and
//!   `closed ID` when an input closes.
//! - `ros-print N`: prints the `data` field of every row it receives (`got: …`); exits after
//!   N rows.
//! - `ping SIZES COUNT`: sends COUNT messages 10 ms apart, cycling through the comma-separated
//!   SIZES (bytes), so that sizes are compared under the same load.
//! - `burst-ping BURST`: three rounds of BURST back-to-back messages on `burst`, a 2 s pause,
//!   then 50 messages on `data` 10 ms apart.
//! - `pong`: prints the median latency (receive time − send timestamp) of what it got on
//!   `data`, per message size, and each one slower than 1 ms.
//! - `async-receive`: like `slow-receive 0`, through `recv_async` on a futures executor.
//! - `bad-output`: sends on an undeclared output and prints the error.
//! - `region-burst N SIZE [idle]`: sends N messages of SIZE bytes on `data` back to back,
//!   waits for an input `done`, then prints how many shared memory regions it still maps
//!   (`sender regions: K`). With `idle` it does not read its events: it waits up to 5 s
//!   until it maps at most 8 regions, then prints the same line.
//! - `region-drain N`: sleeps 300 ms after its first `data` message (so a burst piles up in
//!   its queue), takes all N, sends `done`, then waits up to 5 s until it maps at most 8
//!   regions and prints how many it maps (`receiver regions: K`).
//! - `send-arrow` / `receive-arrow`: send a set of Arrow arrays (nested, with nulls, sliced,
//!   small and large) and check that each arrives equal.
//! - `dynamic-relay ID [crash]`: joins as the dynamic node ID (`DoraNode::init_from_node_id`),
//!   checks the pattern of every `data` message, sends it on unchanged on `echo` (printing
//!   `relayed seq=S size=N`), and prints `relayed K` when its inputs are closed; other inputs
//!   are ignored. With `crash`, it aborts right after relaying its first message.
//! - `restart-peer SIZE`: prints `started pid=P`; on each `tick` input sends a SIZE-byte
//!   message with the pattern on `out`; on any other input checks the pattern and prints
//!   `got seq=S restarted=R size=N pid=P` (R is the `restarted` parameter, 0 when absent),
//!   `closed ID` when an input closes, and exits 0 after `Stop`.

use std::{process::ExitCode, time::Duration};

use dora_node_api::{
    arrow::{
        array::types::Int32Type,
        array::{
            Array, ArrayRef, BooleanArray, Float64Array, Int32Array, ListArray, StringArray,
            StructArray,
        },
        schema::{DataType, Field},
    },
    DoraNode, Event, MetadataParameters, Parameter,
};
use std::sync::Arc;

fn pattern(seq: i64, index: usize) -> u8 {
    ((seq as usize).wrapping_mul(31).wrapping_add(index) % 251) as u8
}

fn seq_of(params: &MetadataParameters) -> i64 {
    match params.get("seq") {
        Some(Parameter::Integer(seq)) => *seq,
        _ => -1,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let result = match arg(0) {
        "send" => send(arg(1), arg(2).parse().unwrap_or(1)),
        "receive" => receive(arg(1).parse().ok()),
        "ticks" => ticks(arg(1).parse().unwrap_or(3)),
        "fail" => {
            eprintln!("test-node: about to fail");
            eprintln!("test-node: failing on purpose with code {}", arg(1));
            return ExitCode::from(arg(1).parse::<u8>().unwrap_or(1));
        }
        "wait-stop" => wait_stop(),
        "ignore-stop" => ignore_stop(),
        "hold" => hold(),
        "slow-receive" => slow_receive(arg(1).parse().unwrap_or(10)),
        "async-receive" => async_receive(),
        "ros-talk" => ros_talk(arg(1).parse().unwrap_or(10), arg(2).parse().unwrap_or(50)),
        "ros-print" => ros_print(arg(1).parse().unwrap_or(1)),
        "print-strings" => print_strings(),
        "restart-peer" => restart_peer(arg(1).parse().unwrap_or(8)),
        "ping" => ping(arg(1), arg(2).parse().unwrap_or(100)),
        "burst-ping" => burst_ping(arg(1).parse().unwrap_or(100_000)),
        "pong" => pong(),
        "send-hang" => send_hang(arg(1).parse().unwrap_or(1 << 20)),
        "bad-output" => bad_output(),
        "region-burst" => region_burst(
            arg(1).parse().unwrap_or(100),
            arg(2).parse().unwrap_or(65536),
            arg(3) == "idle",
        ),
        "region-drain" => region_drain(arg(1).parse().unwrap_or(100)),
        "send-arrow" => send_arrow(),
        "send-parameters" => send_parameters(),
        "receive-arrow" => receive_arrow(),
        "dynamic-relay" => dynamic_relay(arg(1), arg(2) == "crash"),
        other => Err(format!("unknown mode `{other}`").into()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("test-node: {err}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Sends one 3-byte message on `data` whose metadata has a parameter of every type.
fn send_parameters() -> Result<ExitCode> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    let mut params = MetadataParameters::new();
    params.insert("flag".into(), Parameter::Bool(true));
    params.insert("count".into(), Parameter::Integer(-42));
    params.insert("ratio".into(), Parameter::Float(0.25));
    params.insert("frame".into(), Parameter::String("camera_link".into()));
    params.insert("ints".into(), Parameter::ListInt(vec![1, -2, 3]));
    params.insert("floats".into(), Parameter::ListFloat(vec![0.5, -1.5]));
    params.insert(
        "names".into(),
        Parameter::ListString(vec!["left".into(), "right".into()]),
    );
    node.send_output_bytes("data".into(), params, 3, &[1, 2, 3])?;
    println!("sent parameters");
    Ok(ExitCode::SUCCESS)
}

fn send(sizes: &str, count: i64) -> Result<ExitCode> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    let mut seq = 0;
    for size in sizes.split(',').filter(|s| !s.is_empty()) {
        let size: usize = size.parse()?;
        for _ in 0..count {
            let mut params = MetadataParameters::new();
            params.insert("seq".into(), Parameter::Integer(seq));
            node.send_output_raw("data".into(), params, size, |buf| {
                for (i, byte) in buf.iter_mut().enumerate() {
                    *byte = pattern(seq, i);
                }
            })?;
            seq += 1;
        }
    }
    println!("sent {seq} messages");
    Ok(ExitCode::SUCCESS)
}

fn receive(expected: Option<usize>) -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    let mut received = 0;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { data, metadata, .. } => {
                let seq = seq_of(&metadata.parameters);
                let bytes = data.as_bytes().ok_or("expected bytes")?;
                if let Some(i) = (0..bytes.len()).find(|&i| bytes[i] != pattern(seq, i)) {
                    eprintln!("corrupted message seq={seq} at byte {i}");
                    return Ok(ExitCode::FAILURE);
                }
                println!("ok seq={seq} size={}", bytes.len());
                received += 1;
            }
            Event::InputClosed { id } => println!("closed {id}"),
            Event::Stop => println!("stop"),
            Event::Error(err) => eprintln!("error event: {err}"),
            _ => {}
        }
    }
    println!("received {received}");
    match expected {
        Some(expected) if expected != received => {
            eprintln!("expected {expected} messages, got {received}");
            Ok(ExitCode::FAILURE)
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn dynamic_relay(id: &str, crash: bool) -> Result<ExitCode> {
    let (mut node, mut events) = DoraNode::init_from_node_id(id.into())?;
    println!("connected as {}", node.id());
    let mut relayed = 0;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, data, metadata } if id.as_str() == "data" => {
                let seq = seq_of(&metadata.parameters);
                let bytes = data.as_bytes().ok_or("expected bytes")?;
                if let Some(i) = (0..bytes.len()).find(|&i| bytes[i] != pattern(seq, i)) {
                    eprintln!("corrupted message seq={seq} at byte {i}");
                    return Ok(ExitCode::FAILURE);
                }
                node.send_output_raw(
                    "echo".into(),
                    metadata.parameters.clone(),
                    bytes.len(),
                    |out| out.copy_from_slice(bytes),
                )?;
                println!("relayed seq={seq} size={}", bytes.len());
                relayed += 1;
                if crash {
                    std::process::abort();
                }
            }
            Event::Stop => println!("stop"),
            Event::Error(err) => eprintln!("error event: {err}"),
            _ => {}
        }
    }
    println!("relayed {relayed}");
    Ok(ExitCode::SUCCESS)
}

fn ticks(count: usize) -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    let mut ticks = 0;
    while let Some(event) = events.recv() {
        if let Event::Input { id, .. } = event {
            ticks += 1;
            println!("tick {ticks} on {id}");
            if ticks == count {
                break;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn wait_stop() -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    println!("waiting pid={}", std::process::id());
    while let Some(event) = events.recv() {
        if let Event::Stop = event {
            println!("stopping");
            return Ok(ExitCode::SUCCESS);
        }
    }
    Err("event stream ended without Stop".into())
}

fn ignore_stop() -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    println!("ignoring pid={}", std::process::id());
    while let Some(event) = events.recv() {
        if let Event::Stop = event {
            println!("ignoring stop");
        }
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn hold() -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    let mut held = Vec::new();
    while let Some(event) = events.recv() {
        if let Event::Input { data, .. } = event {
            println!("holding pid={} bytes={}", std::process::id(), data.len());
            held.push(data);
        }
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn slow_receive(delay_ms: u64) -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    while let Some(event) = events.recv() {
        if let Event::Input { metadata, .. } = event {
            println!("got seq={}", seq_of(&metadata.parameters));
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn async_receive() -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    dora_node_api::futures::executor::block_on(async {
        while let Some(event) = events.recv_async().await {
            match event {
                Event::Input { metadata, .. } => {
                    println!("async got seq={}", seq_of(&metadata.parameters))
                }
                Event::Error(error) => println!("async error: {error}"),
                _ => {}
            }
        }
    });
    println!("async stream ended");
    Ok(ExitCode::SUCCESS)
}

fn bad_output() -> Result<ExitCode> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    match node.send_output_bytes("nope".into(), Default::default(), 1, &[1]) {
        Ok(()) => Err("sending on an undeclared output succeeded".into()),
        Err(err) => {
            println!("error: {err}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The arrays `send-arrow` sends, in order.
fn arrow_samples() -> Vec<ArrayRef> {
    let strings = StringArray::from(vec![Some("a"), None, Some("robot"), Some("")]);
    let ints = Int32Array::from(vec![Some(1), None, Some(-3), Some(i32::MAX)]);
    let structs = StructArray::from(vec![
        (
            Arc::new(Field::new("x", DataType::Int32, true)),
            Arc::new(ints.clone()) as ArrayRef,
        ),
        (
            Arc::new(Field::new("name", DataType::Utf8, true)),
            Arc::new(strings.clone()) as ArrayRef,
        ),
        (
            Arc::new(Field::new("ok", DataType::Boolean, false)),
            Arc::new(BooleanArray::from(vec![true, false, true, true])) as ArrayRef,
        ),
    ]);
    let lists = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(0), Some(1)]),
        None,
        Some(vec![]),
        Some(vec![Some(7), None]),
    ]);
    let large: Float64Array = (0..100_000).map(|i| i as f64 * 0.5).collect();
    vec![
        Arc::new(ints),
        Arc::new(strings.slice(1, 3)),
        Arc::new(structs),
        Arc::new(lists),
        Arc::new(large.slice(10, 50_000)),
        Arc::new(Int32Array::from(Vec::<i32>::new())),
    ]
}

fn send_arrow() -> Result<ExitCode> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    for array in arrow_samples() {
        node.send_output("data".into(), Default::default(), array)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn receive_arrow() -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    let expected = arrow_samples();
    let mut index = 0;
    while let Some(event) = events.recv() {
        if let Event::Input { data, .. } = event {
            let Some(want) = expected.get(index) else {
                return Err("more arrays than sent".into());
            };
            if data.to_data() != want.to_data() {
                eprintln!("array {index} differs:\n got {:?}\nwant {want:?}", data.0);
                return Ok(ExitCode::FAILURE);
            }
            println!("array {index} equal ({})", want.data_type());
            index += 1;
        }
    }
    println!("arrays received {index}");
    Ok(ExitCode::SUCCESS)
}

fn send_hang(size: usize) -> Result<ExitCode> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    let mut params = MetadataParameters::new();
    params.insert("seq".into(), Parameter::Integer(0));
    node.send_output_raw("data".into(), params, size, |buf| {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte = pattern(0, i);
        }
    })?;
    println!("sent pid={}", std::process::id());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn ros_talk(count: usize, interval_ms: u64) -> Result<ExitCode> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    for i in 0..count {
        let data: ArrayRef = Arc::new(StringArray::from(vec![format!("dora {i}")]));
        let row = StructArray::from(vec![(
            Arc::new(Field::new("data", DataType::Utf8, false)),
            data,
        )]);
        node.send_output("out".into(), Default::default(), row)?;
        std::thread::sleep(Duration::from_millis(interval_ms));
    }
    println!("talked {count}");
    Ok(ExitCode::SUCCESS)
}

fn restart_peer(size: usize) -> Result<ExitCode> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let pid = std::process::id();
    println!("started pid={pid}");
    let mut seq = 0;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, .. } if id.as_str() == "tick" => {
                let mut params = MetadataParameters::new();
                params.insert("seq".into(), Parameter::Integer(seq));
                node.send_output_raw("out".into(), params, size, |buf| {
                    for (i, byte) in buf.iter_mut().enumerate() {
                        *byte = pattern(seq, i);
                    }
                })?;
                seq += 1;
            }
            Event::Input { data, metadata, .. } => {
                let seq = seq_of(&metadata.parameters);
                let restarted = match metadata.parameters.get("restarted") {
                    Some(Parameter::Integer(count)) => *count,
                    _ => 0,
                };
                let bytes = data.as_bytes().ok_or("expected bytes")?;
                if let Some(i) = (0..bytes.len()).find(|&i| bytes[i] != pattern(seq, i)) {
                    eprintln!("corrupted message seq={seq} at byte {i}");
                    return Ok(ExitCode::FAILURE);
                }
                println!(
                    "got seq={seq} restarted={restarted} size={} pid={pid}",
                    bytes.len()
                );
            }
            Event::InputClosed { id } => println!("closed {id}"),
            Event::Stop => return Ok(ExitCode::SUCCESS),
            Event::Error(err) => eprintln!("error event: {err}"),
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_strings() -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { data, .. } => {
                let strings = data
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or("expected a string array")?;
                for text in strings.iter().flatten() {
                    println!("text: {text}");
                }
            }
            Event::InputClosed { id } => println!("closed {id}"),
            Event::Error(err) => eprintln!("error event: {err}"),
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn ros_print(count: usize) -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    let mut seen = 0;
    while let Some(event) = events.recv() {
        if let Event::Input { data, .. } = event {
            let rows = data
                .as_any()
                .downcast_ref::<StructArray>()
                .ok_or("expected a struct array")?;
            let strings = rows
                .column_by_name("data")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
                .ok_or("expected a `data` string field")?;
            for text in strings.iter().flatten() {
                println!("got: {text}");
                seen += 1;
            }
            if seen >= count {
                break;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn ping(sizes: &str, count: usize) -> Result<ExitCode> {
    let sizes = sizes
        .split(',')
        .map(str::parse)
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|err| format!("ping: bad SIZES `{sizes}`: {err}"))?;
    let (mut node, _events) = DoraNode::init_from_env()?;
    for size in sizes.iter().cycle().take(count) {
        node.send_output_raw("data".into(), Default::default(), *size, |buf| {
            if let Some(first) = buf.first_mut() {
                *first = 1;
            }
        })?;
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(ExitCode::SUCCESS)
}

/// Shared memory regions of dora mapped by this process (one line per mapping in
/// `/proc/self/maps`; regions are memory files named `dora-…`, and the release rings of
/// connections that carry regions `dora-…-release-ring-…`, which are not counted).
fn mapped_regions() -> Result<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    Ok(maps
        .lines()
        .filter(|l| l.contains("/memfd:dora-") && !l.contains("-release-ring-"))
        .count())
}

fn region_burst(count: usize, size: usize, idle: bool) -> Result<ExitCode> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    for _ in 0..count {
        node.send_output_raw("data".into(), Default::default(), size, |buf| buf[0] = 1)?;
    }
    println!("sent {count}, mapping {} regions", mapped_regions()?);
    if idle {
        // Only the node's own I/O thread can give the regions back to the pool and retire
        // the surplus: this thread neither sends nor reads.
        println!("sender regions: {}", mapped_regions_settled()?);
        return Ok(ExitCode::SUCCESS);
    }
    while let Some(event) = events.recv() {
        if let Event::Input { id, .. } = event {
            if id.as_str() == "done" {
                println!("sender regions: {}", mapped_regions()?);
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    Err("the stream ended before `done`".into())
}

fn region_drain(count: usize) -> Result<ExitCode> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let mut received = 0;
    while received < count {
        match events.recv() {
            Some(Event::Input { .. }) => {
                if received == 0 {
                    std::thread::sleep(Duration::from_millis(300));
                }
                received += 1;
            }
            Some(_) => {}
            None => return Err(format!("the stream ended after {received} messages").into()),
        }
    }
    node.send_output_raw("done".into(), Default::default(), 0, |_| {})?;
    println!("receiver regions: {}", mapped_regions_settled()?);
    Ok(ExitCode::SUCCESS)
}

/// [`mapped_regions`] once it is at most 8 (the pool's free regions), or after 5 s.
fn mapped_regions_settled() -> Result<usize> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut mapped = mapped_regions()?;
    while mapped > 8 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        mapped = mapped_regions()?;
    }
    Ok(mapped)
}

fn burst_ping(burst: usize) -> Result<ExitCode> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    for round in 0..3 {
        for _ in 0..burst {
            node.send_output_raw("burst".into(), Default::default(), 8, |_| {})?;
        }
        std::thread::sleep(Duration::from_secs(2));
        for i in 0..50 {
            let mut params = MetadataParameters::new();
            params.insert("seq".into(), Parameter::Integer(round * 1000 + i));
            node.send_output_raw("data".into(), params, 8, |_| {})?;
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn pong() -> Result<ExitCode> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    let mut latencies: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    while let Some(event) = events.recv() {
        if let Event::Input { id, metadata, data } = event {
            if id.as_str() != "data" {
                continue;
            }
            let sent = metadata.timestamp().get_time().to_system_time();
            let latency = std::time::SystemTime::now()
                .duration_since(sent)
                .unwrap_or_default();
            if latency.as_millis() >= 1 {
                println!(
                    "slow seq={} latency={latency:?}",
                    seq_of(&metadata.parameters)
                );
            }
            let size = data.to_data().buffers().first().map_or(0, |b| b.len());
            latencies
                .entry(size)
                .or_default()
                .push(latency.as_secs_f64() * 1e6);
        }
    }
    let sizes = latencies.len();
    for (size, mut latencies) in latencies {
        latencies.sort_by(|a, b| a.total_cmp(b));
        if let Some(median) = latencies.get(latencies.len() / 2) {
            if sizes == 1 {
                println!("median latency {median:.1} us over {}", latencies.len());
            } else {
                println!(
                    "median latency at {size} B {median:.1} us over {}",
                    latencies.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
