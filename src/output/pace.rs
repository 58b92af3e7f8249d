//! Whether the device keeps time: the pure half of noticing an underrun
//! that ALSA did not.
//!
//! ALSA learns where a device is from its pointer, which counts frames
//! modulo the buffer. When the machine wakes the kernel's period timer (or
//! interrupt) and ossd later than one whole buffer, the pointer has wrapped
//! unseen: the device played its buffer again, but ALSA's position moved by
//! only what was left over, so no underrun is reported and the device seems
//! to play slowly. Measured in the emulated guest at 128-frame periods and a
//! 384-frame (8 ms) buffer: the device's position moved at 5–10 % of real
//! time for seconds on end, with one reported underrun in five seconds, and
//! the clients' pace followed it (2 s of sound took 15–19 s).
//!
//! So the engine compares what the device has played (frames written minus
//! its delay) with the clock. Falling behind by more than a buffer (plus a
//! margin for pointer granularity and clock drift) is an underrun that went
//! unseen: the engine credits the clients with the time (mixes and drops
//! it, as after a reported underrun) and counts it, so [`Adapt`] raises the
//! latency as it does for the others.
//!
//! Each check brackets the device's delay between two clock readings: the
//! time before it goes into what is due, the time after it into the
//! baseline, so a thread preempted between the readings never looks like a
//! loss.
//!
//! [`Adapt`]: super::adapt::Adapt

use std::time::{Duration, Instant};

/// The baseline moves on this often while the device keeps time, so that
/// the device's clock drifting from the system's does not add up.
const REBASE: Duration = Duration::from_secs(2);
/// Besides a buffer, this part of what fell due may be missing before it
/// counts (the device's clock, the pointer's steps).
const MARGIN_DIVISOR: f64 = 16.0;
/// And at least this long.
const MARGIN_MIN: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub struct Pace {
    rate: f64,
    /// The device's buffer, in frames: what a late wake-up may hide.
    buffer: u64,
    /// When the device had played `played` frames (measured after reading
    /// them); `None` until the first check after a restart.
    base: Option<(Instant, u64)>,
}

impl Pace {
    pub fn new(rate: u32, buffer_frames: u32) -> Pace {
        Pace {
            rate: f64::from(rate),
            buffer: u64::from(buffer_frames),
            base: None,
        }
    }

    /// The device was reopened, recovered, or is another: start again.
    pub fn restart(&mut self, buffer_frames: u32) {
        self.buffer = u64::from(buffer_frames);
        self.base = None;
    }

    /// After a write: the device has played `played` frames since it was
    /// opened (written minus its delay), read between `before` and `after`.
    /// Returns the frames it fell behind the clock by, beyond what a
    /// buffer and the margin explain, if it did (the baseline then starts
    /// again at this point).
    pub fn check(&mut self, played: u64, before: Instant, after: Instant) -> Option<u64> {
        let Some((t0, p0)) = self.base else {
            self.base = Some((after, played));
            return None;
        };
        let elapsed = before.saturating_duration_since(t0);
        let due = elapsed.as_secs_f64() * self.rate;
        let got = played.saturating_sub(p0) as f64;
        let margin = (due / MARGIN_DIVISOR).max(MARGIN_MIN.as_secs_f64() * self.rate);
        let behind = due - got;
        if behind > self.buffer as f64 + margin {
            self.base = Some((after, played));
            return Some(behind as u64);
        }
        if elapsed >= REBASE {
            self.base = Some((after, played));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48000;

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// Frames of `ms` at 48 kHz.
    fn f(ms: u64) -> u64 {
        ms * 48
    }

    #[test]
    fn a_device_that_keeps_time_is_never_behind() {
        let t0 = Instant::now();
        let mut p = Pace::new(RATE, 384);
        // Blocks of 128 frames, played in steps of a whole period (the
        // pointer's granularity), with 1 ms of jitter either way.
        for i in 0..3000u64 {
            let now = i * 8 / 3; // 2.67 ms a block
            let played = (f(now) / 384) * 384;
            let jitter = i % 3;
            assert_eq!(
                p.check(played, ms(t0, now), ms(t0, now + jitter)),
                None,
                "block {i}"
            );
        }
    }

    #[test]
    fn a_device_that_plays_a_tenth_of_the_time_is_caught_within_a_window() {
        let t0 = Instant::now();
        let mut p = Pace::new(RATE, 384);
        assert_eq!(p.check(0, t0, t0), None);
        let mut found = None;
        for step in 1..100u64 {
            let now = step * 3;
            if let Some(lost) = p.check(f(now) / 10, ms(t0, now), ms(t0, now)) {
                found = Some((now, lost));
                break;
            }
        }
        let (when, lost) = found.expect("caught");
        // Behind by more than a buffer and 10 ms: 16 ms of 9/10 lost.
        assert!(when <= 30, "only after {when} ms");
        assert!(lost > 384 + f(10) && lost <= f(when), "{lost} frames");
        // The baseline starts again there: the next loss counts anew.
        let next = p.check(f(when) / 10, ms(t0, when + 1), ms(t0, when + 1));
        assert_eq!(next, None);
    }

    #[test]
    fn a_thread_held_up_between_the_readings_is_no_loss() {
        let t0 = Instant::now();
        let mut p = Pace::new(RATE, 384);
        assert_eq!(p.check(0, t0, t0), None);
        // Held up for 100 ms after reading the clock, before reading the
        // delay: the device played on meanwhile.
        assert_eq!(p.check(f(150), ms(t0, 50), ms(t0, 150)), None);
        // And the other way: held up after reading the delay.
        assert_eq!(p.check(f(200), ms(t0, 200), ms(t0, 300)), None);
        assert_eq!(p.check(f(310), ms(t0, 310), ms(t0, 310)), None);
    }

    #[test]
    fn slow_drift_never_adds_up_to_a_loss() {
        let t0 = Instant::now();
        let mut p = Pace::new(RATE, 384);
        // A device clock 0.5 % slow, for ten minutes.
        for s in 0..6000u64 {
            let now = s * 100;
            let played = f(now) * 995 / 1000;
            assert_eq!(p.check(played, ms(t0, now), ms(t0, now)), None, "{now} ms");
        }
    }

    #[test]
    fn a_restart_forgets_the_baseline() {
        let t0 = Instant::now();
        let mut p = Pace::new(RATE, 384);
        assert_eq!(p.check(0, t0, t0), None);
        // Reopened 1 s later, counting from 0 again.
        p.restart(1536);
        assert_eq!(p.check(0, ms(t0, 1000), ms(t0, 1000)), None);
        assert_eq!(p.check(f(100), ms(t0, 1100), ms(t0, 1100)), None);
    }
}
