//! The control socket's protocol: what `ossd status`, `ossd top` and
//! `ossd ctl` (and any script) say to a running daemon, and what it answers.
//! Pure: a request line goes in, a typed [`Request`] comes out; a
//! [`Status`] snapshot (gathered by the core, `Server::status`) or an
//! outcome goes in, an answer line comes out. No socket, no clock; the
//! runtime (`daemon::control`) owns the listener and the connections.
//!
//! One JSON object per line each way, versioned (see docs/control.md):
//!
//! ```text
//! {"v":1,"cmd":"status"}                      → {"v":1,"ok":true,"status":{...}}
//! {"v":1,"cmd":"status","meters":true}        → ... with each client's peak since the last ask
//! {"v":1,"cmd":"volume","fh":3,"level":50}    → {"v":1,"ok":true,"fh":3,"volume":[50,50]}
//! {"v":1,"cmd":"volume","pid":1234,"level":50}
//! {"v":1,"cmd":"mute","pid":1234} / "unmute"
//! {"v":1,"cmd":"master","level":80}           → {"v":1,"ok":true,"master":[80,80]}
//! {"v":1,"cmd":"reload"}                      → {"v":1,"ok":true}
//! {"v":1,"cmd":"device","name":"hw:Dummy,0"}  → {"v":1,"ok":true,"device":"hw:Dummy,0"}
//! anything else                               → {"v":1,"ok":false,"error":"..."}
//! ```
//!
//! Who may do what ([`may_change`]): anyone who can connect may ask for the
//! status; changes need root or membership of the socket's group.

pub mod line;
pub mod text;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use line::LineBuf;

/// The protocol's version: every request and answer carries it as `v`.
pub const VERSION: u64 = 1;

/// The longest request line taken (without its newline); a longer one is
/// answered with an error and skipped up to its newline.
pub const MAX_LINE: usize = 4096;

/// The most control connections served at once; more wait in the
/// listener's backlog until one closes.
pub const MAX_CONNECTIONS: usize = 16;

/// Which open file a change is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The file handle, as `status` lists it (`fh`): exactly one file.
    Fh(u64),
    /// Every /dev/dsp file the process opened.
    Pid(u32),
}

/// What a request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The whole status; `meters`: this connection watches the peak
    /// meters (the engine measures them while someone watches).
    Status { meters: bool },
    /// A client's SETPLAYVOL, 0..=100 on both sides.
    Volume { target: Target, level: u8 },
    /// Mute (volume 0, the old level kept) or unmute (back to it).
    Mute { target: Target, on: bool },
    /// The mixer's VOLUME, 0..=100 on both sides (as /dev/mixer sets it).
    Master { level: u8 },
    /// Read the configuration again (as SIGHUP).
    Reload,
    /// Play to this ALSA device from now on.
    Device { name: String },
    /// Record from this ALSA device from now on.
    Capture { name: String },
}

impl Request {
    /// It changes something: only for root or the socket's group.
    pub fn is_change(&self) -> bool {
        !matches!(self, Request::Status { .. })
    }

    /// Its name, for the log.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Status { .. } => "status",
            Request::Volume { .. } => "volume",
            Request::Mute { on: true, .. } => "mute",
            Request::Mute { on: false, .. } => "unmute",
            Request::Master { .. } => "master",
            Request::Reload => "reload",
            Request::Device { .. } => "device",
            Request::Capture { .. } => "capture",
        }
    }

    /// The request line a client sends (without its newline).
    pub fn to_line(&self) -> String {
        let mut v = match self {
            Request::Status { meters } => json!({"cmd": "status", "meters": meters}),
            Request::Volume { level, .. } => json!({"cmd": "volume", "level": level}),
            Request::Mute { .. } => json!({"cmd": self.name()}),
            Request::Master { level } => json!({"cmd": "master", "level": level}),
            Request::Reload => json!({"cmd": "reload"}),
            Request::Device { name } => json!({"cmd": "device", "name": name}),
            Request::Capture { name } => json!({"cmd": "capture", "name": name}),
        };
        if let Request::Volume { target, .. } | Request::Mute { target, .. } = self {
            match target {
                Target::Fh(fh) => v["fh"] = json!(fh),
                Target::Pid(pid) => v["pid"] = json!(pid),
            }
        }
        v["v"] = json!(VERSION);
        v.to_string()
    }
}

/// Reads one request line (without its newline). Never panics; the error
/// is the text of the error answer.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    let Some(o) = v.as_object() else {
        return Err("a request is a JSON object".into());
    };
    match o.get("v").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(other) => {
            return Err(format!(
                "protocol version {other} is not spoken here (v {VERSION})"
            ))
        }
        None => return Err(format!("no protocol version (\"v\":{VERSION})")),
    }
    let cmd = o
        .get("cmd")
        .and_then(Value::as_str)
        .ok_or("no \"cmd\" (status, volume, mute, unmute, master, reload, device)")?;
    let level = || -> Result<u8, String> {
        match o.get("level").and_then(Value::as_u64) {
            Some(l) if l <= 100 => Ok(l as u8),
            Some(l) => Err(format!("level {l} is out of range (0 to 100)")),
            None => Err("no \"level\" (0 to 100)".into()),
        }
    };
    let target = || -> Result<Target, String> {
        match (
            o.get("fh").and_then(Value::as_u64),
            o.get("pid").and_then(Value::as_u64),
        ) {
            (Some(fh), None) => Ok(Target::Fh(fh)),
            (None, Some(pid)) if pid <= u32::MAX as u64 => Ok(Target::Pid(pid as u32)),
            (Some(_), Some(_)) => Err("give \"fh\" or \"pid\", not both".into()),
            _ => Err("no client: give \"fh\" (from status) or \"pid\"".into()),
        }
    };
    match cmd {
        "status" => Ok(Request::Status {
            meters: o.get("meters").and_then(Value::as_bool).unwrap_or(false),
        }),
        "volume" => Ok(Request::Volume {
            target: target()?,
            level: level()?,
        }),
        "mute" | "unmute" => Ok(Request::Mute {
            target: target()?,
            on: cmd == "mute",
        }),
        "master" => Ok(Request::Master { level: level()? }),
        "reload" => Ok(Request::Reload),
        "device" | "capture" => match o.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n.len() <= 256 => Ok(if cmd == "device" {
                Request::Device { name: n.into() }
            } else {
                Request::Capture { name: n.into() }
            }),
            _ => Err("no device \"name\"".into()),
        },
        other => Err(format!(
            "unknown cmd {other:?} (status, volume, mute, unmute, master, reload, device, \
             capture)"
        )),
    }
}

/// An answer line (with its newline): `ok` and the fields of `extra` (an
/// object, or null for none).
pub fn ok_line(extra: Value) -> String {
    let mut v = json!({"v": VERSION, "ok": true});
    if let Value::Object(m) = extra {
        for (k, x) in m {
            v[k] = x;
        }
    }
    format!("{v}\n")
}

/// An error answer line (with its newline).
pub fn error_line(msg: &str) -> String {
    format!("{}\n", json!({"v": VERSION, "ok": false, "error": msg}))
}

/// The answer to a status request.
pub fn status_line(s: &Status) -> String {
    ok_line(json!({ "status": s }))
}

/// Reads an answer line: the object when `ok`, else the error's text.
pub fn parse_answer(line: &str) -> Result<Value, String> {
    let v: Value =
        serde_json::from_str(line).map_err(|e| format!("the daemon's answer is not JSON: {e}"))?;
    if v.get("ok").and_then(Value::as_bool) == Some(true) {
        Ok(v)
    } else {
        Err(v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("the daemon refused, without saying why")
            .to_string())
    }
}

/// Who is on the other end of a connection (SO_PEERCRED, and the
/// supplementary groups of that process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// Whether `peer` may change things: root, or a member of the socket's
/// group `socket_gid` (primary or supplementary).
pub fn may_change(peer: &Peer, socket_gid: u32) -> bool {
    peer.uid == 0 || peer.gid == socket_gid || peer.groups.contains(&socket_gid)
}

/// The answer to a change from someone who may not.
pub fn refused(peer: &Peer, group: &str) -> String {
    format!(
        "not allowed: changes are for root and the group {group}; uid {} is in neither \
         (`usermod -aG {group} USER`, then log in again)",
        peer.uid
    )
}

/// The daemon, a snapshot: what `status` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// ossd's version.
    pub version: String,
    pub output: DeviceStatus,
    /// The capture device, while it is open.
    pub capture: Option<DeviceStatus>,
    pub mixer: MixerStatus,
    pub clients: Vec<ClientStatus>,
    pub totals: TotalsStatus,
    /// The peak meters run (someone watches).
    pub meters: bool,
}

/// An ALSA device as the daemon has it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub name: String,
    pub format: String,
    pub rate: u32,
    pub channels: u32,
    pub period_frames: u32,
    pub buffer_frames: u32,
    /// The latency now: what is queued in the device, in ms (playback),
    /// or its buffer (capture).
    pub latency_ms: f64,
    /// Underruns (playback) or overruns (capture).
    pub xruns: u64,
    /// The device is missing; what stands in for it.
    pub missing: Option<String>,
}

/// The mixer's master controls, `[left, right]`, 0..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MixerStatus {
    pub volume: [u8; 2],
    pub pcm: [u8; 2],
}

/// One open file of /dev/dsp (or of the monitor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientStatus {
    /// The file handle: what `volume` and `mute` take as `fh`.
    pub fh: u64,
    pub pid: u32,
    /// The command name, "?" if unknown.
    pub command: String,
    /// What the program called itself (SNDCTL_SETNAME); may be empty.
    pub name: String,
    /// The node, e.g. "dsp".
    pub node: String,
    /// "play", "record" or "duplex".
    pub direction: String,
    pub format: String,
    pub rate: u32,
    pub channels: u32,
    pub frag_size: usize,
    pub frags: usize,
    /// Queued to play, in ms of the stream.
    pub queued_ms: f64,
    /// SETPLAYVOL, `[left, right]`.
    pub volume: [u8; 2],
    /// Muted over the control socket (the level it goes back to is kept).
    pub muted: bool,
    /// The peak of its sound (0..=1 of full scale) since the last ask, when
    /// the meters run.
    pub peak: Option<f64>,
    pub underruns: u32,
    pub overruns: u32,
    /// Bytes the program wrote and read.
    pub bytes_written: u64,
    pub bytes_read: u64,
    /// Seconds since it opened.
    pub open_s: f64,
}

/// Counters over the daemon's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalsStatus {
    pub clients_served: u64,
    pub device_underruns: u64,
    pub standin_frames: u64,
    pub skipped_frames: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_round_trip() {
        let all = [
            Request::Status { meters: false },
            Request::Status { meters: true },
            Request::Volume {
                target: Target::Fh(3),
                level: 50,
            },
            Request::Volume {
                target: Target::Pid(1234),
                level: 0,
            },
            Request::Mute {
                target: Target::Pid(7),
                on: true,
            },
            Request::Mute {
                target: Target::Fh(2),
                on: false,
            },
            Request::Master { level: 100 },
            Request::Reload,
            Request::Device {
                name: "hw:Dummy,0".into(),
            },
            Request::Capture {
                name: "hw:Dummy,0".into(),
            },
        ];
        for r in all {
            assert_eq!(
                parse_request(r.to_line().as_bytes()),
                Ok(r.clone()),
                "{r:?}"
            );
        }
        assert_eq!(
            parse_request(br#"{"v":1,"cmd":"status"}"#),
            Ok(Request::Status { meters: false })
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let err = |s: &str| parse_request(s.as_bytes()).unwrap_err();
        assert!(err("hello").starts_with("not JSON"));
        assert_eq!(err("[1]"), "a request is a JSON object");
        assert_eq!(err(r#"{"cmd":"status"}"#), "no protocol version (\"v\":1)");
        assert_eq!(
            err(r#"{"v":2,"cmd":"status"}"#),
            "protocol version 2 is not spoken here (v 1)"
        );
        assert!(err(r#"{"v":1}"#).starts_with("no \"cmd\""));
        assert!(err(r#"{"v":1,"cmd":"dance"}"#).starts_with("unknown cmd \"dance\""));
        assert_eq!(
            err(r#"{"v":1,"cmd":"master","level":101}"#),
            "level 101 is out of range (0 to 100)"
        );
        assert_eq!(
            err(r#"{"v":1,"cmd":"volume","level":5}"#),
            "no client: give \"fh\" (from status) or \"pid\""
        );
        assert_eq!(
            err(r#"{"v":1,"cmd":"volume","fh":1,"pid":2,"level":5}"#),
            "give \"fh\" or \"pid\", not both"
        );
        assert_eq!(err(r#"{"v":1,"cmd":"device"}"#), "no device \"name\"");
        // Any bytes at all: an error, never a panic.
        for b in [&[0xff, 0xfe][..], b"", b"{", b"\"x\"", b"{\"v\":1e999}"] {
            assert!(parse_request(b).is_err());
        }
    }

    #[test]
    fn answers_are_one_json_line_each() {
        let ok = ok_line(json!({"fh": 3}));
        assert_eq!(ok, "{\"fh\":3,\"ok\":true,\"v\":1}\n");
        assert_eq!(parse_answer(&ok).unwrap()["fh"], 3);
        let e = error_line("no such client \"x\"\n");
        assert_eq!(e.matches('\n').count(), 1, "{e}");
        assert_eq!(parse_answer(&e), Err("no such client \"x\"\n".into()));
    }

    #[test]
    fn changes_are_for_root_and_the_group() {
        let p = |uid, gid, groups: &[u32]| Peer {
            pid: 1,
            uid,
            gid,
            groups: groups.to_vec(),
        };
        assert!(may_change(&p(0, 0, &[]), 29));
        assert!(may_change(&p(1000, 29, &[]), 29));
        assert!(may_change(&p(1000, 1000, &[4, 29]), 29));
        assert!(!may_change(&p(1000, 1000, &[4, 24]), 29));
        assert!(Request::Reload.is_change());
        assert!(!Request::Status { meters: true }.is_change());
        assert!(refused(&p(1000, 1000, &[]), "audio").contains("uid 1000"));
    }
}
