//! The `ossd` command: parses options, opens /dev/cuse and the ALSA device,
//! and runs the daemon in the foreground until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use ossd::cuse::channel::Channel;
use ossd::daemon::{Config, Daemon, Devices, EngineOptions, Node, NodeKind};
use ossd::input::alsa::AlsaSource;
use ossd::input::{Source, SourceOpener};
use ossd::mix::Quality;
use ossd::oss::format::SampleFormat;
use ossd::output::alsa::{card_names, first_playback_device, AlsaRequest, AlsaSink};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "OSS /dev/dsp in userspace (CUSE), mixed straight to an ALSA hw device"
)]
struct Args {
    /// ALSA PCM to play to, e.g. hw:0,0 (default: the first card that can play).
    #[arg(long)]
    device: Option<String>,
    /// Name of the device node under /dev.
    #[arg(long, default_value = "dsp")]
    dsp: String,
    /// Name of the mixer node under /dev ("" for none).
    #[arg(long, default_value = "mixer")]
    mixer: String,
    /// Name of the status node under /dev ("" for none).
    #[arg(long, default_value = "sndstat")]
    sndstat: String,
    /// Also make a read-only node that records the mix (e.g. dsp-monitor).
    #[arg(long)]
    monitor: Option<String>,
    /// ALSA PCM to record from (default: the capture side of --device;
    /// "none" to offer no recording). Opened when the first reader appears.
    #[arg(long)]
    capture_device: Option<String>,
    /// File that keeps the mixer levels across restarts.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Device sample format (e.g. S16_LE, S32_LE; default: the widest the card takes).
    #[arg(long, value_parser = parse_format)]
    format: Option<SampleFormat>,
    /// Device rate in Hz (default 48000, or the nearest the card takes).
    #[arg(long)]
    rate: Option<u32>,
    /// Device channels (default 2, or the nearest the card takes).
    #[arg(long)]
    channels: Option<u32>,
    /// Frames per device period: the mixing quantum.
    #[arg(long, default_value_t = 256)]
    period_frames: u32,
    /// Periods in the device buffer.
    #[arg(long, default_value_t = 3)]
    periods: u32,
    /// Resampler: `fast` (cubic, low delay) or `high` (sinc).
    #[arg(long, default_value = "fast", value_parser = parse_quality)]
    resampler: Quality,
    /// The CUSE control device.
    #[arg(long, default_value = "/dev/cuse")]
    cuse: PathBuf,
    /// Log more (repeat for even more).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn parse_format(s: &str) -> Result<SampleFormat, String> {
    let want = s.to_ascii_uppercase().replace('-', "_");
    SampleFormat::ALL
        .into_iter()
        .find(|f| f.name() == want || (want == "FLOAT_LE" && *f == SampleFormat::FloatLe))
        .ok_or_else(|| {
            let names: Vec<_> = SampleFormat::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format {s:?}; one of {}", names.join(", "))
        })
}

fn parse_quality(s: &str) -> Result<Quality, String> {
    match s {
        "fast" => Ok(Quality::Fast),
        "high" => Ok(Quality::High),
        _ => Err(format!("unknown resampler {s:?}; `fast` or `high`")),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let level = match args.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OSSD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("ossd: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let open_node = |kind: NodeKind, name: &str| -> Result<Node, String> {
        let chan = Channel::open_cuse(&args.cuse).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => format!(
                "{} is missing: this kernel has no CUSE; load it with `modprobe cuse` (CONFIG_CUSE)",
                args.cuse.display()
            ),
            Some(libc::EACCES) | Some(libc::EPERM) => format!(
                "no permission to open {}: run ossd as root (it needs /dev/cuse to create device nodes)",
                args.cuse.display()
            ),
            _ => format!("cannot open {}: {e}", args.cuse.display()),
        })?;
        Ok(Node {
            kind,
            name: name.to_string(),
            dev: (0, 0),
            chan,
        })
    };
    let mut nodes = vec![open_node(NodeKind::Dsp, &args.dsp)?];
    for (kind, name) in [
        (NodeKind::Mixer, Some(args.mixer.as_str())),
        (NodeKind::Sndstat, Some(args.sndstat.as_str())),
        (NodeKind::Monitor, args.monitor.as_deref()),
    ] {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            nodes.push(open_node(kind, name)?);
        }
    }

    let device = match args.device {
        Some(d) => d,
        None => first_playback_device()?,
    };
    let req = AlsaRequest {
        device: device.clone(),
        format: args.format,
        rate: args.rate,
        channels: args.channels,
        period_frames: args.period_frames,
        periods: args.periods,
    };
    let sink = AlsaSink::open(&req).map_err(|e| {
        let cards = card_names();
        if cards.is_empty() {
            format!("{e}; no ALSA cards exist (`aplay -l`); is the sound driver loaded?")
        } else {
            format!(
                "{e}; cards here: {} (pick one with --device hw:N,0)",
                cards.join(", ")
            )
        }
    })?;
    let dev = ossd::output::Sink::config(&sink);
    tracing::info!(
        device,
        format = dev.pcm.sample.name(),
        rate = dev.pcm.rate,
        channels = dev.pcm.channels,
        period = dev.period_frames,
        buffer = dev.buffer_frames,
        "output opened"
    );

    // Signals become readable events on the protocol thread's poll; they are
    // blocked before any thread starts so that no thread takes them.
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.thread_block()
        .map_err(|e| format!("cannot block signals: {e}"))?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd: {e}"))?;

    let capture_name = match args.capture_device.as_deref() {
        Some("none") => None,
        Some(d) => Some(d.to_string()),
        None => Some(device.clone()),
    };
    let capture: Option<SourceOpener> = capture_name.clone().map(|name| {
        let req = AlsaRequest {
            device: name,
            ..req.clone()
        };
        Box::new(move || AlsaSource::open(&req).map(|s| Box::new(s) as Box<dyn Source>))
            as SourceOpener
    });
    let cfg = Config {
        device_name: device.clone(),
        capture_name: capture_name.unwrap_or_else(|| "none".into()),
        quality: args.resampler,
        state_file: args.state_file.clone(),
        ..Config::default()
    };
    let devices = Devices {
        sink: Box::new(sink),
        engine: EngineOptions::default(),
        capture,
    };
    let daemon = Daemon::new(cfg, nodes, devices).map_err(|e| e.to_string())?;
    tracing::info!(node = format!("/dev/{}", args.dsp), "serving");
    daemon.run(Some(&signals)).map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}
