//! One open file of /dev/dsp: its OSS settings and what each ioctl does to
//! them. A pure state machine: the daemon hands it the file's [`Voice`] (the
//! buffer the engine reads) and the device's play position, and carries out
//! the [`Outcome`] (reply now, or park until drained).
//!
//! Where the OSS documents leave a choice, the OSS 4 developer manual's page
//! for that ioctl decides, and the choice is noted at the arm that makes it.

use crate::mix::record::RecVoice;
use crate::mix::Voice;
use crate::oss::soundcard::*;
use crate::pcm::format::{self, SampleFormat};
use crate::pcm::{DeviceConfig, PcmFormat};
use std::time::{Duration, Instant};

/// Rates a stream may ask for; anything else is clamped into this range.
pub const MIN_RATE: u32 = 1000;
pub const MAX_RATE: u32 = 192_000;
pub const MAX_CHANNELS: u32 = 8;
/// SETFRAGMENT bounds: 16 bytes to 64 KiB per fragment, 2 to 512 fragments,
/// and at most 1 MiB in all.
const MIN_FRAG_SHIFT: u32 = 4;
const MAX_FRAG_SHIFT: u32 = 16;
const MIN_FRAGS: usize = 2;
const MAX_FRAGS: usize = 512;
const MAX_BUFFER: usize = 1 << 20;
/// Fragments of the default buffer (OSS 4's vmix keeps 4 queued).
const DEFAULT_FRAGS: usize = 4;
/// A stream with the default buffer that starves twice within this long
/// gets twice the fragments ([`Dsp::note_starved`])...
const STARVE_WINDOW: Duration = Duration::from_secs(2);
/// ...up to this much of its sound.
const MAX_SLACK: Duration = Duration::from_millis(250);

/// What the daemon must do after an ioctl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Answer now with this return value and these bytes (the ioctl's output).
    Reply { result: i32, out: Vec<u8> },
    /// Answer with this errno.
    Error(i32),
    /// Answer once the stream has drained (SYNC).
    ParkUntilDrained,
}

impl Outcome {
    fn ok() -> Outcome {
        Outcome::Reply {
            result: 0,
            out: Vec::new(),
        }
    }
    fn int(v: i32) -> Outcome {
        Outcome::bytes(v.to_ne_bytes().to_vec())
    }
    fn bytes(out: Vec<u8>) -> Outcome {
        Outcome::Reply { result: 0, out }
    }
}

/// What an ioctl did: the answer, and whether the file's streams must be
/// rebuilt because its format, rate, channels or fragments changed (the
/// caller builds new voices with [`Dsp::make_voice`] and
/// [`Dsp::make_rec_voice`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub outcome: Outcome,
    pub rebuild: bool,
}

/// The streams of one open file, as far as it has them.
#[derive(Debug, Default)]
pub struct Streams<'a> {
    pub play: Option<&'a mut Voice>,
    pub rec: Option<&'a mut RecVoice>,
}

/// What an ioctl may need to know beyond its own file.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// Device frames played so far.
    pub played: u64,
    /// The device (for SYSINFO, AUDIOINFO, ENGINEINFO).
    pub info: &'a DeviceInfo,
    /// The mixer's recording level.
    pub igain: Volume,
}

/// The device as the OSS information calls describe it.
#[derive(Debug, Clone, Default)]
pub struct DeviceInfo {
    /// The ALSA PCM played to.
    pub alsa_name: String,
    /// The node, e.g. "/dev/dsp".
    pub devnode: String,
    /// Files of the node open now.
    pub open_files: usize,
    /// A capture device is configured: recording and duplex are offered.
    pub has_capture: bool,
    /// A /dev/mixer node is served.
    pub has_mixer: bool,
}

/// A file's playback volume, OSS style: left | right << 8, each 0..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volume {
    pub left: u8,
    pub right: u8,
}

impl Volume {
    pub const FULL: Volume = Volume {
        left: 100,
        right: 100,
    };

    /// Decodes `left | right << 8`, clamping each side to 100 (manual: values
    /// above the maximum are clamped, the call does not fail).
    pub fn from_oss(v: i32) -> Volume {
        let side = |x: i32| (x & 0xff).min(100) as u8;
        Volume {
            left: side(v),
            right: side(v >> 8),
        }
    }

    pub fn to_oss(self) -> i32 {
        self.left as i32 | (self.right as i32) << 8
    }

    /// Linear gain for a side's 0..=100 value: 100 is exactly 1.0 (so full
    /// volume stays bit-exact), 0 is silence, and in between a 50 dB
    /// logarithmic taper, so each step sounds about as large as the next.
    pub fn gain(side: u8) -> f64 {
        match side {
            0 => 0.0,
            100.. => 1.0,
            v => 10f64.powf((v as f64 - 100.0) * 0.5 / 20.0),
        }
    }

    /// Gains for `channels` device channels: even channels take the left
    /// value, odd ones the right (mono takes the louder).
    pub fn gains(self, channels: usize) -> Vec<f64> {
        if channels == 1 {
            return vec![Volume::gain(self.left.max(self.right))];
        }
        (0..channels)
            .map(|c| Volume::gain(if c % 2 == 0 { self.left } else { self.right }))
            .collect()
    }
}

/// One open file's OSS state.
#[derive(Debug, Clone)]
pub struct Dsp {
    dev: DeviceConfig,
    /// The output device's period as of the open (device frames): a
    /// multiple of the mix block once overload has raised it. The default
    /// fragment holds one of them.
    device_period: u32,
    pub fmt: PcmFormat,
    /// The SETFRAGMENT request, if any (applied whenever the buffer is rebuilt).
    frag_request: Option<(usize, usize)>,
    /// SUBDIVIDE: the default fragment is divided by this (1, 2 or 4).
    subdivide: usize,
    /// The default buffer has this many times its fragments: it doubled
    /// each time its program could not keep it from running dry.
    slack: usize,
    /// The voice's starved count as last seen, and when the last one that
    /// did not double the buffer came.
    starved_seen: u32,
    last_starve: Option<Instant>,
    /// Set by SNDCTL_DSP_NONBLOCK; it sticks until close.
    pub nonblock: bool,
    /// A write or read has happened: the buffer geometry is fixed from here.
    io_started: bool,
    /// The format, channels, rate or fragments changed during this ioctl
    /// (returned as [`Handled::rebuild`]).
    dirty: bool,
    /// SETPLAYVOL.
    pub play_volume: Volume,
    /// SETRECVOL (kept for recording; reported back as set).
    pub rec_volume: Volume,
    /// LOW_WATER: free bytes that make the file writable for poll.
    low_water: Option<usize>,
    /// Underruns and overruns already reported by GETERROR (it reports what is new).
    underruns_reported: u32,
    overruns_reported: u32,
    /// Fragments reported recorded by the last GETIPTR.
    iptr_blocks_seen: u64,
    /// Fragments reported played by the last GETOPTR (its `blocks` counts from here).
    optr_blocks_seen: u64,
    /// SETNAME: what the program calls itself (shown in /dev/sndstat).
    pub name: String,
    /// The trigger bits (PCM_ENABLE_INPUT, PCM_ENABLE_OUTPUT): enables.
    enable: u32,
}

impl Dsp {
    /// A fresh open: U8, mono, 8000 Hz, as OSS has always been.
    pub fn new(dev: DeviceConfig) -> Dsp {
        Dsp {
            dev,
            device_period: dev.period_frames,
            fmt: PcmFormat {
                sample: SampleFormat::U8,
                channels: 1,
                rate: 8000,
            },
            frag_request: None,
            subdivide: 1,
            slack: 1,
            starved_seen: 0,
            last_starve: None,
            nonblock: false,
            io_started: false,
            dirty: false,
            play_volume: Volume::FULL,
            rec_volume: Volume::FULL,
            low_water: None,
            underruns_reported: 0,
            overruns_reported: 0,
            iptr_blocks_seen: 0,
            optr_blocks_seen: 0,
            name: String::new(),
            enable: PCM_ENABLE_INPUT | PCM_ENABLE_OUTPUT,
        }
    }

    /// The trigger bits (what GETTRIGGER reports, before masking with the
    /// file's directions).
    pub fn trigger_bits(&self) -> u32 {
        self.enable
    }

    /// The trigger bit `bit` (PCM_ENABLE_INPUT or PCM_ENABLE_OUTPUT) is set:
    /// that direction may run (a read starts recording only then).
    pub fn enabled(&self, bit: u32) -> bool {
        self.enable & bit != 0
    }

    /// SETTRIGGER (and a sync group's arming and start): output enabled or
    /// gated off; recording started, or halted.
    pub fn set_trigger(&mut self, streams: Streams<'_>, bits: u32) {
        self.enable = bits & (PCM_ENABLE_INPUT | PCM_ENABLE_OUTPUT);
        if let Some(p) = streams.play {
            p.set_trigger(self.enabled(PCM_ENABLE_OUTPUT));
        }
        if let Some(r) = streams.rec {
            if self.enabled(PCM_ENABLE_INPUT) {
                r.start();
            } else {
                r.halt();
            }
        }
    }

    fn halt_output(&mut self, play: Option<&mut Voice>, played: u64) {
        self.enable |= PCM_ENABLE_OUTPUT;
        if let Some(v) = play {
            v.reset(played);
        }
    }

    fn halt_input(&mut self, rec: Option<&mut RecVoice>) {
        self.enable |= PCM_ENABLE_INPUT;
        if let Some(r) = rec {
            r.halt();
        }
    }

    /// The output device plays periods of `frames` (more than the mix
    /// block when overload raised them): the default fragment holds one, so
    /// that a client that keeps its buffer full is not starved while the
    /// device is fed a whole period at a time. Set at the open.
    pub fn set_device_period(&mut self, frames: u32) {
        self.device_period = frames.max(self.dev.period_frames);
    }

    /// Client frames that make `dev_frames` device frames.
    fn in_frames(&self, dev_frames: u32) -> usize {
        (dev_frames as u64 * self.fmt.rate as u64).div_ceil(self.dev.pcm.rate as u64) as usize
    }

    /// Client frames that make one mix block.
    fn period_in_frames(&self) -> usize {
        self.in_frames(self.dev.period_frames)
    }

    /// (fragment size, fragment count) for the current format. The default is
    /// the smallest power of two that holds one device period of this stream
    /// (divided by SUBDIVIDE), four of them (eight while overload has raised
    /// the device's period; twice that for each time the stream starved,
    /// see [`Dsp::note_starved`]); a SETFRAGMENT request wins within
    /// bounds, but the buffer is never smaller than two mix blocks of this
    /// stream (plus the resampler's few frames of look-ahead), or the engine
    /// could not be fed.
    pub fn geometry(&self) -> (usize, usize) {
        let fb = self.fmt.frame_bytes();
        let period_in = self.period_in_frames();
        let (size, count) = match self.frag_request {
            Some((size, count)) => (size, count),
            None => (
                ((self.in_frames(self.device_period) * fb).next_power_of_two() / self.subdivide)
                    .clamp(1 << MIN_FRAG_SHIFT, 1 << MAX_FRAG_SHIFT),
                // Overload raised the device's period: the machine is slow,
                // and a client needs more slack too (twice the fragments).
                DEFAULT_FRAGS
                    * self.subdivide
                    * self.slack
                    * if self.device_period > self.dev.period_frames {
                        2
                    } else {
                        1
                    },
            ),
        };
        let needed = (2 * (period_in + 8) * fb).div_ceil(size);
        (size, count.clamp(MIN_FRAGS, MAX_FRAGS).max(needed))
    }

    /// Ring bytes for [`Voice::new`].
    pub fn buffer_bytes(&self) -> usize {
        let (size, count) = self.geometry();
        size * count
    }

    /// The voice's count of starved underruns (it ran dry although the
    /// program had kept it topped up: this machine wakes the program later
    /// than its buffer lasts) is now `starved`. Twice within two seconds
    /// (`STARVE_WINDOW`) doubles the default buffer's fragments, up to
    /// 250 ms of sound (`MAX_SLACK`); returns whether it did (the voice's
    /// ring is then to grow to [`Dsp::buffer_bytes`]). The fragment size
    /// stays, so a program that writes a fragment at a time goes on as
    /// before and GETOSPACE shows more fragments. A program that chose its
    /// buffer with SETFRAGMENT keeps it.
    pub fn note_starved(&mut self, starved: u32, now: Instant) -> bool {
        let new = starved.wrapping_sub(self.starved_seen);
        self.starved_seen = starved;
        if new == 0 || self.frag_request.is_some() {
            return false;
        }
        let again = new >= 2
            || self
                .last_starve
                .is_some_and(|t| now.saturating_duration_since(t) <= STARVE_WINDOW);
        if !again {
            self.last_starve = Some(now);
            return false;
        }
        self.last_starve = None;
        let before = self.buffer_bytes();
        self.slack *= 2;
        let after = self.buffer_bytes();
        let limit =
            (MAX_SLACK.as_secs_f64() * f64::from(self.fmt.rate)) as usize * self.fmt.frame_bytes();
        if after <= before || after > limit.min(MAX_BUFFER) {
            self.slack /= 2;
            return false;
        }
        true
    }

    /// The starved count [`Dsp::note_starved`] last saw.
    pub fn starved_seen(&self) -> u32 {
        self.starved_seen
    }

    /// Milliseconds of sound `bytes` of this stream hold.
    pub fn bytes_ms(&self, bytes: usize) -> f64 {
        bytes as f64 * 1000.0 / (f64::from(self.fmt.rate) * self.fmt.frame_bytes() as f64)
    }

    /// Builds the voice this file's settings call for.
    pub fn make_voice(&self, quality: crate::mix::Quality) -> Voice {
        let mut v = Voice::new(self.fmt, &self.dev, self.buffer_bytes(), quality);
        v.set_gains(self.play_volume.gains(self.dev.pcm.channels as usize));
        v.set_trigger(self.enabled(PCM_ENABLE_OUTPUT));
        v
    }

    /// Builds the recording voice this file's settings call for; `igain` is
    /// the mixer's recording level.
    /// `dev` is the device recorded from (the capture card, or the playback
    /// device for the monitor).
    pub fn make_rec_voice(
        &self,
        dev: &DeviceConfig,
        quality: crate::mix::Quality,
        igain: Volume,
    ) -> RecVoice {
        let mut r = RecVoice::new(self.fmt, dev, self.buffer_bytes(), quality);
        r.set_gains(self.rec_gains(igain));
        r
    }

    /// This file's recording gains (one per channel of its format): its
    /// SETRECVOL times the mixer's level.
    pub fn rec_gains(&self, igain: Volume) -> Vec<f64> {
        let channels = self.fmt.channels as usize;
        let mine = self.rec_volume.gains(channels);
        let master = igain.gains(channels);
        mine.iter().zip(master).map(|(a, b)| a * b).collect()
    }

    /// Free bytes that make the file writable for poll/select: one fragment,
    /// or LOW_WATER.
    pub fn low_water(&self) -> usize {
        self.low_water.unwrap_or(self.geometry().0)
    }

    /// Device frames still to play of what this voice has handed to the engine.
    fn in_flight_frames(&self, voice: &Voice, played: u64) -> u64 {
        let dev_frames = voice.sound_end().saturating_sub(played);
        (dev_frames * self.fmt.rate as u64).div_ceil(self.dev.pcm.rate as u64)
    }

    /// Bytes not yet audible: queued in the ring, plus what the engine has
    /// taken but the device has not played yet (in this stream's bytes).
    pub fn odelay(&self, voice: &Voice, played: u64) -> u64 {
        let in_flight = self.in_flight_frames(voice, played) * self.fmt.frame_bytes() as u64;
        voice.queued() as u64 + in_flight.min(voice.consumed_bytes())
    }

    /// Bytes of this stream that the device has played.
    pub fn played_bytes(&self, voice: &Voice, played: u64) -> u64 {
        voice.played_bytes(played)
    }

    /// The first read or write: the buffer geometry is fixed from here.
    pub fn start_io(&mut self) {
        self.io_started = true;
    }

    /// Handles one ioctl. `input` is what the kernel copied in (restricted
    /// mode: the size encoded in `cmd`).
    pub fn ioctl(&mut self, streams: Streams<'_>, env: Env<'_>, cmd: u32, input: &[u8]) -> Handled {
        self.dirty = false;
        let outcome = self.apply(streams, env, cmd, input);
        Handled {
            outcome,
            rebuild: std::mem::take(&mut self.dirty),
        }
    }

    fn apply(&mut self, streams: Streams<'_>, env: Env<'_>, cmd: u32, input: &[u8]) -> Outcome {
        let Streams { mut play, mut rec } = streams;
        // The playback (or recording) stream, or EINVAL on a file opened
        // without that direction (the manual's answer for a missing direction).
        macro_rules! play {
            () => {
                match play.as_deref_mut() {
                    Some(v) => v,
                    None => return Outcome::Error(libc::EINVAL),
                }
            };
        }
        macro_rules! rec {
            () => {
                match rec.as_deref_mut() {
                    Some(v) => v,
                    None => return Outcome::Error(libc::EINVAL),
                }
            };
        }
        let int_arg = input
            .get(..4)
            .map(|b| i32::from_ne_bytes(b.try_into().expect("4 bytes")));
        macro_rules! arg {
            () => {
                match int_arg {
                    Some(v) => v,
                    None => return Outcome::Error(libc::EINVAL),
                }
            };
        }
        match cmd {
            // --- format, channels, rate: never fail for a value; write back the choice.
            SNDCTL_DSP_SETFMT => {
                let v = arg!();
                // AFMT_QUERY (0) only reports; so does a negative value (not a format).
                if v > 0 {
                    let f = SampleFormat::from_afmt(v as u32)
                        .unwrap_or_else(|| format::nearest_supported(v as u32));
                    self.set_fmt(PcmFormat {
                        sample: f,
                        ..self.fmt
                    });
                }
                Outcome::int(self.fmt.sample.afmt() as i32)
            }
            SNDCTL_DSP_GETFMTS => Outcome::int(format::SUPPORTED_AFMTS as i32),
            SNDCTL_DSP_CHANNELS => {
                let v = arg!();
                // 0 or negative: nothing to set; report the current count.
                if v > 0 {
                    let channels = (v as u32).clamp(1, MAX_CHANNELS);
                    self.set_fmt(PcmFormat {
                        channels,
                        ..self.fmt
                    });
                }
                Outcome::int(self.fmt.channels as i32)
            }
            SNDCTL_DSP_STEREO => {
                let channels = if arg!() != 0 { 2 } else { 1 };
                self.set_fmt(PcmFormat {
                    channels,
                    ..self.fmt
                });
                Outcome::int((self.fmt.channels == 2) as i32)
            }
            SNDCTL_DSP_SPEED => {
                let v = arg!();
                // 0 or negative: report the current rate (the manual's "query").
                if v > 0 {
                    let rate = (v as u32).clamp(MIN_RATE, MAX_RATE);
                    self.set_fmt(PcmFormat { rate, ..self.fmt });
                }
                Outcome::int(self.fmt.rate as i32)
            }
            SOUND_PCM_READ_RATE => Outcome::int(self.fmt.rate as i32),
            SOUND_PCM_READ_CHANNELS => Outcome::int(self.fmt.channels as i32),
            SOUND_PCM_READ_BITS => Outcome::int(self.fmt.sample.afmt() as i32),
            SNDCTL_DSP_GET_CHNORDER => Outcome::bytes(CHNORDER_NORMAL.to_ne_bytes().to_vec()),
            SNDCTL_DSP_SET_CHNORDER => {
                // Only the normal order is offered; the call writes back what is used.
                if input.len() < 8 {
                    return Outcome::Error(libc::EINVAL);
                }
                Outcome::bytes(CHNORDER_NORMAL.to_ne_bytes().to_vec())
            }
            SNDCTL_DSP_GETCHANNELMASK => Outcome::int(DSP_BIND_FRONT as i32),
            SNDCTL_DSP_BIND_CHANNEL => {
                arg!();
                Outcome::int(DSP_BIND_FRONT as i32)
            }

            // --- buffering
            SNDCTL_DSP_SETFRAGMENT => {
                let v = arg!() as u32;
                // A hint, honoured only before the first read/write (manual).
                if !self.io_started {
                    let shift = (v & 0xffff).clamp(MIN_FRAG_SHIFT, MAX_FRAG_SHIFT);
                    let size = 1usize << shift;
                    let count = match (v >> 16) as usize {
                        // 0x7fff (and 0) mean "as many as you like": use the default.
                        0 | 0x7fff => DEFAULT_FRAGS,
                        c => c,
                    };
                    self.frag_request = Some((
                        size,
                        count.clamp(MIN_FRAGS, (MAX_BUFFER / size).max(MIN_FRAGS)),
                    ));
                    self.dirty = true;
                }
                let (size, count) = self.geometry();
                Outcome::int(((count as u32) << 16 | size.trailing_zeros()) as i32)
            }
            SNDCTL_DSP_SUBDIVIDE => {
                let v = arg!();
                if !matches!(v, 0 | 1 | 2 | 4) {
                    return Outcome::Error(libc::EINVAL);
                }
                if v > 0 && !self.io_started && self.frag_request.is_none() {
                    self.subdivide = v as usize;
                    self.dirty = true;
                }
                Outcome::int(self.subdivide as i32)
            }
            SNDCTL_DSP_GETBLKSIZE => Outcome::int(self.geometry().0 as i32),
            SNDCTL_DSP_GETOSPACE => {
                let voice = play!();
                self.buf_info(voice.capacity(), voice.space())
            }
            SNDCTL_DSP_LOW_WATER => {
                let v = arg!();
                let cap = play
                    .as_ref()
                    .map(|p| p.capacity())
                    .or(rec.as_ref().map(|r| r.capacity()));
                // Clamped to 1 byte .. the whole buffer.
                self.low_water = Some((v.max(1) as usize).min(cap.unwrap_or(1).max(1)));
                Outcome::ok()
            }
            SNDCTL_DSP_POLICY => {
                // 0..10, a latency hint; accepted, the fragment defaults already
                // follow the device period.
                let v = arg!();
                if !(0..=10).contains(&v) {
                    return Outcome::Error(libc::EINVAL);
                }
                Outcome::ok()
            }
            SNDCTL_DSP_NONBLOCK => {
                self.nonblock = true;
                Outcome::ok()
            }
            SNDCTL_DSP_COOKEDMODE => {
                // ossd always converts ("cooked"); turning it off is accepted
                // as a request the mixer cannot honour for shared hardware.
                arg!();
                Outcome::ok()
            }
            SNDCTL_DSP_PROFILE | SNDCTL_DSP_SETSYNCRO => Outcome::ok(),

            // --- timing
            SNDCTL_DSP_GETODELAY => {
                let voice = play!();
                Outcome::int(self.odelay(voice, env.played).min(i32::MAX as u64) as i32)
            }
            SNDCTL_DSP_GETOPTR => {
                let voice = play!();
                let (size, _) = self.geometry();
                let played = self.played_bytes(voice, env.played);
                count_info(played, size, voice.capacity(), &mut self.optr_blocks_seen)
            }
            // An i386 program's number has the 140-byte struct (no tail
            // padding there): the same fields, cut to its size.
            SNDCTL_DSP_CURRENT_OPTR | SNDCTL_DSP_CURRENT_OPTR_I386 => {
                let voice = play!();
                let fb = self.fmt.frame_bytes() as u64;
                count(
                    cmd,
                    self.played_bytes(voice, env.played) / fb,
                    self.odelay(voice, env.played) / fb,
                )
            }
            // Output gated off by SETTRIGGER: nothing will play, so there is
            // nothing to wait for (waiting would hang the caller); nor on a
            // read-only file.
            SNDCTL_DSP_SYNC => {
                if play.is_some_and(|v| v.start_drain()) {
                    Outcome::ParkUntilDrained
                } else {
                    Outcome::ok()
                }
            }
            SNDCTL_DSP_POST => {
                play!().post();
                Outcome::ok()
            }
            // RESET is HALT (same number); HALT_OUTPUT and HALT_INPUT are
            // its halves. A halted direction is as just after open: empty,
            // stopped, and enabled again (OSS 4's reset restores the trigger
            // bits), so the next write or read starts it.
            SNDCTL_DSP_RESET => {
                self.halt_output(play, env.played);
                self.halt_input(rec);
                Outcome::ok()
            }
            SNDCTL_DSP_HALT_OUTPUT => {
                self.halt_output(play, env.played);
                Outcome::ok()
            }
            SNDCTL_DSP_HALT_INPUT => {
                self.halt_input(rec);
                Outcome::ok()
            }
            SNDCTL_DSP_SKIP => {
                // Drop what is queued but not yet taken by the mixer; keep playing.
                play!().skip();
                Outcome::ok()
            }
            SNDCTL_DSP_SILENCE => {
                // Overwrite what is queued with silence, keeping its length (and timing).
                play!().silence_queued();
                Outcome::ok()
            }
            // The trigger bits are enables (OSS 4 manual, SETTRIGGER): set for
            // every direction the file has from open on; a stream still
            // starts at its first write or read. Reported for the
            // directions the file has.
            SNDCTL_DSP_GETTRIGGER => {
                let mut bits = 0;
                if play.is_some() && self.enabled(PCM_ENABLE_OUTPUT) {
                    bits |= PCM_ENABLE_OUTPUT;
                }
                if rec.is_some() && self.enabled(PCM_ENABLE_INPUT) {
                    bits |= PCM_ENABLE_INPUT;
                }
                Outcome::int(bits as i32)
            }
            SNDCTL_DSP_SETTRIGGER => {
                self.set_trigger(Streams { play, rec }, arg!() as u32);
                Outcome::ok()
            }

            // --- volume and errors
            SNDCTL_DSP_GETPLAYVOL => Outcome::int(self.play_volume.to_oss()),
            SNDCTL_DSP_SETPLAYVOL => {
                let v = arg!();
                let voice = play!();
                self.play_volume = Volume::from_oss(v);
                voice.set_gains(self.play_volume.gains(self.dev.pcm.channels as usize));
                Outcome::int(self.play_volume.to_oss())
            }
            SNDCTL_DSP_GETRECVOL => Outcome::int(self.rec_volume.to_oss()),
            SNDCTL_DSP_SETRECVOL => {
                self.rec_volume = Volume::from_oss(arg!());
                if let Some(r) = rec {
                    r.set_gains(self.rec_gains(env.igain));
                }
                Outcome::int(self.rec_volume.to_oss())
            }
            SNDCTL_DSP_GETERROR => {
                let under = play.as_ref().map_or(0, |v| v.underruns());
                let over = rec.as_ref().map_or(0, |r| r.overruns());
                let new_under = under.wrapping_sub(self.underruns_reported);
                let new_over = over.wrapping_sub(self.overruns_reported);
                self.underruns_reported = under;
                self.overruns_reported = over;
                Outcome::bytes(
                    AudioErrInfo {
                        play_underruns: new_under.min(i32::MAX as u32) as i32,
                        rec_overruns: new_over.min(i32::MAX as u32) as i32,
                        ..AudioErrInfo::default()
                    }
                    .to_bytes()
                    .to_vec(),
                )
            }

            // --- identity and capabilities
            SNDCTL_DSP_GETCAPS => Outcome::int(caps(env.info.has_capture) as i32),
            OSS_GETVERSION => Outcome::int(SOUND_VERSION as i32),
            SNDCTL_SETNAME => {
                let Some(name) = input.get(..OSS_LONGNAME_SIZE) else {
                    return Outcome::Error(libc::EINVAL);
                };
                self.name = cstr_to_string(name);
                Outcome::ok()
            }
            SNDCTL_SYSINFO => Outcome::bytes(sysinfo(env.info).to_bytes().to_vec()),
            SNDCTL_AUDIOINFO | SNDCTL_AUDIOINFO_EX | SNDCTL_ENGINEINFO => {
                let dev = int_arg.unwrap_or(-1);
                // -1 asks about the device this file is open on; there is one.
                if dev != -1 && dev != 0 {
                    return Outcome::Error(libc::EINVAL);
                }
                Outcome::bytes(self.audioinfo(env.info).to_bytes().to_vec())
            }
            SNDCTL_CARDINFO => {
                let card = int_arg.unwrap_or(-1);
                if card != -1 && card != 0 {
                    return Outcome::Error(libc::EINVAL);
                }
                let mut c = OssCardInfo::default();
                set_cstr(&mut c.shortname, "ossd");
                set_cstr(
                    &mut c.longname,
                    &format!("ossd on ALSA {}", env.info.alsa_name),
                );
                set_cstr(&mut c.hw_info, &self.device_description(env.info));
                Outcome::bytes(c.to_bytes().to_vec())
            }

            // --- recording
            SNDCTL_DSP_GETISPACE => {
                let r = rec!();
                self.buf_info(r.capacity(), r.available())
            }
            SNDCTL_DSP_GETIPTR => {
                let r = rec!();
                let (size, _) = self.geometry();
                count_info(
                    r.produced_bytes(),
                    size,
                    r.capacity(),
                    &mut self.iptr_blocks_seen,
                )
            }
            SNDCTL_DSP_CURRENT_IPTR | SNDCTL_DSP_CURRENT_IPTR_I386 => {
                let r = rec!();
                let fb = self.fmt.frame_bytes() as u64;
                count(cmd, r.produced_bytes() / fb, r.available() as u64 / fb)
            }
            SNDCTL_DSP_SETDUPLEX => {
                // Duplex is what an O_RDWR file with a capture device already is.
                if play.is_some() && rec.is_some() {
                    Outcome::ok()
                } else {
                    Outcome::Error(libc::EINVAL)
                }
            }
            // No mmap over CUSE (the kernel refuses it), so no buffer to map.
            SNDCTL_DSP_MAPINBUF | SNDCTL_DSP_MAPOUTBUF => Outcome::Error(libc::EINVAL),
            // "This is ossd's /dev/dsp": how ossd-run's library recognises
            // the files it may emulate mmap on (nothing changes here).
            SNDCTL_DSP_OSSD_IDENT => {
                let mut out = OSSD_IDENT_MAGIC.to_ne_bytes().to_vec();
                out.extend_from_slice(&OSSD_IDENT_VERSION.to_ne_bytes());
                Outcome::bytes(out)
            }
            _ => Outcome::Error(libc::EINVAL),
        }
    }

    /// GETOSPACE/GETISPACE: `bytes` free (playback) or available (recording)
    /// in a ring of `total`, in whole fragments.
    fn buf_info(&self, total: usize, bytes: usize) -> Outcome {
        let (size, _) = self.geometry();
        Outcome::bytes(
            AudioBufInfo {
                fragments: (bytes / size) as i32,
                fragstotal: (total / size).max(1) as i32,
                fragsize: size as i32,
                bytes: bytes as i32,
            }
            .to_bytes()
            .to_vec(),
        )
    }

    fn device_description(&self, info: &DeviceInfo) -> String {
        let d = &self.dev;
        format!(
            "{} {} {} Hz {} ch, period {} frames, buffer {} frames",
            info.alsa_name,
            d.pcm.sample.name(),
            d.pcm.rate,
            d.pcm.channels,
            d.period_frames,
            d.buffer_frames
        )
    }

    fn audioinfo(&self, info: &DeviceInfo) -> OssAudioinfo {
        let mut a = OssAudioinfo {
            dev: 0,
            busy: if info.open_files > 0 {
                OPEN_WRITE as i32
            } else {
                0
            },
            pid: -1,
            caps: caps(info.has_capture) as i32,
            iformats: if info.has_capture {
                format::SUPPORTED_AFMTS as i32
            } else {
                0
            },
            oformats: format::SUPPORTED_AFMTS as i32,
            card_number: 0,
            port_number: 0,
            mixer_dev: if info.has_mixer { 0 } else { -1 },
            real_device: 0,
            enabled: 1,
            min_rate: MIN_RATE as i32,
            max_rate: MAX_RATE as i32,
            min_channels: 1,
            max_channels: MAX_CHANNELS as i32,
            binding: DSP_BIND_FRONT as i32,
            rate_source: 0,
            nrates: 0,
            latency: -1,
            next_play_engine: 0,
            next_rec_engine: 0,
            ..OssAudioinfo::default()
        };
        set_cstr(&mut a.name, &format!("ossd mixer on {}", info.alsa_name));
        set_cstr(&mut a.cmd, &self.name);
        set_cstr(&mut a.handle, "ossd-dsp0");
        set_cstr(&mut a.label, "ossd");
        set_cstr(&mut a.devnode, &info.devnode);
        a
    }
    fn set_fmt(&mut self, fmt: PcmFormat) {
        if fmt != self.fmt {
            self.fmt = fmt;
            self.dirty = true;
        }
    }
}

/// CURRENT_OPTR/CURRENT_IPTR: frames moved in all, and frames queued, as
/// an `oss_count_t` of the size `cmd` asks for (144 bytes, or 140 from an
/// i386 program).
fn count(cmd: u32, samples: u64, queued: u64) -> Outcome {
    let mut out = OssCount {
        samples: samples as i64,
        fifo_samples: queued.min(i32::MAX as u64) as i32,
        filler: [0; 32],
    }
    .to_bytes()
    .to_vec();
    out.truncate(ioc_size(cmd));
    Outcome::bytes(out)
}

/// GETOPTR/GETIPTR: `bytes` moved in all (the OSS int wraps, as in every
/// driver), fragments moved since the last call (`seen` remembers), and the
/// position in a ring of `cap`.
fn count_info(bytes: u64, frag: usize, cap: usize, seen: &mut u64) -> Outcome {
    let blocks = bytes / frag as u64;
    let new_blocks = blocks.saturating_sub(*seen);
    *seen = blocks;
    Outcome::bytes(
        CountInfo {
            bytes: bytes as u32 as i32,
            blocks: new_blocks.min(i32::MAX as u64) as i32,
            ptr: (bytes % cap.max(1) as u64) as i32,
        }
        .to_bytes()
        .to_vec(),
    )
}

/// What /dev/dsp can do (GETCAPS): revision 1, real-time position
/// reporting, triggers, any number of opens, playback, and recording with
/// full duplex where a capture device is configured. Never MMAP: CUSE
/// cannot map a buffer into the client.
pub fn caps(has_capture: bool) -> u32 {
    let base =
        1 | DSP_CAP_REALTIME | DSP_CAP_TRIGGER | DSP_CAP_MULTI | DSP_CAP_OUTPUT | DSP_CAP_VIRTUAL;
    if has_capture {
        base | DSP_CAP_INPUT | DSP_CAP_DUPLEX
    } else {
        base
    }
}

/// SNDCTL_SYSINFO: one card, one audio device, one mixer.
pub fn sysinfo(info: &DeviceInfo) -> OssSysinfo {
    let mut s = OssSysinfo {
        versionnum: SOUND_VERSION as i32,
        numaudios: 1,
        nummixers: info.has_mixer as i32,
        numcards: 1,
        numaudioengines: 1,
        ..OssSysinfo::default()
    };
    if info.open_files > 0 {
        s.openedaudio[0] = 1;
    }
    set_cstr(&mut s.product, "ossd");
    set_cstr(&mut s.version, env!("CARGO_PKG_VERSION"));
    set_cstr(&mut s.license, "MIT/Apache-2.0");
    set_cstr(&mut s.options, &format!("alsa={}", info.alsa_name));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> DeviceConfig {
        DeviceConfig {
            period_frames: 256,
            buffer_frames: 768,
            ..crate::mix::fixtures::dev()
        }
    }
    use crate::mix::Quality;

    struct T {
        dsp: Dsp,
        voice: Voice,
        info: DeviceInfo,
        played: u64,
    }

    impl T {
        fn new() -> T {
            let dsp = Dsp::new(dev());
            let voice = dsp.make_voice(Quality::Fast);
            T {
                dsp,
                voice,
                info: DeviceInfo {
                    alsa_name: "hw:0,0".into(),
                    devnode: "/dev/dsp".into(),
                    open_files: 1,
                    has_capture: false,
                    has_mixer: true,
                },
                played: 0,
            }
        }
        fn call(&mut self, cmd: u32, input: &[u8]) -> Outcome {
            let env = Env {
                played: self.played,
                info: &self.info,
                igain: Volume::FULL,
            };
            let streams = Streams {
                play: Some(&mut self.voice),
                rec: None,
            };
            let done = self.dsp.ioctl(streams, env, cmd, input);
            if done.rebuild {
                // What the server does after a change.
                self.voice = self.dsp.make_voice(Quality::Fast);
            }
            done.outcome
        }
        fn int(&mut self, cmd: u32, v: i32) -> i32 {
            match self.call(cmd, &v.to_ne_bytes()) {
                Outcome::Reply { out, .. } => i32::from_ne_bytes(out[..4].try_into().unwrap()),
                o => panic!("{cmd:#x}: {o:?}"),
            }
        }
        fn ints(&mut self, cmd: u32) -> Vec<i32> {
            match self.call(cmd, &[]) {
                Outcome::Reply { out, .. } => out
                    .chunks(4)
                    .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                    .collect(),
                o => panic!("{cmd:#x}: {o:?}"),
            }
        }
    }

    #[test]
    fn fresh_open_is_u8_mono_8000() {
        let mut t = T::new();
        assert_eq!(t.int(SNDCTL_DSP_SETFMT, AFMT_QUERY as i32), AFMT_U8 as i32);
        assert_eq!(t.int(SOUND_PCM_READ_CHANNELS, 0), 1);
        assert_eq!(t.int(SOUND_PCM_READ_RATE, 0), 8000);
        assert_eq!(t.int(SNDCTL_DSP_GETPLAYVOL, 0), 100 | 100 << 8);
    }

    #[test]
    fn set_calls_never_fail_for_a_value() {
        let mut t = T::new();
        for (v, want) in [
            (AFMT_S16_LE as i32, AFMT_S16_LE as i32),
            (AFMT_MPEG as i32, AFMT_S16_LE as i32),
            (-5, AFMT_S16_LE as i32),
            (0, AFMT_S16_LE as i32),
        ] {
            assert_eq!(t.int(SNDCTL_DSP_SETFMT, v), want, "SETFMT {v:#x}");
        }
        // Several bits: the lowest supported one.
        assert_eq!(
            t.int(SNDCTL_DSP_SETFMT, (AFMT_S16_BE | AFMT_U8) as i32),
            AFMT_U8 as i32
        );
        for (v, want) in [
            (2, 2),
            (0, 2),
            (-1, 2),
            (1, 1),
            (9, 8),
            (i32::MAX, 8),
            (6, 6),
        ] {
            assert_eq!(t.int(SNDCTL_DSP_CHANNELS, v), want, "CHANNELS {v}");
        }
        assert_eq!(t.int(SNDCTL_DSP_STEREO, 1), 1);
        assert_eq!(t.int(SOUND_PCM_READ_CHANNELS, 0), 2);
        assert_eq!(t.int(SNDCTL_DSP_STEREO, 0), 0);
        assert_eq!(t.int(SNDCTL_DSP_STEREO, -7), 1);
        for (v, want) in [
            (44100, 44100),
            (0, 44100),
            (-1, 44100),
            (1, 1000),
            (999_999_999, 192_000),
            (48000, 48000),
        ] {
            assert_eq!(t.int(SNDCTL_DSP_SPEED, v), want, "SPEED {v}");
        }
    }

    #[test]
    fn every_format_can_be_chosen_and_reported() {
        let mut t = T::new();
        let all = t.int(SNDCTL_DSP_GETFMTS, 0) as u32;
        for f in SampleFormat::ALL {
            assert_ne!(all & f.afmt(), 0);
            assert_eq!(t.int(SNDCTL_DSP_SETFMT, f.afmt() as i32), f.afmt() as i32);
            assert_eq!(t.int(SNDCTL_DSP_SETFMT, 0), f.afmt() as i32);
        }
    }

    #[test]
    fn setfragment_is_honoured_within_bounds_and_written_back() {
        let mut t = T::new();
        t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
        t.int(SNDCTL_DSP_CHANNELS, 2);
        t.int(SNDCTL_DSP_SPEED, 48000);
        // 8 fragments of 4 KiB.
        let r = t.int(SNDCTL_DSP_SETFRAGMENT, 0x0008_000C);
        assert_eq!(r, 0x0008_000C);
        assert_eq!(t.int(SNDCTL_DSP_GETBLKSIZE, 0), 4096);
        let o = t.ints(SNDCTL_DSP_GETOSPACE);
        assert_eq!(o, vec![8, 8, 4096, 8 * 4096]);
        // Tiny fragments: size clamps to 16 bytes and the count rises until
        // the buffer holds two device periods (2 × 264 frames × 4 bytes).
        let r = t.int(SNDCTL_DSP_SETFRAGMENT, 0x0002_0001) as u32;
        assert_eq!(r & 0xffff, 4);
        assert!((r >> 16) as usize * 16 >= 2 * 264 * 4, "{r:#x}");
        // Huge: bounded by 1 MiB.
        let r = t.int(SNDCTL_DSP_SETFRAGMENT, 0x7fff_00ff) as u32;
        assert_eq!(r & 0xffff, 16);
        assert!((r >> 16) as usize * 65536 <= 1 << 20);
        // After I/O started it no longer changes anything.
        t.dsp.start_io();
        let before = t.int(SNDCTL_DSP_GETBLKSIZE, 0);
        t.int(SNDCTL_DSP_SETFRAGMENT, 0x0004_0008);
        assert_eq!(t.int(SNDCTL_DSP_GETBLKSIZE, 0), before);
    }

    #[test]
    fn default_buffer_is_tens_of_milliseconds() {
        let mut t = T::new();
        t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
        t.int(SNDCTL_DSP_CHANNELS, 2);
        t.int(SNDCTL_DSP_SPEED, 44100);
        let o = t.ints(SNDCTL_DSP_GETOSPACE);
        let ms = o[3] as f64 / (44100.0 * 4.0) * 1000.0;
        assert!((10.0..=100.0).contains(&ms), "{ms} ms");
        assert_eq!(o[0], o[1], "empty buffer: every fragment free");
    }

    #[test]
    fn a_raised_device_period_makes_the_default_fragment_hold_one_and_doubles_them() {
        // At the open, overload had raised the device's period to `mult`
        // mix blocks.
        let open = |mult: u32| {
            let mut t = T::new();
            let block = t.dsp.dev.period_frames;
            t.dsp.set_device_period(mult * block);
            t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
            t.int(SNDCTL_DSP_CHANNELS, 2);
            t.int(SNDCTL_DSP_SPEED, 48000);
            t
        };
        let small = open(1).ints(SNDCTL_DSP_GETOSPACE);
        let big = open(4).ints(SNDCTL_DSP_GETOSPACE);
        assert_eq!(big[2], 4 * small[2], "{small:?} {big:?}");
        assert_eq!(big[1], 2 * small[1], "twice the fragments under overload");
        // A period below the mix block changes nothing; SETFRAGMENT wins.
        assert_eq!(open(0).ints(SNDCTL_DSP_GETOSPACE), small);
        let mut t = open(4);
        t.int(SNDCTL_DSP_SETFRAGMENT, 0x0008_000C);
        assert_eq!(t.ints(SNDCTL_DSP_GETOSPACE), vec![8, 8, 4096, 8 * 4096]);
    }

    #[test]
    fn a_stream_that_starves_twice_within_two_seconds_gets_twice_the_fragments() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut t = T::new();
        t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
        t.int(SNDCTL_DSP_CHANNELS, 2);
        t.int(SNDCTL_DSP_SPEED, 48000);
        let (size, count) = t.dsp.geometry();
        // Once: nothing. Again, 2.5 s later: too far apart, nothing.
        assert!(!t.dsp.note_starved(1, at(0)));
        assert!(!t.dsp.note_starved(1, at(100)), "no new one");
        assert!(!t.dsp.note_starved(2, at(2500)));
        assert_eq!(t.dsp.geometry(), (size, count));
        // Again within 2 s: twice the fragments, same size.
        assert!(t.dsp.note_starved(3, at(3000)));
        assert_eq!(t.dsp.geometry(), (size, 2 * count));
        // Two at once count as twice. Up to 250 ms of sound, never more.
        let mut grew = 1;
        for n in 0..20u32 {
            if t.dsp.note_starved(5 + 2 * n, at(4000 + u64::from(n))) {
                grew += 1;
            }
        }
        let (s, c) = t.dsp.geometry();
        assert_eq!(s, size);
        assert!(
            t.dsp.bytes_ms(s * c) <= 250.0,
            "{} ms",
            t.dsp.bytes_ms(s * c)
        );
        assert!(
            t.dsp.bytes_ms(s * c * 2) > 250.0,
            "stopped early: {c} fragments"
        );
        assert_eq!(c, count << grew);
        // The voice made now has that ring; GETOSPACE shows it.
        t.voice = t.dsp.make_voice(Quality::Fast);
        assert_eq!(t.ints(SNDCTL_DSP_GETOSPACE)[1] as usize, c);
    }

    #[test]
    fn a_buffer_chosen_with_setfragment_does_not_grow_when_starved() {
        let t0 = Instant::now();
        let mut t = T::new();
        t.int(SNDCTL_DSP_SETFRAGMENT, 0x0004_0009);
        let g = t.dsp.geometry();
        for n in 1..10 {
            assert!(!t
                .dsp
                .note_starved(n, t0 + Duration::from_millis(u64::from(n))));
        }
        assert_eq!(t.dsp.geometry(), g);
    }

    #[test]
    fn subdivide_splits_the_default_fragment() {
        let mut t = T::new();
        let whole = t.int(SNDCTL_DSP_GETBLKSIZE, 0);
        assert_eq!(t.int(SNDCTL_DSP_SUBDIVIDE, 2), 2);
        assert_eq!(t.int(SNDCTL_DSP_GETBLKSIZE, 0), whole / 2);
        assert_eq!(
            t.call(SNDCTL_DSP_SUBDIVIDE, &3i32.to_ne_bytes()),
            Outcome::Error(libc::EINVAL)
        );
    }

    #[test]
    fn odelay_and_optr_follow_the_device_position() {
        let mut t = T::new();
        t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
        t.int(SNDCTL_DSP_CHANNELS, 2);
        t.int(SNDCTL_DSP_SPEED, 48000);
        assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), 0);
        t.voice.push(&vec![1u8; 1024 * 4]);
        assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), 1024 * 4);
        // The engine mixes one period: it is in flight until the device plays it.
        let mut acc = vec![0i64; 512];
        t.voice.render(&mut acc, 0);
        assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), 1024 * 4);
        assert_eq!(t.ints(SNDCTL_DSP_GETOPTR)[0], 0);
        t.played = 100;
        assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), (1024 - 100) * 4);
        let optr = t.ints(SNDCTL_DSP_GETOPTR);
        assert_eq!(optr[0], 400);
        t.played = 256;
        assert_eq!(t.ints(SNDCTL_DSP_GETOPTR)[0], 1024);
        // CURRENT_OPTR: frames played and frames queued.
        match t.call(SNDCTL_DSP_CURRENT_OPTR, &[]) {
            Outcome::Reply { out, .. } => {
                assert_eq!(out.len(), OssCount::SIZE);
                let c = OssCount::from_bytes(&out).unwrap();
                assert_eq!((c.samples, c.fifo_samples), (256, 1024 - 256));
            }
            o => panic!("{o:?}"),
        }
        // RESET drops everything at once.
        t.call(SNDCTL_DSP_RESET, &[]);
        assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), 0);
        let o = t.ints(SNDCTL_DSP_GETOSPACE);
        assert_eq!(o[3] as usize, t.voice.capacity());
    }

    #[test]
    fn current_optr_answers_an_i386_program_with_its_140_bytes() {
        let mut t = T::new();
        t.voice.push(&[1u8; 100]);
        t.played = 30;
        let full = match t.call(SNDCTL_DSP_CURRENT_OPTR, &[]) {
            Outcome::Reply { out, .. } => out,
            o => panic!("{o:?}"),
        };
        let i386 = match t.call(SNDCTL_DSP_CURRENT_OPTR_I386, &[]) {
            Outcome::Reply { out, .. } => out,
            o => panic!("{o:?}"),
        };
        assert_eq!((full.len(), i386.len()), (144, OSS_COUNT_I386_SIZE));
        assert_eq!(i386[..], full[..140]);
        // A playback-only file has no recording position, in either size.
        assert_eq!(
            t.call(SNDCTL_DSP_CURRENT_IPTR_I386, &[]),
            Outcome::Error(libc::EINVAL)
        );
    }

    #[test]
    fn trigger_sync_post_skip_silence() {
        let mut t = T::new();
        assert_eq!(t.int(SNDCTL_DSP_GETTRIGGER, 0), PCM_ENABLE_OUTPUT as i32);
        assert_eq!(
            t.call(SNDCTL_DSP_SETTRIGGER, &0i32.to_ne_bytes()),
            Outcome::ok()
        );
        assert_eq!(t.int(SNDCTL_DSP_GETTRIGGER, 0), 0);
        assert!(!t.voice.trigger());
        // Gated off, SYNC has nothing to wait for.
        assert_eq!(t.call(SNDCTL_DSP_SYNC, &[]), Outcome::ok());
        t.call(
            SNDCTL_DSP_SETTRIGGER,
            &(PCM_ENABLE_OUTPUT as i32).to_ne_bytes(),
        );
        assert!(t.voice.trigger());
        assert_eq!(t.call(SNDCTL_DSP_SYNC, &[]), Outcome::ParkUntilDrained);
        t.voice.push(&[7u8; 100]);
        t.call(SNDCTL_DSP_SILENCE, &[]);
        let q = t.voice.queued_bytes();
        assert_eq!(q.len(), 100);
        assert!(q.iter().all(|&x| x == 0x80), "U8 silence is 0x80");
        t.call(SNDCTL_DSP_SKIP, &[]);
        assert_eq!(t.voice.queued(), 0);
        assert_eq!(t.call(SNDCTL_DSP_POST, &[]), Outcome::ok());
    }

    #[test]
    fn playback_volume_is_clamped_and_applied() {
        let mut t = T::new();
        assert_eq!(t.int(SNDCTL_DSP_SETPLAYVOL, 50 | 30 << 8), 50 | 30 << 8);
        assert_eq!(t.int(SNDCTL_DSP_GETPLAYVOL, 0), 50 | 30 << 8);
        assert!(t.voice.gains()[0] > t.voice.gains()[1] && t.voice.gains()[0] < 1.0);
        assert_eq!(t.int(SNDCTL_DSP_SETPLAYVOL, 200 | 255 << 8), 100 | 100 << 8);
        assert_eq!(t.voice.gains(), vec![1.0, 1.0]);
        assert_eq!(t.int(SNDCTL_DSP_SETPLAYVOL, 0), 0);
        assert_eq!(t.voice.gains(), vec![0.0, 0.0]);
        // The volume survives a format change (the voice is rebuilt).
        t.int(SNDCTL_DSP_SETPLAYVOL, 70 | 70 << 8);
        t.int(SNDCTL_DSP_SPEED, 22050);
        assert_eq!(t.voice.gains(), vec![Volume::gain(70); 2]);
        assert_eq!(t.int(SNDCTL_DSP_SETRECVOL, 40 | 40 << 8), 40 | 40 << 8);
        assert_eq!(t.int(SNDCTL_DSP_GETRECVOL, 0), 40 | 40 << 8);
    }

    /// GETTRIGGER after `calls` on a file with these directions.
    fn trigger_after(play: bool, rec: bool, calls: &[(u32, i32)]) -> i32 {
        let d = dev();
        let mut dsp = Dsp::new(d);
        let mut v = play.then(|| dsp.make_voice(Quality::Fast));
        let mut r = rec.then(|| dsp.make_rec_voice(&d, Quality::Fast, Volume::FULL));
        let info = DeviceInfo::default();
        let mut call = |dsp: &mut Dsp, cmd: u32, arg: i32| {
            let env = Env {
                played: 0,
                info: &info,
                igain: Volume::FULL,
            };
            let streams = Streams {
                play: v.as_mut(),
                rec: r.as_mut(),
            };
            dsp.ioctl(streams, env, cmd, &arg.to_ne_bytes()).outcome
        };
        for &(cmd, arg) in calls {
            call(&mut dsp, cmd, arg);
        }
        match call(&mut dsp, SNDCTL_DSP_GETTRIGGER, 0) {
            Outcome::Reply { out, .. } => i32::from_ne_bytes(out[..4].try_into().unwrap()),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn trigger_bits_are_enables_set_at_open_for_each_direction() {
        let (i, o) = (PCM_ENABLE_INPUT as i32, PCM_ENABLE_OUTPUT as i32);
        // Fresh opens: O_RDWR, O_WRONLY, O_RDONLY (OSS 4 manual, SETTRIGGER:
        // both enabled by default; the stream still starts at its first I/O).
        assert_eq!(trigger_after(true, true, &[]), i | o);
        assert_eq!(trigger_after(true, false, &[]), o);
        assert_eq!(trigger_after(false, true, &[]), i);
        // SETTRIGGER sets exactly what it is given, for the directions the
        // file has.
        assert_eq!(trigger_after(true, true, &[(SNDCTL_DSP_SETTRIGGER, 0)]), 0);
        assert_eq!(trigger_after(true, true, &[(SNDCTL_DSP_SETTRIGGER, o)]), o);
        assert_eq!(trigger_after(true, true, &[(SNDCTL_DSP_SETTRIGGER, i)]), i);
        assert_eq!(
            trigger_after(true, false, &[(SNDCTL_DSP_SETTRIGGER, i | o)]),
            o
        );
        assert_eq!(
            trigger_after(false, true, &[(SNDCTL_DSP_SETTRIGGER, -1)]),
            i
        );
        // RESET (HALT) enables both again, as just after open; HALT_OUTPUT
        // and HALT_INPUT their own direction.
        let off = (SNDCTL_DSP_SETTRIGGER, 0);
        assert_eq!(
            trigger_after(true, true, &[off, (SNDCTL_DSP_RESET, 0)]),
            i | o
        );
        assert_eq!(
            trigger_after(true, true, &[off, (SNDCTL_DSP_HALT_OUTPUT, 0)]),
            o
        );
        assert_eq!(
            trigger_after(true, true, &[off, (SNDCTL_DSP_HALT_INPUT, 0)]),
            i
        );
        assert_eq!(
            trigger_after(false, true, &[off, (SNDCTL_DSP_HALT_INPUT, 0)]),
            i
        );
        // A format change rebuilds the streams but keeps the bits.
        assert_eq!(
            trigger_after(true, true, &[off, (SNDCTL_DSP_SPEED, 22050)]),
            0
        );
    }

    #[test]
    fn settrigger_gates_output_and_starts_or_halts_recording() {
        let d = dev();
        let mut dsp = Dsp::new(d);
        let mut v = dsp.make_voice(Quality::Fast);
        let mut r = dsp.make_rec_voice(&d, Quality::Fast, Volume::FULL);
        assert!(v.trigger() && !r.running(), "recording waits for a read");
        dsp.set_trigger(
            Streams {
                play: Some(&mut v),
                rec: Some(&mut r),
            },
            PCM_ENABLE_INPUT,
        );
        assert!(!v.trigger() && r.running());
        assert!(!dsp.enabled(PCM_ENABLE_OUTPUT) && dsp.enabled(PCM_ENABLE_INPUT));
        dsp.set_trigger(
            Streams {
                play: Some(&mut v),
                rec: Some(&mut r),
            },
            PCM_ENABLE_OUTPUT,
        );
        assert!(v.trigger() && !r.running());
        assert!(!dsp.enabled(PCM_ENABLE_INPUT), "a read no longer starts it");
    }

    #[test]
    fn geterror_reports_new_underruns_once() {
        let mut t = T::new();
        t.voice.set_underruns(3);
        let e = t.ints(SNDCTL_DSP_GETERROR);
        assert_eq!(e.len() * 4, AudioErrInfo::SIZE);
        assert_eq!(e[0], 3);
        assert_eq!(t.ints(SNDCTL_DSP_GETERROR)[0], 0);
    }

    #[test]
    fn caps_and_information_calls() {
        let mut t = T::new();
        let caps = t.int(SNDCTL_DSP_GETCAPS, 0) as u32;
        assert_ne!(caps & DSP_CAP_TRIGGER, 0);
        assert_ne!(caps & DSP_CAP_REALTIME, 0);
        assert_ne!(caps & DSP_CAP_MULTI, 0);
        assert_eq!(caps & DSP_CAP_MMAP, 0, "CUSE cannot mmap");
        assert!(t.int(OSS_GETVERSION, 0) >= 0x040000);
        match t.call(SNDCTL_SYSINFO, &[]) {
            Outcome::Reply { out, .. } => {
                let s = OssSysinfo::from_bytes(&out).unwrap();
                assert_eq!(cstr_to_string(&s.product), "ossd");
                assert_eq!(s.numaudios, 1);
            }
            o => panic!("{o:?}"),
        }
        for cmd in [SNDCTL_AUDIOINFO, SNDCTL_AUDIOINFO_EX, SNDCTL_ENGINEINFO] {
            let mut q = OssAudioinfo {
                dev: -1,
                ..OssAudioinfo::default()
            };
            match t.call(cmd, &q.to_bytes()) {
                Outcome::Reply { out, .. } => {
                    let a = OssAudioinfo::from_bytes(&out).unwrap();
                    assert_eq!(cstr_to_string(&a.devnode), "/dev/dsp");
                    assert!(cstr_to_string(&a.name).contains("hw:0,0"));
                    assert_eq!(a.max_channels, 8);
                }
                o => panic!("{o:?}"),
            }
            q.dev = 5;
            assert_eq!(t.call(cmd, &q.to_bytes()), Outcome::Error(libc::EINVAL));
        }
        let mut name = [0u8; OSS_LONGNAME_SIZE];
        set_cstr(&mut name, "mpg123");
        assert_eq!(t.call(SNDCTL_SETNAME, &name), Outcome::ok());
        assert_eq!(t.dsp.name, "mpg123");
    }

    #[test]
    fn bad_arguments_and_unknown_calls_get_einval() {
        let mut t = T::new();
        // Truncated input (never from a real kernel, but never a panic).
        assert_eq!(
            t.call(SNDCTL_DSP_SPEED, &[1, 2]),
            Outcome::Error(libc::EINVAL)
        );
        assert_eq!(
            t.call(SNDCTL_SETNAME, &[0; 3]),
            Outcome::Error(libc::EINVAL)
        );
        assert_eq!(t.call(0xdead_beef, &[]), Outcome::Error(libc::EINVAL));
        assert_eq!(
            t.call(SNDCTL_DSP_MAPOUTBUF, &[]),
            Outcome::Error(libc::EINVAL)
        );
        assert_eq!(
            t.call(SNDCTL_DSP_POLICY, &11i32.to_ne_bytes()),
            Outcome::Error(libc::EINVAL)
        );
        assert_eq!(
            t.call(SNDCTL_DSP_GETISPACE, &[]),
            Outcome::Error(libc::EINVAL)
        );
    }

    #[test]
    fn ident_call_answers_magic_and_version_and_changes_nothing() {
        let mut t = T::new();
        // The number: _IOR('P', 0xf0, 8 bytes), as preload/ossd_run.c has it.
        assert_eq!(SNDCTL_DSP_OSSD_IDENT, 0x8008_50f0);
        assert_eq!(ioc_size(SNDCTL_DSP_OSSD_IDENT), OSSD_IDENT_SIZE);
        let before = t.ints(SNDCTL_DSP_GETOSPACE);
        let caps = t.int(SNDCTL_DSP_GETCAPS, 0);
        assert_eq!(
            t.ints(SNDCTL_DSP_OSSD_IDENT),
            vec![OSSD_IDENT_MAGIC as i32, OSSD_IDENT_VERSION as i32]
        );
        assert_eq!(&OSSD_IDENT_MAGIC.to_be_bytes(), b"ossd");
        // Asking is free: no geometry change, no MMAP claimed by ossd itself.
        assert_eq!(t.ints(SNDCTL_DSP_GETOSPACE), before);
        assert_eq!(t.int(SNDCTL_DSP_GETCAPS, 0), caps);
        assert_eq!(caps as u32 & DSP_CAP_MMAP, 0);
        // A neighbouring unknown number is still EINVAL.
        assert_eq!(
            t.call(ior(OSS_IOCTYPE_DSP, 0xf1, 8), &[]),
            Outcome::Error(libc::EINVAL)
        );
    }

    #[test]
    fn low_water_sets_the_poll_threshold() {
        let mut t = T::new();
        assert_eq!(t.dsp.low_water(), t.dsp.geometry().0);
        t.call(SNDCTL_DSP_LOW_WATER, &100i32.to_ne_bytes());
        assert_eq!(t.dsp.low_water(), 100);
        t.call(SNDCTL_DSP_LOW_WATER, &(-4i32).to_ne_bytes());
        assert_eq!(t.dsp.low_water(), 1);
        t.call(SNDCTL_DSP_LOW_WATER, &i32::MAX.to_ne_bytes());
        assert_eq!(t.dsp.low_water(), t.voice.capacity());
    }

    #[test]
    fn volume_taper() {
        assert_eq!(Volume::gain(100), 1.0);
        assert_eq!(Volume::gain(0), 0.0);
        let g50 = Volume::gain(50);
        assert!((20.0 * g50.log10() + 25.0).abs() < 1e-9);
        assert_eq!(
            Volume::from_oss(-1),
            Volume {
                left: 100,
                right: 100
            }
        );
    }
}
