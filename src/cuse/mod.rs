//! CUSE: the kernel's character-device-in-userspace protocol. `abi` has the
//! kernel's numbers and layouts, `wire` turns request bytes into typed
//! requests and typed replies into bytes (no I/O), `channel` is the fd.

pub mod abi;
pub mod channel;
pub mod wire;
