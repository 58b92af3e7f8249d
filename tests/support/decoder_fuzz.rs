//! The decoder fuzzer shared by `tests/fuzz_decoders.rs` (a quick seeded run
//! in `cargo test`) and `examples/fuzz_decoders.rs` (the long run). Both
//! include this file with `#[path = ...] mod`, so it needs no library of its
//! own and no dependency beyond `ossd` and `libc`.
//!
//! What it does, per input:
//! - [`Request::parse`] on the bytes: must not panic (its contract).
//! - When they parse to an IOCTL, its `cmd` and `input` go, as the daemon
//!   would hand them on, to a [`Dsp`] with live streams (play, record, both or
//!   neither, rebuilt as the daemon rebuilds them when a setting changed), to a
//!   fresh stream-less [`Dsp`] (how /dev/mixer answers SYSINFO & co.) and to
//!   [`MixerState::ioctl`]. None may panic; a reply's output must fit what
//!   the kernel's restricted-mode CUSE allows back for that `cmd` (the size
//!   bits when the direction has READ, else nothing: the daemon turns a larger
//!   one into EINVAL and logs "only a wrong table could cause it"); an error
//!   must be an errno the kernel accepts (1..=511).
//! - Every `from_bytes` struct decoder of `soundcard.rs` on the ioctl input
//!   and on the raw bytes: `Some` exactly when there are `SIZE` bytes, and
//!   `from_bytes(to_bytes(v)) == v`.
//!
//! The inputs are a seeded random mutator (splitmix64) over a corpus of
//! requests as the kernel sends them: CUSE_INIT, OPEN, READ, WRITE with a
//! payload, IOCTL in restricted mode for every OSS ioctl number in
//! `soundcard.rs`, POLL, RELEASE, FLUSH, FSYNC and INTERRUPT.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ossd::cuse::abi::{self, opcode};
use ossd::cuse::wire::{Header, Op, Request};
use ossd::mix::record::RecVoice;
use ossd::mix::{Quality, Voice};
use ossd::oss::dsp::{DeviceInfo, Dsp, Env, Outcome, Streams};
use ossd::oss::mixer::{MixerDesc, MixerOutcome, MixerState};
use ossd::oss::soundcard::*;
use ossd::pcm::{DeviceConfig, PcmFormat, SampleFormat};

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/// splitmix64: tiny, fast, and every seed (0 included) gives a good stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    /// Uniform in `0..n` (`n > 0`; the bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
    /// True with probability `num/den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

// ---------------------------------------------------------------------------
// Seed corpus: requests as the kernel sends them
// ---------------------------------------------------------------------------

/// Every OSS ioctl number `soundcard.rs` defines, plus MIXER_READ/WRITE of
/// every channel and pseudo channel.
pub fn ioctl_numbers() -> Vec<u32> {
    let mut v = vec![
        SNDCTL_DSP_RESET,
        SNDCTL_DSP_SYNC,
        SNDCTL_DSP_SPEED,
        SNDCTL_DSP_STEREO,
        SNDCTL_DSP_GETBLKSIZE,
        SNDCTL_DSP_SETFMT,
        SNDCTL_DSP_CHANNELS,
        SOUND_PCM_WRITE_FILTER,
        SNDCTL_DSP_POST,
        SNDCTL_DSP_SUBDIVIDE,
        SNDCTL_DSP_SETFRAGMENT,
        SNDCTL_DSP_GETFMTS,
        SNDCTL_DSP_GETOSPACE,
        SNDCTL_DSP_GETISPACE,
        SNDCTL_DSP_NONBLOCK,
        SNDCTL_DSP_GETCAPS,
        SNDCTL_DSP_GETTRIGGER,
        SNDCTL_DSP_SETTRIGGER,
        SNDCTL_DSP_GETIPTR,
        SNDCTL_DSP_GETOPTR,
        SNDCTL_DSP_MAPINBUF,
        SNDCTL_DSP_MAPOUTBUF,
        SNDCTL_DSP_SETSYNCRO,
        SNDCTL_DSP_SETDUPLEX,
        SNDCTL_DSP_GETODELAY,
        SNDCTL_DSP_PROFILE,
        SNDCTL_DSP_GETCHANNELMASK,
        SNDCTL_DSP_BIND_CHANNEL,
        SNDCTL_DSP_SETSPDIF,
        SNDCTL_DSP_GETSPDIF,
        SOUND_PCM_READ_RATE,
        SOUND_PCM_READ_CHANNELS,
        SOUND_PCM_READ_BITS,
        SOUND_PCM_READ_FILTER,
        SNDCTL_DSP_GETPLAYVOL,
        SNDCTL_DSP_SETPLAYVOL,
        SNDCTL_DSP_GETERROR,
        SNDCTL_DSP_SYNCGROUP,
        SNDCTL_DSP_SYNCSTART,
        SNDCTL_DSP_COOKEDMODE,
        SNDCTL_DSP_SILENCE,
        SNDCTL_DSP_SKIP,
        SNDCTL_DSP_HALT_INPUT,
        SNDCTL_DSP_HALT_OUTPUT,
        SNDCTL_DSP_LOW_WATER,
        SNDCTL_DSP_CURRENT_IPTR,
        SNDCTL_DSP_CURRENT_OPTR,
        SNDCTL_DSP_GET_RECSRC_NAMES,
        SNDCTL_DSP_GET_RECSRC,
        SNDCTL_DSP_SET_RECSRC,
        SNDCTL_DSP_GET_PLAYTGT_NAMES,
        SNDCTL_DSP_GET_PLAYTGT,
        SNDCTL_DSP_SET_PLAYTGT,
        SNDCTL_DSP_GETRECVOL,
        SNDCTL_DSP_SETRECVOL,
        SNDCTL_DSP_GET_CHNORDER,
        SNDCTL_DSP_SET_CHNORDER,
        SNDCTL_DSP_GETIPEAKS,
        SNDCTL_DSP_GETOPEAKS,
        SNDCTL_DSP_POLICY,
        SOUND_MIXER_INFO,
        SOUND_OLD_MIXER_INFO,
        SOUND_MIXER_ACCESS,
        SOUND_MIXER_AGC,
        SOUND_MIXER_3DSE,
        SOUND_MIXER_PRIVATE1,
        SOUND_MIXER_PRIVATE2,
        SOUND_MIXER_PRIVATE3,
        SOUND_MIXER_PRIVATE4,
        SOUND_MIXER_PRIVATE5,
        SOUND_MIXER_GETLEVELS,
        SOUND_MIXER_SETLEVELS,
        OSS_GETVERSION,
        SNDCTL_SYSINFO,
        SNDCTL_MIX_NRMIX,
        SNDCTL_MIX_NREXT,
        SNDCTL_MIX_EXTINFO,
        SNDCTL_MIX_READ,
        SNDCTL_MIX_WRITE,
        SNDCTL_AUDIOINFO,
        SNDCTL_MIX_ENUMINFO,
        SNDCTL_MIDIINFO,
        SNDCTL_MIXERINFO,
        SNDCTL_CARDINFO,
        SNDCTL_ENGINEINFO,
        SNDCTL_AUDIOINFO_EX,
        SNDCTL_MIX_DESCRIPTION,
        SNDCTL_SETSONG,
        SNDCTL_GETSONG,
        SNDCTL_SETNAME,
        SNDCTL_SETLABEL,
        SNDCTL_GETLABEL,
    ];
    for dev in (0..SOUND_MIXER_NRDEVICES).chain(0xf9..=0xff) {
        v.push(mixer_read(dev));
        v.push(mixer_write(dev));
    }
    v
}

/// The header the kernel puts on a request with `body` bytes of arguments.
fn header(op: u32, unique: u64, body: usize) -> Header {
    Header {
        len: (abi::IN_HEADER_SIZE + body) as u32,
        opcode: op,
        unique,
        nodeid: 0,
        uid: 1000,
        gid: 1000,
        pid: 4242,
        total_extlen: 0,
    }
}

fn request(op: u32, unique: u64, args: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(abi::IN_HEADER_SIZE + args.len());
    header(op, unique, args.len()).emit(&mut v);
    v.extend_from_slice(args);
    v
}

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

/// What restricted-mode CUSE allows back for `cmd`: its size when the
/// direction has READ, else nothing (fs/fuse/cuse.c, fuse_do_ioctl).
pub fn restricted_out_size(cmd: u32) -> usize {
    if ioc_dir(cmd) & IOC_READ != 0 {
        ioc_size(cmd)
    } else {
        0
    }
}

/// What restricted-mode CUSE copies in for `cmd`: its size when the
/// direction has WRITE, else nothing.
pub fn restricted_in_size(cmd: u32) -> usize {
    if ioc_dir(cmd) & IOC_WRITE != 0 {
        ioc_size(cmd)
    } else {
        0
    }
}

/// An IOCTL request in restricted mode for `cmd`, with `input` (cut or
/// zero-padded to what the kernel would copy in).
pub fn ioctl_request(unique: u64, fh: u64, cmd: u32, input: &[u8]) -> Vec<u8> {
    let in_size = restricted_in_size(cmd);
    let mut a = vec![0u8; abi::IOCTL_IN_SIZE + in_size];
    put(&mut a, 0, &fh.to_ne_bytes());
    put(&mut a, 12, &cmd.to_ne_bytes());
    put(&mut a, 16, &0x7ffc_1234_5670u64.to_ne_bytes()); // the user pointer
    put(&mut a, 24, &(in_size as u32).to_ne_bytes());
    put(&mut a, 28, &(restricted_out_size(cmd) as u32).to_ne_bytes());
    let n = input.len().min(in_size);
    a[abi::IOCTL_IN_SIZE..abi::IOCTL_IN_SIZE + n].copy_from_slice(&input[..n]);
    request(opcode::FUSE_IOCTL, unique, &a)
}

/// Plausible `int` arguments for an ioctl: rates, formats, channel counts,
/// fragment requests, volumes, trigger bits and the usual edge values.
const INT_ARGS: &[i32] = &[
    0,
    1,
    2,
    -1,
    8000,
    44100,
    48000,
    96000,
    192_000,
    1_000_000,
    AFMT_U8 as i32,
    AFMT_S16_LE as i32,
    AFMT_S32_LE as i32,
    AFMT_FLOAT as i32,
    0x0004_000c, // SETFRAGMENT 4 × 4096
    0x7fff_0010,
    0x6464, // volume 100:100
    0x3232,
    PCM_ENABLE_OUTPUT as i32,
    PCM_ENABLE_INPUT as i32,
    i32::MAX,
    i32::MIN,
];

fn release_args(fh: u64, flags: u32) -> Vec<u8> {
    let mut a = vec![0u8; abi::RELEASE_IN_SIZE];
    put(&mut a, 0, &fh.to_ne_bytes());
    put(&mut a, 8, &flags.to_ne_bytes());
    a
}

/// Requests as Linux's CUSE sends them to a /dev/dsp daemon.
pub fn seed_corpus() -> Vec<Vec<u8>> {
    let mut c = Vec::new();
    let mut unique = 2u64;
    let mut next = || {
        unique += 2;
        unique
    };
    // CUSE_INIT: the kernel's version and CUSE_UNRESTRICTED_IOCTL.
    let mut a = vec![0u8; abi::CUSE_INIT_IN_SIZE];
    put(&mut a, 0, &7u32.to_ne_bytes());
    put(&mut a, 4, &38u32.to_ne_bytes());
    put(&mut a, 12, &abi::CUSE_UNRESTRICTED_IOCTL.to_ne_bytes());
    c.push(request(opcode::CUSE_INIT, 1, &a));
    // OPEN: write-only, read-only, duplex, non-blocking.
    for flags in [
        libc::O_WRONLY,
        libc::O_RDONLY,
        libc::O_RDWR,
        libc::O_WRONLY | libc::O_NONBLOCK,
        libc::O_RDWR | libc::O_NONBLOCK,
    ] {
        let mut a = [0u8; abi::OPEN_IN_SIZE];
        put(
            &mut a,
            0,
            &(flags as u32 | libc::O_LARGEFILE as u32).to_ne_bytes(),
        );
        c.push(request(opcode::FUSE_OPEN, next(), &a));
    }
    // READ: fuse_read_in { fh, offset, size, read_flags, lock_owner, flags }.
    for (size, flags) in [
        (4096u32, libc::O_RDONLY),
        (1, libc::O_RDWR | libc::O_NONBLOCK),
    ] {
        let mut a = vec![0u8; abi::READ_IN_SIZE];
        put(&mut a, 0, &1u64.to_ne_bytes());
        put(&mut a, 16, &size.to_ne_bytes());
        put(&mut a, 32, &(flags as u32).to_ne_bytes());
        c.push(request(opcode::FUSE_READ, next(), &a));
    }
    // WRITE: fuse_write_in, then the data.
    for (len, flags) in [
        (4usize, libc::O_WRONLY),
        (96, libc::O_WRONLY | libc::O_NONBLOCK),
    ] {
        let mut a = vec![0u8; abi::WRITE_IN_SIZE];
        put(&mut a, 0, &1u64.to_ne_bytes());
        put(&mut a, 16, &(len as u32).to_ne_bytes());
        put(&mut a, 32, &(flags as u32).to_ne_bytes());
        a.extend((0..len).map(|i| (i * 37) as u8));
        c.push(request(opcode::FUSE_WRITE, next(), &a));
    }
    // IOCTL: every number, with a plausible argument or two.
    for (i, cmd) in ioctl_numbers().into_iter().enumerate() {
        let int = INT_ARGS[i % INT_ARGS.len()];
        let mut input = int.to_ne_bytes().to_vec();
        input.resize(ioc_size(cmd), 0);
        c.push(ioctl_request(next(), 1, cmd, &input));
        if ioc_dir(cmd) & IOC_WRITE != 0 {
            let other = INT_ARGS[(i * 7 + 3) % INT_ARGS.len()];
            let mut input: Vec<u8> = (0..ioc_size(cmd)).map(|j| (j * 13 + 1) as u8).collect();
            let n = input.len().min(4);
            input[..n].copy_from_slice(&other.to_ne_bytes()[..n]);
            c.push(ioctl_request(next(), 1, cmd, &input));
        }
    }
    // POLL: fuse_poll_in { fh, kh, flags (SCHEDULE_NOTIFY), events }.
    for flags in [0, abi::FUSE_POLL_SCHEDULE_NOTIFY] {
        let mut a = vec![0u8; abi::POLL_IN_SIZE];
        put(&mut a, 0, &1u64.to_ne_bytes());
        put(&mut a, 8, &0xffff_8880_1234_5678u64.to_ne_bytes());
        put(&mut a, 16, &flags.to_ne_bytes());
        put(
            &mut a,
            20,
            &((libc::POLLIN | libc::POLLOUT) as u32).to_ne_bytes(),
        );
        c.push(request(opcode::FUSE_POLL, next(), &a));
    }
    // RELEASE, FLUSH (fuse_flush_in), FSYNC (fuse_fsync_in), INTERRUPT.
    c.push(request(
        opcode::FUSE_RELEASE,
        next(),
        &release_args(1, libc::O_WRONLY as u32),
    ));
    let mut a = vec![0u8; 24];
    put(&mut a, 0, &1u64.to_ne_bytes());
    c.push(request(opcode::FUSE_FLUSH, next(), &a));
    c.push(request(opcode::FUSE_FSYNC, next(), &a[..16]));
    c.push(request(opcode::FUSE_INTERRUPT, next(), &6u64.to_ne_bytes()));
    c
}

// ---------------------------------------------------------------------------
// Mutator
// ---------------------------------------------------------------------------

const INTERESTING_U8: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, 0xfe, 4, 8, 16, 24, 32, 40, 64];
const INTERESTING_U32: &[u32] = &[
    0,
    1,
    2,
    4,
    8,
    40,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x3fff,
    0x4000,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x2_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];
const OPCODES: &[u32] = &[
    opcode::CUSE_INIT,
    opcode::FUSE_OPEN,
    opcode::FUSE_READ,
    opcode::FUSE_WRITE,
    opcode::FUSE_RELEASE,
    opcode::FUSE_FSYNC,
    opcode::FUSE_FLUSH,
    opcode::FUSE_INTERRUPT,
    opcode::FUSE_IOCTL,
    opcode::FUSE_POLL,
    1,  // LOOKUP
    3,  // GETATTR
    26, // INIT
    41, // BATCH_FORGET... any other
];

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}
fn set_u32(b: &mut [u8], off: usize, v: u32) {
    if let Some(s) = b.get_mut(off..off + 4) {
        s.copy_from_slice(&v.to_ne_bytes());
    }
}

/// Makes the header's `len` (and, often, an IOCTL's `in_size` or a WRITE's
/// `size`) agree with the bytes, so that mutations reach past the framing.
fn fix_lengths(rng: &mut Rng, b: &mut [u8]) {
    const H: usize = abi::IN_HEADER_SIZE;
    if b.len() < H {
        return;
    }
    let len = b.len();
    set_u32(b, 0, len as u32);
    if rng.chance(1, 4) {
        return;
    }
    match u32_at(b, 4) {
        Some(opcode::FUSE_IOCTL) if len >= H + abi::IOCTL_IN_SIZE => {
            set_u32(b, H + 24, (len - H - abi::IOCTL_IN_SIZE) as u32)
        }
        Some(opcode::FUSE_WRITE) if len >= H + abi::WRITE_IN_SIZE => {
            set_u32(b, H + 16, (len - H - abi::WRITE_IN_SIZE) as u32)
        }
        _ => {}
    }
}

/// A random ioctl number: a real one with its size, direction, type or
/// number bits varied, or 32 random bits.
fn random_cmd(rng: &mut Rng, cmds: &[u32]) -> u32 {
    let cmd = *rng.pick(cmds);
    match rng.below(8) {
        0 => cmd,
        1 => {
            // Size bits: another size, off by a little, zero or huge.
            let size = ioc_size(cmd) as u32;
            let new = match rng.below(5) {
                0 => 0,
                1 => size.wrapping_add(1),
                2 => size.wrapping_sub(1),
                3 => 0x3fff,
                _ => rng.next_u32(),
            } & 0x3fff;
            (cmd & !(0x3fff << IOC_SIZESHIFT)) | (new << IOC_SIZESHIFT)
        }
        2 => (cmd & !(3 << IOC_DIRSHIFT)) | ((rng.next_u32() & 3) << IOC_DIRSHIFT),
        3 => cmd ^ (1 << rng.below(32)),
        4 => (cmd & !0xff) | (rng.next_u32() & 0xff),
        5 => {
            let ty = *rng.pick(&[b'P', b'M', b'X', b'Y', b'T', 0]) as u32;
            (cmd & !0xff00) | (ty << 8)
        }
        6 => rng.next_u32(),
        _ => cmd ^ (rng.next_u32() & 0xffff_0000),
    }
}

/// One mutation of `b` in place.
fn mutate_once(rng: &mut Rng, b: &mut Vec<u8>, corpus: &[Vec<u8>], cmds: &[u32]) {
    const H: usize = abi::IN_HEADER_SIZE;
    match rng.below(14) {
        // Bit flips.
        0 => {
            for _ in 0..1 + rng.below(4) {
                if !b.is_empty() {
                    let i = rng.below(b.len());
                    b[i] ^= 1 << rng.below(8);
                }
            }
        }
        // A byte set to an interesting value.
        1 => {
            if !b.is_empty() {
                let i = rng.below(b.len());
                b[i] = *rng.pick(INTERESTING_U8);
            }
        }
        // A (mostly aligned) u32 set to an interesting value or a length.
        2 => {
            if b.len() >= 4 {
                let mut i = rng.below(b.len() - 3);
                if rng.chance(3, 4) {
                    i &= !3;
                }
                let v = match rng.below(4) {
                    0 => b.len() as u32,
                    1 => (b.len().saturating_sub(H)) as u32,
                    _ => *rng.pick(INTERESTING_U32),
                };
                set_u32(b, i, v);
            }
        }
        // Truncation.
        3 => {
            let n = rng.below(b.len() + 1);
            b.truncate(n);
        }
        // Extension: zeros, random bytes or a repeat of the tail.
        4 => {
            let max = if rng.chance(1, 8) { 4096 } else { 64 };
            let n = 1 + rng.below(max);
            match rng.below(3) {
                0 => b.resize(b.len() + n, 0),
                1 => b.extend((0..n).map(|_| rng.next_u32() as u8)),
                _ => {
                    let start = rng.below(b.len() + 1);
                    let tail = b[start..].to_vec();
                    b.extend(tail.iter().cycle().take(n));
                }
            }
        }
        // Splice: a prefix of this one and a suffix of another.
        5 => {
            let other = rng.pick(corpus);
            let cut = rng.below(b.len() + 1);
            let from = rng.below(other.len() + 1);
            b.truncate(cut);
            b.extend_from_slice(&other[from..]);
        }
        // The header's length field lies.
        6 => {
            let len = b.len() as u32;
            let v = match rng.below(4) {
                0 => len.wrapping_add(1 + rng.below(8) as u32),
                1 => len.wrapping_sub(1 + rng.below(8) as u32),
                2 => *rng.pick(INTERESTING_U32),
                _ => rng.next_u32(),
            };
            set_u32(b, 0, v);
            return; // keep the lie
        }
        // A random opcode.
        7 => {
            let op = if rng.chance(3, 4) {
                *rng.pick(OPCODES)
            } else {
                rng.next_u32()
            };
            set_u32(b, 4, op);
        }
        // A random ioctl number, the input resized as restricted mode would
        // (or not), and an int argument dropped in.
        8 | 9 => {
            let cmd = random_cmd(rng, cmds);
            if u32_at(b, 4) != Some(opcode::FUSE_IOCTL) || b.len() < H + abi::IOCTL_IN_SIZE {
                *b = ioctl_request(rng.next_u64(), 1, cmd, &[]);
            }
            set_u32(b, H + 12, cmd);
            if rng.chance(3, 4) {
                b.resize(H + abi::IOCTL_IN_SIZE + restricted_in_size(cmd), 0);
                set_u32(b, H + 28, restricted_out_size(cmd) as u32);
            }
            if b.len() >= H + abi::IOCTL_IN_SIZE + 4 && rng.chance(1, 2) {
                let v = if rng.chance(1, 2) {
                    *rng.pick(INT_ARGS) as u32
                } else {
                    rng.next_u32()
                };
                set_u32(b, H + abi::IOCTL_IN_SIZE, v);
            }
        }
        // total_extlen.
        10 => {
            if b.len() >= H {
                let v = if rng.chance(1, 2) {
                    rng.below(4) as u16
                } else {
                    rng.next_u32() as u16
                };
                b[36..38].copy_from_slice(&v.to_ne_bytes());
            }
        }
        // A fresh copy of another seed.
        11 => {
            b.clear();
            b.extend_from_slice(rng.pick::<Vec<u8>>(corpus));
        }
        // Random bytes over a stretch.
        12 => {
            if !b.is_empty() {
                let i = rng.below(b.len());
                let n = (1 + rng.below(16)).min(b.len() - i);
                for x in &mut b[i..i + n] {
                    *x = rng.next_u32() as u8;
                }
            }
        }
        // A WRITE/READ size or an ioctl in/out size set to something odd.
        _ => {
            let off = *rng.pick(&[H + 16, H + 24, H + 28]);
            let v = match rng.below(3) {
                0 => *rng.pick(INTERESTING_U32),
                1 => (b.len().saturating_sub(H + 32)) as u32,
                _ => rng.next_u32() & 0x1_ffff,
            };
            set_u32(b, off, v);
        }
    }
    if rng.chance(4, 5) {
        fix_lengths(rng, b);
    }
}

/// The next input into `out`: mostly a seed with one to four mutations, now
/// and then pure random bytes or a random well-framed request.
pub fn next_input(rng: &mut Rng, corpus: &[Vec<u8>], cmds: &[u32], out: &mut Vec<u8>) {
    out.clear();
    match rng.below(32) {
        0 => {
            let max = if rng.chance(1, 4) { 512 } else { 80 };
            let n = rng.below(max);
            out.extend((0..n).map(|_| rng.next_u32() as u8));
        }
        1 => {
            let n = rng.below(96);
            let op = *rng.pick(OPCODES);
            header(op, rng.next_u64(), n).emit(out);
            out.extend((0..n).map(|_| rng.next_u32() as u8));
        }
        _ => {
            out.extend_from_slice(rng.pick::<Vec<u8>>(corpus));
            for _ in 0..1 + rng.below(4) {
                mutate_once(rng, out, corpus, cmds);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Targets and invariants
// ---------------------------------------------------------------------------

/// Which streams the fuzzed /dev/dsp file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Play,
    Rec,
    Duplex,
    Neither,
}

fn device(sample: SampleFormat, channels: u32, rate: u32, period: u32) -> DeviceConfig {
    DeviceConfig {
        pcm: PcmFormat {
            sample,
            channels,
            rate,
        },
        period_frames: period,
        buffer_frames: period * 4,
    }
}

/// Output devices the fuzzed files sit on.
fn devices() -> [DeviceConfig; 3] {
    [
        device(SampleFormat::S16Le, 2, 48000, 480),
        device(SampleFormat::S32Le, 2, 44100, 1024),
        device(SampleFormat::S16Le, 1, 8000, 64),
    ]
}

/// One open /dev/dsp file with its streams, the mixer, and the environment.
pub struct Target {
    pub shape: Shape,
    pub dev: DeviceConfig,
    pub has_capture: bool,
    dsp: Dsp,
    play: Option<Voice>,
    rec: Option<RecVoice>,
    info: DeviceInfo,
    desc: MixerDesc,
    mixer: MixerState,
    played: u64,
    /// The ioctls since this target was made (cmd, input): replaying them
    /// on `Target::new` with the same arguments rebuilds the state.
    pub history: Vec<(u32, Vec<u8>)>,
}

impl Target {
    pub fn new(rng: &mut Rng) -> Target {
        let shape = *rng.pick(&[Shape::Play, Shape::Rec, Shape::Duplex, Shape::Neither]);
        let dev = *rng.pick(&devices());
        let has_capture = rng.chance(1, 2);
        Target::with(shape, dev, has_capture)
    }

    pub fn with(shape: Shape, dev: DeviceConfig, has_capture: bool) -> Target {
        let dsp = Dsp::new(dev);
        let mut t = Target {
            shape,
            dev,
            has_capture,
            dsp,
            play: None,
            rec: None,
            info: DeviceInfo {
                alsa_name: "hw:Loopback,0,0".into(),
                devnode: "/dev/dsp".into(),
                open_files: 1,
                busy: OPEN_WRITE,
                has_capture,
                has_mixer: true,
            },
            desc: MixerDesc {
                name: "ossd on hw:Loopback,0,0".into(),
                has_capture,
            },
            mixer: MixerState::new(),
            played: 0,
            history: Vec::new(),
        };
        t.rebuild();
        t
    }

    /// As the server's `rebuild_streams`: new streams for the new settings.
    fn rebuild(&mut self) {
        self.play = matches!(self.shape, Shape::Play | Shape::Duplex)
            .then(|| self.dsp.make_voice(Quality::default()));
        self.rec = matches!(self.shape, Shape::Rec | Shape::Duplex).then(|| {
            self.dsp
                .make_rec_voice(&self.dev, Quality::default(), self.mixer.igain())
        });
    }

    /// Feeds one ioctl to every ioctl decoder; `Err` says which invariant broke.
    pub fn ioctl(&mut self, cmd: u32, input: &[u8], record: bool) -> Result<(), String> {
        if record {
            self.history.push((cmd, input.to_vec()));
        }
        let allowed = restricted_out_size(cmd);
        // The device moves on between calls, as it does between requests.
        self.played += (cmd as u64 & 0xff) * 7;
        let env = Env {
            played: self.played,
            info: &self.info,
            igain: self.mixer.igain(),
        };
        let streams = Streams {
            play: self.play.as_mut(),
            rec: self.rec.as_mut(),
        };
        let done = self.dsp.ioctl(streams, env, cmd, input);
        check_outcome("Dsp::ioctl", cmd, allowed, &done.outcome)?;
        if done.rebuild {
            self.rebuild();
        }
        // /dev/mixer's way to SYSINFO & co: a fresh stream-less file.
        let env = Env {
            played: 0,
            info: &self.info,
            igain: self.mixer.igain(),
        };
        let out = Dsp::new(self.dev)
            .ioctl(Streams::default(), env, cmd, input)
            .outcome;
        check_outcome("Dsp::ioctl (no streams)", cmd, allowed, &out)?;
        let out = match self.mixer.ioctl(cmd, input, &self.desc) {
            MixerOutcome::Reply(out) => Outcome::Reply { result: 0, out },
            MixerOutcome::Error(e) => Outcome::Error(e),
        };
        check_outcome("MixerState::ioctl", cmd, allowed, &out)
    }
}

pub fn check_outcome(what: &str, cmd: u32, allowed: usize, out: &Outcome) -> Result<(), String> {
    match out {
        Outcome::Reply { out, .. } if out.len() > allowed => Err(format!(
            "{what}: cmd {cmd:#010x} answered {} bytes, restricted CUSE allows {allowed}",
            out.len()
        )),
        Outcome::Error(e) if !(1..=abi::MAX_ERRNO).contains(e) => Err(format!(
            "{what}: cmd {cmd:#010x} failed with errno {e}, not 1..=511"
        )),
        _ => Ok(()),
    }
}

macro_rules! check_structs {
    ($bytes:expr, $($ty:ident),+ $(,)?) => {{
        let b: &[u8] = $bytes;
        $(
            match $ty::from_bytes(b) {
                Some(v) => {
                    if b.len() < $ty::SIZE {
                        return Err(format!("{}::from_bytes decoded {} bytes", stringify!($ty), b.len()));
                    }
                    if $ty::from_bytes(&v.to_bytes()) != Some(v) {
                        return Err(format!("{}: from_bytes(to_bytes(v)) != v", stringify!($ty)));
                    }
                }
                None if b.len() >= $ty::SIZE => {
                    return Err(format!("{}::from_bytes refused {} bytes", stringify!($ty), b.len()));
                }
                None => {}
            }
        )+
    }};
}

/// Every `from_bytes` decoder in `soundcard.rs` on `b`.
pub fn check_struct_decoders(b: &[u8]) -> Result<(), String> {
    check_structs!(
        b,
        AudioBufInfo,
        AudioErrInfo,
        BuffmemDesc,
        CountInfo,
        MixerInfo,
        OldMixerInfo,
        OssAudioinfo,
        OssCardInfo,
        OssCount,
        OssLabel,
        OssLongname,
        OssMixerEnuminfo,
        OssMixerValue,
        OssMixerinfo,
        OssMixext,
        OssSyncgroup,
        OssSysinfo,
    );
    Ok(())
}

/// Counts of what the inputs reached.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub inputs: u64,
    pub parsed: u64,
    pub ioctls: u64,
    pub parse_errors: u64,
}

/// The fuzzer: a PRNG, the corpus, and the current target (remade every
/// `RESET_EVERY` inputs, so a failure's history stays short).
pub struct Fuzzer {
    pub seed: u64,
    rng: Rng,
    corpus: Vec<Vec<u8>>,
    cmds: Vec<u32>,
    target: Target,
    target_rng: Rng,
    buf: Vec<u8>,
    pub stats: Stats,
}

pub const RESET_EVERY: u64 = 512;

/// A failure: the seed and input that found it, and how to replay it.
#[derive(Debug)]
pub struct Failure {
    pub seed: u64,
    pub index: u64,
    pub input: Vec<u8>,
    pub what: String,
    pub shape: Shape,
    pub dev: DeviceConfig,
    pub has_capture: bool,
    pub history: Vec<(u32, Vec<u8>)>,
}

pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "decoder fuzz failure: {}", self.what)?;
        writeln!(
            f,
            "  seed: OSSD_FUZZ_SEED={} (input #{})",
            self.seed, self.index
        )?;
        writeln!(
            f,
            "  input ({} bytes): {}",
            self.input.len(),
            hex(&self.input)
        )?;
        writeln!(
            f,
            "  target: {:?} on {:?}, has_capture {}; after these {} ioctls (cmd input):",
            self.shape,
            self.dev,
            self.has_capture,
            self.history.len()
        )?;
        for (cmd, input) in &self.history {
            writeln!(f, "    {cmd:#010x} {}", hex(input))?;
        }
        Ok(())
    }
}

impl Fuzzer {
    pub fn new(seed: u64) -> Fuzzer {
        let mut target_rng = Rng::new(seed ^ 0x5eed_0f7a_29e7);
        Fuzzer {
            seed,
            rng: Rng::new(seed),
            corpus: seed_corpus(),
            cmds: ioctl_numbers(),
            target: Target::new(&mut target_rng),
            target_rng,
            buf: Vec::with_capacity(8192),
            stats: Stats::default(),
        }
    }

    /// Runs `n` inputs; stops at the first panic or broken invariant.
    pub fn run(&mut self, n: u64) -> Result<(), Box<Failure>> {
        for _ in 0..n {
            self.step()?;
        }
        Ok(())
    }

    /// One input.
    pub fn step(&mut self) -> Result<(), Box<Failure>> {
        let index = self.stats.inputs;
        if index.is_multiple_of(RESET_EVERY) && index > 0 {
            self.target = Target::new(&mut self.target_rng);
        }
        let mut buf = std::mem::take(&mut self.buf);
        next_input(&mut self.rng, &self.corpus, &self.cmds, &mut buf);
        let (target, stats) = (&mut self.target, &mut self.stats);
        let result = catch_unwind(AssertUnwindSafe(|| one_input(&buf, target, stats)))
            .unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic)".into());
                Err(format!("panic: {msg}"))
            });
        self.stats.inputs += 1;
        let out = result.map_err(|what| {
            Box::new(Failure {
                seed: self.seed,
                index,
                input: buf.clone(),
                what,
                shape: self.target.shape,
                dev: self.target.dev,
                has_capture: self.target.has_capture,
                history: self.target.history.clone(),
            })
        });
        self.buf = buf;
        out
    }
}

/// Everything one input goes through.
pub fn one_input(buf: &[u8], target: &mut Target, stats: &mut Stats) -> Result<(), String> {
    match Request::parse(buf) {
        Ok(req) => {
            stats.parsed += 1;
            if req.header.len as usize != buf.len() {
                return Err("parsed a request whose len disagrees with the bytes".into());
            }
            if let Op::Ioctl { cmd, input, .. } = req.op {
                stats.ioctls += 1;
                target.ioctl(cmd, input, true)?;
                check_struct_decoders(input)?;
            }
        }
        Err(e) => {
            stats.parse_errors += 1;
            // An error must say how to answer, and never name a unique that is not there.
            if let Some((unique, errno)) = e.reply() {
                if buf.len() < abi::IN_HEADER_SIZE || !(1..=abi::MAX_ERRNO).contains(&errno) {
                    return Err(format!("{e}: answer ({unique}, {errno}) is impossible"));
                }
            }
        }
    }
    check_struct_decoders(buf)
}
