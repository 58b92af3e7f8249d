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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::eventfd::EventFd;

use super::Shared;
use crate::device::DeviceError;
use crate::mix::Bus;
use crate::output::{Position, Sink, SinkOpener};

/// How the engine thread runs.
#[derive(Default)]
pub struct EngineOptions {
    /// Ask for SCHED_FIFO at this priority.
    pub realtime: Option<i32>,
    /// Close the device after this long without any client, and reopen it
    /// (with `reopen`) when one comes back.
    pub idle_release: Option<Duration>,
    pub reopen: Option<SinkOpener>,
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("realtime", &self.realtime)
            .field("idle_release", &self.idle_release)
            .finish()
    }
}

const XRUN_LOG_INTERVAL: Duration = Duration::from_secs(5);

pub fn run(
    shared: Arc<Mutex<Shared>>,
    sink: Box<dyn Sink>,
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
    let mut sink = Some(sink);
    let mut bus = Bus::new(&cfg);
    let mut xruns_logged = 0;
    let mut xruns_before = 0;
    let mut last_log = Instant::now() - XRUN_LOG_INTERVAL;
    let mut idle_since: Option<Instant> = None;
    // Whether any client had a stream, as of the last period begun.
    let mut active = true;
    let fail = |e: DeviceError| {
        shared.lock().expect("engine lock").failed = Some(e);
        let _ = tick.write(1);
    };
    while !stop.load(Ordering::Acquire) {
        if let (Some(idle), Some(reopen)) = (opts.idle_release, opts.reopen.as_mut()) {
            if sink.is_none() {
                active = shared.lock().expect("engine lock").mixer.is_active();
            }
            idle_since = if active {
                None
            } else {
                idle_since.or(Some(Instant::now()))
            };
            if sink.is_some() && idle_since.is_some_and(|t| t.elapsed() >= idle) {
                xruns_before += sink.take().map_or(0, |s| s.xruns());
                shared.lock().expect("engine lock").position.delay = 0;
                tracing::info!("no clients: output device released");
            }
            if sink.is_none() {
                if !active {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                match reopen() {
                    Ok(s) if s.config() == cfg => {
                        tracing::info!("output device reopened");
                        sink = Some(s);
                    }
                    Ok(s) => {
                        return fail(DeviceError::Reopened {
                            got: s.config(),
                            want: cfg,
                        });
                    }
                    Err(e) => return fail(DeviceError::Reopen(Box::new(e))),
                }
            }
        }
        let out = sink.as_mut().expect("open");
        if let Err(e) = out.wait_ready() {
            return fail(e);
        }
        {
            let mut s = shared.lock().expect("engine lock");
            active = s.mixer.is_active();
            s.mixer.begin_period(&mut bus);
        }
        let written = out.write_period(bus.render());
        let delay = out.delay();
        let xruns = xruns_before + out.xruns();
        let wanted = {
            let mut s = shared.lock().expect("engine lock");
            s.mixer.end_period(&mut bus);
            if let Err(e) = written {
                drop(s);
                return fail(e);
            }
            s.position = Position {
                written: s.mixer.frames_mixed(),
                delay,
                at: Instant::now(),
                rate: cfg.pcm.rate,
            };
            s.device_xruns = xruns;
            s.want_tick
        };
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
