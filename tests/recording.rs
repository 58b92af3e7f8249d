//! Recording, full duplex, the monitor node, /dev/mixer and /dev/sndstat,
//! through the fake kernel (see common/mod.rs), recording from a clock-paced
//! source that plays `f` Hz on channel 0 and `2f` Hz on channel 1.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ossd::daemon::NodeKind;
use ossd::oss::soundcard::*;

const RDONLY: i32 = libc::O_RDONLY;
const RDWR: i32 = libc::O_RDWR;
const WRONLY: i32 = libc::O_WRONLY;

fn s16_stereo(k: &mut Kernel, fh: u64, rate: i32) {
    assert_eq!(
        k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32),
        Ok(AFMT_S16_LE as i32)
    );
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2), Ok(2));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_SPEED, rate), Ok(rate));
}

fn read_all(k: &mut Kernel, fh: u64, total: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < total {
        let want = (total - out.len()).min(65536) as u32;
        let got = k.read(fh, want, RDONLY).unwrap();
        assert_eq!(
            got.len(),
            want as usize,
            "a blocking read returns all it asked for"
        );
        out.extend(got);
    }
    out
}

fn goertzel(x: &[f64], freq: f64, rate: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let w = std::f64::consts::TAU * freq * i as f64 / rate;
        re += v * w.cos();
        im += v * w.sin();
    }
    (re * re + im * im).sqrt() / x.len() as f64
}

#[test]
fn a_reader_records_the_device_in_its_own_format_paced_by_the_clock() {
    let mut k = Kernel::start_with(device(256, 3), &[NodeKind::Dsp], Some(440.0));
    let fh = k.open(RDONLY).unwrap();
    s16_stereo(&mut k, fh, 48000);
    let t0 = Instant::now();
    let data = read_all(&mut k, fh, 48000 / 2 * 4);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(400),
        "0.5 s recorded in {took:?}"
    );
    let f = frames(&data);
    let left: Vec<i16> = f.iter().map(|x| x.0).collect();
    let right: Vec<i16> = f.iter().map(|x| x.1).collect();
    assert!(
        (frequency(&left, 48000) - 440.0).abs() < 2.0,
        "{}",
        frequency(&left, 48000)
    );
    assert!(
        (frequency(&right, 48000) - 880.0).abs() < 4.0,
        "{}",
        frequency(&right, 48000)
    );
    k.release(fh, RDONLY);
    k.stop();
}

#[test]
fn a_fresh_reader_gets_u8_mono_8000_resampled() {
    let mut k = Kernel::start_with(device(256, 3), &[NodeKind::Dsp], Some(500.0));
    let fh = k.open(RDONLY).unwrap();
    let t0 = Instant::now();
    let data = read_all(&mut k, fh, 4000);
    assert!(t0.elapsed() >= Duration::from_millis(400));
    let x: Vec<f64> = data.iter().map(|&b| b as f64 - 128.0).collect();
    let steady = &x[400..];
    let (p500, p1000, p750) = (
        goertzel(steady, 500.0, 8000.0),
        goertzel(steady, 1000.0, 8000.0),
        goertzel(steady, 750.0, 8000.0),
    );
    // Mono is the average of both channels: 500 Hz and 1000 Hz at half level.
    assert!(
        p500 > 10.0 * p750 && p1000 > 10.0 * p750,
        "{p500} {p1000} {p750}"
    );
    assert!((p500 / p1000 - 1.0).abs() < 0.2, "{p500} {p1000}");
    k.release(fh, RDONLY);
    k.stop();
}

#[test]
fn two_readers_share_one_capture_and_nonblocking_reads_take_what_is_there() {
    let mut k = Kernel::start_with(device(256, 3), &[NodeKind::Dsp], Some(440.0));
    let a = k.open(RDONLY).unwrap();
    let b = k.open(RDONLY | libc::O_NONBLOCK).unwrap();
    // The first non-blocking read starts recording and has nothing yet.
    assert_eq!(
        k.read(b, 1024, RDONLY | libc::O_NONBLOCK),
        Err(libc::EAGAIN)
    );
    let da = read_all(&mut k, a, 4000);
    assert_eq!(da.len(), 4000);
    let db = k.read(b, 100_000, RDONLY | libc::O_NONBLOCK).unwrap();
    assert!(!db.is_empty() && db.len() < 100_000, "{}", db.len());
    let r = k.ioctl(b, SNDCTL_DSP_GETISPACE, &[]);
    assert_eq!(r.error, 0);
    k.release(a, RDONLY);
    k.release(b, RDONLY);
    k.stop();
}

#[test]
fn a_reader_that_stops_reading_overruns_alone() {
    let mut k = Kernel::start_with(device(256, 3), &[NodeKind::Dsp], Some(440.0));
    let lazy = k.open(RDONLY).unwrap();
    let busy = k.open(RDONLY).unwrap();
    assert_eq!(
        k.ioctl(
            lazy,
            SNDCTL_DSP_SETTRIGGER,
            &(PCM_ENABLE_INPUT as i32).to_ne_bytes()
        )
        .error,
        0
    );
    let t0 = Instant::now();
    let d = read_all(&mut k, busy, 8000);
    assert_eq!(d.len(), 8000);
    assert!(t0.elapsed() < Duration::from_secs(3));
    let e = k.ioctl(lazy, SNDCTL_DSP_GETERROR, &[]);
    let rec_overruns = i32::from_ne_bytes(e.ioctl_out()[4..8].try_into().unwrap());
    assert!(rec_overruns > 0, "the lazy reader's overruns are counted");
    let e = k.ioctl(busy, SNDCTL_DSP_GETERROR, &[]);
    assert_eq!(
        i32::from_ne_bytes(e.ioctl_out()[4..8].try_into().unwrap()),
        0
    );
    let isp = k.ioctl(lazy, SNDCTL_DSP_GETISPACE, &[]);
    let v: Vec<i32> = isp
        .ioctl_out()
        .chunks(4)
        .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(
        v[0], v[1],
        "a full buffer reports every fragment available: {v:?}"
    );
    k.release(lazy, RDONLY);
    k.release(busy, RDONLY);
    k.stop();
}

#[test]
fn full_duplex_on_one_file() {
    let mut k = Kernel::start_with(device(256, 3), &[NodeKind::Dsp], Some(440.0));
    let fh = k.open(RDWR).unwrap();
    let caps = k.ioctl_int(fh, SNDCTL_DSP_GETCAPS, 0).unwrap() as u32;
    assert_ne!(caps & DSP_CAP_DUPLEX, 0);
    assert_eq!(k.ioctl(fh, SNDCTL_DSP_SETDUPLEX, &[]).error, 0);
    let tone = u8_tone(8000, 600.0, 0.5, 0.5);
    let w = k.write_async(fh, &tone, RDWR);
    let rec = read_all(&mut k, fh, 4000);
    assert_eq!(rec.len(), 4000);
    let r = k.wait(w);
    assert_eq!((r.error, r.u32_at(0) as usize), (0, tone.len()));
    assert_eq!(k.release(fh, RDWR).error, 0);
    let f = frames(&k.captured());
    let (start, len) = longest_sound(&f, RATE);
    let left: Vec<i16> = f[start..start + len].iter().map(|x| x.0).collect();
    assert!((frequency(&left, RATE) - 600.0).abs() < 6.0);
    k.stop();
}

#[test]
fn recording_without_a_capture_device() {
    let mut k = Kernel::start(device(256, 3));
    assert_eq!(k.open(RDONLY), Err(libc::ENXIO));
    // O_RDWR still plays (old programs open read-write only to play).
    let fh = k.open(RDWR).unwrap();
    assert_eq!(k.read(fh, 100, RDWR), Err(libc::EIO));
    let caps = k.ioctl_int(fh, SNDCTL_DSP_GETCAPS, 0).unwrap() as u32;
    assert_eq!(caps & DSP_CAP_DUPLEX, 0);
    assert_eq!(k.write(fh, &[128; 100], RDWR), Ok(100));
    k.release(fh, RDWR | libc::O_NONBLOCK);
    k.stop();
}

#[test]
fn the_monitor_records_what_is_played() {
    let mut k = Kernel::start_with(device(256, 3), &[NodeKind::Dsp, NodeKind::Monitor], None);
    k.on(1);
    let mon = k.open(RDONLY).unwrap();
    assert_eq!(k.open(WRONLY), Err(libc::EACCES));
    s16_stereo(&mut k, mon, 48000);
    // A buffer of 16 × 64 KiB holds all of it, so it can be read afterwards.
    assert_eq!(
        k.ioctl_int(mon, SNDCTL_DSP_SETFRAGMENT, 0x0010_0010),
        Ok(0x0010_0010)
    );
    // Start recording, then play on /dev/dsp.
    assert_eq!(
        k.read(mon, 4, RDONLY | libc::O_NONBLOCK)
            .unwrap_or_default()
            .len()
            % 4,
        0
    );
    k.on(0);
    let fh = k.open(WRONLY).unwrap();
    k.write(fh, &u8_tone(8000, 700.0, 0.3, 0.5), WRONLY)
        .unwrap();
    k.release(fh, WRONLY);
    k.on(1);
    let mut got = Vec::new();
    while let Ok(chunk) = k.read(mon, 65536, RDONLY | libc::O_NONBLOCK) {
        got.extend(chunk);
    }
    let f = frames(&got);
    let (start, len) = longest_sound(&f, RATE);
    assert!(len as f64 / RATE as f64 > 0.25, "{len}");
    let left: Vec<i16> = f[start..start + len].iter().map(|x| x.0).collect();
    assert!((frequency(&left, RATE) - 700.0).abs() < 7.0);
    // What the monitor recorded is exactly what the device played.
    let played = k.captured();
    let needle = &got[start * 4..start * 4 + 4000];
    assert!(
        played.windows(needle.len()).any(|w| w == needle),
        "monitor differs from the output"
    );
    k.release(mon, RDONLY);
    k.stop();
}

#[test]
fn mixer_levels_are_heard_and_answered_on_dsp_too() {
    let mut k = Kernel::start_with(device(256, 3), &[NodeKind::Dsp, NodeKind::Mixer], None);
    k.on(1);
    let mx = k.open(RDWR).unwrap();
    let devmask = k.ioctl_int(mx, SOUND_MIXER_READ_DEVMASK, 0).unwrap();
    assert_ne!(devmask & SOUND_MASK_VOLUME as i32, 0);
    assert_ne!(devmask & SOUND_MASK_PCM as i32, 0);
    assert_eq!(
        k.ioctl_int(mx, SOUND_MIXER_READ_VOLUME, 0),
        Ok(100 | 100 << 8)
    );
    assert_eq!(
        k.ioctl_int(mx, SOUND_MIXER_WRITE_PCM, 50 | 50 << 8),
        Ok(50 | 50 << 8)
    );
    let r = k.ioctl(mx, SOUND_MIXER_INFO, &[]);
    assert_eq!(r.error, 0);
    // ossinfo asks the mixer about the system.
    let r = k.ioctl(mx, SNDCTL_SYSINFO, &[]);
    assert_eq!(r.error, 0);
    assert_eq!(&r.ioctl_out()[..4], b"ossd");
    k.on(0);
    let fh = k.open(WRONLY).unwrap();
    // The same mixer, through /dev/dsp.
    assert_eq!(k.ioctl_int(fh, SOUND_MIXER_READ_PCM, 0), Ok(50 | 50 << 8));
    k.write(fh, &u8_tone(8000, 500.0, 0.2, 1.0), WRONLY)
        .unwrap();
    k.release(fh, WRONLY);
    let peak = frames(&k.captured())
        .iter()
        .map(|x| x.0.unsigned_abs())
        .max()
        .unwrap();
    // PCM 50 is -25 dB: about 5.6% of full scale.
    assert!((1000..3000).contains(&peak), "peak {peak}");
    k.stop();
}

#[test]
fn sndstat_is_readable_text_naming_the_device_and_clients() {
    let mut k = Kernel::start_with(
        device(256, 3),
        &[NodeKind::Dsp, NodeKind::Sndstat],
        Some(440.0),
    );
    let p = k.open(WRONLY).unwrap();
    let r = k.open(RDONLY).unwrap();
    k.on(1);
    assert_eq!(k.open(WRONLY), Err(libc::EACCES));
    let st = k.open(RDONLY).unwrap();
    let mut text = Vec::new();
    loop {
        let chunk = k.read(st, 100, RDONLY).unwrap();
        if chunk.is_empty() {
            break;
        }
        text.extend(chunk);
    }
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("ossd"), "{text}");
    assert!(text.contains("playback"), "{text}");
    assert!(text.contains("capture"), "{text}");
    assert!(text.contains("play") && text.contains("record"), "{text}");
    assert!(text.contains("4242"), "{text}");
    k.release(st, RDONLY);
    k.on(0);
    k.release(p, WRONLY | libc::O_NONBLOCK);
    k.release(r, RDONLY);
    k.stop();
}

#[test]
fn a_side_node_that_fails_does_not_take_dsp_down() {
    let mut k = Kernel::start_with(device(256, 3), &[NodeKind::Dsp, NodeKind::Mixer], None);
    k.close_node(1);
    std::thread::sleep(Duration::from_millis(200));
    let fh = k.open(WRONLY).unwrap();
    assert_eq!(
        k.write(fh, &u8_tone(8000, 440.0, 0.1, 0.5), WRONLY),
        Ok(800)
    );
    assert_eq!(k.release(fh, WRONLY).error, 0);
    k.stop();
}
