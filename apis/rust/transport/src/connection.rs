//! A direct data connection to a peer node: one `SOCK_SEQPACKET` Unix socket, inherited from
//! the daemon, carrying [`DataPacket`]s both ways.
//!
//! One packet is one `sendmsg`/`recvmsg`, with at most one descriptor attached
//! (`SCM_RIGHTS`): a region the receiver does not have yet, or the connection's release ring.
//! Descriptors are received close-on-exec, so processes a node spawns do not inherit them.

use std::{
    io::{self, IoSlice, IoSliceMut},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Mutex, RwLock,
    },
};

use dora_message::{
    data::{encode_packet, DataPacket},
    node_daemon::MAX_FDS_PER_MESSAGE,
};
use nix::{
    errno::Errno,
    sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags},
};

use crate::{error::TransportError, release_ring::RingProducer};

/// One peer connection, shared by the sending side (user thread) and the I/O thread.
#[derive(Debug)]
pub struct Peer {
    node_id: String,
    fd: OwnedFd,
    /// Notices that could not be sent without blocking; the I/O thread retries them.
    pending_notices: Mutex<Vec<Notice>>,
    /// Whether `pending_notices` is non-empty (read without taking its lock on every drain).
    notices_waiting: AtomicBool,
    /// Set once the peer hung up and everything it sent was read: the connection is no
    /// longer polled.
    gone: AtomicBool,
    /// Set once sending failed because the peer hung up. Reading goes on: what the peer sent
    /// before it left (its last messages, its outputs closing) is still delivered.
    unwritable: AtomicBool,
    /// Where regions of this peer are released, once it sent one (see
    /// [`crate::release_ring`]).
    release_ring: RwLock<Option<RingProducer>>,
    /// Counts the peer's restarts seen on this connection ([`Peer::restarted`]): a region
    /// received from an earlier incarnation is not released to the current one.
    generation: AtomicU32,
}

/// A small packet about a shared memory region, sent without ever blocking: a thread that
/// reads sockets must not wait on a full one (two nodes sending to each other would
/// deadlock). What does not fit is queued and retried once the socket is writable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The receiver no longer reads the message in this region (receiver → sender).
    Release(u64),
    /// The region is out of service: unmap it (sender → receiver).
    Retire(u64),
}

/// Result of one non-blocking receive.
pub enum Received {
    /// A packet of `len` bytes, at the start of the buffer, with the descriptor it carried.
    Packet {
        /// The packet's length.
        len: usize,
        /// The descriptor attached with `SCM_RIGHTS`, if any (close-on-exec).
        fd: Option<OwnedFd>,
    },
    /// Nothing to read now.
    WouldBlock,
    /// The peer hung up and everything it sent was read.
    Closed,
}

impl AsRawFd for Peer {
    #[inline]
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Peer {
    /// The peer node's id.
    #[inline]
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Whether the peer hung up and everything it sent was read (see [`Peer::mark_gone`]).
    #[inline]
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    /// Records that the peer hung up and everything it sent was read: the connection is no
    /// longer polled, and nothing is sent to it anymore.
    #[inline]
    pub fn mark_gone(&self) {
        self.gone.store(true, Ordering::Relaxed);
    }

    /// Wraps a descriptor this process owns (the daemon's end of a socket pair).
    pub fn from_owned(node_id: String, fd: OwnedFd) -> Self {
        Self {
            node_id,
            fd,
            pending_notices: Mutex::new(Vec::new()),
            notices_waiting: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            unwritable: AtomicBool::new(false),
            release_ring: RwLock::new(None),
            generation: AtomicU32::new(0),
        }
    }

    /// Takes ownership of an inherited descriptor after checking it is an open socket.
    pub fn from_inherited(node_id: String, fd: RawFd) -> Result<Self, TransportError> {
        let mut kind: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `kind`.
        let ret = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&mut kind as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if ret != 0 || kind != libc::SOCK_SEQPACKET {
            return Err(TransportError::NotADataSocket { fd, node_id });
        }
        // SAFETY: the daemon passed this descriptor to this process for this connection only,
        // and it was checked to be an open socket above.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: valid fd; sets FD_CLOEXEC so processes this node spawns do not inherit it.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        Ok(Self {
            node_id,
            fd,
            pending_notices: Mutex::new(Vec::new()),
            notices_waiting: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            unwritable: AtomicBool::new(false),
            release_ring: RwLock::new(None),
            generation: AtomicU32::new(0),
        })
    }

    /// Sends one packet, blocking while the peer's buffer is full. `fd` is attached with
    /// `SCM_RIGHTS`. A peer that hung up is not an error: it gets nothing.
    #[inline]
    pub fn send(&self, packet: &[u8], fd: Option<RawFd>) -> Result<(), TransportError> {
        if !self.can_send() {
            return Ok(());
        }
        let iov = [IoSlice::new(packet)];
        let fds;
        let cmsgs: &[ControlMessage] = match fd {
            Some(fd) => {
                fds = [fd];
                &[ControlMessage::ScmRights(&fds)]
            }
            None => &[],
        };
        loop {
            match sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(Errno::EPIPE | Errno::ECONNRESET | Errno::ECONNREFUSED) => {
                    self.unwritable.store(true, Ordering::Relaxed);
                    return Ok(());
                }
                Err(err) => {
                    return Err(TransportError::Send {
                        peer: self.node_id.clone(),
                        source: io::Error::from(err),
                    })
                }
            }
        }
    }

    /// Whether packets can still reach the peer.
    #[inline]
    pub fn can_send(&self) -> bool {
        !self.gone.load(Ordering::Relaxed) && !self.unwritable.load(Ordering::Relaxed)
    }

    /// Tells the sender that the message in `region` is no longer read, without blocking:
    /// through the release ring, which wakes nobody, or with a packet when there is no ring
    /// or it is full.
    #[inline]
    pub fn release(&self, region: u64) {
        let in_ring = self
            .release_ring
            .read()
            .is_ok_and(|ring| ring.as_ref().is_some_and(|ring| ring.push(region)));
        if !in_ring {
            self.notify(Notice::Release(region));
        }
    }

    /// [`Peer::release`] of a region received while the peer was at `generation` (see
    /// [`Peer::generation`]): nothing when the peer restarted since, as the new process
    /// does not know the region.
    #[inline]
    pub fn release_from(&self, generation: u32, region: u64) {
        if self.generation() == generation {
            self.release(region);
        }
    }

    /// How many restarts of the peer this connection has seen.
    #[inline]
    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    /// The peer process was replaced by a new one on the same connection
    /// ([`DataPacket::PeerRestarted`]): its release ring and the notices queued for the old
    /// process are dropped, and releases of regions received before are no longer sent.
    pub fn restarted(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut ring) = self.release_ring.write() {
            *ring = None;
        }
        if let Ok(mut pending) = self.pending_notices.lock() {
            pending.clear();
            self.notices_waiting.store(false, Ordering::Release);
        }
        self.unwritable.store(false, Ordering::Relaxed);
        self.gone.store(false, Ordering::Relaxed);
    }

    /// Maps the release ring the peer sent ([`DataPacket::ReleaseRing`]); later releases of
    /// its regions go there. A second ring from the same process is ignored.
    pub fn attach_release_ring(&self, fd: OwnedFd) -> Result<(), TransportError> {
        let ring = RingProducer::map(fd)?;
        if let Ok(mut slot) = self.release_ring.write() {
            if slot.is_none() {
                *slot = Some(ring);
            }
        }
        Ok(())
    }

    /// Sends `notice` without blocking; when the socket is full it is queued for the I/O
    /// thread, which retries once the socket is writable.
    #[inline]
    pub fn notify(&self, notice: Notice) {
        if !self.can_send() {
            return;
        }
        let packet = match notice {
            Notice::Release(region) => DataPacket::Release { region },
            Notice::Retire(region) => DataPacket::RetireRegion { region },
        };
        let mut buf = Vec::with_capacity(16);
        if encode_packet(&mut buf, &packet, &[]).is_err() {
            return;
        }
        let iov = [IoSlice::new(&buf)];
        let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
        loop {
            match sendmsg::<()>(self.fd.as_raw_fd(), &iov, &[], flags, None) {
                Ok(_) => return,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => {
                    if let Ok(mut pending) = self.pending_notices.lock() {
                        pending.push(notice);
                        self.notices_waiting.store(true, Ordering::Release);
                    }
                    return;
                }
                Err(_) => {
                    self.unwritable.store(true, Ordering::Relaxed);
                    if let Ok(mut pending) = self.pending_notices.lock() {
                        pending.clear();
                        self.notices_waiting.store(false, Ordering::Release);
                    }
                    return;
                }
            }
        }
    }

    /// Retries queued notices; returns whether some are still pending.
    #[inline]
    pub fn flush_notices(&self) -> bool {
        if !self.has_pending_notices() {
            return false;
        }
        let pending: Vec<Notice> = match self.pending_notices.lock() {
            Ok(mut pending) => {
                self.notices_waiting.store(false, Ordering::Release);
                std::mem::take(&mut *pending)
            }
            Err(_) => return false,
        };
        for notice in pending {
            self.notify(notice);
        }
        self.has_pending_notices()
    }

    /// Whether notices wait for the socket to become writable.
    #[inline]
    pub fn has_pending_notices(&self) -> bool {
        self.notices_waiting.load(Ordering::Acquire)
    }

    /// Receives one packet into `buf` without blocking.
    #[inline]
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        let mut iov = [IoSliceMut::new(buf)];
        let mut cmsg_space = nix::cmsg_space!([RawFd; 1]);
        loop {
            match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg_space),
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(msg) => {
                    // Every packet has a header, so an empty read is the peer hanging up.
                    if msg.bytes == 0 {
                        return Ok(Received::Closed);
                    }
                    if msg.flags.contains(MsgFlags::MSG_TRUNC) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "packet larger than the receive buffer",
                        ));
                    }
                    let mut received_fd = None;
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for cmsg in cmsgs {
                            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                                for fd in fds {
                                    // SAFETY: the kernel just installed this descriptor for us.
                                    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                                    if received_fd.is_none() {
                                        received_fd = Some(owned);
                                    }
                                }
                            }
                        }
                    }
                    return Ok(Received::Packet {
                        len: msg.bytes,
                        fd: received_fd,
                    });
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(Received::WouldBlock),
                // The peer closed its end with packets of ours still unread (say, release
                // tokens of an exiting sender). Linux reports that error once, *before* the
                // packets still queued for us: read on, they are delivered, then the end.
                Err(Errno::ECONNRESET) => continue,
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// Receives `count` descriptors that the daemon sends with `SCM_RIGHTS` on `socket`, in
/// one-byte messages of at most [`MAX_FDS_PER_MESSAGE`] descriptors (a dynamic node's data
/// sockets). They are close-on-exec.
pub fn receive_fds(socket: &impl AsRawFd, count: usize) -> io::Result<Vec<OwnedFd>> {
    let mut fds = Vec::with_capacity(count);
    while fds.len() < count {
        let batch = (count - fds.len()).min(MAX_FDS_PER_MESSAGE);
        // SAFETY: CMSG_SPACE only computes a size.
        let space =
            unsafe { libc::CMSG_SPACE((batch * std::mem::size_of::<RawFd>()) as u32) } as usize;
        let mut cmsg_space = vec![0u8; space];
        let mut byte = [0u8; 1];
        let mut iov = [IoSliceMut::new(&mut byte)];
        let before = fds.len();
        loop {
            match recvmsg::<()>(
                socket.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg_space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(msg) => {
                    if msg.bytes == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the daemon closed the connection while passing the data sockets",
                        ));
                    }
                    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
                        if let ControlMessageOwned::ScmRights(received) = cmsg {
                            for fd in received {
                                // SAFETY: the kernel just installed this descriptor for us.
                                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                            }
                        }
                    }
                    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "more data sockets than announced (or the limit of open files \
                             was reached)",
                        ));
                    }
                    break;
                }
                Err(Errno::EINTR) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        if fds.len() == before {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a message without the announced data sockets",
            ));
        }
    }
    Ok(fds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

    fn pair() -> (Peer, Peer) {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .expect("socketpair");
        (
            Peer::from_owned("sender".into(), a),
            Peer::from_owned("receiver".into(), b),
        )
    }

    fn packet_len(received: io::Result<Received>) -> Option<usize> {
        match received.expect("receive") {
            Received::Packet { len, .. } => Some(len),
            Received::Closed => None,
            Received::WouldBlock => panic!("nothing to read"),
        }
    }

    /// A sender that exits with notices of ours unread makes Linux report `ECONNRESET`
    /// before the packets it sent: they must still be delivered, then the end.
    #[test]
    fn packets_sent_before_a_close_with_unread_notices_are_all_received() {
        let (sender, receiver) = pair();
        receiver.release(7);
        sender.send(b"first", None).expect("send");
        sender.send(b"second!", None).expect("send");
        drop(sender);
        let mut buf = [0u8; 64];
        assert_eq!(packet_len(receiver.try_recv(&mut buf)), Some(5));
        assert_eq!(packet_len(receiver.try_recv(&mut buf)), Some(7));
        assert_eq!(packet_len(receiver.try_recv(&mut buf)), None);
    }
}
