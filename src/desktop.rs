//! Where the output goes on the machine ossd runs on, and as whom: the pure
//! decision, at start-up, from the settings and what runs here (the users'
//! sound servers, the first card).
//!
//! On most machines someone runs an old OSS program on, a desktop's sound
//! server (PulseAudio, or PipeWire's pulse server) holds the card for the
//! session. Playing to the card then fails (it is busy), and a card the
//! server left idle for a while is free only until the server wants it
//! back. So with no `device` named (`server = "auto"`, the default), ossd
//! plays through the session's server when one runs, and to the first
//! card's hw device otherwise. The card is then not in the device list: a
//! server that ends (the session ends, or it restarts) is a device that
//! went away (ossd waits on its stand-in clock, and never takes the card
//! the server will want back), and a server that starts (the user logs in)
//! is one that came back ([`crate::presence`]). A card as a fallback is
//! there for the asking: `server = ADDRESS` with `device = "hw:0,0"`.
//!
//! A session's server lets in only its own user (its socket is in the
//! user's runtime directory, mode 0700). ossd, started as root, therefore
//! runs as the user whose server it plays through: the server's user when
//! no `user` is configured, else the configured user, whose server is
//! played through whenever it runs. A `user` that has no session (the
//! system user `ossd`) cannot reach anyone's server: the card is played
//! to, and the log says how to change that.

use crate::config::Server;
use crate::host::servers::{choose, socket_of, SoundServer};

/// The first uid of a person's account (Debian's `UID_MIN`); below it are
/// system users, who have no session and no sound server.
pub const FIRST_LOGIN_UID: u32 = 1000;
/// `nobody`.
const NOBODY: u32 = 65534;

fn is_login(uid: u32) -> bool {
    (FIRST_LOGIN_UID..NOBODY).contains(&uid)
}

/// What the decision is made from.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The `device` list as configured (may be empty).
    pub devices: &'a [String],
    pub server: &'a Server,
    /// The `user` configured, and its uid (`None`: no such user).
    pub user: Option<(&'a str, Option<u32>)>,
    /// The sound servers running now.
    pub servers: &'a [SoundServer],
    /// The user of the seat's active session.
    pub active_uid: Option<u32>,
    /// The first card's playback device (`hw:0,0`).
    pub first_card: &'a str,
    /// ossd's own uid (0: it may become another user).
    pub uid: u32,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The output devices, most preferred first.
    pub devices: Vec<String>,
    /// The user to run as, when the plan needs one (a server's user); `None`:
    /// the configured or default user.
    pub user: Option<String>,
    /// ossd chose the devices itself (no `device` named): it then lets
    /// the device go when nobody plays, so that the desktop may use it.
    pub chosen: bool,
    /// What to say in the log about it, and whether it is a warning.
    pub notes: Vec<(bool, String)>,
}

pub fn plan(i: &Inputs) -> Plan {
    let card = i.first_card.to_owned();
    let mut p = Plan {
        devices: Vec::new(),
        user: None,
        chosen: i.devices.is_empty(),
        notes: Vec::new(),
    };
    match i.server {
        Server::At(address) => {
            p.devices.push(Server::device(address));
            p.devices.extend(i.devices.iter().cloned());
            p.chosen = false;
            return p;
        }
        Server::None => {
            p.devices = if i.devices.is_empty() {
                vec![card]
            } else {
                i.devices.to_vec()
            };
            return p;
        }
        Server::Auto if !i.devices.is_empty() => {
            p.devices = i.devices.to_vec();
            return p;
        }
        Server::Auto => {}
    }
    let server_of = |uid: u32| Server::device(&format!("unix:{}", socket_of(uid).display()));
    // Whose server ossd can reach: the configured user's; without one,
    // root may become the user of the server it picks; anyone else only
    // reaches their own.
    let fixed = match i.user {
        Some((_, Some(uid))) => Some(uid),
        Some((_, None)) => None, // no such user: ossd will fail to start anyway
        None if i.uid == 0 => None,
        None => Some(i.uid),
    };
    match fixed {
        Some(uid) if is_login(uid) || uid == 0 => {
            let running = if uid == 0 {
                choose(i.servers, None, i.active_uid)
            } else {
                choose(i.servers, Some(uid), None)
            };
            match running {
                Some(s) => {
                    p.devices = vec![server_of(s.uid)];
                    p.notes
                        .push((false, format!("{s} runs: playing through it")));
                }
                None if uid == 0 => p.devices = vec![card.clone()],
                None => {
                    let name = i
                        .user
                        .map_or_else(|| format!("uid {uid}"), |u| u.0.to_owned());
                    p.devices = vec![server_of(uid)];
                    p.notes.push((
                        false,
                        format!(
                            "no sound server of {name} runs yet: playing through it when it \
                             starts (a stand-in clock paces the clients meanwhile)"
                        ),
                    ));
                }
            }
        }
        Some(_) => {
            p.devices = vec![card.clone()];
            if let Some(s) = choose(i.servers, None, i.active_uid) {
                let me = i.user.map_or("this user", |u| u.0);
                p.notes.push((
                    true,
                    format!(
                        "{s} runs, but ossd runs as {me} and cannot reach it (its socket is \
                         in {}'s {}); set user = \"{}\" to play through it",
                        s.user,
                        s.socket.parent().and_then(|d| d.parent()).map_or_else(
                            || "runtime directory".to_owned(),
                            |d| d.display().to_string()
                        ),
                        s.user
                    ),
                ));
            }
        }
        None => match choose(i.servers, None, i.active_uid) {
            Some(s) => {
                p.devices = vec![server_of(s.uid)];
                p.user = Some(s.user.clone());
                p.notes.push((
                    false,
                    format!("{s} runs: playing through it, as {}", s.user),
                ));
            }
            None => p.devices = vec![card.clone()],
        },
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn server(uid: u32, user: &str) -> SoundServer {
        SoundServer {
            uid,
            user: user.into(),
            pid: 4000 + uid,
            program: "pipewire-pulse".into(),
            socket: PathBuf::from(format!("/run/user/{uid}/pulse/native")),
        }
    }

    fn inputs<'a>(servers: &'a [SoundServer], server: &'a Server) -> Inputs<'a> {
        Inputs {
            devices: &[],
            server,
            user: None,
            servers,
            active_uid: None,
            first_card: "hw:0,0",
            uid: 0,
        }
    }

    const ALICE: &str = "server:unix:/run/user/1000/pulse/native";

    #[test]
    fn root_with_no_user_plays_through_the_running_server_as_its_user() {
        let servers = [server(1000, "alice")];
        let p = plan(&inputs(&servers, &Server::Auto));
        assert_eq!(p.devices, [ALICE]);
        assert_eq!(p.user.as_deref(), Some("alice"));
        assert!(p.chosen);
        assert_eq!(
            p.notes,
            [(
                false,
                "alice's sound server (pipewire-pulse, pid 5000) runs: playing through it, as alice"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn with_no_server_the_first_card_is_played_to() {
        let p = plan(&inputs(&[], &Server::Auto));
        assert_eq!(p.devices, ["hw:0,0"]);
        assert_eq!(p.user, None);
        assert!(p.notes.is_empty());
    }

    #[test]
    fn the_active_session_s_server_wins_over_another_user_s() {
        let servers = [server(1000, "alice"), server(1001, "bob")];
        let mut i = inputs(&servers, &Server::Auto);
        i.active_uid = Some(1001);
        let p = plan(&i);
        assert_eq!(p.devices[0], "server:unix:/run/user/1001/pulse/native");
        assert_eq!(p.user.as_deref(), Some("bob"));
    }

    #[test]
    fn a_configured_login_user_s_server_comes_first_even_before_it_starts() {
        let server_auto = Server::Auto;
        let mut i = inputs(&[], &server_auto);
        i.user = Some(("alice", Some(1000)));
        let p = plan(&i);
        assert_eq!(p.devices, [ALICE]);
        assert_eq!(p.user, None, "the configured user is kept");
        assert!(p.notes[0]
            .1
            .starts_with("no sound server of alice runs yet"));
        // Bob's server is not alice's.
        let servers = [server(1001, "bob")];
        i.servers = &servers;
        assert_eq!(plan(&i).devices, [ALICE]);
    }

    #[test]
    fn a_system_user_cannot_reach_a_session_s_server_and_is_told_so() {
        let servers = [server(1000, "alice")];
        let mut i = inputs(&servers, &Server::Auto);
        i.user = Some(("ossd", Some(105)));
        let p = plan(&i);
        assert_eq!(p.devices, ["hw:0,0"]);
        assert!(p.notes[0].0, "a warning");
        assert!(
            p.notes[0].1.contains("set user = \"alice\""),
            "{}",
            p.notes[0].1
        );
    }

    #[test]
    fn named_devices_win_over_auto_and_a_named_server_comes_first() {
        let servers = [server(1000, "alice")];
        let devices = ["hw:1,0".to_owned()];
        let mut i = inputs(&servers, &Server::Auto);
        i.devices = &devices;
        let p = plan(&i);
        assert_eq!(p.devices, ["hw:1,0"]);
        assert!(!p.chosen);
        let at = Server::At("tcp:box:4713".into());
        i.server = &at;
        assert_eq!(plan(&i).devices, ["server:tcp:box:4713", "hw:1,0"]);
        let none = Server::None;
        i.server = &none;
        i.devices = &[];
        assert_eq!(plan(&i).devices, ["hw:0,0"]);
    }

    #[test]
    fn a_non_root_ossd_reaches_only_its_own_user_s_server() {
        let servers = [server(1000, "alice"), server(1001, "bob")];
        let mut i = inputs(&servers, &Server::Auto);
        i.uid = 1001;
        let p = plan(&i);
        assert_eq!(p.devices[0], "server:unix:/run/user/1001/pulse/native");
        assert_eq!(p.user, None);
    }
}
