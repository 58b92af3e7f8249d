//! The core against plain engines (a device that plays when told to):
//! parking, interrupts, draining closes, panics and bad requests.

use super::*;
use crate::cuse::abi::opcode;
use crate::cuse::wire::Header;
use crate::mix::fixtures::dev;
use crate::oss::soundcard::{
    AFMT_S16_LE, SNDCTL_DSP_CHANNELS, SNDCTL_DSP_SETFMT, SNDCTL_DSP_SPEED,
};

/// The engines as plain values, a device that plays when told to.
struct Bench {
    mixer: Mixer,
    now: Instant,
    /// The next call to `engines` panics (as a bug under the lock would).
    panic_next: bool,
    /// Processes being killed.
    dying: Vec<u32>,
}

impl Ports for Bench {
    fn engines<R>(&mut self, f: impl FnOnce(&mut Engines<'_>) -> R) -> R {
        if std::mem::take(&mut self.panic_next) {
            panic!("injected");
        }
        let written = self.mixer.frames_mixed();
        f(&mut Engines {
            mixer: &mut self.mixer,
            // Everything mixed has been played.
            position: Position {
                written,
                delay: 0,
                at: self.now,
                rate: 48000,
            },
            device_xruns: 0,
            output_missing: false,
            standin_frames: 0,
            output: OutputNow::default(),
            capture: None,
        })
    }
    fn now(&mut self) -> Instant {
        self.now
    }
    fn open_capture(&mut self) -> Result<DeviceConfig, DeviceError> {
        Err(DeviceError::NoCapture)
    }
    fn close_capture(&mut self) {}
    fn command_of(&mut self, _pid: u32) -> Option<String> {
        None
    }
    fn killed(&mut self, pid: u32) -> bool {
        self.dying.contains(&pid)
    }
}

struct T {
    server: Server,
    io: Bench,
    unique: u64,
    /// The pid in the requests' header (the kernel sends RELEASE with 0).
    pid: u32,
}

impl T {
    fn new() -> T {
        let settings = Settings {
            device_name: "test".into(),
            device_names: Vec::new(),
            capture_name: "none".into(),
            can_record: false,
            quality: Quality::Fast,
            drain_grace: Duration::from_secs(2),
            save_mixer: false,
        };
        let nodes = vec![NodeDesc {
            kind: NodeKind::Dsp,
            name: "dsp".into(),
        }];
        T {
            server: Server::new(settings, nodes, MixerState::new()),
            io: Bench {
                mixer: Mixer::new(dev()),
                now: Instant::now(),
                panic_next: false,
                dying: Vec::new(),
            },
            unique: 0,
            pid: 1,
        }
    }

    /// Sends one request; its unique.
    fn send(&mut self, op: u32, args: &[u8]) -> u64 {
        self.unique += 2;
        let mut bytes = Vec::new();
        Header {
            len: (crate::cuse::abi::IN_HEADER_SIZE + args.len()) as u32,
            opcode: op,
            unique: self.unique,
            nodeid: 0,
            uid: 0,
            gid: 0,
            pid: self.pid,
            total_extlen: 0,
        }
        .emit(&mut bytes);
        bytes.extend_from_slice(args);
        let req = Request::parse(&bytes).expect("well formed");
        self.server.handle(0, &req, &mut self.io);
        self.unique
    }

    /// Sends one request whose handling panics, caught and recovered
    /// from as the runtime does.
    fn send_panicking(&mut self, op: u32, args: &[u8]) -> (u64, Recovered) {
        self.io.panic_next = true;
        let mut unique = 0;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            unique = self.send(op, args);
        }));
        assert!(caught.is_err(), "it panicked");
        (self.unique, self.server.recover(&mut self.io))
    }

    fn answers(&mut self) -> Vec<Answer> {
        self.server.take_answers().map(|(_, a)| a).collect()
    }

    /// Opens /dev/dsp for writing in the device's format.
    fn open_native(&mut self) -> u64 {
        self.send(opcode::FUSE_OPEN, &(libc::O_WRONLY as u64).to_ne_bytes());
        let [Answer::Open { fh, .. }] = self.answers()[..] else {
            panic!("open failed")
        };
        for (cmd, v) in [
            (SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32),
            (SNDCTL_DSP_CHANNELS, 2),
            (SNDCTL_DSP_SPEED, 48000),
        ] {
            let mut a = ioctl_args(fh, cmd, 4, 4);
            a.extend_from_slice(&v.to_ne_bytes());
            self.send(opcode::FUSE_IOCTL, &a);
        }
        self.answers();
        fh
    }

    fn write(&mut self, fh: u64, len: usize) -> u64 {
        let mut a = vec![0u8; crate::cuse::abi::WRITE_IN_SIZE];
        a[0..8].copy_from_slice(&fh.to_ne_bytes());
        a[16..20].copy_from_slice(&(len as u32).to_ne_bytes());
        a.extend(std::iter::repeat_n(1u8, len));
        self.send(opcode::FUSE_WRITE, &a)
    }

    /// The device plays `periods` periods; the core is serviced after
    /// each, as the engine's tick does.
    fn play(&mut self, periods: usize) {
        for _ in 0..periods {
            self.io.mixer.mix_period();
            self.io.now += Duration::from_micros(83); // 4 frames at 48 kHz
            self.server.service(&mut self.io);
        }
    }
}

fn ioctl_args(fh: u64, cmd: u32, in_size: u32, out_size: u32) -> Vec<u8> {
    let mut a = vec![0u8; crate::cuse::abi::IOCTL_IN_SIZE];
    a[0..8].copy_from_slice(&fh.to_ne_bytes());
    a[12..16].copy_from_slice(&cmd.to_ne_bytes());
    a[24..28].copy_from_slice(&in_size.to_ne_bytes());
    a[28..32].copy_from_slice(&out_size.to_ne_bytes());
    a
}

#[test]
fn a_blocking_write_parks_until_the_device_makes_room() {
    let mut t = T::new();
    let fh = t.open_native();
    let u = t.write(fh, 4096); // far more than the ring holds
    assert!(t.answers().is_empty(), "parked");
    assert!(t.server.waiting());
    t.play(1000);
    assert_eq!(t.answers(), vec![Answer::Written { unique: u, n: 4096 }]);
    assert!(!t.server.waiting());
}

/// A write that fills a stream gated off cannot wait for room: only its
/// program could start the stream. It gets what fitted, or EAGAIN, as
/// from OSS 4's and FreeBSD's drivers; so does one parked before the
/// stream was gated, and one into a file armed in a sync group.
#[test]
fn a_blocking_write_into_a_gated_stream_gets_what_fitted() {
    use crate::oss::soundcard::{
        OssSyncgroup, PCM_ENABLE_OUTPUT, SNDCTL_DSP_SETTRIGGER, SNDCTL_DSP_SYNCGROUP,
    };
    let mut t = T::new();
    let fh = t.open_native();
    let [_, _, _, room] = ospace(&mut t, fh);
    let trigger = |t: &mut T, bits: u32| {
        let mut a = ioctl_args(fh, SNDCTL_DSP_SETTRIGGER, 4, 0);
        a.extend_from_slice(&bits.to_ne_bytes());
        t.send(opcode::FUSE_IOCTL, &a);
        t.answers();
    };
    trigger(&mut t, 0);
    let u = t.write(fh, 4096);
    assert_eq!(
        t.answers(),
        vec![Answer::Written {
            unique: u,
            n: room as u32
        }]
    );
    let u = t.write(fh, 4096);
    assert_eq!(
        t.answers(),
        vec![Answer::Fail {
            unique: u,
            fail: Fail::WouldBlock
        }]
    );
    assert!(!t.server.waiting());
    // Enabled, it plays out and takes the next write whole; one that
    // waits for room is answered when the stream is gated meanwhile.
    trigger(&mut t, PCM_ENABLE_OUTPUT);
    t.play(1000);
    let u = t.write(fh, 4096);
    assert!(t.answers().is_empty(), "parked");
    trigger(&mut t, 0);
    t.play(1);
    assert_eq!(
        t.answers(),
        vec![Answer::Written {
            unique: u,
            n: room as u32
        }]
    );
    assert!(!t.server.waiting());
    // Armed in a sync group that has not started: the same.
    let fh = t.open_native();
    let mut a = ioctl_args(fh, SNDCTL_DSP_SYNCGROUP, 72, 72);
    let g = OssSyncgroup {
        id: 0,
        mode: PCM_ENABLE_OUTPUT as i32,
        filler: [0; 16],
    };
    a.extend_from_slice(&g.to_bytes());
    t.send(opcode::FUSE_IOCTL, &a);
    assert!(matches!(t.answers()[..], [Answer::Ioctl { result: 0, .. }]));
    let u = t.write(fh, 4096);
    assert_eq!(
        t.answers(),
        vec![Answer::Written {
            unique: u,
            n: room as u32
        }]
    );
}

/// GETOSPACE: (fragments, fragstotal, fragsize, bytes).
fn ospace(t: &mut T, fh: u64) -> [i32; 4] {
    use crate::oss::soundcard::SNDCTL_DSP_GETOSPACE;
    t.send(
        opcode::FUSE_IOCTL,
        &ioctl_args(fh, SNDCTL_DSP_GETOSPACE, 0, 16),
    );
    let a = t.answers();
    let [Answer::Ioctl {
        result: 0, ref out, ..
    }] = a[..]
    else {
        panic!("{a:?}")
    };
    std::array::from_fn(|i| i32::from_ne_bytes(out[4 * i..4 * i + 4].try_into().unwrap()))
}

#[test]
fn a_client_that_keeps_its_buffer_full_and_still_runs_dry_twice_gets_a_bigger_one() {
    let mut t = T::new();
    let fh = t.open_native();
    let [_, frags, size, bytes] = ospace(&mut t, fh);
    assert_eq!(frags * size, bytes);
    // Filled to the brim, then played dry (the program woke too late):
    // once is nothing.
    t.write(fh, bytes as usize);
    t.answers();
    t.play(bytes as usize / 16 + 2);
    assert_eq!(ospace(&mut t, fh), [frags, frags, size, bytes]);
    // Twice within 2 s: more fragments (twice the default four; this
    // test device's tiny periods need six at least), of the same size.
    t.write(fh, bytes as usize);
    t.answers();
    t.play(bytes as usize / 16 + 2);
    let [free, more, same, all] = ospace(&mut t, fh);
    assert!(more > frags && more == free && same == size && all == more * size);
    // A write of more than the ring holds parks and is served whole.
    let u = t.write(fh, 3 * bytes as usize);
    t.play(1000);
    assert_eq!(
        t.answers(),
        vec![Answer::Written {
            unique: u,
            n: 3 * bytes as u32
        }]
    );
    // A program that is simply slow to write (it never fills the ring)
    // does not make it grow: only underruns, not starved.
    let grown = ospace(&mut t, fh);
    for _ in 0..5 {
        t.write(fh, size as usize);
        t.answers();
        t.play(size as usize / 16 + 2);
    }
    assert_eq!(ospace(&mut t, fh), grown);
}

#[test]
fn an_interrupt_answers_a_parked_write_with_what_it_queued() {
    let mut t = T::new();
    let fh = t.open_native();
    let u = t.write(fh, 4096);
    t.send(opcode::FUSE_INTERRUPT, &u.to_ne_bytes());
    let a = t.answers();
    let [Answer::Written { unique, n }] = a[..] else {
        panic!("{a:?}")
    };
    assert!(unique == u && n > 0 && n < 4096, "{a:?}");
    // A stale interrupt (nothing parked under that unique) is ignored.
    t.send(opcode::FUSE_INTERRUPT, &u.to_ne_bytes());
    assert!(t.answers().is_empty());
}

#[test]
fn a_close_plays_out_its_stream_and_answers_what_was_parked() {
    let mut t = T::new();
    let fh = t.open_native();
    let w = t.write(fh, 4096);
    let mut a = vec![0u8; crate::cuse::abi::RELEASE_IN_SIZE];
    a[0..8].copy_from_slice(&fh.to_ne_bytes());
    let r = t.send(opcode::FUSE_RELEASE, &a);
    // The parked write is cut short at once; the close waits for the queue.
    let got = t.answers();
    assert!(
        matches!(got[..], [Answer::Written { unique, .. }] if unique == w),
        "{got:?}"
    );
    assert!(t.server.next_deadline().is_some());
    t.play(1000);
    assert_eq!(t.answers(), vec![Answer::Done(r)]);
    assert_eq!(t.server.open_files(), 0);
    assert_eq!(t.io.mixer.voices().count(), 0);
}

#[test]
fn a_dying_process_is_not_kept_waiting_by_its_close() {
    let mut t = T::new();
    let fh = t.open_native();
    let w = t.write(fh, 4096);
    // Killed: the kernel closes its files as it exits, and sends the
    // RELEASE without credentials (pid 0): the opener (pid 1) is asked.
    t.io.dying.push(1);
    t.pid = 0;
    let r = t.send(opcode::FUSE_RELEASE, &release_args(fh));
    let got = t.answers();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(matches!(got[0], Answer::Written { unique, .. } if unique == w));
    assert_eq!(got[1], Answer::Done(r), "answered at once, no drain");
    assert_eq!(t.server.open_files(), 0);
    assert_eq!(t.io.mixer.voices().count(), 0);
}

#[test]
fn a_draining_close_interrupted_by_a_fatal_signal_is_answered_at_once() {
    let mut t = T::new();
    let fh = t.open_native();
    t.write(fh, 64);
    t.answers();
    t.pid = 0;
    let r = t.send(opcode::FUSE_RELEASE, &release_args(fh));
    assert!(t.answers().is_empty(), "draining");
    // A caught signal: the kernel interrupts, the close drains on.
    t.send(opcode::FUSE_INTERRUPT, &r.to_ne_bytes());
    assert!(t.answers().is_empty(), "still draining");
    assert_eq!(t.server.open_files(), 1);
    // Killed while it waits: answered at once, its stream gone.
    t.io.dying.push(1);
    t.send(opcode::FUSE_INTERRUPT, &r.to_ne_bytes());
    assert_eq!(t.answers(), vec![Answer::Done(r)]);
    assert_eq!(t.server.open_files(), 0);
    assert_eq!(t.io.mixer.voices().count(), 0);
    // A stale interrupt for it changes nothing.
    t.send(opcode::FUSE_INTERRUPT, &r.to_ne_bytes());
    assert!(t.answers().is_empty());
}

fn sync_args(fh: u64) -> Vec<u8> {
    ioctl_args(fh, crate::oss::soundcard::SNDCTL_DSP_SYNC, 0, 0)
}

fn release_args(fh: u64) -> Vec<u8> {
    let mut a = vec![0u8; crate::cuse::abi::RELEASE_IN_SIZE];
    a[0..8].copy_from_slice(&fh.to_ne_bytes());
    a
}

fn eio(unique: u64) -> Answer {
    Answer::Fail {
        unique,
        fail: Fail::Io,
    }
}

#[test]
fn a_request_that_panics_fails_its_file_and_only_its_file() {
    let mut t = T::new();
    let a = t.open_native();
    let b = t.open_native();
    let wa = t.write(a, 4096);
    let wb = t.write(b, 4096);
    let sb = t.send(opcode::FUSE_IOCTL, &sync_args(b));
    assert!(t.answers().is_empty(), "parked");
    let (u, r) = t.send_panicking(opcode::FUSE_IOCTL, &sync_args(b));
    assert_eq!(
        r,
        Recovered {
            unique: Some(u),
            fh: Some(b),
            pid: Some(1),
            closed: false
        }
    );
    // The request and what its file had parked: EIO, once each.
    let mut got = t.answers();
    got.sort_by_key(|a| a.unique());
    assert_eq!(got, vec![eio(wb), eio(sb), eio(u)]);
    // B's stream has left the mix; A's plays on.
    assert_eq!(t.io.mixer.voices().count(), 1);
    assert!(t.server.waiting(), "A's write is still parked");
    // B's later requests: EIO; its close works.
    let w = t.write(b, 4);
    assert_eq!(t.answers(), vec![eio(w)]);
    let r = t.send(opcode::FUSE_RELEASE, &release_args(b));
    assert_eq!(t.answers(), vec![Answer::Done(r)]);
    assert_eq!(t.server.open_files(), 1);
    // A is served as before.
    t.play(1000);
    assert_eq!(
        t.answers(),
        vec![Answer::Written {
            unique: wa,
            n: 4096
        }]
    );
}

#[test]
fn a_close_that_panics_is_answered_and_its_file_is_gone() {
    let mut t = T::new();
    let a = t.open_native();
    let w = t.write(a, 4096);
    let (u, r) = t.send_panicking(opcode::FUSE_RELEASE, &release_args(a));
    assert!(r.closed);
    // The parked write went before the panic (EINTR, by the close).
    let got = t.answers();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.contains(&eio(u)), "{got:?}");
    assert!(
        got.iter().any(|a| a.unique() == Some(w)),
        "the parked write is answered: {got:?}"
    );
    assert_eq!(t.server.open_files(), 0);
    assert_eq!(t.io.mixer.voices().count(), 0);
    assert!(!t.server.waiting());
}

#[test]
fn a_panic_while_serving_with_no_file_in_hand_fails_nothing() {
    let mut t = T::new();
    let a = t.open_native();
    let w = t.write(a, 4096);
    t.io.panic_next = true;
    let caught =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.server.service(&mut t.io)));
    assert!(caught.is_err());
    let r = t.server.recover(&mut t.io);
    assert_eq!((r.unique, r.fh), (None, None));
    assert!(t.answers().is_empty());
    t.play(1000);
    assert_eq!(t.answers(), vec![Answer::Written { unique: w, n: 4096 }]);
    assert_eq!(t.io.mixer.voices().count(), 1, "a's voice stays");
}

#[test]
fn requests_for_unknown_files_and_malformed_ones_get_errors() {
    let mut t = T::new();
    let u = t.write(99, 4);
    assert_eq!(
        t.answers(),
        vec![Answer::Fail {
            unique: u,
            fail: Fail::BadFile
        }]
    );
    let err = Request::parse(&[0u8; 8]).unwrap_err();
    t.server.malformed(0, &err);
    assert!(t.answers().is_empty(), "no header: nothing to answer");
}
