//! The long run of the decoder fuzzer (issue 10, part 5); the quick run and
//! the fuzzer are in `tests/fuzz_decoders.rs` and
//! `tests/support/decoder_fuzz.rs`.
//!
//! `cargo run --release --example fuzz_decoders -- [inputs] [threads]`
//! (default 100,000,000 inputs on one thread). Thread `i` fuzzes with seed
//! `OSSD_FUZZ_SEED + i` (default seed: the time). Prints progress every
//! 10 million inputs and ends with `inputs=N seconds=S rate=R/s`; on a
//! failure it prints the seed, the input in hex and the file's ioctl
//! history, and exits 1.
//!
//! `... --example fuzz_decoders -- --write-corpus DIR` instead writes the seed
//! corpus for the cargo-fuzz target (`fuzz/`): one file per seed request,
//! prefixed with the byte that picks the fuzzed file's streams and device.

#[path = "../tests/support/decoder_fuzz.rs"]
mod decoder_fuzz;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use decoder_fuzz::*;

const CHUNK: u64 = 1 << 16;

fn write_corpus(dir: &str) {
    std::fs::create_dir_all(dir).expect("corpus directory");
    let corpus = seed_corpus();
    for (i, req) in corpus.iter().enumerate() {
        let mut bytes = vec![i as u8];
        bytes.extend_from_slice(req);
        std::fs::write(format!("{dir}/seed-{i:03}"), bytes).expect("corpus file");
    }
    println!("wrote {} seeds to {dir}", corpus.len());
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--write-corpus") {
        let dir = args.nth(1).expect("--write-corpus DIR");
        return write_corpus(&dir);
    }
    let total: u64 = args
        .next()
        .map(|a| a.replace('_', "").parse().expect("inputs: a number"))
        .unwrap_or(100_000_000);
    let threads: u64 = args
        .next()
        .map(|a| a.parse().expect("threads: a number"))
        .unwrap_or(1)
        .max(1);
    let seed: u64 = std::env::var("OSSD_FUZZ_SEED")
        .ok()
        .map(|s| s.trim().parse().expect("OSSD_FUZZ_SEED: a u64"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    // The panics caught are reported with their input; keep the default
    // hook's message too (it names the file and line).
    eprintln!("fuzz_decoders: inputs={total} threads={threads} seed={seed} (thread i: seed+i)");
    let done = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let start = Instant::now();
    let results: Vec<(Stats, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (done, failed) = (&done, &failed);
                let share = total / threads + u64::from(i < total % threads);
                s.spawn(move || {
                    let mut f = Fuzzer::new(seed.wrapping_add(i));
                    let mut left = share;
                    while left > 0 && !failed.load(Ordering::Relaxed) {
                        let n = left.min(CHUNK);
                        if let Err(e) = f.run(n) {
                            failed.store(true, Ordering::Relaxed);
                            return (f.stats, Some(e.to_string()));
                        }
                        left -= n;
                        let before = done.fetch_add(n, Ordering::Relaxed);
                        if (before + n) / 10_000_000 != before / 10_000_000 {
                            let secs = start.elapsed().as_secs_f64();
                            eprintln!(
                                "  {} inputs, {secs:.1} s, {:.0}/s",
                                before + n,
                                (before + n) as f64 / secs
                            );
                        }
                    }
                    (f.stats, None)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("fuzz thread"))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut sum = Stats::default();
    let mut failures = Vec::new();
    for (st, fail) in results {
        sum.inputs += st.inputs;
        sum.parsed += st.parsed;
        sum.ioctls += st.ioctls;
        sum.parse_errors += st.parse_errors;
        failures.extend(fail);
    }
    println!(
        "inputs={} seconds={secs:.1} rate={:.0}/s parsed={} ioctls={} parse_errors={} seed={seed} threads={threads}",
        sum.inputs,
        sum.inputs as f64 / secs,
        sum.parsed,
        sum.ioctls,
        sum.parse_errors
    );
    for f in &failures {
        println!("{f}");
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
}
