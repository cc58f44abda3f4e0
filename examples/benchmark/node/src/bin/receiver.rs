//! The dora receiver: records the messages of its `latency` and `throughput` inputs and, once
//! both are closed, appends its rows (mode `dora`) to the results file (`BENCHMARK_CSV`, or
//! `benchmark.csv` in the dataflow's folder).

use std::{process::ExitCode, time::SystemTime};

use dora_benchmark::{conclude, message::Identify, plan::Phase, record::Recorder, results, Result};
use dora_node_api::{DoraNode, Event};

fn run() -> Result<()> {
    let path = results::default_path();
    let (_node, mut events) = DoraNode::init_from_env()?;
    let mut recorder = Recorder::default();
    let mut identify = Identify::default();
    while let Some(event) = events.recv() {
        match event {
            Event::Input { id, metadata, data } => {
                let arrival = SystemTime::now();
                let sent = metadata.timestamp().get_time().to_system_time();
                let payload = data.as_bytes().ok_or("the payload is not a byte array")?;
                let header = identify.header(Phase::from_name(id.as_str())?, payload)?;
                recorder.record(header, sent, arrival, payload);
            }
            Event::Stop => break,
            Event::Error(err) => eprintln!("benchmark-receiver: error event: {err}"),
            _ => {}
        }
    }
    conclude(recorder, "dora", &path)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("benchmark-receiver: {err}");
            ExitCode::FAILURE
        }
    }
}
