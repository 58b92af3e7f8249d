//! The engine thread: the one real-time loop. Each turn it waits until the
//! device has room for one mix block (`--period-frames`; that wait is the
//! clock), takes each voice's input under the shared lock (copies, no
//! conversion), converts, resamples and mixes them with the lock released,
//! writes the block, and under the lock again gives the voices their
//! pipelines back, publishes the device position and wakes the protocol
//! thread. The device's own period is a whole number of blocks (one, until
//! overload raises it): clients are served block by block either way, so
//! their buffers never need to hold more than a few blocks. Nothing on this
//! loop allocates per period, and the lock is never held across the mixing
//! or the device.
//!
//! It never logs per period; device underruns are counted, and reported at
//! most once every few seconds.
//!
//! **Underruns keep the clients' pace.** When the device ran dry (the
//! machine too busy, or the device's wake-up late), ALSA restarts it from
//! where ossd is. The time it stood still is not lost to the clients: the
//! engine mixes the blocks that fell due meanwhile and drops them (counted),
//! so a client's stream keeps real time, as it would on a sound card's DMA
//! clock. So is an underrun ALSA did not see: the device falling behind
//! the clock by more than a buffer ([`Pace`]). Repeated underruns raise
//! the device's period ([`Adapt`]): fewer, longer periods that a busy
//! machine can keep up with, logged with the new latency, and lowered again
//! when it has been calm and nothing plays.
//!
//! **The card going away.** When the device fails in a way no recovery
//! fixes (unplugged, driver unbound), every configured device is tried
//! (`--device` may name several, most preferred first); if none opens, a
//! [`ClockSink`] of the same configuration stands in and the engine keeps
//! mixing: clients are paced as before and see no error; their sound is
//! lost, and counted (`standin_frames`). Every
//! [`RETRY`](crate::presence::RETRY) the devices preferred to the one used
//! are tried between two periods, and the mix moves to the first that opens
//! at the mix's rate and channels. The decisions are [`Presence`]'s and
//! [`Adapt`]'s; this loop does the I/O and logs one line per change.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::eventfd::EventFd;

use super::{lock, Shared};
use crate::mix::Bus;
use crate::output::adapt::{Adapt, Change};
use crate::output::clock::ClockSink;
use crate::output::pace::Pace;
use crate::output::{Position, Sink, SinkOpener};
use crate::pcm::DeviceConfig;
use crate::presence::{Presence, Use, OUTPUT};

/// How the engine thread runs.
#[derive(Default)]
pub struct EngineOptions {
    /// Ask for SCHED_FIFO at this priority.
    pub realtime: Option<i32>,
    /// Close the device after this long without any client, and reopen it
    /// (with `reopen`) when one comes back.
    pub idle_release: Option<Duration>,
    /// Opens a device of `devices` again: after an idle release, while it is
    /// missing, to move between devices and to change the period. Without
    /// it the device given is the only one, and a missing device stays on
    /// the stand-in.
    pub reopen: Option<SinkOpener>,
    /// The output devices, most preferred first (for the log; empty: one,
    /// named as the daemon's config says).
    pub devices: Vec<String>,
    /// Which of `devices` the sink given is.
    pub device: usize,
    /// None of the devices opened at start-up: the sink given is a stand-in
    /// clock, and `reopen` looks for them.
    pub absent: bool,
    /// Raise the device's period when it underruns again and again, and
    /// lower it when calm (needs `reopen`).
    pub adapt: bool,
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("realtime", &self.realtime)
            .field("idle_release", &self.idle_release)
            .field("devices", &self.devices)
            .field("device", &self.device)
            .field("absent", &self.absent)
            .field("adapt", &self.adapt)
            .finish()
    }
}

const XRUN_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// The most the engine catches up at once after the device stood still.
const MAX_CATCH_UP: Duration = Duration::from_secs(1);

/// The output device, or its stand-in, and what is known of them.
struct Output<'a> {
    names: Vec<String>,
    /// The mix: its format, rate, channels and block (`period_frames`).
    mix: DeviceConfig,
    presence: Presence,
    adapt: Adapt,
    sink: Option<Box<dyn Sink>>,
    /// Whether the device keeps time ([`Pace`]), and the frames written to
    /// the sink in use.
    pace: Pace,
    sink_written: u64,
    /// Underruns ALSA did not see (the device fell behind the clock).
    unseen: u64,
    /// Underruns of the sinks closed before this one.
    xruns_before: u64,
    /// The sink changed: catch up with the time it took.
    swapped: bool,
    shared: &'a Mutex<Shared>,
}

impl Output<'_> {
    fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// What to ask of a device: the mix's format, rate and channels, with
    /// periods of the blocks [`Adapt`] says.
    fn want(&self) -> DeviceConfig {
        let mult = self.adapt.mult();
        let periods = (self.mix.buffer_frames / self.mix.period_frames.max(1)).max(2);
        DeviceConfig {
            period_frames: self.mix.period_frames * mult,
            buffer_frames: self.mix.period_frames * mult * periods,
            ..self.mix
        }
    }

    /// The mix as the device used takes it: its sample format, the mix's
    /// rate, channels and block.
    fn sink_mix(&self) -> DeviceConfig {
        let mut cfg = self.mix;
        if let Some(s) = &self.sink {
            cfg.pcm.sample = s.config().pcm.sample;
        }
        cfg
    }

    /// Underruns of all the sinks so far, those ALSA did not see included.
    fn xruns(&self) -> u64 {
        self.xruns_before + self.unseen + self.sink.as_ref().map_or(0, |s| s.xruns())
    }

    /// Puts `next` in the current sink's place; publishes what it is.
    fn swap(&mut self, next: Option<Box<dyn Sink>>) {
        self.xruns_before += self.sink.take().map_or(0, |s| s.xruns());
        self.sink = next;
        self.swapped = true;
        self.sink_written = 0;
        let buffer = self.sink.as_ref().map_or(0, |s| s.config().buffer_frames);
        self.pace.restart(buffer);
        let mut s = lock(self.shared);
        s.output_missing = self.presence.is_missing();
        s.output_device = self.presence.on().unwrap_or(0);
        if let Some(sink) = &self.sink {
            s.output_config = sink.config();
        }
    }

    /// Tries `range` of the devices, most preferred first, and moves the
    /// mix to the first that opens and fits. Returns whether one did.
    fn round(&mut self, range: Range<usize>, reopen: &mut SinkOpener) -> bool {
        let want = self.want();
        let was = self.presence.on();
        let mut found = false;
        for i in range {
            // ALSA hw devices open once: the one used is closed first.
            if Some(i) == was {
                self.swap(None);
            }
            let t = Instant::now();
            let result = reopen(&self.names[i], &want);
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let now = Instant::now();
            match result {
                Ok(s) => {
                    let got = s.config();
                    let fits = got.pcm.rate == self.mix.pcm.rate
                        && got.pcm.channels == self.mix.pcm.channels;
                    tracing::debug!(ms, device = self.name(i), "output device opened");
                    match self.presence.opened(i, fits, now) {
                        Use::Yes { away } => {
                            OUTPUT.log_back(&self.names, i, was, away);
                            self.swap(Some(s));
                            found = true;
                            break;
                        }
                        Use::No { tell } => {
                            if tell {
                                tracing::warn!(
                                    "output device {} is there, but as {}, not at the mix's \
                                     rate and channels; not using it (restart ossd to)",
                                    self.name(i),
                                    Describe(got)
                                );
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(ms, device = self.name(i), "output device not opened: {e}");
                    self.presence.open_failed(i, now);
                }
            }
        }
        self.presence.tried(Instant::now());
        found
    }

    fn stand_in(&mut self) {
        let cfg = self.want();
        self.swap(Some(Box::new(ClockSink::stand_in(cfg))));
    }

    /// The device used failed (`why`): every device is tried at once, and
    /// the stand-in runs if none opens.
    fn fail(&mut self, why: &dyn std::fmt::Display, reopen: Option<&mut SinkOpener>) {
        let failed = self.presence.failed(Instant::now());
        self.swap(None);
        if let Some(reopen) = reopen {
            self.round(0..self.names.len(), reopen);
        }
        if self.sink.is_none() {
            self.stand_in();
        }
        if let Some(failed) = failed {
            OUTPUT.log_failed(&self.names, failed, self.presence.on(), why);
        }
    }

    /// `ossd ctl device NAME`: opens NAME and moves the mix to it, NAME
    /// first in the list from now on (the others after it, as fallbacks).
    /// If it does not open, or not at the mix's rate and channels, the mix
    /// stays where it was. Returns the new list, or why not.
    fn switch_to(&mut self, name: &str, reopen: &mut SinkOpener) -> Result<Vec<String>, String> {
        let current = match self.presence.on() {
            Some(i) => self.names[i].clone(),
            None => "the stand-in clock".to_owned(),
        };
        let names = crate::presence::preferring(&self.names, name);
        if current != name {
            let got = reopen(name, &self.want())
                .map_err(|e| format!("{name} did not open ({e}); the mix stays on {current}"))?;
            let cfg = got.config();
            if cfg.pcm.rate != self.mix.pcm.rate || cfg.pcm.channels != self.mix.pcm.channels {
                return Err(format!(
                    "{name} opened as {}, not at the mix's rate and channels; the mix stays \
                     on {current}",
                    Describe(cfg)
                ));
            }
            tracing::info!(
                "the mix moves to output device {name} ({}) from {current}, as asked",
                Describe(cfg)
            );
            self.names = names;
            self.presence = Presence::new(self.names.len(), Some(0), Instant::now());
            self.swap(Some(got));
        } else {
            self.names = names;
            self.presence = Presence::new(self.names.len(), Some(0), Instant::now());
            self.swap_publish();
        }
        Ok(self.names.clone())
    }

    /// Publishes which device plays (its index moved).
    fn swap_publish(&mut self) {
        let mut s = lock(self.shared);
        s.output_device = self.presence.on().unwrap_or(0);
    }

    /// Reopens the device used with periods of `mult` blocks, as [`Adapt`]
    /// asked; logs the new latency.
    fn change_period(&mut self, change: Change, reopen: &mut SinkOpener) {
        let Some(i) = self.presence.on() else {
            return; // the stand-in never underruns
        };
        self.swap(None);
        let want = self.want();
        match reopen(&self.names[i], &want) {
            Ok(s) => {
                let got = s.config();
                let ms = got.buffer_frames as f64 * 1000.0 / got.pcm.rate as f64;
                let what = match change {
                    Change::Raise { .. } => "raised, after repeated underruns,",
                    Change::Lower { .. } => "lowered, the output having been calm,",
                };
                tracing::warn!(
                    "output latency {what} to {ms:.1} ms: periods of {} frames, buffer of {} \
                     frames on {}",
                    got.period_frames,
                    got.buffer_frames,
                    self.name(i)
                );
                self.swap(Some(s));
            }
            Err(e) => self.fail(&e, Some(reopen)),
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

/// What a block came to.
struct Block {
    written: Result<(), crate::device::DeviceError>,
    /// Any voice played in it.
    playing: bool,
    /// The position published after it.
    position: Position,
    /// Taken under the same lock: the protocol thread wants a tick,
    /// someone has a stream, and a device switch asked for (if taken).
    want_tick: bool,
    active: bool,
    switch: Option<String>,
    /// The device's delay after the write, and the clock just before and
    /// just after reading it (for [`Pace`]).
    delay: Option<(u64, Instant, Instant)>,
}

/// Mixes one block on `bus` and writes it to `sink` (or drops it: `sink`
/// `None`, counted as skipped); publishes the position. `lost`: the sink
/// is the stand-in.
fn block(
    shared: &Mutex<Shared>,
    bus: &mut Bus,
    sink: Option<&mut Box<dyn Sink>>,
    mix: &DeviceConfig,
    lost: bool,
    xruns: u64,
    take_switch: bool,
) -> Block {
    let playing = {
        let mut s = lock(shared);
        s.mixer.begin_period(bus);
        bus.playing()
    };
    let out = bus.render();
    let (written, measured) = match sink {
        Some(sink) => {
            let w = sink.write_period(out);
            let before = Instant::now();
            let delay = sink.delay();
            (w, Some((delay, before, Instant::now())))
        }
        None => (Ok(()), None),
    };
    let delay = measured.map(|(d, _, _)| d);
    let mut s = lock(shared);
    s.mixer.end_period(bus);
    let block = mix.period_frames as u64;
    s.position = Position {
        written: s.mixer.frames_mixed(),
        delay: delay.unwrap_or(0),
        at: Instant::now(),
        rate: mix.pcm.rate,
    };
    s.device_xruns = xruns;
    match delay {
        None => s.skipped_frames += block,
        Some(_) if lost || written.is_err() => s.standin_frames += block,
        Some(_) => {}
    }
    Block {
        written,
        playing,
        position: s.position,
        want_tick: s.want_tick,
        active: s.mixer.is_active(),
        switch: if take_switch {
            s.switch_output.take()
        } else {
            None
        },
        delay: measured,
    }
}

/// The device stood still from when `last` says it ran dry until `until`
/// (an underrun, or a device being opened): the blocks that fell due
/// meanwhile are mixed and dropped, at most [`MAX_CATCH_UP`] of them, so
/// that the clients keep real time. Returns the last position published.
fn catch_up(
    shared: &Mutex<Shared>,
    bus: &mut Bus,
    mix: &DeviceConfig,
    last: Position,
    until: Instant,
    xruns: u64,
) -> Position {
    let rate = f64::from(mix.pcm.rate);
    let dry_at = last.at + Duration::from_secs_f64(last.delay as f64 / rate);
    let missed = until.saturating_duration_since(dry_at);
    drop_frames(
        shared,
        bus,
        mix,
        last,
        (missed.as_secs_f64() * rate) as u64,
        xruns,
    )
}

/// Mixes and drops the blocks that make `frames` (at most
/// [`MAX_CATCH_UP`] of them): time the device did not play is credited to
/// the clients. Returns the last position published (`last` if none).
fn drop_frames(
    shared: &Mutex<Shared>,
    bus: &mut Bus,
    mix: &DeviceConfig,
    last: Position,
    frames: u64,
    xruns: u64,
) -> Position {
    let most = (MAX_CATCH_UP.as_secs_f64() * f64::from(mix.pcm.rate)) as u64;
    let blocks = frames.min(most) / u64::from(mix.period_frames.max(1));
    let mut position = last;
    for _ in 0..blocks {
        position = block(shared, bus, None, mix, false, xruns, false).position;
    }
    position
}

/// `ossd ctl device NAME`, between two blocks: the mix moves (or not), and
/// the protocol thread is told.
fn switch_output(
    out: &mut Output<'_>,
    name: &str,
    reopen: Option<&mut SinkOpener>,
    tick: &EventFd,
) {
    let r = match reopen {
        Some(reopen) => out.switch_to(name, reopen),
        None => Err("this ossd cannot open other devices".into()),
    };
    lock(out.shared).switch_result = Some(r);
    let _ = tick.write(1);
}

/// The engine thread's body: until `stop`, one `Engine::turn` after
/// another.
pub fn run(
    shared: Arc<Mutex<Shared>>,
    sink: Box<dyn Sink>,
    name: &str,
    tick: Arc<EventFd>,
    stop: Arc<AtomicBool>,
    opts: EngineOptions,
) {
    if let Some(prio) = opts.realtime {
        match crate::system::set_realtime(prio) {
            Ok(()) => tracing::info!(priority = prio, "engine thread runs SCHED_FIFO"),
            Err(e) => tracing::warn!("no real-time scheduling for the engine: {e}"),
        }
    }
    let mut engine = Engine::new(&shared, sink, name, &tick, opts);
    while !stop.load(Ordering::Acquire) {
        engine.turn();
    }
}

/// The loop's state from one turn to the next.
struct Engine<'a> {
    shared: &'a Mutex<Shared>,
    tick: &'a EventFd,
    opts: EngineOptions,
    out: Output<'a>,
    /// The number of devices.
    n: usize,
    /// The period adapts to underruns.
    adapt: bool,
    bus: Bus,
    xruns_logged: u64,
    last_log: Instant,
    idle_since: Option<Instant>,
    /// Whether any client had a stream, as of the last period begun.
    active: bool,
    playing: bool,
    /// The position published after the last block.
    last: Position,
}

impl<'a> Engine<'a> {
    fn new(
        shared: &'a Mutex<Shared>,
        sink: Box<dyn Sink>,
        name: &str,
        tick: &'a EventFd,
        mut opts: EngineOptions,
    ) -> Engine<'a> {
        let names = if opts.devices.is_empty() {
            vec![name.to_owned()]
        } else {
            std::mem::take(&mut opts.devices)
        };
        let mix = *lock(shared).mixer.device();
        let now = Instant::now();
        let on = (!opts.absent).then_some(opts.device.min(names.len() - 1));
        let n = names.len();
        let periods = (mix.buffer_frames / mix.period_frames.max(1)).max(2);
        let mut out = Output {
            names,
            mix,
            presence: Presence::new(n, on, now),
            adapt: Adapt::new(mix.period_frames, periods, mix.pcm.rate, now),
            sink: None,
            pace: Pace::new(mix.pcm.rate, mix.buffer_frames),
            sink_written: 0,
            unseen: 0,
            xruns_before: 0,
            swapped: false,
            shared,
        };
        out.swap(Some(sink));
        out.swapped = false;
        let adapt = opts.adapt && opts.reopen.is_some();
        let bus = Bus::new(&out.sink_mix());
        let last = lock(shared).position;
        Engine {
            shared,
            tick,
            opts,
            out,
            n,
            adapt,
            bus,
            xruns_logged: 0,
            last_log: Instant::now() - XRUN_LOG_INTERVAL,
            idle_since: None,
            active: true,
            playing: false,
            last,
        }
    }

    /// One turn: the device seen to (released when idle, reopened when a
    /// client comes, a better one looked for, its period adapted), then one
    /// block played.
    fn turn(&mut self) {
        if self.idle_release() {
            return;
        }
        self.look_for_preferred();
        if self.adapt {
            if let Some(change) = self.out.adapt.on_period(self.playing, Instant::now()) {
                self.out.change_period(
                    change,
                    self.opts.reopen.as_mut().expect("adapt needs reopen"),
                );
            }
        }
        if self.out.swapped {
            self.out.swapped = false;
            self.bus.retarget(&self.out.sink_mix());
            let xruns = self.out.xruns();
            self.last = catch_up(
                self.shared,
                &mut self.bus,
                &self.out.mix,
                self.last,
                Instant::now(),
                xruns,
            );
        }
        self.play_block();
    }

    /// With `--idle-release`: the device closed after a while without
    /// clients, and opened again (or its stand-in) when one comes. Returns
    /// whether the turn is over (no device, no client: a short sleep).
    fn idle_release(&mut self) -> bool {
        if let (Some(idle), Some(reopen)) = (self.opts.idle_release, self.opts.reopen.as_mut()) {
            if self.out.sink.is_none() {
                self.active = lock(self.shared).mixer.is_active();
            }
            self.idle_since = if self.active {
                None
            } else {
                self.idle_since.or(Some(Instant::now()))
            };
            if self.out.sink.is_some() && self.idle_since.is_some_and(|t| t.elapsed() >= idle) {
                self.out.swap(None);
                lock(self.shared).position.delay = 0;
                tracing::info!("no clients: output device released");
            }
            if self.out.sink.is_none() {
                if !self.active {
                    std::thread::sleep(Duration::from_millis(10));
                    let switch = lock(self.shared).switch_output.take();
                    if let Some(name) = switch {
                        switch_output(&mut self.out, &name, Some(reopen), self.tick);
                        self.out.swapped = false; // nothing played: nothing to catch up
                    }
                    return true;
                }
                let was = self.out.presence.on();
                if self.out.round(0..self.n, reopen) {
                    tracing::info!("output device reopened");
                } else {
                    self.out.presence.failed(Instant::now());
                    self.out.stand_in();
                    if let Some(i) = was {
                        tracing::warn!(
                            "output device {} did not open again; playing on a stand-in clock \
                             until it returns",
                            self.out.name(i)
                        );
                    }
                }
                // A new start: nothing to catch up.
                self.out.swapped = false;
            }
        }
        false
    }

    /// Not on the preferred device: look for the better ones, between two
    /// periods, on the timer.
    fn look_for_preferred(&mut self) {
        if let Some(reopen) = self.opts.reopen.as_mut() {
            if self.out.presence.on() != Some(0) {
                let range = self.out.presence.to_try(Instant::now());
                if !range.is_empty() {
                    self.out.round(range, reopen);
                }
            }
        }
    }

    /// Waits for room for one block, mixes and writes it, and wakes the
    /// protocol thread if it has something parked; then the underruns the
    /// device had meanwhile, a device switch asked for, and the log.
    fn play_block(&mut self) {
        let xruns_at_start = self.out.xruns();
        let before = self.last;
        let sink = self.out.sink.as_mut().expect("open");
        if let Err(e) = sink.wait_ready(self.out.mix.period_frames) {
            self.out.fail(&e, self.opts.reopen.as_mut());
            return;
        }
        let ready = Instant::now();
        let missing = self.out.presence.is_missing();
        let xruns = self.out.xruns();
        let b = block(
            self.shared,
            &mut self.bus,
            self.out.sink.as_mut(),
            &self.out.mix,
            missing,
            xruns,
            true,
        );
        self.playing = b.playing;
        self.last = b.position;
        self.active = b.active;
        let switch = b.switch;
        let failed = b.written.err();
        let xruns = self.out.xruns();
        // Wake the protocol thread only when it has something parked: an
        // idle daemon then costs one wake-up per block, not two.
        if b.want_tick {
            let _ = self.tick.write(1);
        }
        if let Some(e) = failed {
            self.out.fail(&e, self.opts.reopen.as_mut());
            // A switch asked for meanwhile waits for the next turn.
            if let Some(name) = switch {
                lock(self.shared).switch_output.get_or_insert(name);
            }
            return;
        }
        let new = xruns - xruns_at_start;
        self.out.sink_written += u64::from(self.out.mix.period_frames);
        let behind = self.underruns(new, xruns, before, ready, b.delay, missing);
        if let Some(name) = switch {
            switch_output(&mut self.out, &name, self.opts.reopen.as_mut(), self.tick);
        }
        self.log_xruns(behind);
    }

    /// The underruns of the block just written, `new` of them seen by ALSA
    /// (`xruns` in all): the time the device stood still is credited to the
    /// clients, and the period may adapt. Returns the frames lost to an
    /// underrun ALSA did not see, if there was one.
    fn underruns(
        &mut self,
        new: u64,
        xruns: u64,
        before: Position,
        ready: Instant,
        delay: Option<(u64, Instant, Instant)>,
        missing: bool,
    ) -> Option<u64> {
        let mut behind = None;
        if new > 0 {
            // The device stood still: the blocks that fell due meanwhile
            // are mixed and dropped, so the clients keep real time; each
            // playing client counts an underrun (GETERROR).
            lock(self.shared).mixer.count_device_underrun();
            self.last = catch_up(
                self.shared,
                &mut self.bus,
                &self.out.mix,
                before,
                ready,
                xruns,
            );
            // ALSA restarted the device from here.
            let buffer = self
                .out
                .sink
                .as_ref()
                .map_or(0, |s| s.config().buffer_frames);
            self.out.pace.restart(buffer);
        } else if let (Some((delay, t0, t1)), false, true) = (
            delay,
            missing,
            self.out.sink.as_ref().is_some_and(|s| s.has_hw_pointer()),
        ) {
            // An underrun ALSA did not see: the device fell behind the
            // clock. The same: credited to the clients, and counted. (A
            // sound server keeps its stream's position itself.)
            let played = self.out.sink_written.saturating_sub(delay);
            if let Some(lost) = self.out.pace.check(played, t0, t1) {
                self.out.unseen += 1;
                behind = Some(lost);
                lock(self.shared).mixer.count_device_underrun();
                self.last = drop_frames(
                    self.shared,
                    &mut self.bus,
                    &self.out.mix,
                    self.last,
                    lost,
                    self.out.xruns(),
                );
            }
        }
        let new = new + u64::from(behind.is_some());
        if new > 0 && self.adapt {
            if let Some(change) = self.out.adapt.on_underruns(new, Instant::now()) {
                self.out.change_period(
                    change,
                    self.opts.reopen.as_mut().expect("adapt needs reopen"),
                );
            }
        }
        behind
    }

    /// A line for the underruns since the last one, at most every
    /// [`XRUN_LOG_INTERVAL`]; `behind`: the frames lost to one ALSA did not
    /// see, in this block.
    fn log_xruns(&mut self, behind: Option<u64>) {
        let xruns = self.out.xruns();
        if xruns != self.xruns_logged && self.last_log.elapsed() >= XRUN_LOG_INTERVAL {
            if let Some(lost) = behind {
                let ms = lost as f64 * 1000.0 / f64::from(self.out.mix.pcm.rate);
                tracing::warn!(
                    total = xruns,
                    unseen = self.out.unseen,
                    "output device fell {ms:.0} ms behind the clock (woken too late, its \
                     position wrapped unseen: an underrun ALSA did not report); clients kept \
                     real time"
                );
            } else {
                tracing::warn!(
                    total = xruns,
                    unseen = self.out.unseen,
                    "output device underran; recovered"
                );
            }
            self.xruns_logged = xruns;
            self.last_log = Instant::now();
        }
    }
}
