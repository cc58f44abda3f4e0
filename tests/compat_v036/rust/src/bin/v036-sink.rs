//! The sink of the compatibility dataflow: reads every input with the `TryFrom<&ArrowData>`
//! conversions of dora-rs v0.3.6 and prints what it got, one line per message.

use dora_node_api::{
    self,
    arrow::{
        array::{Array, ArrayRef, AsArray},
        datatypes::{
            DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
            UInt16Type, UInt32Type, UInt64Type, UInt8Type,
        },
    },
    dora_core::uhlc,
    ArrowData, DoraNode, Event, Parameter,
};
use eyre::{bail, Context};

fn main() -> eyre::Result<()> {
    let (_node, mut events) = DoraNode::init_from_env()?;

    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, metadata, data } => {
                let timestamp: uhlc::Timestamp = metadata.timestamp();
                if timestamp.get_time().as_u64() == 0 {
                    println!("a message without timestamp");
                }
                let type_name = match metadata.parameters.get("type") {
                    Some(Parameter::String(name)) => name.clone(),
                    _ => String::new(),
                };
                match id.as_str() {
                    "message" => {
                        let received_string: &str =
                            TryFrom::try_from(&data).context("expected string message")?;
                        println!("sink received message: {received_string}");
                        if !received_string.starts_with("operator received random value ") {
                            bail!("unexpected message format: {received_string}")
                        }
                    }
                    "scalars" => println!("scalar {type_name} {}", scalar(&data)?),
                    "vectors" => println!("vector {type_name} {}", vector(&data)?),
                    "typed" => println!(
                        "typed {:?}",
                        data.as_primitive::<Int32Type>().values().to_vec()
                    ),
                    "sample" => {
                        let values = data.as_primitive::<Int32Type>().values();
                        let ok = values.iter().enumerate().all(|(i, v)| *v == i as i32);
                        println!("sample {} values {}", values.len(), verdict(ok));
                    }
                    "raw" => {
                        let bytes: &[u8] = TryFrom::try_from(&data)?;
                        let ok = bytes.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8);
                        println!("raw {} bytes {}", bytes.len(), verdict(ok));
                    }
                    "bytes" => {
                        let bytes = Vec::<u8>::try_from(&data)?;
                        println!("bytes {}", String::from_utf8_lossy(&bytes));
                    }
                    "forwarded" => {
                        let bytes: &[u8] = TryFrom::try_from(&data)?;
                        println!("forwarded {}", String::from_utf8_lossy(bytes));
                    }
                    "doubled" => {
                        let array: ArrayRef = data.into();
                        let bytes = array.as_primitive::<UInt8Type>().values().to_vec();
                        println!("doubled {bytes:?}");
                    }
                    other => eprintln!("Ignoring unexpected input `{other}`"),
                }
            }
            Event::Stop => println!("Received manual stop"),
            Event::InputClosed { id } => println!("Input `{id}` was closed"),
            other => eprintln!("Received unexpected event: {other:?}"),
        }
    }
    println!("sink finished");
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "DAMAGED"
    }
}

/// A one-element array read back as the Rust type it was made from.
fn scalar(data: &ArrowData) -> eyre::Result<String> {
    Ok(match data.data_type() {
        DataType::Boolean => bool::try_from(data)?.to_string(),
        DataType::UInt8 => u8::try_from(data)?.to_string(),
        DataType::UInt16 => u16::try_from(data)?.to_string(),
        DataType::UInt32 => u32::try_from(data)?.to_string(),
        DataType::UInt64 => u64::try_from(data)?.to_string(),
        DataType::Int8 => i8::try_from(data)?.to_string(),
        DataType::Int16 => i16::try_from(data)?.to_string(),
        DataType::Int32 => i32::try_from(data)?.to_string(),
        DataType::Int64 => i64::try_from(data)?.to_string(),
        DataType::Float32 => f32::try_from(data)?.to_string(),
        DataType::Float64 => f64::try_from(data)?.to_string(),
        DataType::Utf8 => <&str>::try_from(data)?.to_owned(),
        DataType::Null => format!("null x{}", data.len()),
        other => bail!("unexpected scalar type {other}"),
    })
}

/// An array of numbers, printed as a list.
fn vector(data: &ArrowData) -> eyre::Result<String> {
    Ok(match data.data_type() {
        DataType::UInt8 => format!("{:?}", Vec::<u8>::try_from(data)?),
        DataType::UInt16 => format!("{:?}", data.as_primitive::<UInt16Type>().values().to_vec()),
        DataType::UInt32 => format!("{:?}", data.as_primitive::<UInt32Type>().values().to_vec()),
        DataType::UInt64 => format!("{:?}", data.as_primitive::<UInt64Type>().values().to_vec()),
        DataType::Int8 => format!("{:?}", data.as_primitive::<Int8Type>().values().to_vec()),
        DataType::Int16 => format!("{:?}", data.as_primitive::<Int16Type>().values().to_vec()),
        DataType::Int32 => format!("{:?}", data.as_primitive::<Int32Type>().values().to_vec()),
        DataType::Int64 => format!("{:?}", data.as_primitive::<Int64Type>().values().to_vec()),
        DataType::Float32 => format!("{:?}", data.as_primitive::<Float32Type>().values().to_vec()),
        DataType::Float64 => format!("{:?}", data.as_primitive::<Float64Type>().values().to_vec()),
        other => bail!("unexpected vector type {other}"),
    })
}
