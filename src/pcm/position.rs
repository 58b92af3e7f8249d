//! How far a device has played ([`Position`]): the engine publishes it
//! after every period, and the core reads the clients' timing from it
//! (GETODELAY, GETOPTR, SYNC).

use std::time::Instant;

/// Where the device is, as of the last period written.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// Frames handed to the device in all.
    pub written: u64,
    /// Frames of those not yet played, when measured.
    pub delay: u64,
    /// When `delay` was measured.
    pub at: Instant,
    pub rate: u32,
}

impl Position {
    /// Nothing written yet, as of `at`.
    pub fn new(rate: u32, at: Instant) -> Position {
        Position {
            written: 0,
            delay: 0,
            at,
            rate,
        }
    }

    /// Frames played by `now`: the measured point moved on by the time since,
    /// never past what was written.
    pub fn played(&self, now: Instant) -> u64 {
        let base = self.written - self.delay.min(self.written);
        let since = now.saturating_duration_since(self.at).as_secs_f64() * self.rate as f64;
        (base + (since as u64).min(self.delay)).min(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn played_moves_with_time_but_never_past_written() {
        let t0 = Instant::now();
        let p = Position {
            written: 1000,
            delay: 480,
            at: t0,
            rate: 48000,
        };
        assert_eq!(p.played(t0), 520);
        assert_eq!(p.played(t0 + Duration::from_millis(5)), 760);
        assert_eq!(p.played(t0 + Duration::from_secs(1)), 1000);
    }
}
