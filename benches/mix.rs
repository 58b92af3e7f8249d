//! Cost of `Mixer::mix_period()`: 1, 8, 64 and 256 voices of S16_LE stereo
//! into an S16_LE stereo 48 kHz device with 256-frame periods, at the
//! device's rate and at 44.1 kHz (resampled, fast and high quality), with a
//! plain `copy_from_slice` of the same bytes as the floor.
//!
//! Only `mix_period` is timed: every voice's ring holds `BATCH + 1` periods
//! and is topped up to the brim, untimed, before each run of `BATCH` mixes
//! (`iter_custom`), so no voice ever runs dry. One iteration is one period
//! (256 frames, 5.33 ms of audio).

#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

use support::{CopyCase, MixCase, Path, PERIOD, VOICES};

fn mix(c: &mut Criterion) {
    for path in Path::ALL {
        let mut g = c.benchmark_group(format!("mix_period/{}", path.slug()));
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for n in VOICES {
            // Built on first use, so a filtered-out benchmark costs nothing.
            let mut case = None;
            // Throughput in device frames mixed per voice: elements/s = voice-frames/s.
            g.throughput(Throughput::Elements(n as u64 * PERIOD as u64));
            g.bench_function(BenchmarkId::from_parameter(n), |b| {
                let case = case.get_or_insert_with(|| MixCase::new(n, path));
                b.iter_custom(|iters| case.mix(iters))
            });
        }
        g.finish();
    }

    let mut g = c.benchmark_group("mix_period/copy_floor");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for n in VOICES {
        let bytes = MixCase::new(1, Path::SameRate).bytes_per_period_per_voice();
        let mut case = CopyCase::new(n, bytes);
        g.throughput(Throughput::Bytes((n * bytes) as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| case.copy_period())
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Plots cost more CPU than the measurements on a small machine; the
    // estimates are still written under target/criterion.
    config = Criterion::default().without_plots();
    targets = mix
}
criterion_main!(benches);
