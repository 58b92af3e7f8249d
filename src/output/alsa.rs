//! The real output: an ALSA PCM (meant to be a `hw:` device: no dmix, no
//! plug, no sound server), opened blocking, interleaved, at whatever format,
//! rate and channels the card really takes, preferring 48 kHz stereo and the
//! widest native integer format.

use alsa::pcm::PCM;
use alsa::Direction;

use super::Sink;
use crate::device::{classify, open_pcm, AlsaRequest, DeviceError};
use crate::pcm::DeviceConfig;

/// The calls [`AlsaSink`] makes on its PCM: alsa-lib's, or a test's that
/// fails as a card does (an underrun, a suspend, a vanished device).
pub trait PlaybackPcm: Send {
    fn avail_update(&self) -> alsa::Result<i64>;
    /// Polls up to `ms` for room (at least `avail_min`).
    fn wait(&self, ms: u32) -> alsa::Result<bool>;
    fn writei(&self, bytes: &[u8]) -> alsa::Result<usize>;
    fn delay(&self) -> alsa::Result<i64>;
    /// After an underrun (EPIPE) or a suspend (ESTRPIPE): snd_pcm_recover,
    /// which resumes a suspended PCM (or prepares it again).
    fn recover(&self, err: alsa::Error) -> alsa::Result<()>;
}

impl PlaybackPcm for PCM {
    fn avail_update(&self) -> alsa::Result<i64> {
        PCM::avail_update(self)
    }
    fn wait(&self, ms: u32) -> alsa::Result<bool> {
        PCM::wait(self, Some(ms))
    }
    fn writei(&self, bytes: &[u8]) -> alsa::Result<usize> {
        self.io_bytes().writei(bytes)
    }
    fn delay(&self) -> alsa::Result<i64> {
        PCM::delay(self)
    }
    fn recover(&self, err: alsa::Error) -> alsa::Result<()> {
        self.try_recover(err, true)
    }
}

pub struct AlsaSink<P: PlaybackPcm = PCM> {
    pcm: P,
    cfg: DeviceConfig,
    xruns: u64,
    /// A card's PCM (ALSA names its card), not a plugin's such as a sound
    /// server's.
    hw: bool,
}

impl<P: PlaybackPcm> std::fmt::Debug for AlsaSink<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlsaSink").field("cfg", &self.cfg).finish()
    }
}

impl AlsaSink {
    /// Opens and configures the PCM. Errors say which step failed.
    pub fn open(req: &AlsaRequest) -> Result<AlsaSink, DeviceError> {
        let (pcm, cfg) = open_pcm(req, Direction::Playback)?;
        // A plugin with no card behind it (a sound server's) has no card
        // number.
        let hw = pcm.info().map_or(true, |i| i.get_card() >= 0);
        Ok(AlsaSink {
            hw,
            ..AlsaSink::on(pcm, cfg)
        })
    }
}

impl<P: PlaybackPcm> AlsaSink<P> {
    /// A sink on a PCM that is open and configured as `cfg` says.
    pub fn on(pcm: P, cfg: DeviceConfig) -> AlsaSink<P> {
        AlsaSink {
            pcm,
            cfg,
            xruns: 0,
            hw: true,
        }
    }

    /// Recovers from an underrun or suspend (counted), retries after a signal;
    /// anything else, and a vanished device, is an error.
    fn recover(&mut self, err: alsa::Error) -> Result<(), DeviceError> {
        if let Some(err) = classify(err)? {
            self.xruns += 1;
            self.pcm.recover(err)?;
        }
        Ok(())
    }
}

impl<P: PlaybackPcm> Sink for AlsaSink<P> {
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
                    if let Err(err) = self.pcm.wait(ms) {
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
            let result = self.pcm.writei(&period[off..]);
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

    fn has_hw_pointer(&self) -> bool {
        self.hw
    }
}

/// The first card's `hw:N,0` that can play, for when no device is named:
/// one that opens for playback, or that another program holds (a sound
/// server: the card is there, and its own), never a later card that
/// happens to be free (an HDMI output nobody hears). Returns the name, or
/// a message listing what was tried.
pub fn first_playback_device() -> Result<String, String> {
    let mut tried = Vec::new();
    for card in alsa::card::Iter::new().flatten() {
        let name = format!("hw:{},0", card.get_index());
        match crate::device::quietly(|| PCM::new(&name, Direction::Playback, true)) {
            Ok(_) => return Ok(name),
            Err(e) if e.errno() == libc::EBUSY => return Ok(name),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcm::{PcmFormat, SampleFormat};
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// A PCM whose calls fail as scripted; every call is logged.
    #[derive(Default)]
    struct Scripted {
        avail: RefCell<VecDeque<alsa::Result<i64>>>,
        writes: RefCell<VecDeque<alsa::Result<usize>>>,
        calls: RefCell<Vec<String>>,
    }

    impl PlaybackPcm for Scripted {
        fn avail_update(&self) -> alsa::Result<i64> {
            self.calls.borrow_mut().push("avail".into());
            self.avail.borrow_mut().pop_front().unwrap_or(Ok(1 << 20))
        }
        fn wait(&self, ms: u32) -> alsa::Result<bool> {
            self.calls.borrow_mut().push(format!("wait {ms}"));
            Ok(true)
        }
        fn writei(&self, bytes: &[u8]) -> alsa::Result<usize> {
            self.calls.borrow_mut().push("write".into());
            self.writes
                .borrow_mut()
                .pop_front()
                .unwrap_or(Ok(bytes.len() / 4))
        }
        fn delay(&self) -> alsa::Result<i64> {
            Ok(0)
        }
        fn recover(&self, err: alsa::Error) -> alsa::Result<()> {
            self.calls
                .borrow_mut()
                .push(format!("recover {}", err.errno()));
            Ok(())
        }
    }

    fn err(errno: i32) -> alsa::Error {
        alsa::Error::new("snd_pcm_writei", errno)
    }

    fn sink(pcm: Scripted) -> AlsaSink<Scripted> {
        let cfg = DeviceConfig {
            pcm: PcmFormat {
                sample: SampleFormat::S16Le,
                channels: 2,
                rate: 48000,
            },
            period_frames: 256,
            buffer_frames: 768,
        };
        AlsaSink::on(pcm, cfg)
    }

    #[test]
    fn a_suspend_is_resumed_and_the_write_goes_on() {
        let pcm = Scripted::default();
        // Suspended mid-write (ESTRPIPE): resumed, and the rest is written.
        pcm.writes
            .borrow_mut()
            .extend([Ok(100), Err(err(libc::ESTRPIPE))]);
        let mut s = sink(pcm);
        s.write_period(&[0; 256 * 4]).unwrap();
        assert_eq!(s.xruns(), 1);
        let calls = s.pcm.calls.borrow().clone();
        assert_eq!(
            calls,
            [
                "write",
                "write",
                &format!("recover {}", libc::ESTRPIPE),
                "write"
            ]
        );
    }

    #[test]
    fn an_underrun_in_the_wait_is_recovered_and_counted() {
        let pcm = Scripted::default();
        pcm.avail
            .borrow_mut()
            .extend([Ok(10), Err(err(libc::EPIPE)), Ok(768)]);
        let mut s = sink(pcm);
        s.wait_ready(128).unwrap();
        assert_eq!(s.xruns(), 1);
        // 118 frames missing at 48 kHz: the poll ends within 3 ms.
        let calls = s.pcm.calls.borrow().clone();
        let recover = format!("recover {}", libc::EPIPE);
        assert_eq!(calls, ["avail", "wait 3", "avail", &recover, "avail"]);
    }

    #[test]
    fn a_vanished_device_is_gone_and_a_signal_is_retried() {
        let pcm = Scripted::default();
        pcm.writes
            .borrow_mut()
            .extend([Err(err(libc::EINTR)), Err(err(libc::ENODEV))]);
        let mut s = sink(pcm);
        let e = s.write_period(&[0; 16]).unwrap_err();
        assert!(matches!(e, DeviceError::Gone(_)), "{e}");
        assert!(e.is_absent());
        assert_eq!(s.xruns(), 0);
    }
}
