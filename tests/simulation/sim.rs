//! The simulated device and capture: the core's [`Ports`]. The real
//! [`Mixer`] plays at a simulated pace, stalls, goes away (a stand-in clock
//! takes its place) and comes back; the capture card comes and goes.

use std::time::{Duration, Instant};

use ossd::mix::record::Recorders;
use ossd::mix::Mixer;
use ossd::pcm::DeviceConfig;
use ossd::pcm::DeviceError;
use ossd::pcm::Position;
use ossd::server::{CaptureState, Engines, Ports};

pub(crate) const DEV: DeviceConfig = crate::common::device(128, 3);
pub(crate) const RATE: u64 = DEV.pcm.rate as u64;
pub(crate) const PERIOD: u64 = DEV.period_frames as u64;
pub(crate) const FRAME: usize = 4; // S16_LE stereo

pub(crate) const DSP: usize = 0;
pub(crate) const MONITOR: usize = 1;
pub(crate) const MIXER: usize = 2;
pub(crate) const SNDSTAT: usize = 3;

pub(crate) struct SimCapture {
    pub(crate) recorders: Recorders,
    pub(crate) xruns: u64,
}

pub(crate) struct Sim {
    pub(crate) mixer: Mixer,
    pub(crate) position: Position,
    pub(crate) xruns: u64,
    pub(crate) now: Instant,
    /// Device frames played, in 1/1000 frames (the pace is fractional).
    pub(crate) played_milli: u64,
    /// Play speed in percent of real time; 0: the device has stalled.
    pub(crate) pace: u64,
    pub(crate) capture: Option<SimCapture>,
    /// The capture device can be opened.
    pub(crate) capture_present: bool,
    /// The capture card is away: the stand-in records silence.
    pub(crate) capture_gone: bool,
    /// Device frames captured so far (the capture runs on the same clock).
    pub(crate) captured: u64,
    /// Every period the device played (the reference check), when kept.
    /// What the stand-in plays while the device is away is discarded.
    pub(crate) out: Option<Vec<u8>>,
    /// The device's absences, when `out` is kept: where in `out` each one
    /// falls, and how many reference (non-silent) frames it swallowed.
    pub(crate) absences: Vec<(usize, usize)>,
    /// The output device is away: the mix plays to the runtime's stand-in
    /// clock, at the device's rate, and is lost.
    pub(crate) output_missing: bool,
    /// Frames mixed to the stand-in (lost) so far.
    pub(crate) standin_frames: u64,
    /// A call to `engines` panics, as a bug under the engine lock would:
    /// the call after this many more.
    pub(crate) panic_in: Option<u32>,
}

/// The message of the panics the simulation injects.
pub(crate) const INJECTED: &str = "a panic injected by the simulation";

/// Keeps the injected panics out of the output (there are thousands); any
/// other panic is printed as before.
pub(crate) fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&INJECTED) {
                previous(info);
            }
        }));
    });
}

impl Ports for Sim {
    fn engines<R>(&mut self, f: impl FnOnce(&mut Engines<'_>) -> R) -> R {
        match self.panic_in {
            Some(0) => {
                self.panic_in = None;
                std::panic::panic_any(INJECTED);
            }
            Some(n) => self.panic_in = Some(n - 1),
            None => {}
        }
        f(&mut Engines {
            mixer: &mut self.mixer,
            position: self.position,
            device_xruns: self.xruns,
            output_missing: self.output_missing,
            standin_frames: self.standin_frames,
            output: ossd::server::OutputNow::default(),
            capture: self.capture.as_mut().map(|c| CaptureState {
                recorders: &mut c.recorders,
                xruns: c.xruns,
                missing: false,
            }),
        })
    }
    fn now(&mut self) -> Instant {
        self.now
    }
    fn open_capture(&mut self) -> Result<DeviceConfig, DeviceError> {
        if !self.capture_present {
            return Err(DeviceError::NoCapture);
        }
        self.capture = Some(SimCapture {
            recorders: Recorders::default(),
            xruns: 0,
        });
        Ok(DEV)
    }
    fn close_capture(&mut self) {
        self.capture = None;
    }
    fn command_of(&mut self, pid: u32) -> Option<String> {
        Some(format!("client{pid}"))
    }
}

impl Sim {
    pub(crate) fn played(&self) -> u64 {
        self.played_milli / 1000
    }

    /// Lets `micros` of time pass: the device plays at its pace, the engine
    /// mixes whenever a period is free (as `engine::run` does), the capture
    /// records at the device's rate. While the device is away its stand-in
    /// keeps exactly the device's rate (it neither stalls nor underruns),
    /// and what it plays is lost.
    pub(crate) fn advance(&mut self, micros: u64) {
        self.now += Duration::from_micros(micros);
        let written = self.mixer.frames_mixed();
        let pace = if self.output_missing { 100 } else { self.pace };
        let step = micros * RATE * pace / 100; // milli-frames
        self.played_milli = (self.played_milli + step).min(written * 1000);
        if pace > 0 {
            // Underrun: the device caught up with what was written.
            if self.played() >= written && written > 0 && !self.output_missing {
                self.xruns += 1;
            }
            while self.mixer.frames_mixed() - self.played() + PERIOD <= DEV.buffer_frames as u64 {
                let bytes = self.mixer.mix_period();
                match (&mut self.out, self.absences.last_mut()) {
                    (Some(_), Some((_, lost))) if self.output_missing => *lost += sounding(bytes),
                    (Some(out), _) => out.extend_from_slice(bytes),
                    (None, _) => {}
                }
                if self.output_missing {
                    self.standin_frames += PERIOD;
                }
            }
            let frames = self.played().saturating_sub(self.captured) / PERIOD;
            if let Some(c) = &mut self.capture {
                let mut buf = vec![0.0f64; PERIOD as usize * 2];
                for _ in 0..frames {
                    for (i, s) in buf.iter_mut().enumerate() {
                        *s = if self.capture_gone {
                            0.0
                        } else {
                            (((self.captured + i as u64 / 2) % 97) as f64 - 48.0) / 64.0
                        };
                    }
                    c.recorders.feed(&buf);
                    self.captured += PERIOD;
                }
            } else {
                self.captured += frames * PERIOD;
            }
        }
        self.publish();
    }

    pub(crate) fn publish(&mut self) {
        let written = self.mixer.frames_mixed();
        self.position = Position {
            written,
            delay: written - self.played().min(written),
            at: self.now,
            rate: DEV.pcm.rate,
        };
    }

    /// The output device goes away (`true`) or comes back. Either way the
    /// sink that takes over starts empty, as in `engine::run`: what the old
    /// one held unplayed is lost, and the position counts it as played.
    pub(crate) fn output_gone(&mut self, gone: bool) {
        if gone == self.output_missing {
            return;
        }
        // What the device held unplayed when it went is lost with it (the
        // stand-in's, when the device comes back, was never kept).
        let written = self.mixer.frames_mixed();
        let unplayed = (written - self.played().min(written)) as usize * FRAME;
        if let (Some(out), true) = (&mut self.out, gone) {
            let tail = out.split_off(out.len() - unplayed);
            self.absences.push((out.len(), sounding(&tail)));
        }
        self.played_milli = written * 1000;
        self.output_missing = gone;
        self.publish();
    }
}

/// Frames of the device's format in `bytes` that are not silent.
pub(crate) fn sounding(bytes: &[u8]) -> usize {
    bytes
        .chunks_exact(FRAME)
        .filter(|f| f.iter().any(|&b| b != 0))
        .count()
}
