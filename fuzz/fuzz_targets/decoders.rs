//! libFuzzer target: `Request::parse`, the /dev/dsp and /dev/mixer ioctl
//! decoders and the `soundcard.rs` struct decoders, with the invariants of
//! `tests/support/decoder_fuzz.rs` (shared with the seeded mutator).
//!
//! An input is one byte choosing the file (its streams, the device, whether
//! it records) and then one or more CUSE requests back to back, each as long
//! as its header's `len` says (the last one takes what is left), so that
//! libFuzzer can find ioctl sequences too.
//!
//! ```sh
//! cargo +nightly install cargo-fuzz      # once
//! cargo run --release --example fuzz_decoders -- --write-corpus fuzz/corpus/decoders
//! cd fuzz && cargo +nightly fuzz run decoders -- -max_total_time=300
//! ```
#![no_main]

#[path = "../../tests/support/decoder_fuzz.rs"]
#[allow(dead_code)]
mod decoder_fuzz;

use decoder_fuzz::{one_input, Rng, Stats, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let mut target = Target::new(&mut Rng::new(sel as u64));
    let mut stats = Stats::default();
    while !rest.is_empty() {
        let said = rest
            .get(..4)
            .map(|b| u32::from_ne_bytes(b.try_into().unwrap()) as usize)
            .unwrap_or(0);
        let n = if (ossd::cuse::abi::IN_HEADER_SIZE..=rest.len()).contains(&said) {
            said
        } else {
            rest.len()
        };
        let (req, tail) = rest.split_at(n);
        if let Err(e) = one_input(req, &mut target, &mut stats) {
            panic!("{e}");
        }
        rest = tail;
    }
});
