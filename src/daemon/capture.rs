//! The capture thread: reads the recording device one period at a time,
//! decodes it, converts it for every reader
//! ([`RecVoice`](crate::mix::record::RecVoice)) with the lock released, appends
//! the bytes to their rings under a short lock, and wakes the protocol thread. Started when the first
//! reader opens, stopped when the last one closes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use nix::sys::eventfd::EventFd;

use crate::device::DeviceError;
use crate::input::Source;
use crate::mix::record::{RecWork, Recorders};
use crate::pcm::format;
use crate::pcm::DeviceConfig;

/// What the capture thread shares with the protocol thread.
#[derive(Debug, Default)]
pub struct CaptureShared {
    pub recorders: Recorders,
    /// Frames captured in all.
    pub frames: u64,
    pub xruns: u64,
    /// The thread stopped because the device failed.
    pub failed: Option<DeviceError>,
}

#[derive(Debug)]
pub struct Capture {
    pub shared: Arc<Mutex<CaptureShared>>,
    pub dev: DeviceConfig,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Starts reading `source`; `tick` is written after every period.
    pub fn start(source: Box<dyn Source>, tick: Arc<EventFd>) -> Result<Capture, DeviceError> {
        let dev = source.config();
        let shared = Arc::new(Mutex::new(CaptureShared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::Builder::new()
                .name("ossd-capture".into())
                .spawn(move || run(source, shared, tick, stop))
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

fn run(
    mut source: Box<dyn Source>,
    shared: Arc<Mutex<CaptureShared>>,
    tick: Arc<EventFd>,
    stop: Arc<AtomicBool>,
) {
    let dev = source.config();
    let mut bytes = vec![0u8; dev.period_bytes()];
    let mut frames = vec![0.0f64; dev.period_frames as usize * dev.pcm.channels as usize];
    let mut work = RecWork::default();
    let started = Instant::now();
    while !stop.load(Ordering::Acquire) {
        if let Err(e) = source.read_period(&mut bytes) {
            shared.lock().expect("capture lock").failed = Some(e);
            let _ = tick.write(1);
            return;
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
            s.xruns = source.xruns();
        }
        let _ = tick.write(1);
    }
    tracing::debug!(secs = started.elapsed().as_secs_f64(), "capture stopped");
}
