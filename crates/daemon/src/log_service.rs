//! `dora logs` on the daemon's side: reads of node log files that the coordinator asks for
//! ([`CoordinatorToDaemon::ReadLog`]), each streamed on a blocking thread as chunks of at
//! most 1 MiB ([`crate::log_read`]), then an end marker.
//!
//! Flow control: a read has at most [`WINDOW`] chunks on their way at once; the coordinator
//! sends a credit ([`CoordinatorToDaemon::LogCredit`]) for each chunk it passed on to the
//! CLI, and a read without a credit for [`CREDIT_TIMEOUT`] (its CLI or the coordinator is
//! gone) ends. So neither this daemon nor the coordinator ever holds more than a few chunks
//! of a read, however large the file or slow the CLI.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

use dora_message::coordinator::{CoordinatorToDaemon, DaemonToCoordinator, LogRead};

use crate::{
    log_read::{stream_log, ReadOptions},
    outbox::Outbox,
};

/// Chunks of one read on their way at most.
pub const WINDOW: usize = 4;

/// A read that got no credit for this long is abandoned.
pub const CREDIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The reads in progress, and where each dataflow this daemon ran keeps its logs.
#[derive(Debug, Default)]
pub struct LogReads {
    reads: Arc<Mutex<BTreeMap<u64, mpsc::Sender<()>>>>,
    /// Dataflow id → its dataflow file, for reads of dataflows that already finished.
    dataflow_files: BTreeMap<String, PathBuf>,
}

impl LogReads {
    /// Remembers the dataflow file of a dataflow this daemon runs.
    pub fn remember(&mut self, dataflow_id: &str, path: &Path) {
        self.dataflow_files
            .insert(dataflow_id.to_owned(), path.to_owned());
    }

    /// Handles a log message of the coordinator; gives it back when it is something else.
    pub fn handle(
        &mut self,
        message: CoordinatorToDaemon,
        outbox: &Outbox,
        running: impl Fn(&str) -> bool + Send + 'static,
    ) -> Option<CoordinatorToDaemon> {
        match message {
            CoordinatorToDaemon::ReadLog(read) => {
                self.start(read, outbox.clone(), running);
                None
            }
            CoordinatorToDaemon::LogCredit { request } => {
                if let Some(credits) = lock(&self.reads).get(&request) {
                    let _ = credits.send(());
                }
                None
            }
            CoordinatorToDaemon::CancelLog { request } => {
                // Dropping the credit sender ends the read at its next chunk.
                lock(&self.reads).remove(&request);
                None
            }
            other => Some(other),
        }
    }

    /// Starts streaming the log a request names.
    pub fn start(
        &mut self,
        read: LogRead,
        outbox: Outbox,
        running: impl Fn(&str) -> bool + Send + 'static,
    ) {
        let request = read.request;
        let file = match self.log_file(&read) {
            Ok(file) => file,
            Err(error) => {
                outbox.send(DaemonToCoordinator::LogEnd {
                    request,
                    error: Some(error),
                });
                return;
            }
        };
        let (credits_tx, credits) = mpsc::channel();
        for _ in 0..WINDOW {
            let _ = credits_tx.send(());
        }
        lock(&self.reads).insert(request, credits_tx);
        let reads = self.reads.clone();
        let options = ReadOptions {
            tail: read.tail,
            since: read.since,
        };
        let dataflow_id = read.dataflow_id;
        let follow = read.follow;
        let spawned = std::thread::Builder::new()
            .name(format!("log read {request}"))
            .spawn(move || {
                let send = |text: String| {
                    if credits.recv_timeout(CREDIT_TIMEOUT).is_err() {
                        return false;
                    }
                    outbox.send(DaemonToCoordinator::LogChunk { request, text })
                };
                let result = stream_log(&file, options, follow, || running(&dataflow_id), send);
                lock(&reads).remove(&request);
                outbox.send(DaemonToCoordinator::LogEnd {
                    request,
                    error: result.err().map(|err| err.to_string()),
                });
            });
        if let Err(err) = spawned {
            lock(&self.reads).remove(&request);
            tracing::warn!("cannot start a thread to read a log: {err}");
        }
    }

    /// The log file a request names, or why there is none.
    fn log_file(&self, read: &LogRead) -> Result<PathBuf, String> {
        let node = &read.node_id;
        let plain =
            |name: &str| !name.is_empty() && !name.contains(['/', '\0']) && !name.starts_with('.');
        if !plain(node) {
            return Err(format!("`{node}` is not a node id"));
        }
        if !plain(&read.dataflow_id) {
            return Err(format!("`{}` is not a dataflow id", read.dataflow_id));
        }
        let dataflow_file = read
            .path
            .as_ref()
            .or_else(|| self.dataflow_files.get(&read.dataflow_id))
            .ok_or_else(|| {
                format!(
                    "this daemon does not know where dataflow {} keeps its logs",
                    read.dataflow_id
                )
            })?;
        let folder = dataflow_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok(folder
            .join("out")
            .join(&read.dataflow_id)
            .join(format!("log_{node}.txt")))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
