//! The dora benchmark: latency and throughput of one hop between two processes, measured
//! through dora and through a plain Unix socket (the floor) with the same schedule.
//!
//! - [`plan`]: the schedule both modes follow (sizes, phases, pacing) and the [`Transport`]
//!   trait a sender implements once per mode.
//! - [`message`]: what travels with each message (the [`Header`]): for the socket a fixed
//!   frame header; through dora nothing but the stamped payload, the header is recovered
//!   from it and the schedule.
//! - [`record`]: the receiver side, turning arrivals into one [`Row`] per size and listing
//!   every lost, reordered or corrupted message.
//! - [`results`]: the CSV file both receivers append to and the report reads.
//!
//! [`Transport`]: plan::Transport
//! [`Header`]: message::Header
//! [`Row`]: results::Row

pub mod message;
pub mod plan;
pub mod record;
pub mod results;

/// Errors of the benchmark binaries: they only report them and exit with a failure.
pub type Error = Box<dyn std::error::Error>;

/// A [`Result`](std::result::Result) with the benchmark's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

use std::path::Path;

/// Ends a receiver: appends the rows of `recorder` as `mode` to the results file at `path`,
/// prints a summary line per size, and fails if any message was lost, reordered or corrupted
/// (the rows are written anyway, so a run can still be inspected).
pub fn conclude(recorder: record::Recorder, mode: &str, path: &Path) -> Result<()> {
    let (rows, problems) = recorder.finish(mode);
    results::append(path, &rows)?;
    for row in &rows {
        println!(
            "{mode} size={} latency p50={:.1}us p99={:.1}us ({} messages), throughput {:.0} msg/s",
            row.size_bytes, row.p50_us, row.p99_us, row.messages, row.msgs_per_s
        );
    }
    println!("{mode}: {} rows appended to {}", rows.len(), path.display());
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{mode}: {problem}");
    }
    Err(format!("{mode}: {} problems, see above", problems.len()).into())
}
