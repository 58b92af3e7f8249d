//! A sink with no hardware behind it that consumes frames at its rate by the
//! monotonic clock, with a buffer of `buffer_frames`: it blocks a writer and
//! reports delay exactly as a sound card would, and underruns if fed late.

use std::time::{Duration, Instant};

use super::Sink;
use crate::device::DeviceError;
use crate::pcm::DeviceConfig;

#[derive(Debug)]
pub struct ClockSink {
    cfg: DeviceConfig,
    /// When frame 0 played (moved forward after an underrun).
    epoch: Option<Instant>,
    written: u64,
    xruns: u64,
    /// Every period written, when a test wants to look at what was played.
    pub capture: Option<std::sync::Arc<std::sync::Mutex<Vec<u8>>>>,
    /// Set, the sink fails as an unplugged card does (tests).
    pub gone: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Fed late, it restarts from the time it was fed (as a card does, and
    /// counts an underrun); a stand-in instead catches up, so that over
    /// time it takes frames at exactly its rate ([`ClockSink::stand_in`]).
    restart_when_late: bool,
}

impl ClockSink {
    pub fn new(cfg: DeviceConfig) -> ClockSink {
        ClockSink {
            cfg,
            epoch: None,
            written: 0,
            xruns: 0,
            capture: None,
            gone: None,
            restart_when_late: true,
        }
    }

    /// A clock in a missing card's place: it never underruns; fed late (the
    /// engine busy opening the card again), it takes the periods due at once,
    /// so clients are paced at exactly its rate over time.
    pub fn stand_in(cfg: DeviceConfig) -> ClockSink {
        ClockSink {
            restart_when_late: false,
            ..ClockSink::new(cfg)
        }
    }

    fn played(&self, now: Instant) -> u64 {
        match self.epoch {
            None => 0,
            Some(e) => {
                let f = now.saturating_duration_since(e).as_secs_f64() * self.cfg.pcm.rate as f64;
                (f as u64).min(self.written)
            }
        }
    }

    /// The error an unplugged card gives, once `gone` is set.
    fn check_gone(&self, call: &'static str) -> Result<(), DeviceError> {
        match &self.gone {
            Some(g) if g.load(std::sync::atomic::Ordering::Acquire) => {
                Err(DeviceError::Gone(alsa::Error::new(call, libc::ENODEV)))
            }
            _ => Ok(()),
        }
    }

    fn frames_to_duration(&self, frames: u64) -> Duration {
        Duration::from_secs_f64(frames as f64 / self.cfg.pcm.rate as f64)
    }
}

impl Sink for ClockSink {
    fn config(&self) -> DeviceConfig {
        self.cfg
    }

    fn wait_ready(&mut self, frames: u32) -> Result<(), DeviceError> {
        self.check_gone("snd_pcm_wait")?;
        let n = u64::from(frames);
        let now = Instant::now();
        let epoch = *self.epoch.get_or_insert(now);
        let due = epoch + self.frames_to_duration(self.written);
        if self.restart_when_late && self.written > 0 && now > due + self.frames_to_duration(1) {
            // Ran dry: the device restarts from here, as ALSA's prepare+start.
            self.xruns += 1;
            self.epoch = Some(now - self.frames_to_duration(self.written));
        }
        // Room for `frames` once played >= written + frames - buffer.
        let must_have_played = (self.written + n).saturating_sub(self.cfg.buffer_frames as u64);
        let ready_at = self.epoch.expect("set above") + self.frames_to_duration(must_have_played);
        let now = Instant::now();
        if ready_at > now {
            std::thread::sleep(ready_at - now);
        }
        Ok(())
    }

    fn write_period(&mut self, period: &[u8]) -> Result<(), DeviceError> {
        self.check_gone("snd_pcm_writei")?;
        if let Some(c) = &self.capture {
            c.lock().expect("capture lock").extend_from_slice(period);
        }
        self.written += (period.len() / self.cfg.pcm.frame_bytes()) as u64;
        Ok(())
    }

    fn delay(&mut self) -> u64 {
        self.written - self.played(Instant::now())
    }

    fn xruns(&self) -> u64 {
        self.xruns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcm::{PcmFormat, SampleFormat};

    /// S16_LE stereo 48 kHz, periods of 10 ms, two of them buffered.
    fn cfg() -> DeviceConfig {
        DeviceConfig {
            pcm: PcmFormat {
                sample: SampleFormat::S16Le,
                channels: 2,
                rate: 48000,
            },
            period_frames: 480,
            buffer_frames: 960,
        }
    }

    #[test]
    fn paces_writes_to_its_rate_after_the_buffer_fills() {
        let cfg = cfg();
        let mut s = ClockSink::new(cfg);
        let p = vec![0u8; 480 * 4];
        let t = Instant::now();
        for _ in 0..12 {
            s.wait_ready(480).unwrap();
            s.write_period(&p).unwrap();
        }
        // 12 periods of 10 ms, 2 of which fit in the buffer at once.
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(95), "{took:?}");
        assert!(s.delay() <= 960);
    }

    #[test]
    fn a_stand_in_fed_late_catches_up_instead_of_restarting() {
        let cfg = cfg();
        let p = vec![0u8; 480 * 4];
        let t = Instant::now();
        let mut s = ClockSink::stand_in(cfg);
        s.wait_ready(480).unwrap();
        s.write_period(&p).unwrap();
        // 50 ms late: five periods are due, and taken without a wait.
        std::thread::sleep(Duration::from_millis(50));
        let late = Instant::now();
        for _ in 0..6 {
            s.wait_ready(480).unwrap();
            s.write_period(&p).unwrap();
        }
        assert!(
            late.elapsed() < Duration::from_millis(15),
            "{:?}",
            late.elapsed()
        );
        assert_eq!(s.xruns(), 0);
        // Over all, 7 periods of 10 ms took their time, less the buffer's 2.
        assert!(t.elapsed() >= Duration::from_millis(50));
    }
}
