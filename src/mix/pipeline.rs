//! A voice's conversion chain, the part of a stream the engine works on
//! outside the shared lock: decode the client's bytes to the mixer's fixed
//! point, resample when the rates differ, map the channels to the device's,
//! apply the volume and add into the period's accumulator.
//!
//! [`super::Voice::begin`] copies one period's input bytes in under the lock
//! (a memcpy) and lends the pipeline out; [`Pipeline::render`] does the rest
//! with no lock held; [`super::Voice::restore`] takes it back. Everything is
//! allocated when the pipeline is made; the rest allocates nothing.
//!
//! Arithmetic is integer except in the `high` resampler (rubato, `f64`):
//! samples are `i32`/`i64` with full scale 2^31 ([`format::FIXED_ONE`]),
//! gains and channel-matrix coefficients Q24. A stream at the device's own
//! format, rate and channels at full volume is a shift in and a shift out:
//! bit-exact.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler};

use super::convert::{apply, gain_q24, mix_into, resampler, ChannelMap, Quality, UNITY};
use super::cubic::Cubic;
use crate::pcm::format::{self, SampleFormat};
use crate::pcm::{DeviceConfig, PcmFormat};

enum Conversion {
    /// Same rate: decode and mix.
    Direct { dec: Vec<i32> },
    /// `fast`: our fixed-point cubic.
    Cubic { rs: Cubic, out: Vec<i64> },
    /// `high`: rubato's sinc, in `f64`.
    Sinc {
        rs: Box<Async<f64>>,
        dec: Vec<f64>,
        out: Vec<f64>,
        fixed: Vec<i64>,
    },
}

/// The last step: the voice's channels onto the device's, with its volume,
/// added into the accumulator.
struct Mixdown {
    in_ch: usize,
    out_ch: usize,
    map: ChannelMap,
    /// `map`'s matrix in Q24 (empty unless it is a matrix).
    qmap: Vec<i64>,
    /// Q24 gain per device channel, as of this period.
    gains: Vec<i64>,
}

impl Mixdown {
    fn add<T: Copy + Into<i64>>(&self, acc: &mut [i64], src: &[T], frames: usize) {
        mix_into(
            acc,
            src,
            frames,
            self.in_ch,
            self.out_ch,
            &self.map,
            &self.qmap,
            &self.gains,
            apply,
        );
    }
}

pub struct Pipeline {
    sample: SampleFormat,
    frame_bytes: usize,
    in_ch: usize,
    period: usize,
    mixdown: Mixdown,
    /// This period's input bytes: `take` whole frames.
    raw: Vec<u8>,
    take: usize,
    /// Input frames the conversion consumes this period (`take` and then
    /// silence).
    need: usize,
    conv: Conversion,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.conv {
            Conversion::Direct { .. } => "direct",
            Conversion::Cubic { .. } => "cubic",
            Conversion::Sinc { .. } => "sinc",
        };
        f.debug_struct("Pipeline")
            .field("sample", &self.sample)
            .field("conversion", &kind)
            .finish()
    }
}

impl Pipeline {
    pub(super) fn new(fmt: PcmFormat, dev: &DeviceConfig, quality: Quality) -> Pipeline {
        let period = dev.period_frames as usize;
        let in_ch = fmt.channels as usize;
        let out_ch = dev.pcm.channels as usize;
        let conv = if fmt.rate == dev.pcm.rate {
            Conversion::Direct {
                dec: vec![0; period * in_ch],
            }
        } else {
            match quality {
                Quality::Fast => Conversion::Cubic {
                    rs: Cubic::new(fmt.rate, dev.pcm.rate, in_ch, period),
                    out: vec![0; period * in_ch],
                },
                Quality::High => {
                    let rs = resampler(
                        fmt.rate,
                        dev.pcm.rate,
                        quality,
                        period,
                        in_ch,
                        FixedAsync::Output,
                    );
                    let max_in = rs.input_frames_max();
                    Conversion::Sinc {
                        rs: Box::new(rs),
                        dec: vec![0.0; max_in * in_ch],
                        out: vec![0.0; period * in_ch],
                        fixed: vec![0; period * in_ch],
                    }
                }
            }
        };
        let map = ChannelMap::new(in_ch, out_ch);
        let qmap = map.matrix().iter().map(|&g| gain_q24(g)).collect();
        let mut p = Pipeline {
            sample: fmt.sample,
            frame_bytes: fmt.frame_bytes(),
            in_ch,
            period,
            mixdown: Mixdown {
                in_ch,
                out_ch,
                map,
                qmap,
                gains: vec![UNITY; out_ch],
            },
            raw: Vec::new(),
            take: 0,
            need: 0,
            conv,
        };
        p.raw = vec![0; p.max_input_frames() * p.frame_bytes];
        p
    }

    /// Input frames one period takes at most.
    pub fn max_input_frames(&self) -> usize {
        match &self.conv {
            Conversion::Direct { .. } => self.period,
            Conversion::Cubic { rs, .. } => rs.max_input_frames(),
            Conversion::Sinc { rs, .. } => rs.input_frames_max(),
        }
    }

    /// Device frames of delay the resampler adds.
    pub fn delay(&self) -> usize {
        match &self.conv {
            Conversion::Sinc { rs, .. } => rs.output_delay(),
            _ => 0,
        }
    }

    /// Starts afresh: no history from before.
    pub(super) fn reset(&mut self) {
        match &mut self.conv {
            Conversion::Direct { .. } => {}
            Conversion::Cubic { rs, .. } => rs.reset(),
            Conversion::Sinc { rs, .. } => rs.reset(),
        }
    }

    /// Input frames the next period consumes.
    pub(super) fn input_frames_next(&self) -> usize {
        match &self.conv {
            Conversion::Direct { .. } => self.period,
            Conversion::Cubic { rs, .. } => rs.input_frames_next(self.period),
            Conversion::Sinc { rs, .. } => rs.input_frames_next(),
        }
    }

    /// Under the lock: this period's input, the first `take` whole frames of
    /// the ring's two slices `a` then `b`, of `need` (the rest is silence),
    /// and the volume (linear, per device channel).
    pub(super) fn load(&mut self, a: &[u8], b: &[u8], take: usize, need: usize, gains: &[f64]) {
        let need = need.min(self.max_input_frames());
        let bytes = take.min(need) * self.frame_bytes;
        let from_a = a.len().min(bytes);
        self.raw[..from_a].copy_from_slice(&a[..from_a]);
        let from_b = (bytes - from_a).min(b.len());
        self.raw[from_a..from_a + from_b].copy_from_slice(&b[..from_b]);
        self.take = (from_a + from_b) / self.frame_bytes;
        self.need = need;
        for (q, &g) in self.mixdown.gains.iter_mut().zip(gains) {
            *q = gain_q24(g);
        }
    }

    /// Outside the lock: converts the loaded period and adds it into `acc`
    /// (device frames × device channels, fixed point).
    pub fn render(&mut self, acc: &mut [i64]) {
        let (ch, take, need) = (self.in_ch, self.take, self.need);
        let raw = &self.raw[..take * self.frame_bytes];
        let mixdown = &self.mixdown;
        match &mut self.conv {
            Conversion::Direct { dec } => {
                if take == 0 {
                    return; // silence adds nothing
                }
                format::decode_fixed(self.sample, raw, &mut dec[..take * ch]);
                mixdown.add(acc, &dec[..take * ch], take);
            }
            Conversion::Cubic { rs, out } => {
                let buf = rs.input(need);
                let n = format::decode_fixed(self.sample, raw, buf);
                buf[n..].fill(0);
                rs.process(out);
                mixdown.add(acc, out, self.period);
            }
            Conversion::Sinc {
                rs,
                dec,
                out,
                fixed,
            } => {
                let n = format::decode(self.sample, raw, &mut dec[..need * ch]);
                dec[n..need * ch].fill(0.0);
                let input = InterleavedSlice::new(&dec[..need * ch], ch, need)
                    .expect("decode buffer holds `need` frames");
                let mut output =
                    InterleavedSlice::new_mut(out, ch, self.period).expect("one period");
                // Cannot fail: the buffers are sized from the resampler's own limits.
                let _ = rs.process_into_buffer(&input, &mut output, None);
                let scale = format::FIXED_ONE as f64;
                for (q, &x) in fixed.iter_mut().zip(out.iter()) {
                    *q = (x * scale) as i64;
                }
                mixdown.add(acc, fixed, self.period);
            }
        }
    }
}
