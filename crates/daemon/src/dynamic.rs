//! Dynamic nodes (`path: dynamic`): nodes the user starts, not dora.
//!
//! A dynamic node gets its routing and data sockets like any node (see [`super::routing`]),
//! but instead of spawning a process the daemon offers the node's configuration and sockets
//! here, on a Unix socket in Linux's abstract namespace named after the daemon's local listen
//! port (`@dora-daemon-53291` by default): nothing on disk to leak, and the port, which
//! dora-rs v0.3.6 dynamic nodes use to find their daemon, stays the key. Only processes of
//! the daemon's user (or root) are served (`SO_PEERCRED`).
//!
//! The node sends its id ([`DynamicNodeRequest`]); the daemon answers with the configuration
//! and passes the data sockets with `SCM_RIGHTS`, then drops its own copies, so that the
//! node's exit hangs up its peers as a spawned node's does. The same connection then becomes
//! the node's control connection (hello, start barrier, events): its end is the node's exit.
//!
//! The TCP port itself is bound too: it reserves the number, and dora-rs v0.3.6 nodes, which
//! connect there, get a clear refusal.
//!
//! Each node is handed out once per run. Several running dataflows with a waiting dynamic
//! node of the same id are refused, naming the dataflows.

use std::{
    collections::BTreeMap,
    os::fd::{AsRawFd, OwnedFd, RawFd},
    sync::{Arc, Mutex, MutexGuard},
};

use dora_message::{
    frame,
    node_daemon::{
        dynamic_node_socket_name, DynamicNodeReply, DynamicNodeRequest, MAX_FDS_PER_MESSAGE,
    },
    PROTOCOL_VERSION,
};
use eyre::WrapErr;
use tokio::{
    io::AsyncWriteExt,
    net::{UnixListener, UnixStream},
    sync::mpsc,
};

use super::control::{self, ControlMessage};

/// How long a connecting process may take to name its node.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The dynamic nodes this process (a daemon or `dora run`) offers, for all its dataflows.
#[derive(Clone)]
pub struct DynamicNodes {
    dataflows: Arc<Mutex<BTreeMap<String, DataflowOffers>>>,
    socket: String,
}

impl std::fmt::Debug for DynamicNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicNodes")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

/// One dataflow's dynamic nodes.
struct DataflowOffers {
    /// Every node of the dataflow on this daemon (index = node index of the daemon loop).
    node_ids: Vec<String>,
    offers: Vec<Offer>,
    control: mpsc::UnboundedSender<ControlMessage>,
}

/// A dynamic node's configuration and data sockets, until the node takes them.
pub struct Offer {
    node: usize,
    node_id: String,
    config_json: String,
    /// `None` once handed out or withdrawn.
    fds: Option<Vec<OwnedFd>>,
    taken: bool,
}

impl Offer {
    /// Offers node `node` (its index in the daemon loop) with its configuration and the
    /// daemon's copies of its data sockets, in the order of the configuration's peers.
    pub fn new(node: usize, node_id: String, config_json: String, fds: Vec<OwnedFd>) -> Self {
        Self {
            node,
            node_id,
            config_json,
            fds: Some(fds),
            taken: false,
        }
    }
}

/// Removes a dataflow's offers (and closes the sockets nobody took) when the run ends.
pub struct OfferGuard {
    nodes: DynamicNodes,
    dataflow_id: String,
}

impl Drop for OfferGuard {
    fn drop(&mut self) {
        self.nodes.lock().remove(&self.dataflow_id);
    }
}

impl DynamicNodes {
    /// Takes the local listen port `address` (a TCP port, which reserves the number and
    /// answers dora-rs v0.3.6 nodes with a refusal) and the abstract socket named after it,
    /// and serves dynamic nodes there until the process ends.
    pub async fn bind(address: std::net::SocketAddr) -> eyre::Result<Self> {
        use std::os::linux::net::SocketAddrExt;
        let tcp = tokio::net::TcpListener::bind(address)
            .await
            .wrap_err_with(|| format!("binding the local listen port {address}"))?;
        let port = address.port();
        let socket = dynamic_node_socket_name(port);
        let address = std::os::unix::net::SocketAddr::from_abstract_name(socket.as_bytes())
            .wrap_err_with(|| format!("naming the dynamic node socket @{socket}"))?;
        let listener =
            std::os::unix::net::UnixListener::bind_addr(&address).wrap_err_with(|| {
                format!(
                    "listening for dynamic nodes on the abstract Unix socket @{socket} (local \
                 listen port {port}); is another dora daemon or `dora run` with dynamic nodes \
                 using that port?"
                )
            })?;
        listener
            .set_nonblocking(true)
            .wrap_err("making the dynamic node socket non-blocking")?;
        let listener = UnixListener::from_std(listener)
            .wrap_err("registering the dynamic node socket with the runtime")?;
        let nodes = Self {
            dataflows: Default::default(),
            socket,
        };
        tokio::spawn(refuse_tcp_nodes(tcp));
        tokio::spawn(accept(listener, nodes.clone()));
        Ok(nodes)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, DataflowOffers>> {
        self.dataflows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers a dataflow's dynamic nodes until the returned guard is dropped. Connections
    /// that take a node are served as control connections reporting to `control`.
    pub fn offer(
        &self,
        dataflow_id: &str,
        node_ids: Vec<String>,
        offers: Vec<Offer>,
        control: mpsc::UnboundedSender<ControlMessage>,
    ) -> OfferGuard {
        self.lock().insert(
            dataflow_id.to_owned(),
            DataflowOffers {
                node_ids,
                offers,
                control,
            },
        );
        OfferGuard {
            nodes: self.clone(),
            dataflow_id: dataflow_id.to_owned(),
        }
    }

    /// Withdraws the offer of node `node` (closing its data sockets). Returns false when
    /// the node already took it.
    pub fn withdraw(&self, dataflow_id: &str, node: usize) -> bool {
        let mut dataflows = self.lock();
        let Some(offer) = dataflows
            .get_mut(dataflow_id)
            .and_then(|d| d.offers.iter_mut().find(|o| o.node == node))
        else {
            return false;
        };
        offer.fds.take().is_some()
    }

    /// Takes the offer for `node_id`, or says why not.
    fn take(&self, node_id: &str) -> Result<Taken, String> {
        let mut dataflows = self.lock();
        let having: Vec<&String> = dataflows
            .iter()
            .filter(|(_, d)| d.offers.iter().any(|o| o.node_id == node_id))
            .map(|(id, _)| id)
            .collect();
        let waiting: Vec<String> = dataflows
            .iter()
            .filter(|(_, d)| {
                d.offers
                    .iter()
                    .any(|o| o.node_id == node_id && o.fds.is_some())
            })
            .map(|(id, _)| id.clone())
            .collect();
        match (having.len(), waiting.len()) {
            (0, _) => Err(not_offered(&dataflows, node_id)),
            (_, 0) => Err(
                if dataflows
                    .values()
                    .flat_map(|d| &d.offers)
                    .any(|o| o.node_id == node_id && o.taken)
                {
                    format!(
                        "dynamic node `{node_id}` is already connected (a dynamic node connects \
                         once per run of its dataflow)"
                    )
                } else {
                    format!("the dataflow of dynamic node `{node_id}` is stopping")
                },
            ),
            (_, 1) => {
                let dataflow_id = waiting[0].clone();
                let dataflow = dataflows
                    .get_mut(&dataflow_id)
                    .ok_or("the dataflow just ended")?;
                let offer = dataflow
                    .offers
                    .iter_mut()
                    .find(|o| o.node_id == node_id && o.fds.is_some())
                    .ok_or("the dataflow just withdrew the node")?;
                offer.taken = true;
                Ok(Taken {
                    node: offer.node,
                    config_json: offer.config_json.clone(),
                    fds: offer.fds.take().unwrap_or_default(),
                    dataflow_id,
                    node_ids: dataflow.node_ids.clone(),
                    control: dataflow.control.clone(),
                })
            }
            _ => Err(format!(
                "several running dataflows have a dynamic node `{node_id}` waiting: {}; stop \
                 all but one",
                waiting.join(", ")
            )),
        }
    }
}

/// Why no dataflow offers `node_id`: it is not dynamic, or no dataflow has it.
fn not_offered(dataflows: &BTreeMap<String, DataflowOffers>, node_id: &str) -> String {
    if let Some(dataflow) = dataflows
        .iter()
        .find(|(_, d)| d.node_ids.iter().any(|id| id == node_id))
        .map(|(id, _)| id)
    {
        return format!(
            "node `{node_id}` of dataflow {dataflow} is not a dynamic node: dora \
             starts it (only `path: dynamic` nodes are started by hand)"
        );
    }
    let dynamic: Vec<String> = dataflows
        .iter()
        .flat_map(|(id, d)| {
            d.offers
                .iter()
                .map(move |o| format!("`{}` (dataflow {id})", o.node_id))
        })
        .collect();
    if dynamic.is_empty() {
        format!(
            "no running dataflow has a dynamic node `{node_id}`: no dataflow with \
             dynamic nodes runs on this daemon"
        )
    } else {
        format!(
            "no running dataflow has a dynamic node `{node_id}`; dynamic nodes: {}",
            dynamic.join(", ")
        )
    }
}

/// An offer taken by a connecting node.
struct Taken {
    node: usize,
    config_json: String,
    fds: Vec<OwnedFd>,
    dataflow_id: String,
    node_ids: Vec<String>,
    control: mpsc::UnboundedSender<ControlMessage>,
}

async fn accept(listener: UnixListener, nodes: DynamicNodes) {
    let mut backoff = dora_control::AcceptBackoff::new("dynamic node connections");
    loop {
        if let Some((stream, _)) = backoff.outcome(listener.accept().await).await {
            tokio::spawn(serve(stream, nodes.clone()));
        }
    }
}

async fn serve(mut stream: UnixStream, nodes: DynamicNodes) {
    if !from_our_user(&stream) {
        return;
    }
    let request = match tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut stream)).await {
        Ok(Ok(request)) => request,
        Ok(Err(reason)) => return tracing::warn!("dropped a dynamic node connection: {reason}"),
        Err(_) => {
            return tracing::warn!(
                "dropped a dynamic node connection that named no node within \
                     {REQUEST_TIMEOUT:?}"
            )
        }
    };
    let taken = if request.protocol_version != PROTOCOL_VERSION {
        Err(format!(
            "protocol version mismatch: the daemon speaks {PROTOCOL_VERSION}, node `{}` \
             speaks {}",
            request.node_id, request.protocol_version
        ))
    } else {
        nodes.take(&request.node_id)
    };
    let taken = match taken {
        Ok(taken) => taken,
        Err(reason) => {
            tracing::warn!("refused dynamic node `{}`: {reason}", request.node_id);
            let _ = write_reply(&mut stream, &DynamicNodeReply::Refused(reason)).await;
            return;
        }
    };
    let Taken {
        node,
        config_json,
        fds,
        dataflow_id,
        node_ids,
        control,
    } = taken;
    if let Err(err) = hand_over(&mut stream, config_json, fds).await {
        tracing::warn!(
            "handing dynamic node `{}` its sockets failed: {err}",
            request.node_id
        );
        let _ = control.send(ControlMessage::Closed { node });
        return;
    }
    tracing::info!(
        "dynamic node `{}` of dataflow {dataflow_id} connected",
        request.node_id
    );
    control::serve(stream, dataflow_id, node_ids, control.clone()).await;
    let _ = control.send(ControlMessage::Closed { node });
}

/// Whether the connecting process runs as the daemon's user (or root); logs why not.
fn from_our_user(stream: &UnixStream) -> bool {
    match stream.peer_cred() {
        // SAFETY: geteuid has no preconditions.
        Ok(cred) if cred.uid() == unsafe { libc::geteuid() } || cred.uid() == 0 => true,
        Ok(cred) => {
            tracing::warn!(
                "refused a dynamic node connection from user {}: the daemon serves its own \
                 user only",
                cred.uid()
            );
            false
        }
        Err(err) => {
            tracing::warn!("dropped a dynamic node connection: {err}");
            false
        }
    }
}

/// Sends the node its configuration and data sockets. The daemon's copies are closed on
/// return, handed over or not: a node's exit must hang up its peers, so the daemon keeps
/// none.
async fn hand_over(
    stream: &mut UnixStream,
    config_json: String,
    fds: Vec<OwnedFd>,
) -> std::io::Result<()> {
    let reply = DynamicNodeReply::Config {
        config_json,
        fds: fds.len() as u32,
    };
    write_reply(stream, &reply).await?;
    send_fds(stream, &fds).await
}

async fn read_request(stream: &mut UnixStream) -> Result<DynamicNodeRequest, String> {
    match dora_control::net::read_frame(stream).await {
        Ok(Some(request)) => Ok(request),
        Ok(None) => Err("closed before naming a node".into()),
        Err(frame::FrameError::Decode(err)) => Err(format!("not a dynamic node request: {err}")),
        Err(err) => Err(err.to_string()),
    }
}

async fn write_reply(stream: &mut UnixStream, reply: &DynamicNodeReply) -> std::io::Result<()> {
    let bytes = frame::encode(reply).map_err(std::io::Error::other)?;
    stream.write_all(&bytes).await
}

/// Passes `fds` in one-byte messages of at most [`MAX_FDS_PER_MESSAGE`] descriptors.
async fn send_fds(stream: &UnixStream, fds: &[OwnedFd]) -> std::io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage as Cmsg, MsgFlags};
    for chunk in fds.chunks(MAX_FDS_PER_MESSAGE) {
        let raw: Vec<RawFd> = chunk.iter().map(AsRawFd::as_raw_fd).collect();
        loop {
            stream.writable().await?;
            let sent = stream.try_io(tokio::io::Interest::WRITABLE, || {
                let byte = [0u8; 1];
                let iov = [std::io::IoSlice::new(&byte)];
                sendmsg::<()>(
                    stream.as_raw_fd(),
                    &iov,
                    &[Cmsg::ScmRights(&raw)],
                    MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
                    None,
                )
                .map_err(std::io::Error::from)
            });
            match sent {
                Ok(_) => break,
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(err) => return Err(err),
            }
        }
    }
    Ok(())
}

/// The local listen port is where dora-rs's own dynamic nodes connect, over TCP. Dynamic nodes
/// of this dora take their configuration from the abstract Unix socket named after the port
/// (this module); TCP connections are answered with a clear refusal after the
/// handshake.
async fn refuse_tcp_nodes(listener: tokio::net::TcpListener) {
    let mut backoff = dora_control::AcceptBackoff::new("connections on the local listen port");
    loop {
        let Some((mut stream, peer)) = backoff.outcome(listener.accept().await).await else {
            continue;
        };
        tokio::spawn(async move {
            match dora_control::net::accept(&mut stream).await {
                Ok(role) => tracing::warn!(
                    "refused {role:?} from {peer} on the local listen port: dynamic nodes connect through \
                     the node API of this dora version (`DoraNode::init_from_node_id`, Python `Node(\"id\")`)"
                ),
                Err(reason) => tracing::warn!("dropped connection from {peer}: {reason}"),
            }
        });
    }
}
