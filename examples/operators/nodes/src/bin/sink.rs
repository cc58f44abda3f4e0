//! Prints every message it receives as text, until its inputs are closed.

use dora_node_api::{DoraNode, Event, NodeError};

fn main() -> Result<(), NodeError> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, data, .. } => match data.as_bytes() {
                Some(bytes) => println!("{id}: {}", String::from_utf8_lossy(bytes)),
                None => println!("{id}: {:?}", data.0),
            },
            Event::InputClosed { id } => println!("{id} closed"),
            Event::Stop => break,
            _ => {}
        }
    }
    Ok(())
}
