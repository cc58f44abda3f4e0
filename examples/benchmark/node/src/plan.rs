//! The schedule of a benchmark run, identical for dora and for the floor.
//!
//! 1. A pause of [`SETTLE`], so that every process has started and the machine is calm.
//! 2. **Latency phases**, one per size of [`SIZES`], in order: [`LATENCY_MESSAGES`]
//!    messages, [`LATENCY_INTERVAL`] apart, so each one finds the receiver idle (waiting in a
//!    blocking call) and measures a full wake-up.
//! 3. **Throughput phases**, one per size, in order: [`throughput_messages`] messages back to
//!    back; the receiver must get every one of them. Each is followed by a pause of
//!    [`SETTLE`], so that the backlog it may leave is drained before the next one starts.
//!
//! All latency phases come before the first throughput phase: a burst leaves work behind
//! (a deep queue to drain, shared memory regions to give back and unmap), and a latency
//! phase that overlaps it would measure that clean-up instead of an idle receiver's wake-up.

use std::{thread, time::Duration};

use crate::{message::Header, Result};

/// Payload sizes in bytes, the ones of dora-rs's benchmark.
pub const SIZES: [usize; 11] = [
    0, 8, 64, 512, 2048, 4096, 16384, 40960, 409600, 4096000, 40960000,
];

/// Messages per latency phase.
pub const LATENCY_MESSAGES: u64 = 100;

/// Time between two messages of a latency phase.
pub const LATENCY_INTERVAL: Duration = Duration::from_millis(10);

/// Pause before the first phase and after each throughput phase: long enough for a receiver
/// to work through the backlog a throughput phase leaves in its queue (200,000 messages at
/// 100k/s), so that it does not slow down the next throughput phase.
pub const SETTLE: Duration = Duration::from_millis(2000);

/// Messages per throughput phase for `size`: enough for the phase to last a few hundred
/// milliseconds in both modes on a small machine. Above 40 KB the floor is bound by copying
/// (about 4 GB in total per size), while dora does not copy and goes faster.
pub fn throughput_messages(size: usize) -> u64 {
    const LARGE_TOTAL_BYTES: u64 = 4_000_000_000;
    match size {
        0..=2048 => 200_000,
        2049..=40960 => 100_000,
        _ => (LARGE_TOTAL_BYTES / size as u64).clamp(50, 10_000),
    }
}

/// The two phases of each size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Latency,
    Throughput,
}

impl Phase {
    /// The name of the phase, also the dora output and input id that carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Latency => "latency",
            Phase::Throughput => "throughput",
        }
    }

    /// The phase named `name` (see [`Phase::as_str`]).
    pub fn from_name(name: &str) -> Result<Phase> {
        match name {
            "latency" => Ok(Phase::Latency),
            "throughput" => Ok(Phase::Throughput),
            other => Err(format!("unknown phase `{other}`").into()),
        }
    }
}

/// How a sender gets one message to the receiver; one implementation per mode.
pub trait Transport {
    /// Sends a message of `header.size` bytes described by `header`. The send timestamp is
    /// taken as late as possible, right before the payload leaves (or is lent to) the sender.
    fn send(&mut self, header: Header) -> Result<()>;
}

/// Sends the whole schedule through `transport`.
pub fn run(transport: &mut impl Transport) -> Result<()> {
    thread::sleep(SETTLE);
    for size in SIZES {
        for seq in 0..LATENCY_MESSAGES {
            transport.send(Header {
                phase: Phase::Latency,
                size,
                seq,
                count: LATENCY_MESSAGES,
            })?;
            thread::sleep(LATENCY_INTERVAL);
        }
    }
    for size in SIZES {
        let count = throughput_messages(size);
        for seq in 0..count {
            transport.send(Header {
                phase: Phase::Throughput,
                size,
                seq,
                count,
            })?;
        }
        thread::sleep(SETTLE);
    }
    Ok(())
}
