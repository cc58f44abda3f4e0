//! Sends `hello N` on every tick of its timer, ten times, then exits. `TALKER_MESSAGES=N`
//! sends N messages instead; `TALKER_MESSAGES=0` goes on until the dataflow is stopped.

use dora_node_api::{arrow::array::StringArray, DoraNode, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limit: u64 = match std::env::var("TALKER_MESSAGES") {
        Ok(value) => value
            .parse()
            .map_err(|_| format!("TALKER_MESSAGES must be a number, not `{value}`"))?,
        Err(_) => 10,
    };
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
                if count == limit {
                    break;
                }
            }
            Event::Stop => break,
            _ => {}
        }
    }
    Ok(())
}
