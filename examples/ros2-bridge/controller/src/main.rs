//! Drives a turtle in circles: on every tick sends a `geometry_msgs/Twist` (as an Arrow struct
//! row) and prints the poses it gets back. Stops after `COUNT` ticks (default 50).

use std::sync::Arc;

use dora_node_api::{
    arrow::{
        array::{Array, ArrayRef, Float32Array, Float64Array, StructArray},
        schema::{DataType, Field, Fields},
    },
    DoraNode, Event,
};

fn vector3(x: f64, y: f64, z: f64) -> StructArray {
    let fields: Vec<(Arc<Field>, ArrayRef)> = ["x", "y", "z"]
        .into_iter()
        .zip([x, y, z])
        .map(|(name, value)| {
            (
                Arc::new(Field::new(name, DataType::Float64, false)),
                Arc::new(Float64Array::from(vec![value])) as ArrayRef,
            )
        })
        .collect();
    StructArray::from(fields)
}

fn twist(linear_x: f64, angular_z: f64) -> StructArray {
    let linear = vector3(linear_x, 0.0, 0.0);
    let angular = vector3(0.0, 0.0, angular_z);
    let vector = DataType::Struct(Fields::from(vec![
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
        Field::new("z", DataType::Float64, false),
    ]));
    StructArray::from(vec![
        (
            Arc::new(Field::new("linear", vector.clone(), false)),
            Arc::new(linear) as ArrayRef,
        ),
        (
            Arc::new(Field::new("angular", vector, false)),
            Arc::new(angular) as ArrayRef,
        ),
    ])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::var("COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(50);
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let mut ticks = 0;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, .. } if id.as_str() == "tick" => {
                ticks += 1;
                node.send_output("cmd_vel".into(), Default::default(), twist(1.0, 0.5))?;
                if ticks >= count {
                    break;
                }
            }
            Event::Input { id, data, .. } if id.as_str() == "pose" => {
                let Some(pose) = data.as_any().downcast_ref::<StructArray>() else {
                    continue;
                };
                let value = |name: &str| {
                    pose.column_by_name(name)
                        .and_then(|c| {
                            c.as_any()
                                .downcast_ref::<Float32Array>()
                                .map(|a| a.value(0))
                        })
                        .unwrap_or(f32::NAN)
                };
                println!(
                    "pose: x={:.2} y={:.2} theta={:.2}",
                    value("x"),
                    value("y"),
                    value("theta")
                );
            }
            Event::Stop => break,
            _ => {}
        }
    }
    Ok(())
}
