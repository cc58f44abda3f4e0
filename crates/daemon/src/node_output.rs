//! A node's stdout and stderr: each line goes to the node's log file, to the terminal
//! prefixed with the node id, and — for stderr — into a short tail shown when the node fails.

use std::{
    collections::VecDeque,
    fs::File,
    io::Write,
    sync::{Arc, Mutex},
};

use dora_message::coordinator::{DaemonToCoordinator, LogLine};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    sync::mpsc,
    task::JoinHandle,
};

/// Lines of stderr kept for the failure report.
pub const STDERR_TAIL_LINES: usize = 10;

/// Where the lines of a dataflow's nodes go besides their log files.
#[derive(Debug, Clone)]
pub struct LogSink {
    /// Print them on this process's stdout/stderr, prefixed with the node id.
    pub print: bool,
    /// Send them on as messages to the coordinator. A daemon passes the same channel that
    /// carries the dataflow's result, so every line reaches the coordinator before the result.
    pub forward: Option<mpsc::UnboundedSender<DaemonToCoordinator>>,
}

impl LogSink {
    /// Prints everything on the terminal (`dora run`).
    pub fn terminal() -> Self {
        Self {
            print: true,
            forward: None,
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
    file: Arc<Mutex<File>>,
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
    /// The log of `node_id`, written to `file` and passed on to `sink`.
    pub fn new(dataflow_id: &str, node_id: &str, file: File, sink: LogSink) -> Self {
        Self {
            dataflow_id: dataflow_id.into(),
            node_id: node_id.into(),
            file: Arc::new(Mutex::new(file)),
            stderr_tail: Arc::new(Mutex::new(VecDeque::new())),
            sink,
        }
    }

    fn forward(&self, stderr: bool, line: &str) {
        if let Some(forward) = &self.sink.forward {
            let _ = forward.send(DaemonToCoordinator::Log(LogLine {
                dataflow_id: self.dataflow_id.to_string(),
                node_id: self.node_id.to_string(),
                stderr,
                line: line.to_owned(),
            }));
        }
    }

    /// Writes a line to the log file and the terminal.
    pub fn line(&self, stream: Stream, line: &str) {
        {
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(err) = writeln!(file, "{line}") {
                tracing::warn!("cannot write the log of node `{}`: {err}", self.node_id);
            }
        }
        self.forward(stream == Stream::Stderr, line);
        match stream {
            Stream::Stdout => {
                if self.sink.print {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "[{}] {line}", self.node_id);
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
                    let _ = writeln!(err, "[{}] {line}", self.node_id);
                }
            }
        }
    }

    /// A message from dora itself about this node, in the log and on the terminal.
    pub fn note(&self, message: &str) {
        {
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(file, "[dora] {message}");
        }
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

    /// Reads `pipe` line by line until it closes. With `forward`, stdout lines are also sent
    /// there (for `send_stdout_as`).
    pub fn capture(
        &self,
        pipe: impl AsyncRead + Unpin + Send + 'static,
        stream: Stream,
        forward: Option<mpsc::UnboundedSender<String>>,
    ) -> JoinHandle<()> {
        let log = self.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.trim_end_matches(['\n', '\r']);
                        log.line(stream, line);
                        if let Some(forward) = &forward {
                            let _ = forward.send(line.to_owned());
                        }
                    }
                    Err(err) => {
                        tracing::warn!("reading the output of node `{}`: {err}", log.node_id);
                        break;
                    }
                }
            }
        })
    }
}
