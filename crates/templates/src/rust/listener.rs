//! ___name___: prints every message it hears; ends when its inputs close or dora stops.

use dora_node_api::{
    arrow::array::{Array, StringArray},
    DoraNode, Event,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, data, .. } => {
                match data.as_any().downcast_ref::<StringArray>() {
                    Some(text) if text.len() == 1 => {
                        println!("___name___ heard on `{id}`: {}", text.value(0))
                    }
                    _ => eprintln!("Input `{id}` is not a single string: {:?}", data.0),
                }
            }
            Event::InputClosed { id } => println!("Input `{id}` closed"),
            Event::Stop => break,
            other => eprintln!("Received unexpected event: {other:?}"),
        }
    }
    Ok(())
}
