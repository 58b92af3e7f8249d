//! Where recordings come from: a device that yields one period at a time.
//! [`alsa::AlsaSource`] is an ALSA capture PCM (opened when the first reader
//! appears); [`clock::ClockSource`] makes a known signal in real time, for
//! the fake-kernel tests.

pub mod alsa;
pub mod clock;

use crate::device::DeviceError;
use crate::pcm::DeviceConfig;

/// The device end of recording.
pub trait Source: Send {
    /// What the device was opened with.
    fn config(&self) -> DeviceConfig;
    /// Reads one period (`period_frames` frames) into `period`, blocking until
    /// the device has captured it. An overrun is recovered here and counted.
    fn read_period(&mut self, period: &mut [u8]) -> Result<(), DeviceError>;
    /// Overruns of the device so far.
    fn xruns(&self) -> u64;
}

/// Opens the capture device named (one of the configured list, most
/// preferred first): for the first reader, and again after one went away.
pub type SourceOpener = Box<dyn FnMut(&str) -> Result<Box<dyn Source>, DeviceError> + Send>;
