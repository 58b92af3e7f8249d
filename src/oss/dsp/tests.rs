use super::*;

fn dev() -> DeviceConfig {
    DeviceConfig {
        period_frames: 256,
        buffer_frames: 768,
        ..crate::mix::fixtures::dev()
    }
}
use crate::mix::Quality;

struct T {
    dsp: Dsp,
    voice: Voice,
    info: DeviceInfo,
    played: u64,
}

impl T {
    fn new() -> T {
        let dsp = Dsp::new(dev());
        let voice = dsp.make_voice(Quality::Fast);
        T {
            dsp,
            voice,
            info: DeviceInfo {
                alsa_name: "hw:0,0".into(),
                devnode: "/dev/dsp".into(),
                open_files: 1,
                busy: OPEN_WRITE,
                has_capture: false,
                has_mixer: true,
            },
            played: 0,
        }
    }
    fn call(&mut self, cmd: u32, input: &[u8]) -> Outcome {
        let env = Env {
            played: self.played,
            info: &self.info,
            igain: Volume::FULL,
        };
        let streams = Streams {
            play: Some(&mut self.voice),
            rec: None,
        };
        let done = self.dsp.ioctl(streams, env, cmd, input);
        if done.rebuild {
            // What the server does after a change.
            self.voice = self.dsp.make_voice(Quality::Fast);
        }
        done.outcome
    }
    fn int(&mut self, cmd: u32, v: i32) -> i32 {
        match self.call(cmd, &v.to_ne_bytes()) {
            Outcome::Reply { out, .. } => i32::from_ne_bytes(out[..4].try_into().unwrap()),
            o => panic!("{cmd:#x}: {o:?}"),
        }
    }
    fn ints(&mut self, cmd: u32) -> Vec<i32> {
        match self.call(cmd, &[]) {
            Outcome::Reply { out, .. } => out
                .chunks(4)
                .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                .collect(),
            o => panic!("{cmd:#x}: {o:?}"),
        }
    }
}

#[test]
fn fresh_open_is_u8_mono_8000() {
    let mut t = T::new();
    assert_eq!(t.int(SNDCTL_DSP_SETFMT, AFMT_QUERY as i32), AFMT_U8 as i32);
    assert_eq!(t.int(SOUND_PCM_READ_CHANNELS, 0), 1);
    assert_eq!(t.int(SOUND_PCM_READ_RATE, 0), 8000);
    assert_eq!(t.int(SNDCTL_DSP_GETPLAYVOL, 0), 100 | 100 << 8);
}

/// Cygwin's /dev/dsp test raises CHANNELS 1, 2, 3, ... until the driver
/// refuses: it is refused at 129, as by the kernel's emulation, with
/// EINVAL and the count in effect unchanged; a negative count too.
#[test]
fn channels_beyond_any_device_are_refused() {
    let mut t = T::new();
    let mut n = 1i32;
    while let Outcome::Reply { .. } = t.call(SNDCTL_DSP_CHANNELS, &n.to_ne_bytes()) {
        n += 1;
        assert!(n <= 100_000, "CHANNELS never refused");
    }
    assert_eq!(n, CHANNELS_LIMIT as i32 + 1);
    for v in [129, 1000, i32::MAX, -1, i32::MIN] {
        assert_eq!(
            t.call(SNDCTL_DSP_CHANNELS, &v.to_ne_bytes()),
            Outcome::Error(libc::EINVAL),
            "CHANNELS {v}"
        );
        assert_eq!(t.int(SOUND_PCM_READ_CHANNELS, 0), MAX_CHANNELS as i32);
    }
}

#[test]
fn set_calls_write_back_what_is_in_effect() {
    let mut t = T::new();
    for (v, want) in [
        (AFMT_S16_LE as i32, AFMT_S16_LE as i32),
        (AFMT_MPEG as i32, AFMT_S16_LE as i32),
        (-5, AFMT_S16_LE as i32),
        (0, AFMT_S16_LE as i32),
    ] {
        assert_eq!(t.int(SNDCTL_DSP_SETFMT, v), want, "SETFMT {v:#x}");
    }
    // Several bits: the lowest supported one.
    assert_eq!(
        t.int(SNDCTL_DSP_SETFMT, (AFMT_S16_BE | AFMT_U8) as i32),
        AFMT_U8 as i32
    );
    for (v, want) in [(2, 2), (0, 2), (1, 1), (9, 8), (128, 8), (6, 6)] {
        assert_eq!(t.int(SNDCTL_DSP_CHANNELS, v), want, "CHANNELS {v}");
    }
    assert_eq!(t.int(SNDCTL_DSP_STEREO, 1), 1);
    assert_eq!(t.int(SOUND_PCM_READ_CHANNELS, 0), 2);
    assert_eq!(t.int(SNDCTL_DSP_STEREO, 0), 0);
    assert_eq!(t.int(SNDCTL_DSP_STEREO, -7), 1);
    for (v, want) in [
        (44100, 44100),
        (0, 44100),
        (-1, 44100),
        (1, 1000),
        (999_999_999, 192_000),
        (48000, 48000),
    ] {
        assert_eq!(t.int(SNDCTL_DSP_SPEED, v), want, "SPEED {v}");
    }
}

#[test]
fn every_format_can_be_chosen_and_reported() {
    let mut t = T::new();
    let all = t.int(SNDCTL_DSP_GETFMTS, 0) as u32;
    for f in SampleFormat::ALL {
        assert_ne!(all & f.afmt(), 0);
        assert_eq!(t.int(SNDCTL_DSP_SETFMT, f.afmt() as i32), f.afmt() as i32);
        assert_eq!(t.int(SNDCTL_DSP_SETFMT, 0), f.afmt() as i32);
    }
}

#[test]
fn setfragment_is_honoured_within_bounds_and_written_back() {
    let mut t = T::new();
    t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
    t.int(SNDCTL_DSP_CHANNELS, 2);
    t.int(SNDCTL_DSP_SPEED, 48000);
    // 8 fragments of 4 KiB.
    let r = t.int(SNDCTL_DSP_SETFRAGMENT, 0x0008_000C);
    assert_eq!(r, 0x0008_000C);
    assert_eq!(t.int(SNDCTL_DSP_GETBLKSIZE, 0), 4096);
    let o = t.ints(SNDCTL_DSP_GETOSPACE);
    assert_eq!(o, vec![8, 8, 4096, 8 * 4096]);
    // Tiny fragments: size clamps to 16 bytes and the count rises until
    // the buffer holds two device periods (2 × 264 frames × 4 bytes).
    let r = t.int(SNDCTL_DSP_SETFRAGMENT, 0x0002_0001) as u32;
    assert_eq!(r & 0xffff, 4);
    assert!((r >> 16) as usize * 16 >= 2 * 264 * 4, "{r:#x}");
    // Huge: bounded by 1 MiB.
    let r = t.int(SNDCTL_DSP_SETFRAGMENT, 0x7fff_00ff) as u32;
    assert_eq!(r & 0xffff, 16);
    assert!((r >> 16) as usize * 65536 <= 1 << 20);
    // After I/O started it no longer changes anything.
    t.dsp.start_io();
    let before = t.int(SNDCTL_DSP_GETBLKSIZE, 0);
    t.int(SNDCTL_DSP_SETFRAGMENT, 0x0004_0008);
    assert_eq!(t.int(SNDCTL_DSP_GETBLKSIZE, 0), before);
}

#[test]
fn default_buffer_is_tens_of_milliseconds() {
    let mut t = T::new();
    t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
    t.int(SNDCTL_DSP_CHANNELS, 2);
    t.int(SNDCTL_DSP_SPEED, 44100);
    let o = t.ints(SNDCTL_DSP_GETOSPACE);
    let ms = o[3] as f64 / (44100.0 * 4.0) * 1000.0;
    assert!((10.0..=100.0).contains(&ms), "{ms} ms");
    assert_eq!(o[0], o[1], "empty buffer: every fragment free");
}

/// OSS 4's synctest preloads 32 KiB of 8 kHz U8 into each file of a
/// sync group before starting it: a slow stream's default buffer holds
/// that, whatever the device period, in fragments of the usual size;
/// 48 and 44.1 kHz S16 stereo keep the period-based buffer exactly.
#[test]
fn a_slow_stream_holds_a_preload_in_bytes_and_fast_ones_keep_their_buffer() {
    let fmt = |sample, rate, channels| PcmFormat {
        sample,
        rate,
        channels,
    };
    for period in [128, 256, 1024] {
        let dev = DeviceConfig {
            period_frames: period,
            buffer_frames: 3 * period,
            ..crate::mix::fixtures::dev()
        };
        let geometry = |f: PcmFormat, request: Option<i32>| {
            let mut d = Dsp::new(dev);
            d.fmt = f;
            if let Some(r) = request {
                let env = Env {
                    played: 0,
                    info: &DeviceInfo::default(),
                    igain: Volume::FULL,
                };
                d.ioctl(
                    Streams::default(),
                    env,
                    SNDCTL_DSP_SETFRAGMENT,
                    &r.to_ne_bytes(),
                );
            }
            d.geometry()
        };
        // The fragment holds one device period, as for any stream.
        let fragment = |f: PcmFormat| {
            ((period as usize * f.rate as usize).div_ceil(48000) * f.frame_bytes())
                .next_power_of_two()
                .max(16)
        };
        for (f, at_least) in [
            (fmt(SampleFormat::U8, 8000, 1), 32usize << 10),
            (fmt(SampleFormat::MuLaw, 8000, 1), 32 << 10),
            (fmt(SampleFormat::U8, 4000, 1), 32 << 10),
            (fmt(SampleFormat::S16Le, 8000, 1), 8 << 10),
            (fmt(SampleFormat::S16Le, 16000, 1), 2 << 10),
        ] {
            let (size, count) = geometry(f, None);
            assert_eq!(size, fragment(f), "{f:?} at {period}-frame periods");
            // As many as the floor needs, or the usual four.
            assert_eq!(
                count,
                at_least.div_ceil(size).max(4),
                "{f:?} at {period}-frame periods: {count} × {size} B"
            );
            // A program that chose its buffer keeps it (raised only
            // to two mix blocks, as any).
            let (size, count) = geometry(f, Some(0x0004_0008));
            assert!(
                size == 256 && size * count < at_least,
                "{f:?}: {count} × {size}"
            );
        }
        // Four fragments of one period, as before.
        for f in [
            fmt(SampleFormat::S16Le, 48000, 2),
            fmt(SampleFormat::S16Le, 44100, 2),
        ] {
            assert_eq!(geometry(f, None), (fragment(f), 4), "{f:?} at {period}");
        }
    }
    assert_eq!(
        Dsp {
            fmt: fmt(SampleFormat::S16Le, 44100, 1),
            ..Dsp::new(dev())
        }
        .low_rate_floor(),
        269,
        "below any default buffer from 44.1 kHz S16 mono up"
    );
}

#[test]
fn a_raised_device_period_makes_the_default_fragment_hold_one_and_doubles_them() {
    // At the open, overload had raised the device's period to `mult`
    // mix blocks.
    let open = |mult: u32| {
        let mut t = T::new();
        let block = t.dsp.dev.period_frames;
        t.dsp.set_device_period(mult * block);
        t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
        t.int(SNDCTL_DSP_CHANNELS, 2);
        t.int(SNDCTL_DSP_SPEED, 48000);
        t
    };
    let small = open(1).ints(SNDCTL_DSP_GETOSPACE);
    let big = open(4).ints(SNDCTL_DSP_GETOSPACE);
    assert_eq!(big[2], 4 * small[2], "{small:?} {big:?}");
    assert_eq!(big[1], 2 * small[1], "twice the fragments under overload");
    // A period below the mix block changes nothing; SETFRAGMENT wins.
    assert_eq!(open(0).ints(SNDCTL_DSP_GETOSPACE), small);
    let mut t = open(4);
    t.int(SNDCTL_DSP_SETFRAGMENT, 0x0008_000C);
    assert_eq!(t.ints(SNDCTL_DSP_GETOSPACE), vec![8, 8, 4096, 8 * 4096]);
}

#[test]
fn a_stream_that_starves_twice_within_two_seconds_gets_twice_the_fragments() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut t = T::new();
    t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
    t.int(SNDCTL_DSP_CHANNELS, 2);
    t.int(SNDCTL_DSP_SPEED, 48000);
    let (size, count) = t.dsp.geometry();
    // Once: nothing. Again, 2.5 s later: too far apart, nothing.
    assert!(!t.dsp.note_starved(1, at(0)));
    assert!(!t.dsp.note_starved(1, at(100)), "no new one");
    assert!(!t.dsp.note_starved(2, at(2500)));
    assert_eq!(t.dsp.geometry(), (size, count));
    // Again within 2 s: twice the fragments, same size.
    assert!(t.dsp.note_starved(3, at(3000)));
    assert_eq!(t.dsp.geometry(), (size, 2 * count));
    // Two at once count as twice. Up to 250 ms of sound, never more.
    let mut grew = 1;
    for n in 0..20u32 {
        if t.dsp.note_starved(5 + 2 * n, at(4000 + u64::from(n))) {
            grew += 1;
        }
    }
    let (s, c) = t.dsp.geometry();
    assert_eq!(s, size);
    assert!(
        t.dsp.bytes_ms(s * c) <= 250.0,
        "{} ms",
        t.dsp.bytes_ms(s * c)
    );
    assert!(
        t.dsp.bytes_ms(s * c * 2) > 250.0,
        "stopped early: {c} fragments"
    );
    assert_eq!(c, count << grew);
    // The voice made now has that ring; GETOSPACE shows it.
    t.voice = t.dsp.make_voice(Quality::Fast);
    assert_eq!(t.ints(SNDCTL_DSP_GETOSPACE)[1] as usize, c);
}

#[test]
fn a_buffer_chosen_with_setfragment_does_not_grow_when_starved() {
    let t0 = Instant::now();
    let mut t = T::new();
    t.int(SNDCTL_DSP_SETFRAGMENT, 0x0004_0009);
    let g = t.dsp.geometry();
    for n in 1..10 {
        assert!(!t
            .dsp
            .note_starved(n, t0 + Duration::from_millis(u64::from(n))));
    }
    assert_eq!(t.dsp.geometry(), g);
}

#[test]
fn subdivide_splits_the_default_fragment() {
    let mut t = T::new();
    let whole = t.int(SNDCTL_DSP_GETBLKSIZE, 0);
    assert_eq!(t.int(SNDCTL_DSP_SUBDIVIDE, 2), 2);
    assert_eq!(t.int(SNDCTL_DSP_GETBLKSIZE, 0), whole / 2);
    assert_eq!(
        t.call(SNDCTL_DSP_SUBDIVIDE, &3i32.to_ne_bytes()),
        Outcome::Error(libc::EINVAL)
    );
}

#[test]
fn odelay_and_optr_follow_the_device_position() {
    let mut t = T::new();
    t.int(SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32);
    t.int(SNDCTL_DSP_CHANNELS, 2);
    t.int(SNDCTL_DSP_SPEED, 48000);
    assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), 0);
    t.voice.push(&vec![1u8; 1024 * 4]);
    assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), 1024 * 4);
    // The engine mixes one period: it is in flight until the device plays it.
    let mut acc = vec![0i64; 512];
    t.voice.render(&mut acc, 0);
    assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), 1024 * 4);
    assert_eq!(t.ints(SNDCTL_DSP_GETOPTR)[0], 0);
    t.played = 100;
    assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), (1024 - 100) * 4);
    let optr = t.ints(SNDCTL_DSP_GETOPTR);
    assert_eq!(optr[0], 400);
    t.played = 256;
    assert_eq!(t.ints(SNDCTL_DSP_GETOPTR)[0], 1024);
    // CURRENT_OPTR: frames played and frames queued.
    match t.call(SNDCTL_DSP_CURRENT_OPTR, &[]) {
        Outcome::Reply { out, .. } => {
            assert_eq!(out.len(), OssCount::SIZE);
            let c = OssCount::from_bytes(&out).unwrap();
            assert_eq!((c.samples, c.fifo_samples), (256, 1024 - 256));
        }
        o => panic!("{o:?}"),
    }
    // RESET drops everything at once.
    t.call(SNDCTL_DSP_RESET, &[]);
    assert_eq!(t.int(SNDCTL_DSP_GETODELAY, 0), 0);
    let o = t.ints(SNDCTL_DSP_GETOSPACE);
    assert_eq!(o[3] as usize, t.voice.capacity());
}

#[test]
fn current_optr_answers_an_i386_program_with_its_140_bytes() {
    let mut t = T::new();
    t.voice.push(&[1u8; 100]);
    t.played = 30;
    let full = match t.call(SNDCTL_DSP_CURRENT_OPTR, &[]) {
        Outcome::Reply { out, .. } => out,
        o => panic!("{o:?}"),
    };
    let i386 = match t.call(SNDCTL_DSP_CURRENT_OPTR_I386, &[]) {
        Outcome::Reply { out, .. } => out,
        o => panic!("{o:?}"),
    };
    assert_eq!((full.len(), i386.len()), (144, OSS_COUNT_I386_SIZE));
    assert_eq!(i386[..], full[..140]);
    // A playback-only file has no recording position, in either size.
    assert_eq!(
        t.call(SNDCTL_DSP_CURRENT_IPTR_I386, &[]),
        Outcome::Error(libc::EINVAL)
    );
}

#[test]
fn trigger_sync_post_skip_silence() {
    let mut t = T::new();
    assert_eq!(t.int(SNDCTL_DSP_GETTRIGGER, 0), PCM_ENABLE_OUTPUT as i32);
    assert_eq!(
        t.call(SNDCTL_DSP_SETTRIGGER, &0i32.to_ne_bytes()),
        Outcome::ok()
    );
    assert_eq!(t.int(SNDCTL_DSP_GETTRIGGER, 0), 0);
    assert!(!t.voice.trigger());
    // Gated off, SYNC has nothing to wait for.
    assert_eq!(t.call(SNDCTL_DSP_SYNC, &[]), Outcome::ok());
    t.call(
        SNDCTL_DSP_SETTRIGGER,
        &(PCM_ENABLE_OUTPUT as i32).to_ne_bytes(),
    );
    assert!(t.voice.trigger());
    assert_eq!(t.call(SNDCTL_DSP_SYNC, &[]), Outcome::ParkUntilDrained);
    t.voice.push(&[7u8; 100]);
    t.call(SNDCTL_DSP_SILENCE, &[]);
    let q = t.voice.queued_bytes();
    assert_eq!(q.len(), 100);
    assert!(q.iter().all(|&x| x == 0x80), "U8 silence is 0x80");
    t.call(SNDCTL_DSP_SKIP, &[]);
    assert_eq!(t.voice.queued(), 0);
    assert_eq!(t.call(SNDCTL_DSP_POST, &[]), Outcome::ok());
}

#[test]
fn playback_volume_is_clamped_and_applied() {
    let mut t = T::new();
    assert_eq!(t.int(SNDCTL_DSP_SETPLAYVOL, 50 | 30 << 8), 50 | 30 << 8);
    assert_eq!(t.int(SNDCTL_DSP_GETPLAYVOL, 0), 50 | 30 << 8);
    assert!(t.voice.gains()[0] > t.voice.gains()[1] && t.voice.gains()[0] < 1.0);
    assert_eq!(t.int(SNDCTL_DSP_SETPLAYVOL, 200 | 255 << 8), 100 | 100 << 8);
    assert_eq!(t.voice.gains(), vec![1.0, 1.0]);
    assert_eq!(t.int(SNDCTL_DSP_SETPLAYVOL, 0), 0);
    assert_eq!(t.voice.gains(), vec![0.0, 0.0]);
    // The volume survives a format change (the voice is rebuilt).
    t.int(SNDCTL_DSP_SETPLAYVOL, 70 | 70 << 8);
    t.int(SNDCTL_DSP_SPEED, 22050);
    assert_eq!(t.voice.gains(), vec![Volume::gain(70); 2]);
    assert_eq!(t.int(SNDCTL_DSP_SETRECVOL, 40 | 40 << 8), 40 | 40 << 8);
    assert_eq!(t.int(SNDCTL_DSP_GETRECVOL, 0), 40 | 40 << 8);
}

/// GETTRIGGER after `calls` on a file with these directions.
fn trigger_after(play: bool, rec: bool, calls: &[(u32, i32)]) -> i32 {
    let d = dev();
    let mut dsp = Dsp::new(d);
    let mut v = play.then(|| dsp.make_voice(Quality::Fast));
    let mut r = rec.then(|| dsp.make_rec_voice(&d, Quality::Fast, Volume::FULL));
    let info = DeviceInfo::default();
    let mut call = |dsp: &mut Dsp, cmd: u32, arg: i32| {
        let env = Env {
            played: 0,
            info: &info,
            igain: Volume::FULL,
        };
        let streams = Streams {
            play: v.as_mut(),
            rec: r.as_mut(),
        };
        dsp.ioctl(streams, env, cmd, &arg.to_ne_bytes()).outcome
    };
    for &(cmd, arg) in calls {
        call(&mut dsp, cmd, arg);
    }
    match call(&mut dsp, SNDCTL_DSP_GETTRIGGER, 0) {
        Outcome::Reply { out, .. } => i32::from_ne_bytes(out[..4].try_into().unwrap()),
        o => panic!("{o:?}"),
    }
}

#[test]
fn trigger_bits_are_enables_set_at_open_for_each_direction() {
    let (i, o) = (PCM_ENABLE_INPUT as i32, PCM_ENABLE_OUTPUT as i32);
    // Fresh opens: O_RDWR, O_WRONLY, O_RDONLY (OSS 4 manual, SETTRIGGER:
    // both enabled by default; the stream still starts at its first I/O).
    assert_eq!(trigger_after(true, true, &[]), i | o);
    assert_eq!(trigger_after(true, false, &[]), o);
    assert_eq!(trigger_after(false, true, &[]), i);
    // SETTRIGGER sets exactly what it is given, for the directions the
    // file has.
    assert_eq!(trigger_after(true, true, &[(SNDCTL_DSP_SETTRIGGER, 0)]), 0);
    assert_eq!(trigger_after(true, true, &[(SNDCTL_DSP_SETTRIGGER, o)]), o);
    assert_eq!(trigger_after(true, true, &[(SNDCTL_DSP_SETTRIGGER, i)]), i);
    assert_eq!(
        trigger_after(true, false, &[(SNDCTL_DSP_SETTRIGGER, i | o)]),
        o
    );
    assert_eq!(
        trigger_after(false, true, &[(SNDCTL_DSP_SETTRIGGER, -1)]),
        i
    );
    // RESET (HALT) enables both again, as just after open; HALT_OUTPUT
    // and HALT_INPUT their own direction.
    let off = (SNDCTL_DSP_SETTRIGGER, 0);
    assert_eq!(
        trigger_after(true, true, &[off, (SNDCTL_DSP_RESET, 0)]),
        i | o
    );
    assert_eq!(
        trigger_after(true, true, &[off, (SNDCTL_DSP_HALT_OUTPUT, 0)]),
        o
    );
    assert_eq!(
        trigger_after(true, true, &[off, (SNDCTL_DSP_HALT_INPUT, 0)]),
        i
    );
    assert_eq!(
        trigger_after(false, true, &[off, (SNDCTL_DSP_HALT_INPUT, 0)]),
        i
    );
    // A format change rebuilds the streams but keeps the bits.
    assert_eq!(
        trigger_after(true, true, &[off, (SNDCTL_DSP_SPEED, 22050)]),
        0
    );
}

#[test]
fn settrigger_gates_output_and_starts_or_halts_recording() {
    let d = dev();
    let mut dsp = Dsp::new(d);
    let mut v = dsp.make_voice(Quality::Fast);
    let mut r = dsp.make_rec_voice(&d, Quality::Fast, Volume::FULL);
    assert!(v.trigger() && !r.running(), "recording waits for a read");
    dsp.set_trigger(
        Streams {
            play: Some(&mut v),
            rec: Some(&mut r),
        },
        PCM_ENABLE_INPUT,
    );
    assert!(!v.trigger() && r.running());
    assert!(!dsp.enabled(PCM_ENABLE_OUTPUT) && dsp.enabled(PCM_ENABLE_INPUT));
    dsp.set_trigger(
        Streams {
            play: Some(&mut v),
            rec: Some(&mut r),
        },
        PCM_ENABLE_OUTPUT,
    );
    assert!(v.trigger() && !r.running());
    assert!(!dsp.enabled(PCM_ENABLE_INPUT), "a read no longer starts it");
}

#[test]
fn geterror_reports_new_underruns_once() {
    let mut t = T::new();
    t.voice.set_underruns(3);
    let e = t.ints(SNDCTL_DSP_GETERROR);
    assert_eq!(e.len() * 4, AudioErrInfo::SIZE);
    assert_eq!(e[0], 3);
    assert_eq!(t.ints(SNDCTL_DSP_GETERROR)[0], 0);
}

#[test]
fn caps_and_information_calls() {
    let mut t = T::new();
    let caps = t.int(SNDCTL_DSP_GETCAPS, 0) as u32;
    assert_ne!(caps & DSP_CAP_TRIGGER, 0);
    assert_ne!(caps & DSP_CAP_REALTIME, 0);
    assert_ne!(caps & DSP_CAP_MULTI, 0);
    assert_eq!(caps & DSP_CAP_MMAP, 0, "CUSE cannot mmap");
    assert!(t.int(OSS_GETVERSION, 0) >= 0x040000);
    match t.call(SNDCTL_SYSINFO, &[]) {
        Outcome::Reply { out, .. } => {
            let s = OssSysinfo::from_bytes(&out).unwrap();
            assert_eq!(cstr_to_string(&s.product), "ossd");
            assert_eq!(s.numaudios, 1);
        }
        o => panic!("{o:?}"),
    }
    for cmd in [SNDCTL_AUDIOINFO, SNDCTL_AUDIOINFO_EX, SNDCTL_ENGINEINFO] {
        let mut q = OssAudioinfo {
            dev: -1,
            ..OssAudioinfo::default()
        };
        match t.call(cmd, &q.to_bytes()) {
            Outcome::Reply { out, .. } => {
                let a = OssAudioinfo::from_bytes(&out).unwrap();
                assert_eq!(cstr_to_string(&a.devnode), "/dev/dsp");
                assert!(cstr_to_string(&a.name).contains("hw:0,0"));
                assert_eq!(a.max_channels, 8);
            }
            o => panic!("{o:?}"),
        }
        q.dev = 5;
        assert_eq!(t.call(cmd, &q.to_bytes()), Outcome::Error(libc::EINVAL));
    }
    let mut name = [0u8; OSS_LONGNAME_SIZE];
    set_cstr(&mut name, "mpg123");
    assert_eq!(t.call(SNDCTL_SETNAME, &name), Outcome::ok());
    assert_eq!(t.dsp.name, "mpg123");
}

/// GStreamer's oss4src asks ENGINEINFO(-1) on its read-only file and
/// needs the input engine's formats, a rate range it may use (FREERATE,
/// or a list) and channels, or it records nothing. A recording file
/// gets them whether the device records from a capture card or from the
/// mix (the monitor, with no capture device configured).
#[test]
fn a_recording_file_learns_its_input_engine_in_full() {
    let d = dev();
    let mut dsp = Dsp::new(d);
    let mut r = dsp.make_rec_voice(&d, Quality::Fast, Volume::FULL);
    for has_capture in [true, false] {
        let info = DeviceInfo {
            alsa_name: "hw:0,0".into(),
            devnode: "/dev/dsp".into(),
            open_files: 1,
            busy: OPEN_READ,
            has_capture,
            has_mixer: true,
        };
        for cmd in [SNDCTL_ENGINEINFO, SNDCTL_AUDIOINFO] {
            let q = OssAudioinfo {
                dev: -1,
                ..OssAudioinfo::default()
            };
            let env = Env {
                played: 0,
                info: &info,
                igain: Volume::FULL,
            };
            let streams = Streams {
                play: None,
                rec: Some(&mut r),
            };
            let Outcome::Reply { out, .. } = dsp.ioctl(streams, env, cmd, &q.to_bytes()).outcome
            else {
                panic!("{cmd:#x} failed")
            };
            let a = OssAudioinfo::from_bytes(&out).unwrap();
            let caps = a.caps as u32;
            assert_ne!(caps & PCM_CAP_INPUT, 0, "{cmd:#x}");
            assert_eq!(a.iformats as u32, crate::pcm::format::SUPPORTED_AFMTS);
            assert_ne!(caps & PCM_CAP_FREERATE, 0);
            assert_eq!((a.min_rate, a.max_rate), (1000, 192_000));
            assert_eq!((a.min_channels, a.max_channels), (1, 8));
            assert_eq!(a.busy as u32, OPEN_READ);
        }
    }
    // The device as a whole: input only with a capture device.
    let info = DeviceInfo::default();
    let q = OssAudioinfo::default(); // dev 0
    let env = Env {
        played: 0,
        info: &info,
        igain: Volume::FULL,
    };
    let streams = Streams {
        play: None,
        rec: Some(&mut r),
    };
    let Outcome::Reply { out, .. } = dsp
        .ioctl(streams, env, SNDCTL_AUDIOINFO, &q.to_bytes())
        .outcome
    else {
        panic!("AUDIOINFO(0) failed")
    };
    let a = OssAudioinfo::from_bytes(&out).unwrap();
    assert_eq!((a.caps as u32 & PCM_CAP_INPUT, a.iformats), (0, 0));
    assert_ne!(a.caps as u32 & PCM_CAP_FREERATE, 0);
}

#[test]
fn bad_arguments_and_unknown_calls_get_einval() {
    let mut t = T::new();
    // Truncated input (never from a real kernel, but never a panic).
    assert_eq!(
        t.call(SNDCTL_DSP_SPEED, &[1, 2]),
        Outcome::Error(libc::EINVAL)
    );
    assert_eq!(
        t.call(SNDCTL_SETNAME, &[0; 3]),
        Outcome::Error(libc::EINVAL)
    );
    assert_eq!(t.call(0xdead_beef, &[]), Outcome::Error(libc::EINVAL));
    assert_eq!(
        t.call(SNDCTL_DSP_MAPOUTBUF, &[]),
        Outcome::Error(libc::EINVAL)
    );
    assert_eq!(
        t.call(SNDCTL_DSP_POLICY, &11i32.to_ne_bytes()),
        Outcome::Error(libc::EINVAL)
    );
    assert_eq!(
        t.call(SNDCTL_DSP_GETISPACE, &[]),
        Outcome::Error(libc::EINVAL)
    );
}

#[test]
fn ident_call_answers_magic_and_version_and_changes_nothing() {
    let mut t = T::new();
    // The number: _IOR('P', 0xf0, 8 bytes), as preload/ossd_run.c has it.
    assert_eq!(SNDCTL_DSP_OSSD_IDENT, 0x8008_50f0);
    assert_eq!(ioc_size(SNDCTL_DSP_OSSD_IDENT), OSSD_IDENT_SIZE);
    let before = t.ints(SNDCTL_DSP_GETOSPACE);
    let caps = t.int(SNDCTL_DSP_GETCAPS, 0);
    assert_eq!(
        t.ints(SNDCTL_DSP_OSSD_IDENT),
        vec![OSSD_IDENT_MAGIC as i32, OSSD_IDENT_VERSION as i32]
    );
    assert_eq!(&OSSD_IDENT_MAGIC.to_be_bytes(), b"ossd");
    // Asking is free: no geometry change, no MMAP claimed by ossd itself.
    assert_eq!(t.ints(SNDCTL_DSP_GETOSPACE), before);
    assert_eq!(t.int(SNDCTL_DSP_GETCAPS, 0), caps);
    assert_eq!(caps as u32 & DSP_CAP_MMAP, 0);
    // A neighbouring unknown number is still EINVAL.
    assert_eq!(
        t.call(ior(OSS_IOCTYPE_DSP, 0xf1, 8), &[]),
        Outcome::Error(libc::EINVAL)
    );
}

#[test]
fn low_water_sets_the_poll_threshold() {
    let mut t = T::new();
    assert_eq!(t.dsp.low_water(), t.dsp.geometry().0);
    t.call(SNDCTL_DSP_LOW_WATER, &100i32.to_ne_bytes());
    assert_eq!(t.dsp.low_water(), 100);
    t.call(SNDCTL_DSP_LOW_WATER, &(-4i32).to_ne_bytes());
    assert_eq!(t.dsp.low_water(), 1);
    t.call(SNDCTL_DSP_LOW_WATER, &i32::MAX.to_ne_bytes());
    assert_eq!(t.dsp.low_water(), t.voice.capacity());
}

#[test]
fn volume_taper() {
    assert_eq!(Volume::gain(100), 1.0);
    assert_eq!(Volume::gain(0), 0.0);
    let g50 = Volume::gain(50);
    assert!((20.0 * g50.log10() + 25.0).abs() < 1e-9);
    assert_eq!(
        Volume::from_oss(-1),
        Volume {
            left: 100,
            right: 100
        }
    );
}
