//! The runtime: the protocol thread, the engine and capture threads, and the
//! state they share. This is where a client's bytes travel: a CUSE WRITE is
//! decoded (`cuse::wire`), handed to its open file (`oss::dsp`), copied into
//! that file's voice (`mix::voice`), mixed by the engine (`mix`) and written
//! to the device (`output`). Recording runs the other way: `input` →
//! `mix::record` → a parked READ answered here.
//!
//! One protocol thread reads every request of every node (/dev/dsp, the
//! monitor, /dev/mixer, /dev/sndstat) and writes every reply; nothing it does
//! blocks. A request that has to wait (a blocking write into a full buffer, a
//! blocking read, SYNC, the draining close) is parked by its `unique` and
//! answered when an engine tick shows it can be.

pub mod capture;
pub mod engine;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signalfd::SignalFd;

use crate::cuse::abi::{FUSE_POLL_SCHEDULE_NOTIFY, READ_BUFFER_SIZE};
use crate::cuse::channel::{Channel, Sent};
use crate::cuse::wire::{Op, Reply, Request};
use crate::device::DeviceError;
use crate::input::SourceOpener;
use crate::mix::pipeline::Pipeline;
use crate::mix::record::{RecConv, RecVoice};
use crate::mix::{Mixer, Quality, Voice, VoiceId};
use crate::oss::dsp::{DeviceInfo, Dsp, Env, Outcome, Streams, Volume};
use crate::oss::mixer::{MixerDesc, MixerOutcome, MixerState};
use crate::oss::sndstat::{self, ClientLine, DeviceLine, SndstatInfo, Totals};
use crate::oss::soundcard::{
    ioc_type, OSS_GETVERSION, SNDCTL_AUDIOINFO, SNDCTL_AUDIOINFO_EX, SNDCTL_CARDINFO,
    SNDCTL_ENGINEINFO, SNDCTL_SYSINFO,
};
use crate::output::Sink;
use capture::Capture;
pub use engine::EngineOptions;
use engine::Position;

/// What the protocol thread and the engine share, behind one mutex held only
/// for copying and mixing.
#[derive(Debug)]
pub struct Shared {
    pub mixer: Mixer,
    pub position: Position,
    pub device_xruns: u64,
    /// The engine stopped because the device failed.
    pub failed: Option<DeviceError>,
    /// The protocol thread has parked requests (or armed polls) and wants a
    /// tick after every period; when idle it is left to sleep.
    pub want_tick: bool,
}

/// The kinds of device node ossd serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// /dev/dsp: playback, recording, duplex.
    Dsp,
    /// A read-only node that records the mix ossd plays.
    Monitor,
    /// /dev/mixer.
    Mixer,
    /// /dev/sndstat: a text status.
    Sndstat,
}

/// One CUSE connection and the node it makes.
#[derive(Debug)]
pub struct Node {
    pub kind: NodeKind,
    /// Name under /dev.
    pub name: String,
    /// Device number to ask for; (0, 0) lets the kernel choose.
    pub dev: (u32, u32),
    pub chan: Channel,
}

/// Daemon settings that are not the device's.
#[derive(Debug, Clone)]
pub struct Config {
    /// The output device's name, for the OSS information calls.
    pub device_name: String,
    /// The capture device's name.
    pub capture_name: String,
    pub quality: Quality,
    /// Longest a blocking close waits for its stream to play out, beyond the
    /// stream's own queued time.
    pub drain_grace: Duration,
    /// Where the mixer levels are kept across restarts.
    pub state_file: Option<PathBuf>,
    /// Soft-limit the mix instead of clipping it.
    pub limiter: bool,
}

/// What a reload (SIGHUP) can change while clients play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reload {
    /// The resampler of streams set up from now on.
    pub quality: Quality,
    pub limiter: bool,
}

/// Reads the configuration again, for SIGHUP.
pub type Reloader = Box<dyn FnMut() -> Result<Reload, String> + Send>;

/// The devices the daemon plays to and records from.
pub struct Devices {
    /// The output, already open.
    pub sink: Box<dyn Sink>,
    pub engine: EngineOptions,
    /// Opens the capture device when the first reader appears.
    pub capture: Option<SourceOpener>,
}

impl Devices {
    /// Just an output: no recording, default engine options.
    pub fn output(sink: Box<dyn Sink>) -> Devices {
        Devices {
            sink,
            engine: EngineOptions::default(),
            capture: None,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            device_name: "(none)".into(),
            capture_name: "(none)".into(),
            quality: Quality::Fast,
            drain_grace: Duration::from_secs(2),
            state_file: None,
            limiter: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("CUSE connection failed: {0}")]
    Cuse(io::Error),
    #[error("output device failed: {0}")]
    Device(DeviceError),
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

/// A read waiting for its bytes.
#[derive(Debug)]
struct ParkedRead {
    unique: u64,
    want: usize,
    got: Vec<u8>,
}

/// A close (RELEASE) waiting for its stream to play out.
#[derive(Debug)]
struct ParkedRelease {
    unique: u64,
    deadline: Instant,
}

/// Where an open file's recording voice lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecSlot {
    /// In the capture thread's recorders.
    Capture(usize),
    /// In the mixer's monitor recorders.
    Monitor(usize),
}

/// One open file of /dev/dsp or of the monitor.
#[derive(Debug)]
struct DspFile {
    dsp: Dsp,
    play: Option<VoiceId>,
    rec: Option<RecSlot>,
    writes: VecDeque<ParkedWrite>,
    reads: VecDeque<ParkedRead>,
    syncs: Vec<u64>,
    release: Option<ParkedRelease>,
    /// Kernel poll handle to notify when the file becomes ready.
    poll_kh: Option<u64>,
}

#[derive(Debug)]
enum FileKind {
    Dsp(Box<DspFile>),
    Mixer,
    Sndstat { text: Vec<u8>, pos: usize },
}

#[derive(Debug)]
struct File {
    node: usize,
    pid: u32,
    kind: FileKind,
}

impl File {
    fn dsp(&self) -> Option<&DspFile> {
        match &self.kind {
            FileKind::Dsp(d) => Some(d),
            _ => None,
        }
    }

    /// A close waits for the stream to drain (it has a deadline).
    fn release_pending(&self) -> bool {
        self.dsp().is_some_and(|d| d.release.is_some())
    }

    /// Something waits on the device's position: SYNC or a draining close.
    fn waits_on_position(&self) -> bool {
        self.dsp()
            .is_some_and(|d| !d.syncs.is_empty() || d.release.is_some())
    }
}

/// Something to send once the locks are released.
#[derive(Debug)]
enum Answer {
    Write(u64, u32),
    Data(u64, Vec<u8>),
    Error(u64, i32),
    Empty(u64),
    /// A successful ioctl with no output (a SYNC that has drained).
    IoctlDone(u64),
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
    nodes: Vec<Node>,
    shared: Arc<Mutex<Shared>>,
    tick: Arc<EventFd>,
    stop_fd: Arc<EventFd>,
    engine_stop: Arc<AtomicBool>,
    engine: Option<JoinHandle<()>>,
    capture_opener: Option<SourceOpener>,
    capture: Option<Capture>,
    mixer_state: MixerState,
    mixer_seen: u64,
    files: HashMap<u64, File>,
    next_fh: u64,
    served: u64,
    reply: Reply,
    buf: Vec<u8>,
    /// Answers to send once the locks are released, each with its node.
    answers: Vec<(usize, Answer)>,
    /// The node whose request is being handled.
    current: usize,
    dead_voices: Vec<Voice>,
    /// Pipelines the engine had out when their voice went.
    // Boxed: a pipeline moves between its voice, the bus and here as a pointer.
    #[allow(clippy::vec_box)]
    dead_pipes: Vec<Box<Pipeline>>,
    dead_recs: Vec<RecVoice>,
    /// Recorder conversions a thread had out when their reader went.
    #[allow(clippy::vec_box)]
    dead_convs: Vec<Box<RecConv>>,
    reloader: Option<Reloader>,
    /// Nodes whose connection failed (side nodes only; see `serve`).
    node_gone: Vec<bool>,
}

impl Daemon {
    /// Starts the engine on `sink` and gets ready to serve `nodes` (fresh
    /// CUSE connections: the handshakes are done in [`Daemon::run`]).
    /// `capture` opens the recording device when the first reader appears.
    pub fn new(cfg: Config, nodes: Vec<Node>, devices: Devices) -> Result<Daemon, DaemonError> {
        let Devices {
            sink,
            engine: engine_opts,
            capture,
        } = devices;
        let dev = sink.config();
        let mixer_state = match &cfg.state_file {
            Some(path) => match MixerState::load(path) {
                Ok(Some(m)) => m,
                Ok(None) => MixerState::new(),
                Err(e) => {
                    tracing::warn!(
                        "cannot read mixer state {}: {e}; starting at full volume",
                        path.display()
                    );
                    MixerState::new()
                }
            },
            None => MixerState::new(),
        };
        let mut mixer = Mixer::new(dev);
        mixer.limiter = cfg.limiter;
        mixer.master = mixer_state.master_gains(dev.pcm.channels as usize);
        let shared = Arc::new(Mutex::new(Shared {
            mixer,
            position: Position::new(dev.pcm.rate),
            device_xruns: 0,
            failed: None,
            want_tick: false,
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
                .spawn(move || engine::run(shared, sink, tick, stop, engine_opts))
                .map_err(|e| DaemonError::Setup(format!("cannot start the engine thread: {e}")))?
        };
        let mixer_seen = mixer_state.changed();
        let nodes_len = nodes.len();
        Ok(Daemon {
            cfg,
            nodes,
            shared,
            tick,
            stop_fd,
            engine_stop,
            engine: Some(engine),
            capture_opener: capture,
            capture: None,
            mixer_state,
            mixer_seen,
            files: HashMap::new(),
            next_fh: 1,
            served: 0,
            reply: Reply::new(),
            buf: vec![0; READ_BUFFER_SIZE],
            answers: Vec::new(),
            current: 0,
            dead_voices: Vec::new(),
            dead_pipes: Vec::new(),
            dead_recs: Vec::new(),
            dead_convs: Vec::new(),
            reloader: None,
            node_gone: vec![false; nodes_len],
        })
    }

    /// What SIGHUP does: read the configuration again and apply what can
    /// change live. Without it, SIGHUP is logged and ignored.
    pub fn on_reload(&mut self, reloader: Reloader) {
        self.reloader = Some(reloader);
    }

    fn reload(&mut self) {
        crate::system::notify_reloading();
        match self.reloader.as_mut().map(|r| r()) {
            Some(Ok(r)) => {
                self.cfg.quality = r.quality;
                self.lock().mixer.limiter = r.limiter;
                tracing::info!(resampler = ?r.quality, limiter = r.limiter, "configuration reloaded");
            }
            Some(Err(e)) => {
                tracing::error!("reload failed, keeping the running configuration: {e}")
            }
            None => tracing::info!("SIGHUP: nothing to reload"),
        }
        crate::system::notify("READY=1");
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop_fd.clone())
    }

    /// Serves until stopped (the [`Stopper`], or a signal on `signals`), the
    /// device fails or the kernel closes a connection. On the way out every
    /// parked request is answered and the connections closed, which removes
    /// the device nodes.
    pub fn run(mut self, signals: Option<&SignalFd>) -> Result<(), DaemonError> {
        let result = self.serve(signals);
        self.shutdown();
        result
    }

    fn serve(&mut self, signals: Option<&SignalFd>) -> Result<(), DaemonError> {
        loop {
            // Live nodes only: a failed side node is left out of the poll set.
            let live: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| !self.node_gone[i])
                .collect();
            let n = live.len();
            let mut fds: Vec<PollFd> = live
                .iter()
                .map(|&i| PollFd::new(self.nodes[i].chan.as_fd(), PollFlags::POLLIN))
                .collect();
            fds.push(PollFd::new(self.tick.as_fd(), PollFlags::POLLIN));
            fds.push(PollFd::new(self.stop_fd.as_fd(), PollFlags::POLLIN));
            if let Some(s) = signals {
                fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
            }
            // Sleep until something happens: requests, a tick, a signal.
            // Only a close waiting to drain has a deadline of its own
            // (checked on every tick too); an idle daemon sets no timer.
            let timeout = if self.files.values().any(|f| f.release_pending()) {
                PollTimeout::from(100u8)
            } else {
                PollTimeout::NONE
            };
            match poll(&mut fds, timeout) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(DaemonError::Cuse(e.into())),
            }
            let revents: Vec<PollFlags> = fds
                .iter()
                .map(|f| f.revents().unwrap_or(PollFlags::empty()))
                .collect();
            drop(fds);
            if !revents[n + 1].is_empty() {
                return Ok(());
            }
            if revents.len() > n + 2 && !revents[n + 2].is_empty() {
                match signals.and_then(|s| s.read_signal().ok().flatten()) {
                    Some(info) if info.ssi_signo == libc::SIGHUP as u32 => self.reload(),
                    Some(info) => {
                        tracing::info!(signal = info.ssi_signo, "stopping on signal");
                        return Ok(());
                    }
                    None => {}
                }
            }
            for (&i, r) in live.iter().zip(&revents) {
                let result = if r.contains(PollFlags::POLLIN) {
                    self.read_requests(i)
                } else if r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                    Err(DaemonError::Cuse(io::Error::other(
                        "the kernel closed the connection",
                    )))
                } else {
                    Ok(())
                };
                if let Err(e) = result {
                    let node = &self.nodes[i];
                    if node.kind == NodeKind::Dsp {
                        return Err(e);
                    }
                    // A side node (mixer, sndstat, monitor) that could not be
                    // made, e.g. because another instance has that name:
                    // go on without it.
                    tracing::warn!(
                        "/dev/{} is unavailable ({e}); serving without it (is the name taken?)",
                        node.name
                    );
                    self.node_gone[i] = true;
                }
            }
            if !revents[n].is_empty() {
                let _ = self.tick.read();
                if let Some(msg) = self.lock().failed.take() {
                    return Err(DaemonError::Device(msg));
                }
                let capture_failed = self
                    .capture
                    .as_ref()
                    .and_then(|c| c.shared.lock().expect("capture lock").failed.take());
                if let Some(msg) = capture_failed {
                    tracing::error!("capture device failed: {msg}; recording stops");
                    self.fail_readers(&msg.to_string());
                }
            }
            self.service();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().expect("engine lock")
    }

    fn read_requests(&mut self, node: usize) -> Result<(), DaemonError> {
        loop {
            let n = match self.nodes[node].chan.recv(&mut self.buf) {
                Ok(Some(n)) => n,
                Ok(None) => return Ok(()),
                Err(e) => return Err(DaemonError::Cuse(e)),
            };
            let buf = std::mem::take(&mut self.buf);
            let result = match Request::parse(&buf[..n]) {
                Ok(req) => self.handle(node, req),
                Err(err) => {
                    tracing::warn!(node = self.nodes[node].name, "malformed request: {err}");
                    if let Some((unique, errno)) = err.reply() {
                        self.answers.push((node, Answer::Error(unique, errno)));
                    }
                    Ok(())
                }
            };
            self.buf = buf;
            result?;
            self.flush_answers()?;
        }
    }

    fn send(&self, node: usize, bytes: &[u8]) -> Result<(), DaemonError> {
        match self.nodes[node].chan.send(bytes) {
            Ok(Sent::Delivered) => Ok(()),
            Ok(Sent::Stale) => {
                tracing::debug!("reply to a request the kernel no longer waits for");
                Ok(())
            }
            Err(e) => Err(DaemonError::Cuse(e)),
        }
    }

    /// Queues an answer on the node of the request being handled.
    fn answer(&mut self, a: Answer) -> Result<(), DaemonError> {
        self.answers.push((self.current, a));
        Ok(())
    }

    fn handle(&mut self, node: usize, req: Request<'_>) -> Result<(), DaemonError> {
        let unique = req.header.unique;
        self.current = node;
        let fh_known =
            |fh: u64, files: &HashMap<u64, File>| files.get(&fh).is_some_and(|f| f.node == node);
        match req.op {
            Op::CuseInit { major, minor, .. } => {
                let n = &self.nodes[node];
                tracing::debug!(major, minor, node = n.name, "CUSE_INIT");
                let bytes = self
                    .reply
                    .cuse_init(unique, n.dev.0, n.dev.1, &n.name)
                    .to_vec();
                self.send(node, &bytes)
            }
            Op::Open { flags } => self.open(node, unique, flags, req.header.pid),
            Op::Interrupt { unique: target } => {
                self.interrupt(target);
                Ok(())
            }
            Op::Write { fh, .. }
            | Op::Read { fh, .. }
            | Op::Ioctl { fh, .. }
            | Op::Poll { fh, .. }
            | Op::Release { fh, .. }
            | Op::Flush { fh }
                if !fh_known(fh, &self.files) =>
            {
                self.answer(Answer::Error(unique, libc::EBADF))
            }
            Op::Write { fh, data, flags } => self.write(unique, fh, data, flags),
            Op::Read { fh, size, flags } => self.read(unique, fh, size as usize, flags),
            Op::Ioctl {
                fh,
                cmd,
                input,
                out_size,
                ..
            } => self.ioctl(unique, fh, cmd, input, out_size),
            Op::Poll {
                fh,
                kh,
                flags,
                events,
            } => self.poll(unique, fh, kh, flags, events),
            Op::Release { fh, flags } => self.release(unique, fh, flags),
            Op::Flush { .. } => self.answer(Answer::Empty(unique)),
        }
    }

    fn device_info(&self) -> DeviceInfo {
        DeviceInfo {
            alsa_name: self.cfg.device_name.clone(),
            devnode: self
                .nodes
                .iter()
                .find(|n| n.kind == NodeKind::Dsp)
                .map_or_else(String::new, |n| format!("/dev/{}", n.name)),
            open_files: self
                .files
                .values()
                .filter(|f| matches!(f.kind, FileKind::Dsp(_)))
                .count(),
            has_capture: self.capture_opener.is_some(),
            has_mixer: self.nodes.iter().any(|n| n.kind == NodeKind::Mixer),
        }
    }

    /// Opens the capture device if it is not open yet.
    fn ensure_capture(&mut self) -> Result<(), DeviceError> {
        if self.capture.is_some() {
            return Ok(());
        }
        let opener = self.capture_opener.as_mut().ok_or(DeviceError::NoCapture)?;
        let source = opener()?;
        let cap = Capture::start(source, self.tick.clone())?;
        let d = cap.dev;
        tracing::info!(
            device = self.cfg.capture_name,
            format = d.pcm.sample.name(),
            rate = d.pcm.rate,
            channels = d.pcm.channels,
            period = d.period_frames,
            "capture opened"
        );
        self.capture = Some(cap);
        Ok(())
    }

    fn open(&mut self, node: usize, unique: u64, flags: u32, pid: u32) -> Result<(), DaemonError> {
        let acc = flags as i32 & libc::O_ACCMODE;
        let kind = self.nodes[node].kind;
        let file_kind = match kind {
            NodeKind::Mixer => FileKind::Mixer,
            NodeKind::Sndstat => {
                if acc != libc::O_RDONLY {
                    return self.answer(Answer::Error(unique, libc::EACCES));
                }
                FileKind::Sndstat {
                    text: self.render_sndstat().into_bytes(),
                    pos: 0,
                }
            }
            NodeKind::Monitor => {
                if acc != libc::O_RDONLY {
                    // The monitor records what is played; it plays nothing itself.
                    return self.answer(Answer::Error(unique, libc::EACCES));
                }
                let dev = *self.lock().mixer.device();
                let dsp = Dsp::new(dev);
                let rec = dsp.make_rec_voice(&dev, self.cfg.quality, Volume::FULL);
                let id = self.lock().mixer.monitors.insert(rec);
                FileKind::Dsp(Box::new(DspFile::new(
                    dsp,
                    None,
                    Some(RecSlot::Monitor(id)),
                )))
            }
            NodeKind::Dsp => {
                let dev = *self.lock().mixer.device();
                let dsp = Dsp::new(dev);
                let wants_rec = acc == libc::O_RDONLY || acc == libc::O_RDWR;
                let rec = if wants_rec {
                    match self.ensure_capture() {
                        Ok(()) => {
                            let cap = self.capture.as_ref().expect("just opened");
                            let r = dsp.make_rec_voice(
                                &cap.dev,
                                self.cfg.quality,
                                self.mixer_state.igain(),
                            );
                            Some(RecSlot::Capture(
                                cap.shared.lock().expect("capture lock").recorders.insert(r),
                            ))
                        }
                        Err(e) if acc == libc::O_RDONLY => {
                            tracing::warn!("cannot record: {e}");
                            return self.answer(Answer::Error(unique, libc::ENXIO));
                        }
                        Err(e) => {
                            // Many old programs open O_RDWR only to play: let them.
                            tracing::warn!("opened read-write without recording: {e}");
                            None
                        }
                    }
                } else {
                    None
                };
                let play = (acc != libc::O_RDONLY).then(|| {
                    let v = dsp.make_voice(self.cfg.quality);
                    self.lock().mixer.insert(v)
                });
                FileKind::Dsp(Box::new(DspFile::new(dsp, play, rec)))
            }
        };
        let fh = self.next_fh;
        self.next_fh += 1;
        if matches!(file_kind, FileKind::Dsp(_)) {
            self.served += 1; // /dev/dsp and monitor opens, not the mixer's or sndstat's
        }
        self.files.insert(
            fh,
            File {
                node,
                pid,
                kind: file_kind,
            },
        );
        tracing::debug!(fh, pid, flags, node = self.nodes[node].name, "open");
        let bytes = self.reply.open(unique, fh).to_vec();
        self.send(node, &bytes)
    }

    fn dsp_file(&mut self, fh: u64) -> Option<&mut DspFile> {
        match self.files.get_mut(&fh).map(|f| &mut f.kind) {
            Some(FileKind::Dsp(d)) => Some(d),
            _ => None,
        }
    }

    /// Rebuilds a file's voices after its format, rate, channels or fragments
    /// changed. The new voices are built, and the old ones dropped, outside
    /// the locks.
    fn rebuild_voices(&mut self, fh: u64) {
        let quality = self.cfg.quality;
        let igain = self.mixer_state.igain();
        let cap_dev = self.capture.as_ref().map(|c| c.dev);
        let mon_dev = *self.lock().mixer.device();
        let Some(f) = self.dsp_file(fh) else { return };
        if !f.dsp.dirty {
            return;
        }
        f.dsp.dirty = false;
        let play = f.play.map(|id| (id, f.dsp.make_voice(quality)));
        let rec = match f.rec {
            Some(RecSlot::Capture(id)) => {
                cap_dev.map(|d| (f.rec.unwrap(), f.dsp.make_rec_voice(&d, quality, igain), id))
            }
            Some(RecSlot::Monitor(id)) => Some((
                f.rec.unwrap(),
                f.dsp.make_rec_voice(&mon_dev, quality, Volume::FULL),
                id,
            )),
            None => None,
        };
        // The new streams keep the old ones' trigger and error counters, so
        // SETTRIGGER and GETERROR mean the same across a format change.
        if let Some((id, mut v)) = play {
            let mut s = self.lock();
            if let Some(o) = s.mixer.voice(id) {
                v.trigger = o.trigger;
                v.underruns = o.underruns;
            }
            let old = s.mixer.replace(id, v);
            drop(s);
            self.dead_voices.extend(old);
        }
        if let Some((slot, mut r, id)) = rec {
            let old = match slot {
                RecSlot::Capture(_) => {
                    let cap = self.capture.as_ref().expect("has a capture slot");
                    let mut s = cap.shared.lock().expect("capture lock");
                    if let Some(o) = s.recorders.get(id) {
                        r.trigger = o.trigger;
                        r.overruns = o.overruns;
                    }
                    s.recorders.replace(id, r)
                }
                RecSlot::Monitor(_) => {
                    let mut s = self.lock();
                    if let Some(o) = s.mixer.monitors.get(id) {
                        r.trigger = o.trigger;
                        r.overruns = o.overruns;
                    }
                    s.mixer.monitors.replace(id, r)
                }
            };
            self.dead_recs.extend(old);
        }
        self.dead_voices.clear();
        self.dead_recs.clear();
    }

    fn write(&mut self, unique: u64, fh: u64, data: &[u8], flags: u32) -> Result<(), DaemonError> {
        let shared = self.shared.clone();
        let Some(f) = self.dsp_file(fh) else {
            return self.answer(Answer::Error(unique, libc::EINVAL));
        };
        let Some(id) = f.play else {
            return self.answer(Answer::Error(unique, libc::EBADF));
        };
        f.dsp.io_started = true;
        let nonblock = f.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        let took = if f.writes.is_empty() {
            let mut s = shared.lock().expect("engine lock");
            s.mixer.voice_mut(id).map_or(0, |v| v.ring.push(data))
        } else {
            0 // earlier writes of this file wait first: keep the byte order
        };
        if took == data.len() {
            return self.answer(Answer::Write(unique, took as u32));
        }
        if nonblock {
            return self.answer(if took > 0 {
                Answer::Write(unique, took as u32)
            } else {
                Answer::Error(unique, libc::EAGAIN)
            });
        }
        f.writes.push_back(ParkedWrite {
            unique,
            data: data.to_vec(),
            done: took,
        });
        Ok(())
    }

    fn read(&mut self, unique: u64, fh: u64, size: usize, flags: u32) -> Result<(), DaemonError> {
        if let Some(File {
            kind: FileKind::Sndstat { text, pos },
            ..
        }) = self.files.get_mut(&fh)
        {
            let n = size.min(text.len() - *pos);
            let data = text[*pos..*pos + n].to_vec();
            *pos += n;
            return self.answer(Answer::Data(unique, data));
        }
        let Some(f) = self.dsp_file(fh) else {
            return self.answer(Answer::Error(unique, libc::EINVAL));
        };
        let Some(slot) = f.rec else {
            // Opened read-write on a device that cannot record.
            return self.answer(Answer::Error(unique, libc::EIO));
        };
        f.dsp.io_started = true;
        let nonblock = f.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        let first = f.reads.is_empty();
        let mut got = Vec::with_capacity(size);
        self.with_rec(slot, |r| {
            r.trigger = true; // the first read starts recording
            if first {
                take_into(&mut r.ring, &mut got, size);
            }
        });
        let f = self.dsp_file(fh).expect("checked");
        if got.len() == size || (nonblock && !got.is_empty()) {
            return self.answer(Answer::Data(unique, got));
        }
        if nonblock {
            return self.answer(Answer::Error(unique, libc::EAGAIN));
        }
        f.reads.push_back(ParkedRead {
            unique,
            want: size,
            got,
        });
        Ok(())
    }

    /// Runs `g` on a recording voice under the lock that guards it.
    fn with_rec<R>(&self, slot: RecSlot, g: impl FnOnce(&mut RecVoice) -> R) -> Option<R> {
        match slot {
            RecSlot::Capture(id) => {
                let cap = self.capture.as_ref()?;
                let mut s = cap.shared.lock().expect("capture lock");
                s.recorders.get_mut(id).map(g)
            }
            RecSlot::Monitor(id) => self.lock().mixer.monitors.get_mut(id).map(g),
        }
    }

    fn ioctl(
        &mut self,
        unique: u64,
        fh: u64,
        cmd: u32,
        input: &[u8],
        out_size: u32,
    ) -> Result<(), DaemonError> {
        let file = self.files.get(&fh).expect("checked by handle");
        let is_mixer_call = match file.kind {
            FileKind::Mixer | FileKind::Sndstat { .. } => true,
            // Real drivers answer the mixer ioctls on /dev/dsp too.
            FileKind::Dsp(_) => ioc_type(cmd) == b'M' as u32 && cmd != OSS_GETVERSION,
        };
        let info_call = matches!(
            cmd,
            SNDCTL_SYSINFO
                | SNDCTL_AUDIOINFO
                | SNDCTL_AUDIOINFO_EX
                | SNDCTL_ENGINEINFO
                | SNDCTL_CARDINFO
        );
        let outcome = if is_mixer_call && info_call {
            // ossinfo and friends ask /dev/mixer about the whole system.
            let info = self.device_info();
            let dev = *self.lock().mixer.device();
            let env = Env {
                played: 0,
                info: &info,
                igain: self.mixer_state.igain(),
            };
            Dsp::new(dev).ioctl(Streams::default(), env, cmd, input)
        } else if is_mixer_call {
            let desc = MixerDesc {
                name: format!("ossd on {}", self.cfg.device_name),
                has_capture: self.capture_opener.is_some(),
            };
            let out = match self.mixer_state.ioctl(cmd, input, &desc) {
                MixerOutcome::Reply(out) => Outcome::Reply { result: 0, out },
                MixerOutcome::Error(e) => Outcome::Error(e),
            };
            self.apply_mixer();
            out
        } else {
            let info = self.device_info();
            let mixer_igain = self.mixer_state.igain();
            let shared = self.shared.clone();
            let capture = self.capture.as_ref().map(|c| c.shared.clone());
            let f = self.dsp_file(fh).expect("a dsp file");
            let mut s = shared.lock().expect("engine lock");
            let mut cap_guard = match (f.rec, &capture) {
                (Some(RecSlot::Capture(_)), Some(c)) => Some(c.lock().expect("capture lock")),
                _ => None,
            };
            let played = s.position.played(Instant::now());
            let monitor = match f.rec {
                Some(RecSlot::Monitor(id)) => Some(id),
                _ => None,
            };
            let (play, mon) = s.mixer.streams_mut(f.play, monitor);
            let rec = match (f.rec, cap_guard.as_mut()) {
                (Some(RecSlot::Capture(id)), Some(g)) => g.recorders.get_mut(id),
                _ => mon,
            };
            let env = Env {
                played,
                info: &info,
                // The mixer's recording level is the capture's, not the monitor's.
                igain: if monitor.is_some() {
                    Volume::FULL
                } else {
                    mixer_igain
                },
            };
            f.dsp.ioctl(Streams { play, rec }, env, cmd, input)
        };
        // A format, rate, channel or fragment change takes effect at once,
        // dropping what was queued in the old format (an implicit reset, as
        // OSS drivers do when the format changes mid-stream).
        self.rebuild_voices(fh);
        match outcome {
            Outcome::Reply { result, out } => {
                if out.len() > out_size as usize {
                    // The kernel would refuse the reply: only a wrong table could cause it.
                    tracing::error!(cmd, "ioctl output larger than its declared size");
                    return self.answer(Answer::Error(unique, libc::EINVAL));
                }
                let node = self.files[&fh].node;
                let bytes = self.reply.ioctl(unique, result, &out).to_vec();
                self.send(node, &bytes)
            }
            Outcome::Error(errno) => self.answer(Answer::Error(unique, errno)),
            Outcome::ParkUntilDrained => {
                if let Some(f) = self.dsp_file(fh) {
                    f.syncs.push(unique);
                }
                Ok(())
            }
        }
    }

    /// After a mixer change: new master and recording gains, and the state file.
    fn apply_mixer(&mut self) {
        let now = self.mixer_state.changed();
        if now == self.mixer_seen {
            return;
        }
        self.mixer_seen = now;
        {
            let mut s = self.lock();
            let ch = s.mixer.device().pcm.channels as usize;
            s.mixer.master = self.mixer_state.master_gains(ch);
        }
        if let Some(cap) = &self.capture {
            let igain = self.mixer_state.igain();
            let mut s = cap.shared.lock().expect("capture lock");
            for f in self.files.values() {
                if let FileKind::Dsp(d) = &f.kind {
                    if let Some(RecSlot::Capture(id)) = d.rec {
                        if let Some(r) = s.recorders.get_mut(id) {
                            r.gains = d.dsp.rec_gains(r.gains.len(), igain);
                        }
                    }
                }
            }
        }
        if let Some(path) = &self.cfg.state_file {
            if let Err(e) = self.mixer_state.save(path) {
                tracing::warn!("cannot save mixer state to {}: {e}", path.display());
            }
        }
    }

    fn poll(
        &mut self,
        unique: u64,
        fh: u64,
        kh: u64,
        flags: u32,
        events: u32,
    ) -> Result<(), DaemonError> {
        let shared = self.shared.clone();
        let capture = self.capture.as_ref().map(|c| c.shared.clone());
        let revents = match &mut self.files.get_mut(&fh).expect("checked").kind {
            FileKind::Mixer => 0,
            FileKind::Sndstat { .. } => (libc::POLLIN | libc::POLLRDNORM) as u32,
            FileKind::Dsp(f) => {
                let wants_in = events & (libc::POLLIN | libc::POLLRDNORM) as u32 != 0;
                let mut s = shared.lock().expect("engine lock");
                let mut c = capture.as_ref().map(|c| c.lock().expect("capture lock"));
                let r = readiness(f, &mut s, c.as_deref_mut(), wants_in);
                if r & events == 0 && flags & FUSE_POLL_SCHEDULE_NOTIFY != 0 {
                    f.poll_kh = Some(kh);
                }
                r
            }
        };
        self.answer_poll(fh, unique, revents)
    }

    fn answer_poll(&mut self, fh: u64, unique: u64, revents: u32) -> Result<(), DaemonError> {
        let node = self.files[&fh].node;
        let bytes = self.reply.poll(unique, revents).to_vec();
        self.send(node, &bytes)
    }

    /// INTERRUPT: a parked write answers with what it has taken (or EINTR),
    /// a parked read with what it has (or EINTR), a parked SYNC with EINTR.
    /// An unknown unique was answered already.
    fn interrupt(&mut self, target: u64) {
        for f in self.files.values_mut() {
            let FileKind::Dsp(d) = &mut f.kind else {
                continue;
            };
            if let Some(i) = d.writes.iter().position(|w| w.unique == target) {
                let w = d.writes.remove(i).expect("found");
                let a = if w.done > 0 {
                    Answer::Write(w.unique, w.done as u32)
                } else {
                    Answer::Error(w.unique, libc::EINTR)
                };
                self.answers.push((f.node, a));
                return;
            }
            if let Some(i) = d.reads.iter().position(|r| r.unique == target) {
                let r = d.reads.remove(i).expect("found");
                let a = if r.got.is_empty() {
                    Answer::Error(r.unique, libc::EINTR)
                } else {
                    Answer::Data(r.unique, r.got)
                };
                self.answers.push((f.node, a));
                return;
            }
            if let Some(i) = d.syncs.iter().position(|&u| u == target) {
                d.syncs.remove(i);
                self.answers
                    .push((f.node, Answer::Error(target, libc::EINTR)));
                return;
            }
        }
    }

    fn release(&mut self, unique: u64, fh: u64, flags: u32) -> Result<(), DaemonError> {
        let shared = self.shared.clone();
        let grace = self.cfg.drain_grace;
        let Some(f) = self.dsp_file(fh) else {
            self.remove_file(fh);
            return self.answer(Answer::Empty(unique));
        };
        // Anything still parked belongs to a process that is gone.
        let mut gone: Vec<Answer> = f
            .writes
            .drain(..)
            .map(|w| Answer::Error(w.unique, libc::EINTR))
            .collect();
        gone.extend(
            f.reads
                .drain(..)
                .map(|r| Answer::Error(r.unique, libc::EINTR)),
        );
        gone.extend(f.syncs.drain(..).map(|u| Answer::Error(u, libc::EINTR)));
        let nonblock = f.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        let queued = match f.play {
            Some(id) if !nonblock => {
                let mut s = shared.lock().expect("engine lock");
                let dev = *s.mixer.device();
                s.mixer.voice_mut(id).filter(|v| v.trigger).map(|v| {
                    v.draining = true;
                    v.kick = true;
                    let frames = v.ring.len() / v.fmt.frame_bytes().max(1);
                    Duration::from_secs_f64(frames as f64 / v.fmt.rate as f64)
                        + Duration::from_secs_f64(dev.buffer_frames as f64 / dev.pcm.rate as f64)
                })
            }
            _ => None,
        };
        match queued {
            // Drain: play what was written, then answer. Bounded by the queued
            // time plus a grace period, so a stuck device cannot hang close().
            Some(q) => {
                f.release = Some(ParkedRelease {
                    unique,
                    deadline: Instant::now() + q + grace,
                });
            }
            // O_NONBLOCK (the manual: close does not wait), output gated off by
            // SETTRIGGER (it would never play), or nothing to play.
            None => {
                gone.push(Answer::Empty(unique));
                self.remove_file(fh);
            }
        }
        let node = self.current;
        self.answers.extend(gone.into_iter().map(|a| (node, a)));
        Ok(())
    }

    fn remove_file(&mut self, fh: u64) {
        let Some(f) = self.files.remove(&fh) else {
            return;
        };
        if let FileKind::Dsp(d) = f.kind {
            if let Some(id) = d.play {
                let old = self.lock().mixer.remove(id);
                self.dead_voices.extend(old);
            }
            match d.rec {
                Some(RecSlot::Monitor(id)) => {
                    let old = self.lock().mixer.monitors.remove(id);
                    self.dead_recs.extend(old);
                }
                Some(RecSlot::Capture(id)) => {
                    if let Some(cap) = &self.capture {
                        let mut s = cap.shared.lock().expect("capture lock");
                        self.dead_recs.extend(s.recorders.remove(id));
                        let idle = s.recorders.is_empty();
                        drop(s);
                        if idle {
                            // The last reader is gone: release the capture device.
                            if let Some(mut c) = self.capture.take() {
                                c.stop();
                            }
                            tracing::debug!("capture closed");
                        }
                    }
                }
                None => {}
            }
        }
        tracing::debug!(fh, pid = f.pid, "closed");
    }

    /// Every parked read of a capture reader fails: the device is gone.
    fn fail_readers(&mut self, why: &str) {
        tracing::warn!("failing parked reads: {why}");
        for f in self.files.values_mut() {
            if let FileKind::Dsp(d) = &mut f.kind {
                if matches!(d.rec, Some(RecSlot::Capture(_))) {
                    let node = f.node;
                    self.answers.extend(
                        d.reads
                            .drain(..)
                            .map(|r| (node, Answer::Error(r.unique, libc::EIO))),
                    );
                    d.rec = None;
                }
            }
        }
        if let Some(mut c) = self.capture.take() {
            c.stop();
        }
    }

    /// Moves every parked request on as far as the engines allow, and sends
    /// what became answerable. Called on every tick and after requests.
    fn service(&mut self) {
        // The clock only matters to SYNC and a draining close.
        let timed = self.files.values().any(File::waits_on_position);
        let now = timed.then(Instant::now);
        let mut finished = Vec::new();
        {
            let mut s = self.shared.lock().expect("engine lock");
            let mut cap = self
                .capture
                .as_ref()
                .map(|c| c.shared.lock().expect("capture lock"));
            let played = now.map_or(0, |now| s.position.played(now));
            // What the threads had lent out when its stream went, dropped
            // below with the lock released.
            s.mixer.take_dead(&mut self.dead_pipes);
            s.mixer.monitors.take_dead(&mut self.dead_convs);
            if let Some(c) = cap.as_mut() {
                c.recorders.take_dead(&mut self.dead_convs);
            }
            for (&fh, f) in self.files.iter_mut() {
                let node = f.node;
                let FileKind::Dsp(d) = &mut f.kind else {
                    continue;
                };
                if let Some(v) = d.play.and_then(|id| s.mixer.voice_mut(id)) {
                    while let Some(w) = d.writes.front_mut() {
                        w.done += v.ring.push(&w.data[w.done..]);
                        if w.done < w.data.len() {
                            break;
                        }
                        self.answers
                            .push((node, Answer::Write(w.unique, w.done as u32)));
                        d.writes.pop_front();
                    }
                    if !d.syncs.is_empty() && v.drained(played) {
                        self.answers
                            .extend(d.syncs.drain(..).map(|u| (node, Answer::IoctlDone(u))));
                    }
                    if let (Some(r), Some(now)) = (&d.release, now) {
                        if v.drained(played) || now >= r.deadline {
                            if now >= r.deadline {
                                tracing::warn!(
                                    fh,
                                    "close gave up waiting for the stream to play out"
                                );
                            }
                            self.answers.push((node, Answer::Empty(r.unique)));
                            finished.push(fh);
                        }
                    }
                }
                if !d.reads.is_empty() {
                    let r = match d.rec {
                        Some(RecSlot::Capture(id)) => {
                            cap.as_mut().and_then(|c| c.recorders.get_mut(id))
                        }
                        Some(RecSlot::Monitor(id)) => s.mixer.monitors.get_mut(id),
                        None => None,
                    };
                    if let Some(r) = r {
                        while let Some(p) = d.reads.front_mut() {
                            take_into(&mut r.ring, &mut p.got, p.want);
                            if p.got.len() < p.want {
                                break;
                            }
                            let p = d.reads.pop_front().expect("front");
                            self.answers.push((node, Answer::Data(p.unique, p.got)));
                        }
                    }
                }
                if d.poll_kh.is_some() && readiness(d, &mut s, cap.as_deref_mut(), false) != 0 {
                    self.answers
                        .push((node, Answer::Notify(d.poll_kh.take().expect("checked"))));
                }
            }
        }
        for fh in finished {
            self.remove_file(fh);
        }
        let waiting = self.files.values().any(|f| match &f.kind {
            FileKind::Dsp(d) => {
                !d.writes.is_empty()
                    || !d.reads.is_empty()
                    || !d.syncs.is_empty()
                    || d.release.is_some()
                    || d.poll_kh.is_some()
            }
            _ => false,
        });
        self.lock().want_tick = waiting;
        self.dead_voices.clear();
        self.dead_pipes.clear();
        self.dead_recs.clear();
        self.dead_convs.clear();
        if let Err(e) = self.flush_answers() {
            tracing::error!("{e}");
        }
    }

    /// Sends the queued answers, each on its node's connection.
    fn flush_answers(&mut self) -> Result<(), DaemonError> {
        let answers = std::mem::take(&mut self.answers);
        let mut result = Ok(());
        for (node, a) in &answers {
            let bytes = self.encode(a);
            if let Err(e) = self.send(*node, &bytes) {
                result = Err(e);
            }
        }
        self.answers = answers;
        self.answers.clear();
        result
    }

    fn encode(&mut self, a: &Answer) -> Vec<u8> {
        match a {
            Answer::Write(u, n) => self.reply.write(*u, *n),
            Answer::Data(u, d) => self.reply.read_with(*u, d.len(), |b| {
                b.copy_from_slice(d);
                d.len()
            }),
            Answer::Error(u, e) => self.reply.error(*u, *e),
            Answer::Empty(u) => self.reply.empty(*u),
            Answer::IoctlDone(u) => self.reply.ioctl(*u, 0, &[]),
            Answer::Notify(kh) => self.reply.notify_poll(*kh),
        }
        .to_vec()
    }

    fn render_sndstat(&self) -> String {
        let s = self.lock();
        let dev = *s.mixer.device();
        let mut devices = vec![DeviceLine {
            role: "playback",
            alsa_name: self.cfg.device_name.clone(),
            format: dev.pcm.sample.name(),
            rate: dev.pcm.rate,
            channels: dev.pcm.channels,
            period_frames: dev.period_frames,
            buffer_frames: dev.buffer_frames,
            xruns: s.device_xruns,
        }];
        let cap = self
            .capture
            .as_ref()
            .map(|c| (c.dev, c.shared.lock().expect("capture lock")));
        if let Some((d, c)) = &cap {
            devices.push(DeviceLine {
                role: "capture",
                alsa_name: self.cfg.capture_name.clone(),
                format: d.pcm.sample.name(),
                rate: d.pcm.rate,
                channels: d.pcm.channels,
                period_frames: d.period_frames,
                buffer_frames: d.buffer_frames,
                xruns: c.xruns,
            });
        }
        let mut clients = Vec::new();
        let mut fhs: Vec<_> = self.files.keys().copied().collect();
        fhs.sort_unstable();
        for fh in fhs {
            let f = &self.files[&fh];
            let FileKind::Dsp(d) = &f.kind else { continue };
            let (size, count) = d.dsp.geometry();
            let underruns = d
                .play
                .and_then(|id| s.mixer.voice(id))
                .map_or(0, |v| v.underruns);
            let overruns = match d.rec {
                Some(RecSlot::Capture(id)) => cap
                    .as_ref()
                    .and_then(|(_, c)| c.recorders.get(id))
                    .map_or(0, |r| r.overruns),
                Some(RecSlot::Monitor(id)) => s.mixer.monitors.get(id).map_or(0, |r| r.overruns),
                None => 0,
            };
            clients.push(ClientLine {
                node: self.nodes[f.node].name.clone(),
                pid: f.pid,
                command: String::new(), // read from /proc below, outside the locks
                direction: match (d.play.is_some(), d.rec.is_some()) {
                    (true, true) => "duplex",
                    (false, true) => "record",
                    _ => "play",
                },
                format: d.dsp.fmt.sample.name(),
                channels: d.dsp.fmt.channels,
                rate: d.dsp.fmt.rate,
                frag_size: size,
                frags: count,
                volume: d.dsp.play_volume,
                underruns,
                overruns,
                name: d.dsp.name.clone(),
            });
        }
        let totals = Totals {
            clients_served: self.served,
            device_underruns: s.device_xruns,
        };
        drop(cap);
        drop(s);
        for c in &mut clients {
            c.command = sndstat::command_of(c.pid).unwrap_or_else(|| "?".into());
        }
        sndstat::render(&SndstatInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            devices,
            clients,
            mixer: Some((self.mixer_state.volume(), self.mixer_state.pcm())),
            totals,
        })
    }

    /// Stops the engines, answers every parked request, closes the connections.
    fn shutdown(&mut self) {
        self.engine_stop.store(true, Ordering::Release);
        if let Some(h) = self.engine.take() {
            let _ = h.join();
        }
        if let Some(mut c) = self.capture.take() {
            c.stop();
        }
        let fhs: Vec<u64> = self.files.keys().copied().collect();
        for fh in fhs {
            let node = self.files[&fh].node;
            let Some(d) = self.dsp_file(fh) else { continue };
            let mut gone: Vec<Answer> = d
                .writes
                .drain(..)
                .map(|w| Answer::Error(w.unique, libc::EIO))
                .collect();
            gone.extend(
                d.reads
                    .drain(..)
                    .map(|r| Answer::Error(r.unique, libc::EIO)),
            );
            gone.extend(d.syncs.drain(..).map(|u| Answer::Error(u, libc::EIO)));
            if let Some(r) = d.release.take() {
                gone.push(Answer::Empty(r.unique));
            }
            self.answers.extend(gone.into_iter().map(|a| (node, a)));
        }
        let _ = self.flush_answers();
    }
}

impl DspFile {
    fn new(dsp: Dsp, play: Option<VoiceId>, rec: Option<RecSlot>) -> DspFile {
        DspFile {
            dsp,
            play,
            rec,
            writes: VecDeque::new(),
            reads: VecDeque::new(),
            syncs: Vec::new(),
            release: None,
            poll_kh: None,
        }
    }
}

/// Moves up to `want - got.len()` bytes from `ring` to `got`.
fn take_into(ring: &mut crate::mix::ring::Ring, got: &mut Vec<u8>, want: usize) {
    let n = (want - got.len()).min(ring.len());
    let (a, b) = ring.slices();
    let from_a = n.min(a.len());
    got.extend_from_slice(&a[..from_a]);
    got.extend_from_slice(&b[..n - from_a]);
    ring.consume(n);
}

/// poll() bits of a dsp file now: writable with a fragment (or LOW_WATER)
/// free and no write waiting; readable with a fragment recorded and no read
/// waiting. Asking for input starts recording, as in OSS.
fn readiness(
    d: &mut DspFile,
    s: &mut Shared,
    cap: Option<&mut capture::CaptureShared>,
    start_input: bool,
) -> u32 {
    let mut r = 0;
    let mark = d.dsp.low_water();
    if let Some(v) = d.play.and_then(|id| s.mixer.voice(id)) {
        if d.writes.is_empty() && v.ring.space() >= mark.min(v.ring.capacity()) {
            r |= (libc::POLLOUT | libc::POLLWRNORM) as u32;
        }
    }
    let rec = match d.rec {
        Some(RecSlot::Capture(id)) => cap.and_then(|c| c.recorders.get_mut(id)),
        Some(RecSlot::Monitor(id)) => s.mixer.monitors.get_mut(id),
        None => None,
    };
    if let Some(rv) = rec {
        if start_input {
            rv.trigger = true;
        }
        if d.reads.is_empty() && rv.ring.len() >= mark.min(rv.ring.capacity()) {
            r |= (libc::POLLIN | libc::POLLRDNORM) as u32;
        }
    }
    r
}
