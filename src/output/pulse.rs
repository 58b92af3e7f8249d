//! The output through a sound server, as one of its clients: PulseAudio,
//! or PipeWire's PulseAudio server (`pipewire-pulse`), which speaks the
//! same protocol. This is how ossd plays on a desktop whose server owns the
//! card, and to a server on another machine (`tcp:host:4713`).
//!
//! Why a client of its own and not ALSA's `pulse` PCM (which works too:
//! `--device pulse`): that plugin asks the server for the latest possible
//! requests (`PA_STREAM_EARLY_REQUESTS`), cannot let the server fit its own
//! latency to the stream (`PA_STREAM_ADJUST_LATENCY`), and answers a server
//! underrun by tearing its stream down and making a new one, which runs dry
//! again while it refills. Measured in the test VM through PulseAudio 16 at
//! ossd's defaults: 12 device underruns in the first 0.6 s and the latency
//! raised four times, to 128 ms. Here the stream is made once, asks for the
//! buffer ossd wants with the server adjusting to it, and an underrun of the
//! server is counted (GETERROR, sndstat, latency adaptation) while the
//! stream plays on.
//!
//! libpulse's main loop runs on the engine's own thread (its standard loop,
//! polled while the engine waits for room), not on a thread of its own: a
//! server request then wakes one thread, not two (the loop's, which woke
//! the engine), which in the emulated test guest cost ossd about a third of
//! its CPU time through a server. Every wait has a deadline: a server that
//! stops answering is a device that is gone, as an unplugged card is.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libpulse_binding as pa;
use pa::context::{Context, FlagSet as ContextFlags, State as ContextState};
use pa::mainloop::standard::Mainloop;
use pa::stream::{FlagSet as StreamFlags, Latency, SeekMode, State as StreamState, Stream};
use pa::time::MicroSeconds;

use super::Sink;
use crate::device::DeviceError;
use crate::pcm::{DeviceConfig, PcmFormat, SampleFormat};

/// How long connecting to the server and making the stream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the server may leave ossd waiting for room beyond its buffer's
/// length before it counts as gone.
const STALL: Duration = Duration::from_secs(2);
/// The shortest period and buffer ossd asks a server for: what both servers
/// serve without underruns on an ordinary desktop (PipeWire's default
/// quantum is 1024 frames at 48 kHz, 21 ms).
pub const MIN_PERIOD: Duration = Duration::from_millis(10);
pub const MIN_BUFFER: Duration = Duration::from_millis(40);

/// The mix block ossd uses through a server: [`MIN_PERIOD`] at `rate`, to
/// the next power of two (512 frames at 48 kHz). A smaller block would only
/// wake the engine more often: the server asks for a period at a time.
pub fn server_block(rate: u32) -> u32 {
    let frames = (u64::from(rate) * MIN_PERIOD.as_micros() as u64).div_ceil(1_000_000);
    (frames.max(16) as u32).next_power_of_two()
}

/// The period and buffer (frames) to ask a server for, given what the mix
/// wants: at least [`MIN_PERIOD`] and [`MIN_BUFFER`], in whole mix periods.
pub fn server_geometry(want: &DeviceConfig) -> (u32, u32) {
    let rate = u64::from(want.pcm.rate);
    let frames = |d: Duration| (rate * d.as_micros() as u64).div_ceil(1_000_000) as u32;
    let block = want.period_frames.max(1);
    let period = want.period_frames.max(frames(MIN_PERIOD)).div_ceil(block) * block;
    let buffer = want
        .buffer_frames
        .max(frames(MIN_BUFFER))
        .max(2 * period)
        .div_ceil(period)
        * period;
    (period, buffer)
}

/// The server's name for a sample format; `None` for the ones it lacks.
pub fn pa_format(s: SampleFormat) -> Option<pa::sample::Format> {
    use pa::sample::Format as F;
    Some(match s {
        SampleFormat::U8 => F::U8,
        SampleFormat::MuLaw => F::ULaw,
        SampleFormat::ALaw => F::ALaw,
        SampleFormat::S16Le => F::S16le,
        SampleFormat::S16Be => F::S16be,
        SampleFormat::S24Le => F::S24_32le,
        SampleFormat::S24Be => F::S24_32be,
        SampleFormat::S24Packed => F::S24le,
        SampleFormat::S32Le => F::S32le,
        SampleFormat::S32Be => F::S32be,
        SampleFormat::FloatLe => F::F32le,
        SampleFormat::S8 | SampleFormat::U16Le | SampleFormat::U16Be => return None,
    })
}

pub struct PulseSink {
    // Field order is drop order: the stream before the context before the
    // main loop.
    stream: Option<Stream>,
    context: Context,
    mainloop: Mainloop,
    underflows: Arc<AtomicU64>,
    cfg: DeviceConfig,
    server: String,
    /// The mix blocks written and not yet sent: they go to the server a
    /// period at a time (one message instead of one per block; the engine
    /// mixes a period's blocks back to back anyway, when the server asks
    /// for a period). Allocated once, at open.
    unsent: Vec<u8>,
}

// SAFETY: libpulse's standard main loop has no thread of its own and is
// tied to no thread: the sink is made on a connecting thread and then moved,
// whole, to the engine's, which alone uses it from then on; every libpulse
// call, and every callback (libpulse runs them inside the loop's dispatch),
// happens on the thread that owns the sink. The binding's `Rc`s are never
// cloned out of this struct, so a move takes every reference along. The one
// callback captures only an `Arc`.
unsafe impl Send for PulseSink {}

impl std::fmt::Debug for PulseSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulseSink")
            .field("server", &self.server)
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// A server that cannot be reached, or stopped answering: absent, as a
/// missing card is (ossd plays on a stand-in clock and tries again).
fn unreachable(server: &str, why: impl std::fmt::Display) -> DeviceError {
    DeviceError::ServerAbsent {
        server: server.to_owned(),
        why: why.to_string(),
    }
}

impl PulseSink {
    /// Connects to `server` (a PulseAudio server string: `unix:/path`,
    /// `tcp:host:port`; `None`: the one libpulse finds for this user) and
    /// makes a playback stream as `want` asks: its format (or S16_LE, if
    /// the server lacks it), rate and channels, and a period and buffer of
    /// at least [`MIN_PERIOD`] and [`MIN_BUFFER`]. The server may adjust
    /// them; [`Sink::config`] says what it granted.
    pub fn open(server: Option<&str>, want: &DeviceConfig) -> Result<PulseSink, DeviceError> {
        let name = server.unwrap_or("the default sound server");
        let sample = match pa_format(want.pcm.sample) {
            Some(_) => want.pcm.sample,
            None => SampleFormat::S16Le,
        };
        let spec = pa::sample::Spec {
            format: pa_format(sample).unwrap_or(pa::sample::Format::S16le),
            rate: want.pcm.rate,
            channels: want.pcm.channels.min(32) as u8,
        };
        if !spec.is_valid() {
            return Err(unreachable(name, format!("it cannot take {spec:?}")));
        }
        let fb = sample.bytes_per_sample() * want.pcm.channels as usize;
        let (period, buffer) = server_geometry(want);
        let mainloop = Mainloop::new().ok_or_else(|| unreachable(name, "no main loop"))?;
        let mut props =
            pa::proplist::Proplist::new().ok_or_else(|| unreachable(name, "no proplist"))?;
        let _ = props.set_str(pa::proplist::properties::APPLICATION_NAME, "ossd");
        let _ = props.set_str(pa::proplist::properties::APPLICATION_ID, "ossd");
        let _ = props.set_str(pa::proplist::properties::MEDIA_ROLE, "game");
        let context = Context::new_with_proplist(&mainloop, "ossd", &props)
            .ok_or_else(|| unreachable(name, "no context"))?;
        // From here on, dropping the sink (on an error too) disconnects
        // and stops the main loop in the right order.
        let mut s = PulseSink {
            stream: None,
            context,
            mainloop,
            underflows: Arc::new(AtomicU64::new(0)),
            cfg: DeviceConfig {
                pcm: PcmFormat {
                    sample,
                    channels: want.pcm.channels,
                    rate: want.pcm.rate,
                },
                period_frames: period,
                buffer_frames: buffer,
            },
            server: name.to_owned(),
            unsent: Vec::new(),
        };
        s.context
            .connect(server, ContextFlags::NOAUTOSPAWN, None)
            .map_err(|e| unreachable(name, e))?;
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        loop {
            match s.context.get_state() {
                ContextState::Ready => break,
                ContextState::Failed | ContextState::Terminated => {
                    return Err(unreachable(name, s.context.errno()));
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(unreachable(name, "no answer in 3 s"));
            }
            s.turn(deadline).map_err(|e| unreachable(name, e))?;
        }
        let mut map = pa::channelmap::Map::default();
        map.init_extend(spec.channels, pa::channelmap::MapDef::ALSA);
        let mut stream = Stream::new(&mut s.context, "OSS (/dev/dsp)", &spec, Some(&map))
            .ok_or_else(|| unreachable(name, s.context.errno()))?;
        let n = s.underflows.clone();
        stream.set_underflow_callback(Some(Box::new(move || {
            n.fetch_add(1, Ordering::Relaxed);
        })));
        let attr = pa::def::BufferAttr {
            maxlength: u32::MAX,
            tlength: buffer * fb as u32,
            prebuf: u32::MAX,
            minreq: period * fb as u32,
            fragsize: u32::MAX,
        };
        // ADJUST_LATENCY: the server fits its own latency to what ossd
        // asks (with timer-based scheduling; a server without it, as
        // PulseAudio in a VM, raises the stream's buffer to its own).
        let flags = StreamFlags::ADJUST_LATENCY
            | StreamFlags::AUTO_TIMING_UPDATE
            | StreamFlags::INTERPOLATE_TIMING;
        let connected = stream.connect_playback(None, Some(&attr), flags, None, None);
        s.stream = Some(stream);
        connected.map_err(|e| unreachable(name, e))?;
        loop {
            match s.stream.as_ref().map(Stream::get_state) {
                Some(StreamState::Ready) => break,
                Some(StreamState::Failed | StreamState::Terminated) | None => {
                    return Err(unreachable(name, s.context.errno()));
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(unreachable(name, "no stream in 3 s"));
            }
            s.turn(deadline).map_err(|e| unreachable(name, e))?;
        }
        // What the server granted.
        if let Some(a) = s.stream.as_mut().and_then(|st| st.get_buffer_attr()) {
            s.cfg.period_frames = (a.minreq as usize / fb).max(1) as u32;
            s.cfg.buffer_frames = (a.tlength as usize / fb).max(1) as u32;
        }
        // A period, and room for a block beyond it (a block is at most a
        // period).
        s.unsent = Vec::with_capacity(2 * s.cfg.period_frames as usize * fb);
        Ok(s)
    }

    /// One turn of the main loop on this thread: what the server sent is
    /// handled (callbacks included) and what is queued for it is sent,
    /// waiting for the server at most until `until`.
    fn turn(&mut self, until: Instant) -> Result<(), pa::error::PAErr> {
        let wait = until.saturating_duration_since(Instant::now());
        let wait = MicroSeconds(u64::try_from(wait.as_micros()).unwrap_or(u64::MAX));
        self.mainloop.prepare(Some(wait))?;
        self.mainloop.poll()?;
        self.mainloop.dispatch().map(drop)
    }

    /// The error for a stream or connection that failed.
    fn gone(&self, why: impl std::fmt::Display) -> DeviceError {
        DeviceError::ServerGone {
            server: self.server.clone(),
            why: why.to_string(),
        }
    }
}

/// Opens server sinks for the engine without making it wait on a network:
/// each try runs on a thread of its own, and the engine waits for it only
/// [`QUICK`] ([`QUICK_LOCAL`] for a server on this machine). A try that
/// takes longer (a server across a network that is down, a server that is
/// stuck) goes on alone; the engine's next try, a [`RETRY`] later, takes its
/// result. Meanwhile the engine goes on pacing the clients on its stand-in.
///
/// [`RETRY`]: crate::presence::RETRY
#[derive(Default)]
pub struct Connector {
    /// The try under way (or done and not taken).
    pending: Option<Try>,
}

/// A try to open a sink on a server: which server and config, and where
/// its result comes.
struct Try {
    address: String,
    want: DeviceConfig,
    result: Receiver<Result<PulseSink, DeviceError>>,
}

/// How long the engine waits for a try to connect to a server across a
/// network before it goes on (once per try: while the try goes on, later
/// calls do not wait).
pub const QUICK: Duration = Duration::from_millis(300);
/// The same for a server on this machine (a unix socket): one that is not
/// there fails at once, and one that is answers in milliseconds, unless
/// the machine is very busy; the engine rather waits than starts a client
/// on its stand-in (the sound lost) when the device reopens for it after
/// an idle release.
pub const QUICK_LOCAL: Duration = Duration::from_secs(1);

impl Connector {
    /// A sink on the server at `address` as `want` asks, if one is ready
    /// now or within [`QUICK`]; else the device is absent for now.
    pub fn open(&mut self, address: &str, want: &DeviceConfig) -> Result<PulseSink, DeviceError> {
        let same = |t: &Try| t.address == address && t.want == *want;
        let waited = self.pending.as_ref().is_some_and(same);
        if !waited {
            let (tx, rx) = std::sync::mpsc::channel();
            let (a, w) = (address.to_owned(), *want);
            std::thread::Builder::new()
                .name("ossd-connect".into())
                .spawn(move || {
                    // A result nobody takes any more is dropped here.
                    let _ = tx.send(PulseSink::open(Some(&a), &w));
                })
                .map_err(|e| unreachable(address, format!("cannot start a thread: {e}")))?;
            self.pending = Some(Try {
                address: address.to_owned(),
                want: *want,
                result: rx,
            });
        }
        let rx = &self.pending.as_ref().expect("just set").result;
        let quick = match (waited, address.starts_with("unix:")) {
            (true, _) => Duration::ZERO,
            (false, true) => QUICK_LOCAL,
            (false, false) => QUICK,
        };
        match rx.recv_timeout(quick) {
            Ok(result) => {
                self.pending = None;
                result
            }
            Err(RecvTimeoutError::Timeout) => Err(unreachable(
                address,
                "still connecting (tried again in the background)",
            )),
            Err(RecvTimeoutError::Disconnected) => {
                self.pending = None;
                Err(unreachable(address, "the connecting thread failed"))
            }
        }
    }
}

impl Sink for PulseSink {
    fn config(&self) -> DeviceConfig {
        self.cfg
    }

    fn wait_ready(&mut self, frames: u32) -> Result<(), DeviceError> {
        let need = frames as usize * self.cfg.pcm.frame_bytes();
        let buffer = Duration::from_secs_f64(
            f64::from(self.cfg.buffer_frames) / f64::from(self.cfg.pcm.rate.max(1)),
        );
        let deadline = Instant::now() + buffer + STALL;
        loop {
            let stream = self.stream.as_ref().expect("opened");
            match (self.context.get_state(), stream.get_state()) {
                (ContextState::Ready, StreamState::Ready) => {}
                _ => return Err(self.gone(self.context.errno())),
            }
            if stream.writable_size().unwrap_or(0) >= self.unsent.len() + need {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.gone(format!(
                    "it took no sound for {:.1} s",
                    (buffer + STALL).as_secs_f64()
                )));
            }
            if let Err(e) = self.turn(deadline) {
                return Err(self.gone(e));
            }
        }
    }

    fn write_period(&mut self, period: &[u8]) -> Result<(), DeviceError> {
        self.unsent.extend_from_slice(period);
        let fb = self.cfg.pcm.frame_bytes();
        if self.unsent.len() < self.cfg.period_frames as usize * fb {
            return Ok(());
        }
        let r =
            self.stream
                .as_mut()
                .expect("opened")
                .write_copy(&self.unsent, 0, SeekMode::Relative);
        self.unsent.clear();
        r.map_err(|e| self.gone(e))?;
        // Sent now, not at the next wait: without blocking (a failure shows
        // in the states the next wait looks at).
        let _ = self.mainloop.iterate(false);
        Ok(())
    }

    fn delay(&mut self) -> u64 {
        let rate = u64::from(self.cfg.pcm.rate);
        let unsent = (self.unsent.len() / self.cfg.pcm.frame_bytes()) as u64;
        unsent
            + match self.stream.as_ref().map(|s| s.get_latency()) {
                Some(Ok(Latency::Positive(us))) => us.0 * rate / 1_000_000,
                _ => 0,
            }
    }

    fn xruns(&self) -> u64 {
        self.underflows.load(Ordering::Relaxed)
    }

    fn has_hw_pointer(&self) -> bool {
        false
    }
}

impl Drop for PulseSink {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.as_mut() {
            stream.set_underflow_callback(None);
            let _ = stream.disconnect();
        }
        self.context.disconnect();
        // The goodbye sent (without waiting for the server).
        let _ = self.mainloop.iterate(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(period: u32, buffer: u32, rate: u32) -> DeviceConfig {
        DeviceConfig {
            pcm: PcmFormat {
                sample: SampleFormat::S16Le,
                channels: 2,
                rate,
            },
            period_frames: period,
            buffer_frames: buffer,
        }
    }

    #[test]
    fn a_server_gets_at_least_10_ms_periods_and_40_ms_in_whole_mix_blocks() {
        // ossd's default 128-frame blocks, 3 to the buffer.
        assert_eq!(server_geometry(&want(128, 384, 48000)), (512, 2048));
        // Already big enough: as asked.
        assert_eq!(server_geometry(&want(1024, 4096, 48000)), (1024, 4096));
        // A raised period (adaptation) is kept, the buffer at least two.
        assert_eq!(server_geometry(&want(4096, 4096, 48000)), (4096, 8192));
        // Other rates: 10 ms of 44.1 kHz is 441 frames: 4 blocks of 128.
        assert_eq!(server_geometry(&want(128, 384, 44100)), (512, 2048));
        assert_eq!(server_geometry(&want(100, 300, 8000)), (100, 400));
    }

    #[test]
    fn the_mix_block_through_a_server_is_10_ms_to_a_power_of_two() {
        assert_eq!(server_block(48000), 512);
        assert_eq!(server_block(44100), 512);
        assert_eq!(server_block(96000), 1024);
        assert_eq!(server_block(8000), 128);
    }

    #[test]
    fn every_format_the_server_lacks_falls_back_to_s16() {
        for f in SampleFormat::ALL {
            let have = pa_format(f);
            assert_eq!(
                have.is_none(),
                matches!(
                    f,
                    SampleFormat::S8 | SampleFormat::U16Le | SampleFormat::U16Be
                ),
                "{f:?}"
            );
        }
    }
}
