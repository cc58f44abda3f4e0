//! Reading a node's connections: the daemon connection and every peer connection. What
//! arrives becomes queued events; release tokens go back to the pool.
//!
//! Two threads may read: the node's I/O thread, always, and the user's thread while it waits
//! in `recv`. Both wait on the same sockets; the [`Reader`] lock makes one of them do the
//! reading. A message thus wakes the user's thread directly, like a plain socket read, with
//! no hand-off between threads on the way. Nothing here blocks on a write: notices (release
//! tokens, retirements) that do not fit in a full socket are queued and retried when the
//! socket is writable again.

use std::{
    collections::HashMap,
    os::fd::{AsRawFd, OwnedFd, RawFd},
    ptr::NonNull,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use arrow_array::make_array;
use arrow_buffer::Buffer;
use dora_message::{
    arrow::{array_from_buffer, ArrowTypeInfo},
    data::{decode_packet, encode_packet, DataPacket, Payload, MAX_PACKET_LEN},
    frame,
    node_daemon::{DaemonEvent, NodeRequest},
    Metadata, Parameter, RESTARTED_PARAMETER,
};

use dora_transport::{
    poll::{poll, pollfd},
    release_ring::COLLECT_INTERVAL,
    EventFd, Notice, Peer, Received, ReceivedRegion, Retired,
};

use crate::node::NodeShared;

/// A message received in a shared memory region. When the last Arrow buffer referring to it
/// is dropped, the sender gets the region back.
struct Delivery {
    peer: Arc<Peer>,
    /// The peer's generation when the message arrived: a restarted peer does not get it back.
    generation: u32,
    region: u64,
    _mapping: Arc<ReceivedRegion>,
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.peer.release_from(self.generation, self.region);
    }
}

/// Per-peer receive state.
struct PeerState {
    /// Mappings of the regions this peer shared with us, by region id.
    regions: HashMap<u64, Arc<ReceivedRegion>>,
    /// The peer's output index → our input indices.
    receives: Vec<(u16, Vec<u16>)>,
    open: bool,
    /// The last read stopped after queuing a message, before the socket was empty.
    unfinished: bool,
    /// Mappings of retired regions, unmapped later by the I/O thread.
    retired: Vec<Arc<ReceivedRegion>>,
    /// The peer has a restart policy: its outputs closing is not the end of its inputs here.
    restartable: bool,
    /// After the peer restarted: how many times, and the inputs whose next message carries
    /// [`RESTARTED_PARAMETER`].
    restarts: u32,
    marks: Vec<u16>,
}

/// How much of a connection [`Reader::drain`] reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// Everything that has arrived (the I/O thread: it keeps the queues current).
    All,
    /// Up to the first message of each connection (the user's thread, which wants that
    /// message now: reading on until the socket says "empty" would cost one more system
    /// call before the message is delivered; the rest is read on the next wait).
    FirstMessage,
}

/// The receiving side of a node's connections. Whichever thread holds it (the I/O thread, or
/// the user's thread while it waits for an event) drains every socket without blocking.
pub(crate) struct Reader {
    peers: Vec<PeerState>,
    control_buf: Vec<u8>,
    read_buf: Vec<u8>,
}

impl Reader {
    pub fn new(shared_config: &dora_message::config::NodeConfig) -> Self {
        Self {
            peers: shared_config
                .peers
                .iter()
                .map(|p| PeerState {
                    regions: HashMap::new(),
                    receives: p.receives.clone(),
                    open: true,
                    unfinished: false,
                    retired: Vec::new(),
                    restartable: p.restartable,
                    restarts: 0,
                    marks: Vec::new(),
                })
                .collect(),
            control_buf: Vec::new(),
            read_buf: vec![0u8; MAX_PACKET_LEN],
        }
    }

    /// Whether retired regions wait to be unmapped.
    pub fn has_retired(&self) -> bool {
        self.peers.iter().any(|peer| !peer.retired.is_empty())
    }

    /// Unmaps the regions peers retired.
    pub fn unmap_retired(&mut self) {
        for peer in &mut self.peers {
            peer.retired.clear();
        }
    }

    /// Reads what arrived on the daemon connection and on the peer connections (see
    /// [`Budget`]), retries queued release tokens, and reports dropped messages. With `ready`
    /// (the `revents` of [`data_pollfds`], in its order) only the connections that have
    /// something are read.
    pub fn drain(&mut self, shared: &NodeShared, ready: Option<&[libc::pollfd]>, budget: Budget) {
        let has = |index: usize| ready.is_none_or(|r| r.get(index).is_some_and(|p| p.revents != 0));
        if has(0)
            && shared.control_open.load(Ordering::Relaxed)
            && !read_control(shared, &mut self.control_buf, &mut self.read_buf)
        {
            shared.control_open.store(false, Ordering::Relaxed);
        }
        for index in 0..self.peers.len() {
            if !has(index + 1) {
                // Polled and found empty.
                self.peers[index].unfinished = false;
                continue;
            }
            self.read(shared, index, budget);
        }
        report_drops(shared);
    }

    /// Whether a connection may hold more packets than the last [`Budget::FirstMessage`]
    /// drain read.
    pub fn has_unfinished(&self) -> bool {
        self.peers.iter().any(|peer| peer.unfinished)
    }

    /// Reads everything on the connections a [`Budget::FirstMessage`] drain left early:
    /// during a burst, the messages that queued up meanwhile, in one go.
    pub fn drain_unfinished(&mut self, shared: &NodeShared) {
        for index in 0..self.peers.len() {
            if self.peers[index].unfinished {
                self.read(shared, index, Budget::All);
            }
        }
        report_drops(shared);
    }

    fn read(&mut self, shared: &NodeShared, index: usize, budget: Budget) {
        let peer = &shared.peers[index];
        peer.flush_notices();
        let state = &mut self.peers[index];
        state.unfinished = false;
        if state.open {
            read_peer(shared, index, state, &mut self.read_buf, budget);
        }
    }
}

/// The descriptors to wait on for incoming data: the daemon connection and every open peer
/// (also for writing when release tokens wait).
pub(crate) fn data_pollfds(shared: &NodeShared, out: &mut Vec<libc::pollfd>) {
    let control = if shared.control_open.load(Ordering::Relaxed) {
        shared.control_fd
    } else {
        -1
    };
    out.push(pollfd(control, libc::POLLIN));
    for peer in &shared.peers {
        let mut events = libc::POLLIN;
        if peer.has_pending_notices() {
            events |= libc::POLLOUT;
        }
        let fd = if peer.is_gone() { -1 } else { peer.as_raw_fd() };
        out.push(pollfd(fd, events));
    }
}

/// Waits on `pollfds`; false when polling itself failed (reported as an event).
pub(crate) fn wait(shared: &NodeShared, pollfds: &mut [libc::pollfd], timeout_ms: i32) -> bool {
    match poll(pollfds, timeout_ms) {
        Err(err) if err.kind() != std::io::ErrorKind::Interrupted => {
            let mut queue = shared.queue.lock();
            queue.push_error(format!("polling connections failed: {err}"));
            queue.finish();
            shared.queue.notify(queue);
            false
        }
        _ => true,
    }
}

/// Coordination between the I/O thread and a user thread waiting in `recv`.
///
/// Only one thread should be waiting on the data sockets at a time: when both are, a message
/// wakes both, and the scheduler tends to send one of them to an idle CPU, which costs tens of
/// microseconds on a virtual machine. So while the user's thread waits (and reads the
/// sockets itself), the I/O thread steps aside; it looks again after a short, growing delay
/// and takes over the draining once the user's thread is busy elsewhere.
pub(crate) struct Handoff {
    /// The user's thread is waiting in `recv` and reads the sockets itself.
    pub user_waiting: AtomicBool,
    /// The user's thread left packets on a connection ([`Budget::FirstMessage`]) and reads
    /// them on its next wait, normally moments later. The I/O thread treats this like a
    /// waiting user: it does not wake for those packets at once (a wake-up on the other CPU
    /// for every message of a burst), but takes over after its step-aside delay.
    pub user_unfinished: AtomicBool,
    /// The I/O thread is (about to be) waiting on the data sockets.
    io_polling: AtomicBool,
    /// The I/O thread is (about to be) waiting without a timeout: it does not look into the
    /// release rings until something wakes it (see [`Handoff::wake_for_collection`]).
    io_unbounded: AtomicBool,
    /// Signalled to move the I/O thread off the data sockets.
    io_wake: EventFd,
}

/// Longest the I/O thread leaves the sockets to a waiting user thread before looking again.
const MAX_STEP_ASIDE: Duration = Duration::from_millis(20);

impl Handoff {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            user_waiting: AtomicBool::new(false),
            user_unfinished: AtomicBool::new(false),
            io_polling: AtomicBool::new(false),
            io_unbounded: AtomicBool::new(false),
            io_wake: EventFd::new()?,
        })
    }

    /// Called by the user's thread before it polls the sockets.
    pub fn user_begins_wait(&self) {
        self.user_waiting.store(true, Ordering::SeqCst);
        if self.io_polling.load(Ordering::SeqCst) {
            self.io_wake.signal();
        }
    }

    /// Called by the user's thread after it read the connections: records whether it left
    /// packets behind, and wakes the I/O thread to unmap the regions it saw retired (the
    /// I/O thread unmaps, see [`Reader::drain`]'s callers; it may be blocked with nothing
    /// else to wake it).
    pub fn user_read(&self, reader: &Reader) {
        self.user_unfinished
            .store(reader.has_unfinished(), Ordering::SeqCst);
        if reader.has_retired() {
            self.wake_io();
        }
    }

    /// Wakes the I/O thread (to unmap regions the user's thread saw retired).
    fn wake_io(&self) {
        self.io_wake.signal();
    }

    /// Called after the pool grew large enough to need the I/O thread's looks into the
    /// release rings: wakes the I/O thread if it waits without a timeout (once; it then
    /// waits with [`COLLECT_INTERVAL`] while the pool stays large).
    pub fn wake_for_collection(&self) {
        if self.io_unbounded.swap(false, Ordering::SeqCst) {
            self.wake_io();
        }
    }

    pub fn user_ends_wait(&self) {
        self.user_waiting.store(false, Ordering::SeqCst);
    }

    fn clear_wake(&self) {
        self.io_wake.clear();
    }
}

/// The I/O thread: keeps draining the sockets while the user's thread is busy elsewhere, so
/// queues apply drop-oldest and senders never wait on a slow node.
pub(crate) fn run(shared: Arc<NodeShared>, shutdown: RawFd) {
    let handoff = &shared.handoff;
    let mut pollfds: Vec<libc::pollfd> = Vec::with_capacity(2 + shared.peers.len());
    let mut step_aside = Duration::from_millis(1);
    loop {
        pollfds.clear();
        pollfds.push(pollfd(shutdown, libc::POLLIN));
        pollfds.push(pollfd(handoff.io_wake.as_raw_fd(), libc::POLLIN));
        handoff.io_polling.store(true, Ordering::SeqCst);
        let user_waiting = handoff.user_waiting.load(Ordering::SeqCst)
            || handoff.user_unfinished.load(Ordering::SeqCst);
        let timeout_ms = if user_waiting {
            handoff.io_polling.store(false, Ordering::SeqCst);
            let ms = step_aside.as_millis() as i32;
            step_aside = (step_aside * 2).min(MAX_STEP_ASIDE);
            ms
        } else {
            step_aside = Duration::from_millis(1);
            data_pollfds(&shared, &mut pollfds);
            // Announced before looking at the pool: a sender that grows the pool after the
            // look sees the flag and wakes this thread.
            handoff.io_unbounded.store(true, Ordering::SeqCst);
            if shared.pool().wants_collection() {
                handoff.io_unbounded.store(false, Ordering::SeqCst);
                COLLECT_INTERVAL.as_millis() as i32
            } else {
                -1
            }
        };
        let ok = wait(&shared, &mut pollfds, timeout_ms);
        handoff.io_polling.store(false, Ordering::SeqCst);
        handoff.io_unbounded.store(false, Ordering::SeqCst);
        if !ok || pollfds[0].revents != 0 {
            return;
        }
        if pollfds[1].revents != 0 {
            handoff.clear_wake();
        }
        if let Ok(mut reader) = shared.reader.try_lock() {
            reader.unmap_retired();
        }
        collect_releases(&shared);
        if handoff.user_waiting.load(Ordering::SeqCst) {
            continue;
        }
        if user_waiting || pollfds[2..].iter().any(|p| p.revents != 0) {
            let ready = (!user_waiting).then_some(&pollfds[2..]);
            match shared.reader.try_lock() {
                Ok(mut reader) => {
                    reader.drain(&shared, ready, Budget::All);
                    handoff
                        .user_unfinished
                        .store(reader.has_unfinished(), Ordering::SeqCst);
                    // This thread unmaps what it just saw retired: nothing may wake it again.
                    reader.unmap_retired();
                }
                // The user's thread is draining right now.
                Err(_) => std::thread::yield_now(),
            }
        }
    }
}

/// Reads what the daemon sent; returns false once the connection is gone.
fn read_control(shared: &NodeShared, buf: &mut Vec<u8>, read_buf: &mut [u8]) -> bool {
    let lost = |reason: String| {
        let mut queue = shared.queue.lock();
        queue.push_error(format!("lost the connection to the dora daemon: {reason}"));
        queue.finish();
        shared.queue.notify(queue);
        false
    };
    // SAFETY: receives at most `read_buf.len()` bytes into it.
    let n = unsafe {
        libc::recv(
            shared.control_fd,
            read_buf.as_mut_ptr().cast(),
            read_buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    let n = match n {
        n if n > 0 => Ok(n as usize),
        0 => Ok(0),
        _ => Err(std::io::Error::last_os_error()),
    };
    let n = match n {
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return true,
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

/// Reads the packets a peer has sent: all of them, or up to the first message queued as an
/// input (then `state.unfinished` is set).
fn read_peer(
    shared: &NodeShared,
    index: usize,
    state: &mut PeerState,
    read_buf: &mut [u8],
    budget: Budget,
) {
    let peer = &shared.peers[index];
    loop {
        let (packet, inline, fd) = match next_packet(peer, read_buf) {
            Ok(Some(packet)) => packet,
            Ok(None) => return,
            Err(error) => return peer_closed(shared, index, state, error),
        };
        match packet {
            DataPacket::Message {
                output,
                metadata,
                payload,
            } => {
                let data = message_data(peer, state, payload, inline, fd, &metadata.type_info);
                if queue_message(shared, peer, state, output, metadata, data)
                    && budget == Budget::FirstMessage
                {
                    state.unfinished = true;
                    return;
                }
            }
            // A restartable peer's outputs end with its connection (see `peer_closed`).
            DataPacket::OutputClosed { .. } if state.restartable => {}
            DataPacket::OutputClosed { output } => close_peer_output(shared, state, output),
            DataPacket::PeerRestarted { restarts } => {
                peer_restarted(shared, index, state, restarts)
            }
            DataPacket::RetireRegion { region } => {
                // Unmapping makes the kernel interrupt every CPU this process runs on; leave
                // it to the I/O thread rather than delay the message this thread waits for.
                if let Some(mapping) = state.regions.remove(&region) {
                    state.retired.push(mapping);
                }
            }
            DataPacket::Release { region } => take_back(shared, index, region),
            DataPacket::ReleaseRing => {
                // Without a usable ring the peer keeps releasing with packets: slower, but
                // nothing is lost, so a bad ring is not worth an error event.
                if let Some(fd) = fd {
                    let _ = peer.attach_release_ring(fd);
                }
            }
        }
    }
}

/// A packet read from a peer: the packet, its inline payload (in the read buffer) and the
/// descriptor it carried.
type Packet<'buf> = (DataPacket, &'buf [u8], Option<OwnedFd>);

/// Receives and decodes the next packet of `peer`, without blocking: `None` when there is
/// none for now, an error when the connection ended (with why, unless the peer hung up).
#[inline]
fn next_packet<'buf>(
    peer: &Peer,
    read_buf: &'buf mut [u8],
) -> Result<Option<Packet<'buf>>, Option<String>> {
    let (len, fd) = match peer.try_recv(read_buf) {
        Ok(Received::Packet { len, fd }) => (len, fd),
        Ok(Received::WouldBlock) => return Ok(None),
        Ok(Received::Closed) => return Err(None),
        Err(err) => return Err(Some(err.to_string())),
    };
    match decode_packet(&read_buf[..len]) {
        Ok((packet, inline)) => Ok(Some((packet, inline, fd))),
        Err(err) => Err(Some(format!("malformed packet: {err}"))),
    }
}

/// The Arrow data of a message: its inline bytes, or a view of the shared region it names
/// (mapped first when `fd` brings the region).
#[inline]
fn message_data(
    peer: &Arc<Peer>,
    state: &mut PeerState,
    payload: Payload,
    inline: &[u8],
    fd: Option<OwnedFd>,
    type_info: &ArrowTypeInfo,
) -> Result<arrow_data::ArrayData, String> {
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
    buffer.and_then(|buffer| {
        array_from_buffer(&buffer, type_info).map_err(|err| format!("invalid Arrow layout: {err}"))
    })
}

/// Queues a message of the peer's `output` for every input that receives it (or the error
/// that made it unreadable); returns false when no input receives that output (the data is
/// then dropped here, which releases its region).
#[inline]
fn queue_message(
    shared: &NodeShared,
    peer: &Peer,
    state: &mut PeerState,
    output: u16,
    mut metadata: Metadata,
    data: Result<arrow_data::ArrayData, String>,
) -> bool {
    let Some((_, inputs)) = state.receives.iter().find(|(o, _)| *o == output) else {
        return false;
    };
    if !state.marks.is_empty() {
        let before = state.marks.len();
        state.marks.retain(|input| !inputs.contains(input));
        if state.marks.len() != before {
            metadata.parameters.insert(
                RESTARTED_PARAMETER.to_owned(),
                Parameter::Integer(i64::from(state.restarts)),
            );
        }
    }
    // What a peer sent after releasing regions is seen after its releases, as if they had
    // come as packets on this connection.
    collect_releases(shared);
    let mut queue = shared.queue.lock();
    match data {
        Ok(data) => {
            let data = make_array(data);
            // The common single input takes the message without a copy.
            if let [rest @ .., last] = inputs.as_slice() {
                for &input in rest {
                    queue.push_input(input, metadata.clone(), data.clone());
                }
                queue.push_input(*last, metadata, data);
            }
        }
        Err(err) => queue.push_error(format!(
            "dropped a message from node `{}`: {err}",
            peer.node_id()
        )),
    }
    shared.queue.notify(queue);
    true
}

/// The peer closed its `output`: the inputs that receive it are closed.
fn close_peer_output(shared: &NodeShared, state: &PeerState, output: u16) {
    collect_releases(shared);
    if let Some((_, inputs)) = state.receives.iter().find(|(o, _)| *o == output) {
        let mut queue = shared.queue.lock();
        for &input in inputs {
            queue.close_input(input);
        }
        shared.queue.notify(queue);
    }
}

/// A token for `region` came back from peer `index` as a packet.
fn take_back(shared: &NodeShared, index: usize, region: u64) {
    // A pool grown by a burst shrinks here, as its regions come back, rather than on the send
    // path where it would delay messages. A packet may mean that the peer found its ring
    // full: empty it too.
    let retired = {
        let mut pool = shared.pool();
        pool.release(region, index);
        pool.collect_and_retire(1)
    };
    announce_retired(shared, retired);
}

/// Tells the receivers of retired regions to unmap them.
fn announce_retired(shared: &NodeShared, retired: Vec<Retired>) {
    for (region, peers) in retired {
        for peer in peers {
            shared.peers[peer].notify(Notice::Retire(region));
        }
    }
}

/// The I/O thread's look into the release rings (see [`dora_transport::release_ring`]): takes back
/// the regions receivers released and retires the pool's surplus.
fn collect_releases(shared: &NodeShared) {
    let retired = {
        let mut pool = shared.pool();
        if !pool.wants_collection() {
            return;
        }
        pool.collect_and_retire(0)
    };
    announce_retired(shared, retired);
}

/// The Arrow buffer over a shared region, which releases the region when dropped.
fn region_buffer(
    peer: &Arc<Peer>,
    state: &mut PeerState,
    region: u64,
    len: u64,
    fd: Option<OwnedFd>,
) -> Result<Buffer, String> {
    if let Some(fd) = fd {
        let mapping = ReceivedRegion::map(fd).map_err(|err| err.to_string())?;
        state.regions.insert(region, Arc::new(mapping));
    }
    let generation = peer.generation();
    let delivery = |mapping| {
        Arc::new(Delivery {
            peer: peer.clone(),
            generation,
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
    peer.mark_gone();
    shared.pool().peer_gone(index);
    let mut queue = shared.queue.lock();
    if let Some(error) = error {
        queue.push_error(format!(
            "connection to node `{}` failed: {error}",
            peer.node_id()
        ));
    }
    for (_, inputs) in &state.receives {
        for &input in inputs {
            queue.close_input(input);
        }
    }
    shared.queue.notify(queue);
}

/// The peer's process was replaced (see [`DataPacket::PeerRestarted`]): forget what the old
/// one shared and had, mark the next message of each input it feeds, and answer, so that the
/// daemon knows everything this node sends from now on is for the new process.
fn peer_restarted(shared: &NodeShared, index: usize, state: &mut PeerState, restarts: u32) {
    let peer = &shared.peers[index];
    peer.restarted();
    // Mappings in use stay alive through their deliveries.
    state.regions.clear();
    state.restarts = restarts;
    state.marks = state
        .receives
        .iter()
        .flat_map(|(_, inputs)| inputs.iter().copied())
        .collect();
    let retired = shared.pool().peer_restarted(index);
    announce_retired(shared, retired);
    let mut packet = Vec::with_capacity(16);
    if encode_packet(&mut packet, &DataPacket::PeerRestarted { restarts }, &[]).is_ok() {
        // The daemon reads this end until the answer comes: this does not block for long.
        let _ = peer.send(&packet, None);
    }
}

fn report_drops(shared: &NodeShared) {
    if !shared.queue.take_new_drops() {
        return;
    }
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
