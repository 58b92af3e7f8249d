//! The figures the README quotes, measured side by side in one process so
//! their ratios mean something: mixer cost, format conversion, the
//! resampler's delay and distortion, CUSE request throughput and latency over
//! the fake kernel, and memory per client. Prints one table and writes the
//! same numbers as JSON to `target/figures.json`.
//!
//! `cargo bench --bench figures` runs it for real (about 30 s). Without
//! `--bench` (e.g. `cargo test --benches`) it runs every part once with tiny
//! counts (and only 1 and 8 streams), as a smoke test, and writes no JSON.
//! No figure is asserted on.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/lean.rs"]
mod lean;
#[path = "support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use ossd::mix::{Bus, Mixer, Quality, Voice};
use ossd::oss::soundcard::AFMT_S16_LE;
use ossd::oss::soundcard::{
    SNDCTL_DSP_CHANNELS, SNDCTL_DSP_GETOSPACE, SNDCTL_DSP_SETFMT, SNDCTL_DSP_SETFRAGMENT,
    SNDCTL_DSP_SPEED,
};
use ossd::pcm::format::{self, SampleFormat};
use ossd::pcm::PcmFormat;

use lean::Lean;
use support::{CopyCase, MixCase, Path, DEV_RATE, PERIOD, VOICES};

const WRONLY: i32 = libc::O_WRONLY;
const NONBLOCK: i32 = libc::O_WRONLY | libc::O_NONBLOCK;

/// How hard to try: the real run, or a smoke test.
#[derive(Clone, Copy)]
struct Effort {
    /// Runs per timing figure (the median is reported).
    runs: usize,
    /// Length of one run of a CPU-bound figure.
    run: Duration,
    /// Write→reply→mixed trials for the latency figure.
    latency_trials: usize,
    /// Length of one run of a throughput figure.
    io_run: Duration,
    clients: usize,
    /// Stream counts of the mixer figures.
    voices: &'static [usize],
    /// Golden-section steps of the THD+N fit's frequency search.
    fit_steps: usize,
}

const REAL: Effort = Effort {
    runs: 7,
    run: Duration::from_millis(30),
    latency_trials: 600,
    io_run: Duration::from_millis(250),
    clients: 64,
    voices: &VOICES,
    fit_steps: 60,
};

const SMOKE: Effort = Effort {
    runs: 1,
    run: Duration::from_millis(1),
    latency_trials: 10,
    io_run: Duration::from_millis(5),
    clients: 4,
    voices: &[1, 8],
    fit_steps: 8,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rss-child") {
        let arg = |k: usize| args.get(i + k).map(String::as_str).unwrap_or("");
        match arg(1) {
            "daemon" => rss_daemon_child(arg(2).parse().unwrap_or(REAL.clients)),
            _ => {
                let q = if arg(2) == "high" {
                    Quality::High
                } else {
                    Quality::Fast
                };
                rss_voice_child(q, arg(3).parse().unwrap_or(REAL.clients));
            }
        }
        return;
    }
    let real = args.iter().any(|a| a == "--bench");
    let e = if real { REAL } else { SMOKE };
    let started = Instant::now();
    let mut out = String::new();
    let mut json = Vec::new();

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let _ = writeln!(
        out,
        "ossd figures ({} run)",
        if real { "full" } else { "smoke" }
    );
    let _ = writeln!(out, "machine: {cores} cores available, {cpu}");
    let _ = writeln!(
        out,
        "NOTE: measured on a shared, noisy machine; medians of {} runs. Treat them as orders of magnitude and ratios.",
        e.runs
    );
    json.push(("cores", J::Num(cores as f64)));
    json.push(("cpu", J::Str(cpu)));
    json.push(("smoke_test", J::Bool(!real)));

    // Memory first, each in a fresh child process, before this one has
    // allocated (and freed) anything big.
    eprintln!("[figures] memory ...");
    json.push(("memory", memory(e, &mut out)));
    eprintln!("[figures] mixer ...");
    json.push(("mix", mix_cost(e, &mut out)));
    eprintln!("[figures] conversion ...");
    json.push(("convert", conversion(e, &mut out)));
    eprintln!("[figures] resampler ...");
    json.push(("resampler", resampler(e, &mut out)));
    eprintln!("[figures] CUSE throughput ...");
    json.push(("cuse_throughput", throughput(e, &mut out)));
    eprintln!("[figures] latency ...");
    json.push(("latency", latency(e, &mut out)));

    let took = started.elapsed().as_secs_f64();
    let _ = writeln!(out, "\n(figures took {took:.1} s)");
    json.push(("seconds", J::Num(took)));
    print!("{out}");
    if real {
        let dir = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").into());
        let path = std::path::Path::new(&dir).join("figures.json");
        let text = J::Obj(json.into_iter().map(|(k, v)| (k.to_string(), v)).collect()).render();
        match std::fs::write(&path, text + "\n") {
            Ok(()) => println!("wrote {}", path.display()),
            Err(err) => eprintln!("cannot write {}: {err}", path.display()),
        }
    }
}

// ---------------------------------------------------------------- a. mixer

fn mix_cost(e: Effort, out: &mut String) -> J {
    let period_secs = PERIOD as f64 / DEV_RATE as f64;
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for path in Path::ALL {
        for &n in e.voices {
            let mut case = MixCase::new(n, path);
            case.mix(support::BATCH as u64); // warm: every voice running
            let t = per_unit(e, |k| case.mix(k));
            let bytes = case.bytes_per_period_per_voice();
            drop(case);
            let mut copy = CopyCase::new(n, bytes);
            let c = per_unit(e, |k| copy.copy(k));
            let core = t.median / period_secs;
            rows.push(vec![
                path.name().to_string(),
                n.to_string(),
                format!("{:.1}", t.median * 1e6),
                pct(core),
                format!("{:.0}", n as f64 / core),
                format!("{:.2}", c.median * 1e6),
                format!("{:.0}x", t.median / c.median),
            ]);
            items.push(J::obj([
                ("path", J::Str(path.slug().into())),
                ("streams", J::Num(n as f64)),
                ("us_per_period", t.json(1e6)),
                ("core_fraction", J::Num(core)),
                ("streams_per_core", J::Num(n as f64 / core)),
                ("copy_bytes", J::Num((n * bytes) as f64)),
                ("copy_us_per_period", c.json(1e6)),
                ("ratio_to_copy", J::Num(t.median / c.median)),
            ]));
        }
    }
    table(
        out,
        "a. Mixer: Mixer::mix_period(), S16_LE stereo streams -> S16_LE stereo 48 kHz, 256-frame periods (5.33 ms)",
        &[
            "path",
            "streams",
            "us/period",
            "core (mix 1 s / 1 s)",
            "streams/core",
            "copy us/period",
            "mix/copy",
        ],
        &rows,
    );
    let _ = writeln!(
        out,
        "   rings refilled between timed runs (not timed); \"copy\" is copy_from_slice of the same client bytes (n x one period) into one buffer."
    );
    let locks = lock_hold(e, out);
    J::obj([("rows", J::Arr(items)), ("lock_hold", locks)])
}

/// How long the engine holds the shared lock per period (begin_period +
/// end_period), against the whole period's work, with 64 streams: the
/// protocol thread waits at most that long to queue a client's bytes.
fn lock_hold(e: Effort, out: &mut String) -> J {
    const N: usize = 64;
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for path in Path::ALL {
        let mut case = MixCase::new(N, path);
        let mut bus = Bus::new(case.mixer.device());
        case.mix_split(&mut bus, support::BATCH as u64); // warm
        let mut locked = Vec::new();
        let t = per_unit(e, |k| {
            let (l, all) = case.mix_split(&mut bus, k);
            locked.push(l.as_secs_f64() / k as f64);
            all
        });
        locked.sort_by(f64::total_cmp);
        let l = locked[locked.len() / 2];
        rows.push(vec![
            path.name().to_string(),
            format!("{:.1}", l * 1e6),
            format!("{:.1}", t.median * 1e6),
            format!("{:.0}%", l / t.median * 100.0),
        ]);
        items.push(J::obj([
            ("path", J::Str(path.slug().into())),
            ("locked_us_per_period", J::Num(l * 1e6)),
            ("total_us_per_period", J::Num(t.median * 1e6)),
        ]));
    }
    table(
        out,
        "a. Shared lock held by the engine per period (begin_period + end_period: copies only), 64 streams, 256-frame periods",
        &["path", "lock held us", "whole period us", "held/whole"],
        &rows,
    );
    J::Arr(items)
}

// ---------------------------------------------------------- b. conversion

fn conversion(e: Effort, out: &mut String) -> J {
    const N: usize = 4096;
    let x: Vec<f64> = (0..N)
        .map(|i| 0.5 * (i as f64 * 0.0618).sin() + ((i * 7919 % 1000) as f64 - 500.0) * 1e-6)
        .collect();
    let wide: Vec<i64> = x
        .iter()
        .map(|v| (v * format::FIXED_ONE as f64) as i64)
        .collect();
    let mut floats = vec![0.0; N];
    let mut fixed = vec![0i32; N];
    let mut rows = Vec::new();
    let mut items = Vec::new();
    let ns = |f: &mut dyn FnMut()| {
        per_unit(e, |k| {
            let t = Instant::now();
            for _ in 0..k {
                f();
            }
            t.elapsed()
        })
        .median
            * 1e9
            / N as f64
    };
    for fmt in SampleFormat::ALL {
        let mut bytes = vec![0u8; N * fmt.bytes_per_sample()];
        format::encode(fmt, &x, &mut bytes);
        let dq = ns(&mut || {
            black_box(format::decode_fixed(fmt, black_box(&bytes), &mut fixed));
        });
        let eq = ns(&mut || {
            black_box(format::encode_fixed(fmt, black_box(&wide), &mut bytes));
        });
        let df = ns(&mut || {
            black_box(format::decode(fmt, black_box(&bytes), &mut floats));
        });
        let ef = ns(&mut || {
            black_box(format::encode(fmt, black_box(&x), &mut bytes));
        });
        rows.push(vec![
            fmt.name().to_string(),
            format!("{dq:.2}"),
            format!("{eq:.2}"),
            format!("{df:.2}"),
            format!("{ef:.2}"),
        ]);
        items.push(J::obj([
            ("format", J::Str(fmt.name().into())),
            ("decode_fixed_ns_per_sample", J::Num(dq)),
            ("encode_fixed_ns_per_sample", J::Num(eq)),
            ("decode_ns_per_sample", J::Num(df)),
            ("encode_ns_per_sample", J::Num(ef)),
        ]));
    }
    table(
        out,
        "b. Sample conversion, 4096-sample buffer: fixed point (pcm::format::decode_fixed/encode_fixed, the playback mix) and f64 (decode/encode: recording, the high resampler, the limiter)",
        &[
            "format",
            "fixed decode ns/sample",
            "fixed encode ns/sample",
            "f64 decode ns/sample",
            "f64 encode ns/sample",
        ],
        &rows,
    );
    J::Arr(items)
}

// ----------------------------------------------------------- c. resampler

fn resampler(e: Effort, out: &mut String) -> J {
    let mut rows = Vec::new();
    let mut delays = Vec::new();
    for q in [Quality::Fast, Quality::High] {
        for rate in [44_100, 8_000] {
            let mut cells = vec![
                qname(q).to_string(),
                format!("{}k -> 48k", rate as f64 / 1e3),
            ];
            for period in [64, 256] {
                let dev = support::device(SampleFormat::S16Le, period);
                let fmt = PcmFormat {
                    sample: SampleFormat::S16Le,
                    channels: 2,
                    rate,
                };
                let d = Voice::new(fmt, &dev, 0, q).resampler_delay();
                cells.push(format!("{d} ({:.2} ms)", d as f64 * 1e3 / DEV_RATE as f64));
                delays.push(J::obj([
                    ("quality", J::Str(qname(q).into())),
                    ("from_rate", J::Num(rate as f64)),
                    ("period_frames", J::Num(period as f64)),
                    ("delay_frames", J::Num(d as f64)),
                ]));
            }
            rows.push(cells);
        }
    }
    table(
        out,
        "c. Resampler delay (Voice::resampler_delay(), in 48 kHz device frames)",
        &["quality", "stream", "64-frame periods", "256-frame periods"],
        &rows,
    );

    let mut rows = Vec::new();
    let mut thd = Vec::new();
    for (label, client, device) in [
        (
            "FLOAT in, S32_LE out",
            SampleFormat::FloatLe,
            SampleFormat::S32Le,
        ),
        (
            "S16_LE in, S16_LE out",
            SampleFormat::S16Le,
            SampleFormat::S16Le,
        ),
    ] {
        let mut cells = vec![label.to_string()];
        for q in [Quality::Fast, Quality::High] {
            let (db, f) = thd_n(q, client, device, e.fit_steps);
            cells.push(format!("{db:.1} dB"));
            thd.push(J::obj([
                ("quality", J::Str(qname(q).into())),
                ("client_format", J::Str(client.name().into())),
                ("device_format", J::Str(device.name().into())),
                ("thd_n_db", J::Num(db)),
                ("fitted_hz", J::Num(f)),
            ]));
        }
        rows.push(cells);
    }
    table(
        out,
        "c. THD+N of a 1 kHz sine at -6 dBFS, stereo 44.1 kHz -> 48 kHz through one Voice in a Mixer",
        &["formats", "fast", "high"],
        &rows,
    );
    let _ = writeln!(
        out,
        "   residual after a least-squares sine fit (frequency, phase, amplitude, DC) over 1 s of steady state, all of 0-24 kHz, relative to the fitted sine."
    );
    let core = resampler_core(e, out);
    J::obj([
        ("delay", J::Arr(delays)),
        ("thd_n", J::Arr(thd)),
        ("core", core),
    ])
}

/// The `fast` resampler's core against rubato's cubic (what `fast` was
/// before it became ours), side by side: one 256-frame stereo period from
/// 44.1 kHz, input already decoded (fixed point for ours, f64 for rubato).
fn resampler_core(e: Effort, out: &mut String) -> J {
    use audioadapter_buffers::direct::InterleavedSlice;
    use ossd::mix::cubic::Cubic;
    use rubato::{Async, FixedAsync, PolynomialDegree, Resampler};

    const P: usize = 256;
    let mut ours = Cubic::new(44_100, DEV_RATE, 2, P);
    let mut out_q = vec![0i64; P * 2];
    let ours_ns = per_unit(e, |k| {
        let t = Instant::now();
        for i in 0..k {
            let need = ours.input_frames_next(P);
            for (j, x) in ours.input(need).iter_mut().enumerate() {
                *x = ((i as usize + j) as i32).wrapping_mul(40_503);
            }
            ours.process(black_box(&mut out_q));
        }
        t.elapsed()
    })
    .median
        * 1e9
        / P as f64;

    let mut rs = Async::<f64>::new_poly(
        DEV_RATE as f64 / 44_100.0,
        1.0,
        PolynomialDegree::Cubic,
        P,
        2,
        FixedAsync::Output,
    )
    .expect("valid parameters");
    let mut input = vec![0.0f64; rs.input_frames_max() * 2];
    let mut out_f = vec![0.0f64; P * 2];
    let rubato_ns = per_unit(e, |k| {
        let t = Instant::now();
        for i in 0..k {
            let need = rs.input_frames_next();
            for (j, x) in input[..need * 2].iter_mut().enumerate() {
                *x = (((i as usize + j) as i32).wrapping_mul(40_503)) as f64 / 2f64.powi(31);
            }
            let inp = InterleavedSlice::new(&input[..need * 2], 2, need).expect("sized");
            let mut o = InterleavedSlice::new_mut(&mut out_f, 2, P).expect("sized");
            let _ = rs.process_into_buffer(&inp, &mut o, None);
            black_box(&out_f);
        }
        t.elapsed()
    })
    .median
        * 1e9
        / P as f64;
    table(
        out,
        "c. Resampler core alone: one 256-frame stereo period from 44.1 kHz to 48 kHz (input filling included)",
        &["resampler", "ns per output frame", "vs ours"],
        &[
            vec![
                "fast: ours, 4-point cubic in fixed point".into(),
                format!("{ours_ns:.1}"),
                "1.0x".into(),
            ],
            vec![
                "rubato cubic (f64)".into(),
                format!("{rubato_ns:.1}"),
                format!("{:.1}x", rubato_ns / ours_ns),
            ],
        ],
    );
    J::obj([
        ("fast_ns_per_frame", J::Num(ours_ns)),
        ("rubato_cubic_ns_per_frame", J::Num(rubato_ns)),
    ])
}

fn qname(q: Quality) -> &'static str {
    match q {
        Quality::Fast => "fast",
        Quality::High => "high",
    }
}

/// THD+N in dB of a 1 kHz tone resampled 44.1 kHz -> 48 kHz, and the
/// frequency the fit found.
fn thd_n(q: Quality, client: SampleFormat, device: SampleFormat, steps: usize) -> (f64, f64) {
    let dev = support::device(device, PERIOD);
    let fmt = PcmFormat {
        sample: client,
        channels: 2,
        rate: 44_100,
    };
    let tone = support::sine_bytes(fmt, 1000.0, 0.5, 0.3, 44_100 * 3 / 2);
    let mut m = Mixer::new(dev);
    let id = m.insert(Voice::new(fmt, &dev, tone.len(), q));
    let v = m.voice_mut(id).expect("inserted");
    assert_eq!(v.push(&tone), tone.len());
    v.post();
    let mut left = Vec::new();
    let mut dec = vec![0.0; dev.period_frames as usize * 2];
    for _ in 0..(DEV_RATE as usize * 3 / 2 / PERIOD as usize) {
        format::decode(device, m.mix_period(), &mut dec);
        left.extend(dec.iter().step_by(2));
    }
    // Skip 0.25 s (start-up and resampler delay), analyse the next second.
    let x = &left[DEV_RATE as usize / 4..DEV_RATE as usize * 5 / 4];
    // Golden-section search of the frequency around 1 kHz.
    let resid = |f: f64| sine_fit(x, f, DEV_RATE as f64);
    let (mut a, mut b) = (999.0, 1001.0);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..steps {
        let (c, d) = (b - g * (b - a), a + g * (b - a));
        if resid(c).0 < resid(d).0 {
            b = d;
        } else {
            a = c;
        }
    }
    let f = (a + b) / 2.0;
    let (r, s) = resid(f);
    (10.0 * (r / s).log10(), f)
}

/// Least-squares fit of `a cos + b sin + c` at `freq`: (residual energy,
/// energy of the fitted sine).
fn sine_fit(x: &[f64], freq: f64, rate: f64) -> (f64, f64) {
    let w = std::f64::consts::TAU * freq / rate;
    let mut m = [[0.0; 4]; 3];
    for (i, &v) in x.iter().enumerate() {
        let (s, c) = (w * i as f64).sin_cos();
        let basis = [c, s, 1.0];
        for r in 0..3 {
            for k in 0..3 {
                m[r][k] += basis[r] * basis[k];
            }
            m[r][3] += basis[r] * v;
        }
    }
    // Gaussian elimination on the 3x3 normal equations.
    for p in 0..3 {
        let pivot = m[p];
        for row in m.iter_mut().skip(p + 1) {
            let f = row[p] / pivot[p];
            for (x, y) in row.iter_mut().zip(pivot).skip(p) {
                *x -= f * y;
            }
        }
    }
    let mut coef = [0.0; 3];
    for p in (0..3).rev() {
        let s: f64 = (p + 1..3).map(|k| m[p][k] * coef[k]).sum();
        coef[p] = (m[p][3] - s) / m[p][p];
    }
    let (mut res, mut sig) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let (s, c) = (w * i as f64).sin_cos();
        let sine = coef[0] * c + coef[1] * s;
        let e = v - sine - coef[2];
        res += e * e;
        sig += sine * sine;
    }
    (res, sig)
}

// ------------------------------------------------------ d. CUSE throughput

/// Opens a file for the throughput runs: S16_LE stereo 48 kHz (no
/// resampling), 1 MiB of ring. Returns (fh, ring bytes).
fn open_big(k: &mut Lean) -> (u64, usize) {
    let fh = k.open(NONBLOCK);
    k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
    k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2);
    k.ioctl_int(fh, SNDCTL_DSP_SPEED, 48_000);
    k.ioctl_int(fh, SNDCTL_DSP_SETFRAGMENT, (16 << 16) | 16);
    let info = k.ioctl(fh, SNDCTL_DSP_GETOSPACE, &[]);
    let free = i32::from_ne_bytes(info[12..16].try_into().unwrap()) as usize;
    (fh, free)
}

/// WRITE requests of `size` bytes, `depth` in flight, each run filling fresh
/// 1 MiB rings (all accepted whole: checked) until `e.io_run` of timed work.
/// Returns (requests per second, stats over runs).
fn write_rate(k: &mut Lean, e: Effort, size: usize, depth: usize) -> Stats {
    let data: Vec<u8> = (0..size).map(|i| (i * 31) as u8).collect();
    let mut rates = Vec::new();
    for _ in 0..e.runs {
        let (mut busy, mut done) = (Duration::ZERO, 0u64);
        while busy < e.io_run {
            let (fh, room) = open_big(k); // not timed
            let n = room / size;
            assert!(n >= 1, "ring of {room} bytes");
            let t = Instant::now();
            let (mut sent, mut answered) = (0, 0);
            while sent < n.min(depth) {
                k.write_async(fh, &data, NONBLOCK);
                sent += 1;
            }
            while answered < n {
                let r = k.recv();
                assert_eq!(k.written(&r), size as i64, "a write was not taken whole");
                answered += 1;
                if sent < n {
                    k.write_async(fh, &data, NONBLOCK);
                    sent += 1;
                }
            }
            busy += t.elapsed();
            done += n as u64;
            k.release(fh, NONBLOCK); // not timed
        }
        rates.push(done as f64 / busy.as_secs_f64());
    }
    Stats::of(rates)
}

fn throughput(e: Effort, out: &mut String) -> J {
    let dev = common::device(256, 3);
    let mut k = Lean::start(dev);
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for (size, depth) in [(64, 1), (64, 16), (128 * 1024, 1), (128 * 1024, 4)] {
        let s = write_rate(&mut k, e, size, depth);
        rows.push(vec![
            human_bytes(size),
            depth.to_string(),
            format!("{:.0}", s.median),
            format!("{:.1}", 1e6 / s.median),
            format!("{:.1}", s.median * size as f64 / 1e6),
        ]);
        items.push(J::obj([
            ("write_bytes", J::Num(size as f64)),
            ("in_flight", J::Num(depth as f64)),
            ("writes_per_s", s.json(1.0)),
            ("mb_per_s", J::Num(s.median * size as f64 / 1e6)),
        ]));
    }
    k.stop();

    // The same small writes through tests/common's Kernel, for comparison:
    // its per-message allocation and checks bound the rate, not the daemon.
    let mut kk = common::Kernel::start(dev);
    let data = [7u8; 64];
    let mut rates = Vec::new();
    for _ in 0..e.runs {
        let fh = kk.open(NONBLOCK).expect("open"); // not timed
        kk.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32)
            .expect("fmt");
        kk.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2).expect("channels");
        kk.ioctl_int(fh, SNDCTL_DSP_SPEED, 48_000).expect("speed");
        kk.ioctl_int(fh, SNDCTL_DSP_SETFRAGMENT, (16 << 16) | 16)
            .expect("fragments");
        let t = Instant::now();
        let mut n = 0u64;
        // At most 8192 writes of 64 B: half the 1 MiB ring.
        while n < 8192 && t.elapsed() < e.io_run {
            assert_eq!(kk.write(fh, &data, NONBLOCK), Ok(64));
            n += 1;
        }
        rates.push(n as f64 / t.elapsed().as_secs_f64());
        kk.release(fh, NONBLOCK);
    }
    let harness = Stats::of(rates);
    kk.stop();
    rows.push(vec![
        "64 B via tests/common".into(),
        "1".into(),
        format!("{:.0}", harness.median),
        format!("{:.1}", 1e6 / harness.median),
        format!("{:.1}", harness.median * 64.0 / 1e6),
    ]);
    table(
        out,
        "d. CUSE WRITE throughput over the fake kernel (parse, copy into the ring, reply), O_NONBLOCK, S16_LE stereo 48 kHz stream",
        &["write size", "in flight", "writes/s", "us/write", "MB/s"],
        &rows,
    );
    let _ = writeln!(
        out,
        "   counted: replies received per second of wall time; every write is accepted whole (each run fills fresh 1 MiB rings, reopening between fills untimed)."
    );
    let _ = writeln!(
        out,
        "   the fake kernel's client runs in this process and shares the 2 cores with the daemon's protocol and engine threads."
    );
    J::obj([
        ("lean_client", J::Arr(items)),
        ("tests_common_kernel_64b_writes_per_s", harness.json(1.0)),
    ])
}

fn human_bytes(n: usize) -> String {
    if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}

// --------------------------------------------------------------- e. latency

fn latency(e: Effort, out: &mut String) -> J {
    let dev = common::device(64, 2);
    let period = Duration::from_secs_f64(dev.period_frames as f64 / dev.pcm.rate as f64);
    let mut k = Lean::start(dev);
    let fh = k.open(NONBLOCK);
    k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
    k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2);
    k.ioctl_int(fh, SNDCTL_DSP_SPEED, 48_000);
    let free = |k: &mut Lean| {
        let info = k.ioctl(fh, SNDCTL_DSP_GETOSPACE, &[]);
        i32::from_ne_bytes(info[12..16].try_into().unwrap())
    };
    let cap = free(&mut k);
    // One device period of the stream: enough to start it, all taken by one mix.
    let chunk = vec![0x11u8; dev.period_bytes()];
    let (mut rtt, mut queue, mut total, mut poll_rtt) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut seed = 0x9e37_79b9u32;
    for _ in 0..e.latency_trials {
        // A random phase against the engine's period.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        lean::pause(period.mul_f64((seed % 1000) as f64 / 1000.0) + period);
        let t0 = Instant::now();
        k.write_async(fh, &chunk, NONBLOCK);
        let r = k.recv();
        assert_eq!(k.written(&r), chunk.len() as i64, "the write was not taken");
        let t1 = r.at;
        // Poll GETOSPACE back to back until the engine has taken the bytes.
        let seen = loop {
            let ts = Instant::now();
            let u = k.ioctl_async(fh, SNDCTL_DSP_GETOSPACE, &[]);
            let r = k.recv();
            assert_eq!(r.unique, u);
            poll_rtt.push((r.at - ts).as_secs_f64());
            let p = k.payload(&r);
            let bytes = i32::from_ne_bytes(p[16 + 12..16 + 16].try_into().unwrap());
            if bytes >= cap {
                break ts;
            }
        };
        rtt.push((t1 - t0).as_secs_f64());
        queue.push(seen.saturating_duration_since(t1).as_secs_f64());
        total.push((seen - t0).as_secs_f64());
    }
    k.release(fh, NONBLOCK);
    k.stop();
    let period_us = period.as_secs_f64() * 1e6;
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for (what, v) in [
        ("WRITE request -> reply (not parked)", rtt),
        ("reply -> engine has taken the bytes", queue),
        ("WRITE request -> engine has taken the bytes", total),
        ("GETOSPACE ioctl round trip (poll resolution)", poll_rtt),
    ] {
        let mut v = v;
        let p50 = percentile(&mut v, 50.0) * 1e6;
        let p90 = percentile(&mut v, 90.0) * 1e6;
        let p99 = percentile(&mut v, 99.0) * 1e6;
        rows.push(vec![
            what.to_string(),
            format!("{p50:.0}"),
            format!("{p90:.0}"),
            format!("{p99:.0}"),
        ]);
        items.push(J::obj([
            ("what", J::Str(what.into())),
            ("median_us", J::Num(p50)),
            ("p90_us", J::Num(p90)),
            ("p99_us", J::Num(p99)),
            ("samples", J::Num(v.len() as f64)),
        ]));
    }
    table(
        out,
        &format!(
            "e. ossd's own latency over the fake kernel: ClockSink device with 64-frame periods ({period_us:.0} us), 2-period buffer, one S16_LE stereo 48 kHz client writing one period at a time"
        ),
        &["what", "median us", "p90 us", "p99 us"],
        &rows,
    );
    let _ = writeln!(
        out,
        "   {} trials at random phases against the engine. \"taken\" = the first GETOSPACE (polled back to back after the reply) that shows the ring empty again;",
        e.latency_trials
    );
    let _ = writeln!(
        out,
        "   the engine takes a ring's bytes when it mixes the next period, so that part is bounded by one period ({period_us:.0} us) plus the engine thread's wake-up; the device buffer comes on top and is not counted."
    );
    J::obj([
        ("period_us", J::Num(period_us)),
        ("buffer_periods", J::Num(2.0)),
        ("figures", J::Arr(items)),
    ])
}

// ---------------------------------------------------------------- f. memory

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The capture buffer's bytes, which grow by the device's rate whatever the
/// clients do (its room is reserved up front, so only written pages count).
fn captured_kib(k: &common::Kernel) -> u64 {
    k.capture.lock().expect("capture").len() as u64 / 1024
}

/// In a fresh process, through `tests/common` (the daemon's default config,
/// fast resampler): RSS before the daemon, with it idle, with `clients`
/// fresh opens, and with them all switched to S16_LE stereo 44.1 kHz and
/// their rings filled. Prints one line of four KiB figures.
fn rss_daemon_child(clients: usize) {
    let settle = || std::thread::sleep(Duration::from_millis(100));
    let before = vm_rss_kib();
    let mut k = common::Kernel::start(common::device(256, 3));
    k.capture.lock().expect("capture").reserve(64 << 20);
    settle();
    let idle = vm_rss_kib() - captured_kib(&k);
    let fhs: Vec<u64> = (0..clients)
        .map(|_| k.open(WRONLY).expect("open"))
        .collect();
    settle();
    let opened = vm_rss_kib() - captured_kib(&k);
    let fill = vec![0x22u8; 64 * 1024];
    for &fh in &fhs {
        k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32)
            .expect("fmt");
        k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2).expect("channels");
        k.ioctl_int(fh, SNDCTL_DSP_SPEED, 44_100).expect("speed");
        assert!(k.write(fh, &fill, NONBLOCK).expect("write") > 0);
    }
    settle();
    let playing = vm_rss_kib() - captured_kib(&k);
    for fh in fhs {
        k.release(fh, NONBLOCK);
    }
    k.stop();
    println!("rss {before} {idle} {opened} {playing}");
}

/// In a fresh process: RSS growth of `n` voices (S16_LE stereo 44.1 kHz into
/// the 48 kHz device, 4 KiB rings, one period rendered each), per voice.
fn rss_voice_child(quality: Quality, n: usize) {
    let dev = support::device(SampleFormat::S16Le, PERIOD);
    let fmt = PcmFormat {
        sample: SampleFormat::S16Le,
        channels: 2,
        rate: 44_100,
    };
    let data = vec![0x33u8; 4096];
    let mut acc = vec![0i64; PERIOD as usize * 2];
    let before = vm_rss_kib();
    let voices: Vec<Voice> = (0..n)
        .map(|_| {
            let mut v = Voice::new(fmt, &dev, 4096, quality);
            v.push(&data);
            v.post();
            v.render(&mut acc, 0);
            v
        })
        .collect();
    let after = vm_rss_kib();
    black_box(&voices);
    println!("rss {}", (after - before) as f64 / n as f64);
}

/// Runs this program again with `args` and parses its `rss ...` line.
fn child(args: &[&str], out: &mut String) -> Option<Vec<f64>> {
    let exe = std::env::current_exe().ok()?;
    let o = std::process::Command::new(exe).args(args).output().ok()?;
    let nums: Vec<f64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("rss "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    if o.status.success() && !nums.is_empty() {
        Some(nums)
    } else {
        let _ = writeln!(
            out,
            "memory child {args:?} failed: {}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        None
    }
}

fn memory(e: Effort, out: &mut String) -> J {
    let n = e.clients;
    let ns = n.to_string();
    let mut rows = Vec::new();
    let mut items = Vec::new();
    let mut row = |what: &str, key: &str, kib: f64| {
        rows.push(vec![what.to_string(), format!("{kib:.1}")]);
        items.push((key.to_string(), J::Num(kib)));
    };
    if let Some(v) = child(&["--rss-child", "daemon", &ns], out).filter(|v| v.len() == 4) {
        let (before, idle, opened, playing) = (v[0], v[1], v[2], v[3]);
        row(
            "process before the daemon",
            "process_before_daemon_kib",
            before,
        );
        row(
            "daemon started, idle",
            "daemon_idle_growth_kib",
            idle - before,
        );
        row(
            "per open client (fresh open: U8 mono 8 kHz)",
            "per_open_client_kib",
            (opened - idle) / n as f64,
        );
        row(
            "per playing client (S16_LE stereo 44.1 kHz, ring full)",
            "per_playing_client_kib",
            (playing - idle) / n as f64,
        );
    }
    for q in [Quality::Fast, Quality::High] {
        if let Some(v) = child(&["--rss-child", "voice", qname(q), &ns], out) {
            let what = format!(
                "one Voice alone, S16_LE stereo 44.1 kHz, {} resampler",
                qname(q)
            );
            row(&what, &format!("per_voice_{}_kib", qname(q)), v[0]);
        }
    }
    table(
        out,
        &format!(
            "f. Resident memory (VmRSS growth), daemon in-process on the fake kernel (tests/common), {n} clients or voices, each figure in a fresh process"
        ),
        &["what", "KiB"],
        &rows,
    );
    let _ = writeln!(
        out,
        "   the daemon runs with its default (fast) resampler; a client with --resampler high also carries the difference between the two Voice rows."
    );
    let _ = writeln!(
        out,
        "   the ClockSink's capture buffer (a test aid that records every period) is left out."
    );
    J::Obj(items)
}

// ----------------------------------------------------------------- helpers

/// Median/min/max of a set of runs.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(mut v: Vec<f64>) -> Stats {
        v.sort_by(f64::total_cmp);
        Stats {
            median: percentile(&mut v, 50.0),
            min: v[0],
            max: v[v.len() - 1],
        }
    }

    fn json(&self, scale: f64) -> J {
        J::obj([
            ("median", J::Num(self.median * scale)),
            ("min", J::Num(self.min * scale)),
            ("max", J::Num(self.max * scale)),
        ])
    }
}

/// Seconds per unit: `f(k)` does `k` units and returns the time they took.
/// Calibrates `k` to about `e.run` per run, then takes `e.runs` runs.
fn per_unit(e: Effort, mut f: impl FnMut(u64) -> Duration) -> Stats {
    let mut k = 1u64;
    let per = loop {
        let t = f(k);
        if t >= e.run / 8 || k >= 1 << 32 {
            break t.as_secs_f64() / k as f64;
        }
        k *= 4;
    };
    let k = ((e.run.as_secs_f64() / per) as u64).max(1);
    Stats::of((0..e.runs).map(|_| f(k).as_secs_f64() / k as f64).collect())
}

/// Nearest-rank percentile (sorts `v`).
fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

fn pct(x: f64) -> String {
    if x < 0.01 {
        format!("{:.3}%", x * 100.0)
    } else {
        format!("{:.2}%", x * 100.0)
    }
}

fn table(out: &mut String, title: &str, head: &[&str], rows: &[Vec<String>]) {
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let _ = writeln!(out, "\n{title}");
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("{c:<w$}", w = w[i])
                } else {
                    format!("{c:>w$}", w = w[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(out, "   {}", line(head.to_vec()));
    let _ = writeln!(
        out,
        "   {}",
        w.iter()
            .map(|&n| "-".repeat(n))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for r in rows {
        let _ = writeln!(out, "   {}", line(r.iter().map(String::as_str).collect()));
    }
}

/// Just enough JSON.
enum J {
    Num(f64),
    Str(String),
    Bool(bool),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn obj<const N: usize>(fields: [(&str, J); N]) -> J {
        J::Obj(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    fn render(&self) -> String {
        match self {
            J::Num(x) if x.is_finite() => {
                if *x == x.trunc() && x.abs() < 1e15 {
                    format!("{x:.0}")
                } else {
                    format!("{x:.6}")
                }
            }
            J::Num(_) => "null".into(),
            J::Bool(b) => b.to_string(),
            J::Str(s) => format!("{s:?}"),
            J::Arr(v) => format!(
                "[{}]",
                v.iter().map(J::render).collect::<Vec<_>>().join(", ")
            ),
            J::Obj(v) => format!(
                "{{{}}}",
                v.iter()
                    .map(|(k, v)| format!("{k:?}: {}", v.render()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}
