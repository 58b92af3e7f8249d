//! The conversion toolkit the playback and recording streams share: how a
//! stream's channels land on another channel count (`ChannelMap`) and the
//! loop that maps, scales and adds them (`mix_into`), gains in Q24
//! (`gain_q24`, `apply`), and the resampler a [`Quality`] chooses
//! (`resampler`).
//!
//! Pure functions and plain data: the playback chain ([`super::pipeline`])
//! and the recording one ([`super::record`]) build on it, and it knows
//! neither.

use std::iter::Sum;
use std::ops::AddAssign;

use rubato::{Async, FixedAsync, PolynomialDegree};

/// Fractional bits of a gain or matrix coefficient.
const GAIN_BITS: u32 = 24;
/// Gain 1.0.
pub(super) const UNITY: i64 = 1 << GAIN_BITS;

/// A linear gain in [0, 1] as Q24 (NaN counts as 0).
pub(super) fn gain_q24(g: f64) -> i64 {
    (g.clamp(0.0, 1.0) * UNITY as f64 + 0.5) as i64
}

/// `x · g` for a Q24 gain, rounded.
#[inline(always)]
pub(super) fn apply(x: i64, g: i64) -> i64 {
    (x * g + (UNITY >> 1)) >> GAIN_BITS
}

/// How a stream's channels land on another count: a voice's on the
/// device's, or the device's on a reader's.
#[derive(Debug, Clone)]
pub(super) enum ChannelMap {
    /// Same count: channel i to channel i.
    Identity,
    /// One client channel to every device channel.
    MonoToAll,
    /// A dense `out × in` gain matrix, row-major.
    Matrix(Vec<f64>),
}

impl ChannelMap {
    /// The gain matrix (`out × in`, row-major) of a matrix map; empty otherwise.
    pub(super) fn matrix(&self) -> &[f64] {
        match self {
            ChannelMap::Matrix(m) => m,
            _ => &[],
        }
    }

    /// Standard down/up-mix coefficients for the OSS channel order
    /// (L, R, C, LFE, Ls, Rs, Lr, Rr: CHNORDER_NORMAL).
    pub(super) fn new(inp: usize, out: usize) -> ChannelMap {
        if inp == out {
            return ChannelMap::Identity;
        }
        if inp == 1 {
            return ChannelMap::MonoToAll;
        }
        const C: f64 = std::f64::consts::FRAC_1_SQRT_2;
        let mut m = vec![0.0; out * inp];
        if out == 1 {
            // Average of the front pair plus centre and surrounds at -3 dB.
            for (i, g) in m.iter_mut().enumerate() {
                *g = match i {
                    0 | 1 => 0.5,
                    3 => 0.0, // LFE is dropped in a downmix
                    _ => 0.5 * C,
                };
            }
        } else if out == 2 {
            // ITU-R BS.775 style stereo downmix.
            for i in 0..inp {
                let (l, r) = match i {
                    0 => (1.0, 0.0),
                    1 => (0.0, 1.0),
                    2 => (C, C),
                    3 => (0.0, 0.0),
                    i if i % 2 == 0 => (C, 0.0),
                    _ => (0.0, C),
                };
                m[i] = l;
                m[inp + i] = r;
            }
            // Keep a full-scale input from clipping: normalise each row.
            for row in m.chunks_mut(inp) {
                let sum: f64 = row.iter().sum();
                if sum > 1.0 {
                    row.iter_mut().for_each(|g| *g /= sum);
                }
            }
        } else {
            // Other counts: shared channels straight across, the rest dropped
            // (fewer outputs) or left silent (more outputs).
            for i in 0..inp.min(out) {
                m[i * inp + i] = 1.0;
            }
        }
        ChannelMap::Matrix(m)
    }
}

/// A rubato resampler from `from` Hz to `to` Hz on `channels` channels,
/// with `chunk` frames fixed on the `fixed` side: every recording stream,
/// and playback streams with the `high` quality.
pub(super) fn resampler(
    from: u32,
    to: u32,
    quality: Quality,
    chunk: usize,
    channels: usize,
    fixed: FixedAsync,
) -> Async<f64> {
    let ratio = to as f64 / from as f64;
    match quality {
        Quality::Fast => {
            Async::<f64>::new_poly(ratio, 1.0, PolynomialDegree::Cubic, chunk, channels, fixed)
        }
        Quality::High => {
            let params = rubato::SincInterpolationParameters {
                // Linear interpolation between the rows of a table oversampled
                // 256 times reads 2 rows per output frame instead of cubic's 4:
                // about half the cost, and its error (the table is fine enough)
                // stays far below 24-bit resolution (benches/figures, part c).
                sinc_len: 128,
                f_cutoff: Some(0.925),
                oversampling_factor: 256,
                interpolation: rubato::SincInterpolationType::Linear,
                window: rubato::WindowFunction::BlackmanHarris2,
            };
            Async::<f64>::new_sinc(ratio, 1.0, &params, chunk, channels, fixed)
        }
    }
    .expect("valid resampler parameters: rates and channels are clamped by the OSS layer")
}

/// Resampler quality, chosen per daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quality {
    /// Cubic interpolation: cheap, little or no delay. Playback uses our fixed-point
    /// cubic (`cubic.rs`), recording rubato's.
    #[default]
    Fast,
    /// Band-limited sinc interpolation (rubato): clean, a little more delay
    /// and CPU.
    High,
}

/// acc[f][o] += Σ_i matrix[o][i] · src[f][i] · gain[o], for `frames` frames,
/// in any arithmetic: `scale(x, g)` is x · g. `matrix` holds `map`'s matrix
/// in the gains' representation (it is read only for a matrix map).
/// Playback mixes in fixed point (`pipeline`), recording in `f64`.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(super) fn mix_into<S, A, G>(
    acc: &mut [A],
    src: &[S],
    frames: usize,
    in_ch: usize,
    out_ch: usize,
    map: &ChannelMap,
    matrix: &[G],
    gains: &[G],
    scale: impl Fn(A, G) -> A,
) where
    S: Copy + Into<A>,
    A: Copy + AddAssign + Sum<A>,
    G: Copy,
{
    let acc = &mut acc[..frames * out_ch];
    let src = &src[..frames * in_ch];
    match map {
        ChannelMap::Identity if out_ch == 2 => {
            let (gl, gr) = (gains[0], gains[1]);
            for (a, s) in acc.chunks_exact_mut(2).zip(src.chunks_exact(2)) {
                a[0] += scale(s[0].into(), gl);
                a[1] += scale(s[1].into(), gr);
            }
        }
        ChannelMap::Identity => {
            for (a, s) in acc.chunks_exact_mut(out_ch).zip(src.chunks_exact(in_ch)) {
                for ((x, &v), &g) in a.iter_mut().zip(s).zip(gains) {
                    *x += scale(v.into(), g);
                }
            }
        }
        ChannelMap::MonoToAll => {
            for (a, &s) in acc.chunks_exact_mut(out_ch).zip(src) {
                for (x, &g) in a.iter_mut().zip(gains) {
                    *x += scale(s.into(), g);
                }
            }
        }
        ChannelMap::Matrix(_) => {
            for (a, s) in acc.chunks_exact_mut(out_ch).zip(src.chunks_exact(in_ch)) {
                for (o, x) in a.iter_mut().enumerate() {
                    let row = &matrix[o * in_ch..(o + 1) * in_ch];
                    let v: A = row.iter().zip(s).map(|(&m, &v)| scale(v.into(), m)).sum();
                    *x += scale(v, gains[o]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gains_are_q24_and_unity_is_exact() {
        assert_eq!(gain_q24(1.0), UNITY);
        assert_eq!(gain_q24(0.0), 0);
        assert_eq!(gain_q24(f64::NAN), 0);
        assert_eq!(gain_q24(7.0), UNITY);
        for x in [i32::MIN as i64, -1, 0, 1, i32::MAX as i64, 5 << 32] {
            assert_eq!(apply(x, UNITY), x);
        }
        assert_eq!(apply(1 << 31, gain_q24(0.5)), 1 << 30);
    }

    #[test]
    fn a_six_channel_stream_folds_down_without_clipping() {
        let m = ChannelMap::new(6, 2);
        let qmap: Vec<i64> = m.matrix().iter().map(|&g| gain_q24(g)).collect();
        assert_eq!(qmap.len(), 12);
        let full = [i32::MAX; 6];
        let mut acc = [0i64; 2];
        mix_into(&mut acc, &full, 1, 6, 2, &m, &qmap, &[UNITY, UNITY], apply);
        // Each row sums to one (to Q24 rounding): full scale in, full scale out.
        for a in acc {
            assert!(a.abs_diff(i32::MAX as i64) < 1 << 8, "{a}");
        }
    }
}
