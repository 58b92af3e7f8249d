//! `ossd --check`: looks at everything ossd needs from the system (CUSE, the
//! sound card, the udev rule, the unit, ossd-run, its user, the config file)
//! and says, for each, OK, NOTE or PROBLEM and what to do about it. It
//! changes nothing.
//!
//! All looking goes through [`Probe`], so the checks run on fake trees in
//! tests; [`Host`] is the real system, with its files read under a root
//! directory.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::{self, ConfigError, FileConfig, Server, Settings, DEFAULT_PATH, SERVER_PREFIX};
use crate::desktop;
use crate::host::servers::{self, SoundServer};
use crate::host::{holders, SERVER_PROGRAMS};

/// The udev rule's name, and where udev looks for it.
pub const UDEV_RULE: &str = "60-ossd.rules";
const UDEV_DIRS: [&str; 3] = [
    "/etc/udev/rules.d",
    "/lib/udev/rules.d",
    "/usr/lib/udev/rules.d",
];
/// Where systemd finds the unit (scripts/install puts it in /etc, the Debian
/// package in /lib), and the link that enabling it makes.
const UNIT_DIRS: [&str; 3] = [
    "/etc/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];
const UNIT_ENABLED: &str = "/etc/systemd/system/multi-user.target.wants/ossd.service";
/// Files that load `cuse` at boot (systemd-modules-load, and Debian's /etc/modules).
const MODULES_LOAD: [&str; 4] = [
    "/etc/modules-load.d/ossd.conf",
    "/usr/lib/modules-load.d/ossd.conf",
    "/lib/modules-load.d/ossd.conf",
    "/etc/modules",
];
/// ossd-run's library under its root, one per `$LIB` of Debian's loader,
/// and the programs that load it.
const PRELOAD_LIBS: [(&str, &str); 3] = [
    ("lib/x86_64-linux-gnu", "64-bit programs"),
    ("lib32", "32-bit programs (libc6-i386)"),
    (
        "lib/i386-linux-gnu",
        "32-bit programs (multiarch libc6:i386)",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Worth knowing; ossd works anyway.
    Note,
    /// ossd will not work (or not fully) until this is fixed.
    Problem,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Note => "NOTE",
            Status::Problem => "PROBLEM",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckItem {
    pub status: Status,
    /// What was checked: "cuse module", "/dev/cuse", ...
    pub name: String,
    /// What was found.
    pub detail: String,
    /// What to do (for a note or a problem).
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub items: Vec<CheckItem>,
}

impl CheckReport {
    fn push(&mut self, status: Status, name: &str, detail: impl Into<String>, fix: Option<String>) {
        self.items.push(CheckItem {
            status,
            name: name.to_owned(),
            detail: detail.into(),
            fix,
        });
    }

    fn ok(&mut self, name: &str, detail: impl Into<String>) {
        self.push(Status::Ok, name, detail, None);
    }

    fn note(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(Status::Note, name, detail, Some(fix.into()));
    }

    fn problem(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(Status::Problem, name, detail, Some(fix.into()));
    }

    pub fn problems(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.status == Status::Problem)
            .count()
    }

    pub fn is_ok(&self) -> bool {
        self.problems() == 0
    }

    /// 0 with no problem, 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        if self.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    /// The item named `name`, if it was checked.
    pub fn item(&self, name: &str) -> Option<&CheckItem> {
        self.items.iter().find(|i| i.name == name)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            let mut lines = item.detail.lines();
            let first = lines.next().unwrap_or("");
            writeln!(f, "{:<8} {}: {first}", item.status.label(), item.name)?;
            for more in lines {
                writeln!(f, "{:<8}   {more}", "")?;
            }
            if let Some(fix) = &item.fix {
                writeln!(f, "{:<8} fix: {fix}", "")?;
            }
        }
        match self.problems() {
            0 => writeln!(f, "No problems: ossd should start."),
            1 => writeln!(f, "1 problem."),
            n => writeln!(f, "{n} problems."),
        }
    }
}

/// Why an ALSA PCM did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcmError {
    pub errno: i32,
    pub message: String,
}

/// A user, as far as ossd cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub uid: u32,
    /// `None`: there is no audio group at all.
    pub in_audio: Option<bool>,
}

/// Everything the checks look at. Paths are the system's absolute paths
/// ("/proc/asound/cards"); an implementation may look elsewhere for them.
pub trait Probe {
    fn exists(&self, path: &str) -> bool;
    /// A text file's contents, or `None` if it cannot be read.
    fn read(&self, path: &str) -> Option<String>;
    /// Opens (and closes) a file read-write.
    fn open_rw(&self, path: &str) -> io::Result<()>;
    /// Opens (non-blocking) and closes an ALSA PCM.
    fn open_pcm(&self, name: &str, capture: bool) -> Result<(), PcmError>;
    /// The PCM ossd plays to when none is configured.
    fn first_playback_device(&self) -> Result<String, String>;
    fn user(&self, name: &str) -> Result<Option<UserInfo>, String>;
    fn is_root(&self) -> bool;
    /// The command names (`comm`) of the other running processes.
    fn processes(&self) -> Vec<String>;
    /// Whether a thread may become SCHED_FIFO at `priority`.
    fn try_realtime(&self, priority: i32) -> Result<(), String>;
    /// The running ossd's own path (ossd-run is looked for beside it).
    fn exe(&self) -> Option<PathBuf>;
    /// The users' sound servers that run ([`servers::find`]).
    fn sound_servers(&self) -> Vec<SoundServer>;
    /// The user of the seat's active session ([`servers::active_uid`]).
    fn active_uid(&self) -> Option<u32>;
    /// Who holds the device `name`, in words ([`holders::held_by`]).
    fn held_by(&self, name: &str, capture: bool) -> String;
    /// Whether a sound server takes connections at `address`.
    fn reach_server(&self, address: &str) -> Result<(), String>;
}

/// The real system; its files are read under `root` ("/" for the real ones).
#[derive(Debug, Clone)]
pub struct Host {
    pub root: PathBuf,
}

impl Host {
    pub fn system() -> Host {
        Host { root: "/".into() }
    }

    fn path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }
}

impl Probe for Host {
    fn exists(&self, path: &str) -> bool {
        self.path(path).exists()
    }

    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.path(path)).ok()
    }

    fn open_rw(&self, path: &str) -> io::Result<()> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.path(path))
            .map(drop)
    }

    fn open_pcm(&self, name: &str, capture: bool) -> Result<(), PcmError> {
        let dir = if capture {
            alsa::Direction::Capture
        } else {
            alsa::Direction::Playback
        };
        alsa::PCM::new(name, dir, true)
            .map(drop)
            .map_err(|e| PcmError {
                errno: e.errno(),
                message: e.to_string(),
            })
    }

    fn first_playback_device(&self) -> Result<String, String> {
        crate::output::alsa::first_playback_device()
    }

    fn user(&self, name: &str) -> Result<Option<UserInfo>, String> {
        use nix::unistd::{getgrouplist, Group, User};
        let Some(u) = User::from_name(name).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let audio = Group::from_name("audio").map_err(|e| e.to_string())?;
        let in_audio = audio.map(|g| {
            g.mem.iter().any(|m| m == name)
                || u.gid == g.gid
                || std::ffi::CString::new(name)
                    .ok()
                    .and_then(|c| getgrouplist(&c, u.gid).ok())
                    .is_some_and(|gs| gs.contains(&g.gid))
        });
        Ok(Some(UserInfo {
            uid: u.uid.as_raw(),
            in_audio,
        }))
    }

    fn is_root(&self) -> bool {
        nix::unistd::geteuid().is_root()
    }

    fn processes(&self) -> Vec<String> {
        let me = std::process::id().to_string();
        let Ok(dir) = std::fs::read_dir(self.path("/proc")) else {
            return Vec::new();
        };
        dir.flatten()
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.bytes().all(|b| b.is_ascii_digit()) && n != me
            })
            .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
            .map(|c| c.trim_end().to_owned())
            .collect()
    }

    fn try_realtime(&self, priority: i32) -> Result<(), String> {
        std::thread::spawn(move || crate::system::set_realtime(priority))
            .join()
            .unwrap_or_else(|_| Err("the probing thread panicked".into()))
    }

    fn exe(&self) -> Option<PathBuf> {
        std::env::current_exe().ok()
    }

    fn sound_servers(&self) -> Vec<SoundServer> {
        servers::find(&self.root)
    }

    fn active_uid(&self) -> Option<u32> {
        servers::active_uid(&self.root)
    }

    fn held_by(&self, name: &str, capture: bool) -> String {
        holders::held_by(&self.root, name, capture)
    }

    fn reach_server(&self, address: &str) -> Result<(), String> {
        use std::net::ToSocketAddrs;
        let timeout = std::time::Duration::from_secs(2);
        if let Some(path) = address.strip_prefix("unix:") {
            return std::os::unix::net::UnixStream::connect(self.path(path))
                .map(drop)
                .map_err(|e| e.to_string());
        }
        let rest = address.split_once(':').map_or(address, |(_, r)| r);
        let hostport = if rest
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            rest.to_owned()
        } else {
            format!("{rest}:4713")
        };
        let addrs = hostport
            .to_socket_addrs()
            .map_err(|e| format!("{hostport}: {e}"))?;
        let mut last = format!("{hostport}: no address");
        for a in addrs {
            match std::net::TcpStream::connect_timeout(&a, timeout) {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("{a}: {e}"),
            }
        }
        Err(last)
    }
}

/// `ossd --check` on this system: the config file (`--config PATH`, else
/// /etc/ossd.toml if present), the flags over it, then [`run_checks`].
pub fn check(config_path: Option<&Path>, cli: FileConfig) -> CheckReport {
    check_with(&Host::system(), config_path, cli)
}

/// [`check`] with another probe (the config file is read from the real path).
pub fn check_with(probe: &dyn Probe, config_path: Option<&Path>, cli: FileConfig) -> CheckReport {
    let mut report = CheckReport::default();
    let shown = config_path.unwrap_or(Path::new(DEFAULT_PATH)).display();
    let name = "config file";
    let fix = "correct it; packaging/ossd.toml lists every key, commented";
    let file = match config::load_or_default(config_path) {
        Ok(file) => {
            if config_path.is_none() && !Path::new(DEFAULT_PATH).exists() {
                report.ok(name, format!("no {shown}; using the defaults"));
            } else {
                report.ok(name, format!("{shown} is valid"));
            }
            file
        }
        Err(e @ ConfigError::Missing(_)) => {
            report.problem(name, e.to_string(), "create it, or leave out --config");
            FileConfig::default()
        }
        Err(e) => {
            report.problem(name, e.to_string(), fix);
            FileConfig::default()
        }
    };
    let settings = match Settings::resolve(cli.clone(), file) {
        Ok(s) => s,
        Err(e) => {
            report.problem("settings", e.to_string(), fix);
            Settings::resolve(cli, FileConfig::default()).unwrap_or_default()
        }
    };
    report.items.extend(run_checks_with(probe, &settings).items);
    report
}

/// Every system check for `settings`, on this system.
pub fn run_checks(settings: &Settings) -> CheckReport {
    run_checks_with(&Host::system(), settings)
}

/// Every system check for `settings`, through `probe`: each of `CHECKS`
/// in turn, its findings in that order.
pub fn run_checks_with(probe: &dyn Probe, settings: &Settings) -> CheckReport {
    let mut r = CheckReport::default();
    let c = Context::new(probe, settings);
    for check in CHECKS {
        check(&c, &mut r);
    }
    r
}

/// What every check may ask: the probe, the settings, and what is running.
struct Context<'a> {
    probe: &'a dyn Probe,
    settings: &'a Settings,
    procs: Vec<String>,
    ossd_running: bool,
    /// What to do when a root-only file cannot be opened.
    root_hint: &'static str,
}

impl<'a> Context<'a> {
    fn new(probe: &'a dyn Probe, settings: &'a Settings) -> Context<'a> {
        let procs = probe.processes();
        let ossd_running = procs.iter().any(|p| p == "ossd");
        let root_hint = if probe.is_root() {
            "check its permissions (it is normally root-only, mode 0600)"
        } else {
            "run ossd (and this check) as root"
        };
        Context {
            probe,
            settings,
            procs,
            ossd_running,
            root_hint,
        }
    }

    /// A process named `name` runs.
    fn running(&self, name: &str) -> bool {
        self.procs.iter().any(|p| p == name)
    }
}

/// One system check: what it finds goes into the report.
type Check = fn(&Context<'_>, &mut CheckReport);

/// Every check, in the order the report lists them.
const CHECKS: [Check; 8] = [
    check_cuse,
    check_oss_nodes,
    check_sound_server,
    check_sound_card,
    check_installation,
    check_unit_and_ossd_run,
    check_user,
    check_state_and_scheduling,
];

/// CUSE: the module, and its device opening read-write.
fn check_cuse(c: &Context<'_>, r: &mut CheckReport) {
    let (probe, settings) = (c.probe, c.settings);
    let misc_has_cuse = probe.read("/proc/misc").is_some_and(|m| {
        m.lines()
            .any(|l| l.split_whitespace().nth(1) == Some("cuse"))
    });
    if probe.exists("/sys/module/cuse") || misc_has_cuse {
        r.ok("cuse module", "loaded");
    } else {
        r.problem(
            "cuse module",
            "not loaded",
            "`modprobe cuse` (the kernel needs CONFIG_CUSE); to load it at boot, \
             `echo cuse > /etc/modules-load.d/ossd.conf` (scripts/install and the Debian package do)",
        );
    }
    let cuse = settings.cuse.to_string_lossy();
    match probe.open_rw(&cuse) {
        Ok(()) => r.ok(&cuse, "opens read-write"),
        Err(e) => match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => {
                r.problem(&cuse, "missing", "`modprobe cuse`")
            }
            Some(libc::EACCES) | Some(libc::EPERM) => r.problem(
                &cuse,
                format!("cannot open it read-write: {e}"),
                c.root_hint,
            ),
            _ => r.problem(
                &cuse,
                format!("cannot open it read-write: {e}"),
                c.root_hint,
            ),
        },
    }
}

/// Who else makes OSS nodes: the kernel's emulation, osspd, another CUSE
/// program, or a leftover file, for each node ossd would make.
fn check_oss_nodes(c: &Context<'_>, r: &mut CheckReport) {
    let (probe, settings) = (c.probe, c.settings);
    let emulation: Vec<&str> = ["snd_pcm_oss", "snd_mixer_oss"]
        .into_iter()
        .filter(|m| probe.exists(&format!("/sys/module/{m}")))
        .collect();
    let unload = "unload it: `modprobe -r snd-pcm-oss snd-mixer-oss`, and keep it from \
                  loading: `printf 'blacklist snd-pcm-oss\\nblacklist snd-mixer-oss\\n' \
                  > /etc/modprobe.d/ossd.conf`";
    if emulation.is_empty() {
        r.ok("kernel OSS emulation", "not loaded");
    } else {
        let names: Vec<String> = emulation.iter().map(|m| m.replace('_', "-")).collect();
        r.problem(
            "kernel OSS emulation",
            format!(
                "{} loaded: it takes /dev/dsp and /dev/mixer",
                names.join(" and ")
            ),
            unload,
        );
    }
    for (_, node) in settings.nodes() {
        let name = format!("/dev/{node}");
        if probe.exists(&format!("/sys/class/sound/{node}")) {
            r.problem(&name, "taken by the kernel's OSS emulation", unload);
        } else if probe.exists(&format!("/sys/class/cuse/{node}")) {
            if c.running("osspd") {
                r.problem(
                    &name,
                    "served by osspd",
                    "stop it: `systemctl disable --now osspd`",
                );
            } else if c.ossd_running {
                r.note(
                    &name,
                    "served by a running ossd",
                    "stop it before starting another (`systemctl stop ossd`)",
                );
            } else {
                r.problem(
                    &name,
                    "served by another CUSE program",
                    format!("find it (`ls /sys/class/cuse/`) and stop it, or set another name (`{node}` key)"),
                );
            }
        } else if probe.exists(&name) {
            r.problem(
                &name,
                "exists, but no driver provides it (a leftover file?)",
                format!("remove it: `rm {name}`"),
            );
        } else {
            r.ok(&name, "free");
        }
    }
}

/// The sound card: the ALSA cards, the playback devices and the capture
/// devices (with their fallbacks).
fn check_sound_card(c: &Context<'_>, r: &mut CheckReport) {
    let (probe, settings) = (c.probe, c.settings);
    let cards = probe.read("/proc/asound/cards").map(|t| parse_cards(&t));
    match &cards {
        None => r.problem(
            "ALSA cards",
            "no /proc/asound/cards: this kernel has no ALSA",
            "load the sound driver (`aplay -l` lists cards; in a VM: `modprobe snd-dummy`)",
        ),
        Some(c) if c.is_empty() => r.problem(
            "ALSA cards",
            "none",
            "is the sound driver loaded? (`aplay -l` lists cards; in a VM: `modprobe snd-dummy` or `snd-aloop`)",
        ),
        Some(c) => r.ok("ALSA cards", c.join(", ")),
    }
    let card_list = cards.as_deref().unwrap_or_default().join(", ");
    let plan = output_plan(c);
    let playback = match (plan.devices.as_slice(), probe.first_playback_device()) {
        ([card], Err(e)) if settings.device.is_empty() && !card.starts_with(SERVER_PREFIX) => {
            Err(e)
        }
        (list, _) => Ok(list.to_vec()),
    };
    match &playback {
        Ok(list) => {
            for (i, d) in list.iter().enumerate() {
                let item = match d.strip_prefix(SERVER_PREFIX) {
                    Some(address) => server_item(probe, address, settings),
                    None => pcm_item(probe, d, false, c.ossd_running, &card_list),
                };
                r.items.push(fallback(item, i, "plays"));
            }
        }
        Err(e) => r.problem(
            "playback device",
            e.clone(),
            "name a playable device with `device = \"hw:N,0\"` or --device",
        ),
    }
    // Recording opens when the first reader comes. Without capture on the
    // card only recording fails: a note, unless a capture device was named.
    // (A sound server is played through, not recorded from.)
    let captures = playback.as_deref().map_or(Vec::new(), |p| {
        let cards: Vec<String> = p
            .iter()
            .filter(|d| !d.starts_with(SERVER_PREFIX))
            .cloned()
            .collect();
        settings.capture(&cards)
    });
    for (i, d) in captures.iter().enumerate() {
        let mut item = pcm_item(probe, d, true, c.ossd_running, &card_list);
        if i == 0 && settings.capture_device.is_empty() && item.status == Status::Problem {
            item.status = Status::Note;
            item.detail = format!("{d} cannot record: /dev/{} will only play", settings.dsp);
            item.fix = Some(format!(
                "for recording name a card with `capture_device = \"hw:N,0\"` (cards here: \
                 {card_list}); `capture_device = \"none\"` turns recording off"
            ));
        }
        r.items.push(fallback(item, i, "records"));
    }
}

/// Where the output goes ([`desktop::plan`]), as ossd would decide now.
fn output_plan(c: &Context<'_>) -> desktop::Plan {
    let (probe, settings) = (c.probe, c.settings);
    let first_card = probe
        .first_playback_device()
        .unwrap_or_else(|_| "hw:0,0".into());
    let user = settings
        .user
        .as_deref()
        .map(|u| (u, probe.user(u).ok().flatten().map(|i| i.uid)));
    let servers = probe.sound_servers();
    desktop::plan(&desktop::Inputs {
        devices: &settings.device,
        server: &settings.server,
        user,
        servers: &servers,
        active_uid: probe.active_uid(),
        first_card: &first_card,
        uid: if probe.is_root() {
            0
        } else {
            nix::unistd::geteuid().as_raw()
        },
    })
}

/// The sessions' sound servers, and whether ossd plays through one.
fn check_sound_server(c: &Context<'_>, r: &mut CheckReport) {
    let plan = output_plan(c);
    let servers = c.probe.sound_servers();
    match plan.notes.first() {
        Some((true, note)) => r.note(
            "sound server",
            note.clone(),
            "ossd plays to the card, which that server may hold (see README: \
             \"On a desktop with PipeWire or PulseAudio\")",
        ),
        Some((false, note)) => r.ok("sound server", note.clone()),
        None if servers.is_empty() => r.ok("sound server", "none runs"),
        None => {
            let names: Vec<String> = servers.iter().map(ToString::to_string).collect();
            let how = match &c.settings.server {
                Server::None => "server = \"none\"",
                _ => "a `device` is named",
            };
            r.ok(
                "sound server",
                format!("{} runs; not played through ({how})", names.join(", ")),
            )
        }
    }
}

/// A sound server in the device list: does it answer?
fn server_item(probe: &dyn Probe, address: &str, settings: &Settings) -> CheckItem {
    let item = |status, detail: String, fix: Option<String>| CheckItem {
        status,
        name: "playback device".to_owned(),
        detail,
        fix,
    };
    match probe.reach_server(address) {
        Ok(()) => item(
            Status::Ok,
            format!("the sound server at {address} answers"),
            None,
        ),
        // ossd chose it: the session's server, which starts when the user
        // logs in.
        Err(e) if settings.server == Server::Auto => item(
            Status::Note,
            format!("no sound server at {address} now ({e})"),
            Some("nothing to do: ossd plays to the card until the session's server starts".into()),
        ),
        Err(e) => item(
            Status::Problem,
            format!("cannot reach the sound server at {address}: {e}"),
            Some(
                "start it, or check `server`; over TCP the server must load \
                 module-native-protocol-tcp, and ossd's unit must be let onto the network \
                 (README: \"On a desktop with PipeWire or PulseAudio\")"
                    .into(),
            ),
        ),
    }
}

/// Installation: the udev rule.
fn check_installation(c: &Context<'_>, r: &mut CheckReport) {
    let (probe, settings) = (c.probe, c.settings);
    match UDEV_DIRS
        .iter()
        .map(|d| format!("{d}/{UDEV_RULE}"))
        .find(|p| probe.exists(p))
    {
        Some(p) => r.ok("udev rule", p),
        None => r.problem(
            "udev rule",
            format!("no {UDEV_RULE}: /dev/{} will be root-only", settings.dsp),
            format!(
                "install udev-rules/{UDEV_RULE} into /etc/udev/rules.d/ and run \
                 `udevadm control --reload` (scripts/install and the Debian package do)"
            ),
        ),
    }
}

/// The user it runs as: it exists, and is in the audio group.
fn check_user(c: &Context<'_>, r: &mut CheckReport) {
    let (probe, settings) = (c.probe, c.settings);
    let useradd = |u: &str| format!("`useradd --system --no-create-home --groups audio {u}`");
    match settings.user.as_deref() {
        Some("root") => r.note(
            "user",
            "stays root (user = \"root\")",
            format!(
                "a system user is safer: {} and user = \"ossd\"",
                useradd("ossd")
            ),
        ),
        configured => {
            let name = configured.unwrap_or(crate::system::DEFAULT_USER);
            match probe.user(name) {
                Err(e) => r.problem(
                    "user",
                    format!("cannot look up `{name}`: {e}"),
                    "check /etc/nsswitch.conf",
                ),
                Ok(None) if configured.is_none() => r.note(
                    "user",
                    format!("no user `{name}`: ossd will stay root"),
                    format!("create it: {}", useradd(name)),
                ),
                Ok(None) => r.problem(
                    "user",
                    format!("user `{name}` does not exist"),
                    format!("create it: {}, or set user = \"root\"", useradd(name)),
                ),
                Ok(Some(UserInfo { in_audio: None, .. })) => r.problem(
                    "user",
                    "there is no `audio` group (the sound devices' group)",
                    format!("`groupadd --system audio && usermod -aG audio {name}`"),
                ),
                Ok(Some(UserInfo {
                    in_audio: Some(false),
                    ..
                })) => r.problem(
                    "user",
                    format!("`{name}` is not in the audio group: it cannot reopen the card"),
                    format!("`usermod -aG audio {name}`"),
                ),
                Ok(Some(UserInfo { uid, .. })) => {
                    r.ok("user", format!("{name} (uid {uid}), in group audio"))
                }
            }
        }
    }
}

/// State and scheduling: the mixer state's directory, real-time priority.
fn check_state_and_scheduling(c: &Context<'_>, r: &mut CheckReport) {
    let (probe, settings) = (c.probe, c.settings);
    match settings.state_file.as_deref().and_then(Path::parent) {
        None => r.ok(
            "mixer state",
            "not kept (no state_file; under systemd it goes in StateDirectory=)",
        ),
        Some(dir) if probe.exists(&dir.to_string_lossy()) => {
            r.ok("mixer state", format!("kept in {}", dir.display()))
        }
        Some(dir) => r.note(
            "mixer state",
            format!("{} does not exist yet", dir.display()),
            "ossd makes it at start (as root, before it drops privileges)",
        ),
    }
    if settings.rt {
        match probe.try_realtime(settings.rt_priority) {
            Ok(()) => r.ok(
                "real-time",
                format!("SCHED_FIFO priority {} allowed", settings.rt_priority),
            ),
            Err(e) => r.note("real-time", "refused: ossd will run without it", e),
        }
    }
}

/// What an installation (scripts/install, the Debian package) adds besides
/// the udev rule: the unit, `cuse` at boot, and ossd-run with its libraries.
/// A missing one is a note: ossd started by hand works without them.
fn check_unit_and_ossd_run(c: &Context<'_>, r: &mut CheckReport) {
    let probe = c.probe;
    let how = "install it: `sudo scripts/install`, or the Debian package (scripts/build-deb)";
    let unit = UNIT_DIRS
        .iter()
        .map(|d| format!("{d}/ossd.service"))
        .find(|p| probe.exists(p));
    match unit {
        Some(p) if probe.exists(UNIT_ENABLED) => r.ok("systemd unit", format!("{p}, enabled")),
        Some(p) => r.note(
            "systemd unit",
            format!("{p} is not enabled: ossd does not start at boot"),
            "`systemctl enable --now ossd`",
        ),
        None => r.note(
            "systemd unit",
            "no ossd.service: ossd runs only when started by hand",
            how,
        ),
    }

    let loads_cuse = |p: &&&str| {
        probe
            .read(p)
            .is_some_and(|t| t.lines().any(|l| l.trim() == "cuse"))
    };
    match MODULES_LOAD.iter().find(loads_cuse) {
        Some(p) => r.ok("cuse at boot", format!("loaded by {p}")),
        None => r.note(
            "cuse at boot",
            "nothing loads cuse at boot (ossd.service loads it when it starts)",
            format!(
                "`echo cuse > {}`; scripts/install and the Debian package do",
                MODULES_LOAD[0]
            ),
        ),
    }

    let Some(exe) = probe.exe() else { return };
    let found = ossd_run_roots(&exe)
        .into_iter()
        .find(|root| probe.exists(&root.join("bin/ossd-run").to_string_lossy()));
    let Some(root) = found else {
        r.note(
            "ossd-run",
            format!(
                "no ossd-run beside {}: games that mmap /dev/dsp get no mmap",
                exe.display()
            ),
            how,
        );
        return;
    };
    let missing: Vec<String> = PRELOAD_LIBS
        .iter()
        .map(|(dir, who)| (root.join(dir).join("libossd-run.so"), who))
        .filter(|(lib, _)| !probe.exists(&lib.to_string_lossy()))
        .map(|(lib, who)| format!("no {}: {who} get no mmap under it", lib.display()))
        .collect();
    let run = root.join("bin/ossd-run");
    if missing.is_empty() {
        r.ok(
            "ossd-run",
            format!(
                "{}, its library for 64-bit and 32-bit programs",
                run.display()
            ),
        );
    } else {
        r.note(
            "ossd-run",
            format!("{}, but {}", run.display(), missing.join("; ")),
            "build with gcc and gcc-multilib installed (`apt-get install gcc gcc-multilib`, \
             then `cargo build`), and install again",
        );
    }
}

/// Where ossd-run may be for the ossd at `exe`: installed, one directory up
/// (/usr/bin/ossd: /usr/bin/ossd-run and /usr/$LIB/libossd-run.so); in a
/// build tree, under the target directory (target/release/ossd:
/// target/ossd-run/bin/ossd-run).
fn ossd_run_roots(exe: &Path) -> Vec<PathBuf> {
    let Some(up) = exe.parent().and_then(Path::parent) else {
        return Vec::new();
    };
    vec![up.to_path_buf(), up.join("ossd-run")]
}

/// Device `i` of a list: past the first it is a fallback, and its absence
/// is only a note (ossd plays or records on it only while the ones before
/// it are missing).
fn fallback(mut item: CheckItem, i: usize, does: &str) -> CheckItem {
    if i > 0 {
        item.name = format!("fallback {}", item.name);
        if item.status == Status::Problem && item.detail.contains(" is absent: ") {
            item.status = Status::Note;
            item.fix = Some(format!(
                "nothing to do: ossd {does} on it when the devices before it are missing"
            ));
        }
    }
    item
}

fn pcm_item(
    probe: &dyn Probe,
    device: &str,
    capture: bool,
    ossd_running: bool,
    cards: &str,
) -> CheckItem {
    let (name, key) = if capture {
        ("capture device", "capture_device")
    } else {
        ("playback device", "device")
    };
    let item = |status, detail: String, fix: Option<String>| CheckItem {
        status,
        name: name.to_owned(),
        detail,
        fix,
    };
    let Err(e) = probe.open_pcm(device, capture) else {
        return item(Status::Ok, format!("{device} opens"), None);
    };
    if e.errno == libc::EBUSY && !ossd_running {
        let who = probe.held_by(device, capture);
        let server = SERVER_PROGRAMS
            .iter()
            .any(|p| who.contains(&format!("{p} (pid")));
        return item(
            Status::Problem,
            format!("{device} is busy: {who}"),
            Some(if server {
                "that is a desktop's sound server: play through it (leave out `device`, or \
                 server = \"auto\"); ossd waits for a busy card and takes it when it is free"
                    .into()
            } else {
                "stop that program, or pick another card; ossd waits for a busy card and \
                 takes it when it is free"
                    .into()
            }),
        );
    }
    let detail = format!("{device} does not open: {}", e.message);
    match e.errno {
        libc::EBUSY if ossd_running => item(
            Status::Note,
            format!("{device} is busy: held by the running ossd?"),
            Some("nothing to do if it is; else `fuser -v /dev/snd/*` shows who holds it".into()),
        ),
        libc::EACCES | libc::EPERM => item(
            Status::Problem,
            detail,
            Some("run ossd as root (it opens the card before dropping privileges)".into()),
        ),
        libc::ENOENT | libc::ENODEV | libc::ENXIO => item(
            Status::Problem,
            format!("{device} is absent: {}", e.message),
            Some(format!(
                "plug the card in or load its driver (ossd starts without it, on a stand-in \
                 clock, and uses it when it appears); or pick a card with `{key} = \"hw:N,0\"`; \
                 cards here: {cards}"
            )),
        ),
        _ => item(
            Status::Problem,
            detail,
            Some(format!(
                "pick a card with `{key} = \"hw:N,0\"`; cards here: {cards}"
            )),
        ),
    }
}

/// `hw:N (name)` for each card in /proc/asound/cards.
fn parse_cards(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (num, rest) = l.trim_start().split_once(' ')?;
            let n: u32 = num.parse().ok()?;
            let rest = rest.trim_start().strip_prefix('[')?;
            let (_, desc) = rest.split_once("]: ")?;
            let name = desc.split_once(" - ").map_or(desc, |(_, n)| n).trim();
            Some(format!("hw:{n} ({name})"))
        })
        .collect()
}

#[cfg(test)]
mod tests;
