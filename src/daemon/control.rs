//! The control socket's runtime: the listening Unix socket and its
//! connections, served on the protocol thread's poll loop (never on the
//! engine's). Everything here is non-blocking and bounded: at most
//! [`MAX_CONNECTIONS`] connections, request lines of at most [`MAX_LINE`]
//! bytes (a longer one gets an error line), at most [`MAX_PENDING`] bytes
//! of answers waiting for a client that does not read (past that it is
//! closed). What a request means, and the answer's text, are
//! [`crate::control`]'s; what it does, the core's ([`Server`]) and the
//! daemon's (reload, device switch).
//!
//! Who asks is known from the socket (SO_PEERCRED) and `/proc/PID/status`
//! (the supplementary groups): changes are for root and the socket's group.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::poll::PollFlags;
use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use nix::unistd::{chown, Gid, Group};

use crate::control::line::Line;
use crate::control::{
    error_line, may_change, parse_request, refused, LineBuf, Peer, Request, MAX_CONNECTIONS,
    MAX_LINE,
};
#[cfg(doc)]
use crate::server::Server;

/// Answer bytes held for one connection, at most.
pub const MAX_PENDING: usize = 1 << 20;

/// The group the socket is given, as the device nodes are (udev rule).
pub const GROUP: &str = "audio";

/// One client of the control socket.
#[derive(Debug)]
struct Conn {
    id: u64,
    stream: UnixStream,
    peer: Peer,
    input: LineBuf,
    output: Vec<u8>,
    /// It asked for the meters: the engine measures them while it is here.
    watching: bool,
    /// Its `device` request waits for the engine.
    switching: bool,
    /// Close once its answers are out.
    closing: bool,
}

/// The listening socket and its connections.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    /// The socket's group: its members may change things.
    gid: u32,
    group: String,
    conns: Vec<Conn>,
    next_id: u64,
    /// The mixer's meters flag as last set.
    meters: bool,
}

/// A request a connection may make, to be carried out by the daemon.
#[derive(Debug)]
pub struct Asked {
    pub conn: u64,
    pub peer: Peer,
    pub request: Request,
}

impl ControlSocket {
    /// Binds `path` (making its directory), mode 0660, group `audio` when
    /// that group exists and we may give it. A stale socket left by a
    /// daemon that died is replaced; one that answers is another daemon's.
    pub fn bind(path: &Path) -> Result<ControlSocket, String> {
        let shown = path.display();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
            }
        }
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(format!(
                    "{shown} exists and is not a socket; not touching it"
                ));
            }
            if UnixStream::connect(path).is_ok() {
                return Err(format!(
                    "{shown} is in use by another ossd (give this one another control_socket)"
                ));
            }
            std::fs::remove_file(path).map_err(|e| format!("cannot remove stale {shown}: {e}"))?;
        }
        let listener = UnixListener::bind(path).map_err(|e| format!("cannot bind {shown}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("{shown}: {e}"))?;
        let audio = Group::from_name(GROUP).ok().flatten();
        if let Some(g) = &audio {
            if let Err(e) = chown(path, None, Some(g.gid)) {
                tracing::debug!("cannot give {shown} to group {GROUP}: {e}");
            }
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
            .map_err(|e| format!("cannot set the mode of {shown}: {e}"))?;
        let gid = std::fs::metadata(path)
            .map_err(|e| format!("{shown}: {e}"))?
            .gid();
        let group = Group::from_gid(Gid::from_raw(gid))
            .ok()
            .flatten()
            .map_or_else(|| gid.to_string(), |g| g.name);
        tracing::info!(socket = %shown, group, "control socket ready");
        Ok(ControlSocket {
            listener,
            path: path.to_owned(),
            gid,
            group,
            conns: Vec::new(),
            next_id: 1,
            meters: false,
        })
    }

    /// The fds to poll and for what: the listener (not while every
    /// connection is taken: more wait in its backlog), then each connection
    /// (for reading, and for writing while answers wait).
    pub fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, PollFlags)> {
        let listen = if self.conns.len() < MAX_CONNECTIONS {
            PollFlags::POLLIN
        } else {
            PollFlags::empty()
        };
        let mut v = vec![(self.listener.as_fd(), listen)];
        v.extend(self.conns.iter().map(|c| {
            let mut ev = PollFlags::POLLIN;
            if !c.output.is_empty() {
                ev |= PollFlags::POLLOUT;
            }
            (c.stream.as_fd(), ev)
        }));
        v
    }

    /// Someone watches the meters.
    pub fn watching(&self) -> bool {
        self.conns.iter().any(|c| c.watching)
    }

    /// Notes that the meters are to be `on`: whether that is a change.
    pub fn meters_set(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.meters, on) != on
    }

    /// A connection's `device` request waits for the engine.
    pub fn switching(&self) -> bool {
        self.conns.iter().any(|c| c.switching)
    }

    /// After a poll: `ready[0]` the listener's, then each connection's (as
    /// [`ControlSocket::poll_fds`] listed them). Accepts, reads, answers
    /// what is wrong or not allowed, and returns the requests to carry out.
    pub fn on_ready(&mut self, ready: &[bool]) -> Vec<Asked> {
        let mut asked = Vec::new();
        for (i, _) in ready.iter().enumerate().skip(1).filter(|(_, &r)| r) {
            if let Some(c) = self.conns.get_mut(i - 1) {
                read_conn(c, &self.group, self.gid, &mut asked);
            }
        }
        if ready.first() == Some(&true) {
            self.accept();
        }
        self.flush();
        asked
    }

    fn accept(&mut self) {
        // Up to the limit: the others wait in the backlog.
        while self.conns.len() < MAX_CONNECTIONS {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!("control socket: accept: {e}");
                    return;
                }
            };
            let Some(peer) = peer_of(&stream) else {
                continue;
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            self.conns.push(Conn {
                id,
                stream,
                peer,
                input: LineBuf::new(MAX_LINE),
                output: Vec::new(),
                watching: false,
                switching: false,
                closing: false,
            });
        }
    }

    /// Queues an answer line for connection `id` (gone: dropped). `watch`:
    /// it now watches the meters.
    pub fn answer(&mut self, id: u64, line: &str, watch: bool) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == id) {
            c.watching |= watch;
            queue(c, line);
        }
    }

    /// Connection `id` waits for the device switch.
    pub fn wait_switch(&mut self, id: u64) {
        if let Some(c) = self.conns.iter_mut().find(|c| c.id == id) {
            c.switching = true;
        }
    }

    /// The device switch is done: its answer to whoever waits.
    pub fn switched(&mut self, line: &str) {
        for c in self.conns.iter_mut().filter(|c| c.switching) {
            c.switching = false;
            queue(c, line);
        }
    }

    /// Writes what waits; closes the connections that are done.
    pub fn flush(&mut self) {
        for c in &mut self.conns {
            while !c.output.is_empty() {
                match c.stream.write(&c.output) {
                    Ok(0) => {
                        c.closing = true;
                        c.output.clear();
                    }
                    Ok(n) => {
                        c.output.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        c.closing = true;
                        c.output.clear();
                    }
                }
            }
        }
        self.conns
            .retain(|c| !(c.closing && c.output.is_empty() && !c.switching));
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn queue(c: &mut Conn, line: &str) {
    if c.output.len() + line.len() > MAX_PENDING {
        // It does not read its answers: let it go.
        c.output.clear();
        c.closing = true;
        return;
    }
    c.output.extend_from_slice(line.as_bytes());
}

/// Reads what a connection sent (a bounded amount per call), answers
/// malformed and refused requests, and collects the others.
fn read_conn(c: &mut Conn, group: &str, gid: u32, asked: &mut Vec<Asked>) {
    let mut buf = [0u8; 4096];
    for _ in 0..16 {
        match c.stream.read(&mut buf) {
            Ok(0) => {
                c.closing = true;
                c.watching = false;
                break;
            }
            Ok(n) => c.input.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                c.closing = true;
                c.watching = false;
                break;
            }
        }
    }
    while let Some(line) = c.input.next_line() {
        let request = match line {
            Line::TooLong => Err(format!("request longer than {MAX_LINE} bytes")),
            Line::Text(t) if t.iter().all(u8::is_ascii_whitespace) => continue,
            Line::Text(t) => parse_request(&t),
        };
        match request {
            Err(e) => {
                tracing::debug!(pid = c.peer.pid, "control socket: bad request: {e}");
                queue(c, &error_line(&e));
            }
            Ok(r) if r.is_change() && !may_change(&c.peer, gid) => {
                tracing::warn!(
                    "control socket: {} refused to uid {} (pid {}): not root nor in group {group}",
                    r.name(),
                    c.peer.uid,
                    c.peer.pid
                );
                queue(c, &error_line(&refused(&c.peer, group)));
            }
            Ok(request) => asked.push(Asked {
                conn: c.id,
                peer: c.peer.clone(),
                request,
            }),
        }
    }
}

/// Who is on the other end: SO_PEERCRED, and the process's supplementary
/// groups from /proc.
fn peer_of(s: &UnixStream) -> Option<Peer> {
    let cred = getsockopt(s, PeerCredentials).ok()?;
    let pid = cred.pid().max(0) as u32;
    Some(Peer {
        pid,
        uid: cred.uid(),
        gid: cred.gid(),
        groups: groups_of(pid),
    })
}

/// The supplementary groups of process `pid` (empty if it is gone).
fn groups_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Groups:").map(|g| {
                    g.split_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .collect()
                })
            })
        })
        .unwrap_or_default()
}

/// The client side (`ossd status`, `ossd ctl`, `ossd top`): sends one
/// request and reads its answer line.
pub struct Client {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(path: &Path) -> Result<Client, String> {
        let stream = UnixStream::connect(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => format!(
                "cannot reach ossd at {} ({e}): is it running, with control_socket there?",
                path.display()
            ),
            io::ErrorKind::PermissionDenied => format!(
                "no permission to reach ossd at {} ({e}): join the group {GROUP} \
                 (`usermod -aG {GROUP} USER`, then log in again)",
                path.display()
            ),
            _ => format!("cannot reach ossd at {}: {e}", path.display()),
        })?;
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends `line` (a newline is added) and returns the answer line.
    pub fn ask(&mut self, line: &str) -> Result<String, String> {
        let mut out = line.as_bytes().to_vec();
        out.push(b'\n');
        self.stream
            .write_all(&out)
            .map_err(|e| format!("cannot send to ossd: {e}"))?;
        self.read_line()
    }

    /// The next answer line.
    pub fn read_line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Ok(String::from_utf8_lossy(&line[..i]).into_owned());
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("ossd closed the connection".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("no answer from ossd: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ossd-bind-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn bind_makes_its_directory_replaces_a_stale_socket_and_spares_the_rest() {
        let d = dir("stale");
        let path = d.join("sub/control");
        let s = ControlSocket::bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o660);
        // A second daemon on the same path is refused while the first runs.
        let e = ControlSocket::bind(&path).unwrap_err();
        assert!(e.contains("in use by another ossd"), "{e}");
        drop(s);
        assert!(!path.exists(), "removed on the way out");
        // A socket left behind (as by a crash) is replaced.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let s = ControlSocket::bind(&path);
        assert!(s.is_ok(), "{s:?}");
        drop(s);
        assert!(!path.exists(), "removed on the way out");
        // A file that is not a socket is not touched.
        std::fs::write(&path, "mine").unwrap();
        let e = ControlSocket::bind(&path).unwrap_err();
        assert!(e.contains("not a socket"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        let _ = std::fs::remove_dir_all(&d);
    }
}
