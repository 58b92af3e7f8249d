//! One open file of /dev/dsp: its OSS settings and what each ioctl does to
//! them. A pure state machine: the daemon hands it the file's [`Voice`] (the
//! buffer the engine reads) and the device's play position, and carries out
//! the [`Outcome`] (reply now, or park until drained).
//!
//! Where the OSS documents leave a choice, the OSS 4 developer manual's page
//! for that ioctl decides, and the choice is noted at the arm that makes it.
//!
//! This file holds the state and what the rest of ossd asks of it (the
//! buffer geometry, the streams to build, the position); `ioctl.rs` what
//! each ioctl does, one function per family; `tests.rs` their unit tests.

use crate::mix::record::RecVoice;
use crate::mix::Voice;
use crate::oss::soundcard::*;
use crate::pcm::format::SampleFormat;
use crate::pcm::{DeviceConfig, PcmFormat};
use std::time::{Duration, Instant};

mod ioctl;
pub use ioctl::{caps, sysinfo};

/// Rates a stream may ask for; anything else is clamped into this range.
pub const MIN_RATE: u32 = 1000;
pub const MAX_RATE: u32 = 192_000;
pub const MAX_CHANNELS: u32 = 8;
/// SNDCTL_DSP_CHANNELS refuses more than this with EINVAL, as the kernel's
/// snd-pcm-oss does (a count no device has is the caller's error, and a
/// program that raises the count until refused must be refused); up to it,
/// a count is taken as the nearest ossd plays (at most [`MAX_CHANNELS`]).
pub const CHANNELS_LIMIT: u32 = 128;
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
/// A slow stream's default buffer holds at least this many bytes at
/// [`LOW_RATE`] bytes a second or less, and a quarter of that at each
/// doubling of its byte rate above: see [`Dsp::low_rate_floor`].
const LOW_RATE_BUFFER: u64 = 32 << 10;
/// 8 kHz U8 or mu-law mono.
const LOW_RATE: u64 = 8000;

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
    /// `OPEN_WRITE` while any of them plays, `OPEN_READ` while any records.
    pub busy: u32,
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

    /// A fresh open of /dev/audio: mu-law, mono, 8000 Hz, as Sun's audio
    /// device started and as the kernel's OSS emulation starts its
    /// /dev/audio (`cat sound.au > /dev/audio` plays the header as sound
    /// too, as it always did: about 3 ms of it).
    pub fn new_audio(dev: DeviceConfig) -> Dsp {
        let mut dsp = Dsp::new(dev);
        dsp.fmt.sample = SampleFormat::MuLaw;
        dsp
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
    /// see [`Dsp::note_starved`]), and more of them for a slow stream
    /// ([`Dsp::low_rate_floor`]; playback only); a SETFRAGMENT request wins
    /// within bounds, but the buffer is never smaller than two mix blocks of
    /// this stream (plus the resampler's few frames of look-ahead), or the
    /// engine could not be fed.
    pub fn geometry(&self) -> (usize, usize) {
        self.geometry_for(true)
    }

    /// [`Dsp::geometry`] of the playback buffer (`playback`), or of the
    /// recording one, which has no preload to hold and so no low-rate floor.
    fn geometry_for(&self, playback: bool) -> (usize, usize) {
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
        let floor = match self.frag_request {
            None if playback => self.low_rate_floor().div_ceil(size),
            _ => 0,
        };
        (
            size,
            count.clamp(MIN_FRAGS, MAX_FRAGS).max(needed).max(floor),
        )
    }

    /// Bytes the default buffer of a slow stream holds at least, whatever
    /// the device period: programs size their preloads and first writes in
    /// bytes, from drivers whose DMA buffer held tens of KiB at any rate
    /// (OSS 4 gives a client 64 KiB; its sndkit's synctest writes 32 KiB of
    /// 8 kHz U8 to each file of a sync group before starting it). 32 KiB
    /// at 8,000 bytes a second or less (4.1 s of 8 kHz U8 or mu-law mono),
    /// a quarter of that at each doubling of the byte rate (8 KiB, 0.5 s,
    /// at 8 kHz S16 mono; 2 KiB, 64 ms, at 16 kHz S16 mono), so that from
    /// about 44.1 kHz S16 mono up it is less than the period-based default
    /// and the rates games and players use keep their low latency.
    pub fn low_rate_floor(&self) -> usize {
        let rate = u64::from(self.fmt.rate) * self.fmt.frame_bytes() as u64;
        let floor = LOW_RATE_BUFFER * LOW_RATE * LOW_RATE / (rate * rate).max(1);
        floor.min(LOW_RATE_BUFFER) as usize
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
        let (size, count) = self.geometry_for(false);
        let mut r = RecVoice::new(self.fmt, dev, size * count, quality);
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
}

#[cfg(test)]
mod tests;
