//! The `ossd` command: reads the config file and the flags, opens /dev/cuse
//! and the ALSA device, drops privileges, and runs the daemon in the
//! foreground until SIGTERM or SIGINT (SIGHUP reloads the config).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use ossd::config::{self, FileConfig, LogLevel, Settings, SERVER_PREFIX};
use ossd::cuse::channel::Channel;
use ossd::daemon::{Config, Daemon, Devices, EngineOptions, Node, NodeKind, Reload, Reloader};
use ossd::device::AlsaRequest;
use ossd::input::alsa::AlsaSource;
use ossd::input::{Source, SourceOpener};
use ossd::mix::Quality;
use ossd::output::alsa::{card_names, first_playback_device, AlsaSink};
use ossd::output::clock::ClockSink;
use ossd::output::pulse::Connector;
use ossd::output::SinkOpener;
use ossd::pcm::format::SampleFormat;
use ossd::{check, system};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "OSS /dev/dsp in userspace (CUSE), mixed straight to an ALSA hw device"
)]
struct Args {
    /// Config file (default /etc/ossd.toml, if it exists); flags win over it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Check the system and the config, say what to fix, and exit (0: all OK).
    #[arg(long)]
    check: bool,
    /// ALSA PCM to play to, e.g. hw:0,0 (default: the first card that can
    /// play). Give it more than once for fallbacks, most preferred first:
    /// ossd plays to the first that is there.
    #[arg(long)]
    device: Vec<String>,
    /// Sound server to play through: auto (default: a session's PulseAudio
    /// or PipeWire when one runs and no --device is named), none, or an
    /// address (unix:/run/user/1000/pulse/native, tcp:host:4713).
    #[arg(long)]
    server: Option<String>,
    /// Name of the device node under /dev (default dsp).
    #[arg(long)]
    dsp: Option<String>,
    /// Name of the Sun-compatible node: the same device, starting in 8 kHz
    /// mono mu-law ("" for none; default audio).
    #[arg(long)]
    audio: Option<String>,
    /// Name of the mixer node under /dev ("" for none; default mixer).
    #[arg(long)]
    mixer: Option<String>,
    /// Name of the status node under /dev ("" for none; default sndstat).
    #[arg(long)]
    sndstat: Option<String>,
    /// Also make a read-only node that records the mix (e.g. dsp-monitor).
    #[arg(long)]
    monitor: Option<String>,
    /// ALSA PCM to record from (default: the capture side of --device;
    /// "none" to offer no recording). Opened when the first reader appears.
    /// More than once: fallbacks, as for --device.
    #[arg(long)]
    capture_device: Vec<String>,
    /// File that keeps the mixer levels across restarts ("" for none;
    /// default under systemd: $STATE_DIRECTORY/mixer.state).
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Device sample format (e.g. S16_LE, S32_LE; default: the widest the card takes).
    #[arg(long, value_parser = config::parse_format)]
    format: Option<SampleFormat>,
    /// Device rate in Hz (default 48000, or the nearest the card takes).
    #[arg(long)]
    rate: Option<u32>,
    /// Device channels (default 2, or the nearest the card takes).
    #[arg(long)]
    channels: Option<u32>,
    /// Frames per device period: the mixing quantum (default 128).
    #[arg(long)]
    period_frames: Option<u32>,
    /// Periods in the device buffer (default 3).
    #[arg(long)]
    periods: Option<u32>,
    /// Resampler: `fast` (cubic, low delay; default) or `high` (sinc).
    #[arg(long, value_parser = config::parse_resampler)]
    resampler: Option<Quality>,
    /// Soft-limit the mix above -1 dBFS instead of clipping (default false:
    /// a full-scale stream stays bit-exact).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    limiter: Option<bool>,
    /// Raise the device's period when it underruns again and again (and
    /// lower it when calm); default true.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    adapt_latency: Option<bool>,
    /// Close the card after this many ms without clients (0, the default: never).
    #[arg(long)]
    idle_release_ms: Option<u32>,
    /// Mix with real-time priority (SCHED_FIFO; default false), and serve
    /// the requests one step below it. Says clearly in the log whether it
    /// got it.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    rt: Option<bool>,
    /// Its SCHED_FIFO priority, 1 to 99 (default 20).
    #[arg(long)]
    rt_priority: Option<i32>,
    /// User to run as once the devices are open (default: ossd if it exists; "root" stays root).
    #[arg(long)]
    user: Option<String>,
    /// Log level: error, warn, info (default), debug, trace.
    #[arg(long, value_parser = config::parse_log_level)]
    log_level: Option<LogLevel>,
    /// The CUSE control device (default /dev/cuse).
    #[arg(long)]
    cuse: Option<PathBuf>,
    /// The control socket for `ossd status`, `top` and `ctl` ("" for none;
    /// default /run/ossd/control).
    #[arg(long)]
    control_socket: Option<PathBuf>,
    /// Log more (repeat for even more); same as --log-level debug / trace.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Without a command, ossd runs the daemon.
    #[command(subcommand)]
    command: Option<Command>,
}

/// Commands that talk to a running ossd through its control socket.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print the running daemon's status: the device, every client, totals.
    Status {
        /// The socket's JSON answer, as it is (docs/control.md).
        #[arg(long)]
        json: bool,
        /// The control socket (default: the config's control_socket).
        #[arg(long)]
        socket: Option<PathBuf>,
    },
    /// Live view of the clients, with peak meters (q or Ctrl-C quits).
    Top {
        /// The control socket (default: the config's control_socket).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Refreshes per second.
        #[arg(long, default_value_t = 5)]
        hz: u32,
        /// Print this many screens as plain text, one after the other, and
        /// quit (for scripts and tests; no terminal needed).
        #[arg(long)]
        frames: Option<u32>,
    },
    /// Change the running daemon: volumes, the master level, the device,
    /// reload (root or the socket's group only).
    Ctl {
        /// The control socket (default: the config's control_socket).
        #[arg(long)]
        socket: Option<PathBuf>,
        #[command(subcommand)]
        action: CtlAction,
    },
}

#[derive(Debug, clap::Subcommand)]
enum CtlAction {
    /// A client's volume (SETPLAYVOL), 0 to 100: CLIENT is a pid, or
    /// fh:N for one open file (`ossd status` lists them).
    Volume { client: String, level: u8 },
    /// Mute a client (its level is kept for unmute).
    Mute { client: String },
    /// Unmute a client: back to the level it had.
    Unmute { client: String },
    /// The master volume (what /dev/mixer's VOLUME sets), 0 to 100.
    Master { level: u8 },
    /// Play to another ALSA device from now on (clients notice nothing).
    Device { name: String },
    /// Record from another ALSA device from now on (readers notice nothing).
    Capture { name: String },
    /// Read the configuration again (as SIGHUP).
    Reload,
}

impl Args {
    /// The flags as a config layer (`None`: not given).
    fn as_config(&self) -> FileConfig {
        FileConfig {
            device: (!self.device.is_empty()).then(|| self.device.clone()),
            server: self.server.clone(),
            dsp: self.dsp.clone(),
            audio: self.audio.clone(),
            mixer: self.mixer.clone(),
            sndstat: self.sndstat.clone(),
            capture_device: (!self.capture_device.is_empty()).then(|| self.capture_device.clone()),
            monitor: self.monitor.clone(),
            format: self.format,
            rate: self.rate,
            channels: self.channels,
            period_frames: self.period_frames,
            periods: self.periods,
            resampler: self.resampler,
            rt: self.rt,
            rt_priority: self.rt_priority,
            idle_release_ms: self.idle_release_ms,
            limiter: self.limiter,
            adapt_latency: self.adapt_latency,
            user: self.user.clone(),
            state_file: self.state_file.clone(),
            log_level: self.log_level.or(LogLevel::from_verbose(self.verbose)),
            cuse: self.cuse.clone(),
            control_socket: self.control_socket.clone(),
        }
    }
}

fn main() -> ExitCode {
    system::return_big_buffers();
    let args = Args::parse();
    if let Some(cmd) = &args.command {
        return client::run(cmd, &args);
    }
    if args.check {
        let report = check::check(args.config.as_deref(), args.as_config());
        print!("{report}");
        return report.exit_code();
    }
    // Before logging is set up: a bad file or flag goes to stderr as it is.
    let settings = match config::load_or_default(args.config.as_deref())
        .and_then(|file| Settings::resolve(args.as_config(), file))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ossd: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OSSD_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(settings.log_level.as_str())
            }),
        )
        .init();
    match run(settings, args.config.clone(), args.as_config()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            system::notify(&format!("STATUS={msg}"));
            eprintln!("ossd: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The daemon's life: its nodes and output opened (as root), the daemon made,
/// privileges dropped, then served until SIGTERM or SIGINT.
fn run(args: Settings, config_path: Option<PathBuf>, cli: FileConfig) -> Result<(), String> {
    let nodes = open_nodes(&args)?;
    let plan = output_plan(&args);
    // A sound server's client library looks in the home and runtime
    // directory of the user ossd becomes (set while ossd has one thread).
    if plan.devices.iter().any(|d| d.starts_with(SERVER_PREFIX)) {
        if let Some(user) = run_as(&args, plan.user.as_deref()) {
            system::use_home_of(&user);
        }
    }
    let Output {
        devices,
        first,
        sink,
        absent,
    } = open_output(&args, &plan.devices)?;
    let device = devices[first].clone();
    let req = args.alsa_request(&device);
    let signals = block_signals()?;

    // Recording comes from the cards' capture side (a sound server is
    // played through, not recorded from).
    let cards: Vec<String> = devices
        .iter()
        .filter(|d| !d.starts_with(SERVER_PREFIX))
        .cloned()
        .collect();
    let capture_names = args.capture(&cards);
    let capture = capture_opener(&req, &capture_names);
    let cfg = Config {
        device_name: devices.join(", "),
        capture_name: if capture_names.is_empty() {
            "none".into()
        } else {
            capture_names.join(", ")
        },
        capture_devices: capture_names.clone(),
        quality: args.resampler,
        state_file: args.state_file.clone(),
        limiter: args.limiter,
        control_socket: args.control_socket.clone(),
        ..Config::default()
    };
    // A server is reached as the user ossd runs as: the engine opens it
    // once ossd is that user (within `presence::RETRY` of the start).
    let user_dropped = Arc::new(AtomicBool::new(false));
    let devices = Devices {
        sink,
        engine: EngineOptions {
            realtime: args.rt.then_some(args.rt_priority),
            idle_release: args.idle_release(plan.chosen),
            reopen: Some(reopener(req.clone(), args.format, user_dropped.clone())),
            devices: devices.clone(),
            device: first,
            absent,
            adapt: args.adapt_latency,
        },
        capture,
    };
    let mut daemon = Daemon::new(cfg, nodes, devices).map_err(|e| e.to_string())?;
    daemon.on_reload(reloader(config_path, cli));
    become_user(&args, plan.user.as_deref())?;
    user_dropped.store(true, Ordering::Release);

    tracing::info!(node = format!("/dev/{}", args.dsp), "serving");
    system::notify(&format!(
        "READY=1\nSTATUS=serving /dev/{} on {device}",
        args.dsp
    ));
    if args.rt {
        request_thread_realtime(args.rt_priority);
    }
    let result = daemon.run(Some(&signals)).map_err(|e| e.to_string());
    system::notify("STOPPING=1");
    result?;
    tracing::info!("stopped");
    Ok(())
}

/// Opens /dev/cuse once for each node ossd serves: the dsp node, then the
/// mixer, sndstat and monitor nodes that are configured.
fn open_nodes(args: &Settings) -> Result<Vec<Node>, String> {
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
        (NodeKind::Audio, args.audio.as_deref()),
        (NodeKind::Mixer, args.mixer.as_deref()),
        (NodeKind::Sndstat, args.sndstat.as_deref()),
        (NodeKind::Monitor, args.monitor.as_deref()),
    ] {
        if let Some(name) = name {
            nodes.push(open_node(kind, name)?);
        }
    }
    Ok(nodes)
}

/// The output as opened: the device list, which of it plays, and the sink
/// (a stand-in clock when no device of the list is there).
struct Output {
    devices: Vec<String>,
    first: usize,
    sink: Box<dyn ossd::output::Sink>,
    absent: bool,
}

/// Where the output goes, and as whom ([`ossd::desktop`]), from the settings
/// and what runs on this machine; says so in the log.
fn output_plan(args: &Settings) -> ossd::desktop::Plan {
    let root = Path::new("/");
    let servers = ossd::host::servers::find(root);
    // No card at all: wait for the first card (card 0).
    let first_card = first_playback_device().unwrap_or_else(|_| "hw:0,0".to_string());
    let user = args.user.as_deref().map(|u| {
        let uid = nix::unistd::User::from_name(u)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw());
        (u, uid)
    });
    let plan = ossd::desktop::plan(&ossd::desktop::Inputs {
        devices: &args.device,
        server: &args.server,
        user,
        servers: &servers,
        active_uid: ossd::host::servers::active_uid(root),
        first_card: &first_card,
        uid: nix::unistd::geteuid().as_raw(),
    });
    for (warn, note) in &plan.notes {
        if *warn {
            tracing::warn!("{note}");
        } else {
            tracing::info!("{note}");
        }
    }
    plan
}

/// Opens the first device of `devices` that is there. One that is absent
/// (a card unplugged, a server not running) or busy (another program, a
/// sound server, holds it) is waited for on a stand-in clock and tried
/// again; one that is there and refuses (no permission, no format) is an
/// error. A sound server is left to the engine, which opens it as the
/// user ossd becomes.
fn open_output(args: &Settings, devices: &[String]) -> Result<Output, String> {
    let devices = devices.to_vec();
    let mut opened = None;
    for (i, device) in devices.iter().enumerate() {
        if device.starts_with(SERVER_PREFIX) {
            break;
        }
        let req = args.alsa_request(device);
        match ossd::device::quietly(|| AlsaSink::open(&req)) {
            Ok(sink) => {
                opened = Some((i, sink));
                break;
            }
            Err(e) if e.is_busy() => {
                let who = ossd::host::holders::held_by(Path::new("/"), device, false);
                tracing::warn!(
                    "output device {device} is busy: {who}; tried again every {} ms (a \
                     desktop's sound server? then play through it: leave out --device, or \
                     --server auto)",
                    ossd::presence::RETRY.as_millis()
                );
            }
            Err(e) if e.is_absent() => {
                tracing::warn!("output device {device} is absent ({e})");
            }
            Err(e) => {
                let cards = card_names();
                return Err(if cards.is_empty() {
                    format!("{e}; no ALSA cards exist (`aplay -l`); is the sound driver loaded?")
                } else {
                    format!(
                        "{e}; cards here: {} (pick one with --device hw:N,0)",
                        cards.join(", ")
                    )
                });
            }
        }
    }
    let (first, sink, absent): (usize, Box<dyn ossd::output::Sink>, bool) = match opened {
        Some((i, sink)) => (i, Box::new(sink), false),
        None => {
            if !devices[0].starts_with(SERVER_PREFIX) {
                tracing::warn!(
                    "serving on a stand-in clock and waiting for {}",
                    if devices.len() > 1 {
                        "a card"
                    } else {
                        "the card"
                    }
                );
            }
            let mut cfg = args.alsa_request(&devices[0]).stand_in();
            if devices[0].starts_with(SERVER_PREFIX) {
                // Through a server the mix runs in blocks of its shortest
                // period, unless asked for longer ones.
                let block = ossd::output::pulse::server_block(cfg.pcm.rate);
                if cfg.period_frames < block {
                    cfg.buffer_frames = cfg.buffer_frames / cfg.period_frames.max(1) * block;
                    cfg.period_frames = block;
                }
            }
            (0, Box::new(ClockSink::stand_in(cfg)), true)
        }
    };
    let device = devices[first].clone();
    let dev = sink.config();
    tracing::info!(
        device,
        format = dev.pcm.sample.name(),
        rate = dev.pcm.rate,
        channels = dev.pcm.channels,
        period = dev.period_frames,
        buffer = dev.buffer_frames,
        "{}",
        if absent {
            "stand-in clock runs"
        } else {
            "output opened"
        }
    );
    Ok(Output {
        devices,
        first,
        sink,
        absent,
    })
}

/// Signals become readable events on the protocol thread's poll; they are
/// blocked before any thread starts so that no thread takes them.
fn block_signals() -> Result<SignalFd, String> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    // Reload (ExecReload=kill -HUP): blocked so that it does not kill us;
    // Daemon::run must not treat it as "stop" (see the integration notes).
    mask.add(Signal::SIGHUP);
    mask.thread_block()
        .map_err(|e| format!("cannot block signals: {e}"))?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd: {e}"))?;
    Ok(signals)
}

/// Opens a capture device of the list, as `req` opened the output, when
/// the first reader comes (`None`: recording is off).
fn capture_opener(req: &AlsaRequest, capture_names: &[String]) -> Option<SourceOpener> {
    (!capture_names.is_empty()).then(|| {
        let req = req.clone();
        Box::new(move |name: &str| {
            let req = AlsaRequest {
                device: name.to_owned(),
                ..req.clone()
            };
            ossd::device::quietly(|| AlsaSource::open(&req)).map(|s| Box::new(s) as Box<dyn Source>)
        }) as SourceOpener
    })
}

/// A device is opened again (after an idle release, when it went away,
/// to move between devices or to change the period) at the rate and
/// channels the mix runs at; in its sample format if it takes it.
fn reopener(
    reopen_req: AlsaRequest,
    user_format: Option<SampleFormat>,
    user_dropped: Arc<AtomicBool>,
) -> SinkOpener {
    let mut servers = Connector::default();
    Box::new(move |name, want| {
        if let Some(address) = name.strip_prefix(SERVER_PREFIX) {
            if !user_dropped.load(Ordering::Acquire) {
                return Err(ossd::device::DeviceError::ServerAbsent {
                    server: address.to_owned(),
                    why: "not yet: ossd has not become its user".into(),
                });
            }
            // The mix goes to a server in the format asked for, else in
            // S16_LE (what servers' sinks mostly run at: nothing to convert).
            let mut want = *want;
            if user_format.is_none() {
                want.pcm.sample = SampleFormat::S16Le;
            }
            return servers
                .open(address, &want)
                .map(|s| Box::new(s) as Box<dyn ossd::output::Sink>);
        }
        let pinned = AlsaRequest {
            device: name.to_owned(),
            period_frames: want.period_frames,
            periods: (want.buffer_frames / want.period_frames.max(1)).max(2),
            ..reopen_req.pinned_to(want)
        };
        let open = |req: &AlsaRequest| {
            ossd::device::quietly(|| AlsaSink::open(req))
                .map(|s| Box::new(s) as Box<dyn ossd::output::Sink>)
        };
        match open(&pinned) {
            // Another sample format is fine unless one was asked for.
            Err(ossd::device::DeviceError::FormatRefused { .. }) if user_format.is_none() => {
                open(&AlsaRequest {
                    format: None,
                    ..pinned
                })
            }
            other => other,
        }
    })
}

/// The user ossd runs as: the configured one, else the one whose sound
/// server it plays through, else the default (`None`: stay root).
fn run_as(args: &Settings, server_user: Option<&str>) -> Option<String> {
    args.user
        .clone()
        .or(server_user.map(str::to_owned))
        .or_else(system::default_user)
}

/// SIGHUP: read the config file again and apply what can change live.
fn reloader(config_path: Option<PathBuf>, cli: FileConfig) -> Reloader {
    Box::new(move || {
        let s = config::load_or_default(config_path.as_deref())
            .and_then(|file| Settings::resolve(cli.clone(), file))
            .map_err(|e| e.to_string())?;
        Ok(Reload {
            quality: s.resampler,
            limiter: s.limiter,
        })
    })
}

/// Every fd that needs root is open: become the configured user, else the
/// user whose sound server ossd plays through (`server_user`), else the
/// default one.
/// With `--rt`, the thread that serves the requests (this one, from here
/// on) runs SCHED_FIFO one step below the engine: a blocking write reaches
/// its ring only through it, as the engine frees room, so on a busy machine
/// a request thread of ordinary priority lets the rings run dry while the
/// engine plays on (a gap in the client's sound, measured in the test VM).
/// Threads it starts later run SCHED_OTHER ([`system::set_realtime`]).
fn request_thread_realtime(engine_priority: i32) {
    let prio = (engine_priority - 1).max(1);
    match system::set_realtime(prio) {
        Ok(()) => tracing::info!(priority = prio, "request thread runs SCHED_FIFO"),
        Err(e) => tracing::warn!("no real-time scheduling for the requests: {e}"),
    }
}

fn become_user(args: &Settings, server_user: Option<&str>) -> Result<(), String> {
    let user = run_as(args, server_user);
    match user.as_deref() {
        None => tracing::warn!(
            "running as root: there is no user `ossd` \
             (`useradd --system --groups audio ossd`, or --user root to say so)"
        ),
        Some(user) => {
            if let Some(state) = &args.state_file {
                system::prepare_state_dir(state, user)?;
            }
            if args.rt {
                if let Err(e) = system::keep_realtime_allowed(args.rt_priority) {
                    tracing::warn!("{e}");
                }
            }
            system::drop_privileges(user)?;
            tracing::info!(user, "dropped privileges");
        }
    }
    Ok(())
}

/// `ossd status`, `ossd top`, `ossd ctl`: clients of the control socket.
mod client {
    use std::path::PathBuf;
    use std::process::ExitCode;

    use ossd::config::{self, Settings};
    use ossd::control::{self, parse_answer, Request, Status, Target};
    use ossd::daemon::control::Client;

    use super::{Args, Command, CtlAction};

    /// The socket: `--socket`, else the daemon's flag and config.
    fn socket(given: &Option<PathBuf>, args: &Args) -> Result<PathBuf, String> {
        if let Some(p) = given {
            return Ok(p.clone());
        }
        let s = config::load_or_default(args.config.as_deref())
            .and_then(|file| Settings::resolve(args.as_config(), file))
            .map_err(|e| e.to_string())?;
        s.control_socket
            .ok_or_else(|| "this ossd is configured without a control socket".into())
    }

    fn target(client: &str) -> Result<Target, String> {
        let bad = || format!("{client:?} is neither a pid nor fh:N");
        match client.strip_prefix("fh:") {
            Some(n) => n.parse().map(Target::Fh).map_err(|_| bad()),
            None => client.parse().map(Target::Pid).map_err(|_| bad()),
        }
    }

    pub fn run(cmd: &Command, args: &Args) -> ExitCode {
        let r = match cmd {
            Command::Status { json, socket: s } => socket(s, args).and_then(|p| status(&p, *json)),
            Command::Top {
                socket: s,
                hz,
                frames,
            } => socket(s, args).and_then(|p| super::top::run(&p, *hz, *frames)),
            Command::Ctl { socket: s, action } => socket(s, args).and_then(|p| ctl(&p, action)),
        };
        match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ossd: {e}");
                ExitCode::FAILURE
            }
        }
    }

    /// Asks for the status (with the meters: asked twice, 100 ms apart, so
    /// that the peaks cover that time).
    pub fn fetch(c: &mut Client, meters: bool) -> Result<(Status, String), String> {
        let line = c.ask(&Request::Status { meters }.to_line())?;
        let v = parse_answer(&line)?;
        let s: Status = serde_json::from_value(v["status"].clone())
            .map_err(|e| format!("the daemon's status is not understood: {e}"))?;
        Ok((s, line))
    }

    fn status(path: &std::path::Path, json: bool) -> Result<(), String> {
        let mut c = Client::connect(path)?;
        let _ = fetch(&mut c, true)?;
        std::thread::sleep(std::time::Duration::from_millis(100));
        let (s, line) = fetch(&mut c, true)?;
        if json {
            println!("{line}");
        } else {
            print!("{}", control::text::render(&s));
        }
        Ok(())
    }

    fn ctl(path: &std::path::Path, action: &CtlAction) -> Result<(), String> {
        let req = match action {
            CtlAction::Volume { client, level } => Request::Volume {
                target: target(client)?,
                level: (*level).min(100),
            },
            CtlAction::Mute { client } => Request::Mute {
                target: target(client)?,
                on: true,
            },
            CtlAction::Unmute { client } => Request::Mute {
                target: target(client)?,
                on: false,
            },
            CtlAction::Master { level } => Request::Master {
                level: (*level).min(100),
            },
            CtlAction::Device { name } => Request::Device { name: name.clone() },
            CtlAction::Capture { name } => Request::Capture { name: name.clone() },
            CtlAction::Reload => Request::Reload,
        };
        let mut c = Client::connect(path)?;
        let v = parse_answer(&c.ask(&req.to_line())?)?;
        let mut v = v;
        if let Some(o) = v.as_object_mut() {
            o.remove("v");
            o.remove("ok");
        }
        println!("ok {v}");
        Ok(())
    }
}

mod top;
