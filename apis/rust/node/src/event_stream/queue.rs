//! The queue between the I/O thread and the user's event stream.
//!
//! Events keep their arrival order across inputs. Each input holds at most its `queue_size`
//! messages: when one more arrives, the oldest message of that input is dropped (and its
//! shared memory released), and the drop is counted and reported to the daemon, which writes
//! it to the node's log. The stream ends after `Stop`, when the daemon connection is lost, or
//! — for a node with inputs — once every input is closed and the queue is empty.

use std::{
    collections::VecDeque,
    sync::{Condvar, Mutex, MutexGuard},
    task::Waker,
    time::Instant,
};

use arrow_array::ArrayRef;
use dora_message::Metadata;

/// An event waiting for the user.
pub(crate) enum Queued {
    Input {
        input: u16,
        metadata: Metadata,
        data: ArrayRef,
    },
    Closed(u16),
    Stop,
    Error(String),
}

pub(crate) struct State {
    events: VecDeque<Queued>,
    queued: Vec<usize>,
    queue_size: Vec<usize>,
    open: Vec<bool>,
    open_count: usize,
    /// Messages dropped per input, not yet reported.
    pub dropped: Vec<u64>,
    /// `Stop` was delivered: the stream is over.
    stopped: bool,
    /// Nothing more will arrive: the stream ends once the queue is empty.
    finished: bool,
    waker: Option<Waker>,
}

/// Outcome of [`EventQueue::pop`].
pub(crate) enum Next {
    Event(Queued),
    Empty,
    End,
}

pub(crate) struct EventQueue {
    state: Mutex<State>,
    cond: Condvar,
}

impl EventQueue {
    pub fn new(queue_sizes: Vec<usize>) -> Self {
        let inputs = queue_sizes.len();
        Self {
            state: Mutex::new(State {
                events: VecDeque::new(),
                queued: vec![0; inputs],
                queue_size: queue_sizes.into_iter().map(|q| q.max(1)).collect(),
                open: vec![true; inputs],
                open_count: inputs,
                dropped: vec![0; inputs],
                stopped: false,
                finished: false,
                waker: None,
            }),
            cond: Condvar::new(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every operation is a few
        // field updates), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes a waiting reader after pushes made through `state`.
    pub fn notify(&self, mut state: MutexGuard<'_, State>) {
        let waker = state.waker.take();
        drop(state);
        self.cond.notify_one();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Blocks until an event is available, the stream ended, or `deadline` passed.
    pub fn wait(&self, deadline: Option<Instant>) -> Next {
        let mut state = self.lock();
        loop {
            match state.pop() {
                Next::Empty => {}
                other => return other,
            }
            state = match deadline {
                None => self
                    .cond
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Next::Empty;
                    }
                    self.cond
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
    }

    /// Non-blocking pop that registers `waker` when nothing is available.
    pub fn poll(&self, waker: &Waker) -> Next {
        let mut state = self.lock();
        let next = state.pop();
        if matches!(next, Next::Empty) {
            state.waker = Some(waker.clone());
        }
        next
    }
}

impl State {
    /// Takes the next event, if one is queued.
    pub fn try_pop(&mut self) -> Next {
        self.pop()
    }

    fn pop(&mut self) -> Next {
        if self.stopped {
            return Next::End;
        }
        match self.events.pop_front() {
            Some(event) => {
                match &event {
                    Queued::Input { input, .. } => self.queued[*input as usize] -= 1,
                    Queued::Stop => self.stopped = true,
                    _ => {}
                }
                Next::Event(event)
            }
            None if self.finished || (!self.open.is_empty() && self.open_count == 0) => Next::End,
            None => Next::Empty,
        }
    }

    /// Queues a message, dropping the input's oldest one when its queue is full.
    pub fn push_input(&mut self, input: u16, metadata: Metadata, data: ArrayRef) {
        let index = input as usize;
        if index >= self.queued.len() || !self.open[index] {
            return;
        }
        if self.queued[index] >= self.queue_size[index] {
            if let Some(position) = self
                .events
                .iter()
                .position(|e| matches!(e, Queued::Input { input: i, .. } if *i == input))
            {
                self.events.remove(position);
                self.queued[index] -= 1;
                self.dropped[index] += 1;
            }
        }
        self.queued[index] += 1;
        self.events.push_back(Queued::Input {
            input,
            metadata,
            data,
        });
    }

    /// Closes an input (once).
    pub fn close_input(&mut self, input: u16) {
        let index = input as usize;
        if index < self.open.len() && self.open[index] {
            self.open[index] = false;
            self.open_count -= 1;
            self.events.push_back(Queued::Closed(input));
        }
    }

    pub fn push_stop(&mut self) {
        self.events.push_back(Queued::Stop);
    }

    pub fn push_error(&mut self, message: String) {
        self.events.push_back(Queued::Error(message));
    }

    /// Nothing more will arrive (daemon lost): end after the queued events.
    pub fn finish(&mut self) {
        self.finished = true;
    }
}
