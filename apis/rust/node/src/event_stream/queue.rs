//! The queue between the I/O thread and the user's event stream.
//!
//! Events keep their arrival order across inputs. Each input holds at most its `queue_size`
//! messages: when one more arrives, the oldest message of that input is dropped (and its
//! shared memory released), and the drop is counted and reported to the daemon, which writes
//! it to the node's log. The stream ends after `Stop`, when the daemon connection is lost, or
//! — for a node with inputs — once every input is closed and the queue is empty.
//!
//! A waiting reader polls a pipe (besides the sockets) rather than sleeping on a condition
//! variable: a pipe write is a synchronous wake-up for the scheduler, which tends to run the
//! reader on the waking CPU instead of waking an idle one.

use std::{
    collections::VecDeque,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex, MutexGuard,
    },
    task::Waker,
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
    /// A message was dropped since the last [`EventQueue::notify`].
    new_drops: bool,
    /// `Stop` was delivered: the stream is over.
    stopped: bool,
    /// A reader is blocked on the wake pipe and needs a byte written to it.
    reader_waiting: bool,
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
    /// Messages were dropped and not yet reported: lets the readers skip taking the lock to
    /// look for drops after every read.
    drops_to_report: AtomicBool,
    wake_read: OwnedFd,
    wake_write: OwnedFd,
}

impl EventQueue {
    pub fn new(queue_sizes: Vec<usize>) -> std::io::Result<Self> {
        let inputs = queue_sizes.len();
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into `fds`; the result is checked.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned by nobody else.
        let (wake_read, wake_write) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Self {
            state: Mutex::new(State {
                events: VecDeque::new(),
                queued: vec![0; inputs],
                queue_size: queue_sizes.into_iter().map(|q| q.max(1)).collect(),
                open: vec![true; inputs],
                open_count: inputs,
                dropped: vec![0; inputs],
                new_drops: false,
                stopped: false,
                reader_waiting: false,
                finished: false,
                waker: None,
            }),
            drops_to_report: AtomicBool::new(false),
            wake_read,
            wake_write,
        })
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
        if std::mem::take(&mut state.new_drops) {
            self.drops_to_report.store(true, Ordering::Release);
        }
        if std::mem::take(&mut state.reader_waiting) {
            // Written under the lock, so the reader always finds exactly one byte per wake-up.
            let byte = 1u8;
            // SAFETY: writes one byte from a valid location to our pipe.
            unsafe { libc::write(self.wake_write.as_raw_fd(), (&byte as *const u8).cast(), 1) };
        }
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether messages were dropped since the last call (then `State::dropped` has counts).
    pub fn take_new_drops(&self) -> bool {
        self.drops_to_report.load(Ordering::Acquire)
            && self.drops_to_report.swap(false, Ordering::AcqRel)
    }

    /// The descriptor a waiting reader polls: readable once events were queued for it.
    pub fn wake_fd(&self) -> std::os::fd::RawFd {
        self.wake_read.as_raw_fd()
    }

    /// Consumes the byte written for a reader that stopped waiting after being notified.
    pub fn read_wake_byte(&self) {
        let mut byte = 0u8;
        loop {
            // SAFETY: reads one byte into a valid location from our pipe.
            let n =
                unsafe { libc::read(self.wake_read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
            if n == 1
                || (n < 0
                    && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted)
            {
                return;
            }
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
    /// Marks a reader as waiting on the wake descriptor.
    pub fn set_reader_waiting(&mut self) {
        self.reader_waiting = true;
    }

    /// Ends a wait; returns true when a wake byte was written meanwhile (and must be read).
    pub fn end_reader_wait(&mut self) -> bool {
        !std::mem::take(&mut self.reader_waiting)
    }

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
                self.new_drops = true;
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
