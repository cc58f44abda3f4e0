//! Messages between daemons, for dataflows whose nodes run on several machines.
//!
//! A local node talks to a remote machine through a *bridge*: a socket pair like the ones
//! between local nodes, whose other end the daemon holds. The node cannot tell the difference.
//! The daemon reads what the node sends on the bridge (mapping shared memory and copying the
//! payload once, then releasing the region), frames it as [`InterDaemon`] messages and
//! sends them over a TCP link to the daemon of the receiving machine, which writes them to its
//! own nodes' bridges — inline, or in a fresh sealed shared memory region for large payloads.
//!
//! The link is the one place that knows about TCP: another transport (Zenoh, across real
//! machines) replaces [`link`] and the accept side without touching routing or bridges.

use std::{
    collections::HashMap,
    net::SocketAddr,
    os::fd::{AsRawFd, OwnedFd},
    sync::Arc,
};

use dora_message::{
    coordinator::{InterDaemon, LinkHello, Role},
    data::{decode_packet, encode_packet, DataPacket, Payload, MAX_PACKET_LEN},
    ZERO_COPY_THRESHOLD,
};
use dora_transport::{OwnedRegion, Peer, Received, ReceivedRegion};
use tokio::sync::mpsc;

use dora_control::net::{connect_with_token, write_frame};

/// The daemon's end of a bridge between a local node and a remote machine.
#[derive(Debug)]
pub struct Bridge {
    /// The local node.
    pub node_id: String,
    /// The remote machine.
    pub machine: String,
    /// The daemon's end of the socket pair whose other end the node inherits.
    pub fd: OwnedFd,
    /// The local node's outputs that the machine consumes: output index → name.
    pub sends: Vec<(u16, String)>,
    /// The remote outputs the local node consumes, by bridge index: (node, output).
    pub receives: Vec<(String, String)>,
}

/// Reads what a local node sends on a bridge and hands it to the link to its machine, until
/// the node hangs up (then its outputs are reported closed).
pub fn forward_outgoing(
    peer: Arc<Peer>,
    node_id: String,
    sends: Vec<(u16, String)>,
    link: mpsc::UnboundedSender<InterDaemon>,
) {
    let mut bridge = OutgoingBridge {
        peer,
        node_id,
        sends,
        link,
        regions: HashMap::new(),
    };
    let mut buf = vec![0u8; MAX_PACKET_LEN];
    loop {
        wait_readable(&bridge.peer);
        loop {
            match bridge.peer.try_recv(&mut buf) {
                Ok(Received::Packet { len, fd }) => bridge.packet(&buf[..len], fd),
                Ok(Received::WouldBlock) => break,
                Ok(Received::Closed) | Err(_) => return bridge.close_outputs(),
            }
        }
    }
}

/// Blocks until the peer has something to read (or hung up).
fn wait_readable(peer: &Peer) {
    let mut pollfd = libc::pollfd {
        fd: peer.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut pollfd, 1, -1) };
}

/// The daemon's reading side of a bridge from a local node to another machine.
struct OutgoingBridge {
    peer: Arc<Peer>,
    node_id: String,
    /// The node's outputs that cross: output index → name.
    sends: Vec<(u16, String)>,
    link: mpsc::UnboundedSender<InterDaemon>,
    /// The node's regions mapped so far, by region id.
    regions: HashMap<u64, ReceivedRegion>,
}

impl OutgoingBridge {
    fn name_of(&self, output: u16) -> Option<String> {
        self.sends
            .iter()
            .find(|(index, _)| *index == output)
            .map(|(_, name)| name.clone())
    }

    /// Handles one packet from the node, with the descriptor it carried.
    fn packet(&mut self, bytes: &[u8], fd: Option<OwnedFd>) {
        let Ok((packet, inline)) = decode_packet(bytes) else {
            return tracing::warn!("dropped a malformed packet from node `{}`", self.node_id);
        };
        match packet {
            DataPacket::Message {
                output,
                metadata,
                payload,
            } => {
                let Some(data) = self.payload(payload, inline, fd) else {
                    return;
                };
                if let Some(output) = self.name_of(output) {
                    let _ = self.link.send(InterDaemon::Message {
                        node: self.node_id.clone(),
                        output,
                        metadata,
                        data,
                    });
                }
            }
            DataPacket::OutputClosed { output } => {
                if let Some(output) = self.name_of(output) {
                    self.output_closed(output);
                }
            }
            DataPacket::RetireRegion { region } => {
                self.regions.remove(&region);
            }
            // The daemon never lends regions on this side of the bridge.
            DataPacket::Release { .. } => {}
            // The node was restarted: its new process shares new regions and a new ring.
            DataPacket::PeerRestarted { restarts } => {
                self.regions.clear();
                self.peer.restarted();
                let mut packet = Vec::new();
                let answer = DataPacket::PeerRestarted { restarts };
                if dora_message::data::encode_packet(&mut packet, &answer, &[]).is_ok() {
                    let _ = self.peer.send(&packet, None);
                }
            }
            // Where the node wants its regions back: the releases of `payload` go there.
            DataPacket::ReleaseRing => {
                if let Some(fd) = fd {
                    if let Err(err) = self.peer.attach_release_ring(fd) {
                        tracing::warn!("node `{}`: {err}; releasing with packets", self.node_id);
                    }
                }
            }
        }
    }

    /// A copy of a message's payload: inline, or read from the region it names (mapped
    /// from `fd` when the packet brings it), which goes back to the node at once.
    fn payload(&mut self, payload: Payload, inline: &[u8], fd: Option<OwnedFd>) -> Option<Vec<u8>> {
        let (region, len, fd_attached) = match payload {
            Payload::Inline { .. } => return Some(inline.to_vec()),
            Payload::Region {
                region,
                len,
                fd_attached,
            } => (region, len, fd_attached),
        };
        if let (true, Some(fd)) = (fd_attached, fd) {
            match ReceivedRegion::map(fd) {
                Ok(mapping) => {
                    self.regions.insert(region, mapping);
                }
                Err(err) => tracing::warn!("node `{}`: {err}", self.node_id),
            }
        }
        let bytes = self.regions.get(&region).and_then(|mapping| {
            let len = usize::try_from(len).ok()?;
            (len <= mapping.len()).then(|| {
                // SAFETY: `len` bytes lie inside the read-only mapping, which the sender
                // does not touch until we release it.
                unsafe { std::slice::from_raw_parts(mapping.as_ptr(), len) }.to_vec()
            })
        });
        self.peer.release(region);
        if bytes.is_none() {
            tracing::warn!("node `{}` sent an unusable region", self.node_id);
        }
        bytes
    }

    fn output_closed(&self, output: String) {
        let _ = self.link.send(InterDaemon::OutputClosed {
            node: self.node_id.clone(),
            output,
        });
    }

    /// The node hung up: every output that crosses is closed.
    fn close_outputs(&self) {
        for (_, output) in &self.sends {
            self.output_closed(output.clone());
        }
    }
}

/// A bridge that receives from other machines, with the remote `(node, output)`s it carries
/// in bridge index order.
pub type ReceivingBridge = (Arc<Peer>, Vec<(String, String)>);

/// Writes what remote machines send to the local nodes that consume it, until the dataflow
/// ends (the channel closes).
pub fn deliver_incoming(
    dataflow_id: String,
    incoming: std::sync::mpsc::Receiver<InterDaemon>,
    bridges: Vec<ReceivingBridge>,
) {
    let mut packet = Vec::new();
    let mut next_region = 0u64;
    for message in incoming {
        let (node, output) = match &message {
            InterDaemon::Message { node, output, .. }
            | InterDaemon::OutputClosed { node, output } => (node.clone(), output.clone()),
        };
        for (peer, receives) in &bridges {
            let Some(index) = receives
                .iter()
                .position(|(n, o)| *n == node && *o == output)
            else {
                continue;
            };
            let index = index as u16;
            let sent = match &message {
                InterDaemon::OutputClosed { .. } => encode_packet(
                    &mut packet,
                    &DataPacket::OutputClosed { output: index },
                    &[],
                )
                .map_err(|err| err.to_string())
                .and_then(|()| peer.send(&packet, None).map_err(|err| err.to_string())),
                InterDaemon::Message { metadata, data, .. } if data.len() < ZERO_COPY_THRESHOLD => {
                    let header = DataPacket::Message {
                        output: index,
                        metadata: metadata.clone(),
                        payload: Payload::Inline {
                            len: data.len() as u32,
                        },
                    };
                    encode_packet(&mut packet, &header, data)
                        .map_err(|err| err.to_string())
                        .and_then(|()| peer.send(&packet, None).map_err(|err| err.to_string()))
                }
                InterDaemon::Message { metadata, data, .. } => {
                    next_region += 1;
                    let region = next_region;
                    send_in_region(
                        peer,
                        &mut packet,
                        &format!("dora-{dataflow_id}-bridge-{region}"),
                        region,
                        index,
                        metadata,
                        data,
                    )
                }
            };
            if let Err(err) = sent {
                tracing::warn!("delivering a message from `{node}/{output}`: {err}");
            }
        }
    }
}

/// Sends `data` in a new sealed region, then retires it: the receiver keeps its mapping only
/// as long as it holds the message.
fn send_in_region(
    peer: &Peer,
    packet: &mut Vec<u8>,
    name: &str,
    region: u64,
    output: u16,
    metadata: &dora_message::Metadata,
    data: &[u8],
) -> Result<(), String> {
    let memory = OwnedRegion::create(name, data.len()).map_err(|err| err.to_string())?;
    // SAFETY: the region was just created with at least `data.len()` bytes and nobody else
    // has it yet.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), memory.as_mut_ptr(), data.len()) };
    let header = DataPacket::Message {
        output,
        metadata: metadata.clone(),
        payload: Payload::Region {
            region,
            len: data.len() as u64,
            fd_attached: true,
        },
    };
    encode_packet(packet, &header, &[]).map_err(|err| err.to_string())?;
    peer.send(packet, memory.raw_fd())
        .map_err(|err| err.to_string())?;
    encode_packet(packet, &DataPacket::RetireRegion { region }, &[])
        .map_err(|err| err.to_string())?;
    peer.send(packet, None).map_err(|err| err.to_string())
}

/// The data link to another daemon for one dataflow: connects (retrying while the other
/// daemon starts the dataflow), then sends what local bridges forward.
pub async fn link(
    addr: SocketAddr,
    hello: LinkHello,
    token: Option<dora_control::access::Token>,
    mut outgoing: mpsc::UnboundedReceiver<InterDaemon>,
) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut stream = loop {
        let role = Role::Daemon {
            machine_id: hello.from_machine.clone(),
        };
        match connect_with_token(addr, role, token.as_ref()).await {
            Ok(stream) => break stream,
            Err(err) if tokio::time::Instant::now() > deadline => {
                return tracing::warn!(
                    "dataflow {}: no data link to {addr}: {err:#}; messages to that machine are lost",
                    hello.dataflow_id
                );
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    if write_frame(&mut stream, &hello).await.is_err() {
        return;
    }
    while let Some(message) = outgoing.recv().await {
        if let Err(err) = write_frame(&mut stream, &message).await {
            return tracing::warn!(
                "dataflow {}: data link to {addr} failed: {err}",
                hello.dataflow_id
            );
        }
    }
}
