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
//! the simulation test (`tests/simulation.rs`) checks it after every step.

pub mod answer;
mod control;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::cuse::abi::FUSE_POLL_SCHEDULE_NOTIFY;
use crate::cuse::wire::{Op, ParseError, Request};
use crate::device::DeviceError;
use crate::mix::pipeline::Pipeline;
use crate::mix::record::{RecConv, RecVoice, Recorders};
use crate::mix::{Mixer, Quality, VoiceId};
use crate::oss::dsp::{DeviceInfo, Dsp, Env, Handled, Outcome, Streams, Volume};
use crate::oss::mixer::{MixerDesc, MixerOutcome, MixerState};
use crate::oss::sndstat::{self, ClientLine, DeviceLine, SndstatInfo, Totals};
use crate::oss::soundcard::{
    ioc_type, OssSyncgroup, OSS_GETVERSION, PCM_ENABLE_INPUT, PCM_ENABLE_OUTPUT, SNDCTL_AUDIOINFO,
    SNDCTL_AUDIOINFO_EX, SNDCTL_CARDINFO, SNDCTL_DSP_SYNCGROUP, SNDCTL_DSP_SYNCSTART,
    SNDCTL_ENGINEINFO, SNDCTL_SYSINFO,
};
use crate::output::Position;
use crate::pcm::DeviceConfig;
pub use answer::{Answer, Fail};

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
    /// When it was opened (for the control socket's status).
    opened: Instant,
    /// Bytes the program wrote into its voice, and read from its recorder.
    written: u64,
    read: u64,
    /// Muted over the control socket: the volume it goes back to.
    muted: Option<Volume>,
}

impl DspFile {
    fn new(dsp: Dsp, play: Option<VoiceId>, rec: Option<RecSlot>, opened: Instant) -> DspFile {
        DspFile {
            opened,
            written: 0,
            read: 0,
            muted: None,
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

    /// Queues what fits of its parked writes into `v`, its voice; those
    /// written whole are answered.
    fn feed_parked(
        &mut self,
        v: &mut crate::mix::Voice,
        node: usize,
        answers: &mut Vec<(usize, Answer)>,
    ) {
        while let Some(w) = self.writes.front_mut() {
            let took = v.push(&w.data[w.done..]);
            w.done += took;
            self.written += took as u64;
            if w.done < w.data.len() {
                break;
            }
            let n = w.done as u32;
            answers.push((
                node,
                Answer::Written {
                    unique: w.unique,
                    n,
                },
            ));
            self.writes.pop_front();
        }
    }

    /// Something is parked on it, or a poller waits for it.
    fn waiting(&self) -> bool {
        !self.writes.is_empty()
            || !self.reads.is_empty()
            || !self.syncs.is_empty()
            || self.release.is_some()
            || self.poll_kh.is_some()
    }

    /// Drops the parked request `unique`, if it is here, unanswered.
    fn forget(&mut self, unique: u64) {
        self.writes.retain(|w| w.unique != unique);
        self.reads.retain(|r| r.unique != unique);
        self.syncs.retain(|&u| u != unique);
        if self.release.as_ref().is_some_and(|r| r.unique == unique) {
            self.release = None;
        }
    }

    /// Every parked request answered: a write or read with what it has
    /// moved, if anything, else with `fail`; a SYNC with `fail`; a close as
    /// done.
    fn answer_all(&mut self, fail: Fail, out: &mut Vec<Answer>) {
        out.extend(self.writes.drain(..).map(|w| w.answer(fail)));
        out.extend(self.reads.drain(..).map(|r| r.answer(fail)));
        out.extend(
            self.syncs
                .drain(..)
                .map(|unique| Answer::Fail { unique, fail }),
        );
        out.extend(self.release.take().map(|r| Answer::Done(r.unique)));
    }
}

impl ParkedWrite {
    /// Cut short: the bytes it has queued, or `fail` if none.
    fn answer(self, fail: Fail) -> Answer {
        match self.done {
            0 => Answer::Fail {
                unique: self.unique,
                fail,
            },
            n => Answer::Written {
                unique: self.unique,
                n: n as u32,
            },
        }
    }
}

impl ParkedRead {
    /// Cut short: the bytes it has, or `fail` if none.
    fn answer(self, fail: Fail) -> Answer {
        if self.got.is_empty() {
            Answer::Fail {
                unique: self.unique,
                fail,
            }
        } else {
            Answer::Data {
                unique: self.unique,
                data: self.got,
            }
        }
    }
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
    /// Handling one of its requests panicked: every later request but
    /// RELEASE gets EIO, and its streams have left the engines (see
    /// [`Server::recover`]).
    failed: bool,
}

impl File {
    /// Its dsp state, if it is a dsp file that has not failed.
    fn dsp(&self) -> Option<&DspFile> {
        match &self.kind {
            FileKind::Dsp(d) if !self.failed => Some(d),
            _ => None,
        }
    }
}

/// What the core was doing, kept for [`Server::recover`] in case it panics.
#[derive(Debug, Clone, Copy)]
struct InHand {
    node: usize,
    /// The request being handled; `None` while serving a file's parked
    /// requests, or for an INTERRUPT (which is never answered).
    unique: Option<u64>,
    /// The file concerned, if any.
    fh: Option<u64>,
    /// The file is being closed: on a panic it goes, rather than staying
    /// failed.
    closing: bool,
}

/// What [`Server::recover`] did, for the runtime's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// The request answered with EIO, if a request was being handled.
    pub unique: Option<u64>,
    /// The file that failed (or, if it was closing, was dropped).
    pub fh: Option<u64>,
    /// The process that opened that file.
    pub pid: Option<u32>,
    /// The file was closing, and is gone.
    pub closed: bool,
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

    fn device_info(&self) -> DeviceInfo {
        DeviceInfo {
            alsa_name: self.settings.device_name.clone(),
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
            has_capture: self.settings.can_record,
            has_mixer: self.nodes.iter().any(|n| n.kind == NodeKind::Mixer),
        }
    }

    /// The capture device's configuration, opening it for the first reader.
    fn ensure_capture(&mut self, io: &mut impl Ports) -> Result<DeviceConfig, DeviceError> {
        if let Some(d) = self.capture_dev {
            return Ok(d);
        }
        if !self.settings.can_record {
            return Err(DeviceError::NoCapture);
        }
        let d = io.open_capture()?;
        tracing::info!(
            device = self.settings.capture_name,
            format = d.pcm.sample.name(),
            rate = d.pcm.rate,
            channels = d.pcm.channels,
            period = d.period_frames,
            "capture opened"
        );
        self.capture_dev = Some(d);
        Ok(d)
    }

    /// A new reader of the capture device: its slot.
    fn add_capture_reader(
        &mut self,
        dsp: &Dsp,
        io: &mut impl Ports,
    ) -> Result<RecSlot, DeviceError> {
        let dev = self.ensure_capture(io)?;
        let r = dsp.make_rec_voice(&dev, self.settings.quality, self.mixer_state.igain());
        io.engines(|e| e.capture.as_mut().map(|c| c.recorders.insert(r)))
            .map(RecSlot::Capture)
            .ok_or(DeviceError::NoCapture)
    }

    fn open(&mut self, node: usize, unique: u64, flags: u32, pid: u32, io: &mut impl Ports) {
        let acc = flags as i32 & libc::O_ACCMODE;
        let kind = match self.nodes[node].kind {
            NodeKind::Mixer => FileKind::Mixer,
            // Sndstat and the monitor are read-only: the monitor records
            // what is played, it plays nothing itself.
            NodeKind::Sndstat | NodeKind::Monitor if acc != libc::O_RDONLY => {
                return self.fail(node, unique, Fail::Access);
            }
            NodeKind::Sndstat => FileKind::Sndstat {
                text: self.render_sndstat(io).into_bytes(),
                pos: 0,
            },
            NodeKind::Monitor => {
                let dev = io.engines(|e| *e.mixer.device());
                let dsp = Dsp::new(dev);
                let rec = dsp.make_rec_voice(&dev, self.settings.quality, Volume::FULL);
                let id = io.engines(|e| e.mixer.monitors.insert(rec));
                FileKind::Dsp(Box::new(DspFile::new(
                    dsp,
                    None,
                    Some(RecSlot::Monitor(id)),
                    io.now(),
                )))
            }
            NodeKind::Dsp => {
                let (dev, period) = io.engines(|e| {
                    let dev = *e.mixer.device();
                    (
                        dev,
                        e.output
                            .config
                            .map_or(dev.period_frames, |c| c.period_frames),
                    )
                });
                let mut dsp = Dsp::new(dev);
                dsp.set_device_period(period);
                let rec = if acc == libc::O_RDONLY || acc == libc::O_RDWR {
                    match self.add_capture_reader(&dsp, io) {
                        Ok(slot) => Some(slot),
                        Err(e) if acc == libc::O_RDONLY => {
                            tracing::warn!("cannot record: {e}");
                            return self.fail(node, unique, Fail::NoCapture);
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
                    let v = dsp.make_voice(self.settings.quality);
                    io.engines(|e| e.mixer.insert(v))
                });
                FileKind::Dsp(Box::new(DspFile::new(dsp, play, rec, io.now())))
            }
        };
        let fh = self.next_fh;
        self.next_fh += 1;
        if matches!(kind, FileKind::Dsp(_)) {
            self.served += 1;
        }
        self.files.insert(
            fh,
            File {
                node,
                pid,
                kind,
                failed: false,
            },
        );
        tracing::debug!(fh, pid, flags, node = self.nodes[node].name, "open");
        self.answer(node, Answer::Open { unique, fh });
    }

    fn dsp_file(&mut self, fh: u64) -> Option<&mut DspFile> {
        match self.files.get_mut(&fh).map(|f| &mut f.kind) {
            Some(FileKind::Dsp(d)) => Some(d),
            _ => None,
        }
    }

    /// Rebuilds a file's streams after its format, rate, channels or
    /// fragments changed. The new streams are built, and the old ones
    /// dropped, outside the engines' locks; they keep the old ones' trigger
    /// and error counters, so SETTRIGGER and GETERROR mean the same across a
    /// format change.
    fn rebuild_streams(&mut self, fh: u64, io: &mut impl Ports) {
        let quality = self.settings.quality;
        let igain = self.mixer_state.igain();
        let cap_dev = self.capture_dev;
        let mon_dev = io.engines(|e| *e.mixer.device());
        let Some(f) = self.dsp_file(fh) else { return };
        let play = f.play.map(|id| (id, f.dsp.make_voice(quality)));
        let rec = match f.rec {
            Some(RecSlot::Capture(id)) => cap_dev.map(|d| {
                (
                    RecSlot::Capture(id),
                    f.dsp.make_rec_voice(&d, quality, igain),
                )
            }),
            Some(RecSlot::Monitor(id)) => Some((
                RecSlot::Monitor(id),
                f.dsp.make_rec_voice(&mon_dev, quality, Volume::FULL),
            )),
            None => None,
        };
        let old = io.engines(|e| {
            let old_voice = play.and_then(|(id, mut v)| {
                if let Some(o) = e.mixer.voice(id) {
                    v.carry_over(o);
                }
                e.mixer.replace(id, v)
            });
            let old_rec = rec.and_then(|(slot, mut r)| {
                let recorders = match slot {
                    RecSlot::Capture(_) => &mut *e.capture.as_mut()?.recorders,
                    RecSlot::Monitor(_) => &mut e.mixer.monitors,
                };
                let (RecSlot::Capture(id) | RecSlot::Monitor(id)) = slot;
                if let Some(o) = recorders.get(id) {
                    r.carry_over(o);
                }
                recorders.replace(id, r)
            });
            (old_voice, old_rec)
        });
        drop(old);
    }

    fn write(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        data: &[u8],
        flags: u32,
        io: &mut impl Ports,
    ) {
        let Some(f) = self.dsp_file(fh) else {
            return self.fail(node, unique, Fail::Invalid);
        };
        let Some(id) = f.play else {
            return self.fail(node, unique, Fail::WrongDirection);
        };
        f.dsp.start_io();
        let nonblock = f.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        let (took, starved) = io.engines(|e| match e.mixer.voice_mut(id) {
            // Earlier writes of this file wait first: keep the byte order.
            Some(v) if f.writes.is_empty() => (v.push(data), v.starved()),
            Some(v) => (0, v.starved()),
            None => (0, 0),
        });
        f.written += took as u64;
        if starved != f.dsp.starved_seen() {
            self.grow_if_starved(fh, starved, io);
        }
        let Some(f) = self.dsp_file(fh) else {
            return self.fail(node, unique, Fail::Invalid);
        };
        if took == data.len() {
            return self.answer(
                node,
                Answer::Written {
                    unique,
                    n: took as u32,
                },
            );
        }
        if nonblock {
            return if took > 0 {
                self.answer(
                    node,
                    Answer::Written {
                        unique,
                        n: took as u32,
                    },
                )
            } else {
                self.fail(node, unique, Fail::WouldBlock)
            };
        }
        f.writes.push_back(ParkedWrite {
            unique,
            data: data.to_vec(),
            done: took,
        });
    }

    /// The file's voice has starved `starved` times in all (it ran dry
    /// although its program kept it topped up): its default buffer may
    /// grow ([`Dsp::note_starved`]). The bigger ring is allocated here,
    /// outside the engine's lock, and swapped in under it.
    fn grow_if_starved(&mut self, fh: u64, starved: u32, io: &mut impl Ports) {
        let now = io.now();
        let Some(f) = self.dsp_file(fh) else { return };
        let Some(id) = f.play else { return };
        if !f.dsp.note_starved(starved, now) {
            return;
        }
        let fb = f.dsp.fmt.frame_bytes();
        let bytes = f.dsp.buffer_bytes() / fb * fb;
        let ms = f.dsp.bytes_ms(bytes);
        let (size, count) = f.dsp.geometry();
        let buf = vec![0u8; bytes].into_boxed_slice();
        let node = self.files.get(&fh).map_or(0, |f| f.node);
        let Some(f) = self.dsp_file(fh) else { return };
        let mut answers = Vec::new();
        let old = io.engines(|e| {
            let v = e.mixer.voice_mut(id)?;
            let old = v.regrow(buf);
            // What waits goes into the room made.
            f.feed_parked(v, node, &mut answers);
            Some(old)
        });
        drop(old);
        self.answers.extend(answers);
        let pid = self.files.get(&fh).map_or(0, |f| f.pid);
        tracing::info!(
            pid,
            "a program could not keep its buffer from running dry (this machine wakes it too \
             late): its buffer grew to {ms:.1} ms ({count} fragments of {size} B)"
        );
    }

    fn read(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        size: usize,
        flags: u32,
        io: &mut impl Ports,
    ) {
        if let Some(File {
            kind: FileKind::Sndstat { text, pos },
            ..
        }) = self.files.get_mut(&fh)
        {
            let n = size.min(text.len() - *pos);
            let data = text[*pos..*pos + n].to_vec();
            *pos += n;
            return self.answer(node, Answer::Data { unique, data });
        }
        let Some(f) = self.dsp_file(fh) else {
            return self.fail(node, unique, Fail::Invalid);
        };
        let Some(slot) = f.rec else {
            // Opened read-write on a device that cannot record.
            return self.fail(node, unique, Fail::Io);
        };
        f.dsp.start_io();
        let nonblock = f.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        let first = f.reads.is_empty();
        let mut got = Vec::with_capacity(size);
        let enabled = f.dsp.enabled(PCM_ENABLE_INPUT);
        io.engines(|e| {
            if let Some(r) = rec_voice(e, slot) {
                if enabled {
                    r.start(); // the first read starts recording
                }
                if first {
                    r.take_into(&mut got, size);
                }
            }
        });
        f.read += got.len() as u64;
        if got.len() == size || (nonblock && !got.is_empty()) {
            return self.answer(node, Answer::Data { unique, data: got });
        }
        if nonblock {
            return self.fail(node, unique, Fail::WouldBlock);
        }
        f.reads.push_back(ParkedRead {
            unique,
            want: size,
            got,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn ioctl(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        cmd: u32,
        input: &[u8],
        out_size: u32,
        io: &mut impl Ports,
    ) {
        let is_mixer_call = match self.files[&fh].kind {
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
        let info = self.device_info();
        let outcome = if !is_mixer_call && cmd == SNDCTL_DSP_SYNCGROUP {
            self.sync_group(fh, input, io)
        } else if !is_mixer_call && cmd == SNDCTL_DSP_SYNCSTART {
            self.sync_start(input, io)
        } else if is_mixer_call && info_call {
            // ossinfo and friends ask /dev/mixer about the whole system.
            let dev = io.engines(|e| *e.mixer.device());
            let env = Env {
                played: 0,
                info: &info,
                igain: self.mixer_state.igain(),
            };
            Dsp::new(dev)
                .ioctl(Streams::default(), env, cmd, input)
                .outcome
        } else if is_mixer_call {
            let desc = MixerDesc {
                name: format!("ossd on {}", self.settings.device_name),
                has_capture: self.settings.can_record,
            };
            let out = match self.mixer_state.ioctl(cmd, input, &desc) {
                MixerOutcome::Reply(out) => Outcome::Reply { result: 0, out },
                MixerOutcome::Error(e) => Outcome::Error(e),
            };
            self.apply_mixer(io);
            out
        } else {
            let now = io.now();
            let mixer_igain = self.mixer_state.igain();
            let f = self.dsp_file(fh).expect("a dsp file");
            let handled: Handled = io.engines(|e| {
                let env = Env {
                    played: e.position.played(now),
                    info: &info,
                    // The mixer's recording level is the capture's, not the monitor's.
                    igain: if matches!(f.rec, Some(RecSlot::Monitor(_))) {
                        Volume::FULL
                    } else {
                        mixer_igain
                    },
                };
                f.dsp.ioctl(streams(f.play, f.rec, e), env, cmd, input)
            });
            // A format, rate, channel or fragment change takes effect at
            // once, dropping what was queued in the old format (an implicit
            // reset, as OSS drivers do when the format changes mid-stream).
            if handled.rebuild {
                self.rebuild_streams(fh, io);
            }
            handled.outcome
        };
        match outcome {
            Outcome::Reply { out, .. } if out.len() > out_size as usize => {
                // The kernel would refuse the reply: only a wrong table could cause it.
                tracing::error!(cmd, "ioctl output larger than its declared size");
                self.fail(node, unique, Fail::Invalid)
            }
            Outcome::Reply { result, out } => self.answer(
                node,
                Answer::Ioctl {
                    unique,
                    result,
                    out,
                },
            ),
            Outcome::Error(errno) => self.fail(node, unique, Fail::Errno(errno)),
            Outcome::ParkUntilDrained => {
                if let Some(f) = self.dsp_file(fh) {
                    f.syncs.push(unique);
                }
            }
        }
    }

    /// SNDCTL_DSP_SYNCGROUP: creates a group (id 0) or joins one, and arms
    /// the file's chosen directions: output gated off (its writes are
    /// queued, not played), recording halted, until SYNCSTART.
    fn sync_group(&mut self, fh: u64, input: &[u8], io: &mut impl Ports) -> Outcome {
        let Some(mut g) = OssSyncgroup::from_bytes(input) else {
            return Outcome::Error(libc::EINVAL);
        };
        let mode = g.mode as u32;
        let both = PCM_ENABLE_INPUT | PCM_ENABLE_OUTPUT;
        let f = self.files[&fh].dsp().expect("a dsp file");
        let has = |bit: u32| match bit {
            PCM_ENABLE_OUTPUT => f.play.is_some(),
            _ => f.rec.is_some(),
        };
        // A mode of nothing, of unknown bits, or of a direction the file
        // does not have.
        if mode == 0
            || mode & !both != 0
            || [PCM_ENABLE_INPUT, PCM_ENABLE_OUTPUT]
                .iter()
                .any(|&b| mode & b != 0 && !has(b))
        {
            return Outcome::Error(libc::EINVAL);
        }
        if self.groups.values().flatten().any(|&(m, _)| m == fh) {
            return Outcome::Error(libc::EBUSY);
        }
        if g.id == 0 {
            g.id = self.next_group;
            self.next_group = self.next_group.checked_add(1).unwrap_or(1);
        } else if !self.groups.contains_key(&g.id) {
            // Unknown, or already started (a started group is gone).
            return Outcome::Error(libc::EINVAL);
        }
        self.groups.entry(g.id).or_default().push((fh, mode));
        self.set_triggers(&[(fh, mode)], false, io);
        Outcome::Reply {
            result: 0,
            out: g.to_bytes().to_vec(),
        }
    }

    /// SNDCTL_DSP_SYNCSTART: every member of the group starts in the same
    /// device period (one pass under the engines' lock): streams in the
    /// device's rate, or resampled by `fast`, put their first frames on the
    /// same device frame. The group ends.
    fn sync_start(&mut self, input: &[u8], io: &mut impl Ports) -> Outcome {
        let Some(id) = input
            .get(..4)
            .map(|b| i32::from_ne_bytes(b.try_into().expect("4")))
        else {
            return Outcome::Error(libc::EINVAL);
        };
        let Some(members) = self.groups.remove(&id) else {
            return Outcome::Error(libc::EINVAL);
        };
        self.set_triggers(&members, true, io);
        Outcome::Reply {
            result: 0,
            out: Vec::new(),
        }
    }

    /// Turns the trigger bits `mode` of each file on or off, all in one
    /// call to the engines.
    fn set_triggers(&mut self, members: &[(u64, u32)], on: bool, io: &mut impl Ports) {
        let files = &mut self.files;
        io.engines(|e| {
            for &(fh, mode) in members {
                let Some(FileKind::Dsp(f)) = files.get_mut(&fh).map(|f| &mut f.kind) else {
                    continue;
                };
                let bits = if on {
                    f.dsp.trigger_bits() | mode
                } else {
                    f.dsp.trigger_bits() & !mode
                };
                f.dsp.set_trigger(streams(f.play, f.rec, e), bits);
            }
        });
    }

    /// After a mixer change: new master and recording gains, and the state
    /// to save.
    fn apply_mixer(&mut self, io: &mut impl Ports) {
        let now = self.mixer_state.changed();
        if now == self.mixer_seen {
            return;
        }
        self.mixer_seen = now;
        let igain = self.mixer_state.igain();
        let (state, files) = (&self.mixer_state, &self.files);
        io.engines(|e| {
            let ch = e.mixer.device().pcm.channels as usize;
            e.mixer.master = state.master_gains(ch);
            let Some(c) = e.capture.as_mut() else { return };
            for d in files.values().filter_map(File::dsp) {
                if let Some(RecSlot::Capture(id)) = d.rec {
                    if let Some(r) = c.recorders.get_mut(id) {
                        r.set_gains(d.dsp.rec_gains(igain));
                    }
                }
            }
        });
        if self.settings.save_mixer {
            self.mixer_save = Some(self.mixer_state.to_state_string());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn poll(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        kh: u64,
        flags: u32,
        events: u32,
        io: &mut impl Ports,
    ) {
        let revents = match &mut self.files.get_mut(&fh).expect("checked").kind {
            FileKind::Mixer => 0,
            FileKind::Sndstat { .. } => (libc::POLLIN | libc::POLLRDNORM) as u32,
            FileKind::Dsp(f) => {
                let wants_in = events & (libc::POLLIN | libc::POLLRDNORM) as u32 != 0;
                let r = io.engines(|e| readiness(f, e, wants_in));
                if r & events == 0 && flags & FUSE_POLL_SCHEDULE_NOTIFY != 0 {
                    f.poll_kh = Some(kh);
                }
                r
            }
        };
        self.answer(node, Answer::Poll { unique, revents });
    }

    /// INTERRUPT: a parked write answers with what it has taken (or EINTR),
    /// a parked read with what it has (or EINTR), a parked SYNC with EINTR.
    /// An unknown unique was answered already; a draining close is not
    /// interrupted (the kernel does not interrupt RELEASE).
    fn interrupt(&mut self, target: u64, io: &mut impl Ports) {
        // A close that is draining: the kernel interrupts it when the
        // closing process gets a signal. A process that the signal kills
        // (SIGKILL, or any signal it does not catch) is then kept in state
        // D until the answer: answered at once, its queue dropped, as if it
        // had been killed before its close. A caught signal lets the close
        // drain on (its deadline still bounds it).
        let closing = self.files.iter().find_map(|(&fh, f)| match &f.kind {
            FileKind::Dsp(d) if d.release.as_ref().is_some_and(|r| r.unique == target) => {
                Some((fh, f.node, f.pid))
            }
            _ => None,
        });
        if let Some((fh, node, pid)) = closing {
            if pid != 0 && io.killed(pid) {
                tracing::debug!(
                    fh,
                    pid,
                    "a draining close was interrupted by a fatal signal"
                );
                self.remove_file(fh, io);
                self.answer(node, Answer::Done(target));
            }
            return;
        }
        for f in self.files.values_mut() {
            let node = f.node;
            let FileKind::Dsp(d) = &mut f.kind else {
                continue;
            };
            let a = if let Some(i) = d.writes.iter().position(|w| w.unique == target) {
                d.writes.remove(i).expect("found").answer(Fail::Interrupted)
            } else if let Some(i) = d.reads.iter().position(|r| r.unique == target) {
                d.reads.remove(i).expect("found").answer(Fail::Interrupted)
            } else if let Some(i) = d.syncs.iter().position(|&u| u == target) {
                d.syncs.remove(i);
                Answer::Fail {
                    unique: target,
                    fail: Fail::Interrupted,
                }
            } else {
                continue;
            };
            self.answers.push((node, a));
            return;
        }
    }

    fn release(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        flags: u32,
        pid: u32,
        io: &mut impl Ports,
    ) {
        let grace = self.settings.drain_grace;
        // A process killed by a signal (SIGKILL, say) closes its files as it
        // dies, and the kernel keeps it waiting for the answer, unkillable:
        // its close does not drain (as the OSS manual has it for a process
        // killed by a signal), and its unplayed sound is dropped. A process
        // that returns from main with the file open drains as any close.
        // The kernel sends RELEASE without the closer's credentials (pid 0):
        // the process that opened the file stands for it then.
        let closer = match (pid, self.files.get(&fh)) {
            (0, Some(f)) => f.pid,
            (pid, _) => pid,
        };
        let dying = closer != 0 && self.dsp_file(fh).is_some() && io.killed(closer);
        let Some(f) = self.dsp_file(fh) else {
            self.remove_file(fh, io);
            return self.answer(node, Answer::Done(unique));
        };
        // Anything still parked belongs to a process that is gone.
        let mut gone = Vec::new();
        f.answer_all(Fail::Interrupted, &mut gone);
        let nonblock = dying || f.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        let play = f.play;
        self.answers.extend(gone.into_iter().map(|a| (node, a)));
        let queued = match play {
            Some(id) if !nonblock => io.engines(|e| {
                let dev = *e.mixer.device();
                let v = e.mixer.voice_mut(id)?;
                v.start_drain().then(|| {
                    let fmt = v.format();
                    let frames = v.queued() / fmt.frame_bytes().max(1);
                    Duration::from_secs_f64(frames as f64 / fmt.rate as f64)
                        + Duration::from_secs_f64(dev.buffer_frames as f64 / dev.pcm.rate as f64)
                })
            }),
            _ => None,
        };
        match queued {
            // Drain: play what was written, then answer. Bounded by the queued
            // time plus a grace period, so a stuck device cannot hang close().
            Some(q) => {
                let deadline = io.now() + q + grace;
                let f = self.dsp_file(fh).expect("still open");
                f.release = Some(ParkedRelease { unique, deadline });
            }
            // O_NONBLOCK (the manual: close does not wait), output gated off by
            // SETTRIGGER (it would never play), or nothing to play.
            None => {
                self.remove_file(fh, io);
                self.answer(node, Answer::Done(unique));
            }
        }
    }

    fn remove_file(&mut self, fh: u64, io: &mut impl Ports) {
        let Some(f) = self.files.remove(&fh) else {
            return;
        };
        self.leave_groups(fh);
        tracing::debug!(fh, pid = f.pid, "closed");
        let FileKind::Dsp(d) = f.kind else { return };
        let (old, capture_idle) = io.engines(|e| {
            let voice = d.play.and_then(|id| e.mixer.remove(id));
            let (rec, idle) = match d.rec {
                Some(RecSlot::Monitor(id)) => (e.mixer.monitors.remove(id), false),
                Some(RecSlot::Capture(id)) => match e.capture.as_mut() {
                    Some(c) => (c.recorders.remove(id), c.recorders.is_empty()),
                    None => (None, false),
                },
                None => (None, false),
            };
            ((voice, rec), idle)
        });
        drop(old);
        if capture_idle {
            // The last reader is gone: release the capture device.
            io.close_capture();
            self.capture_dev = None;
            tracing::debug!("capture closed");
        }
    }

    /// Moves every parked request on as far as the engines allow, and
    /// answers what became answerable. Called after every engine tick and
    /// every batch of requests.
    pub fn service(&mut self, io: &mut impl Ports) {
        // The clock only matters to SYNC and a draining close.
        let timed = self.files.values().any(|f| {
            f.dsp()
                .is_some_and(|d| !d.syncs.is_empty() || d.release.is_some())
        });
        let now = timed.then(|| io.now());
        let (files, answers) = (&mut self.files, &mut self.answers);
        let (dead_pipes, dead_convs) = (&mut self.dead_pipes, &mut self.dead_convs);
        let (in_hand, finished) = (&mut self.in_hand, &mut self.finished);
        let starving = &mut self.starving;
        io.engines(|e| {
            let played = now.map_or(0, |now| e.position.played(now));
            e.mixer.take_dead(dead_pipes);
            e.mixer.monitors.take_dead(dead_convs);
            if let Some(c) = e.capture.as_mut() {
                c.recorders.take_dead(dead_convs);
            }
            for (&fh, f) in files.iter_mut() {
                let node = f.node;
                let FileKind::Dsp(d) = &mut f.kind else {
                    continue;
                };
                if f.failed {
                    continue;
                }
                *in_hand = Some(InHand {
                    node,
                    unique: None,
                    fh: Some(fh),
                    closing: false,
                });
                if let Some(v) = d.play.and_then(|id| e.mixer.voice_mut(id)) {
                    if v.starved() != d.dsp.starved_seen() {
                        starving.push((fh, v.starved()));
                    }
                    d.feed_parked(v, node, answers);
                    // Played out, or gated off by SETTRIGGER meanwhile (it
                    // would never play out: answered as a SYNC on a gated
                    // stream is).
                    let done = !v.trigger() || v.drained(played);
                    if !d.syncs.is_empty() && done {
                        answers.extend(d.syncs.drain(..).map(|unique| {
                            (
                                node,
                                Answer::Ioctl {
                                    unique,
                                    result: 0,
                                    out: Vec::new(),
                                },
                            )
                        }));
                    }
                    if let (Some(r), Some(now)) = (&d.release, now) {
                        let late = now >= r.deadline;
                        if done || late {
                            if late {
                                tracing::warn!(
                                    fh,
                                    "close gave up waiting for the stream to play out"
                                );
                            }
                            answers.push((node, Answer::Done(r.unique)));
                            d.release = None;
                            finished.push(fh);
                            continue; // closed: nothing more to answer or notify
                        }
                    }
                }
                if !d.reads.is_empty() {
                    if let Some(r) = d.rec.and_then(|slot| rec_voice(e, slot)) {
                        while let Some(p) = d.reads.front_mut() {
                            let had = p.got.len();
                            r.take_into(&mut p.got, p.want);
                            d.read += (p.got.len() - had) as u64;
                            if p.got.len() < p.want {
                                break;
                            }
                            let p = d.reads.pop_front().expect("front");
                            answers.push((
                                node,
                                Answer::Data {
                                    unique: p.unique,
                                    data: p.got,
                                },
                            ));
                        }
                    }
                }
                if d.poll_kh.is_some() && readiness(d, e, false) != 0 {
                    let kh = d.poll_kh.take().expect("checked");
                    answers.push((node, Answer::Notify(kh)));
                }
            }
        });
        while let Some((fh, starved)) = self.starving.pop() {
            self.in_hand = Some(InHand {
                node: 0, // not used: nothing is answered
                unique: None,
                fh: Some(fh),
                closing: false,
            });
            self.grow_if_starved(fh, starved, io);
        }
        while let Some(&fh) = self.finished.last() {
            self.in_hand = Some(InHand {
                node: 0, // not used: the close is answered
                unique: None,
                fh: Some(fh),
                closing: true,
            });
            self.remove_file(fh, io);
            self.finished.pop();
        }
        self.in_hand = None;
        self.dead_pipes.clear();
        self.dead_convs.clear();
    }

    /// The daemon stops: every parked request is answered (writes, reads
    /// and SYNC with EIO; a draining close as done).
    pub fn shutdown(&mut self) {
        let mut gone = Vec::new();
        for f in self.files.values_mut() {
            let node = f.node;
            if let FileKind::Dsp(d) = &mut f.kind {
                d.answer_all(Fail::Io, &mut gone);
                self.answers.extend(gone.drain(..).map(|a| (node, a)));
            }
        }
    }

    /// After a panic in [`Server::handle`] or [`Server::service`] (a bug,
    /// caught by the runtime): what was in hand is failed, so that every
    /// request read is still answered exactly once and the other files go
    /// on untouched.
    /// - The request being handled is answered with EIO (whatever it had
    ///   queued or parked is dropped; an INTERRUPT is never answered).
    /// - Its file fails: what it has parked gets EIO (a parked close is
    ///   answered as done and the file goes), an armed poller is woken (to
    ///   find POLLERR), and its later requests get EIO, except RELEASE,
    ///   which closes it as usual. A file that was closing is dropped.
    /// - The streams of failed and dropped files leave the engines at once
    ///   (so a failed file stops playing), and so does any stream the panic
    ///   left without a file.
    ///
    /// The bookkeeping is done first and cannot reach the engines; their
    /// part comes last, so that if it panics too, every request is still
    /// answered (its streams then go at the file's RELEASE).
    pub fn recover(&mut self, io: &mut impl Ports) -> Recovered {
        let hand = self.in_hand.take();
        let mut done = Recovered {
            unique: None,
            fh: None,
            pid: None,
            closed: false,
        };
        // Closes that service answered and had yet to remove.
        for fh in std::mem::take(&mut self.finished) {
            self.drop_file(fh);
        }
        self.starving.clear();
        if let Some(h) = hand {
            if let Some(u) = h.unique {
                self.answers.retain(|(_, a)| a.unique() != Some(u));
                for f in self.files.values_mut() {
                    if let FileKind::Dsp(d) = &mut f.kind {
                        d.forget(u);
                    }
                }
                self.fail(h.node, u, Fail::Io);
                done.unique = Some(u);
            }
            if let Some(fh) = h.fh {
                // (A closing file may be out of the table already.)
                done.pid = self.files.get(&fh).map(|f| f.pid);
                if h.closing {
                    self.drop_file(fh);
                    (done.fh, done.closed) = (Some(fh), true);
                } else if self.files.contains_key(&fh) {
                    self.fail_file(fh, false);
                    done.fh = Some(fh);
                }
            }
        }
        self.sweep_streams(io);
        done
    }

    /// Marks file `fh` failed and answers what it has parked with EIO (a
    /// parked close as done, and the file goes); a poller of a file that
    /// stays is woken, to find POLLERR (a closing file has none: the kernel
    /// releases a file only when nothing, a poll included, holds it).
    fn fail_file(&mut self, fh: u64, closing: bool) {
        let Some(f) = self.files.get_mut(&fh) else {
            return;
        };
        f.failed = true;
        let node = f.node;
        let mut closed = false;
        if let FileKind::Dsp(d) = &mut f.kind {
            let fail = |unique| Answer::Fail {
                unique,
                fail: Fail::Io,
            };
            let mut out: Vec<Answer> = d.writes.drain(..).map(|w| fail(w.unique)).collect();
            out.extend(d.reads.drain(..).map(|r| fail(r.unique)));
            out.extend(d.syncs.drain(..).map(fail));
            if let Some(r) = d.release.take() {
                out.push(Answer::Done(r.unique));
                closed = true;
            }
            let kh = d.poll_kh.take();
            if !closing && !closed {
                out.extend(kh.map(Answer::Notify));
            }
            self.answers.extend(out.into_iter().map(|a| (node, a)));
        }
        self.leave_groups(fh);
        if closed {
            self.files.remove(&fh);
        }
    }

    /// File `fh` goes without touching the engines (its parked requests
    /// answered as [`Server::fail_file`] does); its streams are left for
    /// [`Server::sweep_streams`].
    fn drop_file(&mut self, fh: u64) {
        self.fail_file(fh, true);
        self.files.remove(&fh);
    }

    fn leave_groups(&mut self, fh: u64) {
        for members in self.groups.values_mut() {
            members.retain(|&(m, _)| m != fh);
        }
        self.groups.retain(|_, members| !members.is_empty());
    }

    /// Removes from the engines every stream that no live file owns: those
    /// of failed files and any a panic left behind. Releases the capture
    /// device when no reader is left.
    fn sweep_streams(&mut self, io: &mut impl Ports) {
        let mut voices = Vec::new();
        let mut monitors = Vec::new();
        let mut readers = Vec::new();
        for d in self.files.values().filter_map(File::dsp) {
            voices.extend(d.play);
            match d.rec {
                Some(RecSlot::Monitor(id)) => monitors.push(id),
                Some(RecSlot::Capture(id)) => readers.push(id),
                None => {}
            }
        }
        let (old, capture_idle) = io.engines(|e| {
            let mut old_voices = Vec::new();
            let mut old_recs = Vec::new();
            let stray: Vec<VoiceId> = e
                .mixer
                .voices()
                .map(|(id, _)| id)
                .filter(|id| !voices.contains(id))
                .collect();
            old_voices.extend(stray.into_iter().filter_map(|id| e.mixer.remove(id)));
            let stray: Vec<usize> = e
                .mixer
                .monitors
                .iter()
                .map(|(id, _)| id)
                .filter(|id| !monitors.contains(id))
                .collect();
            old_recs.extend(
                stray
                    .into_iter()
                    .filter_map(|id| e.mixer.monitors.remove(id)),
            );
            let idle = match e.capture.as_mut() {
                Some(c) => {
                    let stray: Vec<usize> = c
                        .recorders
                        .iter()
                        .map(|(id, _)| id)
                        .filter(|id| !readers.contains(id))
                        .collect();
                    old_recs.extend(stray.into_iter().filter_map(|id| c.recorders.remove(id)));
                    c.recorders.is_empty()
                }
                None => false,
            };
            ((old_voices, old_recs), idle)
        });
        drop(old);
        for f in self.files.values_mut() {
            if let (true, FileKind::Dsp(d)) = (f.failed, &mut f.kind) {
                d.play = None;
                d.rec = None;
            }
        }
        if capture_idle && readers.is_empty() {
            io.close_capture();
            self.capture_dev = None;
            tracing::debug!("capture closed");
        }
    }

    fn render_sndstat(&mut self, io: &mut impl Ports) -> String {
        let capture = self
            .capture_dev
            .map(|d| (d, self.settings.capture_name.clone()));
        let (device_name, nodes, files) = (&self.settings.device_name, &self.nodes, &self.files);
        let names = &self.settings.device_names;
        let (devices, mut clients, (device_xruns, standin_frames, skipped_frames)) =
            io.engines(|e| {
                let dev = e.output.config.unwrap_or(*e.mixer.device());
                let mut devices = vec![DeviceLine {
                    role: "playback",
                    alsa_name: names.get(e.output.device).unwrap_or(device_name).clone(),
                    format: dev.pcm.sample.name(),
                    rate: dev.pcm.rate,
                    channels: dev.pcm.channels,
                    period_frames: dev.period_frames,
                    buffer_frames: dev.buffer_frames,
                    xruns: e.device_xruns,
                    missing: e.output_missing.then_some("playing on a stand-in clock"),
                }];
                if let (Some((d, name)), Some(c)) = (&capture, &e.capture) {
                    devices.push(DeviceLine {
                        role: "capture",
                        alsa_name: name.clone(),
                        format: d.pcm.sample.name(),
                        rate: d.pcm.rate,
                        channels: d.pcm.channels,
                        period_frames: d.period_frames,
                        buffer_frames: d.buffer_frames,
                        xruns: c.xruns,
                        missing: c.missing.then_some("recording silence"),
                    });
                }
                let mut clients = Vec::new();
                for f in files.values() {
                    let Some(d) = f.dsp() else { continue };
                    let (size, count) = d.dsp.geometry();
                    let underruns = d
                        .play
                        .and_then(|id| e.mixer.voice(id))
                        .map_or(0, |v| v.underruns());
                    let overruns = rec_overruns(d.rec, e);
                    clients.push(ClientLine {
                        node: nodes[f.node].name.clone(),
                        pid: f.pid,
                        command: String::new(), // asked of the runtime below, outside the locks
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
                (
                    devices,
                    clients,
                    (e.device_xruns, e.standin_frames, e.output.skipped_frames),
                )
            });
        for c in &mut clients {
            c.command = io.command_of(c.pid).unwrap_or_else(|| "?".into());
        }
        sndstat::render(&SndstatInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            devices,
            clients,
            mixer: Some((self.mixer_state.volume(), self.mixer_state.pcm())),
            totals: Totals {
                clients_served: self.served,
                device_underruns: device_xruns,
                standin_frames,
                skipped_frames,
            },
        })
    }
}

/// Overruns of a file's recording (capture or monitor), as the engines
/// have them.
fn rec_overruns(rec: Option<RecSlot>, e: &Engines<'_>) -> u32 {
    match rec {
        Some(RecSlot::Capture(id)) => e
            .capture
            .as_ref()
            .and_then(|c| c.recorders.get(id))
            .map_or(0, |r| r.overruns()),
        Some(RecSlot::Monitor(id)) => e.mixer.monitors.get(id).map_or(0, |r| r.overruns()),
        None => 0,
    }
}

/// A file's streams, as far as the engines have them.
fn streams<'e>(play: Option<VoiceId>, rec: Option<RecSlot>, e: &'e mut Engines<'_>) -> Streams<'e> {
    let monitor = match rec {
        Some(RecSlot::Monitor(id)) => Some(id),
        _ => None,
    };
    let (play, mon) = e.mixer.streams_mut(play, monitor);
    let rec = match (rec, e.capture.as_mut()) {
        (Some(RecSlot::Capture(id)), Some(c)) => c.recorders.get_mut(id),
        _ => mon,
    };
    Streams { play, rec }
}

/// The recording voice in `slot`, if its engine has it.
fn rec_voice<'e>(e: &'e mut Engines<'_>, slot: RecSlot) -> Option<&'e mut RecVoice> {
    match slot {
        RecSlot::Capture(id) => e.capture.as_mut()?.recorders.get_mut(id),
        RecSlot::Monitor(id) => e.mixer.monitors.get_mut(id),
    }
}

/// poll() bits of a dsp file now: writable with a fragment (or LOW_WATER)
/// free and no write waiting; readable with a fragment recorded and no read
/// waiting. Asking for input starts recording, as in OSS.
fn readiness(d: &DspFile, e: &mut Engines<'_>, start_input: bool) -> u32 {
    let mut r = 0;
    let mark = d.dsp.low_water();
    if let Some(v) = d.play.and_then(|id| e.mixer.voice(id)) {
        if d.writes.is_empty() && v.space() >= mark.min(v.capacity()) {
            r |= (libc::POLLOUT | libc::POLLWRNORM) as u32;
        }
    }
    if let Some(rv) = d.rec.and_then(|slot| rec_voice(e, slot)) {
        if start_input && d.dsp.enabled(PCM_ENABLE_INPUT) {
            rv.start();
        }
        if d.reads.is_empty() && rv.available() >= mark.min(rv.capacity()) {
            r |= (libc::POLLIN | libc::POLLRDNORM) as u32;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cuse::abi::opcode;
    use crate::cuse::wire::Header;
    use crate::mix::fixtures::dev;
    use crate::oss::soundcard::{
        AFMT_S16_LE, SNDCTL_DSP_CHANNELS, SNDCTL_DSP_SETFMT, SNDCTL_DSP_SPEED,
    };

    /// The engines as plain values, a device that plays when told to.
    struct Bench {
        mixer: Mixer,
        now: Instant,
        /// The next call to `engines` panics (as a bug under the lock would).
        panic_next: bool,
        /// Processes being killed.
        dying: Vec<u32>,
    }

    impl Ports for Bench {
        fn engines<R>(&mut self, f: impl FnOnce(&mut Engines<'_>) -> R) -> R {
            if std::mem::take(&mut self.panic_next) {
                panic!("injected");
            }
            let written = self.mixer.frames_mixed();
            f(&mut Engines {
                mixer: &mut self.mixer,
                // Everything mixed has been played.
                position: Position {
                    written,
                    delay: 0,
                    at: self.now,
                    rate: 48000,
                },
                device_xruns: 0,
                output_missing: false,
                standin_frames: 0,
                output: OutputNow::default(),
                capture: None,
            })
        }
        fn now(&mut self) -> Instant {
            self.now
        }
        fn open_capture(&mut self) -> Result<DeviceConfig, DeviceError> {
            Err(DeviceError::NoCapture)
        }
        fn close_capture(&mut self) {}
        fn command_of(&mut self, _pid: u32) -> Option<String> {
            None
        }
        fn killed(&mut self, pid: u32) -> bool {
            self.dying.contains(&pid)
        }
    }

    struct T {
        server: Server,
        io: Bench,
        unique: u64,
        /// The pid in the requests' header (the kernel sends RELEASE with 0).
        pid: u32,
    }

    impl T {
        fn new() -> T {
            let settings = Settings {
                device_name: "test".into(),
                device_names: Vec::new(),
                capture_name: "none".into(),
                can_record: false,
                quality: Quality::Fast,
                drain_grace: Duration::from_secs(2),
                save_mixer: false,
            };
            let nodes = vec![NodeDesc {
                kind: NodeKind::Dsp,
                name: "dsp".into(),
            }];
            T {
                server: Server::new(settings, nodes, MixerState::new()),
                io: Bench {
                    mixer: Mixer::new(dev()),
                    now: Instant::now(),
                    panic_next: false,
                    dying: Vec::new(),
                },
                unique: 0,
                pid: 1,
            }
        }

        /// Sends one request; its unique.
        fn send(&mut self, op: u32, args: &[u8]) -> u64 {
            self.unique += 2;
            let mut bytes = Vec::new();
            Header {
                len: (crate::cuse::abi::IN_HEADER_SIZE + args.len()) as u32,
                opcode: op,
                unique: self.unique,
                nodeid: 0,
                uid: 0,
                gid: 0,
                pid: self.pid,
                total_extlen: 0,
            }
            .emit(&mut bytes);
            bytes.extend_from_slice(args);
            let req = Request::parse(&bytes).expect("well formed");
            self.server.handle(0, &req, &mut self.io);
            self.unique
        }

        /// Sends one request whose handling panics, caught and recovered
        /// from as the runtime does.
        fn send_panicking(&mut self, op: u32, args: &[u8]) -> (u64, Recovered) {
            self.io.panic_next = true;
            let mut unique = 0;
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                unique = self.send(op, args);
            }));
            assert!(caught.is_err(), "it panicked");
            (self.unique, self.server.recover(&mut self.io))
        }

        fn answers(&mut self) -> Vec<Answer> {
            self.server.take_answers().map(|(_, a)| a).collect()
        }

        /// Opens /dev/dsp for writing in the device's format.
        fn open_native(&mut self) -> u64 {
            self.send(opcode::FUSE_OPEN, &(libc::O_WRONLY as u64).to_ne_bytes());
            let [Answer::Open { fh, .. }] = self.answers()[..] else {
                panic!("open failed")
            };
            for (cmd, v) in [
                (SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32),
                (SNDCTL_DSP_CHANNELS, 2),
                (SNDCTL_DSP_SPEED, 48000),
            ] {
                let mut a = ioctl_args(fh, cmd, 4, 4);
                a.extend_from_slice(&v.to_ne_bytes());
                self.send(opcode::FUSE_IOCTL, &a);
            }
            self.answers();
            fh
        }

        fn write(&mut self, fh: u64, len: usize) -> u64 {
            let mut a = vec![0u8; crate::cuse::abi::WRITE_IN_SIZE];
            a[0..8].copy_from_slice(&fh.to_ne_bytes());
            a[16..20].copy_from_slice(&(len as u32).to_ne_bytes());
            a.extend(std::iter::repeat_n(1u8, len));
            self.send(opcode::FUSE_WRITE, &a)
        }

        /// The device plays `periods` periods; the core is serviced after
        /// each, as the engine's tick does.
        fn play(&mut self, periods: usize) {
            for _ in 0..periods {
                self.io.mixer.mix_period();
                self.io.now += Duration::from_micros(83); // 4 frames at 48 kHz
                self.server.service(&mut self.io);
            }
        }
    }

    fn ioctl_args(fh: u64, cmd: u32, in_size: u32, out_size: u32) -> Vec<u8> {
        let mut a = vec![0u8; crate::cuse::abi::IOCTL_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        a[12..16].copy_from_slice(&cmd.to_ne_bytes());
        a[24..28].copy_from_slice(&in_size.to_ne_bytes());
        a[28..32].copy_from_slice(&out_size.to_ne_bytes());
        a
    }

    #[test]
    fn a_blocking_write_parks_until_the_device_makes_room() {
        let mut t = T::new();
        let fh = t.open_native();
        let u = t.write(fh, 4096); // far more than the ring holds
        assert!(t.answers().is_empty(), "parked");
        assert!(t.server.waiting());
        t.play(1000);
        assert_eq!(t.answers(), vec![Answer::Written { unique: u, n: 4096 }]);
        assert!(!t.server.waiting());
    }

    /// GETOSPACE: (fragments, fragstotal, fragsize, bytes).
    fn ospace(t: &mut T, fh: u64) -> [i32; 4] {
        use crate::oss::soundcard::SNDCTL_DSP_GETOSPACE;
        t.send(
            opcode::FUSE_IOCTL,
            &ioctl_args(fh, SNDCTL_DSP_GETOSPACE, 0, 16),
        );
        let a = t.answers();
        let [Answer::Ioctl {
            result: 0, ref out, ..
        }] = a[..]
        else {
            panic!("{a:?}")
        };
        std::array::from_fn(|i| i32::from_ne_bytes(out[4 * i..4 * i + 4].try_into().unwrap()))
    }

    #[test]
    fn a_client_that_keeps_its_buffer_full_and_still_runs_dry_twice_gets_a_bigger_one() {
        let mut t = T::new();
        let fh = t.open_native();
        let [_, frags, size, bytes] = ospace(&mut t, fh);
        assert_eq!(frags * size, bytes);
        // Filled to the brim, then played dry (the program woke too late):
        // once is nothing.
        t.write(fh, bytes as usize);
        t.answers();
        t.play(bytes as usize / 16 + 2);
        assert_eq!(ospace(&mut t, fh), [frags, frags, size, bytes]);
        // Twice within 2 s: more fragments (twice the default four; this
        // test device's tiny periods need six at least), of the same size.
        t.write(fh, bytes as usize);
        t.answers();
        t.play(bytes as usize / 16 + 2);
        let [free, more, same, all] = ospace(&mut t, fh);
        assert!(more > frags && more == free && same == size && all == more * size);
        // A write of more than the ring holds parks and is served whole.
        let u = t.write(fh, 3 * bytes as usize);
        t.play(1000);
        assert_eq!(
            t.answers(),
            vec![Answer::Written {
                unique: u,
                n: 3 * bytes as u32
            }]
        );
        // A program that is simply slow to write (it never fills the ring)
        // does not make it grow: only underruns, not starved.
        let grown = ospace(&mut t, fh);
        for _ in 0..5 {
            t.write(fh, size as usize);
            t.answers();
            t.play(size as usize / 16 + 2);
        }
        assert_eq!(ospace(&mut t, fh), grown);
    }

    #[test]
    fn an_interrupt_answers_a_parked_write_with_what_it_queued() {
        let mut t = T::new();
        let fh = t.open_native();
        let u = t.write(fh, 4096);
        t.send(opcode::FUSE_INTERRUPT, &u.to_ne_bytes());
        let a = t.answers();
        let [Answer::Written { unique, n }] = a[..] else {
            panic!("{a:?}")
        };
        assert!(unique == u && n > 0 && n < 4096, "{a:?}");
        // A stale interrupt (nothing parked under that unique) is ignored.
        t.send(opcode::FUSE_INTERRUPT, &u.to_ne_bytes());
        assert!(t.answers().is_empty());
    }

    #[test]
    fn a_close_plays_out_its_stream_and_answers_what_was_parked() {
        let mut t = T::new();
        let fh = t.open_native();
        let w = t.write(fh, 4096);
        let mut a = vec![0u8; crate::cuse::abi::RELEASE_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        let r = t.send(opcode::FUSE_RELEASE, &a);
        // The parked write is cut short at once; the close waits for the queue.
        let got = t.answers();
        assert!(
            matches!(got[..], [Answer::Written { unique, .. }] if unique == w),
            "{got:?}"
        );
        assert!(t.server.next_deadline().is_some());
        t.play(1000);
        assert_eq!(t.answers(), vec![Answer::Done(r)]);
        assert_eq!(t.server.open_files(), 0);
        assert_eq!(t.io.mixer.voices().count(), 0);
    }

    #[test]
    fn a_dying_process_is_not_kept_waiting_by_its_close() {
        let mut t = T::new();
        let fh = t.open_native();
        let w = t.write(fh, 4096);
        // Killed: the kernel closes its files as it exits, and sends the
        // RELEASE without credentials (pid 0): the opener (pid 1) is asked.
        t.io.dying.push(1);
        t.pid = 0;
        let r = t.send(opcode::FUSE_RELEASE, &release_args(fh));
        let got = t.answers();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(got[0], Answer::Written { unique, .. } if unique == w));
        assert_eq!(got[1], Answer::Done(r), "answered at once, no drain");
        assert_eq!(t.server.open_files(), 0);
        assert_eq!(t.io.mixer.voices().count(), 0);
    }

    #[test]
    fn a_draining_close_interrupted_by_a_fatal_signal_is_answered_at_once() {
        let mut t = T::new();
        let fh = t.open_native();
        t.write(fh, 64);
        t.answers();
        t.pid = 0;
        let r = t.send(opcode::FUSE_RELEASE, &release_args(fh));
        assert!(t.answers().is_empty(), "draining");
        // A caught signal: the kernel interrupts, the close drains on.
        t.send(opcode::FUSE_INTERRUPT, &r.to_ne_bytes());
        assert!(t.answers().is_empty(), "still draining");
        assert_eq!(t.server.open_files(), 1);
        // Killed while it waits: answered at once, its stream gone.
        t.io.dying.push(1);
        t.send(opcode::FUSE_INTERRUPT, &r.to_ne_bytes());
        assert_eq!(t.answers(), vec![Answer::Done(r)]);
        assert_eq!(t.server.open_files(), 0);
        assert_eq!(t.io.mixer.voices().count(), 0);
        // A stale interrupt for it changes nothing.
        t.send(opcode::FUSE_INTERRUPT, &r.to_ne_bytes());
        assert!(t.answers().is_empty());
    }

    fn sync_args(fh: u64) -> Vec<u8> {
        ioctl_args(fh, crate::oss::soundcard::SNDCTL_DSP_SYNC, 0, 0)
    }

    fn release_args(fh: u64) -> Vec<u8> {
        let mut a = vec![0u8; crate::cuse::abi::RELEASE_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        a
    }

    fn eio(unique: u64) -> Answer {
        Answer::Fail {
            unique,
            fail: Fail::Io,
        }
    }

    #[test]
    fn a_request_that_panics_fails_its_file_and_only_its_file() {
        let mut t = T::new();
        let a = t.open_native();
        let b = t.open_native();
        let wa = t.write(a, 4096);
        let wb = t.write(b, 4096);
        let sb = t.send(opcode::FUSE_IOCTL, &sync_args(b));
        assert!(t.answers().is_empty(), "parked");
        let (u, r) = t.send_panicking(opcode::FUSE_IOCTL, &sync_args(b));
        assert_eq!(
            r,
            Recovered {
                unique: Some(u),
                fh: Some(b),
                pid: Some(1),
                closed: false
            }
        );
        // The request and what its file had parked: EIO, once each.
        let mut got = t.answers();
        got.sort_by_key(|a| a.unique());
        assert_eq!(got, vec![eio(wb), eio(sb), eio(u)]);
        // B's stream has left the mix; A's plays on.
        assert_eq!(t.io.mixer.voices().count(), 1);
        assert!(t.server.waiting(), "A's write is still parked");
        // B's later requests: EIO; its close works.
        let w = t.write(b, 4);
        assert_eq!(t.answers(), vec![eio(w)]);
        let r = t.send(opcode::FUSE_RELEASE, &release_args(b));
        assert_eq!(t.answers(), vec![Answer::Done(r)]);
        assert_eq!(t.server.open_files(), 1);
        // A is served as before.
        t.play(1000);
        assert_eq!(
            t.answers(),
            vec![Answer::Written {
                unique: wa,
                n: 4096
            }]
        );
    }

    #[test]
    fn a_close_that_panics_is_answered_and_its_file_is_gone() {
        let mut t = T::new();
        let a = t.open_native();
        let w = t.write(a, 4096);
        let (u, r) = t.send_panicking(opcode::FUSE_RELEASE, &release_args(a));
        assert!(r.closed);
        // The parked write went before the panic (EINTR, by the close).
        let got = t.answers();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.contains(&eio(u)), "{got:?}");
        assert!(
            got.iter().any(|a| a.unique() == Some(w)),
            "the parked write is answered: {got:?}"
        );
        assert_eq!(t.server.open_files(), 0);
        assert_eq!(t.io.mixer.voices().count(), 0);
        assert!(!t.server.waiting());
    }

    #[test]
    fn a_panic_while_serving_with_no_file_in_hand_fails_nothing() {
        let mut t = T::new();
        let a = t.open_native();
        let w = t.write(a, 4096);
        t.io.panic_next = true;
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.server.service(&mut t.io)));
        assert!(caught.is_err());
        let r = t.server.recover(&mut t.io);
        assert_eq!((r.unique, r.fh), (None, None));
        assert!(t.answers().is_empty());
        t.play(1000);
        assert_eq!(t.answers(), vec![Answer::Written { unique: w, n: 4096 }]);
        assert_eq!(t.io.mixer.voices().count(), 1, "a's voice stays");
    }

    #[test]
    fn requests_for_unknown_files_and_malformed_ones_get_errors() {
        let mut t = T::new();
        let u = t.write(99, 4);
        assert_eq!(
            t.answers(),
            vec![Answer::Fail {
                unique: u,
                fail: Fail::BadFile
            }]
        );
        let err = Request::parse(&[0u8; 8]).unwrap_err();
        t.server.malformed(0, &err);
        assert!(t.answers().is_empty(), "no header: nothing to answer");
    }
}
