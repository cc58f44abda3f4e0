//! The daemon's control endpoint: nodes connect, say hello, wait for the start barrier, then
//! receive timer ticks and stop requests and report dropped messages.
//!
//! Anything that is not a well-formed hello from a node of this dataflow — garbage, a
//! truncated or oversized frame, another protocol version — is refused and the connection
//! dropped, with the reason logged; nothing else is affected.

use std::time::Duration;

use dora_message::{
    node_daemon::{DaemonEvent, DaemonReply, NodeRequest},
    PROTOCOL_VERSION,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, UnixListener},
    sync::{mpsc, oneshot},
};

use dora_control::net::{read_frame, write_frame};

/// How long a new connection may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// What connection tasks report to the daemon loop.
#[derive(Debug)]
pub enum ControlMessage {
    /// A node said hello; answer on `reply`. After a `Start` reply, events sent on `events`
    /// go to the node.
    Hello {
        /// The node's index in the dataflow's node list.
        node: usize,
        /// Where the answer goes: `Start` at the barrier release, or a refusal.
        reply: oneshot::Sender<DaemonReply>,
        /// Where the daemon sends the node its events once started.
        events: mpsc::UnboundedSender<DaemonEvent>,
    },
    /// A request from a node that was released from the barrier.
    Request {
        /// The node's index in the dataflow's node list.
        node: usize,
        /// What the node asks or reports.
        request: NodeRequest,
    },
    /// The control connection of a dynamic node ended (or its handoff failed): for a node
    /// dora did not start, this is its exit.
    Closed {
        /// The node's index in the dataflow's node list.
        node: usize,
    },
}

/// Either kind of listener.
pub enum Listener {
    /// `_unstable_local: UnixDomain` (the default) or `Shmem`.
    Unix(UnixListener),
    /// `_unstable_local: Tcp`, on 127.0.0.1.
    Tcp(TcpListener),
}

/// Accepts node connections until the task is aborted.
pub async fn accept(
    listener: Listener,
    dataflow_id: String,
    node_ids: Vec<String>,
    to_daemon: mpsc::UnboundedSender<ControlMessage>,
) {
    let mut backoff = dora_control::AcceptBackoff::new("node connections");
    loop {
        let accepted = match &listener {
            Listener::Unix(l) => l.accept().await.map(|(s, _)| {
                tokio::spawn(serve(
                    s,
                    dataflow_id.clone(),
                    node_ids.clone(),
                    to_daemon.clone(),
                ))
            }),
            Listener::Tcp(l) => l.accept().await.map(|(s, _)| {
                let _ = s.set_nodelay(true);
                tokio::spawn(serve(
                    s,
                    dataflow_id.clone(),
                    node_ids.clone(),
                    to_daemon.clone(),
                ))
            }),
        };
        backoff.outcome(accepted).await;
    }
}

/// Serves one node connection until the node hangs up or the daemon drops the node's event
/// sender (a dynamic node it gives up on).
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    dataflow_id: String,
    node_ids: Vec<String>,
    to_daemon: mpsc::UnboundedSender<ControlMessage>,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let Some(hello) = read_hello(&mut reader).await else {
        return;
    };
    let node = match check_hello(&hello, &dataflow_id, &node_ids) {
        Ok(node) => node,
        Err(reason) => {
            tracing::warn!("refused a node connection: {reason}");
            let _ = write_frame(&mut writer, &DaemonReply::Refused(reason)).await;
            return;
        }
    };
    let (reply_tx, reply_rx) = oneshot::channel();
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    if to_daemon
        .send(ControlMessage::Hello {
            node,
            reply: reply_tx,
            events: events_tx,
        })
        .is_err()
    {
        return;
    }
    let Ok(reply) = reply_rx.await else { return };
    let started = reply == DaemonReply::Start;
    if write_frame(&mut writer, &reply).await.is_err() || !started {
        return;
    }
    let mut writer_task = tokio::spawn(async move {
        while let Some(event) = events_rx.recv().await {
            if write_frame(&mut writer, &event).await.is_err() {
                break;
            }
        }
    });
    loop {
        let frame = tokio::select! {
            frame = read_frame::<NodeRequest>(&mut reader) => frame,
            _ = &mut writer_task => break,
        };
        match frame {
            Ok(Some(request)) => {
                if to_daemon
                    .send(ControlMessage::Request { node, request })
                    .is_err()
                {
                    break;
                }
            }
            Ok(None) => break,
            Err(err) => {
                tracing::warn!("dropped the connection of node `{}`: {err}", node_ids[node]);
                break;
            }
        }
    }
    writer_task.abort();
}

/// The first frame of a connection, or `None` (logged) when none came in time.
async fn read_hello(reader: &mut (impl AsyncRead + Unpin)) -> Option<NodeRequest> {
    match tokio::time::timeout(HELLO_TIMEOUT, read_frame::<NodeRequest>(reader)).await {
        Err(_) => {
            tracing::warn!("dropped a connection that sent no hello within {HELLO_TIMEOUT:?}");
            None
        }
        Ok(Ok(hello)) => hello,
        Ok(Err(err)) => {
            tracing::warn!("dropped a connection: {err}");
            None
        }
    }
}

fn check_hello(
    hello: &NodeRequest,
    dataflow_id: &str,
    node_ids: &[String],
) -> Result<usize, String> {
    let NodeRequest::Hello {
        protocol_version,
        dataflow_id: their_dataflow,
        node_id,
    } = hello
    else {
        return Err("the first message was not a hello".into());
    };
    if protocol_version != PROTOCOL_VERSION {
        return Err(format!(
            "protocol version mismatch: the daemon speaks {PROTOCOL_VERSION}, node `{node_id}` \
             speaks {protocol_version}"
        ));
    }
    if their_dataflow != dataflow_id {
        return Err(format!(
            "node `{node_id}` belongs to dataflow {their_dataflow}, not {dataflow_id}"
        ));
    }
    node_ids
        .iter()
        .position(|id| id == node_id)
        .ok_or_else(|| format!("dataflow {dataflow_id} has no node `{node_id}`"))
}
