//! A deterministic simulation of the request core ([`ossd::server`]):
//! seeded, single-threaded, no sleeping. Each schedule drives the core with
//! up to 64 clients opening, writing and reading in random sizes (blocking
//! and not), random ioctls with random arguments, SYNC, POST, RESET,
//! SETTRIGGER, polls, interrupts at random points, clients vanishing
//! mid-request and closes, while a simulated device plays the real
//! [`Mixer`] at a random pace, stalls (and so underruns), the output device
//! goes away and comes back (the runtime's stand-in clock keeps the
//! device's rate meanwhile, and the sound mixed then is lost), and a
//! simulated capture device comes and goes (silence while it is away).
//! Now and then the handling of a request, or a service pass, panics at a
//! random call to the engines (a bug), and the core recovers as the
//! runtime has it do (`Server::recover`).
//! Every request goes in as the
//! bytes the kernel would send, through `Request::parse`, and every answer
//! comes out through the same encoder the daemon uses.
//!
//! Checked after every step:
//! - every request is answered exactly once, on its node, with a reply the
//!   kernel would take (INTERRUPT never; a blocking write or read short only
//!   when interrupted or closed); nothing is left unanswered at the end;
//! - no request stays parked once what it waits for has happened (a parked
//!   write means a full ring, a parked read an empty one, a parked SYNC or
//!   close a stream still playing);
//! - one reference client's bytes reach the mix complete, in order and
//!   bit-exact (everyone else plays silence), and its close plays its tail;
//!   while the output device is away, the stand-in takes it at the device's
//!   rate and the sound is lost: what the device played is the reference
//!   whole outside its absences, and what it played and what was lost add
//!   up to what was written;
//! - no client sees an error while the output device is away, and
//!   /dev/sndstat says it is missing (and counts the frames lost) exactly
//!   while it is;
//! - GETOPTR never runs backwards and moves no faster than the device;
//!   GETODELAY and GETOSPACE never exceed the buffer;
//! - a request whose handling panicked is answered with EIO, and so is
//!   every later one of its file but its close; nothing is left in the
//!   engines once every file is closed;
//! - nothing else panics, and memory does not grow with the number of steps.
//!
//! A failure prints its seed and the shortest schedule that still fails.
//! `OSSD_SIM_SEED=n cargo test --test simulation` re-runs one seed;
//! `OSSD_SIM_REQUESTS=n` sets how many requests the main test covers
//! (default one million; `--release` for long runs).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use common::{args, request_bytes, restricted_ioctl};
use ossd::cuse::abi::{self, opcode};
use ossd::cuse::wire::{Reply, Request};
use ossd::device::DeviceError;
use ossd::mix::record::Recorders;
use ossd::mix::{Mixer, Quality};
use ossd::oss::mixer::MixerState;
use ossd::oss::soundcard::*;
use ossd::output::Position;
use ossd::pcm::DeviceConfig;
use ossd::server::{
    Answer, CaptureState, Engines, Fail, NodeDesc, NodeKind, Ports, Server, Settings,
};

// ---------------------------------------------------------------------------
// Live heap bytes of this thread, for the memory check.

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|c| c.set(c.get() + l.size() as isize));
        // SAFETY: the caller's layout, passed through.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let _ = LIVE.try_with(|c| c.set(c.get() - l.size() as isize));
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let _ = LIVE.try_with(|c| c.set(c.get() + new as isize - l.size() as isize));
        // SAFETY: as for `dealloc` and `alloc`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live_bytes() -> isize {
    LIVE.with(Cell::get)
}

// ---------------------------------------------------------------------------
// A small seeded generator (splitmix64).

#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------
// The simulated device and capture: the core's ports.

const DEV: DeviceConfig = common::device(128, 3);
const RATE: u64 = DEV.pcm.rate as u64;
const PERIOD: u64 = DEV.period_frames as u64;
const FRAME: usize = 4; // S16_LE stereo

const DSP: usize = 0;
const MONITOR: usize = 1;
const MIXER: usize = 2;
const SNDSTAT: usize = 3;

struct SimCapture {
    recorders: Recorders,
    xruns: u64,
}

struct Sim {
    mixer: Mixer,
    position: Position,
    xruns: u64,
    now: Instant,
    /// Device frames played, in 1/1000 frames (the pace is fractional).
    played_milli: u64,
    /// Play speed in percent of real time; 0: the device has stalled.
    pace: u64,
    capture: Option<SimCapture>,
    /// The capture device can be opened.
    capture_present: bool,
    /// The capture card is away: the stand-in records silence.
    capture_gone: bool,
    /// Device frames captured so far (the capture runs on the same clock).
    captured: u64,
    /// Every period the device played (the reference check), when kept.
    /// What the stand-in plays while the device is away is discarded.
    out: Option<Vec<u8>>,
    /// The device's absences, when `out` is kept: where in `out` each one
    /// falls, and how many reference (non-silent) frames it swallowed.
    absences: Vec<(usize, usize)>,
    /// The output device is away: the mix plays to the runtime's stand-in
    /// clock, at the device's rate, and is lost.
    output_missing: bool,
    /// Frames mixed to the stand-in (lost) so far.
    standin_frames: u64,
    /// A call to `engines` panics, as a bug under the engine lock would:
    /// the call after this many more.
    panic_in: Option<u32>,
}

/// The message of the panics the simulation injects.
const INJECTED: &str = "a panic injected by the simulation";

/// Keeps the injected panics out of the output (there are thousands); any
/// other panic is printed as before.
fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&INJECTED) {
                previous(info);
            }
        }));
    });
}

impl Ports for Sim {
    fn engines<R>(&mut self, f: impl FnOnce(&mut Engines<'_>) -> R) -> R {
        match self.panic_in {
            Some(0) => {
                self.panic_in = None;
                std::panic::panic_any(INJECTED);
            }
            Some(n) => self.panic_in = Some(n - 1),
            None => {}
        }
        f(&mut Engines {
            mixer: &mut self.mixer,
            position: self.position,
            device_xruns: self.xruns,
            output_missing: self.output_missing,
            standin_frames: self.standin_frames,
            output: ossd::server::OutputNow::default(),
            capture: self.capture.as_mut().map(|c| CaptureState {
                recorders: &mut c.recorders,
                xruns: c.xruns,
                missing: false,
            }),
        })
    }
    fn now(&mut self) -> Instant {
        self.now
    }
    fn open_capture(&mut self) -> Result<DeviceConfig, DeviceError> {
        if !self.capture_present {
            return Err(DeviceError::NoCapture);
        }
        self.capture = Some(SimCapture {
            recorders: Recorders::default(),
            xruns: 0,
        });
        Ok(DEV)
    }
    fn close_capture(&mut self) {
        self.capture = None;
    }
    fn command_of(&mut self, pid: u32) -> Option<String> {
        Some(format!("client{pid}"))
    }
}

impl Sim {
    fn played(&self) -> u64 {
        self.played_milli / 1000
    }

    /// Lets `micros` of time pass: the device plays at its pace, the engine
    /// mixes whenever a period is free (as `engine::run` does), the capture
    /// records at the device's rate. While the device is away its stand-in
    /// keeps exactly the device's rate (it neither stalls nor underruns),
    /// and what it plays is lost.
    fn advance(&mut self, micros: u64) {
        self.now += Duration::from_micros(micros);
        let written = self.mixer.frames_mixed();
        let pace = if self.output_missing { 100 } else { self.pace };
        let step = micros * RATE * pace / 100; // milli-frames
        self.played_milli = (self.played_milli + step).min(written * 1000);
        if pace > 0 {
            // Underrun: the device caught up with what was written.
            if self.played() >= written && written > 0 && !self.output_missing {
                self.xruns += 1;
            }
            while self.mixer.frames_mixed() - self.played() + PERIOD <= DEV.buffer_frames as u64 {
                let bytes = self.mixer.mix_period();
                match (&mut self.out, self.absences.last_mut()) {
                    (Some(_), Some((_, lost))) if self.output_missing => *lost += sounding(bytes),
                    (Some(out), _) => out.extend_from_slice(bytes),
                    (None, _) => {}
                }
                if self.output_missing {
                    self.standin_frames += PERIOD;
                }
            }
            let frames = self.played().saturating_sub(self.captured) / PERIOD;
            if let Some(c) = &mut self.capture {
                let mut buf = vec![0.0f64; PERIOD as usize * 2];
                for _ in 0..frames {
                    for (i, s) in buf.iter_mut().enumerate() {
                        *s = if self.capture_gone {
                            0.0
                        } else {
                            (((self.captured + i as u64 / 2) % 97) as f64 - 48.0) / 64.0
                        };
                    }
                    c.recorders.feed(&buf);
                    self.captured += PERIOD;
                }
            } else {
                self.captured += frames * PERIOD;
            }
        }
        self.publish();
    }

    fn publish(&mut self) {
        let written = self.mixer.frames_mixed();
        self.position = Position {
            written,
            delay: written - self.played().min(written),
            at: self.now,
            rate: DEV.pcm.rate,
        };
    }

    /// The output device goes away (`true`) or comes back. Either way the
    /// sink that takes over starts empty, as in `engine::run`: what the old
    /// one held unplayed is lost, and the position counts it as played.
    fn output_gone(&mut self, gone: bool) {
        if gone == self.output_missing {
            return;
        }
        // What the device held unplayed when it went is lost with it (the
        // stand-in's, when the device comes back, was never kept).
        let written = self.mixer.frames_mixed();
        let unplayed = (written - self.played().min(written)) as usize * FRAME;
        if let (Some(out), true) = (&mut self.out, gone) {
            let tail = out.split_off(out.len() - unplayed);
            self.absences.push((out.len(), sounding(&tail)));
        }
        self.played_milli = written * 1000;
        self.output_missing = gone;
        self.publish();
    }
}

// ---------------------------------------------------------------------------
// Schedules.

#[derive(Debug, Clone, Copy)]
enum Step {
    Open {
        c: u8,
        node: u8,
        acc: u8,
        nonblock: bool,
    },
    Write {
        c: u8,
        len: u16,
        nonblock: bool,
    },
    Read {
        c: u8,
        len: u16,
        nonblock: bool,
    },
    Ioctl {
        c: u8,
        cmd: u32,
        arg: i32,
    },
    Sync {
        c: u8,
    },
    Post {
        c: u8,
    },
    Reset {
        c: u8,
    },
    Trigger {
        c: u8,
        bits: i32,
    },
    Query {
        c: u8,
    },
    Poll {
        c: u8,
        schedule: bool,
        events: u32,
    },
    Interrupt {
        c: u8,
        which: u8,
    },
    /// A stale INTERRUPT, for a request answered long ago.
    StaleInterrupt {
        back: u16,
    },
    Close {
        c: u8,
    },
    /// The client is killed: its waiting requests are interrupted, its file
    /// released (a killed process's close still drains, as close does).
    Vanish {
        c: u8,
    },
    Advance {
        micros: u32,
    },
    Pace {
        percent: u8,
    },
    /// The capture card goes (the runtime records silence meanwhile, at
    /// the device's pace) or comes back.
    CaptureGone {
        yes: bool,
    },
    CapturePresent {
        yes: bool,
    },
    /// The output card goes (the runtime plays to a stand-in clock at the
    /// device's rate; the sound is lost) or comes back.
    OutputGone {
        yes: bool,
    },
    /// A bug: handling client `c`'s next request panics in its `after`th
    /// call to the engines (if it gets that far), and the runtime recovers
    /// as `daemon::run` does.
    Fault {
        c: u8,
        after: u8,
    },
    /// A bug: the next service pass panics before it reaches any file.
    FaultService,
}

/// The ioctls the clients pick from (odd arguments come with them).
const CMDS: &[u32] = &[
    SNDCTL_DSP_SETFMT,
    SNDCTL_DSP_CHANNELS,
    SNDCTL_DSP_STEREO,
    SNDCTL_DSP_SPEED,
    SNDCTL_DSP_SETFRAGMENT,
    SNDCTL_DSP_SUBDIVIDE,
    SNDCTL_DSP_GETBLKSIZE,
    SNDCTL_DSP_GETOSPACE,
    SNDCTL_DSP_GETISPACE,
    SNDCTL_DSP_GETODELAY,
    SNDCTL_DSP_GETOPTR,
    SNDCTL_DSP_GETIPTR,
    SNDCTL_DSP_CURRENT_OPTR,
    SNDCTL_DSP_CURRENT_IPTR,
    SNDCTL_DSP_CURRENT_OPTR_I386,
    SNDCTL_DSP_NONBLOCK,
    SNDCTL_DSP_LOW_WATER,
    SNDCTL_DSP_GETTRIGGER,
    SNDCTL_DSP_SETTRIGGER,
    SNDCTL_DSP_SKIP,
    SNDCTL_DSP_SILENCE,
    SNDCTL_DSP_HALT_INPUT,
    SNDCTL_DSP_HALT_OUTPUT,
    SNDCTL_DSP_SETPLAYVOL,
    SNDCTL_DSP_GETPLAYVOL,
    SNDCTL_DSP_SETRECVOL,
    SNDCTL_DSP_GETERROR,
    SNDCTL_DSP_GETCAPS,
    SNDCTL_DSP_SETDUPLEX,
    SNDCTL_DSP_POLICY,
    SNDCTL_DSP_COOKEDMODE,
    SNDCTL_DSP_SYNCGROUP,
    SNDCTL_DSP_SYNCSTART,
    SNDCTL_DSP_GET_CHNORDER,
    SNDCTL_DSP_SET_CHNORDER,
    SNDCTL_SETNAME,
    SNDCTL_SYSINFO,
    SNDCTL_AUDIOINFO,
    OSS_GETVERSION,
    SOUND_MIXER_READ_VOLUME,
    SOUND_MIXER_WRITE_VOLUME,
    SOUND_MIXER_WRITE_PCM,
    SOUND_MIXER_WRITE_IGAIN,
];

/// Sample formats whose silence is all zero bytes: the silent clients of a
/// reference schedule use only these, so that they add exactly nothing.
const ZERO_SILENCE: &[u32] = &[
    AFMT_S16_LE,
    AFMT_S16_BE,
    AFMT_S8,
    AFMT_S32_LE,
    AFMT_S32_BE,
    AFMT_S24_LE,
    AFMT_S24_PACKED,
    AFMT_FLOAT,
];

const ODD: &[i32] = &[
    0,
    -1,
    1,
    2,
    3,
    7,
    0x7fff_ffff,
    i32::MIN,
    0x7fff_0004,
    0x0002_0010,
];

fn odd_arg(rng: &mut Rng) -> i32 {
    match rng.below(4) {
        0 => rng.pick(ODD),
        1 => rng.below(200_000) as i32,
        2 => rng.next() as i32,
        _ => rng.pick(&[
            8000, 11025, 22050, 44100, 48000, 96000, 1, 2, 6, 16, 0x10, 0x20,
        ]),
    }
}

fn generate(rng: &mut Rng, steps: usize, clients: u8) -> Vec<Step> {
    let mut v = Vec::with_capacity(steps);
    for _ in 0..steps {
        let c = rng.below(clients as u64) as u8;
        let step = match rng.below(100) {
            0..=7 => Step::Open {
                c,
                node: match rng.below(20) {
                    0 => MONITOR as u8,
                    1 => MIXER as u8,
                    2 => SNDSTAT as u8,
                    _ => DSP as u8,
                },
                acc: rng.below(3) as u8,
                nonblock: rng.chance(15),
            },
            8..=29 => Step::Write {
                c,
                len: rng.pick(&[1, 3, 64, 500, 1024, 2048, 4096, 8192]) as u16
                    + rng.below(3) as u16,
                nonblock: rng.chance(25),
            },
            30..=37 => Step::Read {
                c,
                len: rng.pick(&[1, 64, 512, 2048, 4096]) as u16,
                nonblock: rng.chance(30),
            },
            38..=49 => Step::Ioctl {
                c,
                cmd: if rng.chance(8) {
                    rng.next() as u32
                } else {
                    rng.pick(CMDS)
                },
                arg: odd_arg(rng),
            },
            50..=52 => Step::Sync { c },
            53 => Step::Post { c },
            54..=55 => Step::Reset { c },
            56..=57 => Step::Trigger {
                c,
                bits: rng.below(4) as i32,
            },
            58..=63 => Step::Query { c },
            64..=66 => Step::Poll {
                c,
                schedule: rng.chance(70),
                events: rng.pick(&[
                    (libc::POLLOUT | libc::POLLWRNORM) as u32,
                    (libc::POLLIN | libc::POLLRDNORM) as u32,
                    (libc::POLLIN | libc::POLLOUT) as u32,
                ]),
            },
            67..=69 => Step::Interrupt {
                c,
                which: rng.below(4) as u8,
            },
            70 => match rng.below(10) {
                0..=1 => Step::Fault {
                    c,
                    after: rng.below(4) as u8,
                },
                2 => Step::FaultService,
                _ => Step::Interrupt {
                    c,
                    which: rng.below(4) as u8,
                },
            },
            71 => Step::StaleInterrupt {
                back: rng.below(50) as u16,
            },
            72..=75 => Step::Close { c },
            76..=77 => Step::Vanish { c },
            78..=95 => Step::Advance {
                micros: rng.pick(&[100, 500, 1000, 2667, 5000, 20_000]) as u32
                    + rng.below(1000) as u32,
            },
            96 => Step::OutputGone {
                yes: rng.chance(30),
            },
            97 => Step::Pace {
                percent: rng.pick(&[0, 0, 50, 90, 100, 100, 100, 110, 150]),
            },
            98 => Step::CaptureGone {
                yes: rng.chance(50),
            },
            _ => Step::CapturePresent {
                yes: rng.chance(70),
            },
        };
        v.push(step);
    }
    v
}

// ---------------------------------------------------------------------------
// The clients and the checks.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Init,
    Open {
        c: usize,
        node: usize,
        acc: i32,
        nonblock: bool,
    },
    Write {
        len: usize,
        blocking: bool,
    },
    Read {
        len: usize,
        blocking: bool,
    },
    Ioctl {
        out_size: u32,
        sync: bool,
    },
    Poll {
        events: u32,
    },
    Release,
}

#[derive(Debug)]
struct Pending {
    c: Option<usize>,
    node: usize,
    kind: Kind,
    interrupted: bool,
    /// Its handling panicked: it is answered with EIO.
    faulted: bool,
}

#[derive(Debug, Default, Clone)]
struct Client {
    fh: Option<u64>,
    node: usize,
    acc: i32,
    nonblock: bool,
    /// Opening: the OPEN request is out.
    opening: bool,
    /// The file's voice in the mixer and its recorder (capture or monitor).
    voice: Option<usize>,
    rec: Option<(bool, usize)>,
    /// GETOPTR's byte count at the last query of this stream's epoch, and
    /// the device frames played then.
    optr: Option<(u64, u64)>,
    /// Its output is gated off by SETTRIGGER (as far as the client knows).
    gated: bool,
    /// Sent a RELEASE: no more requests.
    closing: bool,
    /// A request of its file panicked: the file fails with EIO until closed.
    failed: bool,
}

struct Reference {
    c: usize,
    /// Bytes the reference's writes took, in all: the stream is its prefix.
    acked: usize,
    writing: bool,
}

/// Frames of the device's format in `bytes` that are not silent.
fn sounding(bytes: &[u8]) -> usize {
    bytes
        .chunks_exact(FRAME)
        .filter(|f| f.iter().any(|&b| b != 0))
        .count()
}

/// The reference stream: frame i is (i % 30000 + 1, -(i % 30000 + 1)), never
/// silent, so its frames are found in the mix by being non-zero.
fn reference_byte(i: usize) -> u8 {
    let frame = i / FRAME;
    let v = (frame % 30000 + 1) as i16;
    let s = if i % FRAME < 2 { v } else { -v };
    s.to_le_bytes()[i % 2]
}

struct World {
    rng: Rng,
    server: Server,
    sim: Sim,
    reply: Reply,
    clients: Vec<Client>,
    pending: BTreeMap<u64, Pending>,
    next_unique: u64,
    requests: u64,
    reference: Option<Reference>,
    /// Poll handles armed and not yet notified, by kh.
    armed: BTreeMap<u64, usize>,
    /// The client whose next request panics, and after how many calls to
    /// the engines.
    fault: Option<(usize, u32)>,
}

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

impl World {
    fn new(seed: u64, clients: usize, reference: bool) -> World {
        let nodes = [
            (NodeKind::Dsp, "dsp"),
            (NodeKind::Monitor, "monitor"),
            (NodeKind::Mixer, "mixer"),
            (NodeKind::Sndstat, "sndstat"),
        ]
        .iter()
        .map(|&(kind, name)| NodeDesc {
            kind,
            name: name.into(),
        })
        .collect();
        let settings = Settings {
            device_name: "sim".into(),
            device_names: Vec::new(),
            capture_name: "sim-capture".into(),
            can_record: true,
            // The sinc resampler in one schedule of 16: the core treats both
            // alike, but its delay is longer, and its mixing far costlier.
            quality: if seed % 16 == 5 {
                Quality::High
            } else {
                Quality::Fast
            },
            drain_grace: Duration::from_secs(2),
            save_mixer: seed.is_multiple_of(2),
        };
        let now = Instant::now();
        let mut w = World {
            rng: Rng(seed),
            server: Server::new(settings, nodes, MixerState::new()),
            sim: Sim {
                mixer: Mixer::new(DEV),
                position: Position::new(DEV.pcm.rate, now),
                xruns: 0,
                now,
                played_milli: 0,
                pace: 100,
                capture: None,
                capture_present: true,
                capture_gone: false,
                captured: 0,
                out: reference.then(Vec::new),
                output_missing: false,
                standin_frames: 0,
                absences: Vec::new(),
                panic_in: None,
            },
            reply: Reply::new(),
            clients: vec![Client::default(); clients],
            pending: BTreeMap::new(),
            next_unique: 2,
            requests: 0,
            reference: None,
            armed: BTreeMap::new(),
            fault: None,
        };
        quiet_injected_panics();
        for node in 0..4 {
            w.send(node, None, opcode::CUSE_INIT, &[0; 16], Kind::Init)
                .expect("CUSE_INIT");
        }
        if reference {
            w.reference = Some(Reference {
                c: 0,
                acked: 0,
                writing: false,
            });
        }
        w
    }

    fn is_reference(&self, c: usize) -> bool {
        self.reference.as_ref().is_some_and(|r| r.c == c)
    }

    /// Sends one request (as bytes, through the decoder) and checks what
    /// comes back.
    fn send(
        &mut self,
        node: usize,
        c: Option<usize>,
        op: u32,
        args: &[u8],
        kind: Kind,
    ) -> Result<u64, String> {
        let unique = self.next_unique;
        self.next_unique += 2;
        self.pending.insert(
            unique,
            Pending {
                c,
                node,
                kind,
                interrupted: false,
                faulted: false,
            },
        );
        if let Some((_, after)) = self.fault.filter(|&(fc, _)| c == Some(fc)) {
            self.fault = None;
            self.sim.panic_in = Some(after);
        }
        self.deliver(node, op, unique, args)?;
        Ok(unique)
    }

    fn deliver(&mut self, node: usize, op: u32, unique: u64, args: &[u8]) -> Check {
        let bytes = request_bytes(op, unique, args);
        let req = Request::parse(&bytes).map_err(|e| format!("our own request: {e}"))?;
        self.requests += 1;
        let (server, sim) = (&mut self.server, &mut self.sim);
        let panicked = catch_unwind(AssertUnwindSafe(|| server.handle(node, &req, sim))).is_err();
        // It may not have got that far: then nothing panicked.
        self.sim.panic_in = None;
        if panicked {
            if let Some(p) = self.pending.get_mut(&unique) {
                p.faulted = true;
            }
            self.recover()?;
        }
        self.collect()
    }

    /// After a panic: the core's recovery, as the runtime calls it.
    fn recover(&mut self) -> Check {
        let r = self.server.recover(&mut self.sim);
        if let (Some(fh), false) = (r.fh, r.closed) {
            let c = self
                .clients
                .iter()
                .position(|cl| cl.fh == Some(fh))
                .ok_or_else(|| format!("recover failed file {fh}, which no client has"))?;
            ensure!(!self.is_reference(c), "the reference client failed");
            self.clients[c].failed = true;
        }
        Ok(())
    }

    fn interrupt(&mut self, target: u64) -> Check {
        if let Some(p) = self.pending.get_mut(&target) {
            p.interrupted = true;
        }
        let node = self.pending.get(&target).map_or(DSP, |p| p.node);
        self.deliver(
            node,
            opcode::FUSE_INTERRUPT,
            target | 1,
            &target.to_ne_bytes(),
        )
    }

    /// Takes the core's answers and checks each as the kernel would.
    fn collect(&mut self) -> Check {
        let answers: Vec<(usize, Answer)> = self.server.take_answers().collect();
        for (node, a) in answers {
            self.check_answer(node, a)?;
        }
        Ok(())
    }

    fn check_answer(&mut self, node: usize, a: Answer) -> Check {
        // Encoded as the daemon sends it: a well-formed reply.
        let bytes = a.encode(&mut self.reply, ("sim", (0, 0))).to_vec();
        ensure!(bytes.len() >= abi::OUT_HEADER_SIZE, "reply too short");
        let len = u32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as usize;
        let error = i32::from_ne_bytes(bytes[4..8].try_into().unwrap());
        ensure!(len == bytes.len(), "reply length field wrong: {a:?}");
        ensure!(
            error <= 0 && error > -512 || a.unique().is_none(),
            "errno out of range: {a:?}"
        );
        let Some(unique) = a.unique() else {
            let Answer::Notify(kh) = a else {
                unreachable!()
            };
            ensure!(
                self.armed.remove(&kh).is_some(),
                "notification for poll handle {kh} that nobody armed"
            );
            return Ok(());
        };
        ensure!(unique & 1 == 0, "an INTERRUPT ({unique}) was answered");
        let p = self
            .pending
            .remove(&unique)
            .ok_or_else(|| format!("answer to {unique}, never asked or answered twice: {a:?}"))?;
        ensure!(
            p.node == node,
            "answer to {unique} on node {node}, asked on {}",
            p.node
        );
        let closing = p.c.is_some_and(|c| self.clients[c].closing);
        let failed = p.faulted || p.c.is_some_and(|c| self.clients[c].failed);
        match (p.kind, &a) {
            (Kind::Init, Answer::Init(_)) => {}
            // A request that panicked, and those of its file after it.
            (
                Kind::Write { .. } | Kind::Read { .. } | Kind::Ioctl { .. } | Kind::Poll { .. },
                Answer::Fail { fail: Fail::Io, .. },
            ) if failed => {}
            (
                Kind::Open {
                    c,
                    node,
                    acc,
                    nonblock,
                },
                Answer::Open { fh, .. },
            ) => {
                let cl = &mut self.clients[c];
                cl.opening = false;
                cl.fh = Some(*fh);
                cl.node = node;
                cl.acc = acc;
                cl.nonblock = nonblock;
            }
            (Kind::Open { c, .. }, Answer::Fail { fail, .. }) => {
                ensure!(
                    matches!(fail, Fail::Access | Fail::NoCapture)
                        || (p.faulted && *fail == Fail::Io),
                    "open failed with {fail:?}"
                );
                self.clients[c] = Client::default();
            }
            (Kind::Write { len, blocking }, Answer::Written { n, .. }) => {
                let n = *n as usize;
                ensure!(n <= len, "wrote {n} of {len}");
                ensure!(
                    !blocking || n == len || p.interrupted || closing,
                    "a blocking write returned {n} of {len} uninterrupted"
                );
                if let (Some(c), Some(r)) = (p.c, &mut self.reference) {
                    if r.c == c {
                        r.acked += n;
                        r.writing = false;
                    }
                }
            }
            (Kind::Write { blocking, .. }, Answer::Fail { fail, .. }) => {
                let ok = match fail {
                    Fail::WouldBlock => !blocking,
                    Fail::Interrupted => p.interrupted || closing,
                    // A write on /dev/mixer or /dev/sndstat.
                    Fail::Invalid => p.node == MIXER || p.node == SNDSTAT,
                    _ => false,
                };
                ensure!(ok, "write failed with {fail:?} (blocking {blocking})");
                if let (Some(c), Some(r)) = (p.c, &mut self.reference) {
                    if r.c == c {
                        r.writing = false;
                    }
                }
            }
            (Kind::Read { len, blocking }, Answer::Data { data, .. }) => {
                ensure!(data.len() <= len, "read {} of {len}", data.len());
                ensure!(
                    !blocking || data.len() == len || p.interrupted || closing || p.node == SNDSTAT,
                    "a blocking read returned {} of {len} uninterrupted",
                    data.len()
                );
            }
            (Kind::Read { blocking, .. }, Answer::Fail { fail, .. }) => {
                let ok = match fail {
                    Fail::WouldBlock => !blocking,
                    Fail::Interrupted => p.interrupted || closing,
                    // No capture stream (O_RDWR without one, or it failed).
                    Fail::Io => true,
                    Fail::Invalid => p.node == MIXER,
                    _ => false,
                };
                ensure!(ok, "read failed with {fail:?}");
            }
            (Kind::Ioctl { out_size, .. }, Answer::Ioctl { out, .. }) => {
                ensure!(
                    out.len() <= out_size as usize,
                    "ioctl output {} > {out_size}",
                    out.len()
                );
            }
            (Kind::Ioctl { sync, .. }, Answer::Fail { fail, .. }) => {
                ensure!(
                    !sync || matches!(fail, Fail::Interrupted | Fail::Io) || p.node >= MIXER,
                    "SYNC failed with {fail:?}"
                );
                ensure!(
                    !matches!(fail, Fail::Interrupted) || p.interrupted || closing,
                    "ioctl interrupted by nobody"
                );
            }
            (Kind::Poll { events }, Answer::Poll { unique, revents }) => {
                // Armed when nothing asked for was ready and notify was asked.
                if revents & events == 0 {
                    if let Some(c) = p.c {
                        self.armed.insert(*unique, c);
                    }
                }
            }
            (Kind::Poll { .. }, Answer::Fail { fail, .. }) => {
                ensure!(*fail == Fail::BadFile, "poll failed with {fail:?}")
            }
            (Kind::Release, a)
                if matches!(a, Answer::Done(_))
                    || (p.faulted && matches!(a, Answer::Fail { fail: Fail::Io, .. })) =>
            {
                if let (Some(c), Some(r)) = (p.c, &mut self.reference) {
                    if r.c == c {
                        // A trailing partial frame dies with the file; the
                        // next open starts on a frame.
                        r.acked = r.acked / FRAME * FRAME;
                    }
                }
                if let Some(c) = p.c {
                    let gone = self.clients[c].fh;
                    self.armed.retain(|_, &mut cc| cc != c);
                    if gone.is_some() {
                        self.clients[c] = Client::default();
                    }
                }
            }
            (k, a) => return Err(format!("{k:?} answered with {a:?}")),
        }
        Ok(())
    }

    /// Outstanding requests of client `c`.
    fn outstanding(&self, c: usize) -> Vec<u64> {
        self.pending
            .iter()
            .filter(|(_, p)| p.c == Some(c))
            .map(|(&u, _)| u)
            .collect()
    }

    fn run_step(&mut self, step: Step) -> Check {
        let n = self.clients.len();
        let fh_of = |w: &World, c: usize| -> Option<(u64, usize)> {
            let cl = &w.clients[c % n];
            (!cl.closing && !cl.opening).then_some(())?;
            cl.fh.map(|fh| (fh, cl.node))
        };
        match step {
            Step::Open {
                c,
                node,
                acc,
                nonblock,
            } => {
                let c = c as usize % n;
                let cl = &self.clients[c];
                if cl.fh.is_some() || cl.opening || cl.closing {
                    return Ok(());
                }
                let (node, acc) = if self.is_reference(c) {
                    (DSP, libc::O_WRONLY)
                } else {
                    (
                        node as usize,
                        [libc::O_RDONLY, libc::O_WRONLY, libc::O_RDWR][acc as usize % 3],
                    )
                };
                let nonblock = nonblock && !self.is_reference(c);
                let flags = acc | if nonblock { libc::O_NONBLOCK } else { 0 };
                self.clients[c].opening = true;
                let voices_before: Vec<usize> = self.sim.mixer.voices().map(|(i, _)| i).collect();
                let recs_before = self.recorder_ids();
                let kind = Kind::Open {
                    c,
                    node,
                    acc,
                    nonblock,
                };
                self.send(node, Some(c), opcode::FUSE_OPEN, &args::open(flags), kind)?;
                let cl = &mut self.clients[c];
                if cl.fh.is_some() {
                    cl.voice = self
                        .sim
                        .mixer
                        .voices()
                        .map(|(i, _)| i)
                        .find(|i| !voices_before.contains(i));
                    let recs_after = self.recorder_ids();
                    self.clients[c].rec = recs_after.into_iter().find(|r| !recs_before.contains(r));
                    if self.is_reference(c) {
                        // The device's own format: bit-exact into the mix.
                        self.ioctl(c, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32)?;
                        self.ioctl(c, SNDCTL_DSP_CHANNELS, 2)?;
                        self.ioctl(c, SNDCTL_DSP_SPEED, DEV.pcm.rate as i32)?;
                    } else if self.reference.is_some() && node == DSP {
                        // Silent clients play zeros in a format whose silence is zeros.
                        let fmt = self.rng.pick(ZERO_SILENCE) as i32;
                        self.ioctl(c, SNDCTL_DSP_SETFMT, fmt)?;
                    }
                }
            }
            Step::Write { c, len, nonblock } => {
                let Some((c, fh, node, blocking, flags)) =
                    self.io_target(c, libc::O_RDONLY, nonblock)
                else {
                    return Ok(());
                };
                let data: Vec<u8> = match &mut self.reference {
                    Some(r) if r.c == c => {
                        if r.writing {
                            return Ok(()); // one write at a time, as a program's thread does
                        }
                        r.writing = true;
                        (r.acked..r.acked + len as usize)
                            .map(reference_byte)
                            .collect()
                    }
                    Some(_) => vec![0; len as usize],
                    None => (0..len).map(|i| (i as u8).wrapping_mul(37)).collect(),
                };
                let kind = Kind::Write {
                    len: data.len(),
                    blocking,
                };
                self.send(
                    node,
                    Some(c),
                    opcode::FUSE_WRITE,
                    &args::write(fh, &data, flags),
                    kind,
                )?;
            }
            Step::Read { c, len, nonblock } => {
                let Some((c, fh, node, blocking, flags)) =
                    self.io_target(c, libc::O_WRONLY, nonblock)
                else {
                    return Ok(());
                };
                let kind = Kind::Read {
                    len: len as usize,
                    blocking,
                };
                self.send(
                    node,
                    Some(c),
                    opcode::FUSE_READ,
                    &args::read(fh, len as u32, flags),
                    kind,
                )?;
            }
            Step::Ioctl { c, cmd, arg } => {
                let c = c as usize % n;
                if self.reference.is_some() {
                    if self.is_reference(c) || ioc_type(cmd) == b'M' as u32 {
                        return Ok(()); // the reference plays untouched, at full volume
                    }
                    if cmd == SNDCTL_DSP_SETFMT {
                        let f = self.rng.pick(ZERO_SILENCE) as i32;
                        return self.ioctl(c, cmd, f);
                    }
                }
                self.ioctl(c, cmd, arg)?;
            }
            Step::Sync { c } => self.ioctl(c as usize % n, SNDCTL_DSP_SYNC, 0)?,
            Step::Post { c } => self.ioctl(c as usize % n, SNDCTL_DSP_POST, 0)?,
            Step::Reset { c } => {
                if !self.is_reference(c as usize % n) {
                    self.ioctl(c as usize % n, SNDCTL_DSP_RESET, 0)?;
                }
            }
            Step::Trigger { c, bits } => {
                let c = c as usize % n;
                if !self.is_reference(c) {
                    self.ioctl(c, SNDCTL_DSP_SETTRIGGER, bits)?;
                }
            }
            Step::Query { c } => self.query(c as usize % n)?,
            Step::Poll {
                c,
                schedule,
                events,
            } => {
                let Some((fh, node)) = fh_of(self, c as usize) else {
                    return Ok(());
                };
                let c = c as usize % n;
                let kh = self.next_unique; // the poll's own unique, as a handle
                let a = args::poll(fh, kh, schedule, events);
                let events = if schedule { events } else { u32::MAX };
                self.send(node, Some(c), opcode::FUSE_POLL, &a, Kind::Poll { events })?;
            }
            Step::Interrupt { c, which } => {
                let list = self.outstanding(c as usize % n);
                if !list.is_empty() {
                    self.interrupt(list[which as usize % list.len()])?;
                }
            }
            Step::StaleInterrupt { back } => {
                let target = self.next_unique.saturating_sub(2 * (back as u64 + 1));
                if !self.pending.contains_key(&target) {
                    self.interrupt(target)?;
                }
            }
            Step::Close { c } => self.close(c as usize % n, false)?,
            Step::Vanish { c } => self.close(c as usize % n, true)?,
            Step::Advance { micros } => {
                self.sim.advance(micros as u64);
                self.service()?;
            }
            Step::Pace { percent } => self.sim.pace = percent as u64,
            Step::CaptureGone { yes } => self.sim.capture_gone = yes,
            Step::CapturePresent { yes } => self.sim.capture_present = yes,
            Step::Fault { c, after } => {
                let c = c as usize % n;
                if !self.is_reference(c) {
                    self.fault = Some((c, after as u32));
                }
            }
            Step::FaultService => {
                self.sim.panic_in = Some(0);
                let (server, sim) = (&mut self.server, &mut self.sim);
                if catch_unwind(AssertUnwindSafe(|| server.service(sim))).is_err() {
                    self.recover()?;
                }
                self.sim.panic_in = None;
                self.collect()?;
                // The next pass (the next tick's) finds everything as before.
                self.service()?;
            }
            Step::OutputGone { yes } => {
                self.sim.output_gone(yes);
                self.check_sndstat()?;
                self.service()?;
            }
        }
        Ok(())
    }

    /// Client `c`'s file for a read or write: (client, fh, node, blocking,
    /// request flags); `None` if it has none open, or opened it `refused`
    /// (the kernel answers EBADF itself then).
    fn io_target(
        &self,
        c: u8,
        refused: i32,
        nonblock: bool,
    ) -> Option<(usize, u64, usize, bool, i32)> {
        let c = c as usize % self.clients.len();
        let cl = &self.clients[c];
        if cl.closing || cl.opening || cl.acc == refused {
            return None;
        }
        let flags = if nonblock { libc::O_NONBLOCK } else { 0 };
        Some((c, cl.fh?, cl.node, !(nonblock || cl.nonblock), flags))
    }

    fn recorder_ids(&self) -> Vec<(bool, usize)> {
        let mut v: Vec<(bool, usize)> = self
            .sim
            .mixer
            .monitors
            .iter()
            .map(|(i, _)| (false, i))
            .collect();
        if let Some(c) = &self.sim.capture {
            v.extend(c.recorders.iter().map(|(i, _)| (true, i)));
        }
        v
    }

    fn ioctl(&mut self, c: usize, cmd: u32, arg: i32) -> Check {
        let cl = &self.clients[c];
        let Some(fh) = cl.fh.filter(|_| !cl.closing && !cl.opening) else {
            return Ok(());
        };
        let node = cl.node;
        let mut argb = [0u8; 512];
        argb[..4].copy_from_slice(&arg.to_ne_bytes());
        match cmd {
            // Small group ids, so that files meet in groups; the mode from
            // the low bits (odd modes included).
            SNDCTL_DSP_SYNCGROUP => {
                argb[..4].copy_from_slice(&(arg >> 8 & 3).to_ne_bytes());
                argb[4..8].copy_from_slice(&(arg & 7).to_ne_bytes());
                self.clients[c].gated = true; // armed: finish() starts it
            }
            SNDCTL_DSP_SYNCSTART => argb[..4].copy_from_slice(&(arg & 3).to_ne_bytes()),
            _ => {}
        }
        let (input, out_size) = restricted_ioctl(cmd, &argb);
        let input = input.to_vec();
        if !matches!(
            cmd,
            SNDCTL_DSP_GETOPTR | SNDCTL_DSP_GETODELAY | SNDCTL_DSP_GETOSPACE | SNDCTL_DSP_SYNC
        ) {
            self.clients[c].optr = None; // a new epoch for the position checks
        }
        if cmd == SNDCTL_DSP_NONBLOCK && node <= MONITOR {
            self.clients[c].nonblock = true; // it sticks until close
        }
        if cmd == SNDCTL_DSP_SETTRIGGER {
            self.clients[c].gated = arg & PCM_ENABLE_OUTPUT as i32 == 0;
        }
        let kind = Kind::Ioctl {
            out_size,
            sync: cmd == SNDCTL_DSP_SYNC,
        };
        let a = args::ioctl(fh, cmd, &input, out_size);
        self.send(node, Some(c), opcode::FUSE_IOCTL, &a, kind)?;
        Ok(())
    }

    /// A request answered at once, on `node`: its answer (the others the
    /// core made meanwhile are checked as usual).
    fn request_now(&mut self, node: usize, op: u32, args: &[u8]) -> Result<Answer, String> {
        let unique = self.next_unique;
        self.next_unique += 2;
        let bytes = request_bytes(op, unique, args);
        let req = Request::parse(&bytes).map_err(|e| e.to_string())?;
        self.requests += 1;
        self.server.handle(node, &req, &mut self.sim);
        let mut ours = None;
        let answers: Vec<(usize, Answer)> = self.server.take_answers().collect();
        for (n, a) in answers {
            if a.unique() == Some(unique) {
                ensure!(n == node && ours.is_none(), "{a:?} on node {n}, or twice");
                ours = Some(a);
            } else {
                self.check_answer(n, a)?;
            }
        }
        ours.ok_or_else(|| format!("opcode {op} on node {node} was not answered at once"))
    }

    /// /dev/sndstat says the output device is missing exactly while it is,
    /// and counts the frames played to the stand-in.
    fn check_sndstat(&mut self) -> Check {
        let Answer::Open { fh, .. } =
            self.request_now(SNDSTAT, opcode::FUSE_OPEN, &args::open(libc::O_RDONLY))?
        else {
            return Err("sndstat did not open".into());
        };
        let read = self.request_now(
            SNDSTAT,
            opcode::FUSE_READ,
            &args::read(fh, 65536, libc::O_RDONLY),
        )?;
        let done = self.request_now(
            SNDSTAT,
            opcode::FUSE_RELEASE,
            &args::release(fh, libc::O_RDONLY),
        )?;
        ensure!(matches!(done, Answer::Done(_)), "sndstat close: {done:?}");
        let Answer::Data { data, .. } = read else {
            return Err(format!("sndstat read: {read:?}"));
        };
        let text = String::from_utf8_lossy(&data);
        let missing = text.contains("(missing: playing on a stand-in clock)");
        ensure!(
            missing == self.sim.output_missing,
            "sndstat says missing: {missing}, the device is missing: {}:\n{text}",
            self.sim.output_missing
        );
        let lost = self.sim.standin_frames;
        ensure!(
            lost == 0
                || text.contains(&format!(
                    "Lost while the device was missing: {lost} frames played to the stand-in clock"
                )),
            "sndstat does not count the {lost} lost frames:\n{text}"
        );
        Ok(())
    }

    /// An ioctl answered at once; its output.
    fn ask(&mut self, c: usize, cmd: u32, arg: i32) -> Result<Option<Vec<u8>>, String> {
        let cl = &self.clients[c];
        let Some(fh) = cl.fh else { return Ok(None) };
        let node = cl.node;
        let argb = arg.to_ne_bytes();
        let (input, out_size) = restricted_ioctl(cmd, &argb);
        let unique = self.next_unique;
        self.next_unique += 2;
        let bytes = request_bytes(
            opcode::FUSE_IOCTL,
            unique,
            &args::ioctl(fh, cmd, input, out_size),
        );
        let req = Request::parse(&bytes).map_err(|e| e.to_string())?;
        self.requests += 1;
        self.server.handle(node, &req, &mut self.sim);
        let mut out = None;
        let answers: Vec<(usize, Answer)> = self.server.take_answers().collect();
        for (n, a) in answers {
            match a {
                Answer::Ioctl {
                    unique: u, out: o, ..
                } if u == unique => out = Some(o),
                Answer::Fail { unique: u, .. } if u == unique => {}
                a => self.check_answer(n, a)?,
            }
        }
        Ok(out)
    }

    /// The position calls, checked against the device and each other.
    fn query(&mut self, c: usize) -> Check {
        let cl = &self.clients[c];
        if cl.fh.is_none()
            || cl.closing
            || cl.opening
            || cl.failed
            || cl.node != DSP
            || cl.acc == libc::O_RDONLY
        {
            return Ok(());
        }
        let int = |o: &[u8], i: usize| i32::from_ne_bytes(o[i * 4..i * 4 + 4].try_into().unwrap());
        let fmt = self
            .ask(c, SNDCTL_DSP_SETFMT, 0)?
            .ok_or("SETFMT query failed")?;
        let channels = self
            .ask(c, SNDCTL_DSP_CHANNELS, 0)?
            .ok_or("CHANNELS query")?;
        let rate = self.ask(c, SNDCTL_DSP_SPEED, 0)?.ok_or("SPEED query")?;
        let (fmt, channels, rate) = (int(&fmt, 0), int(&channels, 0) as u64, int(&rate, 0) as u64);
        let bps: u64 = match fmt as u32 {
            AFMT_U8 | AFMT_S8 | AFMT_MU_LAW | AFMT_A_LAW => 1,
            AFMT_S16_LE | AFMT_S16_BE | AFMT_U16_LE | AFMT_U16_BE => 2,
            AFMT_S24_PACKED => 3,
            _ => 4,
        };
        let fb = bps * channels;
        let space = self.ask(c, SNDCTL_DSP_GETOSPACE, 0)?.ok_or("GETOSPACE")?;
        let (frags, total, fragsize, bytes) = (
            int(&space, 0) as u64,
            int(&space, 1) as u64,
            int(&space, 2) as u64,
            int(&space, 3) as u64,
        );
        let ring = (total + 1) * fragsize;
        ensure!(
            bytes <= ring && frags == bytes / fragsize,
            "GETOSPACE {space:?}"
        );
        let odelay = int(
            &self.ask(c, SNDCTL_DSP_GETODELAY, 0)?.ok_or("GETODELAY")?,
            0,
        ) as u64;
        // In flight: at most the device buffer, a period and the resampler's delay.
        let in_flight = (DEV.buffer_frames as u64 + 2 * PERIOD + 512) * rate.div_ceil(RATE) * fb;
        ensure!(
            odelay <= ring + in_flight,
            "GETODELAY {odelay} beyond the buffer ({ring} + {in_flight})"
        );
        let optr = self.ask(c, SNDCTL_DSP_GETOPTR, 0)?.ok_or("GETOPTR")?;
        let played = int(&optr, 0) as u32 as u64;
        let dev_played = self.sim.position.played(self.sim.now);
        if let Some((before, dev_before)) = self.clients[c].optr {
            let moved = played.wrapping_sub(before) as u32;
            ensure!(
                moved < 1 << 31,
                "GETOPTR ran backwards: {before} then {played}"
            );
            // No faster than the device (plus a frame of rounding per side).
            let dev_moved = dev_played - dev_before;
            let limit = (dev_moved * rate).div_ceil(RATE) * fb + 2 * fb;
            ensure!(
                moved as u64 <= limit,
                "GETOPTR moved {moved} bytes while the device played {dev_moved} frames"
            );
        }
        self.clients[c].optr = Some((played, dev_played));
        Ok(())
    }

    fn close(&mut self, c: usize, vanish: bool) -> Check {
        let cl = &self.clients[c];
        let Some(fh) = cl.fh.filter(|_| !cl.closing && !cl.opening) else {
            return Ok(());
        };
        let (node, nonblock) = (cl.node, cl.nonblock);
        if vanish {
            for u in self.outstanding(c) {
                self.interrupt(u)?;
            }
        }
        self.clients[c].closing = true;
        let flags = if nonblock { libc::O_NONBLOCK } else { 0 };
        self.send(
            node,
            Some(c),
            opcode::FUSE_RELEASE,
            &args::release(fh, flags),
            Kind::Release,
        )?;
        Ok(())
    }

    fn service(&mut self) -> Check {
        self.server.service(&mut self.sim);
        self.collect()?;
        self.check_parked()
    }

    /// Right after a service pass nothing waits for what has already happened.
    fn check_parked(&mut self) -> Check {
        let played = self.sim.position.played(self.sim.now);
        for (&u, p) in &self.pending {
            let Some(c) = p.c else { continue };
            let cl = &self.clients[c];
            let voice = cl.voice.and_then(|id| self.sim.mixer.voice(id));
            match p.kind {
                Kind::Write { .. } => {
                    if let Some(v) = voice {
                        ensure!(
                            v.space() == 0,
                            "write {u} parked with {} bytes free",
                            v.space()
                        );
                    }
                }
                Kind::Read { .. } => {
                    let r = match cl.rec {
                        Some((false, id)) => self.sim.mixer.monitors.get(id),
                        Some((true, id)) => self
                            .sim
                            .capture
                            .as_ref()
                            .and_then(|cap| cap.recorders.get(id)),
                        None => None,
                    };
                    if let Some(r) = r {
                        ensure!(
                            r.available() == 0,
                            "read {u} parked with {} bytes recorded",
                            r.available()
                        );
                    }
                }
                Kind::Ioctl { sync: true, .. } | Kind::Release => {
                    if let Some(v) = voice {
                        ensure!(
                            !v.drained(played) && v.trigger(),
                            "{:?} {u} parked on a stream that has played out (or is gated off)",
                            p.kind
                        );
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every client closes, gated outputs enabled first and reads
    /// interrupted, at full device pace; everything must then be answered
    /// within the time its queue takes to play, and no file left open.
    fn quiesce(&mut self) -> Check {
        self.sim.pace = 100;
        self.sim.capture_present = true;
        self.sim.capture_gone = false;
        for c in 0..self.clients.len() {
            if self.clients[c].gated {
                self.ioctl(c, SNDCTL_DSP_SETTRIGGER, PCM_ENABLE_OUTPUT as i32)?;
            }
        }
        // Interrupt reads (recording never ends by itself), then close all.
        let reads: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| matches!(p.kind, Kind::Read { .. }))
            .map(|(&u, _)| u)
            .collect();
        for u in reads {
            self.interrupt(u)?;
        }
        for c in 0..self.clients.len() {
            self.close(c, false)?;
        }
        // A close plays out what its file queued, up to its deadline: the
        // queue's own length plus the device buffer and the drain grace. The
        // longest queue (1 MiB at 1000 Hz mono U8) lasts 1048 s, so the wait
        // is bounded by the core's own deadline, not by a guess: everything
        // must be answered within a second past the last one.
        let start = self.sim.now;
        let mut limit = start + Duration::from_secs(5);
        while !self.pending.is_empty() && self.sim.now < limit {
            if let Some(d) = self.server.next_deadline() {
                limit = limit.max(d + Duration::from_secs(1));
            }
            self.sim.advance(10_000);
            self.service()?;
        }
        let left: Vec<_> = self.pending.iter().collect();
        ensure!(left.is_empty(), "never answered: {left:?}");
        ensure!(self.server.open_files() == 0, "files left open");
        // Nothing left in the engines either, panics or not.
        let voices = self.sim.mixer.voices().count();
        let monitors = self.sim.mixer.monitors.iter().count();
        ensure!(
            voices == 0 && monitors == 0 && self.sim.capture.is_none(),
            "left in the engines with every file closed: {voices} voices, {monitors} monitor readers, capture open: {}",
            self.sim.capture.is_some()
        );
        Ok(())
    }

    /// Ends a schedule: quiesce, shut the daemon down, and check the
    /// reference stream in the mix.
    fn finish(&mut self) -> Check {
        self.quiesce()?;
        self.server.shutdown();
        self.collect()?;
        if let (Some(r), Some(out)) = (&self.reference, &self.sim.out) {
            // What the device played: the reference, complete and in order
            // outside the device's absences; each absence swallows a whole
            // stretch of it (the stand-in takes it at the device's rate and
            // the sound is lost, never played late).
            let mut heard: Vec<u8> = Vec::new();
            let mut skipped = Vec::new(); // (where in `heard`, frames lost)
            let mut at = 0;
            for &(pos, lost) in self.sim.absences.iter().chain([(out.len(), 0)].iter()) {
                heard.extend(
                    out[at..pos]
                        .chunks_exact(FRAME)
                        .filter(|f| f.iter().any(|&b| b != 0))
                        .flatten(),
                );
                skipped.push((heard.len(), lost));
                at = pos;
            }
            let whole = r.acked / FRAME * FRAME;
            let mut expect = Vec::with_capacity(whole);
            let mut next = 0; // the reference byte expected next
            for &(pos, lost) in &skipped {
                let n = pos - expect.len();
                expect.extend((next..next + n).map(reference_byte));
                next += n + lost * FRAME;
            }
            if heard != expect || next != whole {
                let at = heard.iter().zip(&expect).position(|(a, b)| a != b);
                return Err(format!(
                    "the reference stream reached the device as {} bytes and {} were lost while it was away, {} were written; first difference at {at:?}",
                    heard.len(),
                    skipped.iter().map(|&(_, lost)| lost * FRAME).sum::<usize>(),
                    whole
                ));
            }
        }
        Ok(())
    }
}

/// Runs one schedule; the number of requests it made, or the failure (with
/// the index of the step it happened at).
fn run(seed: u64, steps: &[Step], clients: usize, reference: bool) -> Result<u64, (usize, String)> {
    let mut w = World::new(seed, clients, reference);
    let result = catch_unwind(AssertUnwindSafe(|| {
        for (i, &s) in steps.iter().enumerate() {
            w.run_step(s).map_err(|e| (i, e))?;
        }
        w.finish().map_err(|e| (steps.len(), e))?;
        Ok(w.requests)
    }));
    match result {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err((usize::MAX, format!("panic: {msg}")))
        }
    }
}

/// Removes steps while the schedule still fails (delta debugging).
fn shrink(
    seed: u64,
    mut steps: Vec<Step>,
    clients: usize,
    reference: bool,
    kind: &str,
) -> Vec<Step> {
    let same = |r: Result<u64, (usize, String)>| r.is_err_and(|(_, m)| failure_kind(&m) == kind);
    let mut chunk = steps.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < steps.len() {
            let mut shorter = steps.clone();
            shorter.drain(i..(i + chunk).min(steps.len()));
            if same(run(seed, &shorter, clients, reference)) {
                steps = shorter;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    steps
}

/// A failure message without its numbers: what shrinking must keep.
fn failure_kind(msg: &str) -> String {
    msg.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// The shape of schedule `seed`: clients, steps, whether it has a reference.
fn plan(seed: u64) -> (usize, Vec<Step>, bool) {
    let mut rng = Rng(seed ^ 0x5eed);
    let clients = rng.pick(&[2, 4, 8, 16, 64]);
    let steps = rng.pick(&[200, 800, 2000]);
    let reference = rng.chance(50);
    (clients, generate(&mut rng, steps, clients as u8), reference)
}

fn check_seed(seed: u64) -> u64 {
    let (clients, steps, reference) = plan(seed);
    match run(seed, &steps, clients, reference) {
        Ok(n) => n,
        Err((at, msg)) => {
            let hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let small = shrink(seed, steps, clients, reference, &failure_kind(&msg));
            std::panic::set_hook(hook);
            let again = run(seed, &small, clients, reference).err();
            panic!(
                "seed {seed} failed at step {at}: {msg}\n\
                 re-run: OSSD_SIM_SEED={seed} cargo test --test simulation\n\
                 shortest failing schedule ({} steps, {clients} clients, reference {reference}), failing with {again:?}:\n{small:#?}",
                small.len()
            );
        }
    }
}

#[test]
fn simulation_schedules() {
    if let Some(seed) = std::env::var("OSSD_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let n = check_seed(seed);
        println!("seed {seed}: {n} requests, every invariant held");
        return;
    }
    let target: u64 = std::env::var("OSSD_SIM_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    // OSSD_SIM_THREADS=n splits the seeds among n threads (thread t runs
    // seeds t, t + n, ...); each schedule stays single-threaded.
    let threads: u64 = std::env::var("OSSD_SIM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let t0 = Instant::now();
    let counts: Vec<(u64, u64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let (mut requests, mut schedules) = (0u64, 0u64);
                    while requests < target.div_ceil(threads) {
                        requests += check_seed(t + schedules * threads);
                        schedules += 1;
                    }
                    (requests, schedules)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a simulation thread failed"))
            .collect()
    });
    let (requests, schedules) = counts.iter().fold((0, 0), |(r, n), &(a, b)| (r + a, n + b));
    println!(
        "simulation: {requests} requests in {schedules} schedules, {:.1} s, every invariant held",
        t0.elapsed().as_secs_f64()
    );
}

/// The same schedule, run to its end again and again, leaves the heap where
/// it was: nothing the core keeps grows with the number of steps.
#[test]
fn memory_does_not_grow_with_steps() {
    let mut rng = Rng(77);
    let steps = generate(&mut rng, 3000, 16);
    let mut w = World::new(77, 16, false);
    let mut marks = Vec::new();
    for round in 0..12 {
        for &s in &steps {
            w.run_step(s).unwrap();
        }
        // Quiet point: everything closed and answered.
        w.quiesce().unwrap();
        assert_eq!(w.server.open_files(), 0);
        if round >= 2 {
            marks.push(live_bytes());
        }
    }
    let (first, last) = (marks[0], *marks.last().unwrap());
    assert!(
        last - first < 64 * 1024,
        "the heap grew from {first} to {last} bytes over {} rounds",
        marks.len()
    );
}
