//! ossd: an OSS sound device (/dev/dsp) in userspace, over CUSE, that mixes
//! its clients itself and plays the mix straight to an ALSA hw device.
//!
//! The data path is the module order: a client's write arrives as a CUSE
//! request ([`cuse`]), is handled by its open file's OSS state ([`oss`]),
//! queued in its voice and mixed ([`mix`]), and written to the device one
//! period at a time ([`output`]). [`daemon`] runs the protocol and engine
//! threads that move it along. [`pcm`] is the vocabulary they all share (sample
//! formats, codecs, stream and device formats); it depends on none of them.

pub mod check;
pub mod config;
pub mod control;
pub mod cuse;
pub mod daemon;
pub mod desktop;
pub mod device;
pub mod host;
pub mod input;
pub mod mix;
pub mod oss;
pub mod output;
pub mod pcm;
pub mod presence;
pub mod server;
pub mod system;
