//! The real output: an ALSA PCM (meant to be a `hw:` device: no dmix, no
//! plug, no sound server), opened blocking, interleaved, at whatever format,
//! rate and channels the card really takes, preferring 48 kHz stereo and the
//! widest native integer format.

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};

use super::{Sink, SinkError};
use crate::pcm::{DeviceConfig, PcmFormat, SampleFormat};

/// What the user asked of the device (each `None` lets ossd choose).
#[derive(Debug, Clone, Default)]
pub struct AlsaRequest {
    pub device: String,
    pub format: Option<SampleFormat>,
    pub rate: Option<u32>,
    pub channels: Option<u32>,
    pub period_frames: u32,
    pub periods: u32,
}

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

/// ALSA's name for one of our sample formats.
pub fn alsa_format(s: SampleFormat) -> Format {
    match s {
        SampleFormat::U8 => Format::U8,
        SampleFormat::S8 => Format::S8,
        SampleFormat::S16Le => Format::S16LE,
        SampleFormat::S16Be => Format::S16BE,
        SampleFormat::U16Le => Format::U16LE,
        SampleFormat::U16Be => Format::U16BE,
        SampleFormat::MuLaw => Format::MuLaw,
        SampleFormat::ALaw => Format::ALaw,
        SampleFormat::S24Le => Format::S24LE,
        SampleFormat::S24Be => Format::S24BE,
        SampleFormat::S24Packed => Format::S243LE,
        SampleFormat::S32Le => Format::S32LE,
        SampleFormat::S32Be => Format::S32BE,
        SampleFormat::FloatLe => Format::FloatLE,
    }
}

/// Formats we try on the device when none is asked for: widest integer first.
const PREFERRED: [SampleFormat; 6] = [
    SampleFormat::S32Le,
    SampleFormat::S24Le,
    SampleFormat::S24Packed,
    SampleFormat::S16Le,
    SampleFormat::FloatLe,
    SampleFormat::U8,
];

impl AlsaSink {
    /// Opens and configures the PCM. Errors say which step failed.
    pub fn open(req: &AlsaRequest) -> Result<AlsaSink, String> {
        let pcm = PCM::new(&req.device, Direction::Playback, false)
            .map_err(|e| format!("cannot open ALSA playback device {:?}: {e}", req.device))?;
        let cfg = configure(&pcm, req, Direction::Playback)
            .map_err(|e| format!("ALSA device {:?}: {e}", req.device))?;
        Ok(AlsaSink { pcm, cfg, xruns: 0 })
    }
}

/// Negotiates hw and sw params on an opened PCM (either direction).
pub(crate) fn configure(
    pcm: &PCM,
    req: &AlsaRequest,
    dir: Direction,
) -> Result<DeviceConfig, String> {
    fn e(what: &str) -> impl Fn(alsa::Error) -> String + '_ {
        move |err| format!("{what}: {err}")
    }
    let hwp = HwParams::any(pcm).map_err(e("no hw params"))?;
    hwp.set_access(Access::RWInterleaved)
        .map_err(e("interleaved read/write access refused"))?;
    hwp.set_rate_resample(false)
        .map_err(e("cannot disable resampling"))?;
    let sample = match req.format {
        Some(f) => {
            hwp.set_format(alsa_format(f))
                .map_err(|err| format!("format {} refused: {err}", f.name()))?;
            f
        }
        None => {
            let f = PREFERRED
                .into_iter()
                .find(|&f| hwp.test_format(alsa_format(f)).is_ok())
                .ok_or("takes none of S32_LE, S24_LE, S24_3LE, S16_LE, FLOAT_LE, U8")?;
            hwp.set_format(alsa_format(f)).map_err(e("format"))?;
            f
        }
    };
    let channels = hwp
        .set_channels_near(req.channels.unwrap_or(2))
        .map_err(e("channels"))?;
    let rate = hwp
        .set_rate_near(req.rate.unwrap_or(48000), ValueOr::Nearest)
        .map_err(e("rate"))?;
    let period = hwp
        .set_period_size_near(req.period_frames.max(16) as i64, ValueOr::Nearest)
        .map_err(e("period size"))?;
    hwp.set_buffer_size_near(period * req.periods.max(2) as i64)
        .map_err(e("buffer size"))?;
    pcm.hw_params(&hwp).map_err(e("hw params refused"))?;
    let hwp = pcm.hw_params_current().map_err(e("hw params"))?;
    let period = hwp.get_period_size().map_err(e("period size"))? as u32;
    let buffer = hwp.get_buffer_size().map_err(e("buffer size"))? as u32;
    let swp = pcm.sw_params_current().map_err(e("sw params"))?;
    // Playback starts once the buffer is full of (initially silent)
    // periods; capture starts with the first read. Wake us every period.
    let start = match dir {
        Direction::Playback => (buffer - buffer % period) as i64,
        Direction::Capture => 1,
    };
    swp.set_start_threshold(start)
        .map_err(e("start threshold"))?;
    swp.set_avail_min(period as i64).map_err(e("avail min"))?;
    pcm.sw_params(&swp).map_err(e("sw params refused"))?;
    Ok(DeviceConfig {
        pcm: PcmFormat {
            sample,
            channels,
            rate,
        },
        period_frames: period,
        buffer_frames: buffer,
    })
}

impl AlsaSink {
    /// Recovers from an underrun or suspend (counted), retries after a signal;
    /// anything else, and a vanished device, is an error.
    fn recover(&mut self, err: alsa::Error) -> Result<(), SinkError> {
        match err.errno() {
            libc::EPIPE | libc::ESTRPIPE => {
                self.xruns += 1;
                self.pcm.try_recover(err, true)?;
                Ok(())
            }
            libc::EINTR | libc::EAGAIN => Ok(()),
            libc::ENODEV => Err(SinkError::Gone(err.to_string())),
            _ => Err(err.into()),
        }
    }
}

impl Sink for AlsaSink {
    fn config(&self) -> DeviceConfig {
        self.cfg
    }

    fn wait_ready(&mut self) -> Result<(), SinkError> {
        loop {
            match self.pcm.avail_update() {
                Ok(avail) if avail >= self.cfg.period_frames as i64 => return Ok(()),
                Ok(_) => match self.pcm.wait(Some(1000)) {
                    Ok(_) => {}
                    Err(err) => self.recover(err)?,
                },
                Err(err) => self.recover(err)?,
            }
        }
    }

    fn write_period(&mut self, period: &[u8]) -> Result<(), SinkError> {
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
