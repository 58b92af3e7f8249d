//! The capture thread: reads the recording device one period at a time,
//! decodes it, converts it for every reader
//! ([`RecVoice`](crate::mix::record::RecVoice)) with the lock released, appends
//! the bytes to their rings under a short lock, and wakes the protocol thread. Started when the first
//! reader opens, stopped when the last one closes.
//!
//! When the device goes away, a silent [`ClockSource`] of the same
//! configuration takes its place: readers get silence at the device's pace,
//! never an error. The device is tried again on [`Presence`]'s timer, and read
//! from again when it opens as it was.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use nix::sys::eventfd::EventFd;

use super::lock;
use crate::device::DeviceError;
use crate::input::clock::ClockSource;
use crate::input::{Source, SourceOpener};
use crate::mix::record::{RecWork, Recorders};
use crate::pcm::format;
use crate::pcm::DeviceConfig;
use crate::presence::{Presence, Use, CAPTURE};

/// What the capture thread shares with the protocol thread.
#[derive(Debug, Default)]
pub struct CaptureShared {
    pub recorders: Recorders,
    /// Frames captured in all.
    pub frames: u64,
    pub xruns: u64,
    /// The device is missing: readers get silence from a stand-in.
    pub missing: bool,
    /// Frames of silence given in the missing device's place.
    pub standin_frames: u64,
    /// `ossd ctl capture NAME`: record from NAME from now on (taken by the
    /// capture thread between two periods) ...
    pub switch: Option<String>,
    /// ... and how it went: the new device list, or why not.
    pub switch_result: Option<Result<Vec<String>, String>>,
}

#[derive(Debug)]
pub struct Capture {
    pub shared: Arc<Mutex<CaptureShared>>,
    pub dev: DeviceConfig,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Starts reading `source`, which is device `on` of `names` (most
    /// preferred first); `tick` is written after every period. `reopen`
    /// opens a device of the list again: after the one used went away, and
    /// to move back to a preferred one.
    pub fn start(
        source: Box<dyn Source>,
        names: Vec<String>,
        on: usize,
        tick: Arc<EventFd>,
        reopen: Option<Arc<Mutex<SourceOpener>>>,
    ) -> Result<Capture, DeviceError> {
        let dev = source.config();
        let shared = Arc::new(Mutex::new(CaptureShared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::Builder::new()
                .name("ossd-capture".into())
                .spawn(move || run(source, names, on, reopen, shared, tick, stop))
                .map_err(DeviceError::CaptureThread)?
        };
        Ok(Capture {
            shared,
            dev,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread (within one period) and closes the device.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The capture source, or its silent stand-in, and what is known of them.
struct Input {
    names: Vec<String>,
    /// What the readers' conversions are built for.
    dev: DeviceConfig,
    presence: Presence,
    source: Box<dyn Source>,
    /// Overruns of the sources read before this one.
    xruns_before: u64,
}

impl Input {
    fn swap(&mut self, next: Box<dyn Source>) {
        self.xruns_before += std::mem::replace(&mut self.source, next).xruns();
    }

    fn silence(&self) -> Box<dyn Source> {
        let mut silent = ClockSource::new(self.dev, 0.0);
        silent.amplitude = 0.0;
        Box::new(silent)
    }

    /// Tries `range` of the devices, most preferred first, and reads from
    /// the first that opens as the readers need (its sample format may
    /// differ). Returns whether one did.
    fn round(&mut self, range: std::ops::Range<usize>, reopen: &Mutex<SourceOpener>) -> bool {
        let was = self.presence.on();
        let mut found = false;
        for i in range {
            let result = (lock(reopen))(&self.names[i]);
            let now = Instant::now();
            match result {
                Ok(s) => {
                    let got = s.config();
                    let fits = got.pcm.rate == self.dev.pcm.rate
                        && got.pcm.channels == self.dev.pcm.channels
                        && got.period_frames == self.dev.period_frames;
                    match self.presence.opened(i, fits, now) {
                        Use::Yes { away } => {
                            CAPTURE.log_back(&self.names, i, was, away);
                            self.swap(s);
                            found = true;
                            break;
                        }
                        Use::No { tell: true } => tracing::warn!(
                            "capture device {} is there, but as {got:?}, not as the readers \
                             record; not using it (restart ossd to)",
                            self.names[i]
                        ),
                        Use::No { tell: false } => {}
                    }
                }
                Err(_) => self.presence.open_failed(i, now),
            }
        }
        self.presence.tried(Instant::now());
        found
    }

    /// The source failed (`why`): every device is tried, and silence is
    /// recorded if none opens.
    fn fail(&mut self, why: &dyn std::fmt::Display, reopen: Option<&Mutex<SourceOpener>>) {
        let failed = self.presence.failed(Instant::now());
        let found = match reopen {
            Some(r) => self.round(0..self.names.len(), r),
            None => false,
        };
        if !found {
            let silence = self.silence();
            self.swap(silence);
        }
        if let Some(failed) = failed {
            CAPTURE.log_failed(&self.names, failed, self.presence.on(), why);
        }
    }

    fn xruns(&self) -> u64 {
        self.xruns_before + self.source.xruns()
    }

    /// Records from `name` from now on, as asked: it goes first in the
    /// list. If it does not open as the readers need, nothing changes.
    fn switch_to(
        &mut self,
        name: &str,
        reopen: &Mutex<SourceOpener>,
    ) -> Result<Vec<String>, String> {
        let current = match self.presence.on() {
            Some(i) => self.names[i].clone(),
            None => "silence".to_owned(),
        };
        let names = crate::presence::preferring(&self.names, name);
        if current != name {
            let got = (lock(reopen))(name)
                .map_err(|e| format!("{name} did not open ({e}); recording stays on {current}"))?;
            let cfg = got.config();
            if cfg.pcm.rate != self.dev.pcm.rate
                || cfg.pcm.channels != self.dev.pcm.channels
                || cfg.period_frames != self.dev.period_frames
            {
                return Err(format!(
                    "{name} opened as {cfg:?}, not as the readers record; recording stays on \
                     {current}"
                ));
            }
            tracing::info!("recording moves to capture device {name} from {current}, as asked");
            self.swap(got);
        }
        self.names = names;
        self.presence = Presence::new(self.names.len(), Some(0), Instant::now());
        Ok(self.names.clone())
    }
}

fn run(
    source: Box<dyn Source>,
    names: Vec<String>,
    on: usize,
    reopen: Option<Arc<Mutex<SourceOpener>>>,
    shared: Arc<Mutex<CaptureShared>>,
    tick: Arc<EventFd>,
    stop: Arc<AtomicBool>,
) {
    let dev = source.config();
    let mut bytes = vec![0u8; dev.period_bytes()];
    let mut frames = vec![0.0f64; dev.period_frames as usize * dev.pcm.channels as usize];
    let mut work = RecWork::default();
    let started = Instant::now();
    let n = names.len().max(1);
    let mut input = Input {
        names,
        dev,
        presence: Presence::new(n, Some(on.min(n - 1)), started),
        source,
        xruns_before: 0,
    };
    while !stop.load(Ordering::Acquire) {
        // Not on the preferred device: look for the better ones, between
        // two periods, on the timer (no clock read while on the first).
        if let Some(reopen) = &reopen {
            if input.presence.on() != Some(0) {
                let range = input.presence.to_try(Instant::now());
                if !range.is_empty() {
                    input.round(range, reopen);
                }
            }
        }
        let missing = input.presence.is_missing();
        let sample = input.source.config().pcm.sample;
        let len = input.source.config().period_bytes();
        if bytes.len() != len {
            // Another sample format: only when the device changed.
            bytes.resize(len, 0);
        }
        let switch = lock(&shared).switch.take();
        if let Some(name) = switch {
            let result = match &reopen {
                Some(r) => input.switch_to(&name, r),
                None => Err("this capture cannot be reopened".into()),
            };
            lock(&shared).switch_result = Some(result);
            let _ = tick.write(1);
            continue;
        }
        if let Err(e) = input.source.read_period(&mut bytes) {
            input.fail(&e, reopen.as_deref());
            // The stand-in's silence follows at once, at the device's pace.
            continue;
        }
        format::decode(sample, &bytes, &mut frames);
        lock(&shared).recorders.begin(&mut work);
        work.convert(&frames);
        {
            let mut s = lock(&shared);
            s.recorders.end(&mut work, &frames);
            s.frames += dev.period_frames as u64;
            s.xruns = input.xruns();
            s.missing = input.presence.is_missing();
            if missing {
                s.standin_frames += dev.period_frames as u64;
            }
        }
        let _ = tick.write(1);
    }
    tracing::debug!(secs = started.elapsed().as_secs_f64(), "capture stopped");
}
