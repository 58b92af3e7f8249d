//! One client's playback stream: its ring of client bytes, its state (the
//! start threshold, SYNC, triggers, volume, counters), and its conversion
//! chain ([`Pipeline`]) from its format, channels and rate to the device's.
//!
//! The voice lives in the shared state: the protocol thread fills its ring
//! and changes its state under the lock. Each period the engine, under the
//! lock, decides what the voice plays and copies those bytes into the
//! pipeline ([`Voice::begin`]); it converts and mixes them with the lock
//! released ([`Pipeline::render`]), then gives the pipeline back
//! ([`Voice::restore`]). Everything is allocated in [`Voice::new`].

use super::convert::Quality;
use super::pipeline::Pipeline;
use super::ring::Ring;
use crate::pcm::{DeviceConfig, PcmFormat};

/// Where a voice is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoiceState {
    /// Not consumed by the engine: filling up, paused by a trigger, or done.
    Stopped,
    /// Consumed every period.
    Running,
}

#[derive(Debug)]
pub struct Voice {
    fmt: PcmFormat,
    ring: Ring,
    state: VoiceState,
    /// Bytes queued before a stopped voice starts by itself.
    start_threshold: usize,
    /// SYNC or close: play out whatever is queued, then stop.
    draining: bool,
    /// POST or a draining request: start now, whatever the threshold.
    kick: bool,
    /// SETTRIGGER: output enabled.
    trigger: bool,
    /// Linear gain per device channel (SETPLAYVOL).
    gains: Vec<f64>,
    /// Client bytes the engine has taken from the ring, in all.
    consumed_bytes: u64,
    /// Device frame index just after the last frame carrying this voice's
    /// sound (resampler delay included): it is audible until the device has
    /// played that far.
    sound_end: u64,
    /// Periods in which the stream ran dry while playing and not draining.
    underruns: u32,
    /// The client has topped the ring up (less than one period's bytes
    /// free) since the stream last ran dry.
    full: bool,
    /// Underruns that came although the client kept the ring topped up:
    /// the buffer is too small for how late this machine wakes it.
    starved: u32,
    /// The largest sample this voice added to the mix (fixed point, before
    /// the master volume) since [`Voice::take_peak`], while the mixer's
    /// meters run.
    peak: i64,
    was_flowing: bool,
    /// Device frame at which the resampler's output began (it starts afresh
    /// each time the voice starts) and client frames fed to it since.
    rs_origin: u64,
    rs_fed: u64,
    /// Client and device rates, when they differ.
    rates: Option<(u64, u64)>,
    /// Where the recent periods' bytes sit on the device's timeline, for
    /// [`Voice::played_bytes`].
    takes: Takes,
    delay: usize,
    max_in: usize,
    period: usize,
    /// The conversion chain; `None` while the engine has it out.
    pipe: Option<Box<Pipeline>>,
}

/// One period's take from a voice's ring: where its first frame is heard,
/// the bytes taken before it, and how many frames it took.
#[derive(Debug, Clone, Copy, Default)]
struct Take {
    first: u64,
    before: u64,
    frames: u32,
}

/// The last few takes of a voice, oldest first: more than a device buffer
/// and a resampler delay hold. Fixed size; pushing never allocates.
#[derive(Debug)]
struct Takes {
    ring: [Take; 64],
    /// Index of the oldest, and how many are kept.
    head: usize,
    len: usize,
}

impl Default for Takes {
    fn default() -> Takes {
        Takes {
            ring: [Take::default(); 64],
            head: 0,
            len: 0,
        }
    }
}

impl Takes {
    fn push(&mut self, t: Take) {
        let n = self.ring.len();
        if self.len == n {
            self.head = (self.head + 1) % n;
            self.len -= 1;
        }
        self.ring[(self.head + self.len) % n] = t;
        self.len += 1;
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    fn oldest(&self) -> Option<&Take> {
        (self.len > 0).then(|| &self.ring[self.head])
    }

    /// The newest take whose first frame is heard by `played` (frames
    /// before that index have been played).
    fn last_heard(&self, played: u64) -> Option<&Take> {
        let n = self.ring.len();
        (0..self.len)
            .rev()
            .map(|i| &self.ring[(self.head + i) % n])
            .find(|t| t.first < played)
    }
}

/// What the request core asks of a voice; the engine's side is
/// [`Voice::begin`] and [`Voice::restore`].
impl Voice {
    /// Queues what fits of `data`; returns the bytes taken.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let n = self.ring.push(data);
        if self.ring.space() < self.max_in * self.fmt.frame_bytes() {
            self.full = true;
        }
        n
    }

    /// Underruns that came although the client had kept the ring topped
    /// up since the one before (see [`Voice::regrow`]).
    pub fn starved(&self) -> u32 {
        self.starved
    }

    /// Gives the ring the bigger buffer `buf` (allocated by the caller,
    /// not under the engine's lock), keeping what is queued; returns the
    /// buffer to drop, `buf` itself when it is not bigger or not whole
    /// frames.
    pub fn regrow(&mut self, buf: Box<[u8]>) -> Box<[u8]> {
        if buf.len() <= self.ring.capacity() || !buf.len().is_multiple_of(self.fmt.frame_bytes()) {
            return buf;
        }
        self.ring.regrow(buf)
    }

    /// Client bytes the device has played by device frame `played`: the
    /// bytes taken whose frames are heard by then. It never runs backwards
    /// and moves at the device's pace; a gap of silence before a restart
    /// is not counted as this stream's.
    pub fn played_bytes(&self, played: u64) -> u64 {
        let fb = self.fmt.frame_bytes() as u64;
        let Some(t) = self.takes.last_heard(played) else {
            // Nothing recent heard yet: everything before the oldest take
            // kept (or, with none kept, everything taken) has been.
            return self
                .takes
                .oldest()
                .map_or(self.consumed_bytes, |t| t.before);
        };
        let frames = match self.rates {
            Some((from, to)) => ((played - t.first) * from).div_ceil(to),
            None => played - t.first,
        };
        t.before + frames.min(t.frames as u64) * fb
    }

    /// Bytes queued and not yet taken by the engine.
    pub fn queued(&self) -> usize {
        self.ring.len()
    }

    /// Bytes free in the ring.
    pub fn space(&self) -> usize {
        self.ring.space()
    }

    /// The ring's size in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The client's format.
    pub fn format(&self) -> PcmFormat {
        self.fmt
    }

    /// Linear gain per device channel (SETPLAYVOL).
    pub fn set_gains(&mut self, gains: Vec<f64>) {
        self.gains = gains;
    }

    pub fn gains(&self) -> &[f64] {
        &self.gains
    }

    /// The queued bytes, oldest first (tests).
    #[cfg(test)]
    pub(crate) fn queued_bytes(&self) -> Vec<u8> {
        let (a, b) = self.ring.slices();
        [a, b].concat()
    }

    #[cfg(test)]
    pub(crate) fn set_underruns(&mut self, n: u32) {
        self.underruns = n;
    }

    /// Device frame just after the last frame carrying this voice's sound.
    pub fn sound_end(&self) -> u64 {
        self.sound_end
    }

    /// Periods in which the stream ran dry while playing.
    /// The device stood still while this voice was running: what it
    /// played meanwhile was skipped, which counts as an underrun (GETERROR).
    pub fn count_device_underrun(&mut self) {
        if self.state == VoiceState::Running && self.was_flowing {
            self.underruns = self.underruns.saturating_add(1);
        }
    }

    pub fn underruns(&self) -> u32 {
        self.underruns
    }

    /// Client bytes the engine has taken from the ring, in all.
    pub fn consumed_bytes(&self) -> u64 {
        self.consumed_bytes
    }

    /// SETTRIGGER's output enable.
    pub fn trigger(&self) -> bool {
        self.trigger
    }

    /// Enables or gates off the output (SETTRIGGER); enabling starts a
    /// stopped voice at the next period if it has anything queued.
    pub fn set_trigger(&mut self, on: bool) {
        self.trigger = on;
        self.kick = on;
    }

    /// POST: start at the next period, whatever the start threshold.
    pub fn post(&mut self) {
        self.kick = true;
    }

    /// SYNC or close: play out what is queued, then stop. Returns false,
    /// changing nothing, when the output is gated off by SETTRIGGER (it
    /// would never play out).
    pub fn start_drain(&mut self) -> bool {
        if self.trigger {
            self.draining = true;
            self.kick = true;
        }
        self.trigger
    }

    /// Drops what is queued but not yet taken by the engine (SKIP).
    pub fn skip(&mut self) {
        self.ring.clear();
    }

    /// Takes over `old`'s trigger and underrun count: this voice replaces it
    /// after a format change, which must not reset SETTRIGGER or GETERROR.
    pub fn carry_over(&mut self, old: &Voice) {
        self.trigger = old.trigger;
        self.underruns = old.underruns;
        self.starved = old.starved;
    }

    /// A period's peak, as the engine measured it (meters on).
    pub fn note_peak(&mut self, peak: i64) {
        self.peak = self.peak.max(peak);
    }

    /// The peak since the last call (fixed point, full scale
    /// [`FIXED_ONE`](crate::pcm::format::FIXED_ONE)), and starts again.
    pub fn take_peak(&mut self) -> i64 {
        std::mem::take(&mut self.peak)
    }
}

impl Voice {
    /// A voice for a client stream of `fmt`, with a ring of `ring_bytes`
    /// (rounded down to whole frames, at least one period of input).
    pub fn new(fmt: PcmFormat, dev: &DeviceConfig, ring_bytes: usize, quality: Quality) -> Voice {
        let pipe = Box::new(Pipeline::new(fmt, dev, quality));
        let max_in = pipe.max_input_frames();
        let fb = fmt.frame_bytes();
        let ring_bytes = (ring_bytes / fb).max(max_in) * fb;
        Voice {
            fmt,
            ring: Ring::new(ring_bytes),
            state: VoiceState::Stopped,
            start_threshold: (max_in * fb).min(ring_bytes),
            draining: false,
            kick: false,
            trigger: true,
            gains: vec![1.0; dev.pcm.channels as usize],
            consumed_bytes: 0,
            sound_end: 0,
            underruns: 0,
            full: false,
            starved: 0,
            peak: 0,
            was_flowing: false,
            rs_origin: 0,
            rs_fed: 0,
            takes: Takes::default(),
            rates: (fmt.rate != dev.pcm.rate)
                .then_some((u64::from(fmt.rate), u64::from(dev.pcm.rate))),
            delay: pipe.delay(),
            max_in,
            period: dev.period_frames as usize,
            pipe: Some(pipe),
        }
    }

    /// Client frames the engine takes per period at most.
    pub fn max_input_frames(&self) -> usize {
        self.max_in
    }

    /// Frames of delay the resampler adds (0 without resampling).
    pub fn resampler_delay(&self) -> usize {
        self.delay
    }

    /// Drops everything queued and in flight and enables the output again
    /// (RESET/HALT). The conversion starts afresh when the voice next
    /// starts.
    pub fn reset(&mut self, now_frame: u64) {
        self.ring.clear();
        self.state = VoiceState::Stopped;
        self.draining = false;
        self.kick = false;
        self.was_flowing = false;
        self.full = false;
        self.sound_end = self.sound_end.min(now_frame);
        self.takes.clear(); // what was in flight counts as played
        self.trigger = true;
    }

    /// Overwrites what is queued with silence, keeping its length (SILENCE).
    pub fn silence_queued(&mut self) {
        let len = self.ring.len();
        let sample = self.fmt.sample;
        self.ring.clear();
        let mut chunk = [0u8; 256];
        let bps = sample.bytes_per_sample();
        let whole = chunk.len() / bps * bps;
        sample.fill_silence(&mut chunk[..whole]);
        let mut left = len;
        while left > 0 {
            let n = left.min(whole);
            self.ring.push(&chunk[..n]);
            left -= n;
        }
    }

    /// Whether a SYNC or close waiting on this voice is satisfied once the
    /// device has played up to `played`.
    pub fn drained(&self, played: u64) -> bool {
        self.ring.len() < self.fmt.frame_bytes()
            && self.state == VoiceState::Stopped
            && played >= self.sound_end
    }

    /// The engine's part under the lock, for the period starting at device
    /// frame `start`: starts or stops the voice, takes this period's bytes
    /// from the ring into the pipeline and lends the pipeline out, to be
    /// rendered without the lock and given back with [`Voice::restore`].
    /// `None`: the voice does not play this period.
    pub fn begin(&mut self, start: u64) -> Option<Box<Pipeline>> {
        let pipe = self.pipe.as_mut()?;
        let fb = self.fmt.frame_bytes();
        if self.state == VoiceState::Stopped {
            let ready = self.ring.len() >= self.start_threshold.max(fb)
                || ((self.kick || self.draining) && self.ring.len() >= fb);
            if !(self.trigger && ready) {
                self.kick = false;
                return None;
            }
            self.state = VoiceState::Running;
            self.rs_origin = start;
            self.rs_fed = 0;
            pipe.reset();
        }
        self.kick = false;
        let need = pipe.input_frames_next();
        let take = if self.trigger {
            need.min(self.ring.len() / fb)
        } else {
            0
        };
        // The ring's read side is frame-aligned (see ring.rs).
        let (a, b) = self.ring.slices();
        pipe.load(a, b, take, need, &self.gains);
        self.ring.consume(take * fb);
        self.consumed_bytes += (take * fb) as u64;

        if take > 0 {
            // Where this take's first frame is heard (the resampler maps
            // input frame i to rs_origin + i·to/from + delay).
            let first = match self.rates {
                Some((from, to)) => {
                    self.rs_origin + (self.rs_fed * to).div_ceil(from) + self.delay as u64
                }
                None => start,
            };
            self.takes.push(Take {
                first,
                before: self.consumed_bytes - (take * fb) as u64,
                frames: take as u32,
            });
            let end = match self.rates {
                // Input frame i comes out at rs_origin + i·to/from + delay.
                Some((from, to)) => {
                    let last = self.rs_fed + take as u64;
                    self.rs_origin + (last * to).div_ceil(from) + self.delay as u64
                }
                None => start + take as u64,
            };
            self.sound_end = self.sound_end.max(end);
        }
        self.rs_fed += need as u64;

        if take < need {
            if self.was_flowing && !self.draining {
                self.underruns = self.underruns.saturating_add(1);
                if self.full {
                    self.starved = self.starved.saturating_add(1);
                }
            }
            self.was_flowing = false;
            self.full = false;
            if take == 0 && start + self.period as u64 >= self.sound_end {
                // Dry, and everything it played is out of the resampler: stop
                // consuming until the next threshold, SYNC or POST.
                // A trailing partial frame stays: the client's next write
                // completes it (dropping it would shift every later byte).
                self.state = VoiceState::Stopped;
                self.draining = false;
            }
        } else {
            self.was_flowing = true;
        }
        self.pipe.take()
    }

    /// Takes back the pipeline [`Voice::begin`] lent out. A voice that has
    /// a pipeline already (it was replaced meanwhile) hands `pipe` back.
    pub fn restore(&mut self, pipe: Box<Pipeline>) -> Option<Box<Pipeline>> {
        if self.pipe.is_some() {
            return Some(pipe);
        }
        self.pipe = Some(pipe);
        None
    }

    /// Begin, render into `acc` and restore in one go: mixes one period
    /// into `acc` (device frames × device channels, fixed point).
    pub fn render(&mut self, acc: &mut [i64], start: u64) {
        if let Some(mut pipe) = self.begin(start) {
            pipe.render(acc);
            self.restore(pipe);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mix::fixtures::{dev, s16};
    use crate::pcm::format::SampleFormat;

    #[test]
    fn native_stream_passes_through_exactly() {
        let d = dev();
        let mut v = Voice::new(d.pcm, &d, 64, Quality::Fast);
        let samples: Vec<i16> = vec![1, -1, 32767, -32768, 1000, -1000, 7, 9];
        v.ring.push(&s16(&samples));
        let mut acc = vec![0i64; 8];
        v.render(&mut acc, 0);
        let got: Vec<i16> = acc.iter().map(|x| (x >> 16) as i16).collect();
        assert_eq!(got, samples);
        assert_eq!(v.sound_end, 4);
        assert_eq!(v.consumed_bytes, 16);
    }

    #[test]
    fn a_partial_frame_left_when_the_stream_runs_dry_is_completed_by_the_next_write() {
        let d = dev();
        let mut v = Voice::new(d.pcm, &d, 64, Quality::Fast);
        let bytes = s16(&[100, -100, 200, -200]);
        // One frame and half of the next; the engine takes the whole frame,
        // runs dry and stops.
        v.push(&bytes[..6]);
        v.post();
        let mut acc = vec![0i64; 8];
        for start in [0, 4, 8] {
            v.render(&mut acc, start);
        }
        assert_eq!(v.state, VoiceState::Stopped);
        assert_eq!(v.queued(), 2, "the half frame waits for the rest");
        v.push(&bytes[6..]);
        v.post();
        let mut acc = vec![0i64; 8];
        v.render(&mut acc, 12);
        let got: Vec<i16> = acc.iter().map(|x| (x >> 16) as i16).collect();
        assert_eq!(got, vec![200, -200, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn mono_goes_to_both_sides_and_partial_periods_pad_with_silence() {
        let d = dev();
        let fmt = PcmFormat {
            channels: 1,
            ..d.pcm
        };
        let mut v = Voice::new(fmt, &d, 64, Quality::Fast);
        v.ring.push(&s16(&[16384, -16384]));
        v.kick = true;
        let mut acc = vec![0i64; 8];
        v.render(&mut acc, 100);
        let h = 1i64 << 30;
        assert_eq!(acc, vec![h, h, -h, -h, 0, 0, 0, 0]);
        assert_eq!(v.sound_end, 102);
        // Dry now: the next period stops it and it reports drained once played.
        v.render(&mut acc, 104);
        assert_eq!(v.state, VoiceState::Stopped);
        assert!(!v.drained(101));
        assert!(v.drained(102));
        assert_eq!(
            v.underruns, 0,
            "a stream that never flowed whole did not underrun"
        );
    }

    #[test]
    fn waits_for_its_threshold_unless_kicked() {
        let d = dev();
        let mut v = Voice::new(d.pcm, &d, 64, Quality::Fast);
        v.ring.push(&s16(&[5, 5]));
        let mut acc = vec![0i64; 8];
        v.render(&mut acc, 0);
        assert_eq!(v.state, VoiceState::Stopped);
        assert!(acc.iter().all(|&x| x == 0));
        v.trigger = false;
        v.kick = true;
        v.render(&mut acc, 0);
        assert_eq!(v.state, VoiceState::Stopped, "trigger off keeps it stopped");
    }

    #[test]
    fn running_dry_counts_an_underrun() {
        let d = dev();
        let mut v = Voice::new(d.pcm, &d, 64, Quality::Fast);
        v.ring.push(&s16(&[1; 8]));
        let mut acc = vec![0i64; 8];
        v.render(&mut acc, 0);
        v.ring.push(&s16(&[1; 2]));
        v.render(&mut acc, 4);
        assert_eq!(v.underruns, 1);
    }

    #[test]
    fn running_dry_after_the_client_kept_the_ring_full_counts_as_starved() {
        let d = dev();
        let mut v = Voice::new(d.pcm, &d, 64, Quality::Fast);
        let mut acc = vec![0i64; 8];
        // Topped up (16 frames of 16), then dry: starved.
        assert_eq!(v.push(&s16(&[1; 32])), 64);
        for start in (0..20).step_by(4) {
            v.render(&mut acc, start);
        }
        assert_eq!((v.underruns, v.starved), (1, 1));
        // Started again with one period only, never topped up: an underrun
        // (the client wrote too little), not starved.
        v.push(&s16(&[1; 8]));
        v.render(&mut acc, 20);
        v.push(&s16(&[1; 2]));
        v.render(&mut acc, 24);
        assert_eq!((v.underruns, v.starved), (2, 1));
    }

    #[test]
    fn regrowing_keeps_the_queue_and_refuses_a_smaller_or_ragged_buffer() {
        let d = dev();
        let mut v = Voice::new(d.pcm, &d, 64, Quality::Fast);
        v.push(&s16(&[7; 20]));
        let queued = v.queued_bytes();
        assert_eq!(
            v.regrow(vec![0; 64].into_boxed_slice()).len(),
            64,
            "not bigger"
        );
        assert_eq!(
            v.regrow(vec![0; 66].into_boxed_slice()).len(),
            66,
            "not whole frames"
        );
        assert_eq!(v.capacity(), 64);
        assert_eq!(
            v.regrow(vec![0; 128].into_boxed_slice()).len(),
            64,
            "the old one back"
        );
        assert_eq!(v.capacity(), 128);
        assert_eq!(v.queued_bytes(), queued);
        assert_eq!(v.space(), 128 - 40);
    }

    #[test]
    fn resampled_tone_keeps_its_length() {
        let d = DeviceConfig {
            period_frames: 256,
            buffer_frames: 1024,
            ..dev()
        };
        let fmt = PcmFormat {
            sample: SampleFormat::S16Le,
            channels: 1,
            rate: 8000,
        };
        for q in [Quality::Fast, Quality::High] {
            let mut v = Voice::new(fmt, &d, 1 << 16, q);
            // 0.5 s at 8 kHz must come out as 0.5 s at 48 kHz (plus resampler delay).
            let tone: Vec<i16> = (0..4000)
                .map(|i| ((i as f64 * 0.3).sin() * 10000.0) as i16)
                .collect();
            v.ring.push(&s16(&tone));
            v.draining = true;
            v.kick = true;
            let mut start = 0u64;
            let mut acc = vec![0i64; 512];
            while v.state == VoiceState::Running || !v.ring.is_empty() {
                acc.fill(0);
                v.render(&mut acc, start);
                start += 256;
                assert!(start < 100_000, "never stopped");
            }
            let expect = 24000 + v.resampler_delay() as u64;
            assert!(
                v.sound_end.abs_diff(expect) <= 8,
                "{q:?}: {} vs {expect}",
                v.sound_end
            );
        }
    }

    #[test]
    fn a_replaced_voice_hands_back_the_old_pipeline() {
        let d = dev();
        let mut v = Voice::new(d.pcm, &d, 64, Quality::Fast);
        v.ring.push(&s16(&[1; 8]));
        let pipe = v.begin(0).expect("ready: a full period queued");
        assert!(v.begin(4).is_none(), "lent out: nothing to begin with");
        let mut new = Voice::new(d.pcm, &d, 64, Quality::Fast);
        assert!(new.restore(pipe).is_some(), "not its pipeline");
        let pipe = v.begin(4);
        assert!(pipe.is_none());
    }
}
