//! The mixer: every client stream ([`Voice`]) converted and summed into one
//! device period, the way OSS 4's vmix did it in the kernel.
//!
//! Pure and deterministic: no clock, no device. The engine thread
//! (`daemon::engine`) calls [`Mixer::mix_period`] once per period and hands the
//! bytes to the output; the protocol side adds and removes voices and fills
//! their rings. Samples are `f64` in [-1, 1) inside, so one stream at the
//! device's own format, rate and channels at full volume comes out bit-exact,
//! and sums of integer streams are exact until they clip.

pub mod record;
pub mod ring;
pub mod slots;
pub mod voice;

pub use voice::{Quality, Voice, VoiceState};

use record::{RecVoice, Recorders};
use slots::Slots;

use crate::oss::format::{self, SampleFormat};

/// A PCM stream format: sample encoding, channels, frames per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmFormat {
    pub sample: SampleFormat,
    pub channels: u32,
    pub rate: u32,
}

impl PcmFormat {
    pub fn frame_bytes(&self) -> usize {
        self.sample.bytes_per_sample() * self.channels as usize
    }
}

/// What the output device was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceConfig {
    pub pcm: PcmFormat,
    pub period_frames: u32,
    pub buffer_frames: u32,
}

impl DeviceConfig {
    pub fn period_bytes(&self) -> usize {
        self.period_frames as usize * self.pcm.frame_bytes()
    }
}

/// Index of a voice in the mixer.
pub type VoiceId = usize;

#[derive(Debug)]
pub struct Mixer {
    dev: DeviceConfig,
    voices: Slots<Voice>,
    acc: Vec<f64>,
    out: Vec<u8>,
    /// Device frames mixed so far: the index of the next period's first frame.
    frames_mixed: u64,
    /// Master gain per device channel (the mixer's VOLUME/PCM controls).
    pub master: Vec<f64>,
    /// Readers of the monitor node: they record the mix as it is played.
    pub monitors: Recorders,
    /// Bend peaks above -1 dBFS softly instead of clipping them hard.
    pub limiter: bool,
}

impl Mixer {
    pub fn new(dev: DeviceConfig) -> Mixer {
        let samples = dev.period_frames as usize * dev.pcm.channels as usize;
        Mixer {
            dev,
            voices: Slots::default(),
            acc: vec![0.0; samples],
            out: vec![0; dev.period_bytes()],
            frames_mixed: 0,
            master: vec![1.0; dev.pcm.channels as usize],
            monitors: Recorders::default(),
            limiter: false,
        }
    }

    pub fn device(&self) -> &DeviceConfig {
        &self.dev
    }

    pub fn frames_mixed(&self) -> u64 {
        self.frames_mixed
    }

    /// Adds a voice; the slot is reused after [`Mixer::remove`].
    pub fn insert(&mut self, voice: Voice) -> VoiceId {
        self.voices.insert(voice)
    }

    /// Puts `voice` in place of the one at `id` and returns the old one, so
    /// the caller can drop it outside any lock.
    pub fn replace(&mut self, id: VoiceId, voice: Voice) -> Option<Voice> {
        self.voices.replace(id, voice)
    }

    pub fn remove(&mut self, id: VoiceId) -> Option<Voice> {
        self.voices.remove(id)
    }

    pub fn voice(&self, id: VoiceId) -> Option<&Voice> {
        self.voices.get(id)
    }

    pub fn voice_mut(&mut self, id: VoiceId) -> Option<&mut Voice> {
        self.voices.get_mut(id)
    }

    /// A file's playback voice and monitor recorder at once.
    pub fn streams_mut(
        &mut self,
        play: Option<VoiceId>,
        monitor: Option<usize>,
    ) -> (Option<&mut Voice>, Option<&mut RecVoice>) {
        let v = play.and_then(|id| self.voices.get_mut(id));
        let r = monitor.and_then(|id| self.monitors.get_mut(id));
        (v, r)
    }

    pub fn voices(&self) -> impl Iterator<Item = (VoiceId, &Voice)> {
        self.voices.iter()
    }

    /// Mixes the next period and returns it in the device's format.
    /// Allocates nothing.
    pub fn mix_period(&mut self) -> &[u8] {
        self.acc.fill(0.0);
        let start = self.frames_mixed;
        for v in self.voices.values_mut() {
            v.render(&mut self.acc, start);
        }
        let ch = self.master.len();
        if self.master.iter().any(|&g| g != 1.0) {
            for frame in self.acc.chunks_exact_mut(ch) {
                for (x, g) in frame.iter_mut().zip(&self.master) {
                    *x *= g;
                }
            }
        }
        if self.limiter {
            soft_limit(&mut self.acc);
        }
        self.monitors.feed(&self.acc);
        format::encode(self.dev.pcm.sample, &self.acc, &mut self.out);
        self.frames_mixed += self.dev.period_frames as u64;
        &self.out
    }
}

/// Where the soft limiter starts to bend: -1 dBFS.
const LIMIT_KNEE: f64 = 0.891_250_938_133_745_5;

/// A memoryless soft limiter: samples within ±[`LIMIT_KNEE`] pass untouched
/// (so quiet material stays bit-exact), louder ones are bent by tanh into the
/// remaining headroom, approaching full scale without a hard corner.
pub fn soft_limit(samples: &mut [f64]) {
    let room = 1.0 - LIMIT_KNEE;
    for x in samples {
        let a = x.abs();
        if a > LIMIT_KNEE {
            *x = (LIMIT_KNEE + room * ((a - LIMIT_KNEE) / room).tanh()).copysign(*x);
        }
    }
}

/// Fixtures shared by the mixer's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// An S16_LE stereo 48 kHz device with small periods.
    pub fn dev() -> DeviceConfig {
        DeviceConfig {
            pcm: PcmFormat {
                sample: SampleFormat::S16Le,
                channels: 2,
                rate: 48000,
            },
            period_frames: 4,
            buffer_frames: 16,
        }
    }

    /// S16_LE bytes of these samples.
    pub fn s16(v: &[i16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{dev, s16};
    use super::*;

    #[test]
    fn two_streams_sum_exactly_and_clip_at_full_scale() {
        let d = dev();
        let mut m = Mixer::new(d);
        let a = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        let b = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        m.voice_mut(a)
            .unwrap()
            .ring
            .push(&s16(&[100, -200, 30000, 1, 2, 3, 4, 5]));
        m.voice_mut(b)
            .unwrap()
            .ring
            .push(&s16(&[-50, 7, 30000, -1, 2, 3, 4, 5]));
        let out = m.mix_period().to_vec();
        assert_eq!(out, s16(&[50, -193, 32767, 0, 4, 6, 8, 10]));
        assert_eq!(m.frames_mixed(), 4);
        // Nothing queued: silence.
        assert_eq!(m.mix_period(), &s16(&[0; 8])[..]);
    }

    #[test]
    fn the_limiter_leaves_quiet_samples_alone_and_bends_loud_ones() {
        let mut x = vec![0.5, -0.89, 0.95, -1.5, 4.0, 0.0];
        soft_limit(&mut x);
        assert_eq!(&x[..2], &[0.5, -0.89]);
        assert!(x[2] > 0.891 && x[2] < 0.95);
        assert!(x[3] < -0.891 && x[3] > -1.0);
        assert!(x[4] <= 1.0 && x[4] > x[2]);
        assert_eq!(x[5], 0.0);
    }

    #[test]
    fn removed_slots_are_reused() {
        let d = dev();
        let mut m = Mixer::new(d);
        let a = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        let _b = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        assert!(m.remove(a).is_some());
        assert_eq!(m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast)), a);
        assert_eq!(m.voices().count(), 2);
    }
}
