//! Shared setup for the benchmarks: a mixer with `n` voices whose rings are
//! topped up outside the timed part, the plain-copy floor of the same bytes,
//! and test signals in any sample format.

#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use ossd::mix::{Bus, Mixer, Quality, Voice};
use ossd::pcm::format::{self, SampleFormat};
use ossd::pcm::{DeviceConfig, PcmFormat};

/// The device every mix figure uses: S16_LE stereo 48 kHz, 256-frame periods.
pub const DEV_RATE: u32 = 48_000;
pub const PERIOD: u32 = 256;

/// Periods a voice's ring holds: the rings are filled to the brim, then this
/// many periods are mixed (timed) before the next top-up (not timed).
pub const BATCH: usize = 16;

pub fn device(sample: SampleFormat, period: u32) -> DeviceConfig {
    DeviceConfig {
        pcm: PcmFormat {
            sample,
            channels: 2,
            rate: DEV_RATE,
        },
        period_frames: period,
        buffer_frames: period * 4,
    }
}

/// `frames` frames of a sine (every channel the same) encoded as `fmt`.
pub fn sine_bytes(fmt: PcmFormat, freq: f64, amp: f64, phase: f64, frames: usize) -> Vec<u8> {
    let ch = fmt.channels as usize;
    let x: Vec<f64> = (0..frames * ch)
        .map(|i| {
            let t = (i / ch) as f64 / fmt.rate as f64;
            amp * (std::f64::consts::TAU * freq * t + phase).sin()
        })
        .collect();
    let mut out = vec![0u8; x.len() * fmt.sample.bytes_per_sample()];
    format::encode(fmt.sample, &x, &mut out);
    out
}

/// Mixer-cost scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// S16_LE stereo 48 kHz into the 48 kHz device: decode, add, encode.
    SameRate,
    /// S16_LE stereo 44.1 kHz, resampled with this quality.
    Resampled(Quality),
}

impl Path {
    pub const ALL: [Path; 3] = [
        Path::SameRate,
        Path::Resampled(Quality::Fast),
        Path::Resampled(Quality::High),
    ];

    pub fn rate(self) -> u32 {
        match self {
            Path::SameRate => 48_000,
            Path::Resampled(_) => 44_100,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Path::SameRate => "48k->48k",
            Path::Resampled(Quality::Fast) => "44.1k->48k fast",
            Path::Resampled(Quality::High) => "44.1k->48k high",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Path::SameRate => "same_rate",
            Path::Resampled(Quality::Fast) => "resample_fast",
            Path::Resampled(Quality::High) => "resample_high",
        }
    }

    pub fn stream(self) -> PcmFormat {
        PcmFormat {
            sample: SampleFormat::S16Le,
            channels: 2,
            rate: self.rate(),
        }
    }

    fn quality(self) -> Quality {
        match self {
            Path::SameRate => Quality::Fast,
            Path::Resampled(q) => q,
        }
    }
}

/// A mixer with `n` running voices, each with a ring of `BATCH + 1` periods of
/// its input.
pub struct MixCase {
    pub mixer: Mixer,
    ids: Vec<usize>,
    /// One second of the stream's audio; voice i reads it from its own offset.
    source: Vec<u8>,
    offsets: Vec<usize>,
    pub path: Path,
}

impl MixCase {
    pub fn new(n: usize, path: Path) -> MixCase {
        let dev = device(SampleFormat::S16Le, PERIOD);
        let fmt = path.stream();
        let fb = fmt.frame_bytes();
        let probe = Voice::new(fmt, &dev, 0, path.quality());
        let ring = (BATCH + 1) * probe.max_input_frames() * fb;
        let mut mixer = Mixer::new(dev);
        // Quiet enough that 256 of them do not clip (clipping costs nothing
        // extra, but keeps the numbers honest for any format).
        let source = sine_bytes(fmt, 997.0, 0.003, 0.0, fmt.rate as usize);
        let ids = (0..n)
            .map(|_| mixer.insert(Voice::new(fmt, &dev, ring, path.quality())))
            .collect();
        let offsets = (0..n)
            .map(|i| (i * 4099 % fmt.rate as usize) * fb)
            .collect();
        let mut case = MixCase {
            mixer,
            ids,
            source,
            offsets,
            path,
        };
        case.top_up();
        case
    }

    /// Fills every ring to the brim (enough for `BATCH` periods). Not timed.
    pub fn top_up(&mut self) {
        for (k, &id) in self.ids.iter().enumerate() {
            let v = self.mixer.voice_mut(id).expect("inserted");
            loop {
                let off = self.offsets[k];
                let n = v.push(&self.source[off..]);
                if n == 0 {
                    break;
                }
                self.offsets[k] = (off + n) % self.source.len();
            }
        }
    }

    /// Mixes `periods` periods, topping up every `BATCH`; returns the time
    /// spent in `mix_period` only.
    pub fn mix(&mut self, periods: u64) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = periods;
        while left > 0 {
            self.top_up();
            let n = left.min(BATCH as u64);
            let t = Instant::now();
            for _ in 0..n {
                black_box(self.mixer.mix_period());
            }
            total += t.elapsed();
            left -= n;
        }
        total
    }

    /// Mixes `periods` periods the way the engine does (begin under the
    /// lock, render without it, end under it), topping up every `BATCH`;
    /// returns the time in begin + end (what holds the lock) and in all.
    pub fn mix_split(&mut self, bus: &mut Bus, periods: u64) -> (Duration, Duration) {
        let (mut locked, mut total) = (Duration::ZERO, Duration::ZERO);
        let mut left = periods;
        while left > 0 {
            self.top_up();
            let n = left.min(BATCH as u64);
            for _ in 0..n {
                let t0 = Instant::now();
                self.mixer.begin_period(bus);
                let t1 = Instant::now();
                black_box(bus.render());
                let t2 = Instant::now();
                self.mixer.end_period(bus);
                let t3 = Instant::now();
                locked += (t1 - t0) + (t3 - t2);
                total += t3 - t0;
            }
            left -= n;
        }
        (locked, total)
    }

    /// Client bytes each voice's ring gives up per period, on average.
    pub fn bytes_per_period_per_voice(&self) -> usize {
        let fmt = self.path.stream();
        (PERIOD as usize * fmt.rate as usize).div_ceil(DEV_RATE as usize) * fmt.frame_bytes()
    }
}

/// The floor: `n` streams' bytes for one period copied with `copy_from_slice`
/// from per-stream buffers (read like rings) into one output buffer.
pub struct CopyCase {
    srcs: Vec<Vec<u8>>,
    dst: Vec<u8>,
    chunk: usize,
    pos: usize,
}

impl CopyCase {
    pub fn new(n: usize, chunk: usize) -> CopyCase {
        let src: Vec<u8> = (0..chunk * (BATCH + 1)).map(|i| (i * 7) as u8).collect();
        CopyCase {
            srcs: vec![src; n],
            dst: vec![0; n * chunk],
            chunk,
            pos: 0,
        }
    }

    pub fn copy_period(&mut self) {
        let (c, p) = (self.chunk, self.pos);
        for (d, s) in self.dst.chunks_exact_mut(c).zip(&self.srcs) {
            d.copy_from_slice(&s[p..p + c]);
        }
        black_box(&mut self.dst);
        self.pos = (p + c) % (c * BATCH);
    }

    pub fn copy(&mut self, periods: u64) -> Duration {
        let t = Instant::now();
        for _ in 0..periods {
            self.copy_period();
        }
        t.elapsed()
    }
}

/// Real voice counts of the figures and benches.
pub const VOICES: [usize; 4] = [1, 8, 64, 256];
