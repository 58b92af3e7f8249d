//! Where the mix goes: a device that takes one period at a time and says how
//! far it has played. [`alsa::AlsaSink`] is the real one (an ALSA hw PCM);
//! [`clock::ClockSink`] keeps real time by its own clock and needs no sound
//! hardware (the fake-kernel tests and benchmarks run on it). How far a
//! device has played, [`Position`], is vocabulary ([`crate::pcm`]),
//! re-exported here.

pub mod adapt;
pub mod alsa;
pub mod clock;
pub mod pace;
pub mod pulse;

pub use crate::pcm::Position;
use crate::pcm::{DeviceConfig, DeviceError};

/// Opens the output device named (one of the configured list, most
/// preferred first) again: after an idle release, while devices are
/// missing, to move the mix between them, and to change the period. It asks for the rate,
/// channels, period and buffer of `want`, and for its sample format where
/// the device takes it (another is fine: the mix is encoded for the
/// device).
pub type SinkOpener =
    Box<dyn FnMut(&str, &DeviceConfig) -> Result<Box<dyn Sink>, DeviceError> + Send>;

/// The device end of the engine.
pub trait Sink: Send {
    /// What the device was opened with.
    fn config(&self) -> DeviceConfig;
    /// Blocks until the device has room for `frames` (the engine asks for
    /// one mix block, which may be less than the device's period). The
    /// engine mixes only then, so a block is never mixed earlier than it
    /// must be: what a client wrote meanwhile still makes it in. An
    /// underrun found here is recovered and counted.
    fn wait_ready(&mut self, frames: u32) -> Result<(), DeviceError>;
    /// Writes whole frames; after `wait_ready(n)`, `n` frames do not block.
    /// An underrun is recovered here and counted.
    fn write_period(&mut self, period: &[u8]) -> Result<(), DeviceError>;
    /// Frames written but not yet played (the device's odelay).
    fn delay(&mut self) -> u64;
    /// Underruns of the device so far.
    fn xruns(&self) -> u64;
    /// Whether the device's position comes from a hardware pointer, which
    /// counts frames modulo the buffer (an ALSA hw PCM, or a plug over
    /// one): a wake-up later than a buffer can then hide an underrun, and
    /// the engine compares the device with the clock ([`pace`]). A sound
    /// server's PCM (ALSA's `pulse`, `pipewire`) reports the server's
    /// stream instead, whose position and underruns the server keeps.
    fn has_hw_pointer(&self) -> bool {
        true
    }
}
