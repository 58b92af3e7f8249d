//! Fuzzing the decoders (issue 10, part 5): `Request::parse`, the ioctl
//! decoders of /dev/dsp and /dev/mixer, and the `soundcard.rs` struct
//! decoders, on mutated real requests. The fuzzer itself is
//! `tests/support/decoder_fuzz.rs`, shared with the long run.
//!
//! - Quick run (part of `cargo test`): `cargo test --test fuzz_decoders`
//!   runs 200,000 inputs from a fixed seed. `OSSD_FUZZ_SEED=<u64>` picks
//!   another seed (a failure prints the one to use) and
//!   `OSSD_FUZZ_INPUTS=<n>` another count.
//! - Long run (release build):
//!   `cargo run --release --example fuzz_decoders -- 100000000 [threads]`
//!   prints `inputs=N seconds=S rate=R/s`; it too honours `OSSD_FUZZ_SEED`.
//!
//! - Coverage-guided (nightly and cargo-fuzz; libFuzzer builds here):
//!   ```sh
//!   cargo +nightly install cargo-fuzz
//!   cargo run --release --example fuzz_decoders -- --write-corpus fuzz/corpus/decoders
//!   cd fuzz && cargo +nightly fuzz run decoders corpus/decoders -- -max_total_time=300
//!   ```
//!   The target (`fuzz/fuzz_targets/decoders.rs`) runs the same checks.
//!
//! A failure prints the seed, the input's index and bytes in hex, and the
//! ioctls the file had been through since it was made (its state).

#[path = "support/decoder_fuzz.rs"]
mod decoder_fuzz;

use decoder_fuzz::*;
use ossd::cuse::wire::{Op, Request};

const DEFAULT_SEED: u64 = 0x0055_D0F0_2210;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

#[test]
fn mutated_requests_never_break_a_decoder() {
    let seed = env_u64("OSSD_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let n = env_u64("OSSD_FUZZ_INPUTS").unwrap_or(200_000);
    let mut f = Fuzzer::new(seed);
    let t = std::time::Instant::now();
    if let Err(failure) = f.run(n) {
        panic!("{failure}");
    }
    let s = f.stats;
    eprintln!(
        "seed={seed} inputs={} parsed={} ioctls={} parse_errors={} seconds={:.2}",
        s.inputs,
        s.parsed,
        s.ioctls,
        s.parse_errors,
        t.elapsed().as_secs_f64()
    );
    // The mutator must reach past the framing, or the run proves little.
    assert!(s.parsed * 5 > s.inputs, "{s:?}");
    assert!(s.ioctls * 10 > s.inputs, "{s:?}");
}

#[test]
fn the_seed_corpus_is_what_the_kernel_sends() {
    let corpus = seed_corpus();
    let mut ioctls = 0;
    for (i, req) in corpus.iter().enumerate() {
        let parsed = Request::parse(req).unwrap_or_else(|e| panic!("seed {i}: {e}"));
        if let Op::Ioctl {
            cmd,
            input,
            out_size,
            ..
        } = parsed.op
        {
            ioctls += 1;
            assert_eq!(input.len(), restricted_in_size(cmd));
            assert_eq!(out_size as usize, restricted_out_size(cmd));
        }
    }
    assert!(
        ioctls >= ioctl_numbers().len(),
        "every ioctl number is seeded"
    );
}

#[test]
fn every_ioctl_number_on_every_kind_of_file_keeps_the_invariants() {
    let mut rng = Rng::new(1);
    for shape in [Shape::Play, Shape::Rec, Shape::Duplex, Shape::Neither] {
        for has_capture in [false, true] {
            let dev = Target::new(&mut rng).dev;
            let mut t = Target::with(shape, dev, has_capture);
            for cmd in ioctl_numbers() {
                for input in [
                    vec![0u8; restricted_in_size(cmd)],
                    vec![0xffu8; restricted_in_size(cmd)],
                    vec![],
                    vec![0x7f; 3],
                ] {
                    if let Err(e) = t.ioctl(cmd, &input, false) {
                        panic!("{shape:?} capture={has_capture}: {e}");
                    }
                }
            }
        }
    }
}

#[test]
fn the_checks_catch_what_they_check() {
    use ossd::oss::dsp::Outcome;
    use ossd::oss::soundcard::{SNDCTL_DSP_SETTRIGGER, SNDCTL_DSP_SPEED};
    let reply = |n: usize| Outcome::Reply {
        result: 0,
        out: vec![0; n],
    };
    let speed = restricted_out_size(SNDCTL_DSP_SPEED);
    assert_eq!(speed, 4);
    assert!(check_outcome("t", SNDCTL_DSP_SPEED, speed, &reply(4)).is_ok());
    assert!(check_outcome("t", SNDCTL_DSP_SPEED, speed, &reply(5)).is_err());
    // SETTRIGGER is _IOW: restricted CUSE takes nothing back.
    let trig = restricted_out_size(SNDCTL_DSP_SETTRIGGER);
    assert_eq!(trig, 0);
    assert!(check_outcome("t", SNDCTL_DSP_SETTRIGGER, trig, &reply(4)).is_err());
    assert!(check_outcome("t", 0, 0, &Outcome::Error(0)).is_err());
    assert!(check_outcome("t", 0, 0, &Outcome::Error(512)).is_err());
    assert!(check_outcome("t", 0, 0, &Outcome::Error(libc::EINVAL)).is_ok());
}
