//! The real output: an ALSA PCM (meant to be a `hw:` device: no dmix, no
//! plug, no sound server), opened blocking, interleaved, at whatever format,
//! rate and channels the card really takes, preferring 48 kHz stereo and the
//! widest native integer format.

use alsa::pcm::PCM;
use alsa::Direction;

use super::Sink;
use crate::device::{classify, open_pcm, AlsaRequest, DeviceError};
use crate::pcm::DeviceConfig;

pub struct AlsaSink {
    pcm: PCM,
    cfg: DeviceConfig,
    xruns: u64,
}

impl std::fmt::Debug for AlsaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlsaSink").field("cfg", &self.cfg).finish()
    }
}

impl AlsaSink {
    /// Opens and configures the PCM. Errors say which step failed.
    pub fn open(req: &AlsaRequest) -> Result<AlsaSink, DeviceError> {
        let (pcm, cfg) = open_pcm(req, Direction::Playback)?;
        Ok(AlsaSink { pcm, cfg, xruns: 0 })
    }

    /// Recovers from an underrun or suspend (counted), retries after a signal;
    /// anything else, and a vanished device, is an error.
    fn recover(&mut self, err: alsa::Error) -> Result<(), DeviceError> {
        if let Some(err) = classify(err)? {
            self.xruns += 1;
            self.pcm.try_recover(err, true)?;
        }
        Ok(())
    }
}

impl Sink for AlsaSink {
    fn config(&self) -> DeviceConfig {
        self.cfg
    }

    fn wait_ready(&mut self, frames: u32) -> Result<(), DeviceError> {
        let rate = u64::from(self.cfg.pcm.rate.max(1));
        loop {
            match self.pcm.avail_update() {
                Ok(avail) if avail >= i64::from(frames) => return Ok(()),
                Ok(avail) => {
                    // The device wakes us at its period's end; a block
                    // shorter than the period falls due before that, so
                    // the poll also ends when the room should be there
                    // (and never waits long on a late wake-up).
                    let missing = (i64::from(frames) - avail).max(1) as u64;
                    let ms = (missing * 1000).div_ceil(rate).clamp(1, 1000) as u32;
                    if let Err(err) = self.pcm.wait(Some(ms)) {
                        self.recover(err)?;
                    }
                }
                Err(err) => self.recover(err)?,
            }
        }
    }

    fn write_period(&mut self, period: &[u8]) -> Result<(), DeviceError> {
        let fb = self.cfg.pcm.frame_bytes();
        let mut off = 0;
        while off < period.len() {
            let result = self.pcm.io_bytes().writei(&period[off..]);
            match result {
                Ok(frames) => off += frames * fb,
                Err(err) => self.recover(err)?,
            }
        }
        Ok(())
    }

    fn delay(&mut self) -> u64 {
        self.pcm.delay().map_or(0, |d| d.max(0) as u64)
    }

    fn xruns(&self) -> u64 {
        self.xruns
    }
}

/// The first card's `hw:N,0` that opens for playback, for when no device is
/// named. Returns the name, or a message listing what was tried.
pub fn first_playback_device() -> Result<String, String> {
    let mut tried = Vec::new();
    for card in alsa::card::Iter::new().flatten() {
        let name = format!("hw:{},0", card.get_index());
        match PCM::new(&name, Direction::Playback, true) {
            Ok(_) => return Ok(name),
            Err(e) => tried.push(format!("{name} ({e})")),
        }
    }
    if tried.is_empty() {
        Err("no ALSA sound card found (is /dev/snd there? `aplay -l` lists cards)".into())
    } else {
        Err(format!("no ALSA card can play: tried {}", tried.join(", ")))
    }
}

/// The names of the ALSA cards, for error messages.
pub fn card_names() -> Vec<String> {
    alsa::card::Iter::new()
        .flatten()
        .map(|c| {
            format!(
                "hw:{} ({})",
                c.get_index(),
                c.get_name().unwrap_or_default()
            )
        })
        .collect()
}
