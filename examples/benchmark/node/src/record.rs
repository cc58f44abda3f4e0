//! The receiver side: what each mode's receiver does with the messages it gets.
//!
//! Both measures compare the send timestamp with the receiver's wall clock when the message
//! was handed to it (both processes read the same system clock).
//!
//! - Latency: arrival minus send timestamp, per message of the latency phase.
//! - Throughput: the `n` messages of the throughput phase over the time from the first send
//!   timestamp to the last arrival. Starting at the first *send* rather than the first
//!   arrival matters when the sender is faster than the receiver: the messages then pile up
//!   in the receiver's queue while it wakes up for the first one, and the time between the
//!   first and the last arrival only measures how fast it empties its queue.
//!
//! The [`Recorder`] checks every message: its payload length, the sequence number stamped in
//! its payload, and that throughput messages arrive in order without gaps. At the end, it
//! also reports messages that never arrived. None of these is expected; each is a bug of the
//! transport under test.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use crate::{
    message::{stamped_seq, Header},
    plan::{Phase, SIZES},
    results::Row,
};

/// At most this many problems are listed one by one; the others are only counted.
const MAX_LISTED_PROBLEMS: usize = 20;

/// What the receiver saw of one size.
#[derive(Debug, Default)]
struct SizeRecord {
    latencies: Vec<Duration>,
    latency_expected: u64,
    throughput_received: u64,
    throughput_expected: u64,
    /// Send timestamp of the first throughput message.
    first_sent: Option<SystemTime>,
    /// Arrival of the last throughput message.
    last_arrival: Option<SystemTime>,
}

/// Collects arrivals, per size, and the problems found on the way.
#[derive(Debug, Default)]
pub struct Recorder {
    sizes: BTreeMap<usize, SizeRecord>,
    problems: Vec<String>,
    unlisted_problems: usize,
}

impl Recorder {
    /// Records the message described by `header`, sent at `sent`, that arrived at `arrival`
    /// (take it first thing after the message was received) with `payload`.
    pub fn record(
        &mut self,
        header: Header,
        sent: SystemTime,
        arrival: SystemTime,
        payload: &[u8],
    ) {
        if payload.len() != header.size {
            self.problem(format!(
                "{header:?}: payload has {} bytes instead of {}",
                payload.len(),
                header.size
            ));
        } else if let Some(stamped) = stamped_seq(payload) {
            if stamped != header.seq {
                self.problem(format!("{header:?}: payload is stamped with seq {stamped}"));
            }
        }
        let record = self.sizes.entry(header.size).or_default();
        match header.phase {
            Phase::Latency => {
                let expected_seq = record.latencies.len() as u64;
                record.latency_expected = header.count;
                record
                    .latencies
                    .push(arrival.duration_since(sent).unwrap_or_default());
                if header.seq != expected_seq {
                    self.problem(format!(
                        "{header:?}: latency message out of order, expected seq {expected_seq}"
                    ));
                }
            }
            Phase::Throughput => {
                let expected_seq = record.throughput_received;
                record.throughput_expected = header.count;
                record.throughput_received += 1;
                record.first_sent.get_or_insert(sent);
                record.last_arrival = Some(arrival);
                if header.seq != expected_seq {
                    self.problem(format!(
                        "{header:?}: throughput message out of order, expected seq {expected_seq}"
                    ));
                }
            }
        }
    }

    /// One row per size for `mode`, and every problem found, including lost messages and
    /// sizes that never arrived.
    pub fn finish(mut self, mode: &str) -> (Vec<Row>, Vec<String>) {
        let mut rows = Vec::new();
        let mut lost = Vec::new();
        for size in SIZES {
            let Some(record) = self.sizes.get_mut(&size) else {
                lost.push(format!("size {size}: no message arrived"));
                continue;
            };
            let latency_received = record.latencies.len() as u64;
            if latency_received != record.latency_expected {
                lost.push(format!(
                    "size {size}: {latency_received} of {} latency messages arrived",
                    record.latency_expected
                ));
            }
            if record.throughput_received != record.throughput_expected {
                lost.push(format!(
                    "size {size}: {} of {} throughput messages arrived",
                    record.throughput_received, record.throughput_expected
                ));
            }
            record.latencies.sort_unstable();
            let micros = |d: Duration| d.as_secs_f64() * 1e6;
            let percentile = |p: f64| percentile(&record.latencies, p).map_or(0.0, micros);
            let elapsed = match (record.first_sent, record.last_arrival) {
                (Some(first), Some(last)) => last.duration_since(first).unwrap_or_default(),
                _ => Duration::ZERO,
            };
            let msgs_per_s = if elapsed.is_zero() {
                0.0
            } else {
                record.throughput_received as f64 / elapsed.as_secs_f64()
            };
            rows.push(Row {
                mode: mode.to_owned(),
                size_bytes: size as u64,
                messages: latency_received,
                p50_us: percentile(50.0),
                p90_us: percentile(90.0),
                p99_us: percentile(99.0),
                max_us: percentile(100.0),
                msgs_per_s,
                bytes_per_s: msgs_per_s * size as f64,
            });
        }
        let mut problems = self.problems;
        if self.unlisted_problems > 0 {
            problems.push(format!("... and {} more problems", self.unlisted_problems));
        }
        problems.extend(lost);
        (rows, problems)
    }

    fn problem(&mut self, problem: String) {
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.unlisted_problems += 1;
        }
    }
}

/// The nearest-rank `p`th percentile of `sorted` (`p` in 0..=100), `None` when it is empty.
fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&sorted, 50.0), Some(Duration::from_micros(50)));
        assert_eq!(percentile(&sorted, 99.0), Some(Duration::from_micros(99)));
        assert_eq!(percentile(&sorted, 100.0), Some(Duration::from_micros(100)));
        assert_eq!(
            percentile(&sorted[..1], 0.0),
            Some(Duration::from_micros(1))
        );
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn reports_lost_and_reordered_messages() {
        let mut recorder = Recorder::default();
        let sent = SystemTime::now();
        let header = |seq| Header {
            phase: Phase::Throughput,
            size: 8,
            seq,
            count: 3,
        };
        recorder.record(header(0), sent, SystemTime::now(), &0u64.to_le_bytes());
        recorder.record(header(2), sent, SystemTime::now(), &2u64.to_le_bytes());
        let (rows, problems) = recorder.finish("test");
        assert_eq!(rows.len(), 1);
        assert!(problems.iter().any(|p| p.contains("out of order")));
        assert!(problems.iter().any(|p| p.contains("2 of 3 throughput")));
        assert!(problems.iter().any(|p| p.contains("size 0: no message")));
    }
}
