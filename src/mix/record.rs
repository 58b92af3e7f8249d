//! One reader's recording stream: device frames in, the reader's own format,
//! channels and rate out, into the ring its read()s take from.
//!
//! The mirror of [`super::voice`]: per period, map the device's channels to
//! the reader's and apply its recording gain, resample (rubato) when the
//! rates differ, encode, and append to the ring. A reader that does not keep
//! up loses the newest data and has an overrun counted; nobody else notices.
//!
//! As on the playback side, the conversion ([`RecConv`]) is lent out of the
//! shared state for the period ([`Recorders::begin`]), done without the lock
//! ([`RecConv::convert`]) and given back with its bytes ([`Recorders::end`]),
//! so a lock is held only for copies. Allocated in [`RecVoice::new`];
//! nothing else allocates.

use std::ops::{Deref, DerefMut};

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler};

use super::convert::{mix_into, resampler, ChannelMap, Quality};
use super::lend::Graveyard;
use super::ring::Ring;
use super::slots::Slots;
use crate::pcm::format::{self, SampleFormat};
use crate::pcm::{DeviceConfig, PcmFormat};

pub struct RecVoice {
    fmt: PcmFormat,
    ring: Ring,
    /// Recording runs (the first read, a poll for input, or SETTRIGGER).
    trigger: bool,
    /// Linear gain per reader channel (SETRECVOL and the mixer's IGAIN).
    gains: Vec<f64>,
    /// Bytes appended to the ring in all.
    produced_bytes: u64,
    /// Periods in which the ring could not take everything.
    overruns: u32,
    /// The resampler starts afresh at the next period (after HALT).
    restart: bool,
    delay: usize,
    /// The conversion; `None` while it is lent out.
    conv: Option<Box<RecConv>>,
}

/// A reader's conversion from device frames to its own bytes.
pub struct RecConv {
    sample: SampleFormat,
    channels: usize,
    map: ChannelMap,
    dev_channels: usize,
    gains: Vec<f64>,
    /// One period mapped to the reader's channels.
    mapped: Vec<f64>,
    resampler: Option<(Async<f64>, Vec<f64>)>,
    /// This period's bytes: `bytes[..len]`.
    bytes: Vec<u8>,
    len: usize,
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

impl std::fmt::Debug for RecConv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecConv")
            .field("sample", &self.sample)
            .field("resampling", &self.resampler.is_some())
            .finish()
    }
}

/// What the request core asks of a recording voice.
impl RecVoice {
    /// Starts recording (the first read, a poll for input, SETTRIGGER).
    pub fn start(&mut self) {
        self.trigger = true;
    }

    /// Recording runs.
    pub fn running(&self) -> bool {
        self.trigger
    }

    /// Linear gain per reader channel (SETRECVOL times the mixer's IGAIN).
    pub fn set_gains(&mut self, gains: Vec<f64>) {
        self.gains = gains;
    }

    /// Bytes appended to the ring in all.
    pub fn produced_bytes(&self) -> u64 {
        self.produced_bytes
    }

    /// Periods in which the ring could not take everything.
    pub fn overruns(&self) -> u32 {
        self.overruns
    }

    /// Bytes recorded and not yet read.
    pub fn available(&self) -> usize {
        self.ring.len()
    }

    /// The ring's size in bytes.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Moves up to `want - got.len()` recorded bytes into `got`.
    pub fn take_into(&mut self, got: &mut Vec<u8>, want: usize) {
        let n = want.saturating_sub(got.len()).min(self.ring.len());
        let (a, b) = self.ring.slices();
        let from_a = n.min(a.len());
        got.extend_from_slice(&a[..from_a]);
        got.extend_from_slice(&b[..n - from_a]);
        self.ring.consume(n);
    }

    /// Takes over `old`'s trigger and overrun count (a format change
    /// replaces the voice; SETTRIGGER and GETERROR carry on).
    pub fn carry_over(&mut self, old: &RecVoice) {
        self.trigger = old.trigger;
        self.overruns = old.overruns;
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
        let delay = resampler.as_ref().map_or(0, |(r, _)| r.output_delay());
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
            restart: false,
            delay,
            conv: Some(Box::new(RecConv {
                sample: fmt.sample,
                channels: ch,
                map: ChannelMap::new(dev.pcm.channels as usize, ch),
                dev_channels: dev.pcm.channels as usize,
                gains: vec![1.0; ch],
                mapped: vec![0.0; period * ch],
                resampler,
                bytes: vec![0; max_out * fb],
                len: 0,
            })),
        }
    }

    /// Takes one period of device frames (interleaved, device channels):
    /// lend, convert and take back in one go.
    pub fn feed(&mut self, frames: &[f64]) {
        if let Some(mut conv) = self.lend() {
            conv.convert(frames);
            self.take_back(conv);
        }
    }

    /// Under the lock: the conversion for this period, if recording.
    fn lend(&mut self) -> Option<Box<RecConv>> {
        if !self.trigger {
            return None;
        }
        let conv = self.conv.as_mut()?;
        if std::mem::take(&mut self.restart) {
            if let Some((rs, _)) = &mut conv.resampler {
                rs.reset();
            }
        }
        conv.gains.copy_from_slice(&self.gains);
        self.conv.take()
    }

    /// Under the lock: appends what `conv` made and keeps it. A voice that
    /// has its own conversion (it was replaced meanwhile) hands it back.
    fn take_back(&mut self, conv: Box<RecConv>) -> Option<Box<RecConv>> {
        if self.conv.is_some() {
            return Some(conv);
        }
        // Halted meanwhile: this period is not wanted.
        let bytes = &conv.bytes[..if self.trigger { conv.len } else { 0 }];
        let took = self.ring.push(bytes);
        self.produced_bytes += took as u64;
        if took < bytes.len() {
            self.overruns = self.overruns.saturating_add(1);
        }
        self.conv = Some(conv);
        None
    }

    /// Drops what is queued and stops recording until the next start (HALT_INPUT).
    pub fn halt(&mut self) {
        self.ring.clear();
        self.trigger = false;
        self.restart = true;
    }

    /// Frames of delay the resampler adds (0 without resampling).
    pub fn resampler_delay(&self) -> usize {
        self.delay
    }
}

impl RecConv {
    /// Without the lock: converts one period of device frames into bytes.
    pub fn convert(&mut self, frames: &[f64]) {
        let ch = self.channels;
        let n = (frames.len() / self.dev_channels).min(self.mapped.len() / ch);
        self.mapped[..n * ch].fill(0.0);
        mix_into(
            &mut self.mapped,
            frames,
            n,
            self.dev_channels,
            ch,
            &self.map,
            self.map.matrix(),
            &self.gains,
            |x, g| x * g,
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
        self.len = out.len() * self.sample.bytes_per_sample();
        format::encode(self.sample, out, &mut self.bytes[..self.len]);
    }
}

/// Conversions [`Recorders::begin`] lends at most; more readers than that
/// are converted under the lock in [`Recorders::end`].
const LEND_CAPACITY: usize = 64;

/// Lent conversions for one period, by recorder slot.
#[derive(Debug)]
pub struct RecWork(Vec<(usize, Box<RecConv>)>);

impl Default for RecWork {
    fn default() -> Self {
        RecWork(Vec::with_capacity(LEND_CAPACITY))
    }
}

impl RecWork {
    /// Without the lock: converts `frames` for every lent reader.
    pub fn convert(&mut self, frames: &[f64]) {
        for (_, conv) in &mut self.0 {
            conv.convert(frames);
        }
    }
}

/// The recording voices fed from one source (the capture device, or the mix
/// for monitor readers), by slot.
#[derive(Debug)]
pub struct Recorders {
    slots: Slots<RecVoice>,
    /// Conversions that came back for a reader that was removed or
    /// replaced meanwhile ([`Recorders::take_dead`]).
    dead: Graveyard<RecConv>,
}

impl Default for Recorders {
    fn default() -> Self {
        Recorders {
            slots: Slots::default(),
            dead: Graveyard::with_capacity(16),
        }
    }
}

impl Deref for Recorders {
    type Target = Slots<RecVoice>;
    fn deref(&self) -> &Slots<RecVoice> {
        &self.slots
    }
}

impl DerefMut for Recorders {
    fn deref_mut(&mut self) -> &mut Slots<RecVoice> {
        &mut self.slots
    }
}

impl Recorders {
    /// Feeds one period to every recording voice, all under the caller's
    /// lock (tests; the threads use begin, convert and end).
    pub fn feed(&mut self, frames: &[f64]) {
        for v in self.slots.values_mut() {
            v.feed(frames);
        }
    }

    /// Under the lock: lends the conversion of every recording reader.
    pub fn begin(&mut self, work: &mut RecWork) {
        for (id, v) in self.slots.iter_mut() {
            if work.0.len() == work.0.capacity() {
                break;
            }
            if let Some(conv) = v.lend() {
                work.0.push((id, conv));
            }
        }
    }

    /// Under the lock, after [`RecWork::convert`] of `frames`: readers that
    /// were not lent (too many, or new since `begin`) are fed here, then the
    /// lent conversions come back with their bytes.
    pub fn end(&mut self, work: &mut RecWork, frames: &[f64]) {
        for v in self.slots.values_mut() {
            v.feed(frames); // only those holding their conversion
        }
        for (id, conv) in work.0.drain(..) {
            self.dead.bury(match self.slots.get_mut(id) {
                Some(v) => v.take_back(conv),
                None => Some(conv),
            });
        }
    }

    /// Moves the conversions of removed readers into `into`, for the caller
    /// to drop outside the lock.
    pub fn take_dead(&mut self, into: &mut Vec<Box<RecConv>>) {
        self.dead.collect(into);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mix::fixtures::{dev, s16};
    use crate::pcm::format::SampleFormat;

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
    fn readers_change_while_their_period_converts_without_the_lock() {
        let d = dev();
        let mut recs = Recorders::default();
        let started = |fmt| {
            let mut r = RecVoice::new(fmt, &d, 64, Quality::Fast);
            r.trigger = true;
            r
        };
        let a = recs.insert(started(d.pcm));
        let b = recs.insert(started(d.pcm));
        let c = recs.insert(started(d.pcm));
        let period = frames(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut work = RecWork::default();
        recs.begin(&mut work);
        // Meanwhile: a is replaced (a format change), b halts, c stays, and a
        // new reader d arrives.
        recs.replace(a, started(d.pcm));
        recs.get_mut(b).unwrap().halt();
        let e = recs.insert(started(d.pcm));
        work.convert(&period);
        recs.end(&mut work, &period);
        let bytes = |r: &RecVoice| {
            let (x, y) = r.ring.slices();
            [x, y].concat()
        };
        let want = s16(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(bytes(recs.get(a).unwrap()), want, "the new a is fed in end");
        assert!(recs.get(b).unwrap().ring.is_empty(), "halted: nothing kept");
        assert_eq!(bytes(recs.get(c).unwrap()), want);
        assert_eq!(bytes(recs.get(e).unwrap()), want);
        let mut dead = Vec::new();
        recs.take_dead(&mut dead);
        assert_eq!(dead.len(), 1, "the old a's conversion");
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
