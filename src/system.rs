//! The process's edge with the operating system: dropping root once the
//! devices are open (handing the state directory to the user first),
//! telling systemd how the daemon is doing (sd_notify,
//! without libsystemd), and real-time scheduling. Nothing here knows about
//! sound; every error says what the user can do about it.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use nix::unistd::{self, Gid, Group, Uid, User};

/// The user the daemon runs as when none is configured, if it exists.
pub const DEFAULT_USER: &str = "ossd";

/// "ossd" if that user exists, else `None` (the caller stays root and says so).
pub fn default_user() -> Option<String> {
    match User::from_name(DEFAULT_USER) {
        Ok(Some(_)) => Some(DEFAULT_USER.to_owned()),
        _ => None,
    }
}

/// Points HOME and XDG_RUNTIME_DIR at `user`'s, where the sound server's
/// client library looks for its files (its cookie, its runtime directory),
/// before ossd becomes that user: left at root's, it could not read them.
/// Call it while the process has one thread (the environment is the
/// process's). "root", or a user that does not exist, changes nothing.
pub fn use_home_of(user: &str) {
    let Ok(Some(u)) = User::from_name(user) else {
        return;
    };
    if u.uid.is_root() {
        return;
    }
    std::env::set_var("HOME", &u.dir);
    let runtime = format!("/run/user/{}", u.uid);
    if std::path::Path::new(&runtime).is_dir() {
        std::env::set_var("XDG_RUNTIME_DIR", runtime);
    } else {
        std::env::remove_var("XDG_RUNTIME_DIR");
    }
}

/// Becomes `user` for good: its primary group, its supplementary groups (so
/// it keeps `audio`), then its uid; then checks that root cannot be regained.
/// Call it after /dev/cuse and the ALSA device are open. "root", or a user
/// that is uid 0, changes nothing. On Linux (glibc and musl) the change
/// applies to every thread of the process.
pub fn drop_privileges(user: &str) -> Result<(), String> {
    if user == "root" {
        return Ok(());
    }
    let u = User::from_name(user)
        .map_err(|e| format!("cannot look up user `{user}`: {e}"))?
        .ok_or_else(|| {
            format!(
                "user `{user}` does not exist; create it with \
                 `useradd --system --groups audio {user}` or pass --user root"
            )
        })?;
    if u.uid.is_root() {
        return Ok(());
    }
    let (ruid, euid) = (unistd::getuid(), unistd::geteuid());
    if ruid == u.uid && euid == u.uid {
        return Ok(());
    }
    if !euid.is_root() {
        return Err(format!(
            "cannot switch to user `{user}`: ossd runs as uid {euid}, not root \
             (start it as root, or leave out --user)"
        ));
    }
    let cname = CString::new(user).map_err(|_| format!("bad user name {user:?}"))?;
    unistd::initgroups(&cname, u.gid)
        .map_err(|e| format!("cannot take the groups of user `{user}`: {e}"))?;
    unistd::setresgid(u.gid, u.gid, u.gid)
        .map_err(|e| format!("cannot switch to group {} of user `{user}`: {e}", u.gid))?;
    unistd::setresuid(u.uid, u.uid, u.uid)
        .map_err(|e| format!("cannot switch to user `{user}`: {e}"))?;
    if unistd::setuid(Uid::from_raw(0)).is_ok() || unistd::setgid(Gid::from_raw(0)).is_ok() {
        return Err(format!(
            "switched to user `{user}` but could still regain root; refusing to run"
        ));
    }
    if let Ok(Some(audio)) = Group::from_name("audio") {
        let groups = unistd::getgroups().unwrap_or_default();
        if !groups.contains(&audio.gid) {
            tracing::warn!(
                "user `{user}` is not in the audio group: it cannot reopen the sound card \
                 (`usermod -aG audio {user}`)"
            );
        }
    }
    Ok(())
}

/// Makes the directory of `state_file` (creating it, mode 0750, if missing)
/// and the file itself, if it exists, belong to `user`, so that the daemon
/// can still write its state after [`drop_privileges`]. Call it as root,
/// just before. Needed under systemd: a unit that starts as root gets its
/// StateDirectory= owned by root at every start. "root" changes nothing.
pub fn prepare_state_dir(state_file: &Path, user: &str) -> Result<(), String> {
    if user == "root" {
        return Ok(());
    }
    let u = User::from_name(user)
        .map_err(|e| format!("cannot look up user `{user}`: {e}"))?
        .ok_or_else(|| format!("user `{user}` does not exist"))?;
    let Some(dir) = state_file.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    for path in [dir, state_file] {
        match unistd::chown(path, Some(u.uid), Some(u.gid)) {
            Ok(()) => {}
            Err(nix::errno::Errno::ENOENT) if path == state_file => {}
            Err(e) => {
                return Err(format!(
                    "cannot give {} to user `{user}`: {e}",
                    path.display()
                ))
            }
        }
    }
    Ok(())
}

/// Sends `state` to systemd if it is watching ($NOTIFY_SOCKET); errors are
/// ignored, as sd_notify's are. `notify("READY=1")`, `notify("STOPPING=1")`,
/// `notify("STATUS=serving /dev/dsp")`; for a reload see [`notify_reloading`].
pub fn notify(state: &str) {
    if let Some(socket) = std::env::var_os("NOTIFY_SOCKET") {
        let _ = notify_to(&socket, state);
    }
}

/// "RELOADING=1" with the MONOTONIC_USEC systemd wants with it; send
/// `notify("READY=1")` when the reload is done.
pub fn notify_reloading() {
    notify(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
}

/// Sends one datagram to a notify socket: a path, or "@name" for an
/// abstract socket.
pub fn notify_to(socket: &OsStr, state: &str) -> io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    let bytes = socket.as_bytes();
    let sent = match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(state.as_bytes(), &addr)?
        }
        None if bytes.first() == Some(&b'/') => sock.send_to(state.as_bytes(), socket)?,
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "NOTIFY_SOCKET is neither a path nor @abstract",
            ))
        }
    };
    if sent == state.len() {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::WriteZero, "short datagram"))
    }
}

fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Has the C allocator give big buffers back to the system when they are
/// freed. Client rings are allocated per open (and grown when a program
/// starves, up to 1 MiB): with glibc's default, its mmap threshold rises to
/// the size of every big buffer freed, after which buffers that size come
/// from the heap and stay in ossd's RSS when the client goes. A fixed
/// threshold keeps every buffer of 128 KiB or more in its own mapping,
/// returned at free. Call it once, before any thread starts.
pub fn return_big_buffers() {
    // SAFETY: mallopt only sets an allocator parameter; no thread is
    // allocating concurrently (called first thing in main).
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Makes the calling thread SCHED_FIFO at `priority` (1..=99). Only this
/// thread: threads it starts later run SCHED_OTHER (SCHED_RESET_ON_FORK), so
/// call it from the thread that needs it (the engine's, the requests').
pub fn set_realtime(priority: i32) -> Result<(), String> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param
    // that outlives the call.
    let rc = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    Err(match err.raw_os_error() {
        Some(libc::EINVAL) => {
            format!("real-time priority {priority} is out of range: use 1 to 99")
        }
        Some(libc::EPERM) => format!(
            "not allowed real-time priority {priority} (SCHED_FIFO): run ossd as root, \
             or grant it CAP_SYS_NICE, or an rtprio limit of at least {priority} \
             (LimitRTPRIO= in the unit, or `@audio - rtprio 95` in \
             /etc/security/limits.d/audio.conf); in a container or a cgroup without \
             a real-time budget it may be refused anyway"
        ),
        _ => format!("cannot set real-time priority {priority}: {err}"),
    })
}

/// Raises this process's rtprio limit (RLIMIT_RTPRIO, soft and hard) to at
/// least `priority`, so that [`set_realtime`] still works after
/// [`drop_privileges`], whichever thread asks and whenever. Call it as root,
/// before dropping (raising the hard limit needs CAP_SYS_RESOURCE; under
/// the unit, LimitRTPRIO= has done it already and this changes nothing).
pub fn keep_realtime_allowed(priority: i32) -> Result<(), String> {
    let want = libc::rlim_t::try_from(priority.max(0)).unwrap_or(0);
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_RTPRIO, &mut lim) } != 0 {
        return Err(format!("getrlimit: {}", io::Error::last_os_error()));
    }
    if lim.rlim_cur >= want && lim.rlim_max >= want {
        return Ok(());
    }
    let new = libc::rlimit {
        rlim_cur: lim.rlim_cur.max(want),
        rlim_max: lim.rlim_max.max(want),
    };
    // SAFETY: `new` is a valid rlimit that outlives the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_RTPRIO, &new) } != 0 {
        return Err(format!(
            "cannot raise the rtprio limit to {priority}: {}; set LimitRTPRIO= in the \
             unit, or `@audio - rtprio {priority}` in /etc/security/limits.d/audio.conf",
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ossd-system-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn notify_reaches_a_path_socket() {
        let dir = temp_dir("notify");
        let path = dir.join("notify.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        notify_to(path.as_os_str(), "READY=1").unwrap();
        let mut buf = [0u8; 256];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn notify_reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("ossd-test-notify-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        notify_to(OsStr::new(&format!("@{name}")), "STOPPING=1").unwrap();
        let mut buf = [0u8; 256];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn notify_errors_are_errors_not_panics() {
        assert!(notify_to(OsStr::new("relative"), "READY=1").is_err());
        assert!(notify_to(OsStr::new("/nonexistent/ossd.sock"), "READY=1").is_err());
        // Without NOTIFY_SOCKET (or with one that is gone) nothing happens.
        notify("READY=1");
        notify_reloading();
    }

    #[test]
    fn monotonic_usec_advances() {
        let a = monotonic_usec();
        std::thread::sleep(Duration::from_millis(2));
        assert!(monotonic_usec() >= a + 1000);
    }

    #[test]
    fn state_dir_is_given_to_the_user() {
        let dir = temp_dir("state");
        let file = dir.join("sub/mixer.state");
        assert_eq!(prepare_state_dir(&file, "root"), Ok(()));
        assert!(!file.parent().unwrap().exists());
        assert!(prepare_state_dir(&file, "ossd-no-such-user").is_err());
        if unistd::geteuid().is_root() {
            if let Ok(Some(nobody)) = User::from_name("nobody") {
                use std::os::unix::fs::MetadataExt;
                prepare_state_dir(&file, "nobody").unwrap();
                let m = std::fs::metadata(file.parent().unwrap()).unwrap();
                assert_eq!(m.uid(), nobody.uid.as_raw());
                assert_eq!(m.mode() & 0o777, 0o750);
                std::fs::write(&file, "x").unwrap();
                prepare_state_dir(&file, "nobody").unwrap();
                assert_eq!(std::fs::metadata(&file).unwrap().uid(), nobody.uid.as_raw());
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn default_user_does_not_panic() {
        if let Some(u) = default_user() {
            assert_eq!(u, "ossd");
        }
    }

    #[test]
    fn missing_user_says_how_to_create_it() {
        let e = drop_privileges("ossd-no-such-user").unwrap_err();
        assert_eq!(
            e,
            "user `ossd-no-such-user` does not exist; create it with \
             `useradd --system --groups audio ossd-no-such-user` or pass --user root"
        );
        assert_eq!(drop_privileges("root"), Ok(()));
    }

    #[test]
    fn set_realtime_answers_without_panicking() {
        // In its own thread, which ends right away, whatever it gets.
        std::thread::spawn(|| {
            match set_realtime(10) {
                Ok(()) => {
                    // SAFETY: pid 0 is this thread.
                    let policy = unsafe { libc::sched_getscheduler(0) };
                    assert_eq!(policy & !libc::SCHED_RESET_ON_FORK, libc::SCHED_FIFO);
                }
                Err(e) => assert!(e.contains("priority 10"), "{e}"),
            }
            assert!(set_realtime(0).unwrap_err().contains("1 to 99"));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn keep_realtime_allowed_raises_or_explains() {
        let before = rtprio_limit();
        match keep_realtime_allowed(before.0 as i32) {
            Ok(()) => assert_eq!(rtprio_limit(), before), // already enough: unchanged
            Err(e) => panic!("{e}"),
        }
        // Raising needs CAP_SYS_RESOURCE; if it worked, it took.
        if keep_realtime_allowed(30).is_ok() {
            let (cur, max) = rtprio_limit();
            assert!(cur >= 30 && max >= 30);
        }
    }

    fn rtprio_limit() -> (libc::rlim_t, libc::rlim_t) {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid, writable rlimit.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_RTPRIO, &mut lim) }, 0);
        (lim.rlim_cur, lim.rlim_max)
    }

    /// Runs `drop_privileges("nobody")` in a child process (this test binary,
    /// running [`drop_child`]), so that this one stays root.
    #[test]
    fn drop_privileges_for_real_in_a_child() {
        if !unistd::geteuid().is_root() || User::from_name("nobody").ok().flatten().is_none() {
            eprintln!("skipped: needs root and a `nobody` user");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "system::tests::drop_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("OSSD_TEST_DROP_TO", "nobody")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "{text}");
    }

    #[test]
    #[ignore = "run by drop_privileges_for_real_in_a_child in its own process"]
    fn drop_child() {
        let Some(name) = std::env::var_os("OSSD_TEST_DROP_TO") else {
            return;
        };
        let name = name.to_str().unwrap();
        let u = User::from_name(name).unwrap().unwrap();
        let rt_here = std::thread::spawn(|| set_realtime(10))
            .join()
            .unwrap()
            .is_ok();
        let rt_kept = rt_here && keep_realtime_allowed(10).is_ok();
        drop_privileges(name).unwrap();
        assert_eq!(unistd::getuid(), u.uid);
        assert_eq!(unistd::geteuid(), u.uid);
        assert_eq!(unistd::getgid(), u.gid);
        assert_eq!(unistd::getegid(), u.gid);
        assert!(unistd::setuid(Uid::from_raw(0)).is_err());
        assert!(unistd::seteuid(Uid::from_raw(0)).is_err());
        let cname = CString::new(name).unwrap();
        let mut want = unistd::getgrouplist(&cname, u.gid).unwrap();
        let mut have = unistd::getgroups().unwrap();
        want.sort_by_key(|g| g.as_raw());
        want.dedup();
        have.sort_by_key(|g| g.as_raw());
        have.dedup();
        assert_eq!(have, want);
        // Again is a no-op, not an error.
        drop_privileges(name).unwrap();
        // The rtprio limit raised before the drop lets it go SCHED_FIFO
        // (if the kernel allows real-time at all here).
        if rt_kept {
            let r = std::thread::spawn(|| set_realtime(10)).join().unwrap();
            assert_eq!(r, Ok(()));
            eprintln!("SCHED_FIFO after the drop: ok");
        }
    }
}
