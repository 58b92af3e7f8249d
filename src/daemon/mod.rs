//! The runtime: the protocol thread and the engine thread, and the state they
//! share. This is where a client's bytes travel: a CUSE WRITE is decoded
//! (`cuse::wire`), handed to its open file (`oss::dsp`), copied into that
//! file's voice (`mix::voice`), mixed by the engine (`mix`) and written to
//! the device (`output`).
//!
//! One protocol thread reads every request and writes every reply; nothing
//! it does blocks. A request that has to wait (a blocking write into a full
//! buffer, SYNC, the draining close) is parked by its `unique` and answered
//! when the engine's tick shows it can be. The engine thread only mixes and
//! writes the device (see `engine.rs`).

pub mod engine;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signalfd::SignalFd;

use crate::cuse::abi::{FUSE_POLL_SCHEDULE_NOTIFY, READ_BUFFER_SIZE};
use crate::cuse::channel::{Channel, Sent};
use crate::cuse::wire::{Op, Reply, Request};
use crate::mix::{Mixer, Quality, Voice, VoiceId};
use crate::oss::dsp::{DeviceInfo, Dsp, Env, Outcome};
use crate::output::Sink;
use engine::Position;

/// What the protocol thread and the engine share, behind one mutex held only
/// for copying and mixing.
#[derive(Debug)]
pub struct Shared {
    pub mixer: Mixer,
    pub position: Position,
    pub device_xruns: u64,
    /// The engine stopped because the device failed.
    pub failed: Option<String>,
}

/// Daemon settings that are not the device's.
#[derive(Debug, Clone)]
pub struct Config {
    /// Node name under /dev ("dsp").
    pub dsp_name: String,
    /// The output device's name, for the OSS information calls.
    pub device_name: String,
    /// Device number to ask for; (0, 0) lets the kernel choose.
    pub dsp_dev: (u32, u32),
    pub quality: Quality,
    /// Longest a blocking close waits for its stream to play out, beyond the
    /// stream's own queued time.
    pub drain_grace: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            dsp_name: "dsp".into(),
            device_name: "(none)".into(),
            dsp_dev: (0, 0),
            quality: Quality::Fast,
            drain_grace: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("CUSE connection failed: {0}")]
    Cuse(io::Error),
    #[error("output device failed: {0}")]
    Device(String),
    #[error("{0}")]
    Setup(String),
}

/// A write waiting for room in its file's buffer.
#[derive(Debug)]
struct ParkedWrite {
    unique: u64,
    data: Vec<u8>,
    done: usize,
}

/// A close (RELEASE) waiting for its stream to play out.
#[derive(Debug)]
struct ParkedRelease {
    unique: u64,
    deadline: Instant,
}

/// One open file of /dev/dsp.
#[derive(Debug)]
struct Client {
    dsp: Dsp,
    voice: VoiceId,
    pid: u32,
    writes: VecDeque<ParkedWrite>,
    syncs: Vec<u64>,
    release: Option<ParkedRelease>,
    /// Kernel poll handle to notify when the file becomes writable.
    poll_kh: Option<u64>,
}

/// Something to send once the lock is released.
#[derive(Debug)]
enum Answer {
    Write(u64, u32),
    Error(u64, i32),
    Empty(u64),
    Notify(u64),
}

/// A handle that stops a running daemon from another thread.
#[derive(Debug, Clone)]
pub struct Stopper(Arc<EventFd>);

impl Stopper {
    pub fn stop(&self) {
        let _ = self.0.write(1);
    }
}

pub struct Daemon {
    cfg: Config,
    chan: Channel,
    shared: Arc<Mutex<Shared>>,
    tick: Arc<EventFd>,
    stop_fd: Arc<EventFd>,
    engine_stop: Arc<AtomicBool>,
    engine: Option<JoinHandle<()>>,
    clients: HashMap<u64, Client>,
    info: DeviceInfo,
    next_fh: u64,
    reply: Reply,
    buf: Vec<u8>,
    answers: Vec<Answer>,
    dead_voices: Vec<Voice>,
}

impl Daemon {
    /// Starts the engine on `sink` and gets ready to serve `chan` (a fresh
    /// CUSE connection: the handshake is done in [`Daemon::run`]).
    pub fn new(cfg: Config, chan: Channel, sink: Box<dyn Sink>) -> Result<Daemon, DaemonError> {
        let dev = sink.config();
        let shared = Arc::new(Mutex::new(Shared {
            mixer: Mixer::new(dev),
            position: Position::new(dev.pcm.rate),
            device_xruns: 0,
            failed: None,
        }));
        let efd = || {
            EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC)
                .map(Arc::new)
                .map_err(|e| DaemonError::Setup(format!("eventfd: {e}")))
        };
        let tick = efd()?;
        let stop_fd = efd()?;
        let engine_stop = Arc::new(AtomicBool::new(false));
        let engine = {
            let (shared, tick, stop) = (shared.clone(), tick.clone(), engine_stop.clone());
            std::thread::Builder::new()
                .name("ossd-engine".into())
                .spawn(move || engine::run(shared, sink, tick, stop))
                .map_err(|e| DaemonError::Setup(format!("cannot start the engine thread: {e}")))?
        };
        let info = DeviceInfo {
            alsa_name: cfg.device_name.clone(),
            devnode: format!("/dev/{}", cfg.dsp_name),
            open_files: 0,
        };
        Ok(Daemon {
            cfg,
            chan,
            shared,
            tick,
            stop_fd,
            engine_stop,
            engine: Some(engine),
            clients: HashMap::new(),
            info,
            next_fh: 1,
            reply: Reply::new(),
            buf: vec![0; READ_BUFFER_SIZE],
            answers: Vec::new(),
            dead_voices: Vec::new(),
        })
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop_fd.clone())
    }

    /// Serves until stopped (the [`Stopper`], or a signal on `signals`), the
    /// device fails or the kernel closes the connection. On the way out every
    /// parked request is answered and the connection closed, which removes the
    /// device node.
    pub fn run(mut self, signals: Option<&SignalFd>) -> Result<(), DaemonError> {
        let result = self.serve(signals);
        self.shutdown();
        result
    }

    fn serve(&mut self, signals: Option<&SignalFd>) -> Result<(), DaemonError> {
        loop {
            let mut fds = vec![
                PollFd::new(self.chan.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.tick.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.stop_fd.as_fd(), PollFlags::POLLIN),
            ];
            if let Some(s) = signals {
                fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::from(100u8)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(DaemonError::Cuse(e.into())),
            }
            let ready = |i: usize| fds[i].revents().is_some_and(|r| !r.is_empty());
            let (cuse, tick, stop) = (ready(0), ready(1), ready(2));
            let signal = fds.len() > 3 && ready(3);
            let hup = fds[0]
                .revents()
                .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR));
            drop(fds);
            if stop {
                return Ok(());
            }
            if signal {
                if let Some(Some(info)) = signals.map(|s| s.read_signal().ok().flatten()) {
                    tracing::info!(signal = info.ssi_signo, "stopping on signal");
                }
                return Ok(());
            }
            if cuse {
                self.read_requests()?;
            } else if hup {
                return Err(DaemonError::Cuse(io::Error::other(
                    "the kernel closed the connection",
                )));
            }
            if tick {
                let _ = self.tick.read();
                if let Some(msg) = self.shared.lock().expect("lock").failed.take() {
                    return Err(DaemonError::Device(msg));
                }
            }
            self.service();
        }
    }

    fn read_requests(&mut self) -> Result<(), DaemonError> {
        loop {
            let n = match self.chan.recv(&mut self.buf) {
                Ok(Some(n)) => n,
                Ok(None) => return Ok(()),
                Err(e) => return Err(DaemonError::Cuse(e)),
            };
            let buf = std::mem::take(&mut self.buf);
            let result = match Request::parse(&buf[..n]) {
                Ok(req) => self.handle(req),
                Err(err) => {
                    tracing::warn!("malformed request: {err}");
                    match err.reply() {
                        Some((unique, errno)) => self.send_error(unique, errno),
                        None => Ok(()),
                    }
                }
            };
            self.buf = buf;
            result?;
        }
    }

    fn send(&self, bytes: &[u8]) -> Result<(), DaemonError> {
        match self.chan.send(bytes) {
            Ok(Sent::Delivered) => Ok(()),
            Ok(Sent::Stale) => {
                tracing::debug!("reply to a request the kernel no longer waits for");
                Ok(())
            }
            Err(e) => Err(DaemonError::Cuse(e)),
        }
    }

    fn send_error(&mut self, unique: u64, errno: i32) -> Result<(), DaemonError> {
        let bytes = self.reply.error(unique, errno).to_vec();
        self.send(&bytes)
    }

    fn handle(&mut self, req: Request<'_>) -> Result<(), DaemonError> {
        let unique = req.header.unique;
        match req.op {
            Op::CuseInit { major, minor, .. } => {
                tracing::debug!(major, minor, "CUSE_INIT");
                let (maj, min) = self.cfg.dsp_dev;
                let name = self.cfg.dsp_name.clone();
                let bytes = self.reply.cuse_init(unique, maj, min, &name).to_vec();
                self.send(&bytes)
            }
            Op::Open { flags } => self.open(unique, flags, req.header.pid),
            Op::Write { fh, data, flags } => self.write(unique, fh, data, flags),
            Op::Read { fh, .. } => {
                let errno = if self.clients.contains_key(&fh) {
                    libc::EINVAL
                } else {
                    libc::EBADF
                };
                self.send_error(unique, errno)
            }
            Op::Ioctl {
                fh,
                cmd,
                input,
                out_size,
                ..
            } => self.ioctl(unique, fh, cmd, input, out_size),
            Op::Poll { fh, kh, flags, .. } => self.poll(unique, fh, kh, flags),
            Op::Interrupt { unique: target } => {
                self.interrupt(target);
                self.flush_answers()
            }
            Op::Release { fh, flags } => self.release(unique, fh, flags),
            Op::Flush { .. } => {
                let bytes = self.reply.empty(unique).to_vec();
                self.send(&bytes)
            }
        }
    }

    fn open(&mut self, unique: u64, flags: u32, pid: u32) -> Result<(), DaemonError> {
        let acc = flags as i32 & libc::O_ACCMODE;
        if acc == libc::O_RDONLY {
            // Recording is not built yet: say there is no capture device.
            return self.send_error(unique, libc::ENXIO);
        }
        let dev = *self.shared.lock().expect("lock").mixer.device();
        let dsp = Dsp::new(dev);
        let voice = dsp.make_voice(self.cfg.quality);
        let id = self.shared.lock().expect("lock").mixer.insert(voice);
        let fh = self.next_fh;
        self.next_fh += 1;
        self.clients.insert(
            fh,
            Client {
                dsp,
                voice: id,
                pid,
                writes: VecDeque::new(),
                syncs: Vec::new(),
                release: None,
                poll_kh: None,
            },
        );
        tracing::debug!(fh, pid, flags, "open");
        let bytes = self.reply.open(unique, fh).to_vec();
        self.send(&bytes)
    }

    /// Rebuilds a file's voice after its format, rate, channels or fragments
    /// changed. The new voice is built, and the old one dropped, outside the lock.
    fn rebuild_voice(&mut self, fh: u64) {
        let Some(c) = self.clients.get_mut(&fh) else {
            return;
        };
        if !c.dsp.dirty {
            return;
        }
        c.dsp.dirty = false;
        let voice = c.dsp.make_voice(self.cfg.quality);
        let old = self
            .shared
            .lock()
            .expect("lock")
            .mixer
            .replace(c.voice, voice);
        drop(old);
    }

    fn write(&mut self, unique: u64, fh: u64, data: &[u8], flags: u32) -> Result<(), DaemonError> {
        let Some(c) = self.clients.get_mut(&fh) else {
            return self.send_error(unique, libc::EBADF);
        };
        c.dsp.io_started = true;
        let nonblock = c.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        if c.dsp.dirty {
            self.rebuild_voice(fh);
        }
        let c = self.clients.get_mut(&fh).expect("checked above");
        let took = if c.writes.is_empty() {
            let mut s = self.shared.lock().expect("lock");
            s.mixer.voice_mut(c.voice).map_or(0, |v| v.ring.push(data))
        } else {
            0 // earlier writes of this file wait first: keep the byte order
        };
        if took == data.len() {
            let bytes = self.reply.write(unique, took as u32).to_vec();
            return self.send(&bytes);
        }
        if nonblock {
            if took > 0 {
                let bytes = self.reply.write(unique, took as u32).to_vec();
                return self.send(&bytes);
            }
            return self.send_error(unique, libc::EAGAIN);
        }
        c.writes.push_back(ParkedWrite {
            unique,
            data: data.to_vec(),
            done: took,
        });
        Ok(())
    }

    fn ioctl(
        &mut self,
        unique: u64,
        fh: u64,
        cmd: u32,
        input: &[u8],
        out_size: u32,
    ) -> Result<(), DaemonError> {
        if !self.clients.contains_key(&fh) {
            return self.send_error(unique, libc::EBADF);
        }
        let outcome = {
            let mut s = self.shared.lock().expect("lock");
            let info = DeviceInfo {
                open_files: self.clients.len(),
                ..self.info.clone()
            };
            let env = Env {
                played: s.position.played(Instant::now()),
                info: &info,
            };
            let c = self.clients.get_mut(&fh).expect("checked above");
            match s.mixer.voice_mut(c.voice) {
                Some(v) => c.dsp.ioctl(v, env, cmd, input),
                None => Outcome::Error(libc::EIO),
            }
        };
        // A format, rate, channel or fragment change takes effect at once,
        // dropping what was queued in the old format (an implicit reset, as
        // OSS drivers do when the format changes mid-stream).
        self.rebuild_voice(fh);
        match outcome {
            Outcome::Reply { result, out } => {
                if out.len() > out_size as usize {
                    // The kernel would refuse the reply: the ioctl's declared
                    // size is smaller than its output. Only a wrong table could cause it.
                    tracing::error!(cmd, "ioctl output larger than its declared size");
                    return self.send_error(unique, libc::EINVAL);
                }
                let bytes = self.reply.ioctl(unique, result, &out).to_vec();
                self.send(&bytes)
            }
            Outcome::Error(errno) => self.send_error(unique, errno),
            Outcome::ParkUntilDrained => {
                if let Some(c) = self.clients.get_mut(&fh) {
                    c.syncs.push(unique);
                }
                self.service();
                Ok(())
            }
        }
    }

    fn poll(&mut self, unique: u64, fh: u64, kh: u64, flags: u32) -> Result<(), DaemonError> {
        let Some(c) = self.clients.get_mut(&fh) else {
            return self.send_error(unique, libc::EBADF);
        };
        let writable = {
            let s = self.shared.lock().expect("lock");
            writable(&c.dsp, s.mixer.voice(c.voice), c.writes.is_empty())
        };
        let revents = if writable {
            (libc::POLLOUT | libc::POLLWRNORM) as u32
        } else {
            0
        };
        if !writable && flags & FUSE_POLL_SCHEDULE_NOTIFY != 0 {
            c.poll_kh = Some(kh);
        }
        let bytes = self.reply.poll(unique, revents).to_vec();
        self.send(&bytes)
    }

    /// INTERRUPT: a parked write answers with what it has taken (or EINTR), a
    /// parked SYNC with EINTR. An unknown unique was answered already.
    fn interrupt(&mut self, target: u64) {
        for c in self.clients.values_mut() {
            if let Some(i) = c.writes.iter().position(|w| w.unique == target) {
                let w = c.writes.remove(i).expect("found");
                self.answers.push(if w.done > 0 {
                    Answer::Write(w.unique, w.done as u32)
                } else {
                    Answer::Error(w.unique, libc::EINTR)
                });
                return;
            }
            if let Some(i) = c.syncs.iter().position(|&u| u == target) {
                c.syncs.remove(i);
                self.answers.push(Answer::Error(target, libc::EINTR));
                return;
            }
        }
    }

    fn release(&mut self, unique: u64, fh: u64, flags: u32) -> Result<(), DaemonError> {
        let Some(c) = self.clients.get_mut(&fh) else {
            return self.send_error(unique, libc::EBADF);
        };
        // Anything still parked belongs to a process that is gone.
        for w in c.writes.drain(..) {
            self.answers.push(Answer::Error(w.unique, libc::EINTR));
        }
        for u in c.syncs.drain(..) {
            self.answers.push(Answer::Error(u, libc::EINTR));
        }
        let nonblock = c.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        if nonblock {
            // O_NONBLOCK: close does not wait (the manual's rule); drop what is queued.
            self.answers.push(Answer::Empty(unique));
            self.remove_client(fh);
        } else {
            // Drain: play what was written, then answer. Bounded by the queued
            // time plus a grace period, so a stuck device cannot hang close().
            let queued = {
                let mut s = self.shared.lock().expect("lock");
                let dev = *s.mixer.device();
                match s.mixer.voice_mut(c.voice) {
                    Some(v) => {
                        v.draining = true;
                        v.kick = true;
                        let frames = v.ring.len() / v.fmt.frame_bytes().max(1);
                        Duration::from_secs_f64(frames as f64 / v.fmt.rate as f64)
                            + Duration::from_secs_f64(
                                dev.buffer_frames as f64 / dev.pcm.rate as f64,
                            )
                    }
                    None => Duration::ZERO,
                }
            };
            c.release = Some(ParkedRelease {
                unique,
                deadline: Instant::now() + queued + self.cfg.drain_grace,
            });
        }
        self.service();
        Ok(())
    }

    fn remove_client(&mut self, fh: u64) {
        if let Some(c) = self.clients.remove(&fh) {
            if let Some(v) = self.shared.lock().expect("lock").mixer.remove(c.voice) {
                self.dead_voices.push(v);
            }
            tracing::debug!(fh, pid = c.pid, "closed");
        }
    }

    /// Moves every parked request on as far as the engine allows, and sends
    /// what became answerable. Called on every engine tick and after requests.
    fn service(&mut self) {
        let now = Instant::now();
        let mut finished = Vec::new();
        {
            let mut s = self.shared.lock().expect("lock");
            let played = s.position.played(now);
            for (&fh, c) in self.clients.iter_mut() {
                let Some(v) = s.mixer.voice_mut(c.voice) else {
                    continue;
                };
                while let Some(w) = c.writes.front_mut() {
                    w.done += v.ring.push(&w.data[w.done..]);
                    if w.done < w.data.len() {
                        break;
                    }
                    self.answers.push(Answer::Write(w.unique, w.done as u32));
                    c.writes.pop_front();
                }
                if !c.syncs.is_empty() && v.drained(played) {
                    self.answers.extend(c.syncs.drain(..).map(Answer::Empty));
                }
                if let Some(r) = &c.release {
                    if v.drained(played) || now >= r.deadline {
                        if now >= r.deadline {
                            tracing::warn!(fh, "close gave up waiting for the stream to play out");
                        }
                        self.answers.push(Answer::Empty(r.unique));
                        finished.push(fh);
                    }
                }
                if c.poll_kh.is_some() && writable(&c.dsp, Some(v), c.writes.is_empty()) {
                    self.answers
                        .push(Answer::Notify(c.poll_kh.take().expect("checked")));
                }
            }
        }
        for fh in finished {
            self.remove_client(fh);
        }
        self.dead_voices.clear();
        if let Err(e) = self.flush_answers() {
            tracing::error!("{e}");
        }
    }

    fn flush_answers(&mut self) -> Result<(), DaemonError> {
        let answers = std::mem::take(&mut self.answers);
        let mut result = Ok(());
        for a in &answers {
            let bytes = match *a {
                Answer::Write(u, n) => self.reply.write(u, n),
                Answer::Error(u, e) => self.reply.error(u, e),
                Answer::Empty(u) => self.reply.empty(u),
                Answer::Notify(kh) => self.reply.notify_poll(kh),
            }
            .to_vec();
            if let Err(e) = self.send(&bytes) {
                result = Err(e);
            }
        }
        self.answers = answers;
        self.answers.clear();
        result
    }

    /// Stops the engine, answers every parked request, closes the connection.
    fn shutdown(&mut self) {
        self.engine_stop.store(true, Ordering::Release);
        if let Some(h) = self.engine.take() {
            let _ = h.join();
        }
        let fhs: Vec<u64> = self.clients.keys().copied().collect();
        for fh in fhs {
            let c = self.clients.get_mut(&fh).expect("listed");
            for w in c.writes.drain(..) {
                self.answers.push(Answer::Error(w.unique, libc::EIO));
            }
            for u in c.syncs.drain(..) {
                self.answers.push(Answer::Error(u, libc::EIO));
            }
            if let Some(r) = c.release.take() {
                self.answers.push(Answer::Empty(r.unique));
                self.remove_client(fh);
            }
        }
        let _ = self.flush_answers();
    }
}

/// Writable for poll(): no write waiting and at least a fragment (or the
/// LOW_WATER mark) free.
fn writable(dsp: &Dsp, voice: Option<&Voice>, no_parked_writes: bool) -> bool {
    let Some(v) = voice else { return true };
    no_parked_writes && v.ring.space() >= dsp.low_water().min(v.ring.capacity())
}
