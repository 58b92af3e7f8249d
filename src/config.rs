//! The configuration: the file (/etc/ossd.toml), its validation, and how it
//! combines with the command line into the concrete [`Settings`] the daemon
//! runs with.
//!
//! Every long command-line option has a key of the same name in snake_case
//! (`--period-frames` is `period_frames`), so a [`FileConfig`] is both "what
//! the file says" and "what the flags say"; [`Settings::resolve`] lets the
//! flags win and fills in the defaults. This module owns the defaults and the
//! valid ranges, and every message about a bad value: a file's mistakes are
//! reported as `FILE:LINE: key `KEY`: ...`, a flag's as `--FLAG: ...`.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::de::{DeTable, DeValue};

use crate::device::AlsaRequest;
use crate::mix::Quality;
use crate::pcm::format::SampleFormat;

/// Where the daemon looks for its configuration when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/ossd.toml";

/// Defaults (also written, commented, in packaging/ossd.toml).
pub const DEFAULT_DSP: &str = "dsp";
/// The Sun-compatible node (/dev/dsp starting in 8 kHz mono mu-law).
pub const DEFAULT_AUDIO: &str = "audio";
pub const DEFAULT_MIXER: &str = "mixer";
pub const DEFAULT_SNDSTAT: &str = "sndstat";
/// 128 frames × 3 periods = 8 ms of device buffer at 48 kHz: with ossd's own
/// request round trip (about 0.1 ms at the 99th percentile) a write is heard
/// within 10 ms (benches/figures, part e; README "Latency").
pub const DEFAULT_PERIOD_FRAMES: u32 = 128;
pub const DEFAULT_PERIODS: u32 = 3;
/// How long a device ossd chose itself (no `device` named) stays open
/// with nobody playing, unless `idle_release_ms` says otherwise.
pub const CHOSEN_IDLE_RELEASE: Duration = Duration::from_secs(5);
/// Below the kernel's threaded interrupt handlers (50), so the sound card's
/// own interrupt is never starved by the mixer; the most rtkit grants a user.
pub const DEFAULT_RT_PRIORITY: i32 = 20;
/// The state file's name in systemd's StateDirectory= ($STATE_DIRECTORY).
pub const STATE_FILE_NAME: &str = "mixer.state";
pub const DEFAULT_CUSE: &str = "/dev/cuse";
/// Where `ossd status`, `top` and `ctl` reach the daemon.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/ossd/control";

/// What the file (or the command line) says; `None` is "not said".
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// ALSA PCMs to play to, most preferred first, e.g. "hw:0,0" or
    /// ["hw:CARD=Headset,0", "hw:0,0"].
    #[serde(default, deserialize_with = "de_list")]
    pub device: Option<Vec<String>>,
    /// The sound server to play through: "auto" (a session's server when
    /// one runs and no device is named), "none", or a server address
    /// ("unix:/run/user/1000/pulse/native", "tcp:host:4713").
    pub server: Option<String>,
    /// Node name of the OSS audio device under /dev.
    pub dsp: Option<String>,
    /// Node name of the Sun-compatible audio device (mu-law by default);
    /// "" for none.
    pub audio: Option<String>,
    /// Node name of the OSS mixer; "" for none.
    pub mixer: Option<String>,
    /// Node name of the status file; "" for none.
    pub sndstat: Option<String>,
    /// ALSA PCMs to record from, most preferred first; "none" for no
    /// recording.
    #[serde(default, deserialize_with = "de_list")]
    pub capture_device: Option<Vec<String>>,
    /// Node name of a device that reads back the mix; "" for none.
    pub monitor: Option<String>,
    #[serde(default, deserialize_with = "de_format")]
    pub format: Option<SampleFormat>,
    pub rate: Option<u32>,
    pub channels: Option<u32>,
    pub period_frames: Option<u32>,
    pub periods: Option<u32>,
    #[serde(default, deserialize_with = "de_resampler")]
    pub resampler: Option<Quality>,
    /// Run the engine thread SCHED_FIFO.
    pub rt: Option<bool>,
    pub rt_priority: Option<i32>,
    /// Close the ALSA device after this long with no client; 0 keeps it open.
    pub idle_release_ms: Option<u32>,
    pub limiter: Option<bool>,
    /// Raise the device's period when it underruns again and again.
    pub adapt_latency: Option<bool>,
    /// User to run as once the devices are open ("root": stay root).
    pub user: Option<String>,
    /// Where the mixer levels are kept; "" for nowhere.
    pub state_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_log_level")]
    pub log_level: Option<LogLevel>,
    /// The CUSE control device.
    pub cuse: Option<PathBuf>,
    /// The control socket (`ossd status`, `top`, `ctl`); "" for none.
    pub control_socket: Option<PathBuf>,
}

/// The value type of a key, for "expected an integer, found a string".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    /// A string, or an array of them (at least one).
    List,
    Int {
        min: i64,
        max: i64,
    },
    Bool,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::List => "a string or an array of strings",
            Kind::Int { .. } => "an integer",
            Kind::Bool => "a boolean (true or false)",
        }
    }
}

/// Every key, in the order of the example file, with its type and range.
const KEYS: &[(&str, Kind)] = &[
    ("device", Kind::List),
    ("server", Kind::Str),
    ("capture_device", Kind::List),
    ("dsp", Kind::Str),
    ("audio", Kind::Str),
    ("mixer", Kind::Str),
    ("sndstat", Kind::Str),
    ("monitor", Kind::Str),
    ("format", Kind::Str),
    (
        "rate",
        Kind::Int {
            min: 1000,
            max: 384_000,
        },
    ),
    ("channels", Kind::Int { min: 1, max: 8 }),
    (
        "period_frames",
        Kind::Int {
            min: 16,
            max: 16384,
        },
    ),
    ("periods", Kind::Int { min: 2, max: 64 }),
    ("resampler", Kind::Str),
    ("limiter", Kind::Bool),
    ("adapt_latency", Kind::Bool),
    (
        "idle_release_ms",
        Kind::Int {
            min: 0,
            max: u32::MAX as i64,
        },
    ),
    ("rt", Kind::Bool),
    ("rt_priority", Kind::Int { min: 1, max: 99 }),
    ("user", Kind::Str),
    ("state_file", Kind::Str),
    ("log_level", Kind::Str),
    ("cuse", Kind::Str),
    ("control_socket", Kind::Str),
];

fn kind_of(key: &str) -> Option<Kind> {
    KEYS.iter().find(|(k, _)| *k == key).map(|&(_, kind)| kind)
}

/// The names of every key the file may hold.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|(k, _)| *k)
}

/// The command-line flag of a key: `period_frames` → `--period-frames`.
pub fn flag_of(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

fn check_int(key: &str, n: i64) -> Result<(), String> {
    match kind_of(key) {
        Some(Kind::Int { min, max }) if n < min || n > max => {
            Err(format!("must be between {min} and {max}, not {n}"))
        }
        _ => Ok(()),
    }
}

/// A node name under /dev: what CUSE's DEVNAME takes and udev matches.
fn check_node(s: &str, may_be_empty: bool) -> Result<(), String> {
    if s.is_empty() {
        return if may_be_empty {
            Ok(())
        } else {
            Err("must not be empty".into())
        };
    }
    if s.len() > 32
        || s.starts_with('.')
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        return Err(format!(
            "{s:?} is not a device node name (letters, digits, `_`, `-`, `.`; at most 32)"
        ));
    }
    Ok(())
}

fn check_str(key: &str, s: &str) -> Result<(), String> {
    match key {
        "dsp" => check_node(s, false),
        "audio" | "mixer" | "sndstat" | "monitor" => check_node(s, true),
        "device" | "capture_device" if s.is_empty() => Err("must not be empty".into()),
        "server" => parse_server(s).map(drop),
        "format" => parse_format(s).map(drop),
        "resampler" => parse_resampler(s).map(drop),
        "log_level" => parse_log_level(s).map(drop),
        "user" if s.is_empty() || s.contains(|c: char| c == ':' || c.is_whitespace()) => {
            Err(format!("{s:?} is not a user name"))
        }
        "state_file" if !s.is_empty() && !s.starts_with('/') => {
            Err(format!("must be an absolute path, not {s:?}"))
        }
        "cuse" if !s.starts_with('/') => Err(format!("must be an absolute path, not {s:?}")),
        "control_socket" if !s.is_empty() && !s.starts_with('/') => {
            Err(format!("must be an absolute path, not {s:?}"))
        }
        _ => Ok(()),
    }
}

/// Where the output goes when it goes through a sound server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// With no `device` named: through the server of a user's session
    /// when one runs (or of `user`, when it starts), else to the first
    /// card. With a `device`: to the devices named.
    Auto,
    /// Never through a server.
    None,
    /// Through this server (a PulseAudio server string), with the
    /// `device`s as fallbacks.
    At(String),
}

/// The prefix that makes a device name a sound server's: the device list
/// holds `server:unix:/run/user/1000/pulse/native`, `server:tcp:host:4713`.
pub const SERVER_PREFIX: &str = "server:";

impl Server {
    /// The device name of the server at `address`.
    pub fn device(address: &str) -> String {
        format!("{SERVER_PREFIX}{address}")
    }
}

/// Parses `server`: "auto", "none", or an address: `unix:/path` (or just
/// `/path`), `tcp:host[:port]`, `tcp4:`/`tcp6:` the same.
pub fn parse_server(s: &str) -> Result<Server, String> {
    match s {
        "auto" => return Ok(Server::Auto),
        "none" => return Ok(Server::None),
        _ => {}
    }
    let bad = || {
        format!(
            "{s:?} is not a sound server: \"auto\", \"none\", \"unix:/path/to/socket\" or \
             \"tcp:host[:port]\""
        )
    };
    if s.starts_with('/') {
        return Ok(Server::At(format!("unix:{s}")));
    }
    match s.split_once(':') {
        Some(("unix", path)) if path.starts_with('/') => Ok(Server::At(s.to_owned())),
        Some(("tcp" | "tcp4" | "tcp6", rest))
            if !rest.is_empty() && !rest.contains(char::is_whitespace) =>
        {
            Ok(Server::At(s.to_owned()))
        }
        _ => Err(bad()),
    }
}

/// Parses a sample format name as the device takes it: "S16_LE", "s32-le",
/// "FLOAT" (or "FLOAT_LE"); every [`SampleFormat::name`] is accepted.
pub fn parse_format(s: &str) -> Result<SampleFormat, String> {
    let want = s.to_ascii_uppercase().replace('-', "_");
    SampleFormat::ALL
        .into_iter()
        .find(|f| f.name() == want || (want == "FLOAT_LE" && *f == SampleFormat::FloatLe))
        .ok_or_else(|| {
            let names: Vec<_> = SampleFormat::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format {s:?}; one of {}", names.join(", "))
        })
}

/// Parses a resampler name: "fast" or "high".
pub fn parse_resampler(s: &str) -> Result<Quality, String> {
    match s {
        "fast" => Ok(Quality::Fast),
        "high" => Ok(Quality::High),
        _ => Err(format!("unknown resampler {s:?}; `fast` or `high`")),
    }
}

/// How much the daemon logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    /// The name, as `tracing_subscriber::EnvFilter` takes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    /// The level `-v` repeated `count` times asks for (`None` for none).
    pub const fn from_verbose(count: u8) -> Option<LogLevel> {
        match count {
            0 => None,
            1 => Some(LogLevel::Debug),
            _ => Some(LogLevel::Trace),
        }
    }
}

/// Parses a log level name: error, warn, info, debug or trace.
pub fn parse_log_level(s: &str) -> Result<LogLevel, String> {
    LogLevel::ALL
        .into_iter()
        .find(|l| l.as_str() == s)
        .ok_or_else(|| format!("unknown log level {s:?}; error, warn, info, debug or trace"))
}

fn de_with<'de, D, T>(d: D, parse: fn(&str) -> Result<T, String>) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    let s = String::deserialize(d)?;
    parse(&s).map(Some).map_err(serde::de::Error::custom)
}

/// A string or an array of strings.
fn de_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Some(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

fn de_format<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SampleFormat>, D::Error> {
    de_with(d, parse_format)
}

fn de_resampler<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Quality>, D::Error> {
    de_with(d, parse_resampler)
}

fn de_log_level<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LogLevel>, D::Error> {
    de_with(d, parse_log_level)
}

/// One mistake in a file: its line (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: no such file", .0.display())]
    Missing(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The file's mistakes, each as `FILE:LINE: message`, one per line.
    #[error("{}", render_issues(path, issues))]
    Invalid { path: PathBuf, issues: Vec<Issue> },
    /// Bad command-line values, each as `--flag: message`.
    #[error("{}", .0.join("\n"))]
    Flags(Vec<String>),
    /// Settings that each are fine but do not go together.
    #[error("{0}")]
    Conflict(String),
}

fn render_issues(path: &Path, issues: &[Issue]) -> String {
    let lines: Vec<String> = issues
        .iter()
        .map(|i| format!("{}:{}: {}", path.display(), i.line, i.message))
        .collect();
    lines.join("\n")
}

/// Reads and checks a config file; a missing file is an error
/// ([`ConfigError::Missing`]).
pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ConfigError::Missing(path.into())),
        Err(source) => Err(ConfigError::Read {
            path: path.into(),
            source,
        }),
    }
}

/// Loads `--config PATH` if one was given (it must exist), else
/// [`DEFAULT_PATH`] if it exists, else an empty config.
pub fn load_or_default(explicit: Option<&Path>) -> Result<FileConfig, ConfigError> {
    match explicit {
        Some(path) => load(path),
        None => match load(Path::new(DEFAULT_PATH)) {
            Err(ConfigError::Missing(_)) => Ok(FileConfig::default()),
            other => other,
        },
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn found(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Checks one value of a known key, as written in the file.
fn check_value(key: &str, kind: Kind, v: &DeValue<'_>) -> Result<(), String> {
    match (kind, v) {
        (Kind::Str | Kind::List, DeValue::String(s)) => check_str(key, s),
        (Kind::List, DeValue::Array(items)) if items.is_empty() => {
            Err("must name at least one device".into())
        }
        (Kind::List, DeValue::Array(items)) => {
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::String(s) => check_str(key, s)?,
                    other => {
                        return Err(format!(
                            "expected {}, found an array holding {}",
                            kind.expected(),
                            found(other)
                        ))
                    }
                }
            }
            Ok(())
        }
        (Kind::Bool, DeValue::Boolean(_)) => Ok(()),
        (Kind::Int { min, max }, DeValue::Integer(i)) => {
            match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => check_int(key, n),
                Err(_) => Err(format!("must be between {min} and {max}, not {i}")),
            }
        }
        _ => Err(format!("expected {}, found {}", kind.expected(), found(v))),
    }
}

/// Parses and checks the text of a config file; `path` is only for messages.
/// Every mistake is reported with its line, in file order.
pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    let invalid = |issues: Vec<Issue>| ConfigError::Invalid {
        path: path.into(),
        issues,
    };
    let doc = DeTable::parse(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        let message = e.message().lines().collect::<Vec<_>>().join("; ");
        invalid(vec![Issue { line, message }])
    })?;

    // Each key's whole extent (key through value), for placing serde's errors.
    let mut extents: Vec<(String, Range<usize>)> = Vec::new();
    let mut issues = Vec::new();
    for (key, value) in doc.get_ref().iter() {
        let name: &str = key.get_ref();
        let (kspan, vspan) = (key.span(), value.span());
        extents.push((
            name.to_owned(),
            kspan.start.min(vspan.start)..kspan.end.max(vspan.end),
        ));
        let problem = match kind_of(name) {
            None => Err(format!(
                "unknown key `{name}` (known: {})",
                known_keys().collect::<Vec<_>>().join(", ")
            )),
            Some(kind) => {
                check_value(name, kind, value.get_ref()).map_err(|m| format!("key `{name}`: {m}"))
            }
        };
        if let Err(message) = problem {
            issues.push((kspan.start, message));
        }
    }
    if !issues.is_empty() {
        issues.sort_by_key(|&(at, _)| at);
        return Err(invalid(
            issues
                .into_iter()
                .map(|(at, message)| Issue {
                    line: line_of(text, at),
                    message,
                })
                .collect(),
        ));
    }

    // Everything was checked above; a serde error here is still placed.
    toml::from_str::<FileConfig>(text).map_err(|e| {
        let (line, message) = match e.span() {
            Some(span) => {
                let key = extents.iter().find(|(_, r)| r.contains(&span.start));
                let line = line_of(text, span.start);
                match key {
                    Some((k, _)) => (line, format!("key `{k}`: {}", e.message())),
                    None => (line, e.message().to_owned()),
                }
            }
            None => (1, e.message().to_owned()),
        };
        invalid(vec![Issue { line, message }])
    })
}

impl FileConfig {
    /// Each value that is out of range, as (key, message): for values that
    /// did not come through [`parse`] (the command line).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let lists = [
            ("device", self.device.as_deref()),
            ("capture_device", self.capture_device.as_deref()),
        ];
        let strs: [(&'static str, Option<&str>); 10] = [
            ("server", self.server.as_deref()),
            ("dsp", self.dsp.as_deref()),
            ("audio", self.audio.as_deref()),
            ("mixer", self.mixer.as_deref()),
            ("sndstat", self.sndstat.as_deref()),
            ("monitor", self.monitor.as_deref()),
            ("user", self.user.as_deref()),
            (
                "state_file",
                self.state_file.as_deref().and_then(Path::to_str),
            ),
            ("cuse", self.cuse.as_deref().and_then(Path::to_str)),
            (
                "control_socket",
                self.control_socket.as_deref().and_then(Path::to_str),
            ),
        ];
        let ints: [(&'static str, Option<i64>); 6] = [
            ("rate", self.rate.map(i64::from)),
            ("channels", self.channels.map(i64::from)),
            ("period_frames", self.period_frames.map(i64::from)),
            ("periods", self.periods.map(i64::from)),
            ("idle_release_ms", self.idle_release_ms.map(i64::from)),
            ("rt_priority", self.rt_priority.map(i64::from)),
        ];
        let mut out = Vec::new();
        for (key, list) in lists {
            for s in list.unwrap_or_default() {
                if let Err(m) = check_str(key, s) {
                    out.push((key, m));
                }
            }
        }
        for (key, v) in strs {
            if let Some(Err(m)) = v.map(|s| check_str(key, s)) {
                out.push((key, m));
            }
        }
        for (key, v) in ints {
            if let Some(Err(m)) = v.map(|n| check_int(key, n)) {
                out.push((key, m));
            }
        }
        out
    }

    /// Each value of `self`, else `lower`'s: `flags.or(file)`.
    pub fn or(self, lower: FileConfig) -> FileConfig {
        FileConfig {
            device: self.device.or(lower.device),
            server: self.server.or(lower.server),
            dsp: self.dsp.or(lower.dsp),
            audio: self.audio.or(lower.audio),
            mixer: self.mixer.or(lower.mixer),
            sndstat: self.sndstat.or(lower.sndstat),
            capture_device: self.capture_device.or(lower.capture_device),
            monitor: self.monitor.or(lower.monitor),
            format: self.format.or(lower.format),
            rate: self.rate.or(lower.rate),
            channels: self.channels.or(lower.channels),
            period_frames: self.period_frames.or(lower.period_frames),
            periods: self.periods.or(lower.periods),
            resampler: self.resampler.or(lower.resampler),
            rt: self.rt.or(lower.rt),
            rt_priority: self.rt_priority.or(lower.rt_priority),
            idle_release_ms: self.idle_release_ms.or(lower.idle_release_ms),
            limiter: self.limiter.or(lower.limiter),
            adapt_latency: self.adapt_latency.or(lower.adapt_latency),
            user: self.user.or(lower.user),
            state_file: self.state_file.or(lower.state_file),
            log_level: self.log_level.or(lower.log_level),
            cuse: self.cuse.or(lower.cuse),
            control_socket: self.control_socket.or(lower.control_socket),
        }
    }
}

/// Everything the daemon runs with, every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// ALSA playback PCMs, most preferred first; empty: the first card
    /// that can play.
    pub device: Vec<String>,
    /// The sound server to play through (default [`Server::Auto`]).
    pub server: Server,
    /// ALSA capture PCMs as given: empty is the capture side of each
    /// playback device, `["none"]` is no recording; see
    /// [`Settings::capture`].
    pub capture_device: Vec<String>,
    pub dsp: String,
    /// `None`: no Sun-compatible audio node.
    pub audio: Option<String>,
    /// `None`: no mixer node.
    pub mixer: Option<String>,
    /// `None`: no sndstat node.
    pub sndstat: Option<String>,
    /// `None`: no monitor node.
    pub monitor: Option<String>,
    /// `None` (each of the three): whatever the card takes, preferring the
    /// widest integer format, 48000 Hz and 2 channels.
    pub format: Option<SampleFormat>,
    pub rate: Option<u32>,
    pub channels: Option<u32>,
    pub period_frames: u32,
    pub periods: u32,
    pub resampler: Quality,
    pub limiter: bool,
    /// Raise the device's period under repeated underruns (and lower it
    /// again when calm); default true.
    pub adapt_latency: bool,
    /// 0: never close the device while the daemon runs; `None` (not
    /// configured): never, unless ossd chose the device (see
    /// [`Settings::idle_release`]).
    pub idle_release_ms: Option<u32>,
    pub rt: bool,
    pub rt_priority: i32,
    /// `None`: "ossd" if that user exists, else stay root
    /// ([`crate::system::default_user`]); "root": stay root.
    pub user: Option<String>,
    /// Where the mixer levels are kept across restarts; `None`: nowhere.
    /// Default: $STATE_DIRECTORY/mixer.state under systemd (StateDirectory=),
    /// else none.
    pub state_file: Option<PathBuf>,
    pub log_level: LogLevel,
    pub cuse: PathBuf,
    /// The control socket; `None`: none.
    pub control_socket: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            device: Vec::new(),
            server: Server::Auto,
            capture_device: Vec::new(),
            dsp: DEFAULT_DSP.into(),
            audio: Some(DEFAULT_AUDIO.into()),
            mixer: Some(DEFAULT_MIXER.into()),
            sndstat: Some(DEFAULT_SNDSTAT.into()),
            monitor: None,
            format: None,
            rate: None,
            channels: None,
            period_frames: DEFAULT_PERIOD_FRAMES,
            periods: DEFAULT_PERIODS,
            resampler: Quality::Fast,
            // Off: a full-scale stream must stay bit-exact unless asked.
            limiter: false,
            adapt_latency: true,
            idle_release_ms: None,
            // Off: asked for with --rt, which says clearly when it is refused.
            rt: false,
            rt_priority: DEFAULT_RT_PRIORITY,
            user: None,
            state_file: None,
            log_level: LogLevel::Info,
            cuse: DEFAULT_CUSE.into(),
            control_socket: Some(DEFAULT_CONTROL_SOCKET.into()),
        }
    }
}

/// A node name, with "" meaning "none".
fn node(v: Option<String>, default: Option<&str>) -> Option<String> {
    match v {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s),
        None => default.map(str::to_owned),
    }
}

impl Settings {
    /// The flags (`cli`) over the file over the defaults. The flags' values
    /// are checked here (the file's were checked by [`parse`]), and so is
    /// that the device nodes have different names. The environment's
    /// $STATE_DIRECTORY (set by systemd) gives the default state file.
    pub fn resolve(cli: FileConfig, file: FileConfig) -> Result<Settings, ConfigError> {
        let state_dir = std::env::var_os("STATE_DIRECTORY");
        Settings::resolve_in(cli, file, state_dir.as_deref().map(Path::new))
    }

    /// [`Settings::resolve`] with $STATE_DIRECTORY given (systemd may list
    /// several, `:`-separated; the first is used).
    pub fn resolve_in(
        cli: FileConfig,
        file: FileConfig,
        state_directory: Option<&Path>,
    ) -> Result<Settings, ConfigError> {
        let mut bad: Vec<String> = cli
            .problems()
            .into_iter()
            .map(|(k, m)| format!("{}: {m}", flag_of(k)))
            .collect();
        bad.extend(
            file.problems()
                .into_iter()
                .map(|(k, m)| format!("config key `{k}`: {m}")),
        );
        if !bad.is_empty() {
            return Err(ConfigError::Flags(bad));
        }
        let c = cli.or(file);
        let d = Settings::default();
        let s = Settings {
            device: c.device.unwrap_or_default(),
            server: match c.server {
                Some(s) => parse_server(&s).map_err(|m| ConfigError::Flags(vec![m]))?,
                None => d.server,
            },
            capture_device: c.capture_device.unwrap_or_default(),
            dsp: c.dsp.unwrap_or(d.dsp),
            audio: node(c.audio, d.audio.as_deref()),
            mixer: node(c.mixer, d.mixer.as_deref()),
            sndstat: node(c.sndstat, d.sndstat.as_deref()),
            monitor: node(c.monitor, d.monitor.as_deref()),
            format: c.format,
            rate: c.rate,
            channels: c.channels,
            period_frames: c.period_frames.unwrap_or(d.period_frames),
            periods: c.periods.unwrap_or(d.periods),
            resampler: c.resampler.unwrap_or(d.resampler),
            limiter: c.limiter.unwrap_or(d.limiter),
            adapt_latency: c.adapt_latency.unwrap_or(d.adapt_latency),
            idle_release_ms: c.idle_release_ms,
            rt: c.rt.unwrap_or(d.rt),
            rt_priority: c.rt_priority.unwrap_or(d.rt_priority),
            user: c.user,
            state_file: match c.state_file {
                Some(p) if p.as_os_str().is_empty() => None,
                Some(p) => Some(p),
                None => state_directory
                    .and_then(|d| d.to_str())
                    .and_then(|d| d.split(':').next())
                    .filter(|d| d.starts_with('/'))
                    .map(|d| Path::new(d).join(STATE_FILE_NAME)),
            },
            log_level: c.log_level.unwrap_or(d.log_level),
            cuse: c.cuse.unwrap_or(d.cuse),
            control_socket: match c.control_socket {
                Some(p) if p.as_os_str().is_empty() => None,
                Some(p) => Some(p),
                None => d.control_socket,
            },
        };
        let nodes = s.nodes();
        for (i, (ka, a)) in nodes.iter().enumerate() {
            if let Some((kb, _)) = nodes[i + 1..].iter().find(|(_, b)| b == a) {
                return Err(ConfigError::Conflict(format!(
                    "`{ka}` and `{kb}` are both /dev/{a}: give them different names"
                )));
            }
        }
        Ok(s)
    }

    /// The device nodes this daemon creates, as (key, name under /dev).
    pub fn nodes(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![("dsp", self.dsp.as_str())];
        for (k, n) in [
            ("audio", &self.audio),
            ("mixer", &self.mixer),
            ("sndstat", &self.sndstat),
            ("monitor", &self.monitor),
        ] {
            if let Some(n) = n {
                v.push((k, n.as_str()));
            }
        }
        v
    }

    /// The capture PCMs to record from, most preferred first, given the
    /// playback ones; empty: no recording.
    pub fn capture(&self, playback: &[String]) -> Vec<String> {
        match self.capture_device.as_slice() {
            [none] if none == "none" => Vec::new(),
            [] => playback.to_vec(),
            given => given.to_vec(),
        }
    }

    /// How long the device stays open with nobody playing; `None`: for
    /// ever. Unless configured: for ever when a `device` or `server` was
    /// named, [`CHOSEN_IDLE_RELEASE`] when ossd chose it itself (`chosen`),
    /// so that the desktop may use the card, or its server suspend.
    pub fn idle_release(&self, chosen: bool) -> Option<Duration> {
        match self.idle_release_ms {
            Some(0) => None,
            Some(ms) => Some(Duration::from_millis(ms.into())),
            None => chosen.then_some(CHOSEN_IDLE_RELEASE),
        }
    }

    /// What to ask of the playback device `device` (the resolved name).
    pub fn alsa_request(&self, device: &str) -> AlsaRequest {
        AlsaRequest {
            device: device.to_owned(),
            format: self.format,
            rate: self.rate,
            channels: self.channels,
            period_frames: self.period_frames,
            periods: self.periods,
        }
    }
}

#[cfg(test)]
mod tests;
