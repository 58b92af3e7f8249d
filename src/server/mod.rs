//! The request core: every open file of every node, the requests waiting on
//! them, and what each request does. A pure state machine in the manner of
//! quinn-proto's `Connection`: decoded CUSE requests, engine ticks,
//! interrupts and the time go in; typed [`Answer`]s (one per request read)
//! and poll notifications come out, queued for the runtime to send. It holds
//! no lock, reads no clock and touches no file descriptor: the engines'
//! state (behind the runtime's locks), the time and the capture device are
//! reached through [`Ports`], which the runtime implements over its threads
//! and the simulation test over a simulated device.
//!
//! The life of a request:
//! - [`Server::handle`] decides it at once (answered now) or parks it on its
//!   file: a blocking write into a full buffer, a blocking read with too
//!   little recorded, SYNC, and a close that plays out its stream.
//! - [`Server::service`], called after every engine tick and every batch of
//!   requests, moves each parked request on as far as the engines allow and
//!   answers the ones that are done, and notifies pollers that became ready.
//! - An INTERRUPT answers its parked request at once (with what it has, or
//!   EINTR); a close answers whatever its file still had parked;
//!   [`Server::shutdown`] answers everything. (A card that goes away is
//!   hidden by the runtime: its stand-in keeps the position moving and
//!   records silence, so parked requests keep being served.)
//! - A panic in `handle` or `service` (a bug) is caught by the runtime,
//!   which calls [`Server::recover`]: the request in hand gets EIO and its
//!   file fails (its parked requests get EIO, its streams leave the mix,
//!   its later requests get EIO until RELEASE). What was in hand is kept
//!   for this in `in_hand`; the core itself catches nothing.
//!
//! So every request read is answered exactly once, by one of those paths;
//! the simulation test (`tests/simulation/`) checks it after every step.
//!
//! The core is one [`Server`] in several files, each an `impl Server` block
//! for one concern: this file holds the types, the public surface and the
//! dispatch of a request by its opcode; `file.rs` an open file and what is
//! parked on it; `open.rs` OPEN and RELEASE; `io.rs` WRITE, READ and POLL;
//! `ioctl.rs` IOCTL routing; `sync.rs` sync groups; `service.rs` moving
//! parked requests on, and shutdown; `recover.rs` INTERRUPT and recovery
//! after a panic; `sndstat.rs` /dev/sndstat's text; `control.rs` the
//! control socket's status and changes; `answer.rs` the answers and their
//! errno.

pub mod answer;
mod control;
mod file;
mod io;
mod ioctl;
mod open;
mod recover;
mod service;
mod sndstat;
mod sync;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::cuse::wire::{Op, ParseError, Request};
use crate::mix::pipeline::Pipeline;
use crate::mix::record::{RecConv, Recorders};
use crate::mix::{Mixer, Quality};
use crate::oss::mixer::MixerState;
use crate::pcm::{DeviceConfig, DeviceError, Position};
pub use answer::{Answer, Fail};
use file::{DspFile, File, FileKind};
use recover::InHand;
pub use recover::Recovered;

/// The kinds of device node ossd serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// /dev/dsp: playback, recording, duplex.
    Dsp,
    /// /dev/audio, the Sun-compatible node: the same device and mixing as
    /// /dev/dsp, its files starting in 8 kHz mono mu-law.
    Audio,
    /// A read-only node that records the mix ossd plays.
    Monitor,
    /// /dev/mixer.
    Mixer,
    /// /dev/sndstat: a text status.
    Sndstat,
}

/// A node as the core knows it: its kind and its name under /dev.
#[derive(Debug, Clone)]
pub struct NodeDesc {
    pub kind: NodeKind,
    pub name: String,
}

/// What the core is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The output device's name, for the OSS information calls (the list's,
    /// joined).
    pub device_name: String,
    /// The output devices, most preferred first, for sndstat (empty: one,
    /// `device_name`).
    pub device_names: Vec<String>,
    /// The capture device's name.
    pub capture_name: String,
    /// A capture device is configured: readers may open.
    pub can_record: bool,
    /// The resampler of streams set up from now on.
    pub quality: Quality,
    /// Longest a blocking close waits for its stream to play out, beyond the
    /// stream's own queued time.
    pub drain_grace: Duration,
    /// Mixer changes are to be saved ([`Server::take_mixer_save`]).
    pub save_mixer: bool,
}

/// The engines' state, as the runtime lends it for one call: the playback
/// mixer and its position, and the capture readers when the capture device
/// is open.
#[derive(Debug)]
pub struct Engines<'a> {
    pub mixer: &'a mut Mixer,
    pub position: Position,
    /// Output device underruns so far.
    pub device_xruns: u64,
    /// The output device is missing: the mix plays to a stand-in clock.
    pub output_missing: bool,
    /// Frames played to the stand-in clock (lost) since start.
    pub standin_frames: u64,
    /// Which output device plays now, and as what.
    pub output: OutputNow,
    pub capture: Option<CaptureState<'a>>,
}

/// The output device as the engine has it now (it moves between the
/// configured devices, and its period grows under overload).
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputNow {
    /// Which of [`Settings::device_names`] plays (when not missing).
    pub device: usize,
    /// What it was opened with (`None`: the mixer's configuration).
    pub config: Option<DeviceConfig>,
    /// Frames mixed and dropped to keep the clients' pace while the device
    /// stood still (underruns, a device being opened).
    pub skipped_frames: u64,
}

/// The capture thread's share of [`Engines`].
#[derive(Debug)]
pub struct CaptureState<'a> {
    pub recorders: &'a mut Recorders,
    pub xruns: u64,
    /// The capture device is missing: readers get silence.
    pub missing: bool,
}

/// What the core reaches through the runtime.
pub trait Ports {
    /// Runs `f` on the engines' state; the runtime holds its locks (engine
    /// before capture) for exactly this call.
    fn engines<R>(&mut self, f: impl FnOnce(&mut Engines<'_>) -> R) -> R;
    /// The time now. Asked only when a request's answer depends on it.
    fn now(&mut self) -> Instant;
    /// Opens the capture device for the first reader; its configuration.
    fn open_capture(&mut self) -> Result<DeviceConfig, DeviceError>;
    /// Closes it: the last reader is gone, or it failed.
    fn close_capture(&mut self);
    /// The command name of process `pid` (for /dev/sndstat).
    fn command_of(&mut self, pid: u32) -> Option<String>;
    /// Process `pid` is being killed by a signal: its files are being
    /// closed as it dies, and a close must not keep it waiting.
    fn killed(&mut self, _pid: u32) -> bool {
        false
    }
}

/// The core. See the module documentation.
#[derive(Debug)]
pub struct Server {
    settings: Settings,
    nodes: Vec<NodeDesc>,
    /// By fh; ordered, so that everything the core does is deterministic.
    files: BTreeMap<u64, File>,
    next_fh: u64,
    /// /dev/dsp and monitor opens so far.
    served: u64,
    mixer_state: MixerState,
    /// `mixer_state.changed()` as last applied to the engines.
    mixer_seen: u64,
    mixer_save: Option<String>,
    /// The capture device's configuration while it is open.
    capture_dev: Option<DeviceConfig>,
    /// OSS 4 sync groups by id: their members (fh, directions), armed and
    /// waiting for SYNCSTART. A group ends when it starts or its last
    /// member closes.
    groups: BTreeMap<i32, Vec<(u64, u32)>>,
    next_group: i32,
    answers: Vec<(usize, Answer)>,
    /// What the engines had lent out when its stream went; dropped outside
    /// the engines' locks.
    #[allow(clippy::vec_box)]
    dead_pipes: Vec<Box<Pipeline>>,
    #[allow(clippy::vec_box)]
    dead_convs: Vec<Box<RecConv>>,
    /// What a panic would interrupt (see [`Server::recover`]).
    in_hand: Option<InHand>,
    /// Files whose close [`Server::service`] has answered and that it is
    /// about to remove.
    finished: Vec<u64>,
    /// Files whose voices starved since [`Server::service`] last looked,
    /// with their counts (reused each time).
    starving: Vec<(u64, u32)>,
}

impl Server {
    pub fn new(settings: Settings, nodes: Vec<NodeDesc>, mixer_state: MixerState) -> Server {
        Server {
            settings,
            nodes,
            files: BTreeMap::new(),
            next_fh: 1,
            served: 0,
            mixer_seen: mixer_state.changed(),
            mixer_state,
            mixer_save: None,
            capture_dev: None,
            groups: BTreeMap::new(),
            next_group: 1,
            answers: Vec::new(),
            dead_pipes: Vec::new(),
            dead_convs: Vec::new(),
            in_hand: None,
            finished: Vec::new(),
            starving: Vec::new(),
        }
    }

    /// The answers made so far, each with the node it goes to, in order.
    pub fn take_answers(&mut self) -> std::vec::Drain<'_, (usize, Answer)> {
        self.answers.drain(..)
    }

    /// The mixer state to save, when it changed since the last call.
    pub fn take_mixer_save(&mut self) -> Option<String> {
        self.mixer_save.take()
    }

    /// The mixer controls (the runtime sets the master gains from them at start).
    pub fn mixer_state(&self) -> &MixerState {
        &self.mixer_state
    }

    /// A reload: streams set up from now on use `quality`.
    pub fn set_quality(&mut self, quality: Quality) {
        self.settings.quality = quality;
    }

    /// Something is parked or polled: the core wants [`Server::service`]
    /// after every period.
    pub fn waiting(&self) -> bool {
        self.files
            .values()
            .any(|f| f.dsp().is_some_and(DspFile::waiting))
    }

    /// The earliest time a draining close gives up, if one is draining:
    /// [`Server::service`] must run by then even without a tick.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.files
            .values()
            .filter_map(|f| f.dsp()?.release.as_ref().map(|r| r.deadline))
            .min()
    }

    /// Open files (of every node).
    pub fn open_files(&self) -> usize {
        self.files.len()
    }

    fn answer(&mut self, node: usize, a: Answer) {
        self.answers.push((node, a));
    }

    fn fail(&mut self, node: usize, unique: u64, fail: Fail) {
        self.answer(node, Answer::Fail { unique, fail });
    }

    /// A request that could not be decoded: answered with the decoder's
    /// errno when it has a `unique` to answer (and is not an INTERRUPT).
    pub fn malformed(&mut self, node: usize, err: &ParseError) {
        tracing::warn!(node = self.nodes[node].name, "malformed request: {err}");
        if let Some((unique, errno)) = err.reply() {
            self.fail(node, unique, Fail::Errno(errno));
        }
    }

    /// One request that arrived on `node`.
    ///
    /// Should it panic (a bug), the runtime catches the panic and calls
    /// [`Server::recover`], which answers the request with EIO and fails its
    /// file.
    pub fn handle(&mut self, node: usize, req: &Request<'_>, io: &mut impl Ports) {
        let unique = req.header.unique;
        self.in_hand = Some(InHand {
            node,
            unique: (!matches!(req.op, Op::Interrupt { .. })).then_some(unique),
            fh: req.op.fh(),
            closing: matches!(req.op, Op::Release { .. }),
        });
        self.dispatch(node, req, io);
        self.in_hand = None;
    }

    fn dispatch(&mut self, node: usize, req: &Request<'_>, io: &mut impl Ports) {
        let unique = req.header.unique;
        let fh_known =
            |fh: u64, files: &BTreeMap<u64, File>| files.get(&fh).is_some_and(|f| f.node == node);
        let failed = |fh: u64, files: &BTreeMap<u64, File>| files[&fh].failed;
        match req.op {
            Op::CuseInit { major, minor, .. } => {
                tracing::debug!(major, minor, node = self.nodes[node].name, "CUSE_INIT");
                self.answer(node, Answer::Init(unique));
            }
            Op::Open { flags } => self.open(node, unique, flags, req.header.pid, io),
            Op::Interrupt { unique: target } => self.interrupt(target, io),
            Op::Write { fh, .. }
            | Op::Read { fh, .. }
            | Op::Ioctl { fh, .. }
            | Op::Poll { fh, .. }
            | Op::Release { fh, .. }
            | Op::Flush { fh }
                if !fh_known(fh, &self.files) =>
            {
                self.fail(node, unique, Fail::BadFile)
            }
            // A failed file: closed as usual (its streams are gone already),
            // every other request refused.
            Op::Release { fh, .. } if failed(fh, &self.files) => {
                self.remove_file(fh, io);
                self.answer(node, Answer::Done(unique));
            }
            Op::Write { fh, .. }
            | Op::Read { fh, .. }
            | Op::Ioctl { fh, .. }
            | Op::Poll { fh, .. }
            | Op::Flush { fh }
                if failed(fh, &self.files) =>
            {
                tracing::debug!(fh, op = req.op.name(), "refused: the file failed");
                self.fail(node, unique, Fail::Io)
            }
            Op::Write { fh, data, flags } => self.write(node, unique, fh, data, flags, io),
            Op::Read { fh, size, flags } => self.read(node, unique, fh, size as usize, flags, io),
            Op::Ioctl {
                fh,
                cmd,
                input,
                out_size,
                ..
            } => self.ioctl(node, unique, fh, cmd, input, out_size, io),
            Op::Poll {
                fh,
                kh,
                flags,
                events,
            } => self.poll(node, unique, fh, kh, flags, events, io),
            Op::Release { fh, flags } => self.release(node, unique, fh, flags, req.header.pid, io),
            Op::Flush { .. } => self.answer(node, Answer::Done(unique)),
        }
    }

    fn dsp_file(&mut self, fh: u64) -> Option<&mut DspFile> {
        match self.files.get_mut(&fh).map(|f| &mut f.kind) {
            Some(FileKind::Dsp(d)) => Some(d),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
