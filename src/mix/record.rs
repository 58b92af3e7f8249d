//! One reader's recording stream: device frames in, the reader's own format,
//! channels and rate out, into the ring its read()s take from.
//!
//! The mirror of [`super::voice`]: per period, map the device's channels to
//! the reader's and apply its recording gain, resample (rubato) when the
//! rates differ, encode, and append to the ring. A reader that does not keep
//! up loses the newest data and has an overrun counted; nobody else notices.
//! Allocated in [`RecVoice::new`]; [`RecVoice::feed`] does not allocate.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler};

use super::ring::Ring;
use super::slots::Slots;
use super::voice::{mix_into, resampler, ChannelMap, Quality};
use super::{DeviceConfig, PcmFormat};
use crate::oss::format;

pub struct RecVoice {
    pub fmt: PcmFormat,
    pub ring: Ring,
    /// Recording runs (the first read, a poll for input, or SETTRIGGER).
    pub trigger: bool,
    /// Linear gain per reader channel (SETRECVOL and the mixer's IGAIN).
    pub gains: Vec<f64>,
    /// Bytes appended to the ring in all.
    pub produced_bytes: u64,
    /// Periods in which the ring could not take everything.
    pub overruns: u32,
    map: ChannelMap,
    dev_channels: usize,
    /// One period mapped to the reader's channels.
    mapped: Vec<f64>,
    resampler: Option<(Async<f64>, Vec<f64>)>,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for RecVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecVoice")
            .field("fmt", &self.fmt)
            .field("queued", &self.ring.len())
            .field("overruns", &self.overruns)
            .finish()
    }
}

impl RecVoice {
    pub fn new(
        fmt: PcmFormat,
        dev: &DeviceConfig,
        ring_bytes: usize,
        quality: Quality,
    ) -> RecVoice {
        let period = dev.period_frames as usize;
        let ch = fmt.channels as usize;
        let resampler = (fmt.rate != dev.pcm.rate).then(|| {
            let rs = resampler(
                dev.pcm.rate,
                fmt.rate,
                quality,
                period,
                ch,
                FixedAsync::Input,
            );
            let out = vec![0.0; rs.output_frames_max() * ch];
            (rs, out)
        });
        let max_out = resampler
            .as_ref()
            .map_or(period, |(r, _)| r.output_frames_max());
        let fb = fmt.frame_bytes();
        RecVoice {
            fmt,
            // Recording latency does not grow with the ring (data is readable
            // as soon as it is captured), so it holds at least half a second:
            // a reader, or the protocol thread, may stall that long before
            // anything is lost.
            ring: Ring::new(
                (ring_bytes / fb)
                    .max(2 * max_out)
                    .max(fmt.rate as usize / 2)
                    * fb,
            ),
            trigger: false,
            gains: vec![1.0; ch],
            produced_bytes: 0,
            overruns: 0,
            map: ChannelMap::new(dev.pcm.channels as usize, ch),
            dev_channels: dev.pcm.channels as usize,
            mapped: vec![0.0; period * ch],
            resampler,
            bytes: vec![0; max_out * fb],
        }
    }

    /// Takes one period of device frames (interleaved, device channels).
    pub fn feed(&mut self, frames: &[f64]) {
        if !self.trigger {
            return;
        }
        let ch = self.fmt.channels as usize;
        let n = (frames.len() / self.dev_channels).min(self.mapped.len() / ch);
        self.mapped[..n * ch].fill(0.0);
        mix_into(
            &mut self.mapped,
            frames,
            n,
            self.dev_channels,
            ch,
            &self.map,
            &self.gains,
        );
        let out: &[f64] = match &mut self.resampler {
            Some((rs, out)) => {
                let cap = out.len() / ch;
                let input = InterleavedSlice::new(&self.mapped[..n * ch], ch, n).expect("n frames");
                let mut output =
                    InterleavedSlice::new_mut(out, ch, cap).expect("output_frames_max");
                // Cannot fail: the buffers are sized from the resampler's own limits.
                let written = rs
                    .process_into_buffer(&input, &mut output, None)
                    .map_or(0, |(_, w)| w);
                &out[..written * ch]
            }
            None => &self.mapped[..n * ch],
        };
        let len = out.len() * self.fmt.sample.bytes_per_sample();
        format::encode(self.fmt.sample, out, &mut self.bytes[..len]);
        let took = self.ring.push(&self.bytes[..len]);
        self.produced_bytes += took as u64;
        if took < len {
            self.overruns = self.overruns.saturating_add(1);
        }
    }

    /// Drops what is queued and stops recording until the next start (HALT_INPUT).
    pub fn halt(&mut self) {
        self.ring.clear();
        self.trigger = false;
        if let Some((rs, _)) = &mut self.resampler {
            rs.reset();
        }
    }

    /// Frames of delay the resampler adds (0 without resampling).
    pub fn resampler_delay(&self) -> usize {
        self.resampler.as_ref().map_or(0, |(r, _)| r.output_delay())
    }
}

/// The recording voices fed from one source (the capture device, or the mix
/// for monitor readers).
pub type Recorders = Slots<RecVoice>;

impl Slots<RecVoice> {
    /// Feeds one period to every recording voice.
    pub fn feed(&mut self, frames: &[f64]) {
        for v in self.values_mut() {
            v.feed(frames);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mix::fixtures::{dev, s16};
    use crate::oss::format::SampleFormat;

    fn frames(v: &[i16]) -> Vec<f64> {
        v.iter().map(|&x| x as f64 / 32768.0).collect()
    }

    #[test]
    fn native_reader_gets_the_device_bit_exact() {
        let d = dev();
        let mut r = RecVoice::new(d.pcm, &d, 64, Quality::Fast);
        let period = [1, -1, 32767, -32768, 5, 6, 7, 8];
        r.feed(&frames(&period));
        assert!(r.ring.is_empty(), "nothing recorded before the trigger");
        r.trigger = true;
        r.feed(&frames(&period));
        let (a, b) = r.ring.slices();
        assert_eq!([a, b].concat(), s16(&period));
        assert_eq!(r.produced_bytes, 16);
    }

    #[test]
    fn stereo_to_mono_averages_and_overruns_are_counted() {
        let d = dev();
        let fmt = PcmFormat {
            channels: 1,
            ..d.pcm
        };
        let mut r = RecVoice::new(fmt, &d, 0, Quality::Fast);
        r.trigger = true;
        r.feed(&frames(&[100, 300, -200, -400, 0, 0, 2, 2]));
        let (a, _) = r.ring.slices();
        assert_eq!(a, &s16(&[200, -300, 0, 2])[..]);
        // The ring holds half a second (24000 frames of 4-frame periods).
        for _ in 1..6000 {
            r.feed(&frames(&[1; 8]));
        }
        assert_eq!(r.overruns, 0);
        r.feed(&frames(&[1; 8]));
        assert_eq!(r.overruns, 1);
    }

    #[test]
    fn resampled_reader_gets_its_rate() {
        let d = DeviceConfig {
            period_frames: 480,
            buffer_frames: 1920,
            ..dev()
        };
        let fmt = PcmFormat {
            sample: SampleFormat::U8,
            channels: 1,
            rate: 8000,
        };
        let mut r = RecVoice::new(fmt, &d, 1 << 16, Quality::Fast);
        r.trigger = true;
        let period: Vec<f64> = (0..960)
            .map(|i| ((i / 2) as f64 * 0.05).sin() * 0.5)
            .collect();
        for _ in 0..100 {
            r.feed(&period);
            let n = r.ring.len();
            r.ring.consume(n);
        }
        // 100 periods of 10 ms at 48 kHz = 1 s = 8000 frames at 8 kHz.
        assert!(r.produced_bytes.abs_diff(8000) <= 2, "{}", r.produced_bytes);
    }
}
