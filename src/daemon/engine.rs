//! The engine thread: the one real-time loop. Each turn it waits until the
//! device has room for a period (that wait is the clock), mixes the period
//! under the shared lock (no allocation, no I/O under it), writes it,
//! publishes the device position and wakes the protocol thread.
//!
//! It never logs per period; device underruns are counted, and reported at
//! most once every few seconds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::eventfd::EventFd;

use super::Shared;
use crate::output::Sink;

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
    pub fn new(rate: u32) -> Position {
        Position {
            written: 0,
            delay: 0,
            at: Instant::now(),
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

const XRUN_LOG_INTERVAL: Duration = Duration::from_secs(5);

pub fn run(
    shared: Arc<Mutex<Shared>>,
    mut sink: Box<dyn Sink>,
    tick: Arc<EventFd>,
    stop: Arc<AtomicBool>,
) {
    let cfg = sink.config();
    let mut period = vec![0u8; cfg.period_bytes()];
    let mut xruns_logged = 0;
    let mut last_log = Instant::now() - XRUN_LOG_INTERVAL;
    while !stop.load(Ordering::Acquire) {
        let written = sink.wait_ready().and_then(|()| {
            {
                let mut s = shared.lock().expect("engine lock");
                period.copy_from_slice(s.mixer.mix_period());
            }
            sink.write_period(&period)
        });
        if let Err(e) = written {
            let mut s = shared.lock().expect("engine lock");
            s.failed = Some(e.to_string());
            drop(s);
            let _ = tick.write(1);
            return;
        }
        let delay = sink.delay();
        let xruns = sink.xruns();
        {
            let mut s = shared.lock().expect("engine lock");
            s.position = Position {
                written: s.mixer.frames_mixed(),
                delay,
                at: Instant::now(),
                rate: cfg.pcm.rate,
            };
            s.device_xruns = xruns;
        }
        let _ = tick.write(1);
        if xruns != xruns_logged && last_log.elapsed() >= XRUN_LOG_INTERVAL {
            tracing::warn!(total = xruns, "output device underran; recovered");
            xruns_logged = xruns;
            last_log = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
