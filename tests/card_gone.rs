//! The card going away and coming back under clients (issue 11), through
//! the fake kernel (see common/mod.rs): a [`ClockSink`] or [`ClockSource`]
//! told to fail as an unplugged card does, and an opener that finds the
//! device again when the test says it is back.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ossd::daemon::{Devices, EngineOptions, NodeKind};
use ossd::device::DeviceError;
use ossd::input::clock::ClockSource;
use ossd::input::{Source, SourceOpener};
use ossd::oss::soundcard::*;
use ossd::output::clock::ClockSink;
use ossd::output::{Sink, SinkOpener};

const WRONLY: i32 = libc::O_WRONLY;
const RDONLY: i32 = libc::O_RDONLY;
const DEV: ossd::pcm::DeviceConfig = device(1024, 3);

fn unplugged() -> DeviceError {
    DeviceError::Gone(alsa::Error::new("snd_pcm_open", libc::ENODEV))
}

fn sndstat(k: &mut Kernel) -> String {
    k.on(1);
    let st = k.open(RDONLY).unwrap();
    let mut text = Vec::new();
    loop {
        let chunk = k.read(st, 4096, RDONLY).unwrap();
        if chunk.is_empty() {
            break;
        }
        text.extend(chunk);
    }
    k.release(st, RDONLY);
    k.on(0);
    String::from_utf8(text).unwrap()
}

#[test]
fn a_playing_client_sees_no_error_while_the_card_is_away_and_is_heard_when_it_returns() {
    let first = Arc::new(Mutex::new(Vec::new()));
    let second = Arc::new(Mutex::new(Vec::new()));
    let gone = Arc::new(AtomicBool::new(false));
    let back = Arc::new(AtomicBool::new(false));
    let tries = Arc::new(AtomicUsize::new(0));
    let mut sink = ClockSink::new(DEV);
    sink.capture = Some(first.clone());
    sink.gone = Some(gone.clone());
    let reopen: SinkOpener = {
        let (back, second, tries) = (back.clone(), second.clone(), tries.clone());
        Box::new(move |_, _| {
            tries.fetch_add(1, Ordering::Relaxed);
            if !back.load(Ordering::Acquire) {
                return Err(unplugged());
            }
            let mut s = ClockSink::new(DEV);
            s.capture = Some(second.clone());
            Ok(Box::new(s) as Box<dyn Sink>)
        })
    };
    let devices = Devices {
        sink: Box::new(sink),
        engine: EngineOptions {
            reopen: Some(reopen),
            ..EngineOptions::default()
        },
        capture: None,
    };
    let mut k = Kernel::start_on(DEV, &[NodeKind::Dsp, NodeKind::Sndstat], devices, first);
    let fh = k.open(WRONLY).unwrap();
    // A buffer (4 × 256 B) that the second written below overfills, so the
    // writes are paced.
    assert_eq!(
        k.ioctl_int(fh, SNDCTL_DSP_SETFRAGMENT, 0x0004_0008),
        Ok(0x0004_0008)
    );
    let tone = u8_tone(8000, 500.0, 0.3, 0.5);
    assert_eq!(k.write(fh, &tone, WRONLY), Ok(tone.len()));

    // Unplugged: writes go on, paced in real time; the position moves.
    gone.store(true, Ordering::Release);
    let odelay0 = k.ioctl(fh, SNDCTL_DSP_GETOPTR, &[0; 12]);
    assert_eq!(odelay0.error, 0);
    let t = Instant::now();
    let away = u8_tone(8000, 500.0, 1.0, 0.5);
    for chunk in away.chunks(800) {
        assert_eq!(k.write(fh, chunk, WRONLY), Ok(chunk.len()));
    }
    let optr = k.ioctl(fh, SNDCTL_DSP_GETOPTR, &[0; 12]);
    assert!(
        optr.i32_at(abi_ioctl_out()) > odelay0.i32_at(abi_ioctl_out()),
        "GETOPTR moves on the stand-in"
    );
    let text = sndstat(&mut k);
    assert!(
        text.contains("(missing: playing on a stand-in clock)"),
        "{text}"
    );
    assert!(
        text.contains("frames played to the stand-in clock"),
        "{text}"
    );
    // SYNC returns once the second has played, in real time.
    assert_eq!(k.ioctl(fh, SNDCTL_DSP_SYNC, &[]).error, 0);
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(900), "paced: {took:?}");
    assert!(took < Duration::from_millis(2000), "paced: {took:?}");
    assert!(
        tries.load(Ordering::Relaxed) >= 1,
        "the device is looked for"
    );

    // Back: within a retry the mix goes to the device again.
    back.store(true, Ordering::Release);
    std::thread::sleep(Duration::from_millis(800));
    let later = u8_tone(8000, 750.0, 0.5, 0.5);
    assert_eq!(k.write(fh, &later, WRONLY), Ok(later.len()));
    assert_eq!(k.ioctl(fh, SNDCTL_DSP_SYNC, &[]).error, 0);
    assert_eq!(k.release(fh, WRONLY).error, 0);
    let text = sndstat(&mut k);
    assert!(!text.contains("(missing:"), "{text}");
    let f = frames(&second.lock().unwrap());
    let (start, len) = longest_sound(&f, RATE);
    assert!((len as f64 / RATE as f64 - 0.5).abs() < 0.02, "{len}");
    let left: Vec<i16> = f[start..start + len].iter().map(|x| x.0).collect();
    assert!((frequency(&left, RATE) - 750.0).abs() < 5.0);
    k.stop();
}

/// Where GETOPTR's `bytes` field is in an IOCTL reply's payload.
fn abi_ioctl_out() -> usize {
    ossd::cuse::abi::IOCTL_OUT_SIZE
}

#[test]
fn a_card_absent_at_start_is_played_to_when_it_appears() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let present = Arc::new(AtomicBool::new(false));
    let reopen: SinkOpener = {
        let (present, heard) = (present.clone(), heard.clone());
        Box::new(move |_, _| {
            if !present.load(Ordering::Acquire) {
                return Err(unplugged());
            }
            let mut s = ClockSink::new(DEV);
            s.capture = Some(heard.clone());
            Ok(Box::new(s) as Box<dyn Sink>)
        })
    };
    let devices = Devices {
        sink: Box::new(ClockSink::new(DEV)),
        engine: EngineOptions {
            reopen: Some(reopen),
            absent: true,
            ..EngineOptions::default()
        },
        capture: None,
    };
    let mut k = Kernel::start_on(
        DEV,
        &[NodeKind::Dsp, NodeKind::Sndstat],
        devices,
        heard.clone(),
    );
    let text = sndstat(&mut k);
    assert!(
        text.contains("(missing: playing on a stand-in clock)"),
        "{text}"
    );
    present.store(true, Ordering::Release);
    std::thread::sleep(Duration::from_millis(800));
    let fh = k.open(WRONLY).unwrap();
    let tone = u8_tone(8000, 500.0, 0.3, 0.5);
    assert_eq!(k.write(fh, &tone, WRONLY), Ok(tone.len()));
    assert_eq!(k.release(fh, WRONLY).error, 0);
    let f = frames(&heard.lock().unwrap());
    let (_, len) = longest_sound(&f, RATE);
    assert!((len as f64 / RATE as f64 - 0.3).abs() < 0.02, "{len}");
    k.stop();
}

#[test]
fn a_parked_read_gets_silence_when_the_capture_card_goes_and_sound_when_it_returns() {
    let gone = Arc::new(AtomicBool::new(false));
    let back = Arc::new(AtomicBool::new(false));
    let opens = Arc::new(AtomicUsize::new(0));
    let opener: SourceOpener = {
        let (gone, back, opens) = (gone.clone(), back.clone(), opens.clone());
        Box::new(move |_: &str| {
            let n = opens.fetch_add(1, Ordering::Relaxed);
            if n > 0 && !back.load(Ordering::Acquire) {
                return Err(unplugged());
            }
            let mut s = ClockSource::new(DEV, 440.0);
            if n == 0 {
                s.gone = Some(gone.clone());
            }
            Ok(Box::new(s) as Box<dyn Source>)
        })
    };
    let played = Arc::new(Mutex::new(Vec::new()));
    let mut sink = ClockSink::new(DEV);
    sink.capture = Some(played.clone());
    let devices = Devices {
        sink: Box::new(sink),
        engine: EngineOptions::default(),
        capture: Some(opener),
    };
    let mut k = Kernel::start_on(DEV, &[NodeKind::Dsp, NodeKind::Sndstat], devices, played);
    let fh = k.open(RDONLY).unwrap();
    assert_eq!(
        k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32),
        Ok(AFMT_S16_LE as i32)
    );
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2), Ok(2));
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_SPEED, 48000), Ok(48000));
    let sound = |b: &[u8]| frames(b).iter().filter(|f| f.0 != 0).count();
    let first = k.read(fh, 48000 / 5 * 4, RDONLY).unwrap();
    assert!(sound(&first) > 9000, "the card records");

    // A read parked when the card goes: answered with silence, at the pace.
    let half = 48000 / 2 * 4;
    let t = Instant::now();
    let u = k.read_async(fh, half as u32, RDONLY);
    std::thread::sleep(Duration::from_millis(50));
    gone.store(true, Ordering::Release);
    let m = k.wait(u);
    assert_eq!(m.error, 0, "no EIO");
    assert_eq!(m.payload.len(), half);
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    let quiet = k.read(fh, half as u32, RDONLY).unwrap();
    assert_eq!(sound(&quiet), 0, "silence while the card is away");
    let text = sndstat(&mut k);
    assert!(text.contains("(missing: recording silence)"), "{text}");

    // Back: the device is read again within a retry.
    back.store(true, Ordering::Release);
    std::thread::sleep(Duration::from_millis(800));
    let _ = k.read(fh, half as u32, RDONLY).unwrap();
    let again = k.read(fh, 48000 / 5 * 4, RDONLY).unwrap();
    assert!(sound(&again) > 9000, "the card records again");
    assert_eq!(k.release(fh, RDONLY).error, 0);
    k.stop();
}

#[test]
fn the_mix_moves_to_the_fallback_device_and_back_to_the_preferred_one() {
    let first = Arc::new(Mutex::new(Vec::new()));
    let first_again = Arc::new(Mutex::new(Vec::new()));
    let fallback = Arc::new(Mutex::new(Vec::new()));
    let gone = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let mut sink = ClockSink::new(DEV);
    sink.capture = Some(first.clone());
    sink.gone = Some(gone.clone());
    let reopen: SinkOpener = {
        let (gone, first_again, fallback, asked) = (
            gone.clone(),
            first_again.clone(),
            fallback.clone(),
            asked.clone(),
        );
        Box::new(move |name: &str, want: &ossd::pcm::DeviceConfig| {
            let i = usize::from(name == "hw:Speakers");
            asked.lock().unwrap().push(i);
            if i == 0 && gone.load(Ordering::Acquire) {
                return Err(unplugged());
            }
            // The fallback takes another sample format: the mix is encoded
            // for it.
            let mut cfg = *want;
            if i == 1 {
                cfg.pcm.sample = ossd::pcm::SampleFormat::S32Le;
            }
            let mut s = ClockSink::new(cfg);
            s.capture = Some(if i == 0 {
                first_again.clone()
            } else {
                fallback.clone()
            });
            Ok(Box::new(s) as Box<dyn Sink>)
        })
    };
    let devices = Devices {
        sink: Box::new(sink),
        engine: EngineOptions {
            reopen: Some(reopen),
            devices: vec!["hw:Headset".into(), "hw:Speakers".into()],
            ..EngineOptions::default()
        },
        capture: None,
    };
    let mut k = Kernel::start_on(DEV, &[NodeKind::Dsp, NodeKind::Sndstat], devices, first);
    assert!(sndstat(&mut k).contains("hw:Headset"));
    let fh = k.open(WRONLY).unwrap();
    gone.store(true, Ordering::Release);
    std::thread::sleep(Duration::from_millis(100));
    let text = sndstat(&mut k);
    assert!(text.contains("hw:Speakers"), "{text}");
    assert!(!text.contains("(missing:"), "{text}");
    // Played while on the fallback: heard there, at pitch, in S32_LE.
    let tone = u8_tone(8000, 500.0, 0.5, 0.5);
    assert_eq!(k.write(fh, &tone, WRONLY), Ok(tone.len()));
    assert_eq!(k.ioctl(fh, SNDCTL_DSP_SYNC, &[]).error, 0);
    let s32: Vec<(i16, i16)> = fallback
        .lock()
        .unwrap()
        .chunks_exact(8)
        .map(|f| {
            let l = i32::from_le_bytes(f[0..4].try_into().unwrap());
            let r = i32::from_le_bytes(f[4..8].try_into().unwrap());
            ((l >> 16) as i16, (r >> 16) as i16)
        })
        .collect();
    let (start, len) = longest_sound(&s32, RATE);
    assert!((len as f64 / RATE as f64 - 0.5).abs() < 0.02, "{len}");
    let left: Vec<i16> = s32[start..start + len].iter().map(|x| x.0).collect();
    assert!((frequency(&left, RATE) - 500.0).abs() < 5.0);

    // The preferred one returns: the mix moves back within a retry.
    gone.store(false, Ordering::Release);
    std::thread::sleep(Duration::from_millis(800));
    let text = sndstat(&mut k);
    assert!(text.contains("hw:Headset"), "{text}");
    let later = u8_tone(8000, 750.0, 0.3, 0.5);
    assert_eq!(k.write(fh, &later, WRONLY), Ok(later.len()));
    assert_eq!(k.ioctl(fh, SNDCTL_DSP_SYNC, &[]).error, 0);
    assert_eq!(k.release(fh, WRONLY).error, 0);
    let f = frames(&first_again.lock().unwrap());
    let (start, len) = longest_sound(&f, RATE);
    assert!((len as f64 / RATE as f64 - 0.3).abs() < 0.02, "{len}");
    let left: Vec<i16> = f[start..start + len].iter().map(|x| x.0).collect();
    assert!((frequency(&left, RATE) - 750.0).abs() < 5.0);
    // The fallback was tried after the first, never before it.
    let asked = asked.lock().unwrap();
    assert_eq!(asked[..2], [0, 1], "{asked:?}");
    k.stop();
}

/// A device that stalls now and then while its periods are short: every
/// tenth wait takes 30 ms more (the machine too busy), and it underruns.
struct Stalling {
    inner: ClockSink,
    waits: u32,
    short: u32,
}

impl Sink for Stalling {
    fn config(&self) -> ossd::pcm::DeviceConfig {
        self.inner.config()
    }
    fn wait_ready(&mut self, frames: u32) -> Result<(), DeviceError> {
        self.waits += 1;
        if self.inner.config().period_frames <= self.short && self.waits.is_multiple_of(10) {
            std::thread::sleep(Duration::from_millis(30));
        }
        self.inner.wait_ready(frames)
    }
    fn write_period(&mut self, period: &[u8]) -> Result<(), DeviceError> {
        self.inner.write_period(period)
    }
    fn delay(&mut self) -> u64 {
        self.inner.delay()
    }
    fn xruns(&self) -> u64 {
        self.inner.xruns()
    }
}

/// A device that stalls the same way but never says so, as ALSA does when
/// the machine wakes it later than a whole buffer (its pointer wraps
/// unseen): it seems to have stood still for the time it ran dry, and it
/// reports no underrun.
struct Unseen {
    cfg: ossd::pcm::DeviceConfig,
    epoch: Option<Instant>,
    written: u64,
    /// Frames of the clock the device did not play (it stood still).
    lost: u64,
    waits: u32,
    short: u32,
}

impl Unseen {
    fn new(cfg: ossd::pcm::DeviceConfig) -> Unseen {
        Unseen {
            cfg,
            epoch: None,
            written: 0,
            lost: 0,
            waits: 0,
            short: 256,
        }
    }
    fn clock(&self, now: Instant) -> u64 {
        self.epoch.map_or(0, |e| {
            (now.saturating_duration_since(e).as_secs_f64() * f64::from(self.cfg.pcm.rate)) as u64
        })
    }
    fn played(&self, now: Instant) -> u64 {
        self.clock(now).saturating_sub(self.lost).min(self.written)
    }
}

impl Sink for Unseen {
    fn config(&self) -> ossd::pcm::DeviceConfig {
        self.cfg
    }
    fn wait_ready(&mut self, frames: u32) -> Result<(), DeviceError> {
        self.waits += 1;
        let epoch = *self.epoch.get_or_insert_with(Instant::now);
        if self.cfg.period_frames <= self.short && self.waits.is_multiple_of(10) {
            std::thread::sleep(Duration::from_millis(30));
        }
        // Ran dry meanwhile: it stood still from then on, unseen.
        let due = self.clock(Instant::now()).saturating_sub(self.lost);
        self.lost += due.saturating_sub(self.written);
        let must =
            (self.written + u64::from(frames)).saturating_sub(u64::from(self.cfg.buffer_frames));
        let at = epoch
            + Duration::from_secs_f64((must + self.lost) as f64 / f64::from(self.cfg.pcm.rate));
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
        Ok(())
    }
    fn write_period(&mut self, period: &[u8]) -> Result<(), DeviceError> {
        self.written += (period.len() / self.cfg.pcm.frame_bytes()) as u64;
        Ok(())
    }
    fn delay(&mut self) -> u64 {
        self.written - self.played(Instant::now())
    }
    fn xruns(&self) -> u64 {
        0
    }
}

/// Plays 2 s (at 8 kHz, written as fast as it is taken, then SYNC) on a
/// device of 256-frame periods that stalls while its periods are that
/// short (saying so, or `unseen`); returns how long it took, sndstat after,
/// the periods asked of the opener and the client's GETERROR underruns.
fn play_two_seconds_on_a_stalling_device(
    adapt: bool,
    unseen: bool,
) -> (Duration, String, Vec<u32>, i32) {
    const SMALL: ossd::pcm::DeviceConfig = device(256, 3);
    let stalling = move |cfg| -> Box<dyn Sink> {
        if unseen {
            Box::new(Unseen::new(cfg))
        } else {
            Box::new(Stalling {
                inner: ClockSink::new(cfg),
                waits: 0,
                short: 256,
            })
        }
    };
    let asked = Arc::new(Mutex::new(Vec::new()));
    let reopen: SinkOpener = {
        let asked = asked.clone();
        Box::new(move |_, want| {
            asked.lock().unwrap().push(want.period_frames);
            Ok(stalling(*want))
        })
    };
    let devices = Devices {
        sink: stalling(SMALL),
        engine: EngineOptions {
            reopen: Some(reopen),
            adapt,
            ..EngineOptions::default()
        },
        capture: None,
    };
    let heard = Arc::new(Mutex::new(Vec::new()));
    let mut k = Kernel::start_on(SMALL, &[NodeKind::Dsp, NodeKind::Sndstat], devices, heard);
    let fh = k.open(WRONLY).unwrap();
    let t = Instant::now();
    let tone = u8_tone(8000, 500.0, 2.0, 0.5);
    for chunk in tone.chunks(1600) {
        assert_eq!(k.write(fh, chunk, WRONLY), Ok(chunk.len()));
    }
    assert_eq!(k.ioctl(fh, SNDCTL_DSP_SYNC, &[]).error, 0);
    let took = t.elapsed();
    let e = k.ioctl(fh, SNDCTL_DSP_GETERROR, &[]);
    let underruns = i32::from_ne_bytes(e.ioctl_out()[..4].try_into().unwrap());
    assert_eq!(k.release(fh, WRONLY).error, 0);
    let text = sndstat(&mut k);
    k.stop();
    let asked = asked.lock().unwrap().clone();
    (took, text, asked, underruns)
}

/// Plays the 2 s on a stalling device without adaptation: the stalls must
/// not slow the client down, and are counted (sndstat, GETERROR).
fn stalls_are_credited_and_counted(unseen: bool, min_underruns: i32) {
    let (took, text, asked, underruns) = play_two_seconds_on_a_stalling_device(false, unseen);
    assert!(took < Duration::from_millis(2250), "paced: {took:?}");
    assert!(took >= Duration::from_millis(1900), "paced: {took:?}");
    assert!(text.contains("frames (clients kept real time)"), "{text}");
    assert!(!text.contains(", 0 device underruns"), "counted: {text}");
    assert!(asked.is_empty(), "{asked:?}");
    assert!(
        underruns >= min_underruns,
        "GETERROR play_underruns {underruns}"
    );
}

#[test]
fn a_device_that_stands_still_does_not_slow_its_clients_down() {
    // Every tenth period (53 ms) the device stands still 30 ms: without
    // catching up, the 2 s would take about 2.6 s. About one stall in
    // every 53 ms of the 2 s: the client is told.
    stalls_are_credited_and_counted(false, 10);
}

/// The same with adaptation: raised to periods of two blocks, at which
/// the device copes: once.
fn stalls_raise_the_period_once(unseen: bool) {
    let (took, text, asked, _) = play_two_seconds_on_a_stalling_device(true, unseen);
    assert!(took < Duration::from_millis(2250), "paced: {took:?}");
    assert_eq!(asked, [512], "{text}");
    assert!(text.contains(" 512 "), "{text}");
}

#[test]
fn repeated_underruns_raise_the_period() {
    stalls_raise_the_period_once(false);
}

#[test]
fn a_device_that_stands_still_unseen_does_not_slow_its_clients_down() {
    // Every tenth period the device stands still 30 ms and reports no
    // underrun: it seems to play 14 ms late each time. Without comparing
    // it with the clock, the 2 s would take about 2.5 s.
    stalls_are_credited_and_counted(true, 3);
}

#[test]
fn repeated_unseen_underruns_raise_the_period() {
    stalls_raise_the_period_once(true);
}
