//! A node's stdout and stderr: each line goes to the node's log file, to the terminal
//! prefixed with the node id, and — for stderr — into a short tail shown when the node fails.
//!
//! Lines longer than [`MAX_LOG_LINE`] (64 KiB) are split into pieces of at most that size,
//! each but the last marked as continued (see [`LineSplitter`]): a reader never holds more
//! than one piece per stream, whatever a node prints. The log file's format and size cap are
//! those of [`crate::log_file`].

use std::{
    collections::VecDeque,
    io::Write,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use dora_message::coordinator::{DaemonToCoordinator, LogLine, CONTINUED_MARK};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    sync::mpsc,
    task::JoinHandle,
};

use crate::{
    log_file::{LineSplitter, LogWriter, Source, MAX_LOG_LINE},
    outbox::Outbox,
    StopRequest,
};

/// Lines of stderr kept for the failure report.
pub const STDERR_TAIL_LINES: usize = 10;

/// Where the lines of a dataflow's nodes go besides their log files.
#[derive(Debug, Clone)]
pub struct LogSink {
    /// Print them on this process's stdout/stderr, prefixed with the node id.
    pub print: bool,
    /// Send them on as messages to the coordinator. A daemon passes the same queue that
    /// carries the dataflow's result, so every line reaches the coordinator before the result
    /// (or is dropped and counted, when the queue is full: see [`Outbox`]).
    pub forward: Option<Outbox>,
    /// With `print`: what happens once this process's stdout is a pipe whose reader left.
    pub closed_stdout: Option<ClosedStdout>,
}

/// Stops the dataflow once, when its printed output has no reader any more (`dora run |
/// head`): the nodes stop gracefully instead of running on unseen, and nothing more is
/// printed on stdout.
#[derive(Debug, Clone)]
pub struct ClosedStdout {
    stop: mpsc::UnboundedSender<StopRequest>,
    grace: Duration,
    closed: Arc<AtomicBool>,
}

impl ClosedStdout {
    /// Sends `StopRequest::Graceful(grace)` on `stop` when stdout closes.
    pub fn new(stop: mpsc::UnboundedSender<StopRequest>, grace: Duration) -> Self {
        Self {
            stop,
            grace,
            closed: Arc::default(),
        }
    }

    /// Whether stdout was found closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn closed(&self) {
        if !self.closed.swap(true, Ordering::Relaxed) {
            eprintln!("dora: standard output was closed; stopping the dataflow");
            let _ = self.stop.send(StopRequest::Graceful(self.grace));
        }
    }
}

impl LogSink {
    /// Prints everything on the terminal (`dora run`); when stdout closes, `closed_stdout`
    /// says what to do.
    pub fn terminal(closed_stdout: Option<ClosedStdout>) -> Self {
        Self {
            print: true,
            forward: None,
            closed_stdout,
        }
    }

    /// Whether stdout may still be written (it was not found closed).
    fn stdout_open(&self) -> bool {
        self.closed_stdout.as_ref().is_none_or(|c| !c.is_closed())
    }

    /// Handles a failed write to stdout.
    fn stdout_failed(&self, err: &std::io::Error) {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            if let Some(closed) = &self.closed_stdout {
                closed.closed();
            }
        }
    }

    /// A message from dora about the dataflow.
    pub fn notice(&self, dataflow_id: &str, message: &str) {
        if self.print {
            eprintln!("dora: {message}");
        }
        if let Some(forward) = &self.forward {
            let _ = forward.send(DaemonToCoordinator::Notice {
                dataflow_id: dataflow_id.into(),
                message: message.into(),
            });
        }
    }
}

/// The log of one node.
#[derive(Debug, Clone)]
pub struct NodeLog {
    dataflow_id: Arc<str>,
    node_id: Arc<str>,
    file: Arc<Mutex<LogWriter>>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    sink: LogSink,
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The node's standard output.
    Stdout,
    /// The node's standard error, whose last lines are kept for the failure report.
    Stderr,
}

impl NodeLog {
    /// The log of `node_id`, written to a new log file at `path` (see [`crate::log_file`])
    /// and passed on to `sink`.
    pub fn create(
        dataflow_id: &str,
        node_id: &str,
        path: &Path,
        sink: LogSink,
    ) -> std::io::Result<Self> {
        Ok(Self {
            dataflow_id: dataflow_id.into(),
            node_id: node_id.into(),
            file: Arc::new(Mutex::new(LogWriter::create(path)?)),
            stderr_tail: Arc::new(Mutex::new(VecDeque::new())),
            sink,
        })
    }

    fn forward(&self, stderr: bool, line: &str, continued: bool) {
        if let Some(forward) = &self.sink.forward {
            forward.send(DaemonToCoordinator::Log(LogLine {
                dataflow_id: self.dataflow_id.to_string(),
                node_id: self.node_id.to_string(),
                stderr,
                line: line.to_owned(),
                continued,
            }));
        }
    }

    fn write(&self, source: Source, continued: bool, text: &str) {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = file.write(source, continued, text) {
            tracing::warn!("cannot write the log of node `{}`: {err}", self.node_id);
        }
    }

    /// Writes a piece of a line to the log file and the terminal; `continued` when the line
    /// goes on in the next piece (shown with [`CONTINUED_MARK`]).
    pub fn piece(&self, stream: Stream, line: &str, continued: bool) {
        let source = match stream {
            Stream::Stdout => Source::Stdout,
            Stream::Stderr => Source::Stderr,
        };
        self.write(source, continued, line);
        self.forward(stream == Stream::Stderr, line, continued);
        let mark = if continued { CONTINUED_MARK } else { "" };
        match stream {
            Stream::Stdout => {
                if self.sink.print && self.sink.stdout_open() {
                    let mut out = std::io::stdout().lock();
                    if let Err(err) = writeln!(out, "[{}] {line}{mark}", self.node_id) {
                        self.sink.stdout_failed(&err);
                    }
                }
            }
            Stream::Stderr => {
                {
                    let mut tail = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
                    if tail.len() == STDERR_TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line.to_owned());
                }
                if self.sink.print {
                    let mut err = std::io::stderr().lock();
                    let _ = writeln!(err, "[{}] {line}{mark}", self.node_id);
                }
            }
        }
    }

    /// A message from dora itself about this node, in the log and on the terminal.
    pub fn note(&self, message: &str) {
        self.write(Source::Dora, false, message);
        self.sink.notice(
            &self.dataflow_id,
            &format!("node `{}`: {message}", self.node_id),
        );
    }

    /// The last stderr lines.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr_tail
            .lock()
            .map(|tail| tail.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Reads `pipe` line by line until it closes, in pieces of at most [`MAX_LOG_LINE`]
    /// bytes. With `forward`, stdout pieces are also sent there (for `send_stdout_as`).
    pub fn capture(
        &self,
        pipe: impl AsyncRead + Unpin + Send + 'static,
        stream: Stream,
        forward: Option<mpsc::UnboundedSender<String>>,
    ) -> JoinHandle<()> {
        let log = self.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::with_capacity(MAX_LOG_LINE, pipe);
            let mut splitter = LineSplitter::new(MAX_LOG_LINE);
            loop {
                let available = match reader.fill_buf().await {
                    Ok(available) => available,
                    Err(err) => {
                        tracing::warn!("reading the output of node `{}`: {err}", log.node_id);
                        break;
                    }
                };
                if available.is_empty() {
                    break;
                }
                let (taken, piece) = splitter.feed(available);
                reader.consume(taken);
                if let Some(piece) = piece {
                    log.piece(stream, &piece.text, piece.continued);
                    if let Some(forward) = &forward {
                        let _ = forward.send(piece.text);
                    }
                }
            }
            if let Some(piece) = splitter.finish() {
                log.piece(stream, &piece.text, piece.continued);
                if let Some(forward) = &forward {
                    let _ = forward.send(piece.text);
                }
            }
        })
    }
}
