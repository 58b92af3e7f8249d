//! The default (`fast`) resampler: 4-point cubic (Lagrange) interpolation in
//! integer arithmetic, on the voice's own channels.
//!
//! Why not rubato here: rubato works in floating point and through a generic
//! adapter per call, and this is the hot loop of every resampled stream. In
//! fixed point it is a handful of integer multiplies per sample, cheap on
//! every CPU and on emulated ones too (where each float operation is a call).
//! The `high` quality stays rubato's windowed sinc.
//!
//! Positions are Q32 frames, coefficients Q28, samples the mixer's fixed
//! point (full scale 2^31). The interpolator is symmetric, so it adds no
//! delay: output frame `j` is input position `j · from / to` exactly (to
//! 2^-32 frame per output frame). It needs two input frames ahead of each
//! output and one behind; the window keeps those between periods.

/// Fractional bits of a position.
const POS_BITS: u32 = 32;
/// Fractional bits of a coefficient.
const Q: u32 = 28;
const ONE: i64 = 1 << Q;

#[derive(Debug)]
pub struct Cubic {
    channels: usize,
    /// Input frames, interleaved; frame 0 is the one before the first
    /// output's position.
    win: Vec<i32>,
    /// Frames of `win` filled.
    have: usize,
    /// Position of the next output frame in `win`, Q32 frames.
    pos: u64,
    /// Input frames per output frame, Q32.
    step: u64,
    /// Input frames one call may ask for, at most.
    max_in: usize,
}

impl Cubic {
    /// From `from` Hz to `to` Hz, `period` output frames per call.
    pub fn new(from: u32, to: u32, channels: usize, period: usize) -> Cubic {
        let step = (u64::from(from) << POS_BITS) / u64::from(to.max(1));
        // After a call the window keeps the frame before the next position
        // (or, when the position ran past everything loaded, nothing), so a
        // call needs at most the period's span, one step and the 4 taps.
        let span = (period as u64 * step) >> POS_BITS;
        let max_in = span as usize + (step >> POS_BITS) as usize + 6;
        let mut c = Cubic {
            channels,
            win: vec![0; (max_in + 4) * channels],
            have: 0,
            pos: 0,
            step,
            max_in,
        };
        c.reset();
        c
    }

    /// Back to the start: silence before the first input frame.
    pub fn reset(&mut self) {
        self.win[..self.channels].fill(0);
        self.have = 1;
        self.pos = 1 << POS_BITS;
    }

    pub fn max_input_frames(&self) -> usize {
        self.max_in
    }

    /// Input frames the next `frames` output frames need loaded.
    pub fn input_frames_next(&self, frames: usize) -> usize {
        let last = (self.pos + (frames.max(1) as u64 - 1) * self.step) >> POS_BITS;
        (last as usize + 3)
            .saturating_sub(self.have)
            .min(self.max_in)
    }

    /// The window's next `n` input frames (interleaved), for the caller to
    /// fill; they count as loaded.
    pub fn input(&mut self, n: usize) -> &mut [i32] {
        let from = self.have * self.channels;
        let to = (from + n * self.channels).min(self.win.len());
        self.have = to / self.channels;
        &mut self.win[from..to]
    }

    /// Writes `out.len() / channels` output frames, then drops the input
    /// frames no later output needs.
    pub fn process(&mut self, out: &mut [i64]) {
        let ch = self.channels;
        for frame in out.chunks_exact_mut(ch) {
            let i = (self.pos >> POS_BITS) as usize;
            if i + 2 < self.have {
                let t = ((self.pos & ((1 << POS_BITS) - 1)) >> (POS_BITS - Q)) as i64;
                // The cubic through the frames at -1, 0, 1, 2, at t: the
                // Lagrange weights. (Catmull-Rom, the other common 4-point
                // cubic, only fits a parabola exactly; this fits a cubic,
                // which puts its error on a 1 kHz tone 20 dB lower.)
                let (a, c, d) = (t + ONE, t - ONE, t - 2 * ONE);
                let cd = (c * d) >> Q;
                let c0 = -(((t * cd) >> Q) / 6);
                let c1 = ((a * cd) >> Q) / 2;
                let c2 = -(((((a * t) >> Q) * d) >> Q) / 2);
                // The four always sum to exactly one: DC stays DC.
                let c3 = ONE - c0 - c1 - c2;
                let taps = &self.win[(i - 1) * ch..(i + 3) * ch];
                for (c, y) in frame.iter_mut().enumerate() {
                    let x = |k: usize| i64::from(taps[k * ch + c]);
                    *y = (c0 * x(0) + c1 * x(1) + c2 * x(2) + c3 * x(3) + (ONE >> 1)) >> Q;
                }
            } else {
                // Not loaded (cannot happen when the caller loaded what
                // input_frames_next asked): silence rather than a panic.
                frame.fill(0);
            }
            self.pos += self.step;
        }
        let drop = ((self.pos >> POS_BITS) as usize - 1).min(self.have);
        self.win.copy_within(drop * ch..self.have * ch, 0);
        self.have -= drop;
        self.pos -= (drop as u64) << POS_BITS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs `input` through in calls of `period` frames, padding with
    /// silence once it runs out; returns `calls * period` output frames.
    fn run(c: &mut Cubic, input: &[i32], period: usize, calls: usize) -> Vec<i64> {
        let ch = c.channels;
        let mut fed = 0;
        let mut out = vec![0i64; period * ch];
        let mut all = Vec::new();
        for _ in 0..calls {
            let need = c.input_frames_next(period);
            assert!(need <= c.max_input_frames());
            let buf = c.input(need);
            for (k, x) in buf.iter_mut().enumerate() {
                *x = input.get(fed * ch + k).copied().unwrap_or(0);
            }
            fed += need;
            c.process(&mut out);
            all.extend_from_slice(&out);
        }
        all
    }

    #[test]
    fn whole_positions_pass_input_through_exactly() {
        // 24 kHz -> 48 kHz: every other output frame sits on an input frame.
        let mut c = Cubic::new(24000, 48000, 1, 16);
        let input: Vec<i32> = (0..64).map(|i| (i * 1_000_003) % 2_000_000_000).collect();
        let out = run(&mut c, &input, 16, 4);
        for (k, &x) in input.iter().take(32).enumerate() {
            assert_eq!(out[2 * k], x as i64, "frame {k}");
        }
    }

    #[test]
    fn dc_stays_dc_and_channels_stay_apart() {
        let mut c = Cubic::new(44100, 48000, 2, 64);
        let input: Vec<i32> = (0..2000).flat_map(|_| [1 << 30, -(1 << 29)]).collect();
        let out = run(&mut c, &input, 64, 20);
        // After the first frame (which starts from silence) it is exact.
        for f in out.chunks_exact(2).skip(2).take(1000) {
            assert_eq!(f, [1 << 30, -(1 << 29)]);
        }
    }

    #[test]
    fn a_tone_keeps_its_pitch_and_length() {
        // 1 s of a 1 kHz tone at 44.1 kHz becomes 48000 frames at 48 kHz:
        // count its rising zero crossings.
        let input: Vec<i32> = (0..44100)
            .map(|i| {
                ((i as f64 * 2.0 * std::f64::consts::PI * 1000.0 / 44100.0).sin() * 1e9) as i32
            })
            .collect();
        let mut c = Cubic::new(44100, 48000, 1, 256);
        let out = run(&mut c, &input, 256, 48000 / 256 + 2);
        let crossings = out[..48000]
            .windows(2)
            .filter(|w| w[0] < 0 && w[1] >= 0)
            .count();
        assert!((999..=1000).contains(&crossings), "{crossings}");
        // The tone ends where 44100 input frames end: frame 48000.
        assert!(out[47990..47995].iter().any(|&x| x.abs() > 1_000_000));
        assert!(out[48003..].iter().all(|&x| x == 0));
    }

    proptest! {
        #[test]
        fn never_asks_for_more_than_it_said_and_never_reads_unloaded(
            from in 1000u32..192_000, to in 1000u32..192_000, period in 1usize..600, ch in 1usize..3,
        ) {
            let mut c = Cubic::new(from, to, ch, period);
            let mut out = vec![0i64; period * ch];
            let mut fed = 0u64;
            for call in 0..6u64 {
                let need = c.input_frames_next(period);
                prop_assert!(need <= c.max_input_frames());
                c.input(need).fill(1 << 20);
                fed += need as u64;
                c.process(&mut out);
                // Positions stay in step with the ratio: the input consumed
                // never runs ahead of what the outputs span.
                let spanned = (call + 1) * period as u64 * from as u64 / to as u64;
                prop_assert!(fed <= spanned + 4 + (from / to) as u64, "{fed} > {spanned}");
                // Everything loaded is the same value: once past the silence
                // before the first frame, every output is exactly it.
                for (k, f) in out.chunks_exact(ch).enumerate() {
                    let j = call * period as u64 + k as u64;
                    if j * from as u64 > (to + from) as u64 {
                        prop_assert!(f.iter().all(|&y| y == 1 << 20), "frame {j}: {f:?}");
                    }
                }
            }
        }
    }
}
