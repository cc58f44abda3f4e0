//! The event queue of one operator: bounded per input with drop-oldest, like a node's.
//!
//! Each input keeps at most its `queue_size` messages; when a new message arrives on a full
//! input, the oldest message of *that* input is dropped and counted. `InputClosed` and `Stop`
//! are never dropped. Once the operator finished, the queue is closed and pushes are ignored.

use std::{
    collections::VecDeque,
    sync::{Condvar, Mutex, MutexGuard},
};

use dora_node_api::arrow::array::ArrayRef;

/// An event waiting for an operator. Inputs are indices into the operator's input list.
#[derive(Debug)]
pub enum OperatorEvent {
    /// A message on one of the operator's inputs.
    Input {
        /// The input.
        input: usize,
        /// The message.
        data: ArrayRef,
        /// The message's timestamp, in nanoseconds since the Unix epoch.
        timestamp_ns: u64,
    },
    /// Nothing more comes on this input.
    InputClosed(usize),
    /// The operator should finish.
    Stop,
}

#[derive(Debug)]
struct State {
    events: VecDeque<OperatorEvent>,
    /// Per input: messages queued, limit, messages dropped.
    queued: Vec<usize>,
    limits: Vec<usize>,
    dropped: Vec<u64>,
    closed: bool,
}

/// The queue of one operator, shared by the main loop (which pushes) and the operator's
/// thread (which pops).
#[derive(Debug)]
pub struct OperatorQueue {
    state: Mutex<State>,
    ready: Condvar,
}

impl OperatorQueue {
    /// A queue for an operator whose inputs have the given queue sizes.
    pub fn new(limits: Vec<usize>) -> Self {
        let inputs = limits.len();
        Self {
            state: Mutex::new(State {
                events: VecDeque::new(),
                queued: vec![0; inputs],
                limits: limits.into_iter().map(|l| l.max(1)).collect(),
                dropped: vec![0; inputs],
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queue inconsistent (every
        // mutation is a single step), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `event`, dropping the oldest message of a full input; ignored once the queue
    /// is closed or for an input the operator does not have.
    pub fn push(&self, event: OperatorEvent) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        if let OperatorEvent::Input { input, .. } = event {
            if input >= state.queued.len() {
                return;
            }
            if state.queued[input] >= state.limits[input] {
                let oldest = state.events.iter().position(
                    |e| matches!(e, OperatorEvent::Input { input: i, .. } if *i == input),
                );
                if let Some(oldest) = oldest {
                    state.events.remove(oldest);
                    state.queued[input] -= 1;
                    state.dropped[input] += 1;
                }
            }
            state.queued[input] += 1;
        }
        state.events.push_back(event);
        drop(state);
        self.ready.notify_one();
    }

    /// Waits for the next event.
    pub fn pop(&self) -> OperatorEvent {
        let mut state = self.lock();
        loop {
            if let Some(event) = state.events.pop_front() {
                if let OperatorEvent::Input { input, .. } = event {
                    state.queued[input] -= 1;
                }
                return event;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Ignores further events and returns, per input, how many messages were dropped.
    pub fn close(&self) -> Vec<u64> {
        let mut state = self.lock();
        state.closed = true;
        state.events.clear();
        std::mem::take(&mut state.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dora_node_api::arrow::array::UInt8Array;
    use std::sync::Arc;

    fn input(input: usize, value: u8) -> OperatorEvent {
        OperatorEvent::Input {
            input,
            data: Arc::new(UInt8Array::from(vec![value])),
            timestamp_ns: 0,
        }
    }

    fn value(event: OperatorEvent) -> (usize, u8) {
        match event {
            OperatorEvent::Input { input, data, .. } => (
                input,
                data.as_any()
                    .downcast_ref::<UInt8Array>()
                    .map(|a| a.value(0))
                    .unwrap_or(255),
            ),
            other => panic!("expected an input, got {other:?}"),
        }
    }

    #[test]
    fn full_input_drops_its_oldest_message_only() {
        let queue = OperatorQueue::new(vec![2, 2]);
        queue.push(input(0, 1));
        queue.push(input(1, 10));
        queue.push(input(0, 2));
        queue.push(input(0, 3));
        assert_eq!(value(queue.pop()), (1, 10));
        assert_eq!(value(queue.pop()), (0, 2));
        assert_eq!(value(queue.pop()), (0, 3));
        assert_eq!(queue.close(), vec![1, 0]);
    }

    #[test]
    fn closed_queue_ignores_pushes() {
        let queue = OperatorQueue::new(vec![1]);
        queue.close();
        queue.push(OperatorEvent::Stop);
        queue.push(input(0, 1));
        assert!(queue.lock().events.is_empty());
    }
}
