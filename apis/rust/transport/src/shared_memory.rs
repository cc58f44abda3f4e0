//! Shared memory regions: sealed `memfd`s.
//!
//! A region is an anonymous memory file (`memfd_create`) owned by the sending node. It never
//! has a name in `/dev/shm`: its only handles are file descriptors and mappings, so the kernel
//! frees it when the last process holding one exits — whichever process crashes, nothing is
//! left behind. The owner fixes the size and seals it (`F_SEAL_SHRINK | F_SEAL_GROW`) before
//! sharing, so a receiver's read-only mapping can never be truncated under it (which would
//! raise `SIGBUS`); receivers check the seals before mapping.

use std::{
    ffi::CString,
    fs::File,
    os::fd::{AsFd, AsRawFd, OwnedFd},
};

use memmap2::{Mmap, MmapRaw};
use nix::{
    fcntl::{fcntl, FcntlArg, SealFlag},
    sys::memfd::{memfd_create, MemFdCreateFlag},
};

use crate::error::TransportError;

/// A region owned by the sender, mapped read-write.
#[derive(Debug)]
pub struct OwnedRegion {
    /// Kept only while some peer may still need it; the mapping keeps the memory alive.
    fd: std::sync::Mutex<Option<OwnedFd>>,
    map: MmapRaw,
}

impl OwnedRegion {
    /// Creates a sealed region of `capacity` bytes (rounded up to whole pages).
    pub fn create(name: &str, capacity: usize) -> Result<Self, TransportError> {
        let page = page_size();
        let capacity = capacity.max(1).div_ceil(page) * page;
        let name = CString::new(name).unwrap_or_else(|_| c"dora-region".to_owned());
        let fd = memfd_create(
            &name,
            MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
        )
        .map_err(|err| TransportError::SharedMemory(format!("memfd_create failed: {err}")))?;
        let file = File::from(fd);
        file.set_len(capacity as u64).map_err(|err| {
            TransportError::SharedMemory(format!("cannot size a {capacity}-byte region: {err}"))
        })?;
        fcntl(
            file.as_raw_fd(),
            FcntlArg::F_ADD_SEALS(
                SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL,
            ),
        )
        .map_err(|err| TransportError::SharedMemory(format!("cannot seal region: {err}")))?;
        let map = MmapRaw::map_raw(&file).map_err(|err| {
            TransportError::SharedMemory(format!("cannot map a {capacity}-byte region: {err}"))
        })?;
        Ok(Self {
            fd: std::sync::Mutex::new(Some(file.into())),
            map,
        })
    }

    /// The region's size in bytes: the requested capacity rounded up to whole pages.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.map.len()
    }

    /// The region's descriptor, to pass to a peer; `None` once closed with
    /// [`OwnedRegion::close_fd`].
    #[inline]
    pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.fd
            .lock()
            .ok()
            .and_then(|fd| fd.as_ref().map(|fd| fd.as_raw_fd()))
    }

    /// Closes the descriptor once every peer has it, so that thousands of regions in flight
    /// do not exhaust the process's descriptor limit.
    #[inline]
    pub fn close_fd(&self) {
        if let Ok(mut fd) = self.fd.lock() {
            fd.take();
        }
    }

    /// The start of the mapping, [`OwnedRegion::capacity`] bytes long, valid while `self`
    /// lives. Writing through it is up to the owner, which must not write while a receiver
    /// holds a message in the region.
    #[inline]
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }
}

/// A region received from a peer, mapped read-only.
#[derive(Debug)]
pub struct ReceivedRegion {
    map: Mmap,
}

impl ReceivedRegion {
    /// Maps a region received over a data connection after checking that it is sealed
    /// against shrinking.
    pub fn map(fd: OwnedFd) -> Result<Self, TransportError> {
        let seals = fcntl(fd.as_fd().as_raw_fd(), FcntlArg::F_GET_SEALS)
            .map_err(|err| TransportError::SharedMemory(format!("region is not a memfd: {err}")))?;
        let seals = SealFlag::from_bits_truncate(seals);
        if !seals.contains(SealFlag::F_SEAL_SHRINK) {
            return Err(TransportError::SharedMemory(
                "peer sent a region that is not sealed against shrinking".into(),
            ));
        }
        let file = File::from(fd);
        // SAFETY: the region is sealed against shrinking (checked above), so the mapping stays
        // valid; the owner only writes to it while no receiver holds a message in it.
        let map = unsafe { Mmap::map(&file) }
            .map_err(|err| TransportError::SharedMemory(format!("cannot map region: {err}")))?;
        Ok(Self { map })
    }

    /// The mapping's length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the mapping is empty (a region is never: this is for `len`'s sake).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// The start of the read-only mapping, [`ReceivedRegion::len`] bytes long, valid while
    /// `self` lives.
    #[inline]
    pub fn as_ptr(&self) -> *const u8 {
        self.map.as_ptr()
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as usize
    } else {
        4096
    }
}
