//! Dataflow nodes for `tests/e2e/ros2_interop.rs` and `examples/ros2-bridge/benchmark.sh`; the
//! first argument picks the behaviour. Rows follow the Arrow mapping of ROS 2 messages.
//!
//! - `demo-talk N INTERVAL_MS`: sends N `dora_demo_msgs/RobotState` rows on `out` (the
//!   `battery` field is left out, so the bridge fills in the .msg default).
//! - `demo-print N`: prints each received RobotState field by field (`demo name=…`).
//! - `image-talk N RATE_HZ`: sends N 640×480 rgb8 `sensor_msgs/Image` rows on `out`, each
//!   with a per-frame byte pattern, `frame_id = "frame K"` and the send time as stamp.
//! - `image-check N`: checks each received image (`frame K ok` / `frame K BAD …`), prints the
//!   latency median/p90; exits after N images.
//! - `string-talk N INTERVAL_MS HOLD_MS`: sends `{data: "dora K"}` rows, then stays HOLD_MS.
//! - `stamp-talk N INTERVAL_MS`: sends `{data: "<send time in ns>"}` rows.
//! - `bad-then-good N`: sends a row whose `data` is Int32 (wrong type), then N good rows.
//!
//! The demo values of message K are the ones `interop_peer demo-pub` publishes, so both
//! directions print the same lines.

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use dora_node_api::{
    arrow::{
        array::{
            cast::AsArray,
            types::{Float32Type, Float64Type, Int16Type, Int32Type, UInt32Type, UInt8Type},
            Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array,
            Int16Array, Int32Array, ListArray, StringArray, StructArray, UInt32Array, UInt8Array,
        },
        buffer::OffsetBuffer,
        schema::{DataType, Field, Fields},
    },
    DoraNode, Event,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
const IMAGE_BYTES: usize = (WIDTH * HEIGHT * 3) as usize;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| -> u64 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    let result = match args.first().map(String::as_str).unwrap_or("") {
        "demo-talk" => demo_talk(arg(1, 10), arg(2, 100)),
        "demo-print" => demo_print(arg(1, 10)),
        "image-talk" => image_talk(arg(1, 50), arg(2, 10)),
        "image-check" => image_check(arg(1, 50)),
        "string-talk" => string_talk(arg(1, 10), arg(2, 50), arg(3, 0)),
        "stamp-talk" => stamp_talk(arg(1, 100), arg(2, 10)),
        "bad-then-good" => bad_then_good(arg(1, 10)),
        other => Err(format!("unknown mode `{other}`").into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ros2-test-node: {err}");
            ExitCode::FAILURE
        }
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

fn pattern(frame: u64, index: usize) -> u8 {
    ((frame as usize * 31 + index) % 251) as u8
}

fn field(name: &str, array: &ArrayRef) -> (Arc<Field>, ArrayRef) {
    (
        Arc::new(Field::new(name, array.data_type().clone(), true)),
        array.clone(),
    )
}

fn record(fields: Vec<(&str, ArrayRef)>) -> ArrayRef {
    Arc::new(StructArray::from(
        fields
            .iter()
            .map(|(name, array)| field(name, array))
            .collect::<Vec<_>>(),
    ))
}

fn one_list(values: ArrayRef) -> ArrayRef {
    let item = Arc::new(Field::new("item", values.data_type().clone(), true));
    Arc::new(ListArray::new(
        item,
        OffsetBuffer::from_lengths([values.len()]),
        values,
        None,
    ))
}

fn header(sec: i32, nanosec: u32, frame_id: &str) -> ArrayRef {
    record(vec![
        (
            "stamp",
            record(vec![
                ("sec", Arc::new(Int32Array::from(vec![sec]))),
                ("nanosec", Arc::new(UInt32Array::from(vec![nanosec]))),
            ]),
        ),
        ("frame_id", Arc::new(StringArray::from(vec![frame_id]))),
    ])
}

fn f64s(values: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

/// RobotState K as one row (without `battery`).
fn demo_row(k: u64) -> ArrayRef {
    let kf = k as f64;
    let wheel_fields = Fields::from(vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("speed", DataType::Float32, true),
        Field::new("temperature", DataType::Int16, true),
    ]);
    let wheels = StructArray::new(
        wheel_fields.clone(),
        vec![
            Arc::new(StringArray::from(vec!["w0", "w1", "w2", "w3"])) as ArrayRef,
            Arc::new(Float32Array::from(
                (0..4)
                    .map(|j| 0.5 * j as f32 + k as f32)
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Int16Array::from(vec![20, 21, 22, 23])),
        ],
        None,
    );
    let wheels: ArrayRef = Arc::new(FixedSizeListArray::new(
        Arc::new(Field::new("item", DataType::Struct(wheel_fields), true)),
        4,
        Arc::new(wheels),
        None,
    ));
    let gains: ArrayRef = Arc::new(FixedSizeListArray::new(
        Arc::new(Field::new("item", DataType::Float64, true)),
        3,
        f64s(&[kf, 2.5, -3.0]),
        None,
    ));
    let payload: Vec<u8> = (0..(k % 5 + 1)).map(|j| ((j * k) % 256) as u8).collect();
    record(vec![
        ("header", header(100 + k as i32, 7, "base")),
        (
            "name",
            Arc::new(StringArray::from(vec![format!("robot-{k}")])),
        ),
        ("mode", Arc::new(UInt8Array::from(vec![(k % 3) as u8]))),
        (
            "pose",
            record(vec![
                (
                    "position",
                    record(vec![
                        ("x", f64s(&[1.5 * kf])),
                        ("y", f64s(&[-2.25])),
                        ("z", f64s(&[0.125])),
                    ]),
                ),
                (
                    "orientation",
                    record(vec![
                        ("x", f64s(&[0.0])),
                        ("y", f64s(&[0.0])),
                        ("z", f64s(&[0.0])),
                        ("w", f64s(&[1.0])),
                    ]),
                ),
            ]),
        ),
        ("gains", gains),
        (
            "recent_codes",
            one_list(Arc::new(Int32Array::from(vec![k as i32, -100]))),
        ),
        (
            "tags",
            one_list(Arc::new(StringArray::from(vec![
                "a".to_owned(),
                format!("tag-{k}"),
            ]))),
        ),
        ("wheels", wheels),
        ("payload", one_list(Arc::new(UInt8Array::from(payload)))),
        ("enabled", Arc::new(BooleanArray::from(vec![k & 1 == 0]))),
    ])
}

fn demo_talk(count: u64, interval_ms: u64) -> Result<()> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    for k in 0..count {
        node.send_output("out".into(), Default::default(), demo_row(k))?;
        std::thread::sleep(Duration::from_millis(interval_ms));
    }
    println!("talked {count}");
    Ok(())
}

fn join<T: std::fmt::Display>(values: impl IntoIterator<Item = T>) -> String {
    values
        .into_iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn column<'a>(rows: &'a StructArray, path: &str) -> Result<&'a ArrayRef> {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let mut current = rows
        .column_by_name(first)
        .ok_or_else(|| format!("no field `{path}`"))?;
    for part in parts {
        current = current
            .as_struct_opt()
            .and_then(|s| s.column_by_name(part))
            .ok_or_else(|| format!("no field `{path}`"))?;
    }
    Ok(current)
}

fn f64_at(rows: &StructArray, path: &str, row: usize) -> Result<String> {
    Ok(format!(
        "{:.3}",
        column(rows, path)?.as_primitive::<Float64Type>().value(row)
    ))
}

fn print_demo(rows: &StructArray, row: usize) -> Result<()> {
    let string = |path: &str| -> Result<String> {
        Ok(column(rows, path)?.as_string::<i32>().value(row).to_owned())
    };
    let gains = column(rows, "gains")?.as_fixed_size_list().value(row);
    let codes = column(rows, "recent_codes")?.as_list::<i32>().value(row);
    let tags = column(rows, "tags")?.as_list::<i32>().value(row);
    let payload = column(rows, "payload")?.as_list::<i32>().value(row);
    let wheels = column(rows, "wheels")?.as_fixed_size_list().value(row);
    let wheels = wheels.as_struct();
    let wheel_names = wheels.column(0).as_string::<i32>();
    let wheel_speeds = wheels.column(1).as_primitive::<Float32Type>();
    let wheel_temps = wheels.column(2).as_primitive::<Int16Type>();
    println!(
        "demo name={} mode={} stamp={}.{} frame={} pos={},{},{} ori={},{},{},{} gains={} codes={} \
         tags={} wheels={} payload={} enabled={} battery={:.3}",
        string("name")?,
        column(rows, "mode")?.as_primitive::<UInt8Type>().value(row),
        column(rows, "header.stamp.sec")?
            .as_primitive::<Int32Type>()
            .value(row),
        column(rows, "header.stamp.nanosec")?
            .as_primitive::<UInt32Type>()
            .value(row),
        string("header.frame_id")?,
        f64_at(rows, "pose.position.x", row)?,
        f64_at(rows, "pose.position.y", row)?,
        f64_at(rows, "pose.position.z", row)?,
        f64_at(rows, "pose.orientation.x", row)?,
        f64_at(rows, "pose.orientation.y", row)?,
        f64_at(rows, "pose.orientation.z", row)?,
        f64_at(rows, "pose.orientation.w", row)?,
        join(
            gains
                .as_primitive::<Float64Type>()
                .values()
                .iter()
                .map(|v| format!("{v:.3}"))
        ),
        join(codes.as_primitive::<Int32Type>().values().iter()),
        join(tags.as_string::<i32>().iter().flatten()),
        join((0..wheels.len()).map(|j| format!(
            "{}/{:.3}/{}",
            wheel_names.value(j),
            wheel_speeds.value(j),
            wheel_temps.value(j)
        ))),
        join(payload.as_primitive::<UInt8Type>().values().iter()),
        column(rows, "enabled")?.as_boolean().value(row),
        column(rows, "battery")?
            .as_primitive::<Float32Type>()
            .value(row),
    );
    Ok(())
}

fn demo_print(count: u64) -> Result<()> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    let mut seen = 0;
    while let Some(event) = events.recv() {
        if let Event::Input { data, .. } = event {
            let rows = data.as_struct_opt().ok_or("expected a struct array")?;
            for row in 0..rows.len() {
                print_demo(rows, row)?;
                seen += 1;
            }
            if seen >= count {
                break;
            }
        }
    }
    Ok(())
}

fn image_row(k: u64) -> ArrayRef {
    let t = now_ns();
    let data: Vec<u8> = (0..IMAGE_BYTES).map(|j| pattern(k, j)).collect();
    record(vec![
        (
            "header",
            header(
                (t / 1_000_000_000) as i32,
                (t % 1_000_000_000) as u32,
                &format!("frame {k}"),
            ),
        ),
        ("height", Arc::new(UInt32Array::from(vec![HEIGHT]))),
        ("width", Arc::new(UInt32Array::from(vec![WIDTH]))),
        ("encoding", Arc::new(StringArray::from(vec!["rgb8"]))),
        ("is_bigendian", Arc::new(UInt8Array::from(vec![0u8]))),
        ("step", Arc::new(UInt32Array::from(vec![WIDTH * 3]))),
        ("data", one_list(Arc::new(UInt8Array::from(data)))),
    ])
}

fn image_talk(count: u64, rate_hz: u64) -> Result<()> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    let period = Duration::from_nanos(1_000_000_000 / rate_hz.max(1));
    let mut next = Instant::now();
    for k in 0..count {
        node.send_output("out".into(), Default::default(), image_row(k))?;
        next += period;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    println!("talked {count}");
    // Let the bridge finish sending the last frames before the input closes.
    std::thread::sleep(Duration::from_millis(1000));
    Ok(())
}

fn percentile(sorted: &[i64], p: usize) -> f64 {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .map(|v| *v as f64 / 1000.0)
        .unwrap_or(f64::NAN)
}

fn image_check(count: u64) -> Result<()> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    let mut seen = 0;
    let mut latencies = Vec::new();
    while let Some(event) = events.recv() {
        let Event::Input { data, .. } = event else {
            continue;
        };
        let arrival = now_ns();
        let rows = data.as_struct_opt().ok_or("expected a struct array")?;
        for row in 0..rows.len() {
            let frame_id = column(rows, "header.frame_id")?
                .as_string::<i32>()
                .value(row);
            let k: u64 = frame_id.trim_start_matches("frame ").parse()?;
            let sec = column(rows, "header.stamp.sec")?
                .as_primitive::<Int32Type>()
                .value(row);
            let ns = column(rows, "header.stamp.nanosec")?
                .as_primitive::<UInt32Type>()
                .value(row);
            latencies.push(arrival - (sec as i64 * 1_000_000_000 + ns as i64));
            let bytes = column(rows, "data")?.as_list::<i32>().value(row);
            let bytes = bytes.as_primitive::<UInt8Type>().values();
            let size_ok = bytes.len() == IMAGE_BYTES
                && column(rows, "width")?
                    .as_primitive::<UInt32Type>()
                    .value(row)
                    == WIDTH
                && column(rows, "height")?
                    .as_primitive::<UInt32Type>()
                    .value(row)
                    == HEIGHT
                && column(rows, "encoding")?.as_string::<i32>().value(row) == "rgb8";
            match bytes
                .iter()
                .enumerate()
                .find(|(j, b)| **b != pattern(k, *j))
            {
                None if size_ok => println!("frame {k} ok"),
                None => println!("frame {k} BAD shape (length {})", bytes.len()),
                Some((j, _)) => println!("frame {k} BAD at byte {j}"),
            }
            seen += 1;
        }
        if seen >= count {
            break;
        }
    }
    latencies.sort_unstable();
    let skip = latencies.len() / 10;
    let steady = &latencies[skip..];
    println!(
        "image latency: n={} median={:.1}us p90={:.1}us",
        steady.len(),
        percentile(steady, 50),
        percentile(steady, 90)
    );
    Ok(())
}

fn string_row(text: String) -> ArrayRef {
    record(vec![("data", Arc::new(StringArray::from(vec![text])))])
}

fn string_talk(count: u64, interval_ms: u64, hold_ms: u64) -> Result<()> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    for k in 0..count {
        node.send_output(
            "out".into(),
            Default::default(),
            string_row(format!("dora {k}")),
        )?;
        std::thread::sleep(Duration::from_millis(interval_ms));
    }
    println!("talked {count}");
    std::thread::sleep(Duration::from_millis(hold_ms));
    Ok(())
}

fn stamp_talk(count: u64, interval_ms: u64) -> Result<()> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    for _ in 0..count {
        node.send_output(
            "out".into(),
            Default::default(),
            string_row(now_ns().to_string()),
        )?;
        std::thread::sleep(Duration::from_millis(interval_ms));
    }
    println!("talked {count}");
    std::thread::sleep(Duration::from_millis(500));
    Ok(())
}

fn bad_then_good(count: u64) -> Result<()> {
    let (mut node, _events) = DoraNode::init_from_env()?;
    // Give the bridge's writer time to match the peer, so that the good rows are not lost.
    std::thread::sleep(Duration::from_millis(1500));
    let bad = record(vec![(
        "data",
        Arc::new(Int32Array::from(vec![5])) as ArrayRef,
    )]);
    node.send_output("out".into(), Default::default(), bad)?;
    println!("sent the bad row");
    for k in 0..count {
        std::thread::sleep(Duration::from_millis(100));
        node.send_output(
            "out".into(),
            Default::default(),
            string_row(format!("good {k}")),
        )?;
    }
    println!("talked {count}");
    std::thread::sleep(Duration::from_millis(500));
    Ok(())
}
