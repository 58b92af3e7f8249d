//! A fake kernel: plays Linux's side of a CUSE connection over a
//! `SOCK_SEQPACKET` socketpair (one request per message, one reply per
//! message), and checks every reply the way fs/fuse/dev.c does: the length
//! matches, the error is 0 or a negative errno above -512, an error reply is
//! a bare header, every unique is answered once and only if it was asked,
//! and no payload is larger than the request allowed.
//!
//! The daemon runs whole, in-process, on a [`ClockSink`] that keeps real time.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use ossd::cuse::abi::{self, opcode};
use ossd::cuse::channel::Channel;
use ossd::cuse::wire::Header;
use ossd::daemon::{
    Config, Daemon, DaemonError, Devices, EngineOptions, FaultHook, Node, NodeKind, Stopper,
};
use ossd::input::clock::ClockSource;
use ossd::input::{Source, SourceOpener};
use ossd::oss::soundcard;
use ossd::output::clock::ClockSink;
use ossd::pcm::{DeviceConfig, PcmFormat, SampleFormat};

pub const RATE: u32 = 48000;

pub const fn device(period: u32, periods: u32) -> DeviceConfig {
    DeviceConfig {
        pcm: PcmFormat {
            sample: SampleFormat::S16Le,
            channels: 2,
            rate: RATE,
        },
        period_frames: period,
        buffer_frames: period * periods,
    }
}

/// One message from the daemon.
#[derive(Debug, Clone)]
pub struct Msg {
    pub error: i32,
    pub unique: u64,
    pub payload: Vec<u8>,
    pub at: Instant,
}

impl Msg {
    pub fn u32_at(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.payload[off..off + 4].try_into().unwrap())
    }
    pub fn i32_at(&self, off: usize) -> i32 {
        self.u32_at(off) as i32
    }
    pub fn u64_at(&self, off: usize) -> u64 {
        u64::from_ne_bytes(self.payload[off..off + 8].try_into().unwrap())
    }
    /// The result of an IOCTL reply.
    pub fn ioctl_result(&self) -> i32 {
        self.i32_at(0)
    }
    /// The output data of an IOCTL reply.
    pub fn ioctl_out(&self) -> &[u8] {
        &self.payload[abi::IOCTL_OUT_SIZE..]
    }
    pub fn ioctl_int(&self) -> i32 {
        assert_eq!(self.error, 0, "ioctl failed: {self:?}");
        i32::from_ne_bytes(self.ioctl_out()[..4].try_into().unwrap())
    }
}

/// What a request allows its reply to carry.
#[derive(Debug, Clone, Copy)]
enum Limit {
    Exactly(usize),
    AtMost(usize),
    /// An IOCTL: a `fuse_ioctl_out`, then at most this many bytes.
    Ioctl(usize),
    /// INTERRUPT: never answered.
    NoReply,
}

/// The header of a request from the fake kernel: `body` bytes follow it.
pub fn request_header(op: u32, unique: u64, body: usize) -> Header {
    Header {
        len: (abi::IN_HEADER_SIZE + body) as u32,
        opcode: op,
        unique,
        nodeid: 0,
        uid: 0,
        gid: 0,
        pid: 4242,
        total_extlen: 0,
    }
}

/// What the kernel's restricted-mode CUSE sends for ioctl `cmd` made with
/// `arg`: the input bytes (the number's size, when the number says the
/// caller passes a value) and the output size (when it says one comes back).
pub fn restricted_ioctl(cmd: u32, arg: &[u8]) -> (&[u8], u32) {
    let (dir, size) = (soundcard::ioc_dir(cmd), soundcard::ioc_size(cmd));
    let input = if dir & soundcard::IOC_WRITE != 0 {
        &arg[..size.min(arg.len())]
    } else {
        &[][..]
    };
    let out = if dir & soundcard::IOC_READ != 0 {
        size as u32
    } else {
        0
    };
    (input, out)
}

/// The `fuse_ioctl_in` of ioctl `cmd` on `fh`, with `in_size` bytes of input
/// after it and room for `out_size` back.
pub fn ioctl_in(fh: u64, cmd: u32, in_size: usize, out_size: u32) -> [u8; abi::IOCTL_IN_SIZE] {
    let mut a = [0u8; abi::IOCTL_IN_SIZE];
    a[0..8].copy_from_slice(&fh.to_ne_bytes());
    a[12..16].copy_from_slice(&cmd.to_ne_bytes());
    a[16..24].copy_from_slice(&0x7fff_0000u64.to_ne_bytes());
    a[24..28].copy_from_slice(&(in_size as u32).to_ne_bytes());
    a[28..32].copy_from_slice(&out_size.to_ne_bytes());
    a
}

/// The bytes of one request: header and `args`.
pub fn request_bytes(op: u32, unique: u64, args: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(abi::IN_HEADER_SIZE + args.len());
    request_header(op, unique, args.len()).emit(&mut v);
    v.extend_from_slice(args);
    v
}

/// The arguments of each request the fake kernels send, as Linux lays them out.
pub mod args {
    use ossd::cuse::abi;

    pub fn open(flags: i32) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&(flags as u32).to_ne_bytes());
        a.extend_from_slice(&0u32.to_ne_bytes());
        a
    }

    pub fn write(fh: u64, data: &[u8], flags: i32) -> Vec<u8> {
        let mut a = vec![0u8; abi::WRITE_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        a[16..20].copy_from_slice(&(data.len() as u32).to_ne_bytes());
        a[32..36].copy_from_slice(&(flags as u32).to_ne_bytes());
        a.extend_from_slice(data);
        a
    }

    pub fn read(fh: u64, size: u32, flags: i32) -> Vec<u8> {
        let mut a = vec![0u8; abi::READ_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        a[16..20].copy_from_slice(&size.to_ne_bytes());
        a[32..36].copy_from_slice(&(flags as u32).to_ne_bytes());
        a
    }

    pub fn ioctl(fh: u64, cmd: u32, input: &[u8], out_size: u32) -> Vec<u8> {
        let mut a = super::ioctl_in(fh, cmd, input.len(), out_size).to_vec();
        a.extend_from_slice(input);
        a
    }

    pub fn poll(fh: u64, kh: u64, schedule: bool, events: u32) -> Vec<u8> {
        let mut a = vec![0u8; abi::POLL_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        a[8..16].copy_from_slice(&kh.to_ne_bytes());
        let flags = if schedule {
            abi::FUSE_POLL_SCHEDULE_NOTIFY
        } else {
            0
        };
        a[16..20].copy_from_slice(&flags.to_ne_bytes());
        a[20..24].copy_from_slice(&events.to_ne_bytes());
        a
    }

    pub fn release(fh: u64, flags: i32) -> Vec<u8> {
        let mut a = vec![0u8; abi::RELEASE_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        a[8..12].copy_from_slice(&(flags as u32).to_ne_bytes());
        a
    }
}

pub struct Kernel {
    /// One connection per node; requests go to `cur`.
    fds: Vec<OwnedFd>,
    cur: usize,
    next_unique: u64,
    outstanding: HashMap<u64, (u32, Limit)>,
    answered: HashSet<u64>,
    stash: HashMap<u64, Msg>,
    pub notifications: Vec<u64>,
    pub capture: Arc<Mutex<Vec<u8>>>,
    pub stopper: Stopper,
    daemon: Option<JoinHandle<Result<(), DaemonError>>>,
    pub dev: DeviceConfig,
}

impl Kernel {
    /// Starts a daemon with one /dev/dsp on a fresh fake kernel and does
    /// the CUSE handshake.
    pub fn start(dev: DeviceConfig) -> Kernel {
        Kernel::start_with(dev, &[NodeKind::Dsp], None)
    }

    /// Starts a daemon serving `kinds` (one connection each, in that order),
    /// recording from a [`ClockSource`] of `capture` Hz when given.
    pub fn start_with(dev: DeviceConfig, kinds: &[NodeKind], capture: Option<f64>) -> Kernel {
        Kernel::start_engine(dev, kinds, capture, EngineOptions::default())
    }

    /// As [`Kernel::start_with`], with these engine options. With
    /// `idle_release` and no `reopen`, a reopen makes a fresh clock sink
    /// that records into the same capture.
    pub fn start_engine(
        dev: DeviceConfig,
        kinds: &[NodeKind],
        capture: Option<f64>,
        mut engine: EngineOptions,
    ) -> Kernel {
        let (ours, nodes) = Kernel::connections(kinds);
        let capture_dev = dev;
        let opener: Option<SourceOpener> = capture.map(|freq| {
            Box::new(move |_: &str| {
                Ok(Box::new(ClockSource::new(capture_dev, freq)) as Box<dyn Source>)
            }) as SourceOpener
        });
        let capture = Arc::new(Mutex::new(Vec::new()));
        let mut sink = ClockSink::new(dev);
        sink.capture = Some(capture.clone());
        if engine.idle_release.is_some() && engine.reopen.is_none() {
            let into = capture.clone();
            engine.reopen = Some(Box::new(move |_, _| {
                let mut s = ClockSink::new(dev);
                s.capture = Some(into.clone());
                Ok(Box::new(s) as Box<dyn ossd::output::Sink>)
            }));
        }
        let devices = Devices {
            sink: Box::new(sink),
            engine,
            capture: opener,
        };
        Kernel::start_devices(dev, kinds, devices, capture, ours, nodes, None)
    }

    /// As [`Kernel::start`], with the requests `fault` picks panicking
    /// while they are handled (see `Daemon::inject_panics`).
    pub fn start_faulty(dev: DeviceConfig, fault: FaultHook) -> Kernel {
        let (ours, nodes) = Kernel::connections(&[NodeKind::Dsp]);
        let capture = Arc::new(Mutex::new(Vec::new()));
        let mut sink = ClockSink::new(dev);
        sink.capture = Some(capture.clone());
        let devices = Devices::output(Box::new(sink));
        Kernel::start_devices(
            dev,
            &[NodeKind::Dsp],
            devices,
            capture,
            ours,
            nodes,
            Some(fault),
        )
    }

    /// Starts a daemon serving `kinds` on `devices` as given; `capture` is
    /// what [`Kernel::captured`] shows (the test's sink should write there).
    pub fn start_on(
        dev: DeviceConfig,
        kinds: &[NodeKind],
        devices: Devices,
        capture: Arc<Mutex<Vec<u8>>>,
    ) -> Kernel {
        Kernel::start_on_config(dev, kinds, devices, capture, Config::default())
    }

    /// As [`Kernel::start_on`], with the daemon's settings `cfg` (e.g. a
    /// control socket).
    pub fn start_on_config(
        dev: DeviceConfig,
        kinds: &[NodeKind],
        devices: Devices,
        capture: Arc<Mutex<Vec<u8>>>,
        cfg: Config,
    ) -> Kernel {
        let (ours, nodes) = Kernel::connections(kinds);
        Kernel::start_devices_cfg(dev, kinds, devices, capture, ours, nodes, None, cfg)
    }

    fn start_devices(
        dev: DeviceConfig,
        kinds: &[NodeKind],
        devices: Devices,
        capture: Arc<Mutex<Vec<u8>>>,
        ours: Vec<OwnedFd>,
        nodes: Vec<Node>,
        fault: Option<FaultHook>,
    ) -> Kernel {
        Kernel::start_devices_cfg(
            dev,
            kinds,
            devices,
            capture,
            ours,
            nodes,
            fault,
            Config::default(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn start_devices_cfg(
        dev: DeviceConfig,
        kinds: &[NodeKind],
        devices: Devices,
        capture: Arc<Mutex<Vec<u8>>>,
        ours: Vec<OwnedFd>,
        nodes: Vec<Node>,
        fault: Option<FaultHook>,
        cfg: Config,
    ) -> Kernel {
        let mut daemon = Daemon::new(cfg, nodes, devices).unwrap();
        if let Some(f) = fault {
            daemon.inject_panics(f);
        }
        let stopper = daemon.stopper();
        let handle = std::thread::spawn(move || daemon.run(None));
        let mut k = Kernel {
            fds: ours,
            cur: 0,
            next_unique: 2,
            outstanding: HashMap::new(),
            answered: HashSet::new(),
            stash: HashMap::new(),
            notifications: Vec::new(),
            capture,
            stopper,
            daemon: Some(handle),
            dev,
        };
        for i in 0..kinds.len() {
            k.on(i);
            let mut args = Vec::new();
            for v in [7u32, 38, 0, abi::CUSE_UNRESTRICTED_IOCTL] {
                args.extend_from_slice(&v.to_ne_bytes());
            }
            let u = k.send(
                opcode::CUSE_INIT,
                &args,
                Limit::AtMost(abi::CUSE_INIT_OUT_SIZE + abi::CUSE_INIT_INFO_MAX),
            );
            let r = k.wait(u);
            assert_eq!(r.error, 0);
            assert_eq!(r.u32_at(0), 7, "major");
            assert!(r.u32_at(4) >= 11, "minor the kernel accepts");
            assert_eq!(
                r.u32_at(12) & abi::CUSE_UNRESTRICTED_IOCTL,
                0,
                "restricted ioctls"
            );
            let info = &r.payload[abi::CUSE_INIT_OUT_SIZE..];
            assert!(
                info.split(|&b| b == 0).any(|s| s.starts_with(b"DEVNAME=")),
                "DEVNAME given"
            );
        }
        k.on(0);
        k
    }

    /// One socketpair per node: the kernel's ends and the daemon's nodes.
    fn connections(kinds: &[NodeKind]) -> (Vec<OwnedFd>, Vec<Node>) {
        let mut ours = Vec::new();
        let mut nodes = Vec::new();
        for (i, &kind) in kinds.iter().enumerate() {
            let (a, b) = socketpair(
                AddressFamily::Unix,
                SockType::SeqPacket,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .unwrap();
            // Room for a 128 KiB write request in flight each way.
            for fd in [&a, &b] {
                let _ =
                    nix::sys::socket::setsockopt(fd, nix::sys::socket::sockopt::SndBuf, &(1 << 20));
                let _ =
                    nix::sys::socket::setsockopt(fd, nix::sys::socket::sockopt::RcvBuf, &(1 << 20));
            }
            ours.push(a);
            nodes.push(Node {
                kind,
                name: format!("node{i}"),
                dev: (0, 0),
                chan: Channel::from_fd(b).unwrap(),
            });
        }
        (ours, nodes)
    }

    /// Closes the kernel's end of node `i`, as when the kernel could not
    /// make that node (its name taken). Later messages never come from it.
    pub fn close_node(&mut self, i: usize) {
        let quiet = nix::sys::eventfd::EventFd::new().unwrap();
        self.fds[i] = OwnedFd::from(quiet);
    }

    /// Sends the next requests to node `i`.
    pub fn on(&mut self, i: usize) -> &mut Kernel {
        self.cur = i;
        self
    }

    /// Sends raw bytes as one request (for malformed ones).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        nix::unistd::write(&self.fds[self.cur], bytes).unwrap();
    }

    fn send(&mut self, op: u32, args: &[u8], limit: Limit) -> u64 {
        let unique = if op == opcode::FUSE_INTERRUPT {
            self.next_unique | 1
        } else {
            self.next_unique
        };
        self.next_unique += 2;
        self.outstanding.insert(unique, (op, limit));
        self.send_raw(&request_bytes(op, unique, args));
        unique
    }

    /// Expects an answer to a raw request with this unique.
    pub fn expect_unique(&mut self, unique: u64, limit_payload: usize) {
        self.outstanding
            .insert(unique, (0, Limit::AtMost(limit_payload)));
    }

    /// Reads one message within `timeout`, checking it as the kernel would.
    pub fn recv(&mut self, timeout: Duration) -> Option<Msg> {
        let mut fds: Vec<PollFd> = self
            .fds
            .iter()
            .map(|f| PollFd::new(f.as_fd(), PollFlags::POLLIN))
            .collect();
        let ms = timeout.as_millis().min(u16::MAX as u128) as u16;
        if poll(&mut fds, PollTimeout::from(ms)).unwrap() == 0 {
            return None;
        }
        let ready = fds
            .iter()
            .position(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .unwrap();
        drop(fds);
        let mut buf = vec![0u8; 1 << 18];
        let n = nix::unistd::read(&self.fds[ready], &mut buf).unwrap();
        if n == 0 {
            self.daemon.as_ref()?; // stopped: the connection is closed
            let r = self.daemon.take().map(|h| h.join());
            panic!("the daemon closed the connection: {r:?}");
        }
        assert!(
            n >= abi::OUT_HEADER_SIZE,
            "reply shorter than a header: {n}"
        );
        let len = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
        let error = i32::from_ne_bytes(buf[4..8].try_into().unwrap());
        let unique = u64::from_ne_bytes(buf[8..16].try_into().unwrap());
        assert_eq!(len, n, "header len disagrees with the bytes written");
        let msg = Msg {
            error,
            unique,
            payload: buf[16..n].to_vec(),
            at: Instant::now(),
        };
        if unique == 0 {
            assert_eq!(
                error,
                abi::FUSE_NOTIFY_POLL,
                "unique 0 is only for notifications"
            );
            assert_eq!(n, 24, "poll notification size");
            self.notifications.push(msg.u64_at(0));
            return Some(msg);
        }
        assert!(error <= 0 && error > -512, "errno out of range: {error}");
        assert!(
            !self.answered.contains(&unique),
            "unique {unique} answered twice"
        );
        let (op, limit) = self
            .outstanding
            .remove(&unique)
            .unwrap_or_else(|| panic!("reply to unique {unique} that was never asked"));
        self.answered.insert(unique);
        if error != 0 {
            assert_eq!(n, abi::OUT_HEADER_SIZE, "error reply with a payload");
        } else {
            match limit {
                Limit::Exactly(s) => {
                    assert_eq!(msg.payload.len(), s, "payload size for opcode {op}")
                }
                Limit::AtMost(s) => {
                    assert!(msg.payload.len() <= s, "payload too big for opcode {op}")
                }
                Limit::Ioctl(s) => {
                    let n = msg.payload.len();
                    assert!(
                        n >= abi::IOCTL_OUT_SIZE,
                        "ioctl reply without fuse_ioctl_out ({n} bytes)"
                    );
                    assert!(
                        n <= abi::IOCTL_OUT_SIZE + s,
                        "ioctl reply larger than out_size"
                    );
                }
                Limit::NoReply => panic!("an INTERRUPT was answered"),
            }
        }
        Some(msg)
    }

    /// Waits for the reply to `unique` (other replies are kept for later).
    pub fn wait_for(&mut self, unique: u64, timeout: Duration) -> Option<Msg> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.stash.remove(&unique) {
                return Some(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            if let Some(m) = self.recv(left) {
                if m.unique != 0 {
                    self.stash.insert(m.unique, m);
                }
            }
        }
    }

    pub fn wait(&mut self, unique: u64) -> Msg {
        self.wait_for(unique, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no reply to {unique} within 10 s"))
    }

    /// True if `unique` has not been answered within `d`.
    pub fn still_pending(&mut self, unique: u64, d: Duration) -> bool {
        match self.wait_for(unique, d) {
            None => true,
            Some(m) => {
                self.stash.insert(unique, m);
                false
            }
        }
    }

    pub fn open(&mut self, flags: i32) -> Result<u64, i32> {
        let u = self.send(
            opcode::FUSE_OPEN,
            &args::open(flags),
            Limit::Exactly(abi::OPEN_OUT_SIZE),
        );
        let r = self.wait(u);
        if r.error != 0 {
            Err(-r.error)
        } else {
            Ok(r.u64_at(0))
        }
    }

    pub fn write_async(&mut self, fh: u64, data: &[u8], flags: i32) -> u64 {
        let a = args::write(fh, data, flags);
        self.send(opcode::FUSE_WRITE, &a, Limit::Exactly(abi::WRITE_OUT_SIZE))
    }

    /// A write as write(2) does it: the kernel splits it into 128 KiB requests
    /// and stops at the first short or failed one.
    pub fn write(&mut self, fh: u64, data: &[u8], flags: i32) -> Result<usize, i32> {
        let mut done = 0;
        for chunk in data.chunks(abi::MAX_WRITE as usize) {
            let u = self.write_async(fh, chunk, flags);
            let r = self.wait(u);
            if r.error != 0 {
                return if done > 0 { Ok(done) } else { Err(-r.error) };
            }
            let n = r.u32_at(0) as usize;
            assert!(n <= chunk.len(), "wrote more than asked");
            done += n;
            if n < chunk.len() {
                break;
            }
        }
        Ok(done)
    }

    pub fn read_async(&mut self, fh: u64, size: u32, flags: i32) -> u64 {
        let a = args::read(fh, size, flags);
        self.send(opcode::FUSE_READ, &a, Limit::AtMost(size as usize))
    }

    /// A read as read(2) does it (one request of up to 128 KiB).
    pub fn read(&mut self, fh: u64, size: u32, flags: i32) -> Result<Vec<u8>, i32> {
        let u = self.read_async(fh, size, flags);
        let r = self.wait(u);
        if r.error != 0 {
            Err(-r.error)
        } else {
            Ok(r.payload)
        }
    }

    pub fn ioctl_async(&mut self, fh: u64, cmd: u32, input: &[u8], out_size: u32) -> u64 {
        let a = args::ioctl(fh, cmd, input, out_size);
        self.send(opcode::FUSE_IOCTL, &a, Limit::Ioctl(out_size as usize))
    }

    /// An ioctl as the kernel's restricted mode sends it: the size and
    /// direction come from the number.
    pub fn ioctl(&mut self, fh: u64, cmd: u32, arg: &[u8]) -> Msg {
        let (input, out) = restricted_ioctl(cmd, arg);
        let u = self.ioctl_async(fh, cmd, input, out);
        self.wait(u)
    }

    pub fn ioctl_int(&mut self, fh: u64, cmd: u32, v: i32) -> Result<i32, i32> {
        let r = self.ioctl(fh, cmd, &v.to_ne_bytes());
        if r.error != 0 {
            Err(-r.error)
        } else {
            Ok(r.ioctl_int())
        }
    }

    pub fn poll_async(&mut self, fh: u64, kh: u64, schedule: bool) -> u64 {
        let a = args::poll(fh, kh, schedule, (libc::POLLOUT | libc::POLLIN) as u32);
        self.send(opcode::FUSE_POLL, &a, Limit::Exactly(abi::POLL_OUT_SIZE))
    }

    pub fn interrupt(&mut self, target: u64) {
        let u = self.send(
            opcode::FUSE_INTERRUPT,
            &target.to_ne_bytes(),
            Limit::NoReply,
        );
        self.outstanding.remove(&u);
    }

    pub fn release_async(&mut self, fh: u64, flags: i32) -> u64 {
        let a = args::release(fh, flags);
        self.send(opcode::FUSE_RELEASE, &a, Limit::Exactly(0))
    }

    pub fn release(&mut self, fh: u64, flags: i32) -> Msg {
        let u = self.release_async(fh, flags);
        self.wait(u)
    }

    /// Sends a request whose header is well formed, with any opcode and args.
    pub fn request(&mut self, op: u32, args: &[u8], max_payload: usize) -> u64 {
        self.send(op, args, Limit::AtMost(max_payload))
    }

    /// What the device has played so far, as S16 frames of the device.
    pub fn captured(&self) -> Vec<u8> {
        self.capture.lock().unwrap().clone()
    }

    /// Stops the daemon and checks it ended cleanly, with nothing left unanswered.
    pub fn stop(mut self) {
        self.stopper.stop();
        let r = self
            .daemon
            .take()
            .unwrap()
            .join()
            .expect("daemon thread panicked");
        assert!(r.is_ok(), "daemon ended with {r:?}");
        while self.recv(Duration::from_millis(50)).is_some() {}
        let left: Vec<_> = self.outstanding.keys().collect();
        assert!(left.is_empty(), "requests never answered: {left:?}");
    }
}

/// A U8 mono tone, as `cat tone.raw > /dev/dsp` would send it.
pub fn u8_tone(rate: u32, freq: f64, secs: f64, amp: f64) -> Vec<u8> {
    let n = (rate as f64 * secs) as usize;
    (0..n)
        .map(|i| {
            let x = (std::f64::consts::TAU * freq * i as f64 / rate as f64).cos() * amp;
            (128.0 + x * 127.0).round() as u8
        })
        .collect()
}

/// Device S16 stereo bytes as (left, right) samples.
pub fn frames(bytes: &[u8]) -> Vec<(i16, i16)> {
    bytes
        .chunks_exact(4)
        .map(|f| {
            (
                i16::from_le_bytes([f[0], f[1]]),
                i16::from_le_bytes([f[2], f[3]]),
            )
        })
        .collect()
}

/// The longest run of frames in which no 2 ms window is silent, in frames.
pub fn longest_sound(frames: &[(i16, i16)], rate: u32) -> (usize, usize) {
    let win = (rate / 500) as usize;
    let mut best = (0, 0);
    let mut start = None;
    for (w, chunk) in frames.chunks(win).enumerate() {
        let loud = chunk
            .iter()
            .any(|&(l, r)| l.unsigned_abs() > 64 || r.unsigned_abs() > 64);
        match (loud, start) {
            (true, None) => start = Some(w),
            (false, Some(s)) => {
                if (w - s) * win > best.1 {
                    best = (s * win, (w - s) * win);
                }
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        let n = frames.len() - s * win;
        if n > best.1 {
            best = (s * win, n);
        }
    }
    best
}

/// Frequency of a channel over a stretch, by counting rising zero crossings.
pub fn frequency(samples: &[i16], rate: u32) -> f64 {
    let mut crossings = Vec::new();
    for i in 1..samples.len() {
        if samples[i - 1] < 0 && samples[i] >= 0 {
            crossings.push(i);
        }
    }
    if crossings.len() < 2 {
        return 0.0;
    }
    let span = (crossings[crossings.len() - 1] - crossings[0]) as f64;
    (crossings.len() - 1) as f64 * rate as f64 / span
}
