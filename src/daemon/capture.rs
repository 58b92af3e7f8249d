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

use crate::device::DeviceError;
use crate::input::clock::ClockSource;
use crate::input::{Source, SourceOpener};
use crate::mix::record::{RecWork, Recorders};
use crate::pcm::format;
use crate::pcm::DeviceConfig;
use crate::presence::{Event, Presence};

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
}

#[derive(Debug)]
pub struct Capture {
    pub shared: Arc<Mutex<CaptureShared>>,
    pub dev: DeviceConfig,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Starts reading `source` (the device `name`); `tick` is written after
    /// every period. `reopen` opens the device again after it went away.
    pub fn start(
        source: Box<dyn Source>,
        name: &str,
        tick: Arc<EventFd>,
        reopen: Option<Arc<Mutex<SourceOpener>>>,
    ) -> Result<Capture, DeviceError> {
        let dev = source.config();
        let shared = Arc::new(Mutex::new(CaptureShared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop, name) = (shared.clone(), stop.clone(), name.to_owned());
            std::thread::Builder::new()
                .name("ossd-capture".into())
                .spawn(move || run(source, &name, reopen, shared, tick, stop))
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

/// The capture source, or its silent stand-in, and what is known of it.
struct Input<'a> {
    name: &'a str,
    presence: Presence,
    source: Box<dyn Source>,
    /// Overruns of the sources read before this one.
    xruns_before: u64,
}

impl Input<'_> {
    /// Swaps sources as [`Presence`] says after `event`; logs one line per
    /// change.
    fn on(&mut self, event: Event, opened: Option<Box<dyn Source>>, why: &dyn std::fmt::Display) {
        let dev = self.source.config();
        self.presence
            .on(event, Instant::now())
            .log("capture", self.name, why, "recording silence");
        let next: Box<dyn Source> = match opened {
            Some(s) if !self.presence.is_missing() => s,
            _ if event == Event::Failed => {
                let mut silent = ClockSource::new(dev, 0.0);
                silent.amplitude = 0.0;
                Box::new(silent)
            }
            _ => return,
        };
        self.xruns_before += std::mem::replace(&mut self.source, next).xruns();
    }

    fn xruns(&self) -> u64 {
        self.xruns_before + self.source.xruns()
    }
}

fn run(
    source: Box<dyn Source>,
    name: &str,
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
    let mut input = Input {
        name,
        presence: Presence::Present,
        source,
        xruns_before: 0,
    };
    while !stop.load(Ordering::Acquire) {
        // Missing: look for the device between two periods (no clock read
        // while it is there).
        if let Some(reopen) = &reopen {
            if input.presence.is_missing() && input.presence.should_try(Instant::now()) {
                let result = (reopen.lock().expect("capture opener lock"))();
                match result {
                    Ok(s) => {
                        let got = s.config();
                        let event = Event::Reopened {
                            same_config: got == dev,
                        };
                        input.on(event, Some(s), &format!("{got:?}"));
                    }
                    Err(e) => input.on(Event::ReopenFailed, None, &e),
                }
            }
        }
        let missing = input.presence.is_missing();
        if let Err(e) = input.source.read_period(&mut bytes) {
            input.on(Event::Failed, None, &e);
            // The stand-in's silence follows at once, at the device's pace.
            continue;
        }
        format::decode(dev.pcm.sample, &bytes, &mut frames);
        shared
            .lock()
            .expect("capture lock")
            .recorders
            .begin(&mut work);
        work.convert(&frames);
        {
            let mut s = shared.lock().expect("capture lock");
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
