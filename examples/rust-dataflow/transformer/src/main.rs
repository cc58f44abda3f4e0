//! Upper-cases every message it receives and counts its characters.

use dora_node_api::{
    arrow::array::{Array, StringArray},
    DoraNode, Event,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, data, .. } if id.as_str() == "message" => {
                let Some(strings) = data.as_any().downcast_ref::<StringArray>() else {
                    eprintln!("expected a string array, got {}", data.data_type());
                    continue;
                };
                let shouted: Vec<String> = strings
                    .iter()
                    .flatten()
                    .map(|s| format!("{} ({} chars)", s.to_uppercase(), s.len()))
                    .collect();
                node.send_output(
                    "shouted".into(),
                    Default::default(),
                    StringArray::from(shouted),
                )?;
            }
            Event::InputClosed { id } => println!("input `{id}` closed"),
            Event::Stop => break,
            _ => {}
        }
    }
    Ok(())
}
