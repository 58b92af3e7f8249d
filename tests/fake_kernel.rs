//! The whole daemon against a fake kernel (see common/mod.rs): the CUSE
//! protocol, the OSS semantics and the mixer, on an output that keeps real time.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ossd::cuse::abi::{self, opcode};
use ossd::cuse::wire::Header;
use ossd::oss::soundcard::*;

const WRONLY: i32 = libc::O_WRONLY;

/// For the tests that check a stream comes out whole: 21 ms periods, so a
/// test machine busy with other tests does not starve the stream (a gap
/// there says nothing about ossd; the protocol tests use 5 ms periods).
const ROBUST: ossd::pcm::DeviceConfig = device(1024, 3);

/// Chooses a buffer of 4 × 256 B for `fh` (SETFRAGMENT): 128 ms of U8
/// 8 kHz, which a second of it overfills (the default holds a 32 KiB preload
/// at that rate).
fn small_buffer(k: &mut Kernel, fh: u64) {
    assert_eq!(
        k.ioctl_int(fh, SNDCTL_DSP_SETFRAGMENT, 0x0004_0008),
        Ok(0x0004_0008)
    );
}
const NONBLOCK: i32 = libc::O_WRONLY | libc::O_NONBLOCK;

#[test]
fn handshake_then_clean_stop() {
    let k = Kernel::start(device(256, 3));
    k.stop();
}

#[test]
fn fresh_open_is_u8_mono_8000() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(WRONLY).unwrap();
    assert_eq!(
        k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_QUERY as i32),
        Ok(AFMT_U8 as i32)
    );
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 0), Ok(1));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_SPEED, 0), Ok(8000));
    k.release(fh, NONBLOCK);
    k.stop();
}

#[test]
fn set_calls_write_back_what_was_chosen() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(WRONLY).unwrap();
    assert_eq!(
        k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32),
        Ok(AFMT_S16_LE as i32)
    );
    // Unsupported format bits: a supported format comes back, never an error.
    let f = k
        .ioctl_int(fh, SNDCTL_DSP_SETFMT, 0x0200 /* AFMT_MPEG */)
        .unwrap();
    assert_ne!(f & 0x0200, 0x0200);
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2), Ok(2));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 99), Ok(8));
    // More channels than any device has (the kernel's bound, 128) is the
    // caller's error: refused, the count in effect kept.
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 129), Err(libc::EINVAL));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, -1), Err(libc::EINVAL));
    assert_eq!(k.ioctl_int(fh, SOUND_PCM_READ_CHANNELS, 0), Ok(8));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_STEREO, 0), Ok(0));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_SPEED, 44100), Ok(44100));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_SPEED, 5_000_000), Ok(192_000));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_SPEED, 10), Ok(1000));
    let blk = k.ioctl_int(fh, SNDCTL_DSP_GETBLKSIZE, 0).unwrap();
    assert!(blk >= 16 && (blk as u32).is_power_of_two(), "{blk}");
    let r = k.ioctl(fh, SNDCTL_DSP_GETOSPACE, &[]);
    assert_eq!(r.error, 0);
    let info: Vec<i32> = r
        .ioctl_out()
        .chunks(4)
        .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(info[2], blk, "fragsize is the block size");
    assert!(
        info[1] >= 2 && info[3] > 0 && info[0] == info[3] / blk,
        "{info:?}"
    );
    // Unknown ioctls: EINVAL.
    let r = k.ioctl(fh, 0xC004_50FE, &[0; 4]);
    assert_eq!(r.error, -libc::EINVAL);
    k.release(fh, NONBLOCK);
    k.stop();
}

#[test]
fn a_written_tone_is_played_whole_and_close_drains_it() {
    let mut k = Kernel::start(ROBUST);
    let fh = k.open(WRONLY).unwrap();
    let tone = u8_tone(8000, 500.0, 0.5, 0.5);
    let t0 = Instant::now();
    assert_eq!(k.write(fh, &tone, WRONLY), Ok(tone.len()));
    let r = k.release(fh, WRONLY);
    assert_eq!(r.error, 0);
    let took = t0.elapsed();
    // Paced by the output clock: the writer cannot finish before the sound has.
    assert!(
        took >= Duration::from_millis(450),
        "close returned after {took:?}"
    );
    let f = frames(&k.captured());
    let (start, len) = longest_sound(&f, RATE);
    let secs = len as f64 / RATE as f64;
    assert!((secs - 0.5).abs() < 0.02, "sound lasted {secs} s");
    let left: Vec<i16> = f[start..start + len].iter().map(|x| x.0).collect();
    let right: Vec<i16> = f[start..start + len].iter().map(|x| x.1).collect();
    assert!(
        (frequency(&left, RATE) - 500.0).abs() < 5.0,
        "{}",
        frequency(&left, RATE)
    );
    assert_eq!(left, right, "mono plays on both sides");
    k.stop();
}

#[test]
fn native_format_passes_through_bit_exact() {
    let mut k = Kernel::start(ROBUST);
    let fh = k.open(WRONLY).unwrap();
    k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32)
        .unwrap();
    k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2).unwrap();
    k.ioctl_int(fh, SNDCTL_DSP_SPEED, RATE as i32).unwrap();
    // 0.2 s of pseudo-random full-range samples with a non-zero first frame.
    let mut x = 0x1234_5678u32;
    let data: Vec<u8> = (0..RATE as usize / 5 * 4)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8 | 1
        })
        .collect();
    assert_eq!(k.write(fh, &data, WRONLY), Ok(data.len()));
    let r = k.ioctl(fh, SNDCTL_DSP_SYNC, &[]);
    assert_eq!(r.error, 0);
    let cap = k.captured();
    let first = cap
        .chunks(4)
        .position(|f| f != [0, 0, 0, 0])
        .expect("something played")
        * 4;
    assert!(
        cap.len() >= first + data.len(),
        "SYNC returned before everything was played"
    );
    assert!(cap[first..first + data.len()] == data[..], "not bit-exact");
    k.release(fh, WRONLY);
    k.stop();
}

#[test]
fn a_blocking_write_is_parked_until_the_output_drains() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(WRONLY).unwrap();
    small_buffer(&mut k, fh);
    // 1 s of U8 8 kHz in one request: far more than the buffer holds.
    let tone = u8_tone(8000, 440.0, 1.0, 0.5);
    let t0 = Instant::now();
    let u = k.write_async(fh, &tone, WRONLY);
    assert!(
        k.still_pending(u, Duration::from_millis(300)),
        "answered before it could fit"
    );
    let r = k.wait(u);
    assert_eq!(r.error, 0);
    assert_eq!(r.u32_at(0) as usize, tone.len());
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(700),
        "write returned after {took:?}"
    );
    assert!(
        took <= Duration::from_millis(2000),
        "write returned after {took:?}"
    );
    k.release(fh, NONBLOCK);
    k.stop();
}

#[test]
fn interrupting_a_parked_write_returns_what_was_taken() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(WRONLY).unwrap();
    small_buffer(&mut k, fh);
    let tone = u8_tone(8000, 440.0, 2.0, 0.5);
    let u = k.write_async(fh, &tone, WRONLY);
    assert!(k.still_pending(u, Duration::from_millis(300)));
    k.interrupt(u);
    let r = k.wait(u);
    if r.error == 0 {
        let n = r.u32_at(0) as usize;
        assert!(n > 0 && n < tone.len(), "partial count {n}");
    } else {
        assert_eq!(r.error, -libc::EINTR);
    }
    // The file still works afterwards.
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_SPEED, 0), Ok(8000));
    k.release(fh, NONBLOCK);
    k.stop();
}

#[test]
fn nonblocking_writes_take_what_fits_then_eagain() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(NONBLOCK).unwrap();
    small_buffer(&mut k, fh);
    let tone = u8_tone(8000, 440.0, 1.0, 0.5);
    let n = k.write(fh, &tone, NONBLOCK).unwrap();
    assert!(n > 0 && n < tone.len(), "took {n}");
    assert_eq!(k.write(fh, &tone[n..], NONBLOCK), Err(libc::EAGAIN));
    // SNDCTL_DSP_NONBLOCK on a blocking open has the same effect.
    let fh2 = k.open(WRONLY).unwrap();
    small_buffer(&mut k, fh2);
    k.ioctl(fh2, SNDCTL_DSP_NONBLOCK, &[]);
    let n2 = k.write(fh2, &tone, WRONLY).unwrap();
    assert!(n2 < tone.len());
    k.release(fh, NONBLOCK);
    k.release(fh2, NONBLOCK);
    k.stop();
}

#[test]
fn poll_notifies_when_a_fragment_frees_up() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(NONBLOCK).unwrap();
    small_buffer(&mut k, fh);
    let u = k.poll_async(fh, 77, true);
    let r = k.wait(u);
    assert_ne!(
        r.u32_at(0) & libc::POLLOUT as u32,
        0,
        "empty buffer is writable"
    );
    let tone = u8_tone(8000, 440.0, 1.0, 0.5);
    k.write(fh, &tone, NONBLOCK).unwrap();
    let u = k.poll_async(fh, 78, true);
    let r = k.wait(u);
    assert_eq!(
        r.u32_at(0) & libc::POLLOUT as u32,
        0,
        "full buffer is not writable"
    );
    // The engine drains a fragment: the kernel is told, then polls again.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !k.notifications.contains(&78) && Instant::now() < deadline {
        k.recv(Duration::from_millis(50));
    }
    assert!(k.notifications.contains(&78), "no poll notification");
    let u = k.poll_async(fh, 78, false);
    let r = k.wait(u);
    assert_ne!(r.u32_at(0) & libc::POLLOUT as u32, 0);
    k.release(fh, NONBLOCK);
    k.stop();
}

#[test]
fn thirty_two_clients_at_once_all_finish_in_real_time() {
    let mut k = Kernel::start(device(256, 3));
    let fhs: Vec<u64> = (0..32).map(|_| k.open(WRONLY).unwrap()).collect();
    let tone = u8_tone(8000, 300.0, 0.5, 0.02);
    let t0 = Instant::now();
    // Every client's write is in flight at the same time.
    let writes: Vec<u64> = fhs
        .iter()
        .map(|&fh| k.write_async(fh, &tone, WRONLY))
        .collect();
    for u in writes {
        let r = k.wait(u);
        assert_eq!((r.error, r.u32_at(0) as usize), (0, tone.len()));
    }
    let releases: Vec<u64> = fhs.iter().map(|&fh| k.release_async(fh, WRONLY)).collect();
    for u in releases {
        assert_eq!(k.wait(u).error, 0);
    }
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // All 32 were mixed together: the sum is 32 times one client's level.
    let f = frames(&k.captured());
    let peak = f.iter().map(|x| x.0.unsigned_abs()).max().unwrap();
    assert!(peak > 32 * 127 * 2, "peak {peak}");
    k.stop();
}

#[test]
fn two_writers_are_mixed() {
    let mut k = Kernel::start(ROBUST);
    let a = k.open(WRONLY).unwrap();
    let b = k.open(WRONLY).unwrap();
    let ua = k.write_async(a, &u8_tone(8000, 500.0, 0.5, 0.4), WRONLY);
    let ub = k.write_async(b, &u8_tone(8000, 1200.0, 0.5, 0.4), WRONLY);
    k.wait(ua);
    k.wait(ub);
    let ra = k.release_async(a, WRONLY);
    let rb = k.release_async(b, WRONLY);
    k.wait(ra);
    k.wait(rb);
    assert_holds_500_and_1200(&k.captured());
    k.stop();
}

/// The longest stretch of sound in `captured` holds 500 Hz and 1200 Hz,
/// each far above what lies between them.
fn assert_holds_500_and_1200(captured: &[u8]) {
    let f = frames(captured);
    let (start, len) = longest_sound(&f, RATE);
    let left: Vec<f64> = f[start..start + len].iter().map(|x| x.0 as f64).collect();
    let power = |freq: f64| {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &x) in left.iter().enumerate() {
            let w = std::f64::consts::TAU * freq * i as f64 / RATE as f64;
            re += x * w.cos();
            im += x * w.sin();
        }
        (re * re + im * im).sqrt() / left.len() as f64
    };
    let (p500, p1200, p850) = (power(500.0), power(1200.0), power(850.0));
    assert!(
        p500 > 20.0 * p850 && p1200 > 20.0 * p850,
        "{p500} {p1200} {p850}"
    );
}

/// /dev/audio, the Sun-compatible node, starts in 8 kHz mono mu-law and is
/// the same device as /dev/dsp: `cat tone.au > /dev/audio` (its header
/// played as sound too, 3 ms of it, as the drivers did) is mixed with a
/// /dev/dsp writer, which still starts in U8.
#[test]
fn dev_audio_starts_in_mu_law_and_is_mixed_with_dsp() {
    use ossd::daemon::NodeKind;
    use ossd::pcm::format::{encode, SampleFormat};
    let mut k = Kernel::start_with(ROBUST, &[NodeKind::Dsp, NodeKind::Audio], None);
    k.on(1);
    let au = k.open(WRONLY).unwrap();
    assert_eq!(
        k.ioctl_int(au, SNDCTL_DSP_SETFMT, AFMT_QUERY as i32),
        Ok(AFMT_MU_LAW as i32)
    );
    assert_eq!(k.ioctl_int(au, SOUND_PCM_READ_RATE, 0), Ok(8000));
    assert_eq!(k.ioctl_int(au, SOUND_PCM_READ_CHANNELS, 0), Ok(1));
    // tone.au: a Sun header (magic, data offset, size, mu-law, 8000 Hz, 1
    // channel, big-endian), then 0.5 s of 500 Hz.
    let tone: Vec<f64> = (0..4000)
        .map(|i| 0.4 * (std::f64::consts::TAU * 500.0 * i as f64 / 8000.0).cos())
        .collect();
    let mut body = vec![0u8; tone.len()];
    encode(SampleFormat::MuLaw, &tone, &mut body);
    let mut file = b".snd".to_vec();
    for v in [24u32, body.len() as u32, 1, 8000, 1] {
        file.extend_from_slice(&v.to_be_bytes());
    }
    file.extend_from_slice(&body);
    k.on(0);
    let dsp = k.open(WRONLY).unwrap();
    assert_eq!(
        k.ioctl_int(dsp, SNDCTL_DSP_SETFMT, AFMT_QUERY as i32),
        Ok(AFMT_U8 as i32)
    );
    k.on(1);
    let ua = k.write_async(au, &file, WRONLY);
    k.on(0);
    let ub = k.write_async(dsp, &u8_tone(8000, 1200.0, 0.5, 0.4), WRONLY);
    assert_eq!(k.wait(ua).error, 0);
    assert_eq!(k.wait(ub).error, 0);
    k.on(1);
    let ra = k.release_async(au, WRONLY);
    k.on(0);
    let rb = k.release_async(dsp, WRONLY);
    k.wait(ra);
    k.wait(rb);
    assert_holds_500_and_1200(&k.captured());
    k.stop();
}

#[test]
fn malformed_requests_get_errors_and_hurt_no_one() {
    let mut k = Kernel::start(ROBUST);
    let fh = k.open(WRONLY).unwrap();
    // A client plays all along.
    let tone = u8_tone(8000, 440.0, 1.0, 0.5);
    let w = k.write_async(fh, &tone, WRONLY);

    // Shorter than a header: nothing to answer; dropped.
    k.send_raw(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // A header whose length disagrees with the message: EIO.
    let mut v = Vec::new();
    Header {
        len: 999,
        opcode: opcode::FUSE_OPEN,
        unique: 1000,
        nodeid: 0,
        uid: 0,
        gid: 0,
        pid: 1,
        total_extlen: 0,
    }
    .emit(&mut v);
    v.extend_from_slice(&[0; 8]);
    k.expect_unique(1000, 0);
    k.send_raw(&v);
    // Truncated arguments: EINVAL.
    let u_trunc = k.request(opcode::FUSE_WRITE, &[0; 12], 0);
    let u_ioctl = k.request(opcode::FUSE_IOCTL, &[0; 20], 0);
    // An unknown opcode: ENOSYS.
    let u_unknown = k.request(9999, &[0; 16], 0);
    // A request for a file that was never opened: EBADF.
    let u_badfh = k.ioctl_async(12345, SNDCTL_DSP_SPEED, &0i32.to_ne_bytes(), 4);

    assert_eq!(k.wait(1000).error, -libc::EIO);
    assert_eq!(k.wait(u_trunc).error, -libc::EINVAL);
    assert_eq!(k.wait(u_ioctl).error, -libc::EINVAL);
    assert_eq!(k.wait(u_unknown).error, -libc::ENOSYS);
    assert_eq!(k.wait(u_badfh).error, -libc::EBADF);

    // The playing client never noticed.
    let r = k.wait(w);
    assert_eq!((r.error, r.u32_at(0) as usize), (0, tone.len()));
    k.release(fh, WRONLY);
    let f = frames(&k.captured());
    let (_, len) = longest_sound(&f, RATE);
    assert!((len as f64 / RATE as f64 - 1.0).abs() < 0.02, "{len}");
    k.stop();
}

#[test]
fn a_client_vanishing_with_a_write_parked_loses_nothing_for_others() {
    let mut k = Kernel::start(device(256, 3));
    let victim = k.open(WRONLY).unwrap();
    let other = k.open(WRONLY).unwrap();
    small_buffer(&mut k, victim);
    small_buffer(&mut k, other);
    let wv = k.write_async(victim, &u8_tone(8000, 440.0, 3.0, 0.3), WRONLY);
    let wo = k.write_async(other, &u8_tone(8000, 700.0, 1.0, 0.3), WRONLY);
    assert!(k.still_pending(wv, Duration::from_millis(200)));
    // SIGKILL: the kernel interrupts the parked write, then releases the file.
    k.interrupt(wv);
    let r = k.wait(wv);
    assert!(r.error == 0 || r.error == -libc::EINTR);
    let rel = k.release(victim, WRONLY);
    assert_eq!(rel.error, 0);
    let r = k.wait(wo);
    assert_eq!(r.error, 0);
    k.release(other, WRONLY);
    k.stop();
}

#[test]
fn stopping_answers_parked_requests() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(WRONLY).unwrap();
    let u = k.write_async(fh, &u8_tone(8000, 440.0, 5.0, 0.3), WRONLY);
    assert!(k.still_pending(u, Duration::from_millis(200)));
    k.stopper.stop();
    let r = k.wait(u);
    assert!(r.error != 0 || (r.u32_at(0) as usize) < 40000, "{r:?}");
    k.stop();
}

#[test]
fn sync_waits_until_played() {
    let mut k = Kernel::start(ROBUST);
    let fh = k.open(WRONLY).unwrap();
    let tone = u8_tone(8000, 440.0, 0.3, 0.5);
    k.write(fh, &tone, WRONLY).unwrap();
    let t0 = Instant::now();
    let r = k.ioctl(fh, SNDCTL_DSP_SYNC, &[]);
    assert_eq!(r.error, 0);
    let f = frames(&k.captured());
    let (_, len) = longest_sound(&f, RATE);
    assert!(
        len as f64 / RATE as f64 > 0.28,
        "SYNC returned after {:?} with {len} frames played",
        t0.elapsed()
    );
    // GETODELAY is 0 once drained.
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_GETODELAY, 0), Ok(0));
    k.release(fh, WRONLY);
    k.stop();
}

#[test]
fn ioctl_numbers_reach_us_in_restricted_mode_sizes() {
    // The harness derives in/out sizes from the number as the kernel does; a
    // reply larger than out_size would fail its checks.
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(WRONLY).unwrap();
    for cmd in [
        SNDCTL_DSP_GETOSPACE,
        SNDCTL_DSP_GETOPTR,
        SNDCTL_DSP_GETODELAY,
        SNDCTL_DSP_GETCAPS,
        SNDCTL_DSP_GETFMTS,
    ] {
        let r = k.ioctl(fh, cmd, &[]);
        assert_eq!(r.error, 0, "cmd {cmd:#x}");
        assert_eq!(r.ioctl_out().len(), ((cmd >> 16) & 0x3fff) as usize);
    }
    k.release(fh, NONBLOCK);
    let _ = abi::IOCTL_OUT_SIZE;
    k.stop();
}

#[test]
fn trigger_and_error_counters_survive_a_format_change() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(WRONLY).unwrap();
    // Run dry while playing: one underrun.
    k.write(fh, &u8_tone(8000, 440.0, 0.1, 0.5), WRONLY)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let e = k.ioctl(fh, SNDCTL_DSP_GETERROR, &[]);
    let first = i32::from_ne_bytes(e.ioctl_out()[..4].try_into().unwrap());
    assert!(first >= 1, "{first}");
    // A rate change rebuilds the stream; nothing new happened since.
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_SPEED, 22050), Ok(22050));
    let e = k.ioctl(fh, SNDCTL_DSP_GETERROR, &[]);
    assert_eq!(
        i32::from_ne_bytes(e.ioctl_out()[..4].try_into().unwrap()),
        0
    );
    // SETTRIGGER(0) holds across a format change too.
    assert_eq!(
        k.ioctl(fh, SNDCTL_DSP_SETTRIGGER, &0i32.to_ne_bytes())
            .error,
        0
    );
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2), Ok(2));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_GETTRIGGER, 0), Ok(0));
    k.release(fh, NONBLOCK);
    k.stop();
}

#[test]
fn sync_and_close_do_not_wait_for_output_that_is_gated_off() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(WRONLY).unwrap();
    assert_eq!(
        k.ioctl(fh, SNDCTL_DSP_SETTRIGGER, &0i32.to_ne_bytes())
            .error,
        0
    );
    let n = k
        .write(fh, &u8_tone(8000, 440.0, 0.1, 0.5), NONBLOCK)
        .unwrap();
    assert!(n > 0);
    let t0 = Instant::now();
    assert_eq!(k.ioctl(fh, SNDCTL_DSP_SYNC, &[]).error, 0);
    assert_eq!(k.release(fh, WRONLY).error, 0);
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    k.stop();
}

#[test]
fn idle_release_closes_the_device_and_the_next_client_reopens_it() {
    let opts = ossd::daemon::EngineOptions {
        idle_release: Some(Duration::from_millis(150)),
        ..Default::default()
    };
    let mut k = Kernel::start_engine(ROBUST, &[ossd::daemon::NodeKind::Dsp], None, opts);
    std::thread::sleep(Duration::from_millis(500));
    let idle = k.captured().len();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        k.captured().len(),
        idle,
        "nothing is written while the device is released"
    );
    let fh = k.open(WRONLY).unwrap();
    k.write(fh, &u8_tone(8000, 500.0, 0.3, 0.5), WRONLY)
        .unwrap();
    assert_eq!(k.release(fh, WRONLY).error, 0);
    let f = frames(&k.captured()[idle..]);
    let (start, len) = longest_sound(&f, RATE);
    assert!((len as f64 / RATE as f64 - 0.3).abs() < 0.02, "{len}");
    let left: Vec<i16> = f[start..start + len].iter().map(|x| x.0).collect();
    assert!((frequency(&left, RATE) - 500.0).abs() < 5.0);
    k.stop();
}

/// An `oss_syncgroup` argument.
fn syncgroup(id: i32, mode: u32) -> Vec<u8> {
    OssSyncgroup {
        id,
        mode: mode as i32,
        filler: [0; 16],
    }
    .to_bytes()
    .to_vec()
}

/// SYNCGROUP on `fh`: the group id, or the errno.
fn join(k: &mut Kernel, fh: u64, id: i32, mode: u32) -> Result<i32, i32> {
    let r = k.ioctl(fh, SNDCTL_DSP_SYNCGROUP, &syncgroup(id, mode));
    if r.error != 0 {
        return Err(-r.error);
    }
    Ok(OssSyncgroup::from_bytes(r.ioctl_out()).unwrap().id)
}

#[test]
fn a_sync_group_starts_its_members_on_the_same_frame() {
    let mut k = Kernel::start(device(256, 3));
    // Three files in three formats, each primed with a click on its first
    // frame and silence after: S16 stereo (1000 left), S32 stereo (2000
    // right, in S16 terms) and U8 mono (+1 step: 256 on both sides).
    let clicks: [(u32, i32, Vec<u8>); 3] = [
        (AFMT_S16_LE, 2, {
            let mut v = vec![0u8; 256 * 4];
            v[..2].copy_from_slice(&1000i16.to_le_bytes());
            v
        }),
        (AFMT_S32_LE, 2, {
            let mut v = vec![0u8; 256 * 8];
            v[4..8].copy_from_slice(&(2000i32 << 16).to_le_bytes());
            v
        }),
        (AFMT_U8, 1, {
            let mut v = vec![0x80u8; 256];
            v[0] = 0x81;
            v
        }),
    ];
    let mut id = 0;
    let mut fhs = Vec::new();
    for (fmt, ch, data) in &clicks {
        let fh = k.open(WRONLY).unwrap();
        k.ioctl_int(fh, SNDCTL_DSP_SETFMT, *fmt as i32).unwrap();
        k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, *ch).unwrap();
        k.ioctl_int(fh, SNDCTL_DSP_SPEED, RATE as i32).unwrap();
        let got = join(&mut k, fh, id, PCM_ENABLE_OUTPUT).unwrap();
        assert!(got > 0 && (id == 0 || got == id), "group id {got}");
        id = got;
        // Armed: output gated off until the start.
        assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_GETTRIGGER, 0), Ok(0));
        assert_eq!(k.write(fh, data, WRONLY), Ok(data.len()));
        fhs.push(fh);
    }
    std::thread::sleep(Duration::from_millis(30));
    let before = k.captured();
    assert!(
        before.iter().all(|&b| b == 0),
        "nothing plays before SYNCSTART"
    );
    // Any file may start the group, here the first.
    assert_eq!(
        k.ioctl(fhs[0], SNDCTL_DSP_SYNCSTART, &id.to_ne_bytes())
            .error,
        0
    );
    for &fh in &fhs {
        assert_eq!(
            k.ioctl_int(fh, SNDCTL_DSP_GETTRIGGER, 0),
            Ok(PCM_ENABLE_OUTPUT as i32)
        );
        assert_eq!(k.release(fh, WRONLY).error, 0); // drains
    }
    let heard: Vec<(usize, (i16, i16))> = frames(&k.captured())
        .into_iter()
        .enumerate()
        .filter(|(_, f)| *f != (0, 0))
        .collect();
    assert_eq!(
        heard.iter().map(|&(_, f)| f).collect::<Vec<_>>(),
        vec![(1256, 2256)],
        "the three clicks land on one frame: {heard:?}"
    );
    // The group ended when it started: joining it now fails.
    let fh = k.open(WRONLY).unwrap();
    assert_eq!(join(&mut k, fh, id, PCM_ENABLE_OUTPUT), Err(libc::EINVAL));
    k.release(fh, NONBLOCK);
    k.stop();
}

#[test]
fn sync_group_errors() {
    let mut k = Kernel::start(device(256, 3));
    let fh = k.open(WRONLY).unwrap();
    // A mode of nothing, of unknown bits, or of a direction the file lacks.
    assert_eq!(join(&mut k, fh, 0, 0), Err(libc::EINVAL));
    assert_eq!(join(&mut k, fh, 0, 0x10), Err(libc::EINVAL));
    assert_eq!(join(&mut k, fh, 0, PCM_ENABLE_INPUT), Err(libc::EINVAL));
    // An unknown group.
    assert_eq!(join(&mut k, fh, 4711, PCM_ENABLE_OUTPUT), Err(libc::EINVAL));
    assert_eq!(
        k.ioctl(fh, SNDCTL_DSP_SYNCSTART, &4711i32.to_ne_bytes())
            .error,
        -libc::EINVAL
    );
    // A file joins one group once.
    let id = join(&mut k, fh, 0, PCM_ENABLE_OUTPUT).unwrap();
    assert_eq!(join(&mut k, fh, id, PCM_ENABLE_OUTPUT), Err(libc::EBUSY));
    assert_eq!(join(&mut k, fh, 0, PCM_ENABLE_OUTPUT), Err(libc::EBUSY));
    // A group whose members all closed is gone.
    k.release(fh, NONBLOCK);
    let fh = k.open(WRONLY).unwrap();
    assert_eq!(join(&mut k, fh, id, PCM_ENABLE_OUTPUT), Err(libc::EINVAL));
    assert_eq!(
        k.ioctl(fh, SNDCTL_DSP_SYNCSTART, &id.to_ne_bytes()).error,
        -libc::EINVAL
    );
    k.release(fh, NONBLOCK);
    k.stop();
}
