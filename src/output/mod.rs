//! Where the mix goes: a device that takes one period at a time and says how
//! far it has played. [`alsa::AlsaSink`] is the real one (an ALSA hw PCM);
//! [`clock::ClockSink`] keeps real time by its own clock and needs no sound
//! hardware (the fake-kernel tests and benchmarks run on it).

pub mod adapt;
pub mod alsa;
pub mod clock;
pub mod pace;

use std::time::Instant;

use crate::device::DeviceError;
use crate::pcm::DeviceConfig;

/// Opens the output device named (one of the configured list, most
/// preferred first) again: after an idle release, while devices are
/// missing, to move the mix between them, and to change the period. It asks for the rate,
/// channels, period and buffer of `want`, and for its sample format where
/// the device takes it (another is fine: the mix is encoded for the
/// device).
pub type SinkOpener =
    Box<dyn FnMut(&str, &DeviceConfig) -> Result<Box<dyn Sink>, DeviceError> + Send>;

/// The device end of the engine.
pub trait Sink: Send {
    /// What the device was opened with.
    fn config(&self) -> DeviceConfig;
    /// Blocks until the device has room for `frames` (the engine asks for
    /// one mix block, which may be less than the device's period). The
    /// engine mixes only then, so a block is never mixed earlier than it
    /// must be: what a client wrote meanwhile still makes it in. An
    /// underrun found here is recovered and counted.
    fn wait_ready(&mut self, frames: u32) -> Result<(), DeviceError>;
    /// Writes whole frames; after `wait_ready(n)`, `n` frames do not block.
    /// An underrun is recovered here and counted.
    fn write_period(&mut self, period: &[u8]) -> Result<(), DeviceError>;
    /// Frames written but not yet played (the device's odelay).
    fn delay(&mut self) -> u64;
    /// Underruns of the device so far.
    fn xruns(&self) -> u64;
}

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
