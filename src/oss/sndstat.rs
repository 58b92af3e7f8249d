//! /dev/sndstat: the status text a person reads with `cat /dev/sndstat`.
//!
//! This module owns the *text*: what it says and how it is laid out, in the
//! OSS/FreeBSD sndstat style (a version line, the audio devices, the mixer,
//! the open clients). The daemon gathers the facts into a [`SndstatInfo`]
//! and serves [`render`]'s result as the file's contents. The only I/O is
//! [`command_of`], which reads a client's command name from `/proc`.
//!
//! The text is ASCII only and every line ends without trailing spaces: any
//! free text (command names, SETNAME names, device names) has control and
//! non-ASCII characters replaced by `?` ([`sanitize`]). Fields that vary in
//! width are padded into columns, numbers right-aligned.
//!
//! ```text
//! OSS sound system: ossd 0.1.0 (CUSE, mixing in userspace; OSS API 4.1)
//! Audio devices:
//! 0: hw:Loopback,0,0 playback S16_LE 48000 Hz 2 ch, period 1024 frames, buffer 4096 frames, 0 underruns
//!    hw:Loopback,1,0 capture  S16_LE 48000 Hz 2 ch, period 1024 frames, buffer 4096 frames, 0 overruns
//! Mixer: volume 100:100, pcm 100:100
//! Clients (2 open):
//!   pid  1234 (mpg123)  dsp play   S16_LE 2 ch 44100 Hz, 4 x 4096 B fragments, volume 100:100, 0 underruns
//!   pid 12500 (arecord) dsp record S16_LE 1 ch  8000 Hz, 2 x  512 B fragments, volume 80:80,   0 overruns
//! Since start: 7 clients served, 0 device underruns
//! ```
//!
//! A device that went away keeps its line, marked `(missing: playing on a
//! stand-in clock)` (or `recording silence`), and the last line counts the
//! frames the stand-in took in its place.

use std::fmt::Write as _;

use crate::oss::dsp::Volume;
use crate::oss::soundcard::SOUND_VERSION;

/// Everything /dev/sndstat shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SndstatInfo {
    /// ossd's version, e.g. `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    /// The ALSA devices behind /dev/dsp (all of them are OSS device 0).
    pub devices: Vec<DeviceLine>,
    /// The open files of /dev/dsp.
    pub clients: Vec<ClientLine>,
    /// The mixer's (VOLUME, PCM), if there is a mixer.
    pub mixer: Option<(Volume, Volume)>,
    pub totals: Totals,
}

/// One ALSA stream the daemon runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLine {
    /// "playback" or "capture".
    pub role: &'static str,
    /// The ALSA PCM name, e.g. "hw:Loopback,0,0".
    pub alsa_name: String,
    /// The sample format's name, e.g. "S16_LE".
    pub format: &'static str,
    pub rate: u32,
    pub channels: u32,
    pub period_frames: u32,
    pub buffer_frames: u32,
    /// Underruns (playback) or overruns (capture) of the device.
    pub xruns: u64,
    /// The device is missing; what stands in for it.
    pub missing: Option<&'static str>,
}

/// One open file of /dev/dsp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLine {
    /// The node it opened, e.g. "dsp".
    pub node: String,
    pub pid: u32,
    /// The program's command name (see [`command_of`]); empty if unknown.
    pub command: String,
    /// "play", "record" or "duplex".
    pub direction: &'static str,
    /// The sample format's name, e.g. "S16_LE".
    pub format: &'static str,
    pub channels: u32,
    pub rate: u32,
    /// Fragment size in bytes.
    pub frag_size: usize,
    /// Number of fragments.
    pub frags: usize,
    /// SETPLAYVOL (or SETRECVOL for a recording).
    pub volume: Volume,
    pub underruns: u32,
    pub overruns: u32,
    /// What the program called itself with SNDCTL_SETNAME; may be empty.
    pub name: String,
}

/// Counters over the daemon's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Opens of /dev/dsp since start.
    pub clients_served: u64,
    /// Playback underruns of the device since start.
    pub device_underruns: u64,
    /// Frames played to the stand-in clock while the output device was
    /// missing (their sound was lost).
    pub standin_frames: u64,
    /// Frames mixed and dropped while the device stood still (underruns, a
    /// device being opened), so that clients kept real time.
    pub skipped_frames: u64,
}

/// The text of /dev/sndstat (see the module doc for an example).
pub fn render(info: &SndstatInfo) -> String {
    let mut out = String::new();
    let major = SOUND_VERSION >> 16;
    let minor = (SOUND_VERSION >> 8) & 0xff;
    line(
        &mut out,
        &format!(
            "OSS sound system: ossd {} (CUSE, mixing in userspace; OSS API {major}.{minor})",
            sanitize(&info.version)
        ),
    );

    line(&mut out, "Audio devices:");
    if info.devices.is_empty() {
        line(&mut out, "   no devices");
    }
    let rows: Vec<Vec<Cell>> = info
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let what = if d.role == "capture" {
                "overrun"
            } else {
                "underrun"
            };
            vec![
                Cell::text(if i == 0 { "0:" } else { "" }),
                Cell::text(sanitize(&d.alsa_name)),
                Cell::text(sanitize(d.role)),
                Cell::text(sanitize(d.format)),
                Cell::num(d.rate),
                Cell::text("Hz"),
                Cell::num(d.channels),
                Cell::text("ch, period"),
                Cell::num(d.period_frames),
                Cell::text("frames, buffer"),
                Cell::num(d.buffer_frames),
                Cell::text("frames,"),
                Cell::text(match d.missing {
                    None => count(d.xruns, what, &format!("{what}s")),
                    Some(m) => format!(
                        "{} (missing: {})",
                        count(d.xruns, what, &format!("{what}s")),
                        sanitize(m)
                    ),
                }),
            ]
        })
        .collect();
    table(&mut out, "", &rows);

    match info.mixer {
        Some((vol, pcm)) => line(
            &mut out,
            &format!("Mixer: volume {}, pcm {}", level(vol), level(pcm)),
        ),
        None => line(&mut out, "Mixer: none"),
    }

    line(&mut out, &format!("Clients ({} open):", info.clients.len()));
    if info.clients.is_empty() {
        line(&mut out, "  no clients");
    }
    let rows: Vec<Vec<Cell>> = info.clients.iter().map(client_row).collect();
    table(&mut out, "  ", &rows);

    line(
        &mut out,
        &format!(
            "Since start: {}, {}",
            count(
                info.totals.clients_served,
                "client served",
                "clients served"
            ),
            count(
                info.totals.device_underruns,
                "device underrun",
                "device underruns"
            ),
        ),
    );
    if info.totals.skipped_frames > 0 {
        line(
            &mut out,
            &format!(
                "Skipped while the device stood still: {}",
                count(
                    info.totals.skipped_frames,
                    "frame (clients kept real time)",
                    "frames (clients kept real time)"
                )
            ),
        );
    }
    if info.totals.standin_frames > 0 {
        line(
            &mut out,
            &format!(
                "Lost while the device was missing: {}",
                count(
                    info.totals.standin_frames,
                    "frame played to the stand-in clock",
                    "frames played to the stand-in clock"
                )
            ),
        );
    }
    out
}

/// The cells of one client's line.
fn client_row(c: &ClientLine) -> Vec<Cell> {
    let command = match sanitize(&c.command) {
        s if s.is_empty() => "?".to_string(),
        s => s,
    };
    let mut errors = match c.direction {
        "play" => count(c.underruns, "underrun", "underruns"),
        "record" => count(c.overruns, "overrun", "overruns"),
        _ => format!(
            "{}, {}",
            count(c.underruns, "underrun", "underruns"),
            count(c.overruns, "overrun", "overruns")
        ),
    };
    if !c.name.is_empty() {
        let _ = write!(errors, ", name \"{}\"", sanitize(&c.name));
    }
    vec![
        Cell::text("pid"),
        Cell::num(c.pid),
        Cell::text(format!("({command})")),
        Cell::text(sanitize(&c.node)),
        Cell::text(sanitize(c.direction)),
        Cell::text(sanitize(c.format)),
        Cell::num(c.channels),
        Cell::text("ch"),
        Cell::num(c.rate),
        Cell::text("Hz,"),
        Cell::num(c.frags),
        Cell::text("x"),
        Cell::num(c.frag_size),
        Cell::text("B fragments, volume"),
        Cell::text(format!("{},", level(c.volume))),
        Cell::text(errors),
    ]
}

/// The command name of process `pid`, from `/proc/<pid>/comm` (trimmed), or
/// `None` if the process is gone or cannot be read. Not sanitized: [`render`]
/// does that.
pub fn command_of(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Whether process `pid` is being killed by a signal: PF_EXITING in the
/// flags of /proc/PID/stat (set from the start of its exit, while the
/// kernel closes its files) and a signal in its exit code (field 52, set
/// before the files are closed; a normal exit has none there, and ossd
/// running as another user sees 0); or, before its exit begins, a SIGKILL
/// pending (the kernel adds one to every thread of a process that any
/// fatal signal is killing; /proc/PID/status shows it to every user, while
/// the process still waits in a close). Unknown (no such process, /proc
/// not readable): not.
pub fn killed(pid: u32) -> bool {
    let dying = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| killed_by_stat(&stat));
    dying
        || std::fs::read_to_string(format!("/proc/{pid}/status"))
            .is_ok_and(|status| sigkill_pending(&status))
}

/// A SIGKILL in the pending sets (thread's or shared) of a /proc status.
fn sigkill_pending(status: &str) -> bool {
    const SIGKILL: u64 = 1 << (libc::SIGKILL - 1);
    status.lines().any(|line| {
        let Some((key, mask)) = line.split_once(':') else {
            return false;
        };
        matches!(key, "SigPnd" | "ShdPnd")
            && u64::from_str_radix(mask.trim(), 16).is_ok_and(|m| m & SIGKILL != 0)
    })
}

fn killed_by_stat(stat: &str) -> bool {
    const PF_EXITING: u64 = 0x4;
    // The command (field 2) is in parentheses and may hold spaces and
    // parentheses itself: count the fields after its last ')'.
    let Some(end) = stat.rfind(')') else {
        return false;
    };
    let fields: Vec<&str> = stat[end + 1..].split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    match (field(9), field(52)) {
        (Some(flags), Some(code)) => flags & PF_EXITING != 0 && code & 0x7f != 0,
        _ => false,
    }
}

/// `s` with every character that is not printable ASCII (control characters,
/// DEL, anything non-ASCII) replaced by `?`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// `left:right`.
fn level(v: Volume) -> String {
    format!("{}:{}", v.left, v.right)
}

/// "1 underrun", "2 underruns": `n` and the noun phrase in its number.
fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Appends `s` as a line, without trailing spaces.
fn line(out: &mut String, s: &str) {
    out.push_str(s.trim_end());
    out.push('\n');
}

/// One table cell: text padded on the right, or a number padded on the left.
struct Cell {
    text: String,
    right: bool,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            right: false,
        }
    }

    fn num(n: impl std::fmt::Display) -> Cell {
        Cell {
            text: n.to_string(),
            right: true,
        }
    }
}

/// Appends `rows` as lines starting with `indent`, each column padded to its
/// widest cell and columns separated by one space; a column that is empty
/// in every row is left out.
fn table(out: &mut String, indent: &str, rows: &[Vec<Cell>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.text.len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .filter(|(_, &w)| w > 0)
            .map(|(cell, &w)| {
                if cell.right {
                    format!("{:>w$}", cell.text)
                } else {
                    format!("{:<w$}", cell.text)
                }
            })
            .collect();
        line(out, &format!("{indent}{}", cells.join(" ")));
    }
}

#[cfg(test)]
mod killed_tests {
    use super::*;

    /// A /proc/PID/stat line with `flags` and `exit_code`, and an odd
    /// command name.
    fn stat(flags: u64, exit_code: u64) -> String {
        let mut f: Vec<String> = (3..=52).map(|_| "0".to_string()).collect();
        f[0] = "D".into();
        f[9 - 3] = flags.to_string();
        f[52 - 3] = exit_code.to_string();
        format!("4242 (a) b (c)) {}", f.join(" "))
    }

    #[test]
    fn killed_means_exiting_with_a_signal_in_the_exit_code() {
        assert!(killed_by_stat(&stat(0x4 | 0x40_0000, 9)));
        // Returning from main (exit status 0 or 1): its close drains.
        assert!(!killed_by_stat(&stat(0x4, 0)));
        assert!(!killed_by_stat(&stat(0x4, 1 << 8)));
        // Alive; garbage.
        assert!(!killed_by_stat(&stat(0x40_0000, 0)));
        assert!(!killed_by_stat("garbage"));
        assert!(!killed(std::process::id()));
    }

    #[test]
    fn a_pending_sigkill_is_seen_in_either_pending_set() {
        let status = |sig: &str, shd: &str| {
            format!("Name:\tcat\nState:\tD (disk sleep)\nSigPnd:\t{sig}\nShdPnd:\t{shd}\nSigBlk:\t0000000000000000\n")
        };
        assert!(sigkill_pending(&status(
            "0000000000000100",
            "0000000000000000"
        )));
        assert!(sigkill_pending(&status(
            "0000000000000000",
            "0000000000004100"
        )));
        // SIGTERM (caught, say) or SIGINT pending only; nothing; garbage.
        assert!(!sigkill_pending(&status(
            "0000000000004000",
            "0000000000000002"
        )));
        assert!(!sigkill_pending(&status(
            "0000000000000000",
            "0000000000000000"
        )));
        assert!(!sigkill_pending("SigPnd:\tzz\n"));
        // Blocked SIGKILL bits are no pending signal.
        assert!(!sigkill_pending("SigBlk:\t0000000000000100\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(role: &'static str, name: &str, xruns: u64) -> DeviceLine {
        DeviceLine {
            role,
            alsa_name: name.into(),
            format: "S16_LE",
            rate: 48000,
            channels: 2,
            period_frames: 1024,
            buffer_frames: 4096,
            xruns,
            missing: None,
        }
    }

    fn client(pid: u32, command: &str, direction: &'static str) -> ClientLine {
        ClientLine {
            node: "dsp".into(),
            pid,
            command: command.into(),
            direction,
            format: "S16_LE",
            channels: 2,
            rate: 44100,
            frag_size: 4096,
            frags: 4,
            volume: Volume::FULL,
            underruns: 0,
            overruns: 0,
            name: String::new(),
        }
    }

    fn example() -> SndstatInfo {
        let mut rec = client(12500, "arecord", "record");
        rec.channels = 1;
        rec.rate = 8000;
        rec.frag_size = 512;
        rec.frags = 2;
        rec.volume = Volume {
            left: 80,
            right: 80,
        };
        rec.overruns = 1;
        let mut duplex = client(77, "voip", "duplex");
        duplex.format = "U8";
        duplex.underruns = 3;
        duplex.name = "Call with Bob".into();
        SndstatInfo {
            version: "0.1.0".into(),
            devices: vec![
                device("playback", "hw:Loopback,0,0", 0),
                device("capture", "hw:Loopback,1,0", 2),
            ],
            clients: vec![client(1234, "mpg123", "play"), rec, duplex],
            mixer: Some((
                Volume::FULL,
                Volume {
                    left: 75,
                    right: 50,
                },
            )),
            totals: Totals {
                clients_served: 7,
                device_underruns: 1,
                standin_frames: 0,
                skipped_frames: 0,
            },
        }
    }

    #[test]
    fn golden() {
        let expected = "\
OSS sound system: ossd 0.1.0 (CUSE, mixing in userspace; OSS API 4.1)
Audio devices:
0: hw:Loopback,0,0 playback S16_LE 48000 Hz 2 ch, period 1024 frames, buffer 4096 frames, 0 underruns
   hw:Loopback,1,0 capture  S16_LE 48000 Hz 2 ch, period 1024 frames, buffer 4096 frames, 2 overruns
Mixer: volume 100:100, pcm 75:50
Clients (3 open):
  pid  1234 (mpg123)  dsp play   S16_LE 2 ch 44100 Hz, 4 x 4096 B fragments, volume 100:100, 0 underruns
  pid 12500 (arecord) dsp record S16_LE 1 ch  8000 Hz, 2 x  512 B fragments, volume 80:80,   1 overrun
  pid    77 (voip)    dsp duplex U8     2 ch 44100 Hz, 4 x 4096 B fragments, volume 100:100, 3 underruns, 0 overruns, name \"Call with Bob\"
Since start: 7 clients served, 1 device underrun
";
        assert_eq!(render(&example()), expected);
    }

    #[test]
    fn empty_lists() {
        let info = SndstatInfo {
            version: "0.1.0".into(),
            devices: Vec::new(),
            clients: Vec::new(),
            mixer: None,
            totals: Totals::default(),
        };
        assert_eq!(
            render(&info),
            "\
OSS sound system: ossd 0.1.0 (CUSE, mixing in userspace; OSS API 4.1)
Audio devices:
   no devices
Mixer: none
Clients (0 open):
  no clients
Since start: 0 clients served, 0 device underruns
"
        );
    }

    #[test]
    fn one_device_one_client() {
        let mut info = example();
        info.devices.truncate(1);
        info.clients.truncate(1);
        let text = render(&info);
        assert!(text.contains(
            "Audio devices:\n0: hw:Loopback,0,0 playback S16_LE 48000 Hz 2 ch, \
             period 1024 frames, buffer 4096 frames, 0 underruns\nMixer:"
        ));
        assert!(text.contains(
            "Clients (1 open):\n  pid 1234 (mpg123) dsp play S16_LE 2 ch 44100 Hz, \
             4 x 4096 B fragments, volume 100:100, 0 underruns\nSince"
        ));
    }

    #[test]
    fn sanitizing() {
        assert_eq!(sanitize("mpg123"), "mpg123");
        assert_eq!(sanitize("a b-c_d.e"), "a b-c_d.e");
        assert_eq!(sanitize("bad\nname\t\x1b[31m\x7f"), "bad?name??[31m?");
        assert_eq!(sanitize("h\u{e9}llo \u{1f3b5}"), "h?llo ?");
        assert_eq!(sanitize(""), "");

        let mut info = example();
        info.clients.truncate(1);
        info.clients[0].command = "ev\u{e9}l\r\nInjected: 1".into();
        info.clients[0].name = "\u{1b}]0;title\u{7}".into();
        info.devices[0].alsa_name = "hw:\u{0}x".into();
        info.version = "1.0\n".into();
        let text = render(&info);
        assert!(text.contains("(ev?l??Injected: 1)"), "{text}");
        assert!(text.contains("name \"?]0;title?\""), "{text}");
        assert!(text.contains("0: hw:?x "), "{text}");
        assert!(
            text.starts_with("OSS sound system: ossd 1.0? (CUSE"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 8);
        check_shape(&text);
    }

    #[test]
    fn unknown_command() {
        let mut info = example();
        info.clients[0].command.clear();
        assert!(render(&info).contains("pid  1234 (?)"));
    }

    /// ASCII, no trailing spaces, one final newline.
    fn check_shape(text: &str) {
        assert!(text.is_ascii());
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"));
        for l in text.lines() {
            assert_eq!(l, l.trim_end(), "trailing space in {l:?}");
            assert!(!l.chars().any(|c| c.is_ascii_control()), "{l:?}");
        }
    }

    #[test]
    fn shape_of_all_renderings() {
        check_shape(&render(&example()));
        let mut info = example();
        info.clients[1].name = "   ".into();
        info.clients[2].command = "   ".into();
        check_shape(&render(&info));
    }

    #[test]
    fn a_missing_device_is_marked_and_the_lost_frames_counted() {
        let mut info = example();
        info.clients.clear();
        info.devices[0].missing = Some("playing on a stand-in clock");
        info.devices[1].missing = Some("recording silence");
        info.totals.standin_frames = 96000;
        let text = render(&info);
        assert!(
            text.contains(
                "0: hw:Loopback,0,0 playback S16_LE 48000 Hz 2 ch, period 1024 frames, \
                 buffer 4096 frames, 0 underruns (missing: playing on a stand-in clock)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("2 overruns (missing: recording silence)\n"),
            "{text}"
        );
        assert!(text.ends_with(
            "Since start: 7 clients served, 1 device underrun\n\
             Lost while the device was missing: 96000 frames played to the stand-in clock\n"
        ));
    }

    #[test]
    fn counts_and_plurals() {
        assert_eq!(count(0u32, "underrun", "underruns"), "0 underruns");
        assert_eq!(count(1u32, "underrun", "underruns"), "1 underrun");
        assert_eq!(count(2u32, "underrun", "underruns"), "2 underruns");
        assert_eq!(
            count(u64::MAX, "client served", "clients served"),
            format!("{} clients served", u64::MAX)
        );
    }

    #[test]
    fn command_of_reads_proc() {
        let me = std::process::id();
        let comm = command_of(me).expect("our own /proc entry");
        assert!(!comm.is_empty() && !comm.ends_with('\n'));
        assert_eq!(command_of(u32::MAX), None);
    }
}
