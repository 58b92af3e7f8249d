//! Decode (client bytes -> samples) and encode (samples -> device bytes)
//! throughput of every sample format, to and from the playback mixer's fixed
//! point and to and from f64, on a 4096-sample buffer of a -6 dBFS sine with
//! a little noise (so no format sees only trivial values).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use ossd::pcm::format::{self, SampleFormat};

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
    let wide: Vec<i64> = x
        .iter()
        .map(|v| (v * format::FIXED_ONE as f64) as i64)
        .collect();
    for dir in ["decode_fixed", "encode_fixed", "decode", "encode"] {
        let mut g = c.benchmark_group(format!("format/{dir}"));
        g.sample_size(20)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_millis(600))
            .throughput(Throughput::Elements(SAMPLES as u64));
        for fmt in SampleFormat::ALL {
            let mut bytes = vec![0u8; SAMPLES * fmt.bytes_per_sample()];
            format::encode(fmt, &x, &mut bytes);
            let mut floats = vec![0.0f64; SAMPLES];
            let mut fixed = vec![0i32; SAMPLES];
            g.bench_function(BenchmarkId::from_parameter(fmt.name()), |b| match dir {
                "decode_fixed" => {
                    b.iter(|| format::decode_fixed(fmt, black_box(&bytes), black_box(&mut fixed)))
                }
                "encode_fixed" => {
                    b.iter(|| format::encode_fixed(fmt, black_box(&wide), black_box(&mut bytes)))
                }
                "decode" => {
                    b.iter(|| format::decode(fmt, black_box(&bytes), black_box(&mut floats)))
                }
                _ => b.iter(|| format::encode(fmt, black_box(&x), black_box(&mut bytes))),
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
