//! A capture device with no hardware behind it: yields a sine (a different
//! frequency per channel) at its rate by the monotonic clock, as a card would.

use std::time::{Duration, Instant};

use super::Source;
use crate::device::DeviceError;
use crate::pcm::format;
use crate::pcm::DeviceConfig;

#[derive(Debug)]
pub struct ClockSource {
    cfg: DeviceConfig,
    epoch: Option<Instant>,
    frames: u64,
    /// Hz of channel 0; channel c plays `freq * (c + 1)`.
    pub freq: f64,
    pub amplitude: f64,
    buf: Vec<f64>,
    /// Set, the source fails as an unplugged card does (tests).
    pub gone: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ClockSource {
    pub fn new(cfg: DeviceConfig, freq: f64) -> ClockSource {
        ClockSource {
            cfg,
            epoch: None,
            frames: 0,
            freq,
            amplitude: 0.5,
            buf: vec![0.0; cfg.period_frames as usize * cfg.pcm.channels as usize],
            gone: None,
        }
    }
}

impl Source for ClockSource {
    fn config(&self) -> DeviceConfig {
        self.cfg
    }

    fn read_period(&mut self, period: &mut [u8]) -> Result<(), DeviceError> {
        if let Some(g) = &self.gone {
            if g.load(std::sync::atomic::Ordering::Acquire) {
                let e = alsa::Error::new("snd_pcm_readi", libc::ENODEV);
                return Err(DeviceError::Gone(e));
            }
        }
        let n = self.cfg.period_frames as u64;
        let rate = self.cfg.pcm.rate as f64;
        let epoch = *self.epoch.get_or_insert_with(Instant::now);
        let ready = epoch + Duration::from_secs_f64((self.frames + n) as f64 / rate);
        let now = Instant::now();
        if ready > now {
            std::thread::sleep(ready - now);
        }
        let ch = self.cfg.pcm.channels as usize;
        for (i, frame) in self.buf.chunks_exact_mut(ch).enumerate() {
            let t = (self.frames + i as u64) as f64 / rate;
            for (c, x) in frame.iter_mut().enumerate() {
                *x =
                    self.amplitude * (std::f64::consts::TAU * self.freq * (c + 1) as f64 * t).sin();
            }
        }
        format::encode(self.cfg.pcm.sample, &self.buf, period);
        self.frames += n;
        Ok(())
    }

    fn xruns(&self) -> u64 {
        0
    }
}
