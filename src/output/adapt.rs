//! How big the device's periods are: the pure half of degrading gracefully
//! under overload. The mix runs in fixed blocks (`--period-frames`); the
//! device's period is a whole number of them, `mult`. When the device
//! underruns again and again ([`RAISE_AFTER`] times within [`WINDOW`]), the
//! machine cannot keep up with periods that short: `mult` doubles (and so
//! the device buffer and its latency), as PulseAudio raises its watermark.
//! When it has been calm for a while ([`CALM`], longer after each lowering
//! that had to be undone) and nothing is playing, `mult` halves again:
//! reopening the device costs a short gap, so it is only done in silence.
//!
//! The engine feeds it the underruns it counts and the time, and reopens
//! the device when it says so; it logs each change.

use std::time::{Duration, Instant};

/// Underruns within [`WINDOW`] that raise the latency.
pub const RAISE_AFTER: usize = 3;
/// The window in which [`RAISE_AFTER`] underruns raise the latency.
pub const WINDOW: Duration = Duration::from_secs(2);
/// Calm (no underrun) needed before the latency is lowered; doubled after
/// each lowering that was raised again within [`WINDOW`] × 5.
pub const CALM: Duration = Duration::from_secs(30);
/// The longest calm ever asked for.
const CALM_MAX: Duration = Duration::from_secs(600);
/// The device buffer is never raised past this much audio.
pub const MAX_BUFFER: Duration = Duration::from_millis(250);

/// What to do with the device's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Reopen the device with periods of `mult` blocks: more latency.
    Raise { mult: u32 },
    /// Reopen the device with periods of `mult` blocks: less latency.
    Lower { mult: u32 },
}

#[derive(Debug, Clone)]
pub struct Adapt {
    mult: u32,
    max_mult: u32,
    /// The last underruns, newest last (at most [`RAISE_AFTER`]).
    recent: [Option<Instant>; RAISE_AFTER],
    /// The last underrun, or the last change.
    last_event: Instant,
    /// When the latency was last lowered.
    lowered_at: Option<Instant>,
    calm: Duration,
}

impl Adapt {
    /// Periods of one block to begin with; the device buffer is
    /// `block_frames × periods` frames at `rate`, and may grow up to
    /// [`MAX_BUFFER`] (by powers of two).
    pub fn new(block_frames: u32, periods: u32, rate: u32, now: Instant) -> Adapt {
        let buffer = u64::from(block_frames.max(1)) * u64::from(periods.max(1));
        let max_frames = MAX_BUFFER.as_secs_f64() * f64::from(rate);
        let mut max_mult = 1u32;
        while (buffer * u64::from(max_mult) * 2) as f64 <= max_frames && max_mult < 1 << 10 {
            max_mult *= 2;
        }
        Adapt {
            mult: 1,
            max_mult,
            recent: [None; RAISE_AFTER],
            last_event: now,
            lowered_at: None,
            calm: CALM,
        }
    }

    /// Blocks per device period now.
    pub fn mult(&self) -> u32 {
        self.mult
    }

    /// The most blocks per device period it will ever ask for.
    pub fn max_mult(&self) -> u32 {
        self.max_mult
    }

    /// Takes in `n` new underruns at `now`.
    pub fn on_underruns(&mut self, n: u64, now: Instant) -> Option<Change> {
        if n == 0 {
            return None;
        }
        self.last_event = now;
        for _ in 0..n.min(RAISE_AFTER as u64) {
            self.recent.rotate_left(1);
            self.recent[RAISE_AFTER - 1] = Some(now);
        }
        let burst = self.recent[0].is_some_and(|t| now.saturating_duration_since(t) <= WINDOW);
        if !burst || self.mult >= self.max_mult {
            return None;
        }
        // A lowering undone soon after: ask for more calm next time.
        if self
            .lowered_at
            .is_some_and(|t| now.saturating_duration_since(t) <= WINDOW * 5)
        {
            self.calm = (self.calm * 2).min(CALM_MAX);
        }
        self.lowered_at = None;
        self.mult *= 2;
        self.recent = [None; RAISE_AFTER];
        Some(Change::Raise { mult: self.mult })
    }

    /// Between two periods: whether to lower the latency at `now`, given
    /// whether anything is `playing`.
    pub fn on_period(&mut self, playing: bool, now: Instant) -> Option<Change> {
        if self.mult == 1 || playing || now.saturating_duration_since(self.last_event) < self.calm {
            return None;
        }
        self.mult /= 2;
        self.last_event = now;
        self.lowered_at = Some(now);
        Some(Change::Lower { mult: self.mult })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_burst_of_underruns_doubles_the_period_up_to_the_cap() {
        let t0 = Instant::now();
        // 128 × 3 at 48 kHz: 8 ms; the cap (250 ms) allows ×16 (128 ms).
        let mut a = Adapt::new(128, 3, 48000, t0);
        assert_eq!(a.max_mult(), 16);
        assert_eq!(a.on_underruns(1, t0), None);
        assert_eq!(a.on_underruns(1, t0 + 500 * MS), None);
        assert_eq!(
            a.on_underruns(1, t0 + 1000 * MS),
            Some(Change::Raise { mult: 2 })
        );
        // The count starts again after a change.
        assert_eq!(a.on_underruns(2, t0 + 1100 * MS), None);
        assert_eq!(
            a.on_underruns(1, t0 + 1200 * MS),
            Some(Change::Raise { mult: 4 })
        );
        let mut t = t0 + 2000 * MS;
        for _ in 0..10 {
            a.on_underruns(3, t);
            t += 10 * MS;
        }
        assert_eq!(a.mult(), 16);
        assert_eq!(a.on_underruns(3, t), None);
    }

    #[test]
    fn underruns_spread_out_do_not_raise() {
        let t0 = Instant::now();
        let mut a = Adapt::new(1024, 4, 48000, t0);
        assert_eq!(a.max_mult(), 2);
        for k in 0..20 {
            assert_eq!(a.on_underruns(1, t0 + WINDOW * k), None, "{k}");
        }
        assert_eq!(a.mult(), 1);
    }

    #[test]
    fn lowered_only_after_calm_and_in_silence_and_calm_grows_when_undone() {
        let t0 = Instant::now();
        let mut a = Adapt::new(128, 3, 48000, t0);
        a.on_underruns(3, t0);
        a.on_underruns(3, t0 + MS);
        assert_eq!(a.mult(), 4);
        assert_eq!(a.on_period(false, t0 + CALM / 2), None);
        assert_eq!(a.on_period(true, t0 + CALM * 2), None, "playing");
        let t1 = t0 + CALM * 2;
        assert_eq!(a.on_period(false, t1), Some(Change::Lower { mult: 2 }));
        // Raised again soon after: the next lowering waits twice as long.
        assert_eq!(
            a.on_underruns(3, t1 + WINDOW),
            Some(Change::Raise { mult: 4 })
        );
        let t2 = t1 + WINDOW;
        assert_eq!(a.on_period(false, t2 + CALM + MS), None);
        assert_eq!(
            a.on_period(false, t2 + CALM * 2),
            Some(Change::Lower { mult: 2 })
        );
        assert_eq!(a.on_period(false, t2 + CALM * 3), None);
        assert_eq!(
            a.on_period(false, t2 + CALM * 4),
            Some(Change::Lower { mult: 1 })
        );
        assert_eq!(a.on_period(false, t2 + CALM * 100), None);
    }
}
