//! What the output and the capture devices share: the one ALSA PCM set-up
//! ([`open_pcm`]): open, negotiate hw params, set sw params, in either
//! direction, and the classification of an ALSA error. The error every
//! [`Sink`](crate::output::Sink) and [`Source`](crate::input::Source)
//! returns, [`DeviceError`], is vocabulary ([`crate::pcm`]), re-exported
//! here.
//!
//! Below `output/` and `input/`, above the vocabulary ([`crate::pcm`]).

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};

pub use crate::pcm::DeviceError;
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

impl AlsaRequest {
    /// The configuration to run at when the device is absent: what was
    /// asked for, else S16_LE, 48 kHz, stereo.
    pub fn stand_in(&self) -> DeviceConfig {
        let period_frames = self.period_frames.max(16);
        DeviceConfig {
            pcm: PcmFormat {
                sample: self.format.unwrap_or(SampleFormat::S16Le),
                channels: self.channels.unwrap_or(2),
                rate: self.rate.unwrap_or(48000),
            },
            period_frames,
            buffer_frames: period_frames * self.periods.max(2),
        }
    }

    /// This request with the format, rate and channels of `cfg`: to open
    /// the device again as the mix runs.
    pub fn pinned_to(&self, cfg: &DeviceConfig) -> AlsaRequest {
        AlsaRequest {
            format: Some(cfg.pcm.sample),
            rate: Some(cfg.pcm.rate),
            channels: Some(cfg.pcm.channels),
            ..self.clone()
        }
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

/// Opens `req.device` for `dir`, blocking and interleaved, and negotiates
/// its hw and sw params: the format asked for (or the widest of
/// `PREFERRED` it takes), the channels and rate nearest to those asked
/// for (stereo, 48 kHz), the period and buffer sizes. Errors say which step
/// failed.
pub fn open_pcm(req: &AlsaRequest, dir: Direction) -> Result<(PCM, DeviceConfig), DeviceError> {
    let pcm = PCM::new(&req.device, dir, false).map_err(|source| DeviceError::Open {
        device: req.device.clone(),
        dir,
        source,
    })?;
    let cfg = configure(&pcm, req, dir)?;
    Ok((pcm, cfg))
}

/// Negotiates hw and sw params on an opened PCM (either direction).
fn configure(pcm: &PCM, req: &AlsaRequest, dir: Direction) -> Result<DeviceConfig, DeviceError> {
    let e = |what: &'static str| {
        move |source| DeviceError::Config {
            device: req.device.clone(),
            dir,
            what: what.into(),
            source,
        }
    };
    let hwp = HwParams::any(pcm).map_err(e("no hw params"))?;
    hwp.set_access(Access::RWInterleaved)
        .map_err(e("interleaved read/write access refused"))?;
    hwp.set_rate_resample(false)
        .map_err(e("cannot disable resampling"))?;
    let sample = match req.format {
        Some(f) => {
            hwp.set_format(alsa_format(f))
                .map_err(|source| DeviceError::FormatRefused {
                    device: req.device.clone(),
                    dir,
                    format: f.name(),
                    source,
                })?;
            f
        }
        None => {
            let f = PREFERRED
                .into_iter()
                .find(|&f| hwp.test_format(alsa_format(f)).is_ok())
                .ok_or_else(|| DeviceError::NoFormat {
                    device: req.device.clone(),
                    dir,
                })?;
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

/// Runs `f` (an open of a PCM) with alsa-lib's own error prints sent to a
/// buffer of this thread that is thrown away: while a card is missing, every
/// try to open it again would otherwise print "Cannot get card index" to
/// stderr. ossd says what failed itself.
pub fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let _discarded = alsa::Output::local_error_handler().ok();
    f()
}

/// Sorts an error of a PCM read, write or wait: `Ok(Some(err))` for an xrun
/// or a suspend, for the caller to count and recover from; `Ok(None)` for an
/// interrupted call, to retry; the device vanishing ([`DeviceError::Gone`]),
/// or anything else, is the error to stop on.
pub fn classify(err: alsa::Error) -> Result<Option<alsa::Error>, DeviceError> {
    match err.errno() {
        libc::EPIPE | libc::ESTRPIPE => Ok(Some(err)),
        libc::EINTR | libc::EAGAIN => Ok(None),
        libc::ENODEV => Err(DeviceError::Gone(err)),
        _ => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(errno: i32) -> alsa::Error {
        alsa::Error::new("snd_pcm_writei", errno)
    }

    #[test]
    fn xruns_are_recovered_signals_retried_and_a_vanished_device_is_gone() {
        assert!(matches!(classify(err(libc::EPIPE)), Ok(Some(_))));
        assert!(matches!(classify(err(libc::ESTRPIPE)), Ok(Some(_))));
        assert!(matches!(classify(err(libc::EINTR)), Ok(None)));
        assert!(matches!(classify(err(libc::EAGAIN)), Ok(None)));
        assert!(matches!(
            classify(err(libc::ENODEV)),
            Err(DeviceError::Gone(_))
        ));
        assert!(matches!(
            classify(err(libc::EIO)),
            Err(DeviceError::Alsa(_))
        ));
    }

    #[test]
    fn the_stand_in_runs_as_asked_or_s16_48k_stereo_and_reopens_pinned() {
        let req = AlsaRequest {
            device: "hw:Loopback,0,0".into(),
            period_frames: 1024,
            periods: 4,
            ..AlsaRequest::default()
        };
        let cfg = req.stand_in();
        assert_eq!(cfg.pcm.sample, SampleFormat::S16Le);
        assert_eq!((cfg.pcm.rate, cfg.pcm.channels), (48000, 2));
        assert_eq!((cfg.period_frames, cfg.buffer_frames), (1024, 4096));
        let pinned = req.pinned_to(&cfg);
        assert_eq!(pinned.format, Some(SampleFormat::S16Le));
        assert_eq!((pinned.rate, pinned.channels), (Some(48000), Some(2)));
        assert_eq!(pinned.device, "hw:Loopback,0,0");
        let asked = AlsaRequest {
            format: Some(SampleFormat::S32Le),
            rate: Some(44100),
            channels: Some(1),
            ..req
        };
        let cfg = asked.stand_in();
        assert_eq!(cfg.pcm.sample, SampleFormat::S32Le);
        assert_eq!((cfg.pcm.rate, cfg.pcm.channels), (44100, 1));
    }
}
