//! Where the mix goes: a device that takes one period at a time and says how
//! far it has played. [`alsa::AlsaSink`] is the real one (an ALSA hw PCM);
//! [`clock::ClockSink`] keeps real time by its own clock and needs no sound
//! hardware (the fake-kernel tests and benchmarks run on it).

pub mod alsa;
pub mod clock;

use crate::device::DeviceError;
use crate::pcm::DeviceConfig;

/// Opens the output device again (after an idle release).
pub type SinkOpener = Box<dyn FnMut() -> Result<Box<dyn Sink>, DeviceError> + Send>;

/// The device end of the engine.
pub trait Sink: Send {
    /// What the device was opened with.
    fn config(&self) -> DeviceConfig;
    /// Blocks until the device has room for a whole period. The engine mixes
    /// only then, so a period is never mixed earlier than it must be: what a
    /// client wrote meanwhile still makes it in.
    fn wait_ready(&mut self) -> Result<(), DeviceError>;
    /// Writes one period (`period_frames` frames); after `wait_ready` it does
    /// not block. An underrun is recovered here and counted.
    fn write_period(&mut self, period: &[u8]) -> Result<(), DeviceError>;
    /// Frames written but not yet played (the device's odelay).
    fn delay(&mut self) -> u64;
    /// Underruns of the device so far.
    fn xruns(&self) -> u64;
}
