//! Sample formats and their byte codecs.
//!
//! This module owns the sample formats ossd accepts on `/dev/dsp` ([`SampleFormat`] and the
//! `AFMT_*` values of `SNDCTL_DSP_SETFMT`) and the conversion of their bytes, as a client writes
//! them or as an ALSA device takes them, to and from `f64` ([`decode`], [`encode`]: recording,
//! the `high` resampler, the limiter) and the playback mixer's fixed point ([`decode_fixed`],
//! [`encode_fixed`]: full scale 2^31, the same values and the same rounding in integers).
//!
//! # Normalization
//!
//! Full scale is `[-1.0, 1.0)`: an N-bit signed integer sample `v` is `v / 2^(N-1)`. Unsigned
//! formats subtract the midpoint `2^(N-1)` first. mu-law and A-law are scaled as their 16-bit
//! linear value (`/ 32768`). FLOAT is taken as it is.
//!
//! # Exactness guarantees
//!
//! * Integer formats: decoding is exact (every value is an `f64`, N <= 32). Encoding clamps
//!   `x * 2^(N-1)` to `[-2^(N-1), 2^(N-1) - 1]` and rounds to nearest, ties to even (like C's
//!   `lrint`). So `encode(decode(bytes)) == bytes` for every byte string, with one exception:
//!   S24_LE/S24_BE ignore the top byte of their 32-bit container on decode and write the sign
//!   extension of bit 23 there on encode.
//! * FLOAT: little-endian `f32`, widened exactly; NaN decodes to `0.0` so that one bad client
//!   cannot poison a mix. Other values (also infinities or values outside [-1, 1]) are kept;
//!   encode clips them. Encoding clamps to [-1.0, 1.0] and narrows to the nearest `f32`, so every
//!   `f32` in [-1, 1] round-trips.
//! * mu-law / A-law: ITU-T G.711 as in Sun's reference `g711.c` (mu-law: bias 0x84, clip 32635;
//!   A-law: 13-bit magnitude, bits XORed with 0x55). Decoding goes through a 256-entry table to
//!   `i16`; encoding quantizes to `i16` as above, then runs the segment encoder. Every byte is a
//!   fixed point of decode-encode-decode; bytes round-trip exactly except mu-law 0x7F (negative
//!   zero), which comes back as 0xFF.
//! * NaN encodes to the format's silence value ([`SampleFormat::silence_byte_pattern`]).
//!
//! # Hot path
//!
//! [`decode`] and [`encode`] match on the format once per call, then run a monomorphic loop over
//! the slices. They never allocate and never panic: they convert as many whole samples as fit in
//! both slices and return that count.

use dasp_sample::{Sample, I24};

// The `AFMT_*` values of these formats (and of the other OSS 3 formats a
// client may ask for), as in the OSS 4 `soundcard.h`; `oss::soundcard`
// re-exports them with the rest of the OSS ABI.

/// `SNDCTL_DSP_SETFMT` argument: return the current format, change nothing.
pub const AFMT_QUERY: u32 = 0x0000_0000;
/// 8-bit mu-law.
pub const AFMT_MU_LAW: u32 = 0x0000_0001;
/// 8-bit A-law.
pub const AFMT_A_LAW: u32 = 0x0000_0002;
/// IMA ADPCM (4 bits per sample).
pub const AFMT_IMA_ADPCM: u32 = 0x0000_0004;
/// Unsigned 8-bit.
pub const AFMT_U8: u32 = 0x0000_0008;
/// Signed 16-bit little-endian.
pub const AFMT_S16_LE: u32 = 0x0000_0010;
/// Signed 16-bit big-endian.
pub const AFMT_S16_BE: u32 = 0x0000_0020;
/// Signed 8-bit.
pub const AFMT_S8: u32 = 0x0000_0040;
/// Unsigned 16-bit little-endian.
pub const AFMT_U16_LE: u32 = 0x0000_0080;
/// Unsigned 16-bit big-endian.
pub const AFMT_U16_BE: u32 = 0x0000_0100;
/// MPEG audio (compressed).
pub const AFMT_MPEG: u32 = 0x0000_0200;
/// Dolby Digital AC3 (compressed). Last format the Linux OSS 3 header defines.
pub const AFMT_AC3: u32 = 0x0000_0400;
/// Signed 32-bit little-endian. Same value in 4Front and FreeBSD.
pub const AFMT_S32_LE: u32 = 0x0000_1000;
/// Signed 32-bit big-endian. Same value in 4Front and FreeBSD.
pub const AFMT_S32_BE: u32 = 0x0000_2000;
/// Native-endian float. 4Front (FreeBSD uses 0x4000 for `AFMT_U32_LE`).
pub const AFMT_FLOAT: u32 = 0x0000_4000;
/// Signed 24-bit little-endian in 32-bit words (LSB aligned). 4Front value;
/// FreeBSD's `AFMT_S24_LE` is 0x10000 (4Front's `AFMT_S24_BE`) and FreeBSD
/// uses 0x8000 for `AFMT_U32_BE`. Linux OSS 4 programs use these values.
pub const AFMT_S24_LE: u32 = 0x0000_8000;
/// Signed 24-bit big-endian in 32-bit words. 4Front value.
pub const AFMT_S24_BE: u32 = 0x0001_0000;
/// Signed 24-bit little-endian packed in 3 bytes. 4Front.
pub const AFMT_S24_PACKED: u32 = 0x0004_0000;

/// The OR of the `AFMT_*` values of every format in [`SampleFormat::ALL`]
/// (the answer to `SNDCTL_DSP_GETFMTS`).
pub const SUPPORTED_AFMTS: u32 = {
    let mut mask = 0;
    let mut i = 0;
    while i < SampleFormat::ALL.len() {
        mask |= SampleFormat::ALL[i].afmt();
        i += 1;
    }
    mask
};

/// A sample format ossd can decode and encode.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// Unsigned 8-bit, silence 0x80.
    U8,
    /// Signed 8-bit.
    S8,
    /// Signed 16-bit little-endian.
    S16Le,
    /// Signed 16-bit big-endian.
    S16Be,
    /// Unsigned 16-bit little-endian, silence 0x8000.
    U16Le,
    /// Unsigned 16-bit big-endian, silence 0x8000.
    U16Be,
    /// G.711 mu-law, one byte per sample.
    MuLaw,
    /// G.711 A-law, one byte per sample.
    ALaw,
    /// Signed 24-bit in the low 24 bits of a little-endian 32-bit container.
    S24Le,
    /// Signed 24-bit in the low 24 bits of a big-endian 32-bit container.
    S24Be,
    /// Signed 24-bit packed in 3 bytes, little-endian.
    S24Packed,
    /// Signed 32-bit little-endian.
    S32Le,
    /// Signed 32-bit big-endian.
    S32Be,
    /// 32-bit IEEE float, little-endian.
    FloatLe,
}

impl SampleFormat {
    /// Every supported format, in `AFMT_*` bit order.
    pub const ALL: [SampleFormat; 14] = [
        SampleFormat::MuLaw,
        SampleFormat::ALaw,
        SampleFormat::U8,
        SampleFormat::S16Le,
        SampleFormat::S16Be,
        SampleFormat::S8,
        SampleFormat::U16Le,
        SampleFormat::U16Be,
        SampleFormat::S32Le,
        SampleFormat::S32Be,
        SampleFormat::FloatLe,
        SampleFormat::S24Le,
        SampleFormat::S24Be,
        SampleFormat::S24Packed,
    ];

    /// The format whose `AFMT_*` value is exactly `afmt` (a single bit), if supported.
    pub const fn from_afmt(afmt: u32) -> Option<SampleFormat> {
        Some(match afmt {
            AFMT_U8 => SampleFormat::U8,
            AFMT_S8 => SampleFormat::S8,
            AFMT_S16_LE => SampleFormat::S16Le,
            AFMT_S16_BE => SampleFormat::S16Be,
            AFMT_U16_LE => SampleFormat::U16Le,
            AFMT_U16_BE => SampleFormat::U16Be,
            AFMT_MU_LAW => SampleFormat::MuLaw,
            AFMT_A_LAW => SampleFormat::ALaw,
            AFMT_S24_LE => SampleFormat::S24Le,
            AFMT_S24_BE => SampleFormat::S24Be,
            AFMT_S24_PACKED => SampleFormat::S24Packed,
            AFMT_S32_LE => SampleFormat::S32Le,
            AFMT_S32_BE => SampleFormat::S32Be,
            AFMT_FLOAT => SampleFormat::FloatLe,
            _ => return None,
        })
    }

    /// The OSS `AFMT_*` value of this format.
    pub const fn afmt(self) -> u32 {
        match self {
            SampleFormat::U8 => AFMT_U8,
            SampleFormat::S8 => AFMT_S8,
            SampleFormat::S16Le => AFMT_S16_LE,
            SampleFormat::S16Be => AFMT_S16_BE,
            SampleFormat::U16Le => AFMT_U16_LE,
            SampleFormat::U16Be => AFMT_U16_BE,
            SampleFormat::MuLaw => AFMT_MU_LAW,
            SampleFormat::ALaw => AFMT_A_LAW,
            SampleFormat::S24Le => AFMT_S24_LE,
            SampleFormat::S24Be => AFMT_S24_BE,
            SampleFormat::S24Packed => AFMT_S24_PACKED,
            SampleFormat::S32Le => AFMT_S32_LE,
            SampleFormat::S32Be => AFMT_S32_BE,
            SampleFormat::FloatLe => AFMT_FLOAT,
        }
    }

    /// Bytes one sample occupies (its container): S24_LE/S24_BE take 4, S24_PACKED 3.
    pub const fn bytes_per_sample(self) -> usize {
        match self {
            SampleFormat::U8 | SampleFormat::S8 | SampleFormat::MuLaw | SampleFormat::ALaw => 1,
            SampleFormat::S16Le
            | SampleFormat::S16Be
            | SampleFormat::U16Le
            | SampleFormat::U16Be => 2,
            SampleFormat::S24Packed => 3,
            SampleFormat::S24Le
            | SampleFormat::S24Be
            | SampleFormat::S32Le
            | SampleFormat::S32Be
            | SampleFormat::FloatLe => 4,
        }
    }

    /// Significant bits per sample: 8, 16, 24 or 32 (mu-law and A-law count 8, FLOAT 32).
    pub const fn bits(self) -> u32 {
        match self {
            SampleFormat::U8 | SampleFormat::S8 | SampleFormat::MuLaw | SampleFormat::ALaw => 8,
            SampleFormat::S16Le
            | SampleFormat::S16Be
            | SampleFormat::U16Le
            | SampleFormat::U16Be => 16,
            SampleFormat::S24Le | SampleFormat::S24Be | SampleFormat::S24Packed => 24,
            SampleFormat::S32Le | SampleFormat::S32Be | SampleFormat::FloatLe => 32,
        }
    }

    /// The OSS name without the `AFMT_` prefix, e.g. `"S16_LE"`, `"U8"`, `"MU_LAW"`, `"FLOAT"`.
    pub const fn name(self) -> &'static str {
        match self {
            SampleFormat::U8 => "U8",
            SampleFormat::S8 => "S8",
            SampleFormat::S16Le => "S16_LE",
            SampleFormat::S16Be => "S16_BE",
            SampleFormat::U16Le => "U16_LE",
            SampleFormat::U16Be => "U16_BE",
            SampleFormat::MuLaw => "MU_LAW",
            SampleFormat::ALaw => "A_LAW",
            SampleFormat::S24Le => "S24_LE",
            SampleFormat::S24Be => "S24_BE",
            SampleFormat::S24Packed => "S24_PACKED",
            SampleFormat::S32Le => "S32_LE",
            SampleFormat::S32Be => "S32_BE",
            SampleFormat::FloatLe => "FLOAT",
        }
    }

    /// The bytes of one silent sample (`bytes_per_sample()` long): 0x80 for U8, 0x8000 for
    /// U16 (in its byte order), 0xFF for mu-law, 0xD5 for A-law, zeros otherwise.
    /// It is what [`encode`] writes for `0.0` and for NaN.
    pub const fn silence_byte_pattern(self) -> &'static [u8] {
        match self {
            SampleFormat::U8 => &[0x80],
            SampleFormat::U16Le => &[0x00, 0x80],
            SampleFormat::U16Be => &[0x80, 0x00],
            SampleFormat::MuLaw => &[0xFF],
            SampleFormat::ALaw => &[0xD5],
            SampleFormat::S8 => &[0],
            SampleFormat::S16Le | SampleFormat::S16Be => &[0; 2],
            SampleFormat::S24Packed => &[0; 3],
            SampleFormat::S24Le
            | SampleFormat::S24Be
            | SampleFormat::S32Le
            | SampleFormat::S32Be
            | SampleFormat::FloatLe => &[0; 4],
        }
    }

    /// Fills `dst` with silence: byte `i` becomes `silence_byte_pattern()[i % bytes_per_sample()]`,
    /// so a trailing partial sample gets the start of the pattern.
    pub fn fill_silence(self, dst: &mut [u8]) {
        match self.silence_byte_pattern() {
            [byte, rest @ ..] if rest.iter().all(|b| b == byte) => dst.fill(*byte),
            pattern => dst
                .iter_mut()
                .zip(pattern.iter().cycle())
                .for_each(|(d, s)| *d = *s),
        }
    }
}

/// The format to answer `SNDCTL_DSP_SETFMT` with when `afmt` is not exactly one supported
/// format (e.g. `AFMT_IMA_ADPCM`, `AFMT_MPEG`, garbage, several bits at once).
///
/// Like an OSS driver, ossd answers with a format it does support and the program adapts to
/// the answer: the lowest set bit of `afmt` that is supported, else S16_LE (what every OSS
/// program can play). A single supported bit maps to its own format. `AFMT_QUERY` (0) also
/// yields S16_LE here, but callers should answer a query with the current format instead.
pub fn nearest_supported(afmt: u32) -> SampleFormat {
    let supported = afmt & SUPPORTED_AFMTS;
    let lowest = supported & supported.wrapping_neg();
    SampleFormat::from_afmt(lowest).unwrap_or(SampleFormat::S16Le)
}

/// Decodes samples of format `fmt` from `src` into `dst`, normalized to `[-1.0, 1.0)`.
///
/// Converts `min(src.len() / fmt.bytes_per_sample(), dst.len())` samples and returns that
/// count; trailing bytes of a partial sample and the rest of `dst` are left alone.
pub fn decode(fmt: SampleFormat, src: &[u8], dst: &mut [f64]) -> usize {
    // dasp_sample's integer-to-float conversions are `v as f64 / 2^(N-1)` (after moving
    // unsigned values to signed), which is exactly the normalization above.
    match fmt {
        SampleFormat::U8 => decode_with(src, dst, |[b]: [u8; 1]| b.to_sample()),
        SampleFormat::S8 => decode_with(src, dst, |[b]: [u8; 1]| (b as i8).to_sample()),
        SampleFormat::S16Le => decode_with(src, dst, |b| i16::from_le_bytes(b).to_sample()),
        SampleFormat::S16Be => decode_with(src, dst, |b| i16::from_be_bytes(b).to_sample()),
        SampleFormat::U16Le => decode_with(src, dst, |b| u16::from_le_bytes(b).to_sample()),
        SampleFormat::U16Be => decode_with(src, dst, |b| u16::from_be_bytes(b).to_sample()),
        SampleFormat::MuLaw => decode_with(src, dst, |[b]: [u8; 1]| {
            ULAW_TO_LINEAR[b as usize].to_sample()
        }),
        SampleFormat::ALaw => decode_with(src, dst, |[b]: [u8; 1]| {
            ALAW_TO_LINEAR[b as usize].to_sample()
        }),
        SampleFormat::S24Le => decode_with(src, dst, |[b0, b1, b2, _]| s24(b0, b1, b2)),
        SampleFormat::S24Be => decode_with(src, dst, |[_, b2, b1, b0]| s24(b0, b1, b2)),
        SampleFormat::S24Packed => decode_with(src, dst, |[b0, b1, b2]| s24(b0, b1, b2)),
        SampleFormat::S32Le => decode_with(src, dst, |b| i32::from_le_bytes(b).to_sample()),
        SampleFormat::S32Be => decode_with(src, dst, |b| i32::from_be_bytes(b).to_sample()),
        SampleFormat::FloatLe => decode_with(src, dst, |b| {
            let v = f32::from_le_bytes(b);
            if v.is_nan() {
                0.0
            } else {
                f64::from(v)
            }
        }),
    }
}

/// Encodes `src` (full scale `[-1.0, 1.0)`) into samples of format `fmt` in `dst`.
///
/// Values are clipped to the format's range, integer formats round to nearest (ties to even),
/// and NaN becomes silence. Converts `min(src.len(), dst.len() / fmt.bytes_per_sample())`
/// samples and returns that count; the rest of `dst` is left alone.
pub fn encode(fmt: SampleFormat, src: &[f64], dst: &mut [u8]) -> usize {
    // Not dasp_sample here: its float-to-integer conversions truncate toward zero
    // (`(x * 32768.0) as i16`) and its i32 -> i16 is a flooring shift, while ossd rounds to
    // nearest so that decode-encode is exact and requantizing is unbiased.
    match fmt {
        SampleFormat::U8 => encode_with(src, dst, |x| [(quantize(x, 8) + 0x80) as u8]),
        SampleFormat::S8 => encode_with(src, dst, |x| [quantize(x, 8) as u8]),
        SampleFormat::S16Le => encode_with(src, dst, |x| (quantize(x, 16) as i16).to_le_bytes()),
        SampleFormat::S16Be => encode_with(src, dst, |x| (quantize(x, 16) as i16).to_be_bytes()),
        SampleFormat::U16Le => encode_with(src, dst, |x| {
            ((quantize(x, 16) + 0x8000) as u16).to_le_bytes()
        }),
        SampleFormat::U16Be => encode_with(src, dst, |x| {
            ((quantize(x, 16) + 0x8000) as u16).to_be_bytes()
        }),
        SampleFormat::MuLaw => encode_with(src, dst, |x| [ulaw_from_linear(quantize(x, 16))]),
        SampleFormat::ALaw => encode_with(src, dst, |x| [alaw_from_linear(quantize(x, 16))]),
        // quantize() returns the sign-extended 32-bit container of a 24-bit value.
        SampleFormat::S24Le => encode_with(src, dst, |x| quantize(x, 24).to_le_bytes()),
        SampleFormat::S24Be => encode_with(src, dst, |x| quantize(x, 24).to_be_bytes()),
        SampleFormat::S24Packed => encode_with(src, dst, |x| {
            let [b0, b1, b2, _] = quantize(x, 24).to_le_bytes();
            [b0, b1, b2]
        }),
        SampleFormat::S32Le => encode_with(src, dst, |x| quantize(x, 32).to_le_bytes()),
        SampleFormat::S32Be => encode_with(src, dst, |x| quantize(x, 32).to_be_bytes()),
        SampleFormat::FloatLe => encode_with(src, dst, |x| {
            let clipped = if x.is_nan() { 0.0 } else { x.clamp(-1.0, 1.0) };
            (clipped as f32).to_le_bytes()
        }),
    }
}

/// The mixer's fixed-point full scale: a sample of value `v` in `[-1.0, 1.0)` is `v * 2^31`,
/// so an S32 sample is its own value and every narrower integer format is a left shift.
pub const FIXED_ONE: i64 = 1 << 31;

/// Decodes samples of format `fmt` from `src` into fixed point (full scale [`FIXED_ONE`]).
///
/// Integer formats are exact shifts: `decode_fixed(b)[i] as f64 / 2^31 == decode(b)[i]`.
/// FLOAT is clipped to full scale and rounded to nearest (ties to even), which is what
/// [`encode`] would make of it as S32; NaN becomes 0. Counts as [`decode`] does.
pub fn decode_fixed(fmt: SampleFormat, src: &[u8], dst: &mut [i32]) -> usize {
    match fmt {
        SampleFormat::U8 => decode_with(src, dst, |[b]: [u8; 1]| (b as i32 - 0x80) << 24),
        SampleFormat::S8 => decode_with(src, dst, |[b]: [u8; 1]| (b as i8 as i32) << 24),
        SampleFormat::S16Le => decode_with(src, dst, |b| (i16::from_le_bytes(b) as i32) << 16),
        SampleFormat::S16Be => decode_with(src, dst, |b| (i16::from_be_bytes(b) as i32) << 16),
        SampleFormat::U16Le => {
            decode_with(src, dst, |b| (u16::from_le_bytes(b) as i32 - 0x8000) << 16)
        }
        SampleFormat::U16Be => {
            decode_with(src, dst, |b| (u16::from_be_bytes(b) as i32 - 0x8000) << 16)
        }
        SampleFormat::MuLaw => decode_with(src, dst, |[b]: [u8; 1]| {
            (ULAW_TO_LINEAR[b as usize] as i32) << 16
        }),
        SampleFormat::ALaw => decode_with(src, dst, |[b]: [u8; 1]| {
            (ALAW_TO_LINEAR[b as usize] as i32) << 16
        }),
        // The 24 bits land in the top of the 32: the top container byte is ignored.
        SampleFormat::S24Le => decode_with(src, dst, |[b0, b1, b2, _]| {
            i32::from_le_bytes([0, b0, b1, b2])
        }),
        SampleFormat::S24Be => decode_with(src, dst, |[_, b2, b1, b0]| {
            i32::from_le_bytes([0, b0, b1, b2])
        }),
        SampleFormat::S24Packed => {
            decode_with(src, dst, |[b0, b1, b2]| i32::from_le_bytes([0, b0, b1, b2]))
        }
        SampleFormat::S32Le => decode_with(src, dst, i32::from_le_bytes),
        SampleFormat::S32Be => decode_with(src, dst, i32::from_be_bytes),
        SampleFormat::FloatLe => {
            decode_with(src, dst, |b| quantize(f64::from(f32::from_le_bytes(b)), 32))
        }
    }
}

/// Encodes fixed-point samples (full scale [`FIXED_ONE`], any `i64`: sums of several
/// streams go past full scale and are clipped here) into samples of format `fmt`.
///
/// The same bytes as [`encode`] of `v as f64 / 2^31` for every `|v| < 2^53`: clipped to the
/// format's range, rounded to nearest with ties to even, so narrowing is unbiased and a
/// stream that was widened on the way in comes back bit-exact. Only integer arithmetic,
/// except for FLOAT. Counts as [`encode`] does.
pub fn encode_fixed(fmt: SampleFormat, src: &[i64], dst: &mut [u8]) -> usize {
    match fmt {
        SampleFormat::U8 => encode_with(src, dst, |v| [(narrow(v, 8) + 0x80) as u8]),
        SampleFormat::S8 => encode_with(src, dst, |v| [narrow(v, 8) as u8]),
        SampleFormat::S16Le => encode_with(src, dst, |v| (narrow(v, 16) as i16).to_le_bytes()),
        SampleFormat::S16Be => encode_with(src, dst, |v| (narrow(v, 16) as i16).to_be_bytes()),
        SampleFormat::U16Le => encode_with(src, dst, |v| {
            ((narrow(v, 16) + 0x8000) as u16).to_le_bytes()
        }),
        SampleFormat::U16Be => encode_with(src, dst, |v| {
            ((narrow(v, 16) + 0x8000) as u16).to_be_bytes()
        }),
        SampleFormat::MuLaw => encode_with(src, dst, |v| [ulaw_from_linear(narrow(v, 16))]),
        SampleFormat::ALaw => encode_with(src, dst, |v| [alaw_from_linear(narrow(v, 16))]),
        SampleFormat::S24Le => encode_with(src, dst, |v| narrow(v, 24).to_le_bytes()),
        SampleFormat::S24Be => encode_with(src, dst, |v| narrow(v, 24).to_be_bytes()),
        SampleFormat::S24Packed => encode_with(src, dst, |v| {
            let [b0, b1, b2, _] = narrow(v, 24).to_le_bytes();
            [b0, b1, b2]
        }),
        SampleFormat::S32Le => encode_with(src, dst, |v| narrow(v, 32).to_le_bytes()),
        SampleFormat::S32Be => encode_with(src, dst, |v| narrow(v, 32).to_be_bytes()),
        SampleFormat::FloatLe => encode_with(src, dst, |v| {
            ((v as f64 / FIXED_ONE as f64).clamp(-1.0, 1.0) as f32).to_le_bytes()
        }),
    }
}

/// `v / 2^(32 - bits)` rounded to nearest, ties to even, clamped to a signed `bits`-bit value.
/// Rounding before clamping gives the same result as after: the bounds are integers.
#[inline(always)]
fn narrow(v: i64, bits: u32) -> i32 {
    let shift = 32 - bits;
    let q = if shift == 0 {
        v
    } else {
        let q = v >> shift;
        let rem = v & ((1 << shift) - 1);
        let half = 1 << (shift - 1);
        q + i64::from(rem > half || (rem == half && q & 1 != 0))
    };
    let full = 1i64 << (bits - 1);
    q.clamp(-full, full - 1) as i32
}

/// The decode loop: one `f` call per whole `N`-byte sample that fits both slices.
#[inline(always)]
fn decode_with<const N: usize, T>(src: &[u8], dst: &mut [T], f: impl Fn([u8; N]) -> T) -> usize {
    let count = (src.len() / N).min(dst.len());
    for (out, chunk) in dst.iter_mut().zip(src.chunks_exact(N)) {
        let mut bytes = [0; N];
        bytes.copy_from_slice(chunk); // chunks_exact: always N bytes
        *out = f(bytes);
    }
    count
}

/// The encode loop: one `f` call per sample that fits both slices.
#[inline(always)]
fn encode_with<const N: usize, T: Copy>(
    src: &[T],
    dst: &mut [u8],
    f: impl Fn(T) -> [u8; N],
) -> usize {
    let count = src.len().min(dst.len() / N);
    for (chunk, &x) in dst.chunks_exact_mut(N).zip(src) {
        chunk.copy_from_slice(&f(x));
    }
    count
}

/// Sign-extends the 24-bit value with little-endian bytes `b0 b1 b2` and normalizes it.
#[inline(always)]
fn s24(b0: u8, b1: u8, b2: u8) -> f64 {
    I24::new_unchecked(i32::from_le_bytes([0, b0, b1, b2]) >> 8).to_sample()
}

/// `x * 2^(bits-1)` clamped to `[-2^(bits-1), 2^(bits-1) - 1]` and rounded to nearest, ties to
/// even; NaN gives 0. `bits` is 8, 16, 24 or 32, the result fits in that many bits.
#[inline(always)]
fn quantize(x: f64, bits: u32) -> i32 {
    // Adding 1.5 * 2^52 moves any |y| < 2^51 into [2^52, 2^53), where the f64 spacing is 1, so
    // the addition itself rounds to an integer (to nearest, ties to even); subtracting is exact.
    // f64::round_ties_even would do, but on baseline x86-64 it is a call to libm's rint.
    const ROUND: f64 = (3u64 << 51) as f64;
    let full = (1u64 << (bits - 1)) as f64;
    // Clamping to integer bounds before rounding gives the same result as after. NaN survives
    // clamp and the arithmetic, and `as` turns it into 0.
    let y = (x * full).clamp(-full, full - 1.0);
    ((y + ROUND) - ROUND) as i32
}

/// mu-law byte -> 16-bit linear value, for every byte (Sun g711.c `ulaw2linear`).
static ULAW_TO_LINEAR: [i16; 256] = {
    let mut table = [0; 256];
    let mut i = 0;
    while i < 256 {
        let u = !(i as u8);
        let t = ((((u & 0x0F) as i32) << 3) + 0x84) << ((u & 0x70) >> 4);
        table[i] = (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16;
        i += 1;
    }
    table
};

/// A-law byte -> 16-bit linear value, for every byte (Sun g711.c `alaw2linear`).
static ALAW_TO_LINEAR: [i16; 256] = {
    let mut table = [0; 256];
    let mut i = 0;
    while i < 256 {
        let a = i as u8 ^ 0x55;
        let t = ((a & 0x0F) as i32) << 4;
        let t = match (a & 0x70) >> 4 {
            0 => t + 8,
            seg => (t + 0x108) << (seg - 1),
        };
        table[i] = (if a & 0x80 != 0 { t } else { -t }) as i16;
        i += 1;
    }
    table
};

/// 16-bit linear value (in an `i32`) -> mu-law byte: Sun g711.c `linear2ulaw` on the 16-bit
/// scale (bias 0x84 = 33 << 2, magnitude clipped at 32635 = 0x7FFF - 0x84), with the segment
/// table search replaced by the bit length of the biased magnitude.
#[inline(always)]
fn ulaw_from_linear(pcm: i32) -> u8 {
    let (mask, magnitude) = if pcm < 0 { (0x7F, -pcm) } else { (0xFF, pcm) };
    let biased = magnitude.min(32635) + 0x84; // 132..=0x7FFF: 8 to 15 significant bits
    let seg = (i32::BITS - biased.leading_zeros()) - 8;
    let mantissa = (biased >> (seg + 3)) & 0x0F;
    ((seg << 4) as i32 | mantissa) as u8 ^ mask
}

/// 16-bit linear value (in an `i32`) -> A-law byte: Sun g711.c `linear2alaw` (13-bit
/// magnitude, one's complement for negatives, bits XORed with 0x55), with the segment table
/// search replaced by a bit length.
#[inline(always)]
fn alaw_from_linear(pcm: i32) -> u8 {
    let pcm = pcm >> 3;
    let (mask, magnitude) = if pcm >= 0 { (0xD5, pcm) } else { (0x55, !pcm) }; // 0..=0xFFF
    let seg = (i32::BITS - (magnitude | 0x1F).leading_zeros()) - 5; // 0..=7
    let mantissa = (magnitude >> seg.max(1)) & 0x0F;
    ((seg << 4) as i32 | mantissa) as u8 ^ mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use SampleFormat::*;

    const INTEGER_FORMATS: [SampleFormat; 11] = [
        U8, S8, S16Le, S16Be, U16Le, U16Be, S24Le, S24Be, S24Packed, S32Le, S32Be,
    ];

    fn dec(fmt: SampleFormat, src: &[u8]) -> Vec<f64> {
        let mut out = vec![f64::NAN; src.len() / fmt.bytes_per_sample()];
        assert_eq!(decode(fmt, src, &mut out), out.len());
        out
    }

    fn enc(fmt: SampleFormat, src: &[f64]) -> Vec<u8> {
        let mut out = vec![0xA5; src.len() * fmt.bytes_per_sample()];
        assert_eq!(encode(fmt, src, &mut out), src.len());
        out
    }

    /// What decode-encode must give back: the input, with the top container byte of
    /// S24_LE/S24_BE replaced by the sign extension of bit 23.
    fn canonical(fmt: SampleFormat, bytes: &[u8]) -> Vec<u8> {
        let mut out =
            bytes[..bytes.len() / fmt.bytes_per_sample() * fmt.bytes_per_sample()].to_vec();
        for c in out.chunks_exact_mut(4) {
            match fmt {
                S24Le => c[3] = if c[2] & 0x80 != 0 { 0xFF } else { 0 },
                S24Be => c[0] = if c[1] & 0x80 != 0 { 0xFF } else { 0 },
                _ => {}
            }
        }
        out
    }

    #[test]
    fn afmt_values_match_soundcard_h() {
        // OSS 3 values: /usr/include/linux/soundcard.h. OSS 4 values: 4Front's soundcard.h,
        // also used by Linux's sound/core/oss/pcm_oss.c.
        let expected = [
            (AFMT_QUERY, 0x0),
            (AFMT_MU_LAW, 0x1),
            (AFMT_A_LAW, 0x2),
            (AFMT_IMA_ADPCM, 0x4),
            (AFMT_U8, 0x8),
            (AFMT_S16_LE, 0x10),
            (AFMT_S16_BE, 0x20),
            (AFMT_S8, 0x40),
            (AFMT_U16_LE, 0x80),
            (AFMT_U16_BE, 0x100),
            (AFMT_MPEG, 0x200),
            (AFMT_AC3, 0x400),
            (AFMT_S32_LE, 0x1000),
            (AFMT_S32_BE, 0x2000),
            (AFMT_FLOAT, 0x4000),
            (AFMT_S24_LE, 0x8000),
            (AFMT_S24_BE, 0x10000),
            (AFMT_S24_PACKED, 0x40000),
        ];
        for (constant, value) in expected {
            assert_eq!(constant, value);
        }
    }

    #[test]
    fn supported_afmts_from_afmt_and_afmt_agree() {
        let mut mask = 0;
        for fmt in SampleFormat::ALL {
            let afmt = fmt.afmt();
            assert_eq!(afmt.count_ones(), 1, "{fmt:?}");
            assert_eq!(mask & afmt, 0, "{fmt:?} listed twice");
            assert_ne!(SUPPORTED_AFMTS & afmt, 0, "{fmt:?}");
            assert_eq!(SampleFormat::from_afmt(afmt), Some(fmt));
            assert_eq!(nearest_supported(afmt), fmt);
            mask |= afmt;
        }
        assert_eq!(mask, SUPPORTED_AFMTS);
        for bit in 0..32 {
            let afmt = 1u32 << bit;
            assert_eq!(
                SampleFormat::from_afmt(afmt).is_some(),
                SUPPORTED_AFMTS & afmt != 0
            );
        }
        assert_eq!(SampleFormat::from_afmt(AFMT_QUERY), None);
        assert_eq!(SampleFormat::from_afmt(AFMT_S16_LE | AFMT_U8), None);
    }

    #[test]
    fn nearest_supported_picks_lowest_supported_bit_else_s16le() {
        assert_eq!(nearest_supported(AFMT_IMA_ADPCM), S16Le);
        assert_eq!(nearest_supported(AFMT_MPEG), S16Le);
        assert_eq!(nearest_supported(AFMT_AC3), S16Le);
        assert_eq!(nearest_supported(AFMT_QUERY), S16Le);
        assert_eq!(nearest_supported(0x8000_0000), S16Le);
        assert_eq!(nearest_supported(AFMT_S16_BE | AFMT_S32_LE), S16Be);
        assert_eq!(nearest_supported(AFMT_IMA_ADPCM | AFMT_FLOAT), FloatLe);
        assert_eq!(nearest_supported(u32::MAX), MuLaw);
    }

    #[test]
    fn format_properties() {
        let table = [
            (U8, 1, 8, "U8"),
            (S8, 1, 8, "S8"),
            (S16Le, 2, 16, "S16_LE"),
            (S16Be, 2, 16, "S16_BE"),
            (U16Le, 2, 16, "U16_LE"),
            (U16Be, 2, 16, "U16_BE"),
            (MuLaw, 1, 8, "MU_LAW"),
            (ALaw, 1, 8, "A_LAW"),
            (S24Le, 4, 24, "S24_LE"),
            (S24Be, 4, 24, "S24_BE"),
            (S24Packed, 3, 24, "S24_PACKED"),
            (S32Le, 4, 32, "S32_LE"),
            (S32Be, 4, 32, "S32_BE"),
            (FloatLe, 4, 32, "FLOAT"),
        ];
        assert_eq!(table.len(), SampleFormat::ALL.len());
        for (fmt, bytes, bits, name) in table {
            assert!(SampleFormat::ALL.contains(&fmt));
            assert_eq!(fmt.bytes_per_sample(), bytes, "{fmt:?}");
            assert_eq!(fmt.bits(), bits, "{fmt:?}");
            assert_eq!(fmt.name(), name, "{fmt:?}");
            assert_eq!(fmt.silence_byte_pattern().len(), bytes, "{fmt:?}");
        }
    }

    #[test]
    fn silence() {
        assert_eq!(U8.silence_byte_pattern(), [0x80]);
        assert_eq!(U16Le.silence_byte_pattern(), [0x00, 0x80]);
        assert_eq!(U16Be.silence_byte_pattern(), [0x80, 0x00]);
        assert_eq!(MuLaw.silence_byte_pattern(), [0xFF]);
        assert_eq!(ALaw.silence_byte_pattern(), [0xD5]);
        for fmt in SampleFormat::ALL {
            let pattern = fmt.silence_byte_pattern();
            // encode writes it for 0.0, -0.0 and NaN; it decodes to (about) zero.
            for x in [0.0, -0.0, f64::NAN] {
                if fmt == FloatLe && x == 0.0 && x.is_sign_negative() {
                    continue; // FLOAT keeps the sign of zero
                }
                assert_eq!(enc(fmt, &[x]), pattern, "{fmt:?} {x}");
            }
            let zero = if fmt == ALaw { 8.0 / 32768.0 } else { 0.0 };
            assert_eq!(dec(fmt, pattern), [zero], "{fmt:?}");
            // fill_silence repeats it, from the start, over any length.
            for len in [0, 1, 2, 3, 7, 12] {
                let mut buf = vec![0x5A; len];
                fmt.fill_silence(&mut buf);
                let want: Vec<u8> = (0..len).map(|i| pattern[i % pattern.len()]).collect();
                assert_eq!(buf, want, "{fmt:?} len {len}");
            }
        }
    }

    #[test]
    fn fixed_decode_vectors() {
        const S24: f64 = 8388608.0;
        const S32: f64 = 2147483648.0;
        #[rustfmt::skip]
        let cases: [(SampleFormat, &[u8], &[f64]); 14] = [
            (U8, &[0x80, 0x00, 0xFF, 0x81], &[0.0, -1.0, 127.0 / 128.0, 1.0 / 128.0]),
            (S8, &[0x00, 0x80, 0x7F, 0xFF], &[0.0, -1.0, 127.0 / 128.0, -1.0 / 128.0]),
            (S16Le, &[0x34, 0x12, 0x00, 0x80, 0xFF, 0x7F], &[4660.0 / 32768.0, -1.0, 32767.0 / 32768.0]),
            (S16Be, &[0x12, 0x34, 0xFF, 0xFF], &[4660.0 / 32768.0, -1.0 / 32768.0]),
            (U16Le, &[0x00, 0x80, 0x00, 0x00, 0xFF, 0xFF], &[0.0, -1.0, 32767.0 / 32768.0]),
            (U16Be, &[0x80, 0x00, 0x80, 0x01], &[0.0, 1.0 / 32768.0]),
            (MuLaw, &[0xFF, 0x7F, 0x00, 0x80], &[0.0, 0.0, -32124.0 / 32768.0, 32124.0 / 32768.0]),
            (ALaw, &[0xD5, 0x55, 0x2A, 0xAA], &[8.0 / 32768.0, -8.0 / 32768.0, -32256.0 / 32768.0, 32256.0 / 32768.0]),
            // S24 in a 32-bit container: the top byte (any value) is ignored.
            (S24Le, &[0x00, 0x00, 0x80, 0x00, 0xFF, 0xFF, 0x7F, 0xAB], &[-1.0, 8388607.0 / S24]),
            (S24Be, &[0x00, 0x80, 0x00, 0x00, 0x5A, 0x12, 0x34, 0x56], &[-1.0, 0x123456 as f64 / S24]),
            (S24Packed, &[0x00, 0x00, 0x80, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF], &[-1.0, 0x123456 as f64 / S24, -1.0 / S24]),
            (S32Le, &[0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00], &[-1.0, 1.0 / S32]),
            (S32Be, &[0x7F, 0xFF, 0xFF, 0xFF, 0x12, 0x34, 0x56, 0x78], &[2147483647.0 / S32, 0x12345678 as f64 / S32]),
            // -1.0, 0.5, NaN
            (FloatLe, &[0x00, 0x00, 0x80, 0xBF, 0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0xC0, 0x7F], &[-1.0, 0.5, 0.0]),
        ];
        for (fmt, bytes, want) in cases {
            assert_eq!(dec(fmt, bytes), want, "{fmt:?}");
        }
        // Known mu-law/A-law values as 16-bit linear (Sun g711.c ulaw2linear/alaw2linear).
        assert_eq!(ULAW_TO_LINEAR[0xFF], 0);
        assert_eq!(ULAW_TO_LINEAR[0x7F], 0);
        assert_eq!(ULAW_TO_LINEAR[0x00], -32124);
        assert_eq!(ULAW_TO_LINEAR[0x80], 32124);
        assert_eq!(ALAW_TO_LINEAR[0xD5], 8);
        assert_eq!(ALAW_TO_LINEAR[0x55], -8);
        assert_eq!(ALAW_TO_LINEAR[0x2A], -32256);
        assert_eq!(ALAW_TO_LINEAR[0xAA], 32256);
        assert_eq!(ALAW_TO_LINEAR.iter().min(), Some(&-32256));
        assert_eq!(ULAW_TO_LINEAR.iter().min(), Some(&-32124));
    }

    #[test]
    fn fixed_encode_vectors_and_clipping() {
        // Each format's bytes for full scale positive (1.0), negative (-1.0) and 0.5.
        type Bytes = &'static [u8];
        #[rustfmt::skip]
        let cases: [(SampleFormat, Bytes, Bytes, Bytes); 14] = [
            (U8, &[0xFF], &[0x00], &[0xC0]),
            (S8, &[0x7F], &[0x80], &[0x40]),
            (S16Le, &[0xFF, 0x7F], &[0x00, 0x80], &[0x00, 0x40]),
            (S16Be, &[0x7F, 0xFF], &[0x80, 0x00], &[0x40, 0x00]),
            (U16Le, &[0xFF, 0xFF], &[0x00, 0x00], &[0x00, 0xC0]),
            (U16Be, &[0xFF, 0xFF], &[0x00, 0x00], &[0xC0, 0x00]),
            (MuLaw, &[0x80], &[0x00], &[0x8F]),
            (ALaw, &[0xAA], &[0x2A], &[0xA5]),
            (S24Le, &[0xFF, 0xFF, 0x7F, 0x00], &[0x00, 0x00, 0x80, 0xFF], &[0x00, 0x00, 0x40, 0x00]),
            (S24Be, &[0x00, 0x7F, 0xFF, 0xFF], &[0xFF, 0x80, 0x00, 0x00], &[0x00, 0x40, 0x00, 0x00]),
            (S24Packed, &[0xFF, 0xFF, 0x7F], &[0x00, 0x00, 0x80], &[0x00, 0x00, 0x40]),
            (S32Le, &[0xFF, 0xFF, 0xFF, 0x7F], &[0x00, 0x00, 0x00, 0x80], &[0x00, 0x00, 0x00, 0x40]),
            (S32Be, &[0x7F, 0xFF, 0xFF, 0xFF], &[0x80, 0x00, 0x00, 0x00], &[0x40, 0x00, 0x00, 0x00]),
            (FloatLe, &[0x00, 0x00, 0x80, 0x3F], &[0x00, 0x00, 0x80, 0xBF], &[0x00, 0x00, 0x00, 0x3F]),
        ];
        let x = [
            1.0,
            -1.0,
            2.0,
            -5.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.5,
        ];
        for (fmt, max, min, half) in cases {
            let silence = fmt.silence_byte_pattern();
            let want = [max, min, max, min, max, min, silence, half].concat();
            assert_eq!(enc(fmt, &x), want, "{fmt:?}");
        }
        // 32766.5 LSB is a tie and rounds to even; just below 32768 LSB (or -32768.5) clips.
        let s16 = |x: f64| enc(S16Le, &[x / 32768.0]);
        assert_eq!(s16(32766.5), 32766i16.to_le_bytes());
        assert_eq!(s16(32766.51), 32767i16.to_le_bytes());
        assert_eq!(s16(32767.9), 32767i16.to_le_bytes());
        assert_eq!(s16(-32768.6), (-32768i16).to_le_bytes());
    }

    #[test]
    fn round_half_even() {
        // S16: 0.5 LSB ties go to the even neighbour, like lrint().
        let lsb = 1.0 / 32768.0;
        let x = [
            0.5 * lsb,
            1.5 * lsb,
            2.5 * lsb,
            -0.5 * lsb,
            -1.5 * lsb,
            0.49 * lsb,
            0.51 * lsb,
        ];
        let got: Vec<i16> = enc(S16Le, &x)
            .chunks(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(got, [0, 2, 2, 0, -2, 0, 1]);
    }

    #[test]
    fn every_8_and_16_bit_string_round_trips() {
        for fmt in [U8, S8, MuLaw, ALaw] {
            let all: Vec<u8> = (0..=255).collect();
            let mut want = all.clone();
            if fmt == MuLaw {
                want[0x7F] = 0xFF; // negative zero comes back as positive zero
            }
            assert_eq!(enc(fmt, &dec(fmt, &all)), want, "{fmt:?}");
        }
        let all: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
        for fmt in [S16Le, S16Be, U16Le, U16Be] {
            assert_eq!(enc(fmt, &dec(fmt, &all)), all, "{fmt:?}");
        }
    }

    #[test]
    fn g711_decode_encode_decode_is_stable() {
        for fmt in [MuLaw, ALaw] {
            for b in 0..=255u8 {
                let once = dec(fmt, &[b]);
                assert_eq!(dec(fmt, &enc(fmt, &once)), once, "{fmt:?} {b:#04x}");
            }
        }
    }

    /// Sun g711.c `linear2ulaw`, 16-bit version, transcribed with its segment table search.
    fn sun_linear2ulaw(pcm: i32) -> u8 {
        const SEG_END: [i32; 8] = [0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF, 0x3FFF, 0x7FFF];
        let (val, mask): (i32, i32) = if pcm < 0 {
            (0x84 - pcm, 0x7F)
        } else {
            (pcm + 0x84, 0xFF)
        };
        match SEG_END.iter().position(|&end| val <= end) {
            None => (0x7F ^ mask) as u8,
            Some(seg) => (((seg as i32) << 4 | ((val >> (seg + 3)) & 0xF)) ^ mask) as u8,
        }
    }

    /// Sun g711.c `linear2alaw`, transcribed with its segment table search.
    fn sun_linear2alaw(pcm: i32) -> u8 {
        const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
        let pcm = pcm >> 3;
        let (val, mask) = if pcm >= 0 {
            (pcm, 0xD5)
        } else {
            (-pcm - 1, 0x55)
        };
        match SEG_AEND.iter().position(|&end| val <= end) {
            None => (0x7F ^ mask) as u8,
            Some(seg) => {
                let quant = if seg < 2 {
                    (val >> 1) & 0xF
                } else {
                    (val >> seg) & 0xF
                };
                (((seg as i32) << 4 | quant) ^ mask) as u8
            }
        }
    }

    #[test]
    fn g711_encoders_match_sun_reference_for_every_i16() {
        for pcm in i16::MIN as i32..=i16::MAX as i32 {
            assert_eq!(ulaw_from_linear(pcm), sun_linear2ulaw(pcm), "mu-law {pcm}");
            assert_eq!(alaw_from_linear(pcm), sun_linear2alaw(pcm), "A-law {pcm}");
        }
        assert_eq!(ulaw_from_linear(0), 0xFF);
        assert_eq!(ulaw_from_linear(-32768), 0x00);
        assert_eq!(ulaw_from_linear(32767), 0x80);
        assert_eq!(alaw_from_linear(0), 0xD5);
        assert_eq!(alaw_from_linear(-1), 0x55);
        assert_eq!(alaw_from_linear(-32768), 0x2A);
        assert_eq!(alaw_from_linear(32767), 0xAA);
    }

    #[test]
    fn s16_to_s32_is_a_shift() {
        let all: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
        let s32 = enc(S32Le, &dec(S16Le, &all));
        for (v, c) in all.chunks(2).zip(s32.chunks(4)) {
            let v = i16::from_le_bytes([v[0], v[1]]) as i32;
            assert_eq!(i32::from_le_bytes([c[0], c[1], c[2], c[3]]), v << 16);
        }
    }

    #[test]
    fn s32_to_s16_rounds_to_nearest() {
        let cases: [(i32, i16); 9] = [
            (0x0000_7FFF, 0),
            (0x0000_8000, 0), // tie: to even
            (0x0000_8001, 1),
            (0x0001_8000, 2), // tie: to even
            (-0x0000_8000, 0),
            (-0x0000_8001, -1),
            (i32::MAX, i16::MAX), // would round to 32768: clipped
            (i32::MIN, i16::MIN),
            (0x1234_0000, 0x1234),
        ];
        for (v, want) in cases {
            assert_eq!(
                enc(S16Le, &dec(S32Le, &v.to_le_bytes())),
                want.to_le_bytes(),
                "{v:#x}"
            );
        }
    }

    #[test]
    fn short_slices_convert_whole_samples_only() {
        for fmt in SampleFormat::ALL {
            let bps = fmt.bytes_per_sample();
            let mut out = [7.0; 3];
            assert_eq!(decode(fmt, &[0; 10], &mut out), (10 / bps).min(3));
            assert_eq!(decode(fmt, &[0; 10], &mut []), 0);
            assert_eq!(decode(fmt, &[], &mut out), 0);
            let mut bytes = [0xEE; 10];
            assert_eq!(encode(fmt, &[0.0; 5], &mut bytes), (10 / bps).min(5));
            assert!(bytes[(10 / bps).min(5) * bps..].iter().all(|&b| b == 0xEE));
            assert_eq!(encode(fmt, &[], &mut bytes), 0);
            assert_eq!(encode(fmt, &[0.0], &mut []), 0);
        }
    }

    #[test]
    fn fixed_decode_is_a_shift_of_the_integer_value() {
        let mut d = [0i32; 2];
        assert_eq!(decode_fixed(S16Le, &[0x01, 0x80, 0xFF, 0x7F], &mut d), 2);
        assert_eq!(d, [-32767 << 16, 32767 << 16]);
        assert_eq!(decode_fixed(U8, &[0x00, 0xFF], &mut d), 2);
        assert_eq!(d, [i32::MIN, 127 << 24]);
        assert_eq!(
            decode_fixed(S24Packed, &[0xFF, 0xFF, 0x7F, 0, 0, 0x80], &mut d),
            2
        );
        assert_eq!(d, [0x7F_FFFF << 8, i32::MIN]);
        // FLOAT clips to full scale; NaN is silence.
        let mut f = Vec::new();
        for x in [2.0f32, -1.0, 0.5, f32::NAN] {
            f.extend(x.to_le_bytes());
        }
        let mut d = [7i32; 4];
        assert_eq!(decode_fixed(FloatLe, &f, &mut d), 4);
        assert_eq!(d, [i32::MAX, i32::MIN, 1 << 30, 0]);
    }

    #[test]
    fn fixed_encode_clips_and_rounds_half_to_even() {
        let mut out = [0u8; 10];
        let v = [
            3 << 15,    // 1.5 LSB of S16 -> 2
            5 << 15,    // 2.5 LSB -> 2
            -(1 << 15), // -0.5 LSB -> 0
            1 << 40,    // far past full scale
            -(1 << 40),
        ];
        assert_eq!(encode_fixed(S16Le, &v, &mut out), 5);
        assert_eq!(out.to_vec(), s16_bytes(&[2, 2, 0, 32767, -32768]));
    }

    fn s16_bytes(v: &[i16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()
    }

    proptest! {
        #[test]
        fn fixed_decode_agrees_with_decode(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for fmt in SampleFormat::ALL {
                let n = bytes.len() / fmt.bytes_per_sample();
                let mut fixed = vec![0i32; n];
                prop_assert_eq!(decode_fixed(fmt, &bytes, &mut fixed), n);
                let float = dec(fmt, &bytes);
                for (&q, &x) in fixed.iter().zip(&float) {
                    if fmt == FloatLe {
                        prop_assert_eq!(q, quantize(x, 32));
                    } else {
                        prop_assert_eq!(q as f64 / FIXED_ONE as f64, x, "{:?}", fmt);
                    }
                }
            }
        }

        #[test]
        fn fixed_encode_agrees_with_encode(v in proptest::collection::vec(-(1i64 << 40)..(1i64 << 40), 0..16)) {
            for fmt in SampleFormat::ALL {
                let mut a = vec![0u8; v.len() * fmt.bytes_per_sample()];
                prop_assert_eq!(encode_fixed(fmt, &v, &mut a), v.len());
                let x: Vec<f64> = v.iter().map(|&q| q as f64 / FIXED_ONE as f64).collect();
                prop_assert_eq!(a, enc(fmt, &x), "{:?}", fmt);
            }
        }

        #[test]
        fn fixed_round_trips_integer_formats(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for fmt in INTEGER_FORMATS {
                let n = bytes.len() / fmt.bytes_per_sample();
                let mut fixed = vec![0i32; n];
                decode_fixed(fmt, &bytes, &mut fixed);
                let wide: Vec<i64> = fixed.iter().map(|&q| q.into()).collect();
                let mut out = vec![0u8; n * fmt.bytes_per_sample()];
                encode_fixed(fmt, &wide, &mut out);
                prop_assert_eq!(out, canonical(fmt, &bytes), "{:?}", fmt);
            }
        }

        #[test]
        fn integer_formats_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for fmt in INTEGER_FORMATS {
                let decoded = dec(fmt, &bytes);
                prop_assert!(decoded.iter().all(|x| (-1.0..1.0).contains(x)));
                prop_assert_eq!(enc(fmt, &decoded), canonical(fmt, &bytes), "{:?}", fmt);
            }
        }

        #[test]
        fn g711_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for fmt in [MuLaw, ALaw] {
                let decoded = dec(fmt, &bytes);
                prop_assert_eq!(dec(fmt, &enc(fmt, &decoded)), decoded);
            }
        }

        #[test]
        fn decode_is_exact(v in any::<i32>()) {
            let full = 2147483648.0;
            prop_assert_eq!(dec(S32Be, &v.to_be_bytes()), [v as f64 / full]);
            let v24 = v >> 8;
            let want = [v24 as f64 / 8388608.0];
            prop_assert_eq!(dec(S24Le, &v24.to_le_bytes()), want);
            prop_assert_eq!(dec(S24Be, &v24.to_be_bytes()), want);
            prop_assert_eq!(dec(S24Packed, &v24.to_le_bytes()[..3]), want);
            let v16 = (v >> 16) as i16;
            prop_assert_eq!(dec(U16Be, &((v16 as u16) ^ 0x8000).to_be_bytes()), [v16 as f64 / 32768.0]);
        }

        #[test]
        fn s24_top_byte_ignored_and_sign_extended(v in -0x80_0000i32..0x80_0000, top in any::<u8>()) {
            let mut le = v.to_le_bytes();
            le[3] = top;
            let decoded = dec(S24Le, &le);
            prop_assert_eq!(&decoded, &[v as f64 / 8388608.0]);
            prop_assert_eq!(enc(S24Le, &decoded), v.to_le_bytes());
            let mut be = v.to_be_bytes();
            be[0] = top;
            prop_assert_eq!(enc(S24Be, &dec(S24Be, &be)), v.to_be_bytes());
        }

        #[test]
        fn float_round_trips_in_range(v in -1.0f32..=1.0) {
            let bytes = v.to_le_bytes();
            let decoded = dec(FloatLe, &bytes);
            prop_assert_eq!(decoded[0].to_bits(), f64::from(v).to_bits());
            prop_assert_eq!(enc(FloatLe, &decoded), bytes);
        }

        #[test]
        fn float_decode_exact_and_nan_is_zero(bits in any::<u32>()) {
            let v = f32::from_bits(bits);
            let decoded = dec(FloatLe, &bits.to_le_bytes())[0];
            if v.is_nan() {
                prop_assert_eq!(decoded.to_bits(), 0.0f64.to_bits());
            } else {
                prop_assert_eq!(decoded.to_bits(), f64::from(v).to_bits());
            }
            // Encoding any decoded value stays within [-1, 1].
            let back = f32::from_le_bytes(enc(FloatLe, &[decoded]).try_into().unwrap());
            prop_assert!((-1.0..=1.0).contains(&back));
        }

        #[test]
        fn quantize_is_clamped_round_ties_even(
            x in any::<f64>(),
            y in -3e9f64..3e9,
            half_steps in any::<i64>(),
        ) {
            for bits in [8, 16, 24, 32] {
                let full = (1u64 << (bits - 1)) as f64;
                let reference = |x: f64| {
                    if x.is_nan() {
                        0
                    } else {
                        (x * full).round_ties_even().clamp(-full, full - 1.0) as i32
                    }
                };
                // Anything, values near the format's range, and exact ties.
                let tie = (half_steps >> 30) as f64 / 2.0;
                for x in [x, y / full, tie / full] {
                    prop_assert_eq!(quantize(x, bits), reference(x), "{} bits, x = {}", bits, x);
                }
            }
        }

        #[test]
        fn s32_to_s16_matches_integer_rounding(v in any::<i32>()) {
            // Reference: v / 65536 rounded half to even, in integers, clipped to i16.
            let (q, r) = (v.div_euclid(65536), v.rem_euclid(65536));
            let rounded = if r > 32768 || (r == 32768 && q % 2 != 0) { q + 1 } else { q };
            let want = rounded.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
            prop_assert_eq!(enc(S16Be, &dec(S32Le, &v.to_le_bytes())), want.to_be_bytes());
        }

        #[test]
        fn never_panics_and_counts_whole_samples(
            bytes in proptest::collection::vec(any::<u8>(), 0..40),
            floats in proptest::collection::vec(any::<f64>(), 0..12),
        ) {
            for fmt in SampleFormat::ALL {
                let bps = fmt.bytes_per_sample();
                let mut out = vec![0.0; floats.len()];
                prop_assert_eq!(decode(fmt, &bytes, &mut out), (bytes.len() / bps).min(out.len()));
                prop_assert!(out.iter().all(|x| !x.is_nan()));
                let mut buf = bytes.clone();
                let n = encode(fmt, &floats, &mut buf);
                prop_assert_eq!(n, floats.len().min(bytes.len() / bps));
                prop_assert_eq!(&buf[n * bps..], &bytes[n * bps..]);
            }
        }
    }
}
