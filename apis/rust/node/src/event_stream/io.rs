//! The node's I/O thread: reads the daemon connection and every peer connection, turns what
//! arrives into queued events, and hands release tokens back to the pool.
//!
//! It is the only reader of these sockets. It never blocks on a write: release tokens that do
//! not fit in a full socket are queued and retried when the socket is writable again.

use std::{
    collections::HashMap,
    io::Read,
    os::fd::{AsRawFd, RawFd},
    ptr::NonNull,
    sync::Arc,
};

use arrow_array::make_array;
use arrow_buffer::Buffer;
use dora_message::{
    arrow::{array_from_buffer, ArrowTypeInfo},
    data::{decode_packet, DataPacket, Payload, MAX_PACKET_LEN},
    frame,
    node_daemon::{DaemonEvent, NodeRequest},
    Metadata,
};

use crate::{
    connection::{Peer, Received},
    node::NodeShared,
    shared_memory::ReceivedRegion,
};

/// A message received in a shared memory region. When the last Arrow buffer referring to it
/// is dropped, the sender gets the region back.
struct Delivery {
    peer: Arc<Peer>,
    region: u64,
    _mapping: Arc<ReceivedRegion>,
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.peer.release(self.region);
    }
}

/// Per-peer receive state.
struct PeerState {
    /// Mappings of the regions this peer shared with us, by region id.
    regions: HashMap<u64, Arc<ReceivedRegion>>,
    /// The peer's output index → our input indices.
    receives: Vec<(u16, Vec<u16>)>,
    open: bool,
}

pub(crate) fn run(shared: Arc<NodeShared>, mut control: impl Read + AsRawFd, shutdown: RawFd) {
    let mut peers: Vec<PeerState> = shared
        .config
        .peers
        .iter()
        .map(|p| PeerState {
            regions: HashMap::new(),
            receives: p.receives.clone(),
            open: true,
        })
        .collect();
    let mut control_buf = Vec::new();
    let mut read_buf = vec![0u8; MAX_PACKET_LEN];
    let mut control_open = true;
    let mut pollfds: Vec<libc::pollfd> = Vec::with_capacity(2 + peers.len());
    loop {
        pollfds.clear();
        pollfds.push(pollfd(
            if control_open {
                control.as_raw_fd()
            } else {
                -1
            },
            libc::POLLIN,
        ));
        pollfds.push(pollfd(shutdown, libc::POLLIN));
        for (peer, state) in shared.peers.iter().zip(&peers) {
            let mut events = libc::POLLIN;
            if peer
                .pending_releases
                .lock()
                .map(|p| !p.is_empty())
                .unwrap_or(false)
            {
                events |= libc::POLLOUT;
            }
            let fd = if state.open { peer.fd.as_raw_fd() } else { -1 };
            pollfds.push(pollfd(fd, events));
        }
        // SAFETY: `pollfds` is a valid, exclusively borrowed array of pollfd structs.
        let ready = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, -1) };
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            let mut queue = shared.queue.lock();
            queue.push_error(format!(
                "polling connections failed: {}",
                std::io::Error::last_os_error()
            ));
            queue.finish();
            shared.queue.notify(queue);
            return;
        }
        if pollfds[1].revents != 0 {
            return;
        }
        if control_open && pollfds[0].revents != 0 {
            control_open = read_control(&shared, &mut control, &mut control_buf, &mut read_buf);
        }
        for index in 0..peers.len() {
            let revents = pollfds[2 + index].revents;
            if revents == 0 {
                continue;
            }
            let peer = &shared.peers[index];
            if revents & libc::POLLOUT != 0 {
                peer.flush_releases();
            }
            if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                read_peer(&shared, index, &mut peers[index], &mut read_buf);
            }
        }
        report_drops(&shared);
    }
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Reads what the daemon sent; returns false once the connection is gone.
fn read_control(
    shared: &NodeShared,
    control: &mut impl Read,
    buf: &mut Vec<u8>,
    read_buf: &mut [u8],
) -> bool {
    let lost = |reason: String| {
        let mut queue = shared.queue.lock();
        queue.push_error(format!("lost the connection to the dora daemon: {reason}"));
        queue.finish();
        shared.queue.notify(queue);
        false
    };
    let n = match control.read(read_buf) {
        Ok(0) => {
            let mut queue = shared.queue.lock();
            queue.finish();
            shared.queue.notify(queue);
            return false;
        }
        Ok(n) => n,
        Err(err) if err.kind() == std::io::ErrorKind::Interrupted => return true,
        Err(err) => return lost(err.to_string()),
    };
    buf.extend_from_slice(&read_buf[..n]);
    let events: Vec<DaemonEvent> = match frame::drain(buf) {
        Ok(events) => events,
        Err(err) => return lost(format!("malformed message: {err}")),
    };
    if events.is_empty() {
        return true;
    }
    let mut queue = shared.queue.lock();
    for event in events {
        match event {
            DaemonEvent::Timer { input, timestamp } => {
                let data = make_array(arrow_data::ArrayData::new_empty(
                    &arrow_schema::DataType::Null,
                ));
                queue.push_input(
                    input,
                    Metadata::new(timestamp, ArrowTypeInfo::empty()),
                    data,
                );
            }
            DaemonEvent::Input {
                input,
                metadata,
                payload,
            } => match array_from_buffer(&Buffer::from_slice_ref(&payload), &metadata.type_info) {
                Ok(data) => queue.push_input(input, metadata, make_array(data)),
                Err(err) => queue.push_error(format!("invalid message from the daemon: {err}")),
            },
            DaemonEvent::InputClosed { input } => queue.close_input(input),
            DaemonEvent::Stop => queue.push_stop(),
        }
    }
    shared.queue.notify(queue);
    true
}

/// Drains every packet a peer has sent.
fn read_peer(shared: &NodeShared, index: usize, state: &mut PeerState, read_buf: &mut [u8]) {
    let peer = &shared.peers[index];
    loop {
        let (len, fd) = match peer.try_recv(read_buf) {
            Ok(Received::Packet { len, fd }) => (len, fd),
            Ok(Received::WouldBlock) => return,
            Ok(Received::Closed) => return peer_closed(shared, index, state, None),
            Err(err) => return peer_closed(shared, index, state, Some(err.to_string())),
        };
        let (packet, inline) = match decode_packet(&read_buf[..len]) {
            Ok(decoded) => decoded,
            Err(err) => {
                return peer_closed(
                    shared,
                    index,
                    state,
                    Some(format!("malformed packet: {err}")),
                )
            }
        };
        match packet {
            DataPacket::Message {
                output,
                metadata,
                payload,
            } => {
                let buffer = match payload {
                    Payload::Inline { .. } => Ok(Buffer::from_slice_ref(inline)),
                    Payload::Region {
                        region,
                        len,
                        fd_attached,
                    } => region_buffer(
                        peer,
                        state,
                        region,
                        len,
                        fd_attached.then_some(fd).flatten(),
                    ),
                };
                let data = buffer.and_then(|buffer| {
                    array_from_buffer(&buffer, &metadata.type_info)
                        .map_err(|err| format!("invalid Arrow layout: {err}"))
                });
                // Without a mapped input the data is dropped here, which releases its region.
                let Some((_, inputs)) = state.receives.iter().find(|(o, _)| *o == output) else {
                    continue;
                };
                let mut queue = shared.queue.lock();
                match data {
                    Ok(data) => {
                        let data = make_array(data);
                        for &input in inputs {
                            queue.push_input(input, metadata.clone(), data.clone());
                        }
                    }
                    Err(err) => queue.push_error(format!(
                        "dropped a message from node `{}`: {err}",
                        peer.node_id
                    )),
                }
                shared.queue.notify(queue);
            }
            DataPacket::OutputClosed { output } => {
                if let Some((_, inputs)) = state.receives.iter().find(|(o, _)| *o == output) {
                    let mut queue = shared.queue.lock();
                    for &input in inputs {
                        queue.close_input(input);
                    }
                    shared.queue.notify(queue);
                }
            }
            DataPacket::RetireRegion { region } => {
                state.regions.remove(&region);
            }
            DataPacket::Release { region } => shared.pool().release(region, index),
        }
    }
}

/// The Arrow buffer over a shared region, which releases the region when dropped.
fn region_buffer(
    peer: &Arc<Peer>,
    state: &mut PeerState,
    region: u64,
    len: u64,
    fd: Option<std::os::fd::OwnedFd>,
) -> Result<Buffer, String> {
    if let Some(fd) = fd {
        let mapping = ReceivedRegion::map(fd).map_err(|err| err.to_string())?;
        state.regions.insert(region, Arc::new(mapping));
    }
    let delivery = |mapping| {
        Arc::new(Delivery {
            peer: peer.clone(),
            region,
            _mapping: mapping,
        })
    };
    let Some(mapping) = state.regions.get(&region).cloned() else {
        // Still release it so the sender can reuse the region.
        peer.release(region);
        return Err(format!("unknown shared memory region {region}"));
    };
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > mapping.len() {
        peer.release(region);
        return Err(format!(
            "message of {len} bytes does not fit its {}-byte region",
            mapping.len()
        ));
    }
    let ptr = NonNull::new(mapping.as_ptr().cast_mut()).ok_or("null region mapping")?;
    // SAFETY: `ptr..ptr+len` lies inside the read-only mapping, which the `Delivery` keeps
    // alive for as long as the buffer exists; the sender does not write to the region until
    // the delivery is dropped and releases it.
    Ok(unsafe { Buffer::from_custom_allocation(ptr, len, delivery(mapping)) })
}

fn peer_closed(shared: &NodeShared, index: usize, state: &mut PeerState, error: Option<String>) {
    state.open = false;
    state.regions.clear();
    let peer = &shared.peers[index];
    peer.gone.store(true, std::sync::atomic::Ordering::Relaxed);
    shared.pool().peer_gone(index);
    let mut queue = shared.queue.lock();
    if let Some(error) = error {
        queue.push_error(format!(
            "connection to node `{}` failed: {error}",
            peer.node_id
        ));
    }
    for (_, inputs) in &state.receives {
        for &input in inputs {
            queue.close_input(input);
        }
    }
    shared.queue.notify(queue);
}

fn report_drops(shared: &NodeShared) {
    let reports: Vec<(usize, u64)> = {
        let mut queue = shared.queue.lock();
        queue
            .dropped
            .iter_mut()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(input, count)| (input, std::mem::take(count)))
            .collect()
    };
    for (input, count) in reports {
        let input = shared.config.inputs[input].id.clone();
        shared.send_to_daemon(&NodeRequest::InputsDropped { input, count });
    }
}
