//! Dataflow nodes for `tests/e2e/ros2_services.rs` (example_interfaces/AddTwoInts through the
//! ROS 2 bridge); the first argument picks the behaviour.
//!
//! - `add-server N`: answers each `{a: Int64, b: Int64}` row on any input with a `{sum}` row
//!   on `sum`, carrying the input's `request_id` parameter; exits after N answers.
//! - `add-client N`: sends N requests `{a: K, b: 1000 * K}` on `request` (K = 1..=N), with the
//!   `request_id` parameter `"req-K"`, one at a time, each after the previous reply; prints
//!   `reply req-K sum=S` for each reply on any input, and exits after N replies.

use std::{process::ExitCode, sync::Arc};

use dora_node_api::{
    arrow::{
        array::{Array, ArrayRef, Int64Array, StructArray},
        schema::{DataType, Field},
    },
    DoraNode, Event, MetadataParameters, Parameter,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let result = match arg(0) {
        "add-server" => add_server(arg(1).parse().unwrap_or(1)),
        "add-client" => add_client(arg(1).parse().unwrap_or(1)),
        other => Err(format!("unknown mode `{other}`").into()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("ros2-service-node: {err}");
            ExitCode::FAILURE
        }
    }
}

fn int64_column<'a>(rows: &'a StructArray, name: &str) -> Result<&'a Int64Array> {
    rows.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| format!("expected an Int64 field `{name}`").into())
}

fn row(fields: &[(&str, i64)]) -> StructArray {
    StructArray::from(
        fields
            .iter()
            .map(|(name, value)| {
                (
                    Arc::new(Field::new(*name, DataType::Int64, false)),
                    Arc::new(Int64Array::from(vec![*value])) as ArrayRef,
                )
            })
            .collect::<Vec<_>>(),
    )
}

fn add_server(count: usize) -> Result<ExitCode> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let mut answered = 0;
    while let Some(event) = events.recv() {
        let Event::Input { data, metadata, .. } = event else {
            continue;
        };
        let rows = data
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or("expected a struct array")?;
        let (a, b) = (int64_column(rows, "a")?, int64_column(rows, "b")?);
        let mut parameters = MetadataParameters::new();
        if let Some(id) = metadata.parameters.get("request_id") {
            parameters.insert("request_id".into(), id.clone());
        }
        for i in 0..rows.len() {
            println!(
                "request a={} b={} id={:?}",
                a.value(i),
                b.value(i),
                metadata.parameters.get("request_id")
            );
            node.send_output(
                "sum".into(),
                parameters.clone(),
                row(&[("sum", a.value(i) + b.value(i))]),
            )?;
            answered += 1;
        }
        if answered >= count {
            break;
        }
    }
    println!("answered {answered}");
    Ok(ExitCode::SUCCESS)
}

fn add_client(count: i64) -> Result<ExitCode> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let send = |node: &mut DoraNode, k: i64| -> Result<()> {
        let mut parameters = MetadataParameters::new();
        parameters.insert("request_id".into(), Parameter::String(format!("req-{k}")));
        node.send_output(
            "request".into(),
            parameters,
            row(&[("a", k), ("b", 1000 * k)]),
        )?;
        Ok(())
    };
    let mut replies = 0;
    send(&mut node, 1)?;
    while let Some(event) = events.recv() {
        let Event::Input { data, metadata, .. } = event else {
            continue;
        };
        let rows = data
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or("expected a struct array")?;
        let sum = int64_column(rows, "sum")?;
        let id = match metadata.parameters.get("request_id") {
            Some(Parameter::String(id)) => id.clone(),
            other => format!("{other:?}"),
        };
        for i in 0..rows.len() {
            println!("reply {id} sum={}", sum.value(i));
            replies += 1;
        }
        if replies >= count {
            break;
        }
        send(&mut node, replies + 1)?;
    }
    println!("replies {replies}");
    Ok(ExitCode::SUCCESS)
}
