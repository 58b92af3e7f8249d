//! The sound servers of the users' sessions: PulseAudio, or PipeWire's
//! PulseAudio server (`pipewire-pulse`), which a desktop starts for each
//! user who logs in and which holds the sound card for that session.
//!
//! A session's server is found where its clients find it: a process of
//! that user named `pulseaudio`, `pipewire-pulse` or `pipewire`, and the
//! socket `/run/user/UID/pulse/native` in that user's runtime directory.
//! ossd speaks to it in the PulseAudio protocol (both servers take it),
//! through ALSA's `pulse` PCM, as that user: the directory is the user's
//! alone (mode 0700), and the servers trust their own user's clients.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{processes, user_name};

/// The programs that serve the PulseAudio protocol for a session, the one
/// named when several of a user's run first.
const PROGRAMS: [&str; 3] = ["pulseaudio", "pipewire-pulse", "pipewire"];

/// One user's sound server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoundServer {
    pub uid: u32,
    pub user: String,
    /// The server's process and its command name.
    pub pid: u32,
    pub program: String,
    /// Its socket (the system's path).
    pub socket: PathBuf,
}

impl SoundServer {
    /// The server as PulseAudio's clients name it (`PULSE_SERVER`).
    pub fn address(&self) -> String {
        format!("unix:{}", self.socket.display())
    }
}

impl fmt::Display for SoundServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}'s sound server ({}, pid {})",
            self.user, self.program, self.pid
        )
    }
}

/// The socket a user's session server listens on.
pub fn socket_of(uid: u32) -> PathBuf {
    PathBuf::from(format!("/run/user/{uid}/pulse/native"))
}

/// The sound servers running under `root`, one per user, by uid: a user
/// with a server program running and its socket in place. The socket is
/// only looked at (a server that died leaves it behind: opening the
/// device then fails as for a card that is gone).
pub fn find(root: &Path) -> Vec<SoundServer> {
    let procs = processes(root);
    let mut out: Vec<SoundServer> = Vec::new();
    for program in PROGRAMS {
        for p in procs.iter().filter(|p| p.comm == program) {
            if out.iter().any(|s| s.uid == p.uid) {
                continue;
            }
            let socket = socket_of(p.uid);
            let path = root.join(socket.strip_prefix("/").unwrap_or(&socket));
            if !std::os::unix::fs::FileTypeExt::is_socket(&match std::fs::metadata(&path) {
                Ok(m) => m.file_type(),
                Err(_) => continue,
            }) {
                continue;
            }
            out.push(SoundServer {
                uid: p.uid,
                user: user_name(root, p.uid),
                pid: p.pid,
                program: p.comm.clone(),
                socket,
            });
        }
    }
    out.sort_by_key(|s| s.uid);
    out
}

/// The user of the seat's active session, as systemd-logind writes it
/// (`/run/systemd/seats/seat0`: `ACTIVE_UID=1000`).
pub fn active_uid(root: &Path) -> Option<u32> {
    std::fs::read_to_string(root.join("run/systemd/seats/seat0"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("ACTIVE_UID="))?
        .trim()
        .parse()
        .ok()
}

/// The server to play through: the one of `user` if ossd is to run as a
/// given user (it cannot reach another's), else the active session's, else
/// the first by uid.
pub fn choose(
    servers: &[SoundServer],
    user: Option<u32>,
    active: Option<u32>,
) -> Option<&SoundServer> {
    match user {
        Some(uid) => servers.iter().find(|s| s.uid == uid),
        None => active
            .and_then(|a| servers.iter().find(|s| s.uid == a))
            .or(servers.first()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::Root;
    use super::*;

    #[test]
    fn a_server_is_a_server_program_of_a_user_with_its_socket_in_place() {
        let root = Root::new("servers");
        root.process(50, "pipewire", 1001, &[]);
        root.process(51, "pipewire-pulse", 1001, &[]);
        root.process(60, "pulseaudio", 1000, &[]);
        root.process(70, "pulseaudio", 1002, &[]); // no socket: not serving
        let _a = root.socket("run/user/1000/pulse/native");
        let _b = root.socket("run/user/1001/pulse/native");
        root.file("run/user/1002/pulse/pid", "70\n");
        let found = find(root.path());
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].to_string(),
            "alice's sound server (pulseaudio, pid 60)"
        );
        assert_eq!(found[0].address(), "unix:/run/user/1000/pulse/native");
        // pipewire-pulse is named rather than pipewire itself.
        assert_eq!(
            found[1].to_string(),
            "bob's sound server (pipewire-pulse, pid 51)"
        );
    }

    #[test]
    fn a_plain_file_where_the_socket_should_be_is_no_server() {
        let root = Root::new("nosock");
        root.process(60, "pulseaudio", 1000, &[]);
        root.file("run/user/1000/pulse/native", "");
        assert!(find(root.path()).is_empty());
    }

    #[test]
    fn the_chosen_server_is_the_user_s_or_the_active_session_s_or_the_first() {
        let s = |uid, user: &str| SoundServer {
            uid,
            user: user.into(),
            pid: uid,
            program: "pulseaudio".into(),
            socket: socket_of(uid),
        };
        let both = [s(1000, "alice"), s(1001, "bob")];
        assert_eq!(choose(&both, Some(1001), Some(1000)).unwrap().user, "bob");
        assert_eq!(choose(&both, Some(1002), None), None);
        assert_eq!(choose(&both, None, Some(1001)).unwrap().user, "bob");
        assert_eq!(choose(&both, None, Some(4242)).unwrap().user, "alice");
        assert_eq!(choose(&both, None, None).unwrap().user, "alice");
        assert_eq!(choose(&[], None, None), None);
    }

    #[test]
    fn the_active_uid_is_logind_s() {
        let root = Root::new("seat");
        assert_eq!(active_uid(root.path()), None);
        root.file(
            "run/systemd/seats/seat0",
            "# comment\nACTIVE=c2\nACTIVE_UID=1001\n",
        );
        assert_eq!(active_uid(root.path()), Some(1001));
    }
}
