//! What else runs on this machine, as far as ossd's devices are concerned:
//! the processes that hold a sound card open ([`holders`]), and the sound
//! servers of the users' sessions ([`servers`]). Everything is read from
//! `/proc`, `/run` and `/etc/passwd` under a root directory ("/" for the
//! real ones), so the tests run on fake trees; nothing is changed.

pub mod holders;
pub mod servers;

use std::path::Path;

/// The programs that are a desktop's sound server, or part of one: what a
/// busy card's holder is called when a session's server holds it.
pub const SERVER_PROGRAMS: [&str; 4] = ["pulseaudio", "pipewire-pulse", "pipewire", "wireplumber"];

/// A running process, as `/proc/PID` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// Its command name (`/proc/PID/comm`).
    pub comm: String,
    /// Its real user id (`/proc/PID/status`).
    pub uid: u32,
}

/// The processes under `root`/proc, by pid. One that ends while it is read
/// is left out.
pub fn processes(root: &Path) -> Vec<Process> {
    let Ok(dir) = std::fs::read_dir(root.join("proc")) else {
        return Vec::new();
    };
    let mut out: Vec<Process> = dir
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            let status = std::fs::read_to_string(e.path().join("status")).ok()?;
            Some(Process {
                pid,
                comm: comm.trim_end().to_owned(),
                uid: status_uid(&status)?,
            })
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

/// The real uid in a `/proc/PID/status` text (`Uid:\treal\teffective...`).
fn status_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The name of user `uid` in `root`/etc/passwd, else the number.
pub fn user_name(root: &Path, uid: u32) -> String {
    std::fs::read_to_string(root.join("etc/passwd"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                let id: u32 = f.nth(1)?.parse().ok()?;
                (id == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fake root for the tests: processes with their fds, users, files.
    use std::path::{Path, PathBuf};

    pub struct Root(pub PathBuf);

    impl Root {
        pub fn new(tag: &str) -> Root {
            let dir = std::env::temp_dir().join(format!("ossd-host-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("proc")).unwrap();
            std::fs::create_dir_all(dir.join("etc")).unwrap();
            std::fs::write(
                dir.join("etc/passwd"),
                "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n\
                 bob:x:1001:1001::/home/bob:/bin/bash\n",
            )
            .unwrap();
            Root(dir)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }

        /// A process `pid` named `comm` of user `uid`, with fds linking to `fds`.
        pub fn process(&self, pid: u32, comm: &str, uid: u32, fds: &[&str]) {
            let p = self.0.join(format!("proc/{pid}"));
            std::fs::create_dir_all(p.join("fd")).unwrap();
            std::fs::write(p.join("comm"), format!("{comm}\n")).unwrap();
            std::fs::write(
                p.join("status"),
                format!("Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
            )
            .unwrap();
            for (i, target) in fds.iter().enumerate() {
                std::os::unix::fs::symlink(target, p.join(format!("fd/{i}"))).unwrap();
            }
        }

        pub fn file(&self, path: &str, text: &str) {
            let p = self.0.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }

        pub fn link(&self, path: &str, target: &str) {
            let p = self.0.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, p).unwrap();
        }

        /// A listening unix socket at `path` (kept open while the guard lives).
        pub fn socket(&self, path: &str) -> std::os::unix::net::UnixListener {
            let p = self.0.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::net::UnixListener::bind(p).unwrap()
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_are_read_with_their_names_and_real_users() {
        let root = fake::Root::new("procs");
        root.process(42, "pulseaudio", 1000, &[]);
        root.process(7, "bash", 0, &[]);
        std::fs::create_dir_all(root.path().join("proc/self-not-a-pid")).unwrap();
        let ps = processes(root.path());
        assert_eq!(
            ps,
            vec![
                Process {
                    pid: 7,
                    comm: "bash".into(),
                    uid: 0
                },
                Process {
                    pid: 42,
                    comm: "pulseaudio".into(),
                    uid: 1000
                },
            ]
        );
        assert_eq!(user_name(root.path(), 1000), "alice");
        assert_eq!(user_name(root.path(), 4242), "uid 4242");
    }
}
