//! The dora sender: sends the benchmark schedule on its `latency` and `throughput` outputs.
//!
//! The payload is written in place into the buffer dora lends (shared memory from 4 KiB on)
//! and only its first 8 bytes are touched, so the measurement is dora's own cost, never a
//! copy of the payload. As in dora-rs's benchmark, messages carry no metadata parameters
//! (the receiver knows the schedule, see [`dora_benchmark::message::Identify`]).

use std::process::ExitCode;

use dora_benchmark::{
    message::{stamp, Header},
    plan::{self, Transport},
    Result,
};
use dora_node_api::DoraNode;

/// Sends through a dora output named after the phase.
struct DoraSender {
    node: DoraNode,
}

impl Transport for DoraSender {
    fn send(&mut self, header: Header) -> Result<()> {
        self.node.send_output_raw(
            header.phase.as_str().into(),
            Default::default(),
            header.size,
            |payload| stamp(payload, header.seq),
        )?;
        Ok(())
    }
}

fn run() -> Result<()> {
    let (node, _events) = DoraNode::init_from_env()?;
    plan::run(&mut DoraSender { node }, &plan::Schedule::from_env("dora")?)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("benchmark-sender: {err}");
            ExitCode::FAILURE
        }
    }
}
