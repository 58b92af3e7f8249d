//! The I/O edge of CUSE: one fd (an opened `/dev/cuse`, or in tests one end of
//! a `SOCK_SEQPACKET` socketpair) on which each `read()` yields one request and
//! each `write()` sends one reply.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

/// What became of a reply we wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    /// The kernel no longer waits for that unique (the request was interrupted
    /// or its process killed). Normal, not an error.
    Stale,
}

/// One CUSE connection = one device node.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// Opens `/dev/cuse` (non-blocking: the daemon polls it).
    pub fn open_cuse(path: &Path) -> io::Result<Channel> {
        let fd = open(
            path,
            OFlag::O_RDWR | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
            Mode::empty(),
        )?;
        Ok(Channel { fd })
    }

    /// Wraps an fd that already speaks the protocol (a test's socketpair end).
    /// It is switched to non-blocking mode.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Channel> {
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(flags))?;
        Ok(Channel { fd })
    }

    /// Reads one request into `buf`. `Ok(None)`: nothing pending (EAGAIN).
    /// ENODEV means the kernel tore the device down; it is returned as an error.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match nix::unistd::read(&self.fd, buf) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                Ok(n) => return Ok(Some(n)),
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EINTR) => continue,
                // The kernel re-queues an interrupted request; ENOENT on read
                // means an aborted request was skipped: read again.
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes one reply (or notification) whole.
    pub fn send(&self, reply: &[u8]) -> io::Result<Sent> {
        loop {
            match nix::unistd::write(&self.fd, reply) {
                Ok(n) if n == reply.len() => return Ok(Sent::Delivered),
                Ok(n) => {
                    return Err(io::Error::other(format!(
                        "short reply write: {n} of {} bytes",
                        reply.len()
                    )));
                }
                Err(Errno::ENOENT) => return Ok(Sent::Stale),
                Err(Errno::EINTR) => continue,
                // The fd is non-blocking for reads; a reply write to /dev/cuse
                // never blocks, but a test socket can be momentarily full.
                Err(Errno::EAGAIN) => {
                    let mut fds = [nix::poll::PollFd::new(
                        self.fd.as_fd(),
                        nix::poll::PollFlags::POLLOUT,
                    )];
                    let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(1000u16));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}
