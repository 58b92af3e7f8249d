//! What the core sends back: one [`Answer`] per request it read (or a poll
//! notification), typed, for the runtime to encode with
//! [`cuse::wire::Reply`](crate::cuse::wire::Reply); and [`Fail`], the core's
//! errors, with the one mapping to errno that every reply uses.

use crate::cuse::wire::Reply;

/// Why a request failed. [`Fail::errno`] is the only place the core's
/// failures become errno values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// The file handle is not open on this node.
    BadFile,
    /// The file was not opened for this direction (a read on a write-only
    /// file and the like).
    WrongDirection,
    /// The node refuses this access mode (sndstat and the monitor are read-only).
    Access,
    /// Recording was asked for and there is no capture device.
    NoCapture,
    /// The request makes no sense for this kind of file.
    Invalid,
    /// O_NONBLOCK and nothing could be done now.
    WouldBlock,
    /// An interrupt, or the file was closed, while the request waited.
    Interrupted,
    /// The device cannot do it (recording on a file that has no capture
    /// stream, the capture device failed, the daemon is stopping).
    Io,
    /// An errno chosen by the OSS layer (`Dsp::ioctl`, the mixer) or by the
    /// request decoder, passed through as it is.
    Errno(i32),
}

impl Fail {
    pub fn errno(self) -> i32 {
        match self {
            Fail::BadFile | Fail::WrongDirection => libc::EBADF,
            Fail::Access => libc::EACCES,
            Fail::NoCapture => libc::ENXIO,
            Fail::Invalid => libc::EINVAL,
            Fail::WouldBlock => libc::EAGAIN,
            Fail::Interrupted => libc::EINTR,
            Fail::Io => libc::EIO,
            Fail::Errno(e) => e,
        }
    }
}

/// One reply (by the request's `unique`), or a poll notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// CUSE_INIT: the runtime fills in the node's name and device number.
    Init(u64),
    Open {
        unique: u64,
        fh: u64,
    },
    /// A write took `n` bytes.
    Written {
        unique: u64,
        n: u32,
    },
    /// A read's bytes.
    Data {
        unique: u64,
        data: Vec<u8>,
    },
    Ioctl {
        unique: u64,
        result: i32,
        out: Vec<u8>,
    },
    Poll {
        unique: u64,
        revents: u32,
    },
    /// Success with nothing to say (RELEASE, FLUSH).
    Done(u64),
    Fail {
        unique: u64,
        fail: Fail,
    },
    /// Not a reply: wakes the pollers of kernel poll handle `kh`.
    Notify(u64),
}

impl Answer {
    /// The request this answers; `None` for a notification.
    pub fn unique(&self) -> Option<u64> {
        match *self {
            Answer::Init(u) | Answer::Done(u) => Some(u),
            Answer::Open { unique, .. }
            | Answer::Written { unique, .. }
            | Answer::Data { unique, .. }
            | Answer::Ioctl { unique, .. }
            | Answer::Poll { unique, .. }
            | Answer::Fail { unique, .. } => Some(unique),
            Answer::Notify(_) => None,
        }
    }

    /// The bytes to send; `node` is the (name, device number) of the
    /// connection it goes to, for CUSE_INIT.
    pub fn encode<'r>(&self, reply: &'r mut Reply, node: (&str, (u32, u32))) -> &'r [u8] {
        match self {
            Answer::Init(u) => reply.cuse_init(*u, node.1 .0, node.1 .1, node.0),
            Answer::Open { unique, fh } => reply.open(*unique, *fh),
            Answer::Written { unique, n } => reply.write(*unique, *n),
            Answer::Data { unique, data } => reply.read_with(*unique, data.len(), |b| {
                b.copy_from_slice(data);
                data.len()
            }),
            Answer::Ioctl {
                unique,
                result,
                out,
            } => reply.ioctl(*unique, *result, out),
            Answer::Poll { unique, revents } => reply.poll(*unique, *revents),
            Answer::Done(u) => reply.empty(*u),
            Answer::Fail { unique, fail } => reply.error(*unique, fail.errno()),
            Answer::Notify(kh) => reply.notify_poll(*kh),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_is_a_valid_errno() {
        for f in [
            Fail::BadFile,
            Fail::WrongDirection,
            Fail::Access,
            Fail::NoCapture,
            Fail::Invalid,
            Fail::WouldBlock,
            Fail::Interrupted,
            Fail::Io,
            Fail::Errno(libc::ENOTTY),
        ] {
            let e = f.errno();
            assert!(e > 0 && e < 512, "{f:?} -> {e}");
        }
    }

    #[test]
    fn a_notification_answers_no_request() {
        assert_eq!(Answer::Notify(7).unique(), None);
        assert_eq!(Answer::Done(9).unique(), Some(9));
    }
}
