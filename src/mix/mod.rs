//! The mixer: every client stream ([`Voice`]) converted and summed into one
//! device period, the way OSS 4's vmix did it in the kernel.
//!
//! Pure and deterministic: no clock, no device. Each period the engine thread
//! (`daemon::engine`) calls [`Mixer::begin_period`] under the shared lock
//! (each voice's input for the period is copied out and its pipeline lent),
//! [`Bus::render`] with the lock released (the conversion, resampling and
//! summing), and [`Mixer::end_period`] under the lock again (pipelines back,
//! monitors fed). [`Mixer::mix_period`] does all three in one call. The
//! protocol side adds and removes voices and fills their rings meanwhile.
//!
//! Samples are fixed point inside, full scale 2^31 in an `i64` accumulator
//! ([`FIXED_ONE`](crate::pcm::format::FIXED_ONE)): one stream at the device's own format, rate and
//! channels at full volume comes out bit-exact, sums of integer streams are
//! exact until they clip, and the common path needs no floating point at all.

pub mod convert;
pub mod cubic;
pub mod lend;
pub mod pipeline;
pub mod record;
pub mod ring;
pub mod slots;
pub mod voice;

pub use convert::Quality;
pub use voice::{Voice, VoiceState};

use lend::Graveyard;
use pipeline::Pipeline;
use record::{RecVoice, RecWork, Recorders};
use slots::Slots;

use crate::pcm::format::{self, SampleFormat};
use crate::pcm::DeviceConfig;

/// Index of a voice in the mixer.
pub type VoiceId = usize;

/// Pipelines a [`Bus`] can have out at once; voices beyond that many are
/// rendered under the lock (still without allocating).
const WORK_CAPACITY: usize = 256;

/// The engine's side of a period: the accumulator, the output bytes, and
/// the pipelines lent out for this period. Allocated once
/// ([`Bus::new`]); nothing in it allocates afterwards.
#[derive(Debug)]
pub struct Bus {
    sample: SampleFormat,
    acc: Vec<i64>,
    /// The mix as floats, for the limiter and the monitors.
    float: Vec<f64>,
    out: Vec<u8>,
    /// The pipelines lent, each with its voice's peak in this period
    /// (measured while `meters`).
    work: Vec<(VoiceId, Box<Pipeline>, i64)>,
    /// One voice's contribution, apart, for its peak (meters on).
    scratch: Vec<i64>,
    /// Measure each voice's peak (someone watches the meters).
    meters: bool,
    /// The monitor readers' conversions lent for this period.
    rec: RecWork,
    /// Master gain per device channel, Q24, as of `begin_period`.
    master: Vec<i64>,
    unity: bool,
    limiter: bool,
    monitors: bool,
    /// Voices rendered straight into `acc` in `begin_period`.
    inline: bool,
    /// `out` holds silence already.
    silent: bool,
}

impl Bus {
    pub fn new(dev: &DeviceConfig) -> Bus {
        let samples = dev.period_frames as usize * dev.pcm.channels as usize;
        let mut out = vec![0; dev.period_bytes()];
        dev.pcm.sample.fill_silence(&mut out);
        Bus {
            sample: dev.pcm.sample,
            acc: vec![0; samples],
            scratch: vec![0; samples],
            meters: false,
            float: vec![0.0; samples],
            out,
            work: Vec::with_capacity(WORK_CAPACITY),
            rec: RecWork::default(),
            master: vec![convert::UNITY; dev.pcm.channels as usize],
            unity: true,
            limiter: false,
            monitors: false,
            inline: false,
            silent: true,
        }
    }

    /// Encodes in `dev`'s sample format from now on (the output moved to a
    /// device that takes another); allocates, so only on such a move.
    pub fn retarget(&mut self, dev: &DeviceConfig) {
        if dev.pcm.sample != self.sample || self.out.len() != dev.period_bytes() {
            self.sample = dev.pcm.sample;
            self.out = vec![0; dev.period_bytes()];
            self.sample.fill_silence(&mut self.out);
            self.silent = true;
        }
    }

    /// After [`Mixer::begin_period`]: whether any voice plays in this period.
    pub fn playing(&self) -> bool {
        self.inline || !self.work.is_empty()
    }

    /// Without the lock: renders the pipelines lent in
    /// [`Mixer::begin_period`], applies the master volume (and the limiter)
    /// and encodes the period in the device's format. Allocates nothing.
    pub fn render(&mut self) -> &[u8] {
        if self.meters {
            // Each voice apart, then summed: its peak costs one pass over
            // a period. Only while someone watches.
            for (_, pipe, peak) in &mut self.work {
                self.scratch.fill(0);
                pipe.render(&mut self.scratch);
                let mut p = 0;
                for (a, &x) in self.acc.iter_mut().zip(&self.scratch) {
                    *a += x;
                    p = p.max(x.abs());
                }
                *peak = p;
            }
        } else {
            for (_, pipe, _) in &mut self.work {
                pipe.render(&mut self.acc);
            }
        }
        let playing = self.inline || !self.work.is_empty();
        if playing && !self.unity {
            let ch = self.master.len();
            for frame in self.acc.chunks_exact_mut(ch) {
                for (x, &g) in frame.iter_mut().zip(&self.master) {
                    *x = convert::apply(*x, g);
                }
            }
        }
        if self.limiter || self.monitors {
            let scale = 1.0 / format::FIXED_ONE as f64;
            for (f, &x) in self.float.iter_mut().zip(&self.acc) {
                *f = x as f64 * scale;
            }
            if self.limiter {
                soft_limit(&mut self.float);
            }
            if self.monitors {
                self.rec.convert(&self.float);
            }
        }
        if !playing {
            if !self.silent {
                self.sample.fill_silence(&mut self.out);
                self.silent = true;
            }
        } else if self.limiter {
            format::encode(self.sample, &self.float, &mut self.out);
            self.silent = false;
        } else {
            format::encode_fixed(self.sample, &self.acc, &mut self.out);
            self.silent = false;
        }
        &self.out
    }

    /// The period [`Bus::render`] made.
    pub fn out(&self) -> &[u8] {
        &self.out
    }
}

#[derive(Debug)]
pub struct Mixer {
    dev: DeviceConfig,
    voices: Slots<Voice>,
    /// The bus of [`Mixer::mix_period`] (taken while it runs).
    bus: Option<Bus>,
    /// Pipelines that came back for a voice that was removed or replaced
    /// while they were out ([`Mixer::take_dead`]).
    dead: Graveyard<Pipeline>,
    /// Device frames mixed so far: the index of the next period's first frame.
    frames_mixed: u64,
    /// Master gain per device channel (the mixer's VOLUME/PCM controls).
    pub master: Vec<f64>,
    /// Readers of the monitor node: they record the mix as it is played.
    pub monitors: Recorders,
    /// Bend peaks above -1 dBFS softly instead of clipping them hard.
    pub limiter: bool,
    /// Measure each voice's peak ([`Voice::take_peak`]): set while someone
    /// watches (the control socket); off, it costs nothing.
    pub meters: bool,
}

impl Mixer {
    pub fn new(dev: DeviceConfig) -> Mixer {
        Mixer {
            dev,
            voices: Slots::default(),
            bus: Some(Bus::new(&dev)),
            dead: Graveyard::with_capacity(64),
            frames_mixed: 0,
            master: vec![1.0; dev.pcm.channels as usize],
            monitors: Recorders::default(),
            limiter: false,
            meters: false,
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

    /// Moves the pipelines of removed voices into `into`, for the caller to
    /// drop outside the lock. (The monitors keep theirs:
    /// [`Recorders::take_dead`].)
    pub fn take_dead(&mut self, into: &mut Vec<Box<Pipeline>>) {
        self.dead.collect(into);
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

    /// The device stood still (an underrun): every voice that was playing
    /// counts one (its sound meanwhile is skipped to keep real time).
    pub fn count_device_underrun(&mut self) {
        for (_, v) in self.voices.iter_mut() {
            v.count_device_underrun();
        }
    }

    pub fn voices(&self) -> impl Iterator<Item = (VoiceId, &Voice)> {
        self.voices.iter()
    }

    /// Someone has a stream: a voice (playing or not) or a monitor reader.
    pub fn is_active(&self) -> bool {
        !self.voices.is_empty() || !self.monitors.is_empty()
    }

    /// Under the lock: starts the next period on `bus`. Each playing voice's
    /// input is copied into its pipeline, which is lent to the bus.
    pub fn begin_period(&mut self, bus: &mut Bus) {
        bus.acc.fill(0);
        bus.inline = false;
        for (q, &g) in bus.master.iter_mut().zip(&self.master) {
            *q = convert::gain_q24(g);
        }
        bus.unity = bus.master.iter().all(|&g| g == convert::UNITY);
        bus.limiter = self.limiter;
        bus.meters = self.meters;
        bus.monitors = !self.monitors.is_empty();
        if bus.monitors {
            self.monitors.begin(&mut bus.rec);
        }
        let start = self.frames_mixed;
        for (id, v) in self.voices.iter_mut() {
            let Some(mut pipe) = v.begin(start) else {
                continue;
            };
            if bus.work.len() < bus.work.capacity() {
                bus.work.push((id, pipe, 0));
            } else {
                pipe.render(&mut bus.acc);
                v.restore(pipe);
                bus.inline = true;
            }
        }
        self.frames_mixed += self.dev.period_frames as u64;
    }

    /// Under the lock, after [`Bus::render`]: the pipelines go back to their
    /// voices and the monitors' conversions, with the period's bytes, to
    /// their readers.
    pub fn end_period(&mut self, bus: &mut Bus) {
        for (id, pipe, peak) in bus.work.drain(..) {
            self.dead.bury(match self.voices.get_mut(id) {
                Some(v) => {
                    if bus.meters {
                        v.note_peak(peak);
                    }
                    v.restore(pipe)
                }
                None => Some(pipe),
            });
        }
        if bus.monitors {
            self.monitors.end(&mut bus.rec, &bus.float);
        }
    }

    /// Mixes the next period and returns it in the device's format: begin,
    /// render and end in one call. Allocates nothing.
    pub fn mix_period(&mut self) -> &[u8] {
        let mut bus = self.bus.take().expect("not re-entered");
        self.begin_period(&mut bus);
        bus.render();
        self.end_period(&mut bus);
        self.bus.insert(bus).out()
    }
}

/// Where the soft limiter starts to bend: -1 dBFS.
const LIMIT_KNEE: f64 = 0.891_250_938_133_745_5;

/// A memoryless soft limiter: samples within ±`LIMIT_KNEE` pass untouched
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
    use crate::pcm::PcmFormat;

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
            .push(&s16(&[100, -200, 30000, 1, 2, 3, 4, 5]));
        m.voice_mut(b)
            .unwrap()
            .push(&s16(&[-50, 7, 30000, -1, 2, 3, 4, 5]));
        let out = m.mix_period().to_vec();
        assert_eq!(out, s16(&[50, -193, 32767, 0, 4, 6, 8, 10]));
        assert_eq!(m.frames_mixed(), 4);
        // Nothing queued: silence.
        assert_eq!(m.mix_period(), &s16(&[0; 8])[..]);
    }

    #[test]
    fn voices_change_while_a_period_renders_without_the_lock() {
        let d = dev();
        let mut m = Mixer::new(d);
        let a = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        let b = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        m.voice_mut(a).unwrap().push(&s16(&[100; 8]));
        m.voice_mut(b).unwrap().push(&s16(&[20; 8]));
        let mut bus = Bus::new(&d);
        m.begin_period(&mut bus);
        // The engine renders; meanwhile the protocol thread replaces a (a
        // format change), fills the new one, and closes b.
        let old_a = m.replace(a, Voice::new(d.pcm, &d, 64, Quality::Fast));
        assert!(old_a.is_some());
        m.voice_mut(a).unwrap().push(&s16(&[-7; 8]));
        assert!(m.remove(b).is_some());
        // The period holds what was taken when it began.
        assert_eq!(bus.render(), &s16(&[120; 8])[..]);
        m.end_period(&mut bus);
        let mut dead = Vec::new();
        m.take_dead(&mut dead);
        assert_eq!(dead.len(), 2, "both lent pipelines lost their voices");
        // The new voice plays the next period with its own pipeline.
        assert_eq!(m.mix_period(), &s16(&[-7; 8])[..]);
        assert_eq!(m.frames_mixed(), 8);
    }

    #[test]
    fn monitors_record_the_mix_as_played() {
        let d = dev();
        let mut m = Mixer::new(d);
        let a = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        let mut r = RecVoice::new(d.pcm, &d, 64, Quality::Fast);
        r.start();
        let r = m.monitors.insert(r);
        m.voice_mut(a)
            .unwrap()
            .push(&s16(&[9, -9, 300, -300, 0, 1, 2, 3]));
        let out = m.mix_period().to_vec();
        let mut got = Vec::new();
        m.monitors
            .get_mut(r)
            .unwrap()
            .take_into(&mut got, usize::MAX);
        assert_eq!(got, out);
        assert_eq!(out, s16(&[9, -9, 300, -300, 0, 1, 2, 3]));
    }

    #[test]
    fn master_volume_and_the_limiter_apply_to_the_sum() {
        let d = dev();
        let mut m = Mixer::new(d);
        let a = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        m.voice_mut(a).unwrap().push(&s16(&[20000; 8]));
        m.master = vec![0.5, 1.0];
        assert_eq!(
            m.mix_period(),
            &s16(&[10000, 20000, 10000, 20000, 10000, 20000, 10000, 20000])[..]
        );
        m.master = vec![1.0, 1.0];
        m.limiter = true;
        m.voice_mut(a).unwrap().push(&s16(&[30000; 8]));
        let out = m.mix_period().to_vec();
        let x = i16::from_le_bytes([out[0], out[1]]);
        assert!(x > 29204 && x < 30000, "{x}: bent above the -1 dBFS knee");
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
    fn meters_measure_each_voice_only_while_on_and_change_no_sample() {
        let d = dev();
        let mut m = Mixer::new(d);
        let a = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        let b = m.insert(Voice::new(d.pcm, &d, 64, Quality::Fast));
        let fill = |m: &mut Mixer| {
            m.voice_mut(a)
                .unwrap()
                .push(&s16(&[100, -16384, 3, 4, 5, 6, 7, 8]));
            m.voice_mut(b)
                .unwrap()
                .push(&s16(&[-50, 7, 30000, -1, 2, 3, 4, 5]));
        };
        fill(&mut m);
        let off = m.mix_period().to_vec();
        assert_eq!(m.voice_mut(a).unwrap().take_peak(), 0, "off: not measured");
        m.meters = true;
        fill(&mut m);
        let on = m.mix_period().to_vec();
        assert_eq!(on, off, "the same mix either way");
        let full = crate::pcm::format::FIXED_ONE;
        assert_eq!(m.voice_mut(a).unwrap().take_peak(), full / 2);
        assert_eq!(m.voice_mut(b).unwrap().take_peak(), 30000 * (full >> 15));
        assert_eq!(m.voice_mut(a).unwrap().take_peak(), 0, "taken");
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
