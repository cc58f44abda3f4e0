//! Waiting on descriptors: `poll(2)` over a slice of `pollfd`s, and an `eventfd` that one
//! thread writes to wake another out of its poll.
//!
//! A node's threads wait on its data sockets with `poll`, not an async runtime: a message
//! then wakes the waiting thread directly, as a plain socket read would.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
};

/// A `pollfd` waiting for `events` on `fd` (a negative `fd` is skipped by [`poll`]).
#[inline]
pub fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Waits until one of `pollfds` is ready or `timeout_ms` milliseconds passed (negative: no
/// timeout); returns how many are ready, their `revents` set. An interrupted wait is an
/// error of kind [`io::ErrorKind::Interrupted`].
#[inline]
pub fn poll(pollfds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: `pollfds` is a valid, exclusively borrowed array of `pollfds.len()` structs.
    let ready = unsafe {
        libc::poll(
            pollfds.as_mut_ptr(),
            pollfds.len() as libc::nfds_t,
            timeout_ms,
        )
    };
    if ready < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ready as usize)
    }
}

/// A non-blocking, close-on-exec `eventfd`: [`EventFd::signal`] makes it readable (for a
/// thread polling it) until [`EventFd::clear`].
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    /// Creates an eventfd that is not signalled.
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd has no memory preconditions; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor owned by nobody else.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Makes the eventfd readable. Cannot block, and cannot fail short of the counter
    /// overflowing (2^64 - 2 signals without a clear), which would leave it readable anyway.
    #[inline]
    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Makes the eventfd not readable again (until the next signal).
    #[inline]
    pub fn clear(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a valid u64 from our non-blocking eventfd.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }
}

impl AsRawFd for EventFd {
    #[inline]
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}
