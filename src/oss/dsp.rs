//! One open file of /dev/dsp: its OSS settings and what each ioctl does to
//! them. A pure state machine: the daemon hands it the file's [`Voice`] (the
//! buffer the engine reads) and the device's play position, and carries out
//! the [`Outcome`] (reply now, or park until drained).
//!
//! Where the OSS documents leave a choice, the OSS 4 developer manual's page
//! for that ioctl decides, and the choice is noted at the arm that makes it.

use crate::mix::{DeviceConfig, PcmFormat, Voice};
use crate::oss::format::{self, SampleFormat};
use crate::oss::soundcard::*;

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
        Outcome::Reply {
            result: 0,
            out: v.to_ne_bytes().to_vec(),
        }
    }
    fn bytes(out: Vec<u8>) -> Outcome {
        Outcome::Reply { result: 0, out }
    }
}

/// Where the device is now, for the calls that report timing.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Device frames played so far.
    pub played: u64,
}

/// One open file's OSS state.
#[derive(Debug, Clone)]
pub struct Dsp {
    dev: DeviceConfig,
    pub fmt: PcmFormat,
    /// The SETFRAGMENT request, if any (applied whenever the buffer is rebuilt).
    frag_request: Option<(usize, usize)>,
    /// Set by SNDCTL_DSP_NONBLOCK; it sticks until close.
    pub nonblock: bool,
    /// A write or read has happened: the buffer geometry is fixed from here.
    pub io_started: bool,
    /// The format, channels, rate or fragments changed: the voice must be rebuilt.
    pub dirty: bool,
    /// Fragments reported played by the last GETOPTR (its `blocks` counts from here).
    optr_blocks_seen: u64,
}

impl Dsp {
    /// A fresh open: U8, mono, 8000 Hz, as OSS has always been.
    pub fn new(dev: DeviceConfig) -> Dsp {
        Dsp {
            dev,
            fmt: PcmFormat {
                sample: SampleFormat::U8,
                channels: 1,
                rate: 8000,
            },
            frag_request: None,
            nonblock: false,
            io_started: false,
            dirty: false,
            optr_blocks_seen: 0,
        }
    }

    /// (fragment size, fragment count) for the current format. The default is
    /// a power of two near one device period of this stream, times four; a
    /// SETFRAGMENT request wins within bounds, but the buffer is never
    /// smaller than two periods of this stream, or the engine could not be fed.
    pub fn geometry(&self) -> (usize, usize) {
        let fb = self.fmt.frame_bytes();
        let period_in = (self.dev.period_frames as u64 * self.fmt.rate as u64)
            .div_ceil(self.dev.pcm.rate as u64) as usize
            + 8; // resampler slack
        let (size, count) = match self.frag_request {
            Some((size, count)) => (size, count),
            None => (
                (period_in * fb)
                    .next_power_of_two()
                    .clamp(1 << MIN_FRAG_SHIFT, 1 << MAX_FRAG_SHIFT),
                DEFAULT_FRAGS,
            ),
        };
        let min_total = 2 * period_in * fb;
        let count = count
            .max(min_total.div_ceil(size))
            .clamp(MIN_FRAGS, MAX_FRAGS.max(min_total.div_ceil(size)));
        (size, count)
    }

    /// Ring bytes for [`Voice::new`].
    pub fn buffer_bytes(&self) -> usize {
        let (size, count) = self.geometry();
        size * count
    }

    /// Builds the voice this file's settings call for.
    pub fn make_voice(&self, quality: crate::mix::Quality) -> Voice {
        Voice::new(self.fmt, &self.dev, self.buffer_bytes(), quality)
    }

    /// Bytes not yet audible: queued in the ring, plus what the engine has
    /// taken but the device has not played yet (in this stream's bytes).
    pub fn odelay(&self, voice: &Voice, clock: Clock) -> u64 {
        let in_flight = voice.sound_end.saturating_sub(clock.played);
        let frames = (in_flight * self.fmt.rate as u64).div_ceil(self.dev.pcm.rate as u64);
        voice.ring.len() as u64 + (frames * self.fmt.frame_bytes() as u64).min(voice.consumed_bytes)
    }

    /// Bytes of this stream that the device has played.
    pub fn played_bytes(&self, voice: &Voice, clock: Clock) -> u64 {
        (voice.consumed_bytes + voice.ring.len() as u64).saturating_sub(self.odelay(voice, clock))
    }

    /// Handles one ioctl. `input` is what the kernel copied in (restricted
    /// mode: the size encoded in `cmd`).
    pub fn ioctl(&mut self, voice: &mut Voice, clock: Clock, cmd: u32, input: &[u8]) -> Outcome {
        let arg = || -> Option<i32> {
            input
                .get(..4)
                .map(|b| i32::from_ne_bytes(b.try_into().expect("4 bytes")))
        };
        macro_rules! need_arg {
            () => {
                match arg() {
                    Some(v) => v,
                    None => return Outcome::Error(libc::EINVAL),
                }
            };
        }
        match cmd {
            SNDCTL_DSP_SETFMT => {
                let v = need_arg!();
                // AFMT_QUERY (0) and negative values only report.
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
                let v = need_arg!();
                // 0 or negative: report only (as the manual allows "query").
                if v > 0 {
                    let ch = (v as u32).clamp(1, MAX_CHANNELS);
                    self.set_fmt(PcmFormat {
                        channels: ch,
                        ..self.fmt
                    });
                }
                Outcome::int(self.fmt.channels as i32)
            }
            SNDCTL_DSP_STEREO => {
                let v = need_arg!();
                let ch = if v != 0 { 2 } else { 1 };
                self.set_fmt(PcmFormat {
                    channels: ch,
                    ..self.fmt
                });
                Outcome::int((self.fmt.channels == 2) as i32)
            }
            SNDCTL_DSP_SPEED => {
                let v = need_arg!();
                if v > 0 {
                    let rate = (v as u32).clamp(MIN_RATE, MAX_RATE);
                    self.set_fmt(PcmFormat { rate, ..self.fmt });
                }
                Outcome::int(self.fmt.rate as i32)
            }
            SOUND_PCM_READ_RATE => Outcome::int(self.fmt.rate as i32),
            SOUND_PCM_READ_CHANNELS => Outcome::int(self.fmt.channels as i32),
            SOUND_PCM_READ_BITS => Outcome::int(self.fmt.sample.afmt() as i32),
            SNDCTL_DSP_SETFRAGMENT => {
                let v = need_arg!() as u32;
                // A hint honoured only before the first read/write (manual).
                if !self.io_started {
                    let shift = (v & 0xffff).clamp(MIN_FRAG_SHIFT, MAX_FRAG_SHIFT);
                    let size = 1usize << shift;
                    let max_count = (MAX_BUFFER / size).min(MAX_FRAGS);
                    let count = match (v >> 16) as usize {
                        0 => DEFAULT_FRAGS, // 0 means "no limit" in OSS 4: use the default
                        c => c.clamp(MIN_FRAGS, max_count),
                    };
                    self.frag_request = Some((size, count));
                    self.dirty = true;
                }
                let (size, count) = self.geometry();
                Outcome::int(((count as u32) << 16 | size.trailing_zeros()) as i32)
            }
            SNDCTL_DSP_GETBLKSIZE => Outcome::int(self.geometry().0 as i32),
            SNDCTL_DSP_GETOSPACE => {
                let (size, _) = self.geometry();
                let total = if self.dirty {
                    self.buffer_bytes()
                } else {
                    voice.ring.capacity()
                };
                let free = if self.dirty {
                    total
                } else {
                    voice.ring.space()
                };
                Outcome::bytes(
                    AudioBufInfo {
                        fragments: (free / size) as i32,
                        fragstotal: (total / size) as i32,
                        fragsize: size as i32,
                        bytes: free as i32,
                    }
                    .to_bytes()
                    .to_vec(),
                )
            }
            SNDCTL_DSP_GETODELAY => {
                Outcome::int(self.odelay(voice, clock).min(i32::MAX as u64) as i32)
            }
            SNDCTL_DSP_GETOPTR => {
                let (size, _) = self.geometry();
                let played = self.played_bytes(voice, clock);
                let blocks = played / size as u64;
                let new_blocks = blocks.saturating_sub(self.optr_blocks_seen);
                self.optr_blocks_seen = blocks;
                let cap = voice.ring.capacity().max(1) as u64;
                Outcome::bytes(
                    CountInfo {
                        bytes: played as i32,
                        blocks: new_blocks.min(i32::MAX as u64) as i32,
                        ptr: (played % cap) as i32,
                    }
                    .to_bytes()
                    .to_vec(),
                )
            }
            SNDCTL_DSP_SYNC => {
                voice.draining = true;
                voice.kick = true;
                Outcome::ParkUntilDrained
            }
            SNDCTL_DSP_POST => {
                voice.kick = true;
                Outcome::ok()
            }
            SNDCTL_DSP_RESET => {
                voice.reset(clock.played);
                Outcome::ok()
            }
            SNDCTL_DSP_NONBLOCK => {
                self.nonblock = true;
                Outcome::ok()
            }
            SNDCTL_DSP_GETCAPS => Outcome::int(
                (DSP_CAP_REALTIME | DSP_CAP_TRIGGER | DSP_CAP_MULTI | DSP_CAP_OUTPUT | 1) as i32,
            ),
            SNDCTL_DSP_GETTRIGGER => Outcome::int(if voice.trigger {
                PCM_ENABLE_OUTPUT as i32
            } else {
                0
            }),
            SNDCTL_DSP_SETTRIGGER => {
                let v = need_arg!();
                voice.trigger = v & PCM_ENABLE_OUTPUT as i32 != 0;
                if voice.trigger {
                    voice.kick = true;
                }
                Outcome::ok()
            }
            OSS_GETVERSION => Outcome::int(SOUND_VERSION as i32),
            _ => Outcome::Error(libc::EINVAL),
        }
    }

    fn set_fmt(&mut self, fmt: PcmFormat) {
        if fmt != self.fmt {
            self.fmt = fmt;
            self.dirty = true;
        }
    }
}
