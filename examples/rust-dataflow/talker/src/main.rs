//! Sends `hello N` on every tick of its timer, ten times, then exits.

use dora_node_api::{arrow::array::StringArray, DoraNode, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let mut count = 0;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, .. } if id.as_str() == "tick" => {
                count += 1;
                let message = format!("hello {count}");
                println!("sending `{message}`");
                node.send_output(
                    "message".into(),
                    Default::default(),
                    StringArray::from(vec![message]),
                )?;
                if count == 10 {
                    break;
                }
            }
            Event::Stop => break,
            _ => {}
        }
    }
    Ok(())
}
