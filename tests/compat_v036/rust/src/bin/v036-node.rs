//! The source of the compatibility dataflow: sends a counter on `random` for five ticks, and
//! on the first tick one message of every type `IntoArrow` covers plus one through each of
//! the output methods.

use dora_node_api::{
    self,
    arrow::array::{Array, Int32Array},
    arrow_utils::{copy_array_into_sample, required_data_size},
    dora_core::config::{DataId, NodeId, OperatorId},
    DoraNode, Event, IntoArrow, MetadataParameters, Parameter, ZERO_COPY_THRESHOLD,
};

fn main() -> eyre::Result<()> {
    let output = DataId::from("random".to_owned());
    let (mut node, mut events) = DoraNode::init_flexible(NodeId::from("rust-node".to_string()))?;
    // Printed through the subscriber of the `tracing` feature.
    tracing::warn!("tracing works in node {}", node.id());
    println!(
        "dataflow id is {} bytes long",
        node.dataflow_id().to_string().len()
    );
    println!("{} outputs declared", node.node_config().outputs.len());

    let mut ticks = 0u64;
    while let Some(event) = events.recv() {
        match event {
            Event::Input {
                id,
                metadata,
                data: _,
            } => match id.as_str() {
                "tick" => {
                    ticks += 1;
                    if ticks == 1 {
                        send_every_type(&mut node)?;
                    }
                    let value: u64 = 0xd07a_0000 + ticks;
                    node.send_output(output.clone(), metadata.parameters, value.into_arrow())?;
                    if ticks == 5 {
                        node.close_outputs(vec![output.clone()])?;
                        println!("sent five values");
                        break;
                    }
                }
                other => eprintln!("Ignoring unexpected input `{other}`"),
            },
            Event::Stop => println!("Received manual stop"),
            Event::Reload { operator_id } => {
                let operator_id: Option<OperatorId> = operator_id;
                println!("reload of {operator_id:?}");
            }
            Event::InputClosed { id } => println!("input {id} closed"),
            Event::Error(error) => eprintln!("error: {error}"),
            other => eprintln!("Received unexpected event: {other:?}"),
        }
    }
    Ok(())
}

/// Parameters naming the Rust type a message was made from.
fn typed(name: &str) -> MetadataParameters {
    let mut parameters = MetadataParameters::default();
    parameters.insert("type".to_owned(), Parameter::String(name.to_owned()));
    parameters
}

fn send_every_type(node: &mut DoraNode) -> eyre::Result<()> {
    let scalars = DataId::from("scalars".to_owned());
    node.send_output(scalars.clone(), typed("bool"), true.into_arrow())?;
    node.send_output(scalars.clone(), typed("u8"), 8u8.into_arrow())?;
    node.send_output(scalars.clone(), typed("u16"), 16u16.into_arrow())?;
    node.send_output(scalars.clone(), typed("u32"), 32u32.into_arrow())?;
    node.send_output(scalars.clone(), typed("u64"), 64u64.into_arrow())?;
    node.send_output(scalars.clone(), typed("i8"), (-8i8).into_arrow())?;
    node.send_output(scalars.clone(), typed("i16"), (-16i16).into_arrow())?;
    node.send_output(scalars.clone(), typed("i32"), (-32i32).into_arrow())?;
    node.send_output(scalars.clone(), typed("i64"), (-64i64).into_arrow())?;
    node.send_output(scalars.clone(), typed("f32"), 0.5f32.into_arrow())?;
    node.send_output(scalars.clone(), typed("f64"), 0.25f64.into_arrow())?;
    node.send_output(scalars.clone(), typed("str"), "text".into_arrow())?;
    node.send_output(
        scalars.clone(),
        typed("String"),
        String::from("owned").into_arrow(),
    )?;
    node.send_output(scalars, typed("()"), ().into_arrow())?;

    let vectors = DataId::from("vectors".to_owned());
    node.send_output(vectors.clone(), typed("u8"), vec![1u8, 2, 3].into_arrow())?;
    node.send_output(vectors.clone(), typed("u16"), vec![1u16, 2, 3].into_arrow())?;
    node.send_output(vectors.clone(), typed("u32"), vec![1u32, 2, 3].into_arrow())?;
    node.send_output(vectors.clone(), typed("u64"), vec![1u64, 2, 3].into_arrow())?;
    node.send_output(vectors.clone(), typed("i8"), vec![-1i8, 2, 3].into_arrow())?;
    node.send_output(
        vectors.clone(),
        typed("i16"),
        vec![-1i16, 2, 3].into_arrow(),
    )?;
    node.send_output(
        vectors.clone(),
        typed("i32"),
        vec![-1i32, 2, 3].into_arrow(),
    )?;
    node.send_output(
        vectors.clone(),
        typed("i64"),
        vec![-1i64, 2, 3].into_arrow(),
    )?;
    node.send_output(
        vectors.clone(),
        typed("f32"),
        vec![0.5f32, 1.5].into_arrow(),
    )?;
    node.send_output(vectors, typed("f64"), vec![0.5f64, 1.5].into_arrow())?;

    // An Arrow array laid out by hand, then sent with `send_typed_output`.
    let small = Int32Array::from(vec![1, 2, 3]).to_data();
    let len = required_data_size(&small);
    let mut scratch = vec![0; len];
    let type_info = copy_array_into_sample(&mut scratch, &small);
    node.send_typed_output(
        DataId::from("typed".to_owned()),
        type_info,
        MetadataParameters::default(),
        len,
        |out| out.copy_from_slice(&scratch),
    )?;

    // A sample large enough for shared memory, filled in place.
    let large = Int32Array::from_iter_values(0..ZERO_COPY_THRESHOLD as i32).to_data();
    let mut sample = node.allocate_data_sample(required_data_size(&large))?;
    let type_info = copy_array_into_sample(&mut sample, &large);
    node.send_output_sample(
        DataId::from("sample".to_owned()),
        type_info,
        MetadataParameters::default(),
        Some(sample),
    )?;

    node.send_output_raw(
        DataId::from("raw".to_owned()),
        MetadataParameters::default(),
        2 * ZERO_COPY_THRESHOLD,
        |out| {
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = (i % 251) as u8;
            }
        },
    )?;
    node.send_output_bytes(
        DataId::from("bytes".to_owned()),
        MetadataParameters::default(),
        5,
        b"hello",
    )?;
    Ok(())
}
