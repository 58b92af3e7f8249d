//! OSS semantics: the ioctl ABI, the per-open-file state machine of
//! /dev/dsp, the mixer device and /dev/sndstat. (The sample formats and their
//! codecs are shared vocabulary: [`crate::pcm::format`].)

pub mod dsp;
pub mod mixer;
pub mod sndstat;
pub mod soundcard;
