//! Who holds an ALSA device open: the processes that have its `/dev/snd`
//! node among their open files, found as `fuser` finds them (the links in
//! `/proc/PID/fd`). Another user's fds can be read only by root, so ossd
//! asks before it drops root, and says so when it cannot see.

use std::fmt;
use std::path::Path;

use super::{processes, user_name};

/// A process that has a device open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
    pub user: String,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pid {}, user {})", self.command, self.pid, self.user)
    }
}

/// The `/dev/snd` node of the card's PCM an ALSA name opens: `hw:0`,
/// `hw:0,0`, `hw:1,0,3`, `hw:Loopback,0,0`, `hw:CARD=Loopback,DEV=0`, and
/// the same after `plughw:`. A card is named by its number or by its id
/// (`/proc/asound/ID` links to `cardN`). `None` for a name that is not one
/// card's PCM (`default`, `pulse`, `dmix`, ...) or a card that is not there.
pub fn pcm_node(root: &Path, name: &str, capture: bool) -> Option<String> {
    let args = name
        .strip_prefix("hw:")
        .or_else(|| name.strip_prefix("plughw:"))?;
    let (mut card, mut dev) = (None, "0");
    for (i, arg) in args.split(',').enumerate() {
        match (arg.split_once('='), i) {
            (Some(("CARD", v)), _) => card = Some(v),
            (Some(("DEV", v)), _) => dev = v,
            (Some(_), _) => {}
            (None, 0) => card = Some(arg),
            (None, 1) => dev = arg,
            (None, _) => {}
        }
    }
    let card = card?.trim_matches('"');
    let index: u32 = match card.parse() {
        Ok(n) => n,
        Err(_) => std::fs::read_link(root.join("proc/asound").join(card))
            .ok()?
            .to_str()?
            .strip_prefix("card")?
            .parse()
            .ok()?,
    };
    let dev: u32 = dev.parse().ok()?;
    Some(format!(
        "/dev/snd/pcmC{index}D{dev}{}",
        if capture { 'c' } else { 'p' }
    ))
}

/// The processes that have `node` open, by pid, leaving out this one. Those
/// whose fds this process may not read are missing: the list is complete
/// only for root.
pub fn holders(root: &Path, node: &str) -> Vec<Holder> {
    let me = std::process::id();
    processes(root)
        .into_iter()
        .filter(|p| p.pid != me)
        .filter(|p| {
            std::fs::read_dir(root.join(format!("proc/{}/fd", p.pid)))
                .map(|fds| {
                    fds.flatten().any(|fd| {
                        std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == node)
                    })
                })
                .unwrap_or(false)
        })
        .map(|p| Holder {
            pid: p.pid,
            user: user_name(root, p.uid),
            command: p.comm,
        })
        .collect()
}

/// Who holds the device `name` opens, in words for a log line or `ossd
/// --check`: "held by pulseaudio (pid 1234, user alice)", or what is
/// known when nobody can be seen.
pub fn held_by(root: &Path, name: &str, capture: bool) -> String {
    let Some(node) = pcm_node(root, name, capture) else {
        return "another program holds it".into();
    };
    let who = holders(root, &node);
    if who.is_empty() {
        let hint = if nix::unistd::geteuid().is_root() {
            ""
        } else {
            " (only root can see other users' programs)"
        };
        return format!("another program holds {node}{hint}; `fuser -v {node}` shows which");
    }
    let names: Vec<String> = who.iter().map(ToString::to_string).collect();
    format!("held by {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::fake::Root;
    use super::*;

    #[test]
    fn alsa_names_map_to_their_card_s_pcm_node() {
        let root = Root::new("nodes");
        root.link("proc/asound/Loopback", "card0");
        root.link("proc/asound/Dummy", "card1");
        let r = root.path();
        assert_eq!(
            pcm_node(r, "hw:0", false).as_deref(),
            Some("/dev/snd/pcmC0D0p")
        );
        assert_eq!(
            pcm_node(r, "hw:1,2", true).as_deref(),
            Some("/dev/snd/pcmC1D2c")
        );
        assert_eq!(
            pcm_node(r, "hw:Loopback,0,3", false).as_deref(),
            Some("/dev/snd/pcmC0D0p")
        );
        assert_eq!(
            pcm_node(r, "hw:CARD=Dummy,DEV=1", false).as_deref(),
            Some("/dev/snd/pcmC1D1p")
        );
        assert_eq!(
            pcm_node(r, "plughw:Loopback,1", true).as_deref(),
            Some("/dev/snd/pcmC0D1c")
        );
        assert_eq!(pcm_node(r, "hw:Nope,0", false), None);
        assert_eq!(pcm_node(r, "pulse", false), None);
        assert_eq!(pcm_node(r, "default", false), None);
        assert_eq!(pcm_node(r, "hw:0,x", false), None);
    }

    #[test]
    fn the_holders_are_the_processes_with_the_node_among_their_fds() {
        let root = Root::new("holders");
        root.link("proc/asound/Loopback", "card0");
        root.process(900, "pulseaudio", 1000, &["/dev/null", "/dev/snd/pcmC0D0p"]);
        root.process(901, "aplay", 1001, &["/dev/snd/pcmC0D1p"]);
        root.process(902, "bash", 0, &["/dev/pts/0"]);
        let who = holders(root.path(), "/dev/snd/pcmC0D0p");
        assert_eq!(
            who,
            vec![Holder {
                pid: 900,
                command: "pulseaudio".into(),
                user: "alice".into()
            }]
        );
        assert_eq!(
            held_by(root.path(), "hw:Loopback,0,0", false),
            "held by pulseaudio (pid 900, user alice)"
        );
        assert!(held_by(root.path(), "hw:0,2", false)
            .starts_with("another program holds /dev/snd/pcmC0D2p"));
        assert_eq!(
            held_by(root.path(), "pulse", false),
            "another program holds it"
        );
    }
}
