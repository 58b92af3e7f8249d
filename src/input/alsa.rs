//! The real recording device: an ALSA capture PCM, opened blocking,
//! interleaved, negotiated as the playback side is ([`crate::device::open_pcm`]).

use alsa::pcm::PCM;
use alsa::Direction;

use super::Source;
use crate::device::{classify, open_pcm, AlsaRequest, DeviceError};
use crate::pcm::DeviceConfig;

pub struct AlsaSource {
    pcm: PCM,
    cfg: DeviceConfig,
    xruns: u64,
}

impl std::fmt::Debug for AlsaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlsaSource")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl AlsaSource {
    /// Opens and configures the PCM, and starts it. Errors say which step
    /// failed.
    pub fn open(req: &AlsaRequest) -> Result<AlsaSource, DeviceError> {
        let (pcm, cfg) = open_pcm(req, Direction::Capture)?;
        pcm.start().ok();
        Ok(AlsaSource { pcm, cfg, xruns: 0 })
    }
}

impl Source for AlsaSource {
    fn config(&self) -> DeviceConfig {
        self.cfg
    }

    fn read_period(&mut self, period: &mut [u8]) -> Result<(), DeviceError> {
        let fb = self.cfg.pcm.frame_bytes();
        let mut off = 0;
        while off < period.len() {
            let result = self.pcm.io_bytes().readi(&mut period[off..]);
            match result {
                Ok(frames) => off += frames * fb,
                Err(err) => {
                    if let Some(err) = classify(err)? {
                        self.xruns += 1;
                        self.pcm.try_recover(err, true)?;
                        self.pcm.start().ok();
                    }
                }
            }
        }
        Ok(())
    }

    fn xruns(&self) -> u64 {
        self.xruns
    }
}
