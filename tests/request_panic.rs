//! A panic while one request is handled (a bug) costs that one file, not
//! the daemon: through the fake kernel (see common/mod.rs), with panics
//! injected by `Daemon::inject_panics` while the engine lock is held.
//! The request gets EIO, so do the file's parked requests and its later
//! ones, its close works, another client playing meanwhile is heard
//! bit-exact, and the panic is logged once.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::*;
use ossd::cuse::wire::Request;
use ossd::daemon::FaultHook;
use ossd::oss::soundcard::*;

const WRONLY: i32 = libc::O_WRONLY;
const EIO: i32 = libc::EIO;
/// 21 ms periods: the reference stream must not starve on a busy machine.
const DEV: ossd::pcm::DeviceConfig = device(1024, 3);

/// The daemon's log lines, for every test of this file.
fn log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let into = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogWriter(into.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buf
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lines_with(needle: &str) -> Vec<String> {
    let log = log();
    let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Which request panics next: an opcode name and, if given, its file. It
/// fires once.
type Target = Arc<Mutex<Option<(&'static str, Option<u64>)>>>;

fn fault(target: &Target) -> FaultHook {
    let target = target.clone();
    Box::new(move |req: &Request<'_>| {
        let mut t = target.lock().unwrap();
        let hit = t.is_some_and(|(op, fh)| {
            op == req.op.name() && fh.is_none_or(|fh| req.op.fh() == Some(fh))
        });
        if hit {
            *t = None;
        }
        hit
    })
}

fn native(k: &mut Kernel, fh: u64) {
    k.ioctl_int(fh, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32)
        .unwrap();
    k.ioctl_int(fh, SNDCTL_DSP_CHANNELS, 2).unwrap();
    k.ioctl_int(fh, SNDCTL_DSP_SPEED, RATE as i32).unwrap();
}

/// Pseudo-random full-range S16 stereo, never a silent frame.
fn noise(bytes: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8 | 1
        })
        .collect()
}

/// `data` is in the captured output, whole and bit-exact, from its first
/// non-silent frame on.
fn heard_bit_exact(k: &Kernel, data: &[u8]) {
    let cap = k.captured();
    let first = cap
        .chunks(4)
        .position(|f| f != [0, 0, 0, 0])
        .expect("something played")
        * 4;
    assert!(cap.len() >= first + data.len(), "not all of it was played");
    assert!(cap[first..first + data.len()] == data[..], "not bit-exact");
}

#[test]
fn a_panic_fails_one_file_and_every_other_client_plays_on() {
    log();
    let target: Target = Arc::new(Mutex::new(None));
    let mut k = Kernel::start_faulty(DEV, fault(&target));
    let a = k.open(WRONLY).unwrap();
    native(&mut k, a);
    let b = k.open(WRONLY).unwrap();
    native(&mut k, b);

    // A plays half a second in one request, parked and fed by the daemon
    // as the device takes it.
    let data = noise(RATE as usize / 2 * 4, 0x1234_5678);
    let wa = k.write_async(a, &data, WRONLY);
    // B parks a write of silence, a SYNC behind it, and a poll.
    let wb = k.write_async(b, &vec![0; 64 * 1024], WRONLY);
    let sync = k.ioctl_async(b, SNDCTL_DSP_SYNC, &[], 0);
    assert!(
        k.still_pending(wb, Duration::from_millis(50)),
        "B's write parks"
    );
    let p = k.poll_async(b, 77, true);
    assert_eq!(
        k.wait(p).u32_at(0),
        0,
        "B is not writable: the poll is armed"
    );

    // One of B's requests panics: it gets EIO, and so does what B parked.
    *target.lock().unwrap() = Some(("IOCTL", Some(b)));
    let r = k.ioctl(b, SNDCTL_DSP_GETODELAY, &[0; 4]);
    assert_eq!(r.error, -EIO, "the request that panicked");
    assert_eq!(k.wait(wb).error, -EIO, "B's parked write");
    assert_eq!(k.wait(sync).error, -EIO, "B's parked SYNC");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !k.notifications.contains(&77) && std::time::Instant::now() < deadline {
        k.recv(Duration::from_millis(50));
    }
    assert!(k.notifications.contains(&77), "B's poller is woken");

    // B's later requests: EIO (poll: EIO, which the kernel reports as
    // POLLERR); its close works.
    assert_eq!(k.write(b, &[0; 64], WRONLY), Err(EIO));
    assert_eq!(k.ioctl_int(b, SNDCTL_DSP_GETBLKSIZE, 0), Err(EIO));
    let p = k.poll_async(b, 78, true);
    assert_eq!(k.wait(p).error, -EIO);
    assert_eq!(k.release(b, WRONLY).error, 0);

    // A never noticed: its write is taken whole and heard bit-exact.
    let r = k.wait(wa);
    assert_eq!((r.error, r.u32_at(0) as usize), (0, data.len()));
    assert_eq!(k.ioctl(a, SNDCTL_DSP_SYNC, &[]).error, 0);
    heard_bit_exact(&k, &data);
    assert_eq!(k.release(a, WRONLY).error, 0);

    // The connection stays: a new client opens and plays.
    let c = k.open(WRONLY).unwrap();
    assert_eq!(k.write(c, &[128; 800], WRONLY), Ok(800));
    assert_eq!(k.release(c, WRONLY).error, 0);

    // Logged once: the opcode, the client, the message.
    // (The other test of this file logs its own panics, of OPEN and RELEASE.)
    let lines = lines_with("fault injected for a test");
    let ours: Vec<_> = lines.iter().filter(|l| l.contains("IOCTL")).collect();
    assert_eq!(ours.len(), 1, "{lines:#?}");
    assert!(
        ours[0].contains(&format!("IOCTL {SNDCTL_DSP_GETODELAY:#010x} for pid 4242"))
            && ours[0].contains(&format!("file {b} fails with EIO")),
        "{}",
        ours[0]
    );
    k.stop();
}

#[test]
fn a_panic_in_open_or_release_is_answered_and_leaves_nothing_behind() {
    log();
    let target: Target = Arc::new(Mutex::new(None));
    let mut k = Kernel::start_faulty(DEV, fault(&target));
    // OPEN: EIO, and the next open works.
    *target.lock().unwrap() = Some(("OPEN", None));
    assert_eq!(k.open(WRONLY), Err(EIO));
    let a = k.open(WRONLY).unwrap();
    native(&mut k, a);
    // RELEASE, with a stream queued to drain: EIO, and the file is gone.
    assert_eq!(k.write(a, &noise(8192, 7), WRONLY), Ok(8192));
    *target.lock().unwrap() = Some(("RELEASE", Some(a)));
    assert_eq!(k.release(a, WRONLY).error, -EIO);
    assert_eq!(k.write(a, &[0; 4], WRONLY), Err(libc::EBADF), "closed");
    // A stream played after them is heard bit-exact: nothing stray was
    // left in the mix.
    let b = k.open(WRONLY).unwrap();
    native(&mut k, b);
    let before = k.captured().len();
    let data = noise(RATE as usize / 5 * 4, 99);
    assert_eq!(k.write(b, &data, WRONLY), Ok(data.len()));
    assert_eq!(k.ioctl(b, SNDCTL_DSP_SYNC, &[]).error, 0);
    let cap = k.captured()[before..].to_vec();
    let first = cap.chunks(4).position(|f| f != [0; 4]).unwrap() * 4;
    assert!(cap[first..first + data.len()] == data[..], "not bit-exact");
    assert_eq!(k.release(b, WRONLY).error, 0);
    k.stop();
}
