//! ___name___: on every `tick`, sends a greeting on `speech`; stops when dora stops.

use dora_node_api::{arrow::array::StringArray, DoraNode, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let mut count = 0u64;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, .. } => match id.as_str() {
                "tick" => {
                    count += 1;
                    let message = format!("Hello World #{count} from ___name___");
                    node.send_output(
                        "speech".into(),
                        Default::default(),
                        StringArray::from(vec![message]),
                    )?;
                }
                other => eprintln!("Ignoring unexpected input `{other}`"),
            },
            Event::Stop => break,
            other => eprintln!("Received unexpected event: {other:?}"),
        }
    }
    Ok(())
}
