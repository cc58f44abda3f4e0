//! ___name___: a dora node. For every input it receives, prints it and sends a status line
//! on its `status` output; stops when its inputs close or dora stops.
//!
//! Declare it in a dataflow, for instance:
//!
//! ```yaml
//!   - id: ___name___
//!     build: cargo build --manifest-path ___name___/Cargo.toml
//!     path: ___name___/target/debug/___name___
//!     inputs:
//!       tick: dora/timer/millis/100
//!     outputs:
//!       - status
//! ```

use dora_node_api::{arrow::array::StringArray, DoraNode, Event};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let mut received = 0u64;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, data, .. } => {
                received += 1;
                println!(
                    "___name___ received input `{id}` #{received} ({} values)",
                    data.len()
                );
                let status = format!("___name___ handled {received} inputs");
                node.send_output(
                    "status".into(),
                    Default::default(),
                    StringArray::from(vec![status]),
                )?;
            }
            Event::InputClosed { id } => println!("___name___: input `{id}` closed"),
            Event::Stop => break,
            other => eprintln!("Received unexpected event: {other:?}"),
        }
    }
    Ok(())
}
