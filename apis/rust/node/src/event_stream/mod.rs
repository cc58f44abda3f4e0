//! The node's incoming events.
//!
//! Events arrive in the order they were received across all inputs:
//!
//! - [`Event::Input`]: a message on one of the node's inputs. Its data is an Arrow array; for
//!   payloads of 4 KiB or more it is a read-only view of the sender's shared memory, which
//!   goes back to the sender once every clone of the array is dropped — keep it only as long
//!   as needed.
//! - [`Event::InputClosed`]: the input's source finished (its node exited or closed the
//!   output). No more messages will arrive on it.
//! - [`Event::Stop`]: the dataflow is stopping. Finish up and return; a node still running
//!   after the grace period is killed. The stream ends after `Stop`.
//! - [`Event::Error`]: something went wrong receiving (a malformed message, a lost
//!   connection); the stream goes on where it can.
//!
//! Each input keeps at most its `queue_size` (default 10) messages; when the node falls
//! behind, the oldest message of that input is dropped and the drop is written to the node's
//! log. For a node with inputs, the stream ends once all inputs are closed.

pub(crate) mod io;
pub(crate) mod queue;

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use dora_message::Metadata;

use crate::{
    node::{NodeShared, ShutdownGuard},
    ArrowData, DataId, OperatorId,
};
use queue::{Next, Queued};

/// An event delivered to a node.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The dataflow is stopping: finish up and return. The stream ends after it.
    Stop,
    /// Never delivered: nodes are not reloaded while they run. The variant exists so that
    /// code written for dora-rs v0.3.6, which could name it, still compiles.
    Reload {
        /// The operator to reload (`None`: the node).
        operator_id: Option<OperatorId>,
    },
    /// A message on one of the node's inputs.
    Input {
        /// The input's id.
        id: DataId,
        /// The message's metadata: timestamp, Arrow layout, parameters.
        metadata: Metadata,
        /// The message: an Arrow array, a read-only view of shared memory for large payloads.
        data: ArrowData,
    },
    /// No more messages will arrive on this input.
    InputClosed {
        /// The input's id.
        id: DataId,
    },
    /// Something went wrong receiving (why); the stream goes on where it can.
    Error(String),
}

/// The stream of [`Event`]s of a node, usable blocking ([`EventStream::recv`]) or async
/// ([`EventStream::recv_async`], or as a [`futures::Stream`]).
pub struct EventStream {
    shared: Arc<NodeShared>,
    _guard: Arc<ShutdownGuard>,
    pollfds: Vec<libc::pollfd>,
}

impl EventStream {
    pub(crate) fn new(shared: Arc<NodeShared>, guard: Arc<ShutdownGuard>) -> Self {
        Self {
            shared,
            _guard: guard,
            pollfds: Vec::new(),
        }
    }

    /// Waits for the next event until `deadline`: polls the sockets itself, so that a message
    /// wakes this thread directly (see [`io`]).
    fn wait(&mut self, deadline: Option<Instant>) -> Next {
        let shared = &*self.shared;
        loop {
            let unfinished = {
                let mut state = shared.queue.lock();
                match state.try_pop() {
                    Next::Empty => {}
                    other => return other,
                }
                // Packets the last read left behind (it stopped at the first message, to
                // deliver it sooner) are read before waiting: a burst never waits in `poll`.
                let unfinished = shared
                    .reader
                    .try_lock()
                    .is_ok_and(|reader| reader.has_unfinished());
                if !unfinished {
                    // Set under the same lock as the pop: an event queued from now on
                    // writes a wake byte.
                    state.set_reader_waiting();
                }
                unfinished
            };
            if unfinished {
                if let Ok(mut reader) = shared.reader.try_lock() {
                    reader.drain_unfinished(shared);
                    shared.handoff.user_read(&reader);
                }
                continue;
            }
            shared.handoff.user_begins_wait();
            let timeout_ms = match deadline {
                None => -1,
                Some(deadline) => deadline
                    .saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(i32::MAX as u128) as i32,
            };
            self.pollfds.clear();
            self.pollfds.push(libc::pollfd {
                fd: shared.queue.wake_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            io::data_pollfds(shared, &mut self.pollfds);
            let polled = io::wait(shared, &mut self.pollfds, timeout_ms);
            // Stop being notified before reading: what this thread pushes itself needs no
            // wake-up byte (two syscalls per message saved).
            let woken = shared.queue.lock().end_reader_wait();
            if woken {
                shared.queue.read_wake_byte();
            }
            if polled && self.pollfds[1..].iter().any(|p| p.revents != 0) {
                match shared.reader.try_lock() {
                    Ok(mut reader) => {
                        reader.drain(shared, Some(&self.pollfds[1..]), io::Budget::FirstMessage);
                        shared.handoff.user_read(&reader);
                    }
                    // The I/O thread is reading: its events are moments away.
                    Err(_) => std::thread::yield_now(),
                }
            }
            shared.handoff.user_ends_wait();
            if !polled {
                return Next::End;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return shared.queue.lock().try_pop();
            }
        }
    }

    /// Blocks until the next event; `None` once the stream has ended.
    pub fn recv(&mut self) -> Option<Event> {
        match self.wait(None) {
            Next::Event(event) => Some(self.convert(event)),
            Next::Empty | Next::End => None,
        }
    }

    /// Like [`EventStream::recv`], but gives up after `timeout` with
    /// `Some(Event::Error("Receiver timed out"))` (as dora-rs does).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<Event> {
        match self.wait(Some(Instant::now() + timeout)) {
            Next::Event(event) => Some(self.convert(event)),
            Next::Empty => Some(Event::Error("Receiver timed out".into())),
            Next::End => None,
        }
    }

    /// Waits asynchronously for the next event; `None` once the stream has ended.
    pub async fn recv_async(&mut self) -> Option<Event> {
        futures::StreamExt::next(self).await
    }

    /// Returns an event that is already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        let mut state = self.shared.queue.lock();
        match state.try_pop() {
            Next::Event(event) => {
                drop(state);
                Some(self.convert(event))
            }
            _ => None,
        }
    }

    fn convert(&self, event: Queued) -> Event {
        let input_id = |input: u16| {
            DataId::from(
                self.shared
                    .config
                    .inputs
                    .get(input as usize)
                    .map(|i| i.id.clone())
                    .unwrap_or_default(),
            )
        };
        match event {
            Queued::Input {
                input,
                metadata,
                data,
            } => Event::Input {
                id: input_id(input),
                metadata,
                data: ArrowData(data),
            },
            Queued::Closed(input) => Event::InputClosed {
                id: input_id(input),
            },
            Queued::Stop => Event::Stop,
            Queued::Error(message) => Event::Error(message),
        }
    }
}

impl futures::Stream for EventStream {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        match self.shared.queue.poll(cx.waker()) {
            Next::Event(event) => Poll::Ready(Some(self.convert(event))),
            Next::End => Poll::Ready(None),
            Next::Empty => Poll::Pending,
        }
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("node", &self.shared.config.node_id)
            .finish()
    }
}
