//! OSS semantics: the sample formats, the ioctl ABI, and the per-open-file
//! state machine of /dev/dsp.

pub mod dsp;
pub mod format;
pub mod mixer;
pub mod sndstat;
pub mod soundcard;
