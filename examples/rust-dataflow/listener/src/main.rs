//! Prints every message it receives, with how long it took to arrive.

use dora_node_api::{
    arrow::array::{Array, StringArray},
    DoraNode, Event,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_node, mut events) = DoraNode::init_from_env()?;
    let mut received = 0;
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, data, metadata } => {
                let latency = uhlc_age(metadata.timestamp());
                if let Some(strings) = data.as_any().downcast_ref::<StringArray>() {
                    for s in strings.iter().flatten() {
                        received += 1;
                        println!("received on `{id}`: {s} (after {latency:?})");
                    }
                }
            }
            Event::InputClosed { id } => println!("input `{id}` closed"),
            Event::Stop => break,
            _ => {}
        }
    }
    println!("listener received {received} messages");
    Ok(())
}

fn uhlc_age(timestamp: dora_node_api::uhlc::Timestamp) -> std::time::Duration {
    let sent = timestamp.get_time().to_system_time();
    std::time::SystemTime::now()
        .duration_since(sent)
        .unwrap_or_default()
}
