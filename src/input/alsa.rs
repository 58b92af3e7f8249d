//! The real recording device: an ALSA capture PCM, opened blocking,
//! interleaved, negotiated as the playback side is (`output::alsa`).

use alsa::pcm::PCM;
use alsa::Direction;

use super::Source;
use crate::output::alsa::{configure, AlsaRequest};
use crate::output::SinkError;
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
    pub fn open(req: &AlsaRequest) -> Result<AlsaSource, String> {
        let pcm = PCM::new(&req.device, Direction::Capture, false)
            .map_err(|e| format!("cannot open ALSA capture device {:?}: {e}", req.device))?;
        let cfg = configure(&pcm, req, Direction::Capture)
            .map_err(|e| format!("ALSA capture device {:?}: {e}", req.device))?;
        pcm.start().ok();
        Ok(AlsaSource { pcm, cfg, xruns: 0 })
    }
}

impl Source for AlsaSource {
    fn config(&self) -> DeviceConfig {
        self.cfg
    }

    fn read_period(&mut self, period: &mut [u8]) -> Result<(), SinkError> {
        let fb = self.cfg.pcm.frame_bytes();
        let mut off = 0;
        while off < period.len() {
            let result = self.pcm.io_bytes().readi(&mut period[off..]);
            match result {
                Ok(frames) => off += frames * fb,
                Err(err) => match err.errno() {
                    libc::EPIPE | libc::ESTRPIPE => {
                        self.xruns += 1;
                        self.pcm.try_recover(err, true)?;
                        self.pcm.start().ok();
                    }
                    libc::EINTR | libc::EAGAIN => {}
                    libc::ENODEV => return Err(SinkError::Gone(err.to_string())),
                    _ => return Err(err.into()),
                },
            }
        }
        Ok(())
    }

    fn xruns(&self) -> u64 {
        self.xruns
    }
}
