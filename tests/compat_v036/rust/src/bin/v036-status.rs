//! Turns each `random` value into a status line, as dora-rs v0.3.6's status node does, while
//! receiving in every way the v0.3.6 API offers: blocking with a timeout, async with and
//! without one, and as a stream merged with an external one.

use std::time::Duration;

use dora_node_api::{
    self,
    dora_core::config::DataId,
    merged::{MergeExternal, MergedEvent},
    DoraNode, Event, IntoArrow,
};
use eyre::Context;
use futures::StreamExt;

struct Status {
    output: DataId,
    bytes_output: DataId,
    ticks: u64,
}

impl Status {
    /// Handles one event; `false` once the node should exit.
    fn handle(&mut self, node: &mut DoraNode, event: Option<Event>) -> eyre::Result<bool> {
        let Some(event) = event else {
            return Ok(false);
        };
        match event {
            Event::Input { id, metadata, data } => match id.as_ref() {
                "tick" => self.ticks += 1,
                "random" => {
                    let value = u64::try_from(&data).context("unexpected data type")?;
                    let output = format!(
                        "operator received random value {value:#x} after {} ticks",
                        self.ticks
                    );
                    // The C nodes read bytes: the same line as a UInt8 array.
                    let bytes = output.as_bytes().to_vec().into_arrow();
                    node.send_output(self.bytes_output.clone(), Default::default(), bytes)?;
                    node.send_output(
                        self.output.clone(),
                        metadata.parameters,
                        output.into_arrow(),
                    )?;
                }
                other => eprintln!("ignoring unexpected input {other}"),
            },
            Event::InputClosed { id } => {
                if *id == "random" {
                    println!("`random` input was closed -> exiting");
                    return Ok(false);
                }
            }
            // A timed-out wait is reported as an error event; it is no reason to stop.
            Event::Error(error) => println!("error event: {error}"),
            Event::Stop => return Ok(false),
            other => println!("received unknown event {other:?}"),
        }
        Ok(true)
    }
}

fn main() -> eyre::Result<()> {
    let (mut node, mut events) = DoraNode::init_from_env()?;
    let mut status = Status {
        output: DataId::from("status".to_owned()),
        bytes_output: DataId::from("status-bytes".to_owned()),
        ticks: 0,
    };

    let event = events.recv_timeout(Duration::from_secs(20));
    if !status.handle(&mut node, event)? {
        return Ok(());
    }
    let event = futures::executor::block_on(events.recv_async_timeout(Duration::from_secs(20)));
    if !status.handle(&mut node, event)? {
        return Ok(());
    }
    let event = futures::executor::block_on(events.recv_async());
    if !status.handle(&mut node, event)? {
        return Ok(());
    }

    let external = futures::stream::iter(vec!["external event"]);
    let mut merged = events.merge_external(external);
    while let Some(event) = futures::executor::block_on(merged.next()) {
        match event {
            MergedEvent::Dora(event) => {
                if !status.handle(&mut node, Some(event))? {
                    break;
                }
            }
            MergedEvent::External(text) => println!("merged stream delivered {text}"),
        }
    }
    Ok(())
}
