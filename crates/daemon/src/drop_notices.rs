//! Reports of messages a node dropped on its inputs, at most one per input per
//! [`SUMMARY_INTERVAL`].
//!
//! A node reports drops as they happen (a node that never reads a 1 kHz input reports about
//! a thousand a second). The first report of an input is said at once; later ones are added
//! up and said as one summary with the count once the interval since the last summary has
//! passed: on the next report, or on [`DropNotices::due`], which the dataflow calls on a
//! timer so a count is never left unsaid.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// The shortest time between two notices about the same input.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(1);

/// Drop counts per (node index, input id).
#[derive(Debug, Default)]
pub struct DropNotices {
    inputs: BTreeMap<(usize, String), Pending>,
}

#[derive(Debug)]
struct Pending {
    /// Dropped since the last notice.
    count: u64,
    /// When the last notice about this input was said.
    said: Instant,
}

impl DropNotices {
    /// `count` more messages dropped on `input` of node `node`: returns the count to report
    /// now, if a notice is due.
    pub fn record(&mut self, node: usize, input: &str, count: u64, now: Instant) -> Option<u64> {
        match self.inputs.get_mut(&(node, input.to_owned())) {
            None => {
                self.inputs.insert(
                    (node, input.to_owned()),
                    Pending {
                        count: 0,
                        said: now,
                    },
                );
                Some(count)
            }
            Some(pending) => {
                pending.count += count;
                if now.duration_since(pending.said) >= SUMMARY_INTERVAL {
                    pending.said = now;
                    Some(std::mem::take(&mut pending.count))
                } else {
                    None
                }
            }
        }
    }

    /// The summaries due at `now`: (node, input, count) of inputs with an unsaid count whose
    /// last notice is at least [`SUMMARY_INTERVAL`] old.
    pub fn due(&mut self, now: Instant) -> Vec<(usize, String, u64)> {
        let mut due = Vec::new();
        for ((node, input), pending) in &mut self.inputs {
            if pending.count > 0 && now.duration_since(pending.said) >= SUMMARY_INTERVAL {
                pending.said = now;
                due.push((*node, input.clone(), std::mem::take(&mut pending.count)));
            }
        }
        due
    }

    /// Every count not said yet (when the dataflow ends).
    pub fn rest(&mut self) -> Vec<(usize, String, u64)> {
        std::mem::take(&mut self.inputs)
            .into_iter()
            .filter(|(_, p)| p.count > 0)
            .map(|((node, input), p)| (node, input, p.count))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_drops_a_second_make_one_notice_a_second_with_the_count() {
        let mut notices = DropNotices::default();
        let start = Instant::now();
        let mut said = Vec::new();
        for ms in 0..3000u64 {
            let now = start + Duration::from_millis(ms);
            if let Some(count) = notices.record(0, "tick", 1, now) {
                said.push((ms, count));
            }
            said.extend(notices.due(now).into_iter().map(|(_, _, c)| (ms, c)));
        }
        assert_eq!(said, [(0, 1), (1000, 1000), (2000, 1000)]);
        assert_eq!(notices.rest(), [(0, "tick".to_owned(), 999)]);
    }

    #[test]
    fn inputs_are_counted_apart_and_a_pending_count_is_said_when_due() {
        let mut notices = DropNotices::default();
        let start = Instant::now();
        assert_eq!(notices.record(0, "a", 2, start), Some(2));
        assert_eq!(notices.record(1, "a", 3, start), Some(3));
        assert_eq!(
            notices.record(0, "a", 4, start + Duration::from_millis(10)),
            None
        );
        assert!(notices.due(start + Duration::from_millis(500)).is_empty());
        assert_eq!(
            notices.due(start + SUMMARY_INTERVAL),
            [(0, "a".to_owned(), 4)]
        );
        assert!(notices.rest().is_empty());
    }
}
