//! The runtime: the threads, the locks and the CUSE connections around the
//! request core ([`crate::server`]). Where a client's bytes travel: the
//! protocol thread reads a CUSE request from its connection and decodes it
//! (`cuse::wire`); the core decides what it does (`server`, with the open
//! file's OSS state in `oss::dsp`) and puts its bytes in the file's voice
//! (`mix::voice`); the engine thread mixes the voices (`mix`) and writes
//! the period to the device (`output`). Recording runs the other way:
//! `input` → the capture thread → `mix::record` → a parked READ answered by
//! the core.
//!
//! This file holds only what is not pure: the poll loop, the eventfds, the
//! signals, the locks and their order, the sending of the core's answers,
//! the capture device's thread and the mixer state file.
//!
//! **Locks.** Two, each held only for copies: [`Shared`] (the engine's:
//! the mixer, its voices and the device position) and the capture thread's
//! `CaptureShared`. When both are held, the engine lock is taken first;
//! only `RuntimePorts::engines` (the core's way in) takes both. Every lock
//! is taken with [`lock`], which tolerates poison; and where the protocol
//! thread runs code that may panic under a lock (the core's way into the
//! engines, the capture opener), it lets the lock go before the panic
//! travels on (as `with_lock` does), so it never poisons them.
//!
//! **A panic in request handling** (a bug) costs one file, not the daemon:
//! the protocol thread runs [`Server::handle`] and [`Server::service`]
//! under `guarded`, logs the panic once (the request's opcode, the
//! client's pid and command, the message and where it was raised; the
//! panic hook stays quiet for these), and calls [`Server::recover`], which
//! answers the request with EIO, fails its file (its later requests get
//! EIO; RELEASE closes it) and takes its streams out of the mix. The
//! connection and every other client go on.

pub mod capture;
pub mod control;
pub mod engine;

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::AsFd;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, PanicHookInfo};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::signalfd::SignalFd;

use crate::cuse::abi::READ_BUFFER_SIZE;
use crate::cuse::channel::{Channel, Sent};
use crate::cuse::wire::{Op, Reply, Request};
use crate::device::DeviceError;
use crate::input::SourceOpener;
use crate::mix::{Mixer, Quality};
use crate::oss::mixer::MixerState;
use crate::output::{Position, Sink};
use crate::pcm::DeviceConfig;
pub use crate::server::NodeKind;
use crate::server::{
    CaptureState, Engines, NodeDesc, OutputNow, Ports, Recovered, Server, Settings,
};
use capture::Capture;
use control::ControlSocket;
pub use engine::EngineOptions;

/// Takes `m`, poisoned or not. A thread that panicked while holding it (a
/// bug) may have left its state half-changed, but a sound daemon that
/// stops for every client over one bug is worse: the state is taken as it
/// is, and the bug's own request has failed already (see the module
/// documentation). Every lock of the daemon is taken this way.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` on what `m` guards, and if `f` panics, lets the lock go before
/// the panic travels on, so that the threads sharing it never find it
/// poisoned by this one.
fn with_lock<T, R>(m: &Mutex<T>, f: impl FnOnce(&mut T) -> R) -> R {
    let mut g = lock(m);
    let r = catch_unwind(AssertUnwindSafe(|| f(&mut g)));
    drop(g);
    r.unwrap_or_else(|p| resume_unwind(p))
}

thread_local! {
    /// This thread runs under [`guarded`]: a panic is reported there.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// The last guarded panic's message and place, as the hook saw it.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that stays quiet for panics
/// raised under [`guarded`], which logs them itself, and hands every other
/// panic to the hook that was there before.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if GUARDED.with(Cell::get) {
                let what = payload_text(info.payload());
                let text = match info.location() {
                    Some(at) => format!("{what} (at {at})"),
                    None => what,
                };
                CAUGHT.with(|c| *c.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Runs `f`; a panic in it comes back as `Err` with its message and place
/// (and is not printed by the panic hook).
fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    let outer = GUARDED.with(|g| g.replace(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    r.map_err(|p| {
        CAUGHT
            .with(|c| c.borrow_mut().take())
            .unwrap_or_else(|| payload_text(&*p))
    })
}

/// For tests only (no client can reach it): says, for each request read,
/// whether handling it should panic while it holds the engine lock, as a
/// bug in the mixer would. See [`Daemon::inject_panics`].
pub type FaultHook = Box<dyn FnMut(&Request<'_>) -> bool + Send>;

/// What the protocol thread and the engine share, behind one mutex held only
/// for copies.
#[derive(Debug)]
pub struct Shared {
    pub mixer: Mixer,
    pub position: Position,
    pub device_xruns: u64,
    /// The output device is missing: the engine plays to a stand-in clock.
    pub output_missing: bool,
    /// Frames played to the stand-in clock (lost) since start.
    pub standin_frames: u64,
    /// Frames mixed and dropped to keep the clients' pace while the device
    /// stood still (underruns, a device being opened).
    pub skipped_frames: u64,
    /// Which of the configured output devices is used (when not missing).
    pub output_device: usize,
    /// What the output device (or its stand-in) was opened with.
    pub output_config: DeviceConfig,
    /// The core has parked requests (or armed polls) and wants a tick after
    /// every period; when idle it is left to sleep.
    pub want_tick: bool,
    /// `ossd ctl device NAME`: the engine moves the mix to NAME between
    /// two blocks, and answers in `switch_result` (the new device list,
    /// NAME first, or why not; the mix stays where it was then).
    pub switch_output: Option<String>,
    pub switch_result: Option<Result<Vec<String>, String>>,
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
    /// The capture device's name (the list's, joined).
    pub capture_name: String,
    /// The capture devices, most preferred first (empty: one, named
    /// `capture_name`).
    pub capture_devices: Vec<String>,
    pub quality: Quality,
    /// Longest a blocking close waits for its stream to play out, beyond the
    /// stream's own queued time.
    pub drain_grace: Duration,
    /// Where the mixer levels are kept across restarts.
    pub state_file: Option<PathBuf>,
    /// Soft-limit the mix instead of clipping it.
    pub limiter: bool,
    /// Where the control socket listens (`None`: no socket).
    pub control_socket: Option<PathBuf>,
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
            capture_devices: Vec::new(),
            quality: Quality::Fast,
            drain_grace: Duration::from_secs(2),
            state_file: None,
            limiter: false,
            control_socket: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("CUSE connection failed: {0}")]
    Cuse(io::Error),
    #[error("{0}")]
    Setup(String),
}

/// A handle that stops a running daemon from another thread.
#[derive(Debug, Clone)]
pub struct Stopper(Arc<EventFd>);

impl Stopper {
    pub fn stop(&self) {
        let _ = self.0.write(1);
    }
}

/// The core's ports over the runtime's parts, borrowed field by field so
/// that the core itself stays free to be called.
macro_rules! ports {
    ($d:ident) => {
        RuntimePorts {
            shared: &$d.shared,
            capture: &mut $d.capture,
            opener: &$d.capture_opener,
            name: &$d.cfg.capture_name,
            names: &$d.cfg.capture_devices,
            tick: &$d.tick,
            fault: false,
        }
    };
}

/// The core's way to the engines, the clock and the capture device.
struct RuntimePorts<'a> {
    shared: &'a Mutex<Shared>,
    capture: &'a mut Option<Capture>,
    opener: &'a Option<Arc<Mutex<SourceOpener>>>,
    /// The capture device's name, for its log lines.
    name: &'a str,
    /// The capture devices, most preferred first.
    names: &'a [String],
    tick: &'a Arc<EventFd>,
    /// Panic in the next call to `engines`, with the locks held (tests).
    fault: bool,
}

impl Ports for RuntimePorts<'_> {
    fn engines<R>(&mut self, f: impl FnOnce(&mut Engines<'_>) -> R) -> R {
        // The lock order: engine, then capture.
        let mut s = lock(self.shared);
        let mut c = self.capture.as_ref().map(|c| lock(&c.shared));
        let fault = std::mem::take(&mut self.fault);
        let r = catch_unwind(AssertUnwindSafe(|| {
            if fault {
                panic!("fault injected for a test");
            }
            let s = &mut *s;
            f(&mut Engines {
                mixer: &mut s.mixer,
                position: s.position,
                device_xruns: s.device_xruns,
                output_missing: s.output_missing,
                standin_frames: s.standin_frames,
                output: OutputNow {
                    device: s.output_device,
                    config: Some(s.output_config),
                    skipped_frames: s.skipped_frames,
                },
                capture: c.as_deref_mut().map(|c| CaptureState {
                    recorders: &mut c.recorders,
                    xruns: c.xruns,
                    missing: c.missing,
                }),
            })
        }));
        // A panic goes on only once the guards are let go: the engine and
        // capture threads never find their locks poisoned by this one.
        drop(c);
        drop(s);
        r.unwrap_or_else(|p| resume_unwind(p))
    }

    fn now(&mut self) -> Instant {
        Instant::now()
    }

    fn open_capture(&mut self) -> Result<DeviceConfig, DeviceError> {
        let opener = self.opener.as_ref().ok_or(DeviceError::NoCapture)?;
        let names = if self.names.is_empty() {
            vec![self.name.to_owned()]
        } else {
            self.names.to_vec()
        };
        // The first of the list that opens; else the first one's error.
        let mut first_error = None;
        let mut opened = None;
        for (i, name) in names.iter().enumerate() {
            // The capture thread uses the opener too (after the card went).
            match with_lock(opener, |open| open(name)) {
                Ok(s) => {
                    opened = Some((i, s));
                    break;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let Some((on, source)) = opened else {
            return Err(first_error.unwrap_or(DeviceError::NoCapture));
        };
        let cap = Capture::start(source, names, on, self.tick.clone(), Some(opener.clone()))?;
        let dev = cap.dev;
        *self.capture = Some(cap);
        Ok(dev)
    }

    fn close_capture(&mut self) {
        if let Some(mut c) = self.capture.take() {
            c.stop();
        }
    }

    fn command_of(&mut self, pid: u32) -> Option<String> {
        crate::oss::sndstat::command_of(pid)
    }

    fn killed(&mut self, pid: u32) -> bool {
        crate::oss::sndstat::killed(pid)
    }
}

pub struct Daemon {
    cfg: Config,
    nodes: Vec<Node>,
    server: Server,
    shared: Arc<Mutex<Shared>>,
    tick: Arc<EventFd>,
    stop_fd: Arc<EventFd>,
    engine_stop: Arc<AtomicBool>,
    engine: Option<JoinHandle<()>>,
    /// Opens the capture device: for the first reader, and (by the capture
    /// thread) again after it went away.
    capture_opener: Option<Arc<Mutex<SourceOpener>>>,
    capture: Option<Capture>,
    /// The mixer state file's writer (file I/O stays off this thread).
    saver: Option<(mpsc::Sender<String>, JoinHandle<()>)>,
    reply: Reply,
    buf: Vec<u8>,
    reloader: Option<Reloader>,
    /// Nodes whose connection failed (side nodes only; see `serve`).
    node_gone: Vec<bool>,
    /// Tests only: which requests panic (see [`Daemon::inject_panics`]).
    fault: Option<FaultHook>,
    /// The control socket and its connections.
    control: Option<ControlSocket>,
    /// `ossd ctl capture NAME` handed to the capture thread, not answered
    /// yet (if the capture stops first, it is answered as with no reader).
    capture_switch: Option<String>,
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
            position: Position::new(dev.pcm.rate, Instant::now()),
            device_xruns: 0,
            output_missing: engine_opts.absent,
            standin_frames: 0,
            skipped_frames: 0,
            output_device: engine_opts.device,
            output_config: dev,
            want_tick: false,
            switch_output: None,
            switch_result: None,
        }));
        let efd = || {
            EventFd::from_flags(EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC)
                .map(Arc::new)
                .map_err(|e| DaemonError::Setup(format!("eventfd: {e}")))
        };
        let tick = efd()?;
        let stop_fd = efd()?;
        let saver = match cfg.state_file.clone() {
            Some(path) => Some(spawn_saver(path)?),
            None => None,
        };
        let engine_stop = Arc::new(AtomicBool::new(false));
        let engine_devices = engine_opts.devices.clone();
        let engine = {
            let (shared, tick, stop) = (shared.clone(), tick.clone(), engine_stop.clone());
            let name = cfg.device_name.clone();
            std::thread::Builder::new()
                .name("ossd-engine".into())
                .spawn(move || engine::run(shared, sink, &name, tick, stop, engine_opts))
                .map_err(|e| DaemonError::Setup(format!("cannot start the engine thread: {e}")))?
        };
        let settings = Settings {
            device_name: cfg.device_name.clone(),
            device_names: engine_devices,
            capture_name: cfg.capture_name.clone(),
            can_record: capture.is_some(),
            quality: cfg.quality,
            drain_grace: cfg.drain_grace,
            save_mixer: cfg.state_file.is_some(),
        };
        let descs = nodes
            .iter()
            .map(|n| NodeDesc {
                kind: n.kind,
                name: n.name.clone(),
            })
            .collect();
        let nodes_len = nodes.len();
        // Without the socket the sound goes on: say so, and serve.
        let control = cfg.control_socket.as_deref().and_then(|p| {
            ControlSocket::bind(p)
                .map_err(|e| tracing::warn!("no control socket: {e}"))
                .ok()
        });
        install_panic_hook();
        Ok(Daemon {
            cfg,
            nodes,
            server: Server::new(settings, descs, mixer_state),
            shared,
            tick,
            stop_fd,
            engine_stop,
            engine: Some(engine),
            capture_opener: capture.map(|o| Arc::new(Mutex::new(o))),
            capture: None,
            saver,
            reply: Reply::new(),
            buf: vec![0; READ_BUFFER_SIZE],
            reloader: None,
            node_gone: vec![false; nodes_len],
            fault: None,
            control,
            capture_switch: None,
        })
    }

    /// What SIGHUP does: read the configuration again and apply what can
    /// change live. Without it, SIGHUP is logged and ignored.
    pub fn on_reload(&mut self, reloader: Reloader) {
        self.reloader = Some(reloader);
    }

    fn reload(&mut self) -> Result<(), String> {
        crate::system::notify_reloading();
        let r = match self.reloader.as_mut().map(|r| r()) {
            Some(Ok(r)) => {
                self.cfg.quality = r.quality;
                self.server.set_quality(r.quality);
                self.lock().mixer.limiter = r.limiter;
                tracing::info!(resampler = ?r.quality, limiter = r.limiter, "configuration reloaded");
                Ok(())
            }
            Some(Err(e)) => {
                tracing::error!("reload failed, keeping the running configuration: {e}");
                Err(format!(
                    "reload failed, keeping the running configuration: {e}"
                ))
            }
            None => {
                tracing::info!("reload: nothing to reload");
                Err("this ossd has no configuration to reload".into())
            }
        };
        crate::system::notify("READY=1");
        r
    }

    /// For tests of the panic handling only: each request for which `hook`
    /// answers true panics while it is handled, with the engine lock held.
    #[doc(hidden)]
    pub fn inject_panics(&mut self, hook: FaultHook) {
        self.fault = Some(hook);
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop_fd.clone())
    }

    /// Serves until stopped (the [`Stopper`], or a signal on `signals`) or
    /// the kernel closes the /dev/dsp connection. A device that goes away
    /// does not stop it (see [`engine`]). On the way out every
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
            let ctl_at = fds.len();
            if let Some(c) = &self.control {
                for (fd, ev) in c.poll_fds() {
                    fds.push(PollFd::new(fd, ev));
                }
            }
            // Sleep until something happens: requests, a tick, a signal.
            // Only a close waiting to drain has a deadline of its own
            // (checked on every tick too); an idle daemon sets no timer.
            let timeout = match self.server.next_deadline() {
                Some(d) => {
                    let ms = d.saturating_duration_since(Instant::now()).as_millis() + 1;
                    PollTimeout::from(ms.min(u16::MAX as u128) as u16)
                }
                None => PollTimeout::NONE,
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
                    Some(info) if info.ssi_signo == libc::SIGHUP as u32 => {
                        let _ = self.reload();
                    }
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
            }
            if self.control.is_some() {
                let ready: Vec<bool> = revents[ctl_at..].iter().map(|r| !r.is_empty()).collect();
                self.serve_control(&ready);
            }
            self.service();
            let waiting = self.server.waiting();
            self.lock().want_tick = waiting;
            if let Err(e) = self.flush() {
                tracing::error!("{e}");
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        lock(&self.shared)
    }

    /// The control socket's turn: new connections, requests (each carried
    /// out and answered, a change logged), a device switch the engine has
    /// finished, the meters on while someone watches.
    fn serve_control(&mut self, ready: &[bool]) {
        let Some(mut ctl) = self.control.take() else {
            return;
        };
        for a in ctl.on_ready(ready) {
            let (line, watch) = self.control_request(&a, &mut ctl);
            if let Some(line) = line {
                ctl.answer(a.conn, &line, watch);
            }
        }
        if ctl.switching() {
            let done = self.lock().switch_result.take();
            if let Some(r) = done {
                let line = match r {
                    Ok(names) => {
                        let name = names[0].clone();
                        self.server.set_device_names(names);
                        crate::control::ok_line(serde_json::json!({ "device": name }))
                    }
                    Err(e) => crate::control::error_line(&e),
                };
                ctl.switched(&line);
            }
            let done = self
                .capture
                .as_ref()
                .and_then(|c| lock(&c.shared).switch_result.take());
            let stopped = self.capture.is_none();
            if let Some(r) = done {
                self.capture_switch = None;
                let line = match r {
                    Ok(names) => {
                        let name = names[0].clone();
                        self.set_capture_names(names);
                        crate::control::ok_line(serde_json::json!({ "capture": name }))
                    }
                    Err(e) => crate::control::error_line(&e),
                };
                ctl.switched(&line);
            } else if let (true, Some(name)) = (stopped, self.capture_switch.take()) {
                // The last reader left before the capture thread took it:
                // the next reader opens it first.
                self.reorder_capture(&name);
                ctl.switched(&crate::control::ok_line(
                    serde_json::json!({ "capture": name }),
                ));
            }
        }
        ctl.flush();
        let watching = ctl.watching();
        let changed = ctl.meters_set(watching);
        self.control = Some(ctl);
        if changed {
            self.lock().mixer.meters = watching;
        }
    }

    /// `name` becomes the first capture device, the others after it.
    fn reorder_capture(&mut self, name: &str) {
        let names = crate::presence::preferring(&self.cfg.capture_devices, name);
        self.set_capture_names(names);
    }

    /// The capture devices are `names` from now on (the first preferred):
    /// for the next open of the capture, and for sndstat.
    fn set_capture_names(&mut self, names: Vec<String>) {
        self.cfg.capture_name = names.join(", ");
        self.server.set_capture_name(self.cfg.capture_name.clone());
        self.cfg.capture_devices = names;
    }

    /// Carries out one allowed request: its answer line (none yet for a
    /// device switch) and whether the connection now watches the meters.
    fn control_request(
        &mut self,
        a: &control::Asked,
        ctl: &mut ControlSocket,
    ) -> (Option<String>, bool) {
        use crate::control::{error_line, ok_line, status_line, Request};
        let who = format!(
            "uid {} pid {} ({})",
            a.peer.uid,
            a.peer.pid,
            crate::oss::sndstat::command_of(a.peer.pid).unwrap_or_else(|| "?".into())
        );
        let mut io = ports!(self);
        let result = match &a.request {
            Request::Status { meters } => {
                let s = self.server.status(&mut io, *meters);
                return (Some(status_line(&s)), *meters);
            }
            Request::Volume { target, level } => {
                self.server.control_volume(*target, *level, &mut io)
            }
            Request::Mute { target, on } => self.server.control_mute(*target, *on, &mut io),
            Request::Master { level } => self.server.control_master(*level, &mut io),
            Request::Reload => self.reload().map(|()| serde_json::Value::Null),
            Request::Capture { name } => {
                if ctl.switching() {
                    Err("a device switch is in progress; try again".into())
                } else if let Some(cap) = &self.capture {
                    lock(&cap.shared).switch = Some(name.clone());
                    self.capture_switch = Some(name.clone());
                    ctl.wait_switch(a.conn);
                    tracing::info!("control: {who} moves recording to {name}");
                    return (None, false);
                } else {
                    // Nobody records: the next reader opens it first.
                    self.reorder_capture(name);
                    Ok(serde_json::json!({ "capture": name }))
                }
            }
            Request::Device { name } => {
                if ctl.switching() {
                    Err("a device switch is in progress; try again".into())
                } else {
                    self.lock().switch_output = Some(name.clone());
                    ctl.wait_switch(a.conn);
                    tracing::info!("control: {who} moves the output to {name}");
                    return (None, false);
                }
            }
        };
        match result {
            Ok(v) => {
                tracing::info!("control: {who}: {} {}", a.request.name(), v);
                (Some(ok_line(v)), false)
            }
            Err(e) => {
                tracing::info!("control: {who}: {} refused: {e}", a.request.name());
                (Some(error_line(&e)), false)
            }
        }
    }

    /// [`Server::service`], guarded: a panic fails the file it was serving.
    fn service(&mut self) {
        let mut io = ports!(self);
        if let Err(msg) = guarded(|| self.server.service(&mut io)) {
            self.recover("serving parked requests", None, &msg);
        }
    }

    /// After a panic in the core: one log line, and [`Server::recover`].
    /// `pid` is the request's, when a request was being handled.
    fn recover(&mut self, doing: &str, pid: Option<u32>, msg: &str) {
        let mut io = ports!(self);
        let r = match guarded(|| self.server.recover(&mut io)) {
            Ok(r) => r,
            Err(again) => {
                tracing::error!("cleaning up after a panic panicked too: {again}");
                Recovered {
                    unique: None,
                    fh: None,
                    pid: None,
                    closed: false,
                }
            }
        };
        let pid = pid.or(r.pid);
        let command = pid
            .and_then(crate::oss::sndstat::command_of)
            .unwrap_or_else(|| "?".into());
        let what = match r.fh {
            Some(fh) if r.closed => format!("file {fh} is closed"),
            Some(fh) => format!("file {fh} fails with EIO from now on (closing it works)"),
            None => "no file was concerned".into(),
        };
        tracing::error!(
            "bug: {doing} for pid {} ({command}) panicked: {msg}; {what}; every other client goes on",
            pid.map_or_else(|| "?".into(), |p| p.to_string()),
        );
    }

    fn read_requests(&mut self, node: usize) -> Result<(), DaemonError> {
        loop {
            let n = match self.nodes[node].chan.recv(&mut self.buf) {
                Ok(Some(n)) => n,
                Ok(None) => return Ok(()),
                Err(e) => return Err(DaemonError::Cuse(e)),
            };
            let buf = std::mem::take(&mut self.buf);
            let mut io = ports!(self);
            match Request::parse(&buf[..n]) {
                Ok(req) => {
                    io.fault = self.fault.as_mut().is_some_and(|f| f(&req));
                    let server = &mut self.server;
                    if let Err(msg) = guarded(|| server.handle(node, &req, &mut io)) {
                        let doing = match req.op {
                            Op::Ioctl { cmd, .. } => format!("IOCTL {cmd:#010x}"),
                            op => op.name().to_string(),
                        };
                        self.recover(&doing, Some(req.header.pid), &msg);
                    }
                }
                Err(err) => self.server.malformed(node, &err),
            }
            self.buf = buf;
            self.flush()?;
        }
    }

    /// Sends the core's answers, each on its node's connection, and hands
    /// a changed mixer state to the saver.
    fn flush(&mut self) -> Result<(), DaemonError> {
        let mut result = Ok(());
        for (node, a) in self.server.take_answers() {
            let n = &self.nodes[node];
            let bytes = a.encode(&mut self.reply, (&n.name, n.dev));
            match n.chan.send(bytes) {
                Ok(Sent::Delivered) => {}
                Ok(Sent::Stale) => {
                    tracing::debug!("reply to a request the kernel no longer waits for")
                }
                Err(e) => result = Err(DaemonError::Cuse(e)),
            }
        }
        if let (Some(text), Some((tx, _))) = (self.server.take_mixer_save(), &self.saver) {
            let _ = tx.send(text);
        }
        result
    }

    /// Stops the engines, answers every parked request, closes the
    /// connections, and waits for the mixer state to be saved.
    fn shutdown(&mut self) {
        self.engine_stop.store(true, Ordering::Release);
        if let Some(h) = self.engine.take() {
            let _ = h.join();
        }
        if let Some(mut c) = self.capture.take() {
            c.stop();
        }
        self.server.shutdown();
        let _ = self.flush();
        if let Some((tx, h)) = self.saver.take() {
            drop(tx);
            let _ = h.join();
        }
    }
}

/// The thread that writes the mixer state file: it saves the newest state
/// it has been sent, so a burst of changes costs one write.
fn spawn_saver(path: PathBuf) -> Result<(mpsc::Sender<String>, JoinHandle<()>), DaemonError> {
    let (tx, rx) = mpsc::channel::<String>();
    let h = std::thread::Builder::new()
        .name("ossd-state".into())
        .spawn(move || {
            while let Ok(mut text) = rx.recv() {
                while let Ok(newer) = rx.try_recv() {
                    text = newer;
                }
                if let Err(e) = MixerState::save_text(&text, &path) {
                    tracing::warn!("cannot save mixer state to {}: {e}", path.display());
                }
            }
        })
        .map_err(|e| DaemonError::Setup(format!("cannot start the state thread: {e}")))?;
    Ok((tx, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_taken_as_it_is() {
        let m = Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let mut g = m2.lock().unwrap();
            *g = 2;
            panic!("poisons it");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 3);
    }

    #[test]
    fn a_panic_under_with_lock_does_not_poison_it() {
        let m = Mutex::new(1);
        let r = guarded(|| with_lock(&m, |v| -> u32 { panic!("{v}") }));
        assert!(r.is_err());
        assert!(!m.is_poisoned());
        assert_eq!(with_lock(&m, |v| *v), 1);
    }

    #[test]
    fn a_guarded_panic_comes_back_with_its_message_and_place() {
        install_panic_hook();
        let r = guarded(|| -> u32 { panic!("bad {}", 7) });
        let msg = r.unwrap_err();
        assert!(msg.starts_with("bad 7 (at src/daemon/mod.rs:"), "{msg}");
        assert_eq!(guarded(|| 5), Ok(5));
        assert!(!GUARDED.with(Cell::get), "the flag is reset");
    }
}
