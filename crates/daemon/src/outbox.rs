//! What a daemon sends the coordinator, bounded: the queue between the dataflows and the
//! coordinator connection.
//!
//! - Every message is size-checked before it is queued: one whose frame would exceed
//!   [`MAX_FRAME_LEN`] is dropped and counted, never sent (the coordinator would refuse it
//!   and drop the connection).
//! - Log lines and notices share a budget of [`LOG_QUEUE_BUDGET`] bytes, held from the
//!   moment they are queued until they were written to the coordinator or dropped: while the
//!   coordinator is slow or away, lines beyond it are dropped and counted. Results
//!   (`Spawned`, `Finished`) and log-file chunks are never dropped here (chunks are paced by
//!   the coordinator's credits instead).
//! - Dropped messages are reported per dataflow as one notice ([`Outbox::drop_notices`]),
//!   which the service sends once a second.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use dora_message::{coordinator::DaemonToCoordinator, frame::MAX_FRAME_LEN};
use tokio::sync::mpsc;

/// Bytes of log lines and notices queued for the coordinator at most (8 MiB).
pub const LOG_QUEUE_BUDGET: usize = 8 * 1024 * 1024;

/// What each queued line costs besides its text (the message around it).
const LINE_OVERHEAD: usize = 128;

/// The sending side of the queue to the coordinator; cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<DaemonToCoordinator>,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Budget held by queued log lines and notices.
    queued: AtomicUsize,
    /// Per dataflow: messages dropped since the last report.
    dropped: Mutex<BTreeMap<String, Dropped>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Dropped {
    /// Lines and notices dropped because the queue was full.
    queue_full: u64,
    /// Messages dropped because their frame would exceed the limit.
    oversized: u64,
}

impl Outbox {
    /// A queue and its receiving end.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<DaemonToCoordinator>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        (Self { tx, shared }, rx)
    }

    /// Queues `message`, unless its frame would be too large or it is a log line or notice
    /// and the budget is spent: then it is dropped and counted. Returns whether it was
    /// queued.
    pub fn send(&self, message: DaemonToCoordinator) -> bool {
        let oversized = bincode::serialized_size(&message).map_or(true, |n| n > MAX_FRAME_LEN);
        if oversized {
            tracing::warn!(
                "dropped a message to the coordinator: its frame would exceed {MAX_FRAME_LEN} bytes"
            );
            self.count(&message, |d| d.oversized += 1);
            return false;
        }
        let cost = cost(&message);
        if cost > 0 {
            let reserved =
                self.shared
                    .queued
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                        (queued + cost <= LOG_QUEUE_BUDGET).then_some(queued + cost)
                    });
            if reserved.is_err() {
                self.count(&message, |d| d.queue_full += 1);
                return false;
            }
        }
        if let Err(mpsc::error::SendError(message)) = self.tx.send(message) {
            self.release(&message);
            return false;
        }
        true
    }

    /// `message` left the queue for good (written to the coordinator): its budget is free.
    pub fn release(&self, message: &DaemonToCoordinator) {
        let cost = cost(message);
        if cost > 0 {
            self.shared.queued.fetch_sub(cost, Ordering::AcqRel);
        }
    }

    /// `message` was taken from the queue but will not be sent (its connection failed while
    /// it was being written): released and counted.
    pub fn lost(&self, message: &DaemonToCoordinator) {
        self.release(message);
        self.count(message, |d| d.queue_full += 1);
    }

    /// One notice per dataflow that had messages dropped since the last call, saying how
    /// many and why.
    pub fn drop_notices(&self) -> Vec<DaemonToCoordinator> {
        let dropped = std::mem::take(&mut *lock(&self.shared.dropped));
        dropped
            .into_iter()
            .map(|(dataflow_id, dropped)| {
                let mut reasons = Vec::new();
                if dropped.queue_full > 0 {
                    reasons.push(format!(
                        "{} log line(s) or notice(s): the coordinator was too slow or away \
                         (queue of {} MiB full); the node log files have every line",
                        dropped.queue_full,
                        LOG_QUEUE_BUDGET / (1024 * 1024)
                    ));
                }
                if dropped.oversized > 0 {
                    reasons.push(format!(
                        "{} message(s) larger than the frame limit of {MAX_FRAME_LEN} bytes",
                        dropped.oversized
                    ));
                }
                DaemonToCoordinator::Notice {
                    dataflow_id,
                    message: format!("the daemon dropped {}", reasons.join(", and ")),
                }
            })
            .collect()
    }

    fn count(&self, message: &DaemonToCoordinator, add: impl FnOnce(&mut Dropped)) {
        let dataflow_id = match message {
            DaemonToCoordinator::Log(line) => line.dataflow_id.clone(),
            DaemonToCoordinator::Notice { dataflow_id, .. }
            | DaemonToCoordinator::Spawned { dataflow_id, .. }
            | DaemonToCoordinator::Finished { dataflow_id, .. } => dataflow_id.clone(),
            // Log chunks and heartbeats belong to no dataflow's output: a read that lost
            // its connection ends on its own.
            _ => return,
        };
        add(lock(&self.shared.dropped).entry(dataflow_id).or_default());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The budget a message holds while queued: log lines and notices only.
fn cost(message: &DaemonToCoordinator) -> usize {
    match message {
        DaemonToCoordinator::Log(line) => line.line.len() + LINE_OVERHEAD,
        DaemonToCoordinator::Notice { message, .. } => message.len() + LINE_OVERHEAD,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dora_message::coordinator::LogLine;

    fn line(text: &str) -> DaemonToCoordinator {
        DaemonToCoordinator::Log(LogLine {
            dataflow_id: "df".into(),
            node_id: "n".into(),
            stderr: false,
            line: text.into(),
            continued: false,
        })
    }

    #[test]
    fn log_lines_beyond_the_budget_are_dropped_and_counted_but_results_never() {
        let (outbox, mut rx) = Outbox::channel();
        let text = "x".repeat(64 * 1024);
        let fit = LOG_QUEUE_BUDGET / (text.len() + LINE_OVERHEAD);
        for _ in 0..fit {
            assert!(outbox.send(line(&text)));
        }
        assert!(!outbox.send(line(&text)));
        assert!(!outbox.send(line(&text)));
        assert!(outbox.send(DaemonToCoordinator::Finished {
            dataflow_id: "df".into(),
            nodes: Vec::new(),
        }));
        let notices = outbox.drop_notices();
        assert_eq!(notices.len(), 1);
        match &notices[0] {
            DaemonToCoordinator::Notice {
                dataflow_id,
                message,
            } => {
                assert_eq!(dataflow_id, "df");
                assert!(message.contains("dropped 2 log line(s)"), "{message}");
            }
            other => panic!("not a notice: {other:?}"),
        }
        assert!(outbox.drop_notices().is_empty(), "reported once");
        // Writing one frees room for one more.
        let first = rx.try_recv().unwrap();
        outbox.release(&first);
        assert!(outbox.send(line(&text)));
    }

    #[test]
    fn a_message_above_the_frame_limit_is_never_queued() {
        let (outbox, mut rx) = Outbox::channel();
        let huge = DaemonToCoordinator::Finished {
            dataflow_id: "df".into(),
            nodes: vec![dora_message::coordinator::NodeOutcome {
                node_id: "n".into(),
                machine_id: String::new(),
                failure: None,
                killed: false,
                stderr_tail: vec!["y".repeat(MAX_FRAME_LEN as usize)],
            }],
        };
        assert!(!outbox.send(huge));
        assert!(rx.try_recv().is_err());
        let notices = outbox.drop_notices();
        assert!(
            matches!(&notices[..], [DaemonToCoordinator::Notice { message, .. }] if message.contains("larger than the frame limit"))
        );
    }
}
