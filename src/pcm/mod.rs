//! The shared vocabulary of PCM audio, a leaf every layer uses: the sample
//! formats and their byte codecs ([`format`](mod@format)), a stream's format
//! ([`PcmFormat`]), what a device was opened with ([`DeviceConfig`]), how far
//! it has played ([`Position`]) and why it failed ([`DeviceError`]).
//!
//! Pure data and arithmetic (a device error carries ALSA's error): it
//! imports nothing from the rest of ossd, so the OSS layer, the request
//! core, the mixer and the devices can all speak it without depending on
//! one another.

mod error;
pub mod format;
mod position;

pub use error::DeviceError;
pub use format::SampleFormat;
pub use position::Position;

/// A PCM stream format: sample encoding, channels, frames per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmFormat {
    pub sample: SampleFormat,
    pub channels: u32,
    pub rate: u32,
}

impl PcmFormat {
    pub fn frame_bytes(&self) -> usize {
        self.sample.bytes_per_sample() * self.channels as usize
    }
}

/// What a device (the output, or the capture device) was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceConfig {
    pub pcm: PcmFormat,
    pub period_frames: u32,
    pub buffer_frames: u32,
}

impl DeviceConfig {
    pub fn period_bytes(&self) -> usize {
        self.period_frames as usize * self.pcm.frame_bytes()
    }
}
