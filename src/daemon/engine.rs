//! The engine thread: the one real-time loop. Each turn it waits until the
//! device has room for a period (that wait is the clock); under the shared
//! lock it takes each voice's input for the period (copies, no conversion);
//! with the lock released it converts, resamples and mixes them and writes
//! the period; under the lock again it gives the voices their pipelines
//! back, publishes the device position and wakes the protocol thread.
//! Nothing on this loop allocates, and the lock is never held across the
//! mixing or the device.
//!
//! It never logs per period; device underruns are counted, and reported at
//! most once every few seconds.
//!
//! **The card going away.** When the device fails in a way no recovery
//! fixes (unplugged, driver unbound), the engine swaps in a [`ClockSink`]
//! of the same configuration and keeps mixing: clients are paced as before
//! and see no error; their sound is lost, and counted (`standin_frames`).
//! Every [`RETRY`](crate::presence::RETRY) it tries `reopen` between two
//! periods, and plays to the device again when it opens as it was. The
//! decisions are [`Presence`]'s; this loop does the I/O and logs one line
//! per change.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::eventfd::EventFd;

use super::Shared;
use crate::mix::Bus;
use crate::output::clock::ClockSink;
use crate::output::{Position, Sink, SinkOpener};
use crate::pcm::DeviceConfig;
use crate::presence::{Event, Presence};

/// How the engine thread runs.
#[derive(Default)]
pub struct EngineOptions {
    /// Ask for SCHED_FIFO at this priority.
    pub realtime: Option<i32>,
    /// Close the device after this long without any client, and reopen it
    /// (with `reopen`) when one comes back.
    pub idle_release: Option<Duration>,
    /// Opens the output device again: after an idle release, and while it
    /// is missing. Without it a missing device stays on the stand-in.
    pub reopen: Option<SinkOpener>,
    /// The device was absent at start-up: the sink given is a stand-in
    /// clock, and `reopen` looks for the device.
    pub absent: bool,
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("realtime", &self.realtime)
            .field("idle_release", &self.idle_release)
            .field("absent", &self.absent)
            .finish()
    }
}

const XRUN_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// The output device, or its stand-in, and what is known of it.
struct Output<'a> {
    name: &'a str,
    cfg: DeviceConfig,
    presence: Presence,
    sink: Option<Box<dyn Sink>>,
    /// Underruns of the sinks closed before this one.
    xruns_before: u64,
    shared: &'a Mutex<Shared>,
}

impl Output<'_> {
    /// Takes in `event` (with the sink it opened, if any) and swaps sinks
    /// as [`Presence`] says; logs one line per change.
    fn on(&mut self, event: Event, opened: Option<Box<dyn Sink>>, why: &dyn std::fmt::Display) {
        self.presence.on(event, Instant::now()).log(
            "output",
            self.name,
            why,
            "playing on a stand-in clock",
        );
        let missing = self.presence.is_missing();
        let next: Box<dyn Sink> = match opened {
            Some(s) if !missing => s,
            _ if event == Event::Failed || self.sink.is_none() => {
                Box::new(ClockSink::stand_in(self.cfg))
            }
            // A failed try, or a device in another configuration: the
            // stand-in goes on.
            _ => return,
        };
        self.xruns_before += self.sink.take().map_or(0, |s| s.xruns());
        self.sink = Some(next);
        self.shared.lock().expect("engine lock").output_missing = missing;
    }

    /// Opens the device with `reopen` and takes in what came of it.
    fn reopen(&mut self, reopen: &mut SinkOpener) {
        let t = Instant::now();
        let result = reopen();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(s) => {
                let got = s.config();
                let same_config = got == self.cfg;
                tracing::debug!(ms, "output device opened again");
                self.on(Event::Reopened { same_config }, Some(s), &Describe(got));
            }
            Err(e) => {
                // A try every half second, at debug level only.
                tracing::debug!(ms, "output device still missing: {e}");
                self.on(Event::ReopenFailed, None, &e)
            }
        }
    }
}

/// A device configuration, as a log line gives it.
struct Describe(DeviceConfig);

impl std::fmt::Display for Describe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.0;
        write!(
            f,
            "{} {} Hz {} ch, period {} frames, buffer {} frames",
            d.pcm.sample.name(),
            d.pcm.rate,
            d.pcm.channels,
            d.period_frames,
            d.buffer_frames
        )
    }
}

pub fn run(
    shared: Arc<Mutex<Shared>>,
    sink: Box<dyn Sink>,
    name: &str,
    tick: Arc<EventFd>,
    stop: Arc<AtomicBool>,
    mut opts: EngineOptions,
) {
    if let Some(prio) = opts.realtime {
        match crate::system::set_realtime(prio) {
            Ok(()) => tracing::info!(priority = prio, "engine thread runs SCHED_FIFO"),
            Err(e) => tracing::warn!("no real-time scheduling for the engine: {e}"),
        }
    }
    let cfg = sink.config();
    let mut out = Output {
        name,
        cfg,
        presence: if opts.absent {
            Presence::absent(Instant::now())
        } else {
            Presence::Present
        },
        sink: Some(sink),
        xruns_before: 0,
        shared: &shared,
    };
    shared.lock().expect("engine lock").output_missing = out.presence.is_missing();
    let mut bus = Bus::new(&cfg);
    let mut xruns_logged = 0;
    let mut last_log = Instant::now() - XRUN_LOG_INTERVAL;
    let mut idle_since: Option<Instant> = None;
    // Whether any client had a stream, as of the last period begun.
    let mut active = true;
    while !stop.load(Ordering::Acquire) {
        if let (Some(idle), Some(reopen)) = (opts.idle_release, opts.reopen.as_mut()) {
            if out.sink.is_none() {
                active = shared.lock().expect("engine lock").mixer.is_active();
            }
            idle_since = if active {
                None
            } else {
                idle_since.or(Some(Instant::now()))
            };
            if out.sink.is_some() && idle_since.is_some_and(|t| t.elapsed() >= idle) {
                out.xruns_before += out.sink.take().map_or(0, |s| s.xruns());
                shared.lock().expect("engine lock").position.delay = 0;
                tracing::info!("no clients: output device released");
            }
            if out.sink.is_none() {
                if !active {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                out.reopen(reopen);
                if out.sink.is_some() && !out.presence.is_missing() {
                    tracing::info!("output device reopened");
                }
            }
        }
        // On the stand-in: look for the device, between two periods (no
        // clock read while the device is there).
        if let Some(reopen) = opts.reopen.as_mut() {
            let missing = out.presence.is_missing();
            if missing && out.sink.is_some() && out.presence.should_try(Instant::now()) {
                out.reopen(reopen);
            }
        }
        let sink = out.sink.as_mut().expect("open");
        if let Err(e) = sink.wait_ready() {
            out.on(Event::Failed, None, &e);
            continue;
        }
        {
            let mut s = shared.lock().expect("engine lock");
            active = s.mixer.is_active();
            s.mixer.begin_period(&mut bus);
        }
        let written = sink.write_period(bus.render());
        let delay = sink.delay();
        let xruns = out.xruns_before + sink.xruns();
        let lost = written.is_err() || out.presence.is_missing();
        let wanted = {
            let mut s = shared.lock().expect("engine lock");
            s.mixer.end_period(&mut bus);
            s.position = Position {
                written: s.mixer.frames_mixed(),
                delay,
                at: Instant::now(),
                rate: cfg.pcm.rate,
            };
            s.device_xruns = xruns;
            if lost {
                s.standin_frames += cfg.period_frames as u64;
            }
            s.want_tick
        };
        if let Err(e) = written {
            out.on(Event::Failed, None, &e);
        }
        // Wake the protocol thread only when it has something parked: an
        // idle daemon then costs one wake-up per period, not two.
        if wanted {
            let _ = tick.write(1);
        }
        if xruns != xruns_logged && last_log.elapsed() >= XRUN_LOG_INTERVAL {
            tracing::warn!(total = xruns, "output device underran; recovered");
            xruns_logged = xruns;
            last_log = Instant::now();
        }
    }
}
