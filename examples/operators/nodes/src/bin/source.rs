//! Sends the numbers 1 to 5 on `number` (UInt64), one per `tick`, then exits.

use dora_node_api::{arrow::array::UInt64Array, DoraNode, Event, NodeError};

const COUNT: u64 = 5;

fn main() -> Result<(), NodeError> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let mut sent = 0;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, .. } if id.as_str() == "tick" => {
                sent += 1;
                node.send_output(
                    "number".into(),
                    Default::default(),
                    UInt64Array::from(vec![sent]),
                )?;
                println!("sent {sent}");
                if sent == COUNT {
                    break;
                }
            }
            Event::Stop => break,
            _ => {}
        }
    }
    Ok(())
}
