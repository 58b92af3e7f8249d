//! A lean client for the timing figures. `tests/common`'s `Kernel` starts
//! the daemon (whole and in-process, on a `ClockSink`, over a
//! `SOCK_SEQPACKET` socketpair playing Linux's side of CUSE) and does the
//! handshake; then this talks on the kernel's end of that socketpair itself,
//! with one reusable receive buffer and no reply bookkeeping, so its own cost
//! stays out of the numbers. (`Kernel::recv` allocates and zeroes a fresh
//! 256 KiB buffer per message, which costs more than the daemon's whole
//! request path: figures, part d, compares.) The `Kernel` is kept, idle, and
//! stopped (with its checks) at the end; every reply to a request sent here
//! is read here.

#![allow(dead_code)]

use std::collections::HashSet;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use ossd::cuse::abi::{self, opcode};
use ossd::pcm::DeviceConfig;

use crate::common::{ioctl_in, request_header, restricted_ioctl, Kernel};

pub struct Lean {
    kernel: Option<Kernel>,
    /// The kernel's end of the socketpair (owned by `kernel`).
    fd: RawFd,
    next_unique: u64,
    buf: Vec<u8>,
    req: Vec<u8>,
}

/// A reply: its unique, error (0 or -errno) and when it was read.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub unique: u64,
    pub error: i32,
    pub len: usize,
    pub at: Instant,
}

/// The socket fds this process has open.
fn socket_fds() -> HashSet<RawFd> {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

impl Lean {
    /// Starts a daemon through `tests/common` (the daemon's default config).
    pub fn start(dev: DeviceConfig) -> Lean {
        let before = socket_fds();
        let kernel = Kernel::start(dev);
        // Claim the capture buffer's room now: the ClockSink appends every
        // period to it, and a reallocation (a copy of megabytes on the engine
        // thread) in the middle of a measurement would show as latency.
        kernel.capture.lock().expect("capture").reserve(64 << 20);
        // The new sockets are the pair: the daemon's end was made
        // non-blocking by `Channel::from_fd`, the kernel's end was not.
        let ours: Vec<RawFd> = socket_fds()
            .difference(&before)
            .copied()
            .filter(|&fd| {
                // SAFETY: listed in /proc/self/fd just now and owned by `kernel`.
                let b = unsafe { BorrowedFd::borrow_raw(fd) };
                fcntl(b, FcntlArg::F_GETFL)
                    .is_ok_and(|f| !OFlag::from_bits_truncate(f).contains(OFlag::O_NONBLOCK))
            })
            .collect();
        assert_eq!(
            ours.len(),
            1,
            "cannot tell the kernel's end of the socketpair"
        );
        let mut k = Lean {
            fd: ours[0],
            kernel: None,
            // Far from the uniques `Kernel` uses for its own requests.
            next_unique: 1 << 40,
            buf: vec![0; 1 << 18],
            req: Vec::with_capacity(1 << 18),
        };
        // Check it: an unknown opcode is answered ENOSYS, on this fd.
        let u = k.send(9999, &[0; 16], &[]);
        let r = k.recv();
        assert_eq!((r.unique, r.error), (u, -libc::ENOSYS), "probe");
        k.kernel = Some(kernel);
        k
    }

    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `kernel` owns the fd and lives as long as `self`.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }

    /// Sends one request: `args` then `data`. Returns its unique.
    pub fn send(&mut self, op: u32, args: &[u8], data: &[u8]) -> u64 {
        let unique = self.next_unique;
        self.next_unique += 2;
        self.req.clear();
        request_header(op, unique, args.len() + data.len()).emit(&mut self.req);
        self.req.extend_from_slice(args);
        self.req.extend_from_slice(data);
        let n = nix::unistd::write(self.fd(), &self.req).expect("send request");
        assert_eq!(n, self.req.len());
        unique
    }

    /// Reads the next message (a poll notification is skipped).
    pub fn recv(&mut self) -> Reply {
        loop {
            let mut fds = [PollFd::new(self.fd(), PollFlags::POLLIN)];
            let n = poll(&mut fds, PollTimeout::from(10_000u16)).expect("poll");
            assert!(n > 0, "no reply within 10 s");
            // SAFETY: as in `fd()`; a copy so that `buf` can be borrowed mutably.
            let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
            let n = nix::unistd::read(fd, &mut self.buf).expect("read reply");
            let at = Instant::now();
            assert!(n >= abi::OUT_HEADER_SIZE, "daemon closed the connection");
            let error = i32::from_ne_bytes(self.buf[4..8].try_into().unwrap());
            let unique = u64::from_ne_bytes(self.buf[8..16].try_into().unwrap());
            if unique == 0 {
                continue;
            }
            return Reply {
                unique,
                error,
                len: n,
                at,
            };
        }
    }

    /// The payload of the last reply read.
    pub fn payload(&self, r: &Reply) -> &[u8] {
        &self.buf[abi::OUT_HEADER_SIZE..r.len]
    }

    pub fn open(&mut self, flags: i32) -> u64 {
        let mut a = [0u8; abi::OPEN_IN_SIZE];
        a[0..4].copy_from_slice(&(flags as u32).to_ne_bytes());
        let u = self.send(opcode::FUSE_OPEN, &a, &[]);
        let r = self.recv();
        assert_eq!((r.unique, r.error), (u, 0), "open");
        u64::from_ne_bytes(self.payload(&r)[0..8].try_into().unwrap())
    }

    pub fn write_async(&mut self, fh: u64, data: &[u8], flags: i32) -> u64 {
        let mut a = [0u8; abi::WRITE_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        a[16..20].copy_from_slice(&(data.len() as u32).to_ne_bytes());
        a[32..36].copy_from_slice(&(flags as u32).to_ne_bytes());
        self.send(opcode::FUSE_WRITE, &a, data)
    }

    /// A write's reply: bytes taken, or -errno.
    pub fn written(&self, r: &Reply) -> i64 {
        if r.error != 0 {
            r.error as i64
        } else {
            u32::from_ne_bytes(self.payload(r)[0..4].try_into().unwrap()) as i64
        }
    }

    /// An ioctl as restricted mode sends it (sizes from the number).
    pub fn ioctl_async(&mut self, fh: u64, cmd: u32, arg: &[u8]) -> u64 {
        let (input, out) = restricted_ioctl(cmd, arg);
        self.send(
            opcode::FUSE_IOCTL,
            &ioctl_in(fh, cmd, input.len(), out),
            input,
        )
    }

    /// An ioctl's output bytes (after `fuse_ioctl_out`); panics on an error.
    pub fn ioctl(&mut self, fh: u64, cmd: u32, arg: &[u8]) -> Vec<u8> {
        let u = self.ioctl_async(fh, cmd, arg);
        let r = self.recv();
        assert_eq!((r.unique, r.error), (u, 0), "ioctl {cmd:#x}");
        self.payload(&r)[abi::IOCTL_OUT_SIZE..].to_vec()
    }

    pub fn ioctl_int(&mut self, fh: u64, cmd: u32, v: i32) -> i32 {
        let out = self.ioctl(fh, cmd, &v.to_ne_bytes());
        i32::from_ne_bytes(out[0..4].try_into().unwrap())
    }

    pub fn release(&mut self, fh: u64, flags: i32) {
        let mut a = [0u8; abi::RELEASE_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        a[8..12].copy_from_slice(&(flags as u32).to_ne_bytes());
        let u = self.send(opcode::FUSE_RELEASE, &a, &[]);
        let r = self.recv();
        assert_eq!((r.unique, r.error), (u, 0), "release");
    }

    /// Stops the daemon through `Kernel::stop` (which checks it ended
    /// cleanly with nothing unanswered).
    pub fn stop(mut self) {
        self.kernel.take().expect("running").stop();
    }
}

/// Waits `d` without sleeping past it by much (sleeps, then spins the rest).
pub fn pause(d: Duration) {
    let end = Instant::now() + d;
    if d > Duration::from_micros(200) {
        std::thread::sleep(d - Duration::from_micros(100));
    }
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}
