//! Decode (client bytes -> f64) and encode (f64 -> device bytes) throughput
//! of every sample format, on a 4096-sample buffer of a -6 dBFS sine with a
//! little noise (so no format sees only trivial values).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use ossd::oss::format::{self, SampleFormat};

const SAMPLES: usize = 4096;

/// The signal in the mixer's own representation.
pub fn signal() -> Vec<f64> {
    let mut seed = 0x2545_f491u32;
    (0..SAMPLES)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed as f64 / u32::MAX as f64 - 0.5) * 1e-3;
            0.5 * (i as f64 * 0.0618).sin() + noise
        })
        .collect()
}

fn convert(c: &mut Criterion) {
    let x = signal();
    for (dir, encode) in [("decode", false), ("encode", true)] {
        let mut g = c.benchmark_group(format!("format/{dir}"));
        g.sample_size(20)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(600))
            .throughput(Throughput::Elements(SAMPLES as u64));
        for fmt in SampleFormat::ALL {
            let mut bytes = vec![0u8; SAMPLES * fmt.bytes_per_sample()];
            format::encode(fmt, &x, &mut bytes);
            let mut floats = vec![0.0f64; SAMPLES];
            g.bench_function(BenchmarkId::from_parameter(fmt.name()), |b| {
                if encode {
                    b.iter(|| format::encode(fmt, black_box(&x), black_box(&mut bytes)))
                } else {
                    b.iter(|| format::decode(fmt, black_box(&bytes), black_box(&mut floats)))
                }
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    // Plots cost more CPU than the measurements on a small machine; the
    // estimates are still written under target/criterion.
    config = Criterion::default().without_plots();
    targets = convert
}
criterion_main!(benches);
