//! The control socket against the whole daemon on a fake kernel (see
//! common/mod.rs): clients play while the socket is asked; the status says
//! what they did; a volume set over the socket is heard, exactly, and read
//! back by GETPLAYVOL; bad requests get error lines and disturb nothing;
//! a storm of status requests costs the real-time sink no underrun; the
//! output moves to another device live; a user outside the group is
//! refused.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ossd::daemon::{Config, Devices, EngineOptions, NodeKind};
use ossd::mix::{Mixer, Quality, Voice};
use ossd::oss::dsp::Volume;
use ossd::oss::soundcard::*;
use ossd::output::clock::ClockSink;
use ossd::pcm::DeviceConfig;
use serde_json::Value;

const WRONLY: i32 = libc::O_WRONLY;
/// 21 ms periods, 85 ms of buffer: a busy test machine does not make the
/// real-time sink underrun on its own.
const ROBUST: DeviceConfig = device(1024, 4);

/// A fresh directory for a test's socket (readable by anyone: one test
/// connects as another user).
fn socket_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "ossd-ctl-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// A daemon with one /dev/dsp on `dev` and a control socket; the sink's
/// underrun count is what `status` reports as the device's xruns.
fn start(dev: DeviceConfig, name: &str, engine: EngineOptions) -> (Kernel, PathBuf) {
    let path = socket_dir(name).join("control");
    let capture = Arc::new(Mutex::new(Vec::new()));
    let mut sink = ClockSink::new(dev);
    sink.capture = Some(capture.clone());
    let devices = Devices {
        sink: Box::new(sink),
        engine,
        capture: None,
    };
    let cfg = Config {
        control_socket: Some(path.clone()),
        ..Config::default()
    };
    let k = Kernel::start_on_config(dev, &[NodeKind::Dsp], devices, capture, cfg);
    (k, path)
}

/// Stops the daemon and removes the test's directory.
fn finish(k: Kernel, path: &Path) {
    k.stop();
    if let Some(d) = path.parent() {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// One connection to the socket.
struct Conn {
    r: BufReader<UnixStream>,
    w: UnixStream,
}

impl Conn {
    fn new(path: &Path) -> Conn {
        let w = UnixStream::connect(path).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Conn {
            r: BufReader::new(w.try_clone().unwrap()),
            w,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).unwrap();
    }

    fn line(&mut self) -> Value {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        assert!(l.ends_with('\n'), "a whole line: {l:?}");
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["v"], 1, "{v}");
        v
    }

    fn ask(&mut self, line: &str) -> Value {
        self.send(format!("{line}\n").as_bytes());
        self.line()
    }

    fn status(&mut self) -> Value {
        let v = self.ask(r#"{"v":1,"cmd":"status"}"#);
        assert_eq!(v["ok"], true, "{v}");
        v["status"].clone()
    }
}

fn client(status: &Value, fh: u64) -> Value {
    status["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["fh"] == fh)
        .unwrap_or_else(|| panic!("no fh {fh} in {status}"))
        .clone()
}

/// `frames` stereo S16_LE frames of (l, r).
fn constant(l: i16, r: i16, frames: usize) -> Vec<u8> {
    (0..frames)
        .flat_map(|_| [l.to_le_bytes(), r.to_le_bytes()].concat())
        .collect()
}

fn native(k: &mut Kernel, fh: u64) {
    k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32)
        .unwrap();
    k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2).unwrap();
    k.ioctl_int(fh, SNDCTL_DSP_SPEED, RATE as i32).unwrap();
}

#[test]
fn the_status_says_what_the_clients_did_while_they_play() {
    let (mut k, path) = start(ROBUST, "status", EngineOptions::default());
    let a = k.open(WRONLY).unwrap();
    native(&mut k, a);
    assert_eq!(
        k.ioctl_int(a, SNDCTL_DSP_SETPLAYVOL, 70 | 60 << 8),
        Ok(70 | 60 << 8)
    );
    let b = k.open(WRONLY).unwrap(); // U8, mono, 8000 Hz as opened
    let tone_a = constant(1000, -1000, RATE as usize / 2);
    let tone_b = u8_tone(8000, 440.0, 0.5, 0.3);
    let ua = k.write_async(a, &tone_a, WRONLY);
    let ub = k.write_async(b, &tone_b, WRONLY);
    let mut c = Conn::new(&path);
    // Asked while both play (their writes are parked).
    std::thread::sleep(Duration::from_millis(100));
    let s = c.status();
    assert_eq!(s["clients"].as_array().unwrap().len(), 2, "{s}");
    let ca = client(&s, a);
    assert_eq!(ca["format"], "S16_LE");
    assert_eq!(
        (ca["rate"].as_u64(), ca["channels"].as_u64()),
        (Some(48000), Some(2))
    );
    assert_eq!(ca["volume"], serde_json::json!([70, 60]));
    assert_eq!(ca["direction"], "play");
    assert_eq!(ca["pid"], 4242);
    assert_eq!(ca["node"], "node0");
    let written = ca["bytes_written"].as_u64().unwrap();
    assert!(written > 0 && written < tone_a.len() as u64, "{written}");
    assert!(ca["queued_ms"].as_f64().unwrap() > 0.0, "{ca}");
    let cb = client(&s, b);
    assert_eq!(cb["format"], "U8");
    assert_eq!(
        (cb["rate"].as_u64(), cb["channels"].as_u64()),
        (Some(8000), Some(1))
    );
    assert_eq!(cb["volume"], serde_json::json!([100, 100]));
    assert_eq!(s["output"]["name"], "(none)");
    assert_eq!(s["output"]["rate"], 48000);
    assert_eq!(s["output"]["period_frames"], 1024);
    assert_eq!(s["totals"]["clients_served"], 2);
    // When the writes are done, the figures are exactly theirs.
    assert_eq!(k.wait(ua).u32_at(0) as usize, tone_a.len());
    assert_eq!(k.wait(ub).u32_at(0) as usize, tone_b.len());
    let s = c.status();
    assert_eq!(client(&s, a)["bytes_written"], tone_a.len() as u64);
    assert_eq!(client(&s, b)["bytes_written"], tone_b.len() as u64);
    assert!(client(&s, a)["open_s"].as_f64().unwrap() >= 0.1);
    assert_eq!(s["output"]["xruns"], 0, "{s}");
    k.release(a, WRONLY);
    k.release(b, WRONLY);
    assert_eq!(c.status()["clients"].as_array().unwrap().len(), 0);
    finish(k, &path);
}

/// What the mixer makes of a full-scale-ish constant at volume `level`.
fn at_volume(sample: i16, level: u8) -> i16 {
    let dev = ROBUST;
    let mut m = Mixer::new(dev);
    let mut v = Voice::new(dev.pcm, &dev, 1 << 16, Quality::Fast);
    v.set_gains(
        Volume {
            left: level,
            right: level,
        }
        .gains(2),
    );
    let id = m.insert(v);
    m.voice_mut(id)
        .unwrap()
        .push(&constant(sample, sample, dev.period_frames as usize * 2));
    let out = m.mix_period();
    i16::from_le_bytes([out[0], out[1]])
}

#[test]
fn a_volume_set_over_the_socket_is_heard_exactly_and_read_back() {
    let (mut k, path) = start(ROBUST, "volume", EngineOptions::default());
    let fh = k.open(WRONLY).unwrap();
    native(&mut k, fh);
    let x = 16000i16;
    let half = at_volume(x, 50);
    assert!(half > 0 && half < x, "{half}");
    let mut c = Conn::new(&path);
    let play = |k: &mut Kernel, secs: f64| {
        let data = constant(x, x, (RATE as f64 * secs) as usize);
        assert_eq!(k.write(fh, &data, WRONLY), Ok(data.len()));
        assert_eq!(k.ioctl(fh, SNDCTL_DSP_SYNC, &[]).error, 0);
    };
    play(&mut k, 0.2);
    let v = c.ask(&format!(r#"{{"v":1,"cmd":"volume","fh":{fh},"level":50}}"#));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_GETPLAYVOL, 0), Ok(50 | 50 << 8));
    play(&mut k, 0.2);
    // By pid: every file of the process (here, the one).
    let v = c.ask(r#"{"v":1,"cmd":"mute","pid":4242}"#);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_GETPLAYVOL, 0), Ok(0));
    assert_eq!(client(&c.status(), fh)["muted"], true);
    play(&mut k, 0.2);
    let v = c.ask(r#"{"v":1,"cmd":"unmute","pid":4242}"#);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(k.ioctl_int(fh, SNDCTL_DSP_GETPLAYVOL, 0), Ok(50 | 50 << 8));
    play(&mut k, 0.2);
    // What was heard: 16000, then exactly the mixer's value at 50, then
    // silence, then that value again; nothing else but silence between.
    let f = frames(&k.captured());
    let mut runs: Vec<(i16, usize)> = Vec::new();
    for &(l, r) in &f {
        assert_eq!(l, r);
        match runs.last_mut() {
            Some((v, n)) if *v == l => *n += 1,
            _ => runs.push((l, 1)),
        }
    }
    let heard: Vec<i16> = runs
        .iter()
        .filter(|&&(v, n)| v != 0 && n > 1000)
        .map(|&(v, _)| v)
        .collect();
    assert_eq!(heard, vec![x, half, half], "{runs:?}");
    for &(v, _) in &runs {
        assert!(v == 0 || v == x || v == half, "{v} in {runs:?}");
    }
    // Errors name what is wrong.
    let v = c.ask(r#"{"v":1,"cmd":"volume","fh":999,"level":5}"#);
    assert_eq!(v["ok"], false);
    assert!(
        v["error"].as_str().unwrap().contains("no open file 999"),
        "{v}"
    );
    let v = c.ask(r#"{"v":1,"cmd":"master","level":40}"#);
    assert_eq!(v["master"], serde_json::json!([40, 40]), "{v}");
    assert_eq!(c.status()["mixer"]["volume"], serde_json::json!([40, 40]));
    k.release(fh, WRONLY);
    finish(k, &path);
}

#[test]
fn bad_and_oversized_requests_get_error_lines_and_playback_goes_on_bit_exact() {
    let (mut k, path) = start(ROBUST, "bad", EngineOptions::default());
    let fh = k.open(WRONLY).unwrap();
    native(&mut k, fh);
    let mut x = 0x9e37_79b9u32;
    let data: Vec<u8> = (0..RATE as usize / 2 * 4)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8 | 1
        })
        .collect();
    let u = k.write_async(fh, &data, WRONLY);
    let mut c = Conn::new(&path);
    c.send(b"hello\n");
    assert!(c.line()["error"].as_str().unwrap().starts_with("not JSON"));
    c.send(b"{\"v\":7,\"cmd\":\"status\"}\n");
    assert!(c.line()["error"].as_str().unwrap().contains("version 7"));
    // A megabyte without a newline, then its newline.
    let big = vec![b'x'; 1 << 20];
    c.send(&big);
    c.send(b"\n");
    let v = c.line();
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("longer than"), "{v}");
    c.send(&[0xff, 0x00, 0xfe, b'\n']);
    assert_eq!(c.line()["ok"], false);
    // The connection goes on.
    assert_eq!(c.status()["clients"].as_array().unwrap().len(), 1);
    // A client that closes mid-line hurts no one either.
    let mut d = Conn::new(&path);
    d.send(b"{\"v\":1,\"cmd\":\"sta");
    drop(d);
    assert_eq!(k.wait(u).u32_at(0) as usize, data.len());
    assert_eq!(k.ioctl(fh, SNDCTL_DSP_SYNC, &[]).error, 0);
    let cap = k.captured();
    let first = cap.chunks(4).position(|f| f != [0, 0, 0, 0]).unwrap() * 4;
    assert!(cap[first..first + data.len()] == data[..], "not bit-exact");
    assert_eq!(c.status()["output"]["xruns"], 0);
    k.release(fh, WRONLY);
    finish(k, &path);
}

#[test]
fn a_hundred_status_requests_at_once_while_32_clients_play_cost_no_underrun() {
    let (mut k, path) = start(ROBUST, "storm", EngineOptions::default());
    let fhs: Vec<u64> = (0..32).map(|_| k.open(WRONLY).unwrap()).collect();
    let tone = u8_tone(8000, 300.0, 1.0, 0.02);
    let writes: Vec<u64> = fhs
        .iter()
        .map(|&fh| k.write_async(fh, &tone, WRONLY))
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    let askers: Vec<_> = (0..100)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut c = Conn::new(&path);
                let line = if i % 2 == 0 {
                    r#"{"v":1,"cmd":"status","meters":true}"#
                } else {
                    r#"{"v":1,"cmd":"status"}"#
                };
                let v = c.ask(line);
                assert_eq!(v["ok"], true, "{v}");
                v["status"]["clients"].as_array().unwrap().len()
            })
        })
        .collect();
    for a in askers {
        assert_eq!(a.join().unwrap(), 32);
    }
    let asked = t0.elapsed();
    for u in writes {
        let r = k.wait(u);
        assert_eq!((r.error, r.u32_at(0) as usize), (0, tone.len()));
    }
    let s = Conn::new(&path).status();
    assert_eq!(
        s["output"]["xruns"], 0,
        "the sink underran: {}",
        s["output"]
    );
    assert_eq!(s["totals"]["device_underruns"], 0);
    for fh in fhs {
        assert_eq!(client(&s, fh)["bytes_written"], tone.len() as u64);
        k.release(fh, WRONLY);
    }
    eprintln!("100 status requests answered in {asked:?}");
    finish(k, &path);
}

#[test]
fn meters_run_only_while_watched_and_measure_each_client() {
    let (mut k, path) = start(ROBUST, "meters", EngineOptions::default());
    let fh = k.open(WRONLY).unwrap();
    native(&mut k, fh);
    let u = k.write_async(fh, &constant(16384, -16384, RATE as usize / 2), WRONLY);
    let mut plain = Conn::new(&path);
    let s = plain.status();
    assert_eq!(s["meters"], false);
    assert_eq!(client(&s, fh)["peak"], Value::Null);
    let mut top = Conn::new(&path);
    let v = top.ask(r#"{"v":1,"cmd":"status","meters":true}"#);
    assert_eq!(v["ok"], true);
    std::thread::sleep(Duration::from_millis(150));
    let v = top.ask(r#"{"v":1,"cmd":"status","meters":true}"#);
    assert_eq!(v["status"]["meters"], true);
    assert_eq!(client(&v["status"], fh)["peak"], 0.5, "{v}");
    // The screen `ossd top` draws from it (printed: the README shows one).
    let st: ossd::control::Status = serde_json::from_value(v["status"].clone()).unwrap();
    let screen = ossd::control::text::screen(&st, 80, 24);
    assert!(screen[5].contains("#####"), "{screen:?}");
    println!("{}", screen.join("\n"));
    drop(top);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(plain.status()["meters"], false, "off once nobody watches");
    k.wait(u);
    k.release(fh, WRONLY);
    finish(k, &path);
}

#[test]
fn the_output_moves_to_another_device_live_and_stays_put_when_it_cannot() {
    let dev = ROBUST;
    let played: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = played.clone();
    let engine = EngineOptions {
        devices: vec!["first".into()],
        reopen: Some(Box::new(move |name, want| {
            if name == "nowhere" {
                return Err(ossd::device::DeviceError::NoCapture);
            }
            log.lock().unwrap().push(name.to_owned());
            Ok(Box::new(ClockSink::new(*want)) as Box<dyn ossd::output::Sink>)
        })),
        ..EngineOptions::default()
    };
    let (mut k, path) = start(dev, "device", engine);
    let fh = k.open(WRONLY).unwrap();
    native(&mut k, fh);
    let data = constant(300, 300, RATE as usize / 2);
    let u = k.write_async(fh, &data, WRONLY);
    let mut c = Conn::new(&path);
    std::thread::sleep(Duration::from_millis(100));
    let v = c.ask(r#"{"v":1,"cmd":"device","name":"second"}"#);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["device"], "second");
    assert_eq!(c.status()["output"]["name"], "second");
    let v = c.ask(r#"{"v":1,"cmd":"device","name":"nowhere"}"#);
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("stays on second"),
        "{v}"
    );
    assert_eq!(c.status()["output"]["name"], "second");
    // The client noticed nothing: its write completes, its close drains.
    let r = k.wait(u);
    assert_eq!(r.error, 0, "{r:?}");
    assert_eq!(r.u32_at(0) as usize, data.len());
    assert_eq!(k.release(fh, WRONLY).error, 0);
    assert_eq!(*played.lock().unwrap(), vec!["second".to_string()]);
    finish(k, &path);
}

#[test]
fn recording_moves_to_another_capture_device_live_and_stays_put_when_it_cannot() {
    use ossd::input::clock::ClockSource;
    use ossd::input::{Source, SourceOpener};
    let dev = ROBUST;
    let path = socket_dir("capture").join("control");
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = asked.clone();
    // "first" records 440 Hz, "second" 880 Hz; "nowhere" is not there.
    let opener: SourceOpener = Box::new(move |name: &str| {
        log.lock().unwrap().push(name.to_owned());
        let freq = match name {
            "first" => 440.0,
            "second" => 880.0,
            _ => return Err(ossd::device::DeviceError::NoCapture),
        };
        Ok(Box::new(ClockSource::new(dev, freq)) as Box<dyn Source>)
    });
    let devices = Devices {
        sink: Box::new(ClockSink::new(dev)),
        engine: EngineOptions::default(),
        capture: Some(opener),
    };
    let cfg = Config {
        control_socket: Some(path.clone()),
        capture_name: "first".into(),
        capture_devices: vec!["first".into()],
        ..Config::default()
    };
    let mut k = Kernel::start_on_config(dev, &[NodeKind::Dsp], devices, Arc::default(), cfg);
    let rd = k.open(libc::O_RDONLY).unwrap();
    native(&mut k, rd);
    let pitch = |k: &mut Kernel| {
        // Half a second of what the reader gets, the left channel.
        let mut got = Vec::new();
        while got.len() < RATE as usize * 2 {
            got.extend(k.read(rd, 16384, libc::O_RDONLY).unwrap());
        }
        let left: Vec<i16> = frames(&got[got.len() - RATE as usize * 2..])
            .iter()
            .map(|f| f.0)
            .collect();
        frequency(&left, RATE)
    };
    assert!((pitch(&mut k) - 440.0).abs() < 5.0);
    let mut c = Conn::new(&path);
    let v = c.ask(r#"{"v":1,"cmd":"capture","name":"second"}"#);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["capture"], "second");
    // The reader goes on, and now hears the second device.
    let _ = pitch(&mut k);
    assert!((pitch(&mut k) - 880.0).abs() < 5.0);
    let v = c.ask(r#"{"v":1,"cmd":"capture","name":"nowhere"}"#);
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("stays on second"),
        "{v}"
    );
    assert!((pitch(&mut k) - 880.0).abs() < 5.0);
    assert_eq!(k.release(rd, libc::O_RDONLY).error, 0);
    // Nobody records now: the next reader opens the one asked for first.
    let v = c.ask(r#"{"v":1,"cmd":"capture","name":"first"}"#);
    assert_eq!(v["ok"], true, "{v}");
    let rd2 = k.open(libc::O_RDONLY).unwrap();
    assert_eq!(
        asked.lock().unwrap().last().map(String::as_str),
        Some("first")
    );
    assert_eq!(k.release(rd2, libc::O_RDONLY).error, 0);
    finish(k, &path);
}

#[test]
fn a_user_outside_the_group_may_look_but_not_change() {
    let (k, path) = start(ROBUST, "perm", EngineOptions::default());
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: cannot connect as another user; skipped");
        finish(k, &path);
        return;
    }
    // Let anyone connect: the refusal must come from the daemon.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    // A copy of the binary beside the socket: the build tree may be in a
    // directory the other user cannot enter.
    let ossd = path.with_file_name("ossd");
    std::fs::copy(env!("CARGO_BIN_EXE_ossd"), &ossd).unwrap();
    std::fs::set_permissions(&ossd, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |args: &[&str]| {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(&ossd)
            .args(args)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    };
    let sock = path.to_str().unwrap();
    let out = run(&["status", "--socket", sock]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("clients  0 open"));
    let out = run(&["ctl", "--socket", sock, "master", "10"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not allowed") && err.contains("uid 65534"),
        "{err}"
    );
    // Root may.
    let out = std::process::Command::new(&ossd)
        .args(["ctl", "--socket", sock, "master", "10"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        Conn::new(&path).status()["mixer"]["volume"],
        serde_json::json!([10, 10])
    );
    finish(k, &path);
}

#[test]
fn the_output_moves_while_the_device_is_released_for_want_of_clients() {
    let engine = EngineOptions {
        devices: vec!["first".into()],
        idle_release: Some(Duration::from_millis(20)),
        reopen: Some(Box::new(|_, want| {
            Ok(Box::new(ClockSink::new(*want)) as Box<dyn ossd::output::Sink>)
        })),
        ..EngineOptions::default()
    };
    let (k, path) = start(ROBUST, "idle", engine);
    std::thread::sleep(Duration::from_millis(200)); // released by now
    let mut c = Conn::new(&path);
    let v = c.ask(r#"{"v":1,"cmd":"device","name":"second"}"#);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(c.status()["output"]["name"], "second");
    finish(k, &path);
}
