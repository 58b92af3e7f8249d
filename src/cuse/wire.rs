//! The CUSE wire codec, sans I/O: request bytes → [`Request`], typed replies → bytes.
//!
//! Contract (as smoltcp's `wire`): [`Request::parse`] never panics on any byte
//! string. What it cannot read is a [`ParseError`], which says whether the
//! request can still be answered (it had a readable header, so a `unique`) and
//! with which errno. Replies are built by [`Reply`] into a caller-owned buffer,
//! so a steady stream of replies allocates nothing.

use super::abi::*;

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

/// `fuse_in_header`, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub opcode: u32,
    pub unique: u64,
    pub nodeid: u64,
    pub uid: u32,
    pub gid: u32,
    pub pid: u32,
    pub total_extlen: u16,
}

impl Header {
    /// Reads the 40-byte header; `None` if fewer bytes are there.
    pub fn parse(buf: &[u8]) -> Option<Header> {
        if buf.len() < IN_HEADER_SIZE {
            return None;
        }
        Some(Header {
            len: u32_at(buf, 0),
            opcode: u32_at(buf, 4),
            unique: u64_at(buf, 8),
            nodeid: u64_at(buf, 16),
            uid: u32_at(buf, 24),
            gid: u32_at(buf, 28),
            pid: u32_at(buf, 32),
            total_extlen: u16_at(buf, 36),
        })
    }

    /// Writes the header (used by the fake kernel in tests and by fuzzers).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.len.to_ne_bytes());
        out.extend_from_slice(&self.opcode.to_ne_bytes());
        out.extend_from_slice(&self.unique.to_ne_bytes());
        out.extend_from_slice(&self.nodeid.to_ne_bytes());
        out.extend_from_slice(&self.uid.to_ne_bytes());
        out.extend_from_slice(&self.gid.to_ne_bytes());
        out.extend_from_slice(&self.pid.to_ne_bytes());
        out.extend_from_slice(&self.total_extlen.to_ne_bytes());
        out.extend_from_slice(&0u16.to_ne_bytes());
    }
}

/// One request's operation and arguments, borrowing the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    CuseInit {
        major: u32,
        minor: u32,
        flags: u32,
    },
    Open {
        flags: u32,
    },
    Read {
        fh: u64,
        size: u32,
        flags: u32,
    },
    Write {
        fh: u64,
        data: &'a [u8],
        flags: u32,
    },
    Release {
        fh: u64,
        flags: u32,
    },
    Interrupt {
        unique: u64,
    },
    Ioctl {
        fh: u64,
        flags: u32,
        cmd: u32,
        arg: u64,
        input: &'a [u8],
        out_size: u32,
    },
    Poll {
        fh: u64,
        kh: u64,
        flags: u32,
        events: u32,
    },
    /// FLUSH and FSYNC: a CUSE device never receives them from Linux, but a
    /// harmless answer (success) is right if one ever comes.
    Flush {
        fh: u64,
    },
}

/// A request: its header and its decoded operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub header: Header,
    pub op: Op<'a>,
}

impl Op<'_> {
    /// The open file the operation is for (`None` for CUSE_INIT, OPEN and
    /// INTERRUPT).
    pub fn fh(&self) -> Option<u64> {
        match *self {
            Op::Read { fh, .. }
            | Op::Write { fh, .. }
            | Op::Release { fh, .. }
            | Op::Ioctl { fh, .. }
            | Op::Poll { fh, .. }
            | Op::Flush { fh } => Some(fh),
            Op::CuseInit { .. } | Op::Open { .. } | Op::Interrupt { .. } => None,
        }
    }

    /// The operation's name as FUSE spells it, for log lines.
    pub fn name(&self) -> &'static str {
        match self {
            Op::CuseInit { .. } => "CUSE_INIT",
            Op::Open { .. } => "OPEN",
            Op::Read { .. } => "READ",
            Op::Write { .. } => "WRITE",
            Op::Release { .. } => "RELEASE",
            Op::Interrupt { .. } => "INTERRUPT",
            Op::Ioctl { .. } => "IOCTL",
            Op::Poll { .. } => "POLL",
            Op::Flush { .. } => "FLUSH",
        }
    }
}

/// Why a request could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than a header: there is no `unique` to answer. Drop it.
    #[error("request of {0} bytes is shorter than a fuse_in_header")]
    ShortHeader(usize),
    /// The header's `len` disagrees with the bytes read.
    #[error("request {unique}: header says {said} bytes, {got} were read")]
    LengthMismatch { unique: u64, said: u32, got: usize },
    /// The opcode's fixed arguments (or the data they announce) are cut short.
    #[error("request {unique}: opcode {opcode} arguments truncated")]
    Truncated { unique: u64, opcode: u32 },
    /// An opcode a CUSE device does not implement.
    #[error("request {unique}: unknown opcode {opcode}")]
    UnknownOpcode { unique: u64, opcode: u32 },
}

impl ParseError {
    /// The unique to answer and the errno to answer it with, when it can be answered.
    /// An INTERRUPT is never answered, so a broken one is only dropped.
    pub fn reply(&self) -> Option<(u64, i32)> {
        match *self {
            ParseError::ShortHeader(_) => None,
            ParseError::LengthMismatch { unique, .. } => Some((unique, libc::EIO)),
            ParseError::Truncated { opcode, .. } if opcode == opcode::FUSE_INTERRUPT => None,
            ParseError::Truncated { unique, .. } => Some((unique, libc::EINVAL)),
            ParseError::UnknownOpcode { unique, .. } => Some((unique, libc::ENOSYS)),
        }
    }
}

impl<'a> Request<'a> {
    /// Decodes one request. Never panics, whatever `buf` holds.
    pub fn parse(buf: &'a [u8]) -> Result<Request<'a>, ParseError> {
        let header = Header::parse(buf).ok_or(ParseError::ShortHeader(buf.len()))?;
        let unique = header.unique;
        if header.len as usize != buf.len() {
            return Err(ParseError::LengthMismatch {
                unique,
                said: header.len,
                got: buf.len(),
            });
        }
        // Extensions (total_extlen, in 8-byte units) trail the arguments; no
        // CUSE opcode carries any, but skip them rather than misread them.
        let ext = header.total_extlen as usize * 8;
        let body_end = buf.len().saturating_sub(ext).max(IN_HEADER_SIZE);
        let body = &buf[IN_HEADER_SIZE..body_end];
        let truncated = ParseError::Truncated {
            unique,
            opcode: header.opcode,
        };
        let need = |n: usize| {
            if body.len() < n {
                Err(truncated)
            } else {
                Ok(())
            }
        };
        let op = match header.opcode {
            opcode::CUSE_INIT => {
                need(CUSE_INIT_IN_SIZE)?;
                Op::CuseInit {
                    major: u32_at(body, 0),
                    minor: u32_at(body, 4),
                    flags: u32_at(body, 12),
                }
            }
            opcode::FUSE_OPEN => {
                need(OPEN_IN_SIZE)?;
                Op::Open {
                    flags: u32_at(body, 0),
                }
            }
            opcode::FUSE_READ => {
                need(READ_IN_SIZE)?;
                Op::Read {
                    fh: u64_at(body, 0),
                    size: u32_at(body, 16),
                    flags: u32_at(body, 32),
                }
            }
            opcode::FUSE_WRITE => {
                need(WRITE_IN_SIZE)?;
                let size = u32_at(body, 16) as usize;
                let data = &body[WRITE_IN_SIZE..];
                if data.len() != size {
                    return Err(truncated);
                }
                Op::Write {
                    fh: u64_at(body, 0),
                    data,
                    flags: u32_at(body, 32),
                }
            }
            opcode::FUSE_RELEASE => {
                need(RELEASE_IN_SIZE)?;
                Op::Release {
                    fh: u64_at(body, 0),
                    flags: u32_at(body, 8),
                }
            }
            opcode::FUSE_INTERRUPT => {
                need(INTERRUPT_IN_SIZE)?;
                Op::Interrupt {
                    unique: u64_at(body, 0),
                }
            }
            opcode::FUSE_IOCTL => {
                need(IOCTL_IN_SIZE)?;
                let in_size = u32_at(body, 24) as usize;
                let input = &body[IOCTL_IN_SIZE..];
                if input.len() != in_size {
                    return Err(truncated);
                }
                Op::Ioctl {
                    fh: u64_at(body, 0),
                    flags: u32_at(body, 8),
                    cmd: u32_at(body, 12),
                    arg: u64_at(body, 16),
                    input,
                    out_size: u32_at(body, 28),
                }
            }
            opcode::FUSE_POLL => {
                need(POLL_IN_SIZE)?;
                Op::Poll {
                    fh: u64_at(body, 0),
                    kh: u64_at(body, 8),
                    flags: u32_at(body, 16),
                    events: u32_at(body, 20),
                }
            }
            opcode::FUSE_FLUSH | opcode::FUSE_FSYNC => {
                need(8)?;
                Op::Flush {
                    fh: u64_at(body, 0),
                }
            }
            opcode => return Err(ParseError::UnknownOpcode { unique, opcode }),
        };
        Ok(Request { header, op })
    }
}

/// Builds replies into a reusable buffer. Every method clears the buffer and
/// leaves exactly one reply in it, with `len` filled in.
#[derive(Debug, Default)]
pub struct Reply {
    buf: Vec<u8>,
}

impl Reply {
    pub fn new() -> Reply {
        Reply {
            buf: Vec::with_capacity(OUT_HEADER_SIZE + MAX_READ as usize),
        }
    }

    /// The reply built last.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    fn start(&mut self, unique: u64, error: i32) {
        self.buf.clear();
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&error.to_ne_bytes());
        self.buf.extend_from_slice(&unique.to_ne_bytes());
    }

    fn finish(&mut self) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        &self.buf
    }

    fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_ne_bytes());
    }

    /// An error reply: the bare header with `-errno` (clamped to the range the
    /// kernel accepts; 0 or out-of-range becomes EIO).
    pub fn error(&mut self, unique: u64, errno: i32) -> &[u8] {
        let errno = if errno > 0 && errno <= MAX_ERRNO {
            errno
        } else {
            libc::EIO
        };
        self.start(unique, -errno);
        self.finish()
    }

    /// A success with no payload (RELEASE, FLUSH).
    pub fn empty(&mut self, unique: u64) -> &[u8] {
        self.start(unique, 0);
        self.finish()
    }

    /// The CUSE_INIT answer: our version, sizes, the device number and the
    /// `DEVNAME=` info string.
    pub fn cuse_init(
        &mut self,
        unique: u64,
        dev_major: u32,
        dev_minor: u32,
        devname: &str,
    ) -> &[u8] {
        self.start(unique, 0);
        for v in [
            FUSE_KERNEL_VERSION,
            FUSE_KERNEL_MINOR_VERSION,
            0, // unused
            0, // flags: restricted ioctls
            MAX_READ,
            MAX_WRITE,
            dev_major,
            dev_minor,
        ] {
            self.put_u32(v);
        }
        self.buf.extend_from_slice(&[0u8; 40]); // spare[10]
        self.buf.extend_from_slice(b"DEVNAME=");
        let room = CUSE_INIT_INFO_MAX - "DEVNAME=".len() - 1;
        let name: Vec<u8> = devname.bytes().filter(|&b| b != 0).take(room).collect();
        self.buf.extend_from_slice(&name);
        self.buf.push(0);
        self.finish()
    }

    pub fn open(&mut self, unique: u64, fh: u64) -> &[u8] {
        self.start(unique, 0);
        self.buf.extend_from_slice(&fh.to_ne_bytes());
        self.put_u32(FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE);
        self.put_u32(0);
        self.finish()
    }

    pub fn write(&mut self, unique: u64, size: u32) -> &[u8] {
        self.start(unique, 0);
        self.put_u32(size);
        self.put_u32(0);
        self.finish()
    }

    /// A READ answer; `fill` writes the payload into the buffer it is given
    /// (at most `max` bytes) and returns how many it wrote.
    pub fn read_with(
        &mut self,
        unique: u64,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> &[u8] {
        self.start(unique, 0);
        let at = self.buf.len();
        self.buf.resize(at + max, 0);
        let n = fill(&mut self.buf[at..]).min(max);
        self.buf.truncate(at + n);
        self.finish()
    }

    /// An IOCTL answer in restricted mode: `result` and up to `out_size` bytes.
    pub fn ioctl(&mut self, unique: u64, result: i32, data: &[u8]) -> &[u8] {
        self.start(unique, 0);
        self.put_u32(result as u32);
        self.put_u32(0); // flags
        self.put_u32(0); // in_iovs
        self.put_u32(0); // out_iovs
        self.buf.extend_from_slice(data);
        self.finish()
    }

    pub fn poll(&mut self, unique: u64, revents: u32) -> &[u8] {
        self.start(unique, 0);
        self.put_u32(revents);
        self.put_u32(0);
        self.finish()
    }

    /// An unsolicited poll wakeup for kernel handle `kh` (unique 0).
    pub fn notify_poll(&mut self, kh: u64) -> &[u8] {
        self.start(0, FUSE_NOTIFY_POLL);
        self.buf.extend_from_slice(&kh.to_ne_bytes());
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request(opcode: u32, unique: u64, args: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        Header {
            len: (IN_HEADER_SIZE + args.len()) as u32,
            opcode,
            unique,
            nodeid: 0,
            uid: 1000,
            gid: 1000,
            pid: 42,
            total_extlen: 0,
        }
        .emit(&mut v);
        v.extend_from_slice(args);
        v
    }

    #[test]
    fn parses_a_write_with_its_data() {
        let mut args = vec![0u8; WRITE_IN_SIZE];
        args[0..8].copy_from_slice(&7u64.to_ne_bytes());
        args[16..20].copy_from_slice(&3u32.to_ne_bytes());
        args[32..36].copy_from_slice(&(libc::O_NONBLOCK as u32).to_ne_bytes());
        args.extend_from_slice(&[1, 2, 3]);
        let buf = request(opcode::FUSE_WRITE, 9, &args);
        let req = Request::parse(&buf).unwrap();
        assert_eq!(req.header.unique, 9);
        assert_eq!(req.header.pid, 42);
        assert_eq!(
            req.op,
            Op::Write {
                fh: 7,
                data: &[1, 2, 3],
                flags: libc::O_NONBLOCK as u32
            }
        );
    }

    #[test]
    fn write_whose_size_disagrees_with_its_data_is_truncated() {
        let mut args = vec![0u8; WRITE_IN_SIZE];
        args[16..20].copy_from_slice(&10u32.to_ne_bytes());
        args.extend_from_slice(&[1, 2, 3]);
        let buf = request(opcode::FUSE_WRITE, 5, &args);
        let err = Request::parse(&buf).unwrap_err();
        assert_eq!(err.reply(), Some((5, libc::EINVAL)));
    }

    #[test]
    fn parses_an_ioctl_with_its_input() {
        let mut args = vec![0u8; IOCTL_IN_SIZE];
        args[0..8].copy_from_slice(&3u64.to_ne_bytes());
        args[12..16].copy_from_slice(&0xC004_5005u32.to_ne_bytes());
        args[24..28].copy_from_slice(&4u32.to_ne_bytes());
        args[28..32].copy_from_slice(&4u32.to_ne_bytes());
        args.extend_from_slice(&16i32.to_ne_bytes());
        let buf = request(opcode::FUSE_IOCTL, 11, &args);
        match Request::parse(&buf).unwrap().op {
            Op::Ioctl {
                fh,
                cmd,
                input,
                out_size,
                ..
            } => {
                assert_eq!((fh, cmd, out_size), (3, 0xC004_5005, 4));
                assert_eq!(input, &16i32.to_ne_bytes());
            }
            op => panic!("{op:?}"),
        }
    }

    #[test]
    fn malformed_requests_say_how_to_answer() {
        assert_eq!(
            Request::parse(&[0u8; 10]).unwrap_err(),
            ParseError::ShortHeader(10)
        );
        let mut buf = request(opcode::FUSE_OPEN, 3, &[0; 8]);
        buf[0] = 99;
        assert_eq!(
            Request::parse(&buf).unwrap_err().reply(),
            Some((3, libc::EIO))
        );
        let buf = request(opcode::FUSE_OPEN, 4, &[0; 4]);
        assert_eq!(
            Request::parse(&buf).unwrap_err().reply(),
            Some((4, libc::EINVAL))
        );
        let buf = request(1234, 6, &[]);
        assert_eq!(
            Request::parse(&buf).unwrap_err().reply(),
            Some((6, libc::ENOSYS))
        );
        let buf = request(opcode::FUSE_INTERRUPT, 7, &[0; 3]);
        assert_eq!(Request::parse(&buf).unwrap_err().reply(), None);
    }

    #[test]
    fn replies_carry_their_length_and_errno() {
        let mut r = Reply::new();
        let b = r.error(77, libc::EAGAIN).to_vec();
        assert_eq!(b.len(), OUT_HEADER_SIZE);
        assert_eq!(u32_at(&b, 0), 16);
        assert_eq!(
            i32::from_ne_bytes(b[4..8].try_into().unwrap()),
            -libc::EAGAIN
        );
        assert_eq!(u64_at(&b, 8), 77);
        // errno 0 or out of range never reaches the kernel as is
        let b = r.error(1, 0).to_vec();
        assert_eq!(i32::from_ne_bytes(b[4..8].try_into().unwrap()), -libc::EIO);
        let b = r.cuse_init(1, 14, 3, "dsp").to_vec();
        assert_eq!(u32_at(&b, 0) as usize, b.len());
        assert_eq!(&b[OUT_HEADER_SIZE + CUSE_INIT_OUT_SIZE..], b"DEVNAME=dsp\0");
        let b = r.ioctl(2, 0, &[1, 2, 3, 4]).to_vec();
        assert_eq!(b.len(), OUT_HEADER_SIZE + IOCTL_OUT_SIZE + 4);
        let b = r.notify_poll(0xABCD).to_vec();
        assert_eq!(b.len(), 24);
        assert_eq!(i32::from_ne_bytes(b[4..8].try_into().unwrap()), 1);
        let b = r.read_with(5, 8, |d| {
            d[..3].copy_from_slice(&[9, 9, 9]);
            3
        });
        assert_eq!(b.len(), OUT_HEADER_SIZE + 3);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Request::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_well_framed_garbage(
            opcode in prop_oneof![Just(4096u32), 14u32..=40, any::<u32>()],
            ext in 0u16..4,
            args in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let mut buf = request(opcode, 1, &args);
            buf[36..38].copy_from_slice(&ext.to_ne_bytes());
            let _ = Request::parse(&buf);
        }
    }
}
