use super::*;
use std::cell::RefCell;
use std::collections::HashMap;

/// Files under a temp dir; canned ALSA, users and processes.
struct Fake {
    host: Host,
    pcms: HashMap<String, i32>,
    default_pcm: Result<String, String>,
    users: HashMap<String, UserInfo>,
    procs: Vec<String>,
    root: bool,
    rt: Result<(), String>,
    capture_fails: bool,
    opened: RefCell<Vec<String>>,
    servers: Vec<SoundServer>,
    holder: String,
    /// The server addresses that answer.
    answering: Vec<String>,
}

impl Fake {
    fn new(tag: &str) -> Fake {
        let root = std::env::temp_dir().join(format!("ossd-check-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Fake {
            host: Host { root },
            pcms: HashMap::new(),
            default_pcm: Err("no ALSA sound card found".into()),
            users: HashMap::new(),
            procs: Vec::new(),
            root: true,
            rt: Ok(()),
            capture_fails: false,
            opened: RefCell::new(Vec::new()),
            servers: Vec::new(),
            holder: "another program holds /dev/snd/pcmC0D0p".into(),
            answering: Vec::new(),
        }
    }

    /// A working system: CUSE, one card, the rule, the ossd user.
    fn healthy(tag: &str) -> Fake {
        let mut f = Fake::new(tag);
        f.file("/sys/module/cuse/refcnt", "0\n");
        f.file("/dev/cuse", "");
        f.file(
            "/proc/asound/cards",
            " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n                      HDA Intel PCH at 0xf7f10000 irq 32\n",
        );
        f.file("/etc/udev/rules.d/60-ossd.rules", "");
        f.file("/lib/systemd/system/ossd.service", "");
        f.file(UNIT_ENABLED, "");
        f.file("/etc/modules-load.d/ossd.conf", "# CUSE\ncuse\n");
        f.file("/usr/bin/ossd-run", "");
        for (d, _) in PRELOAD_LIBS {
            f.file(&format!("/usr/{d}/libossd-run.so"), "");
        }
        f.file("/var/lib/ossd/.keep", "");
        f.pcms.insert("hw:0,0".into(), 0);
        f.default_pcm = Ok("hw:0,0".into());
        f.users.insert(
            "ossd".into(),
            UserInfo {
                uid: 999,
                in_audio: Some(true),
            },
        );
        f
    }

    fn file(&self, path: &str, text: &str) {
        let p = self.host.path(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn remove(&self, path: &str) {
        let p = self.host.path(path);
        if p.is_dir() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.host.root);
    }
}

impl Probe for Fake {
    fn exists(&self, path: &str) -> bool {
        self.host.exists(path)
    }
    fn read(&self, path: &str) -> Option<String> {
        self.host.read(path)
    }
    fn open_rw(&self, path: &str) -> io::Result<()> {
        self.host.open_rw(path)
    }
    fn open_pcm(&self, name: &str, capture: bool) -> Result<(), PcmError> {
        self.opened.borrow_mut().push(name.to_owned());
        if capture && self.capture_fails {
            return Err(PcmError {
                errno: libc::ENOENT,
                message: "No such file or directory".into(),
            });
        }
        match self.pcms.get(name) {
            Some(0) => Ok(()),
            Some(&errno) => Err(PcmError {
                errno,
                message: format!("errno {errno}"),
            }),
            None => Err(PcmError {
                errno: libc::ENOENT,
                message: "No such file or directory".into(),
            }),
        }
    }
    fn first_playback_device(&self) -> Result<String, String> {
        self.default_pcm.clone()
    }
    fn user(&self, name: &str) -> Result<Option<UserInfo>, String> {
        Ok(self.users.get(name).cloned())
    }
    fn is_root(&self) -> bool {
        self.root
    }
    fn processes(&self) -> Vec<String> {
        self.procs.clone()
    }
    fn try_realtime(&self, _priority: i32) -> Result<(), String> {
        self.rt.clone()
    }
    fn exe(&self) -> Option<PathBuf> {
        Some("/usr/bin/ossd".into())
    }
    fn sound_servers(&self) -> Vec<SoundServer> {
        self.servers.clone()
    }
    fn active_uid(&self) -> Option<u32> {
        None
    }
    fn held_by(&self, _name: &str, _capture: bool) -> String {
        self.holder.clone()
    }
    fn reach_server(&self, address: &str) -> Result<(), String> {
        if self.answering.iter().any(|a| a == address) {
            Ok(())
        } else {
            Err("Connection refused (os error 111)".into())
        }
    }
}

fn alices_server() -> SoundServer {
    SoundServer {
        uid: 1000,
        user: "alice".into(),
        pid: 4242,
        program: "pulseaudio".into(),
        socket: "/run/user/1000/pulse/native".into(),
    }
}

fn status(r: &CheckReport, name: &str) -> Status {
    r.item(name)
        .unwrap_or_else(|| panic!("no item {name:?} in\n{r}"))
        .status
}

fn fix(r: &CheckReport, name: &str) -> String {
    r.item(name).unwrap().fix.clone().unwrap_or_default()
}

#[test]
fn a_healthy_system_has_no_problems() {
    let f = Fake::healthy("healthy");
    let r = run_checks_with(&f, &Settings::default());
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.exit_code(), ExitCode::SUCCESS);
    assert_eq!(r.item("ALSA cards").unwrap().detail, "hw:0 (HDA Intel PCH)");
    assert_eq!(r.item("playback device").unwrap().detail, "hw:0,0 opens");
    assert_eq!(
        r.item("user").unwrap().detail,
        "ossd (uid 999), in group audio"
    );
    assert_eq!(status(&r, "/dev/dsp"), Status::Ok);
    assert_eq!(status(&r, "/dev/mixer"), Status::Ok);
    let text = r.to_string();
    assert!(text.starts_with("OK       cuse module: loaded\n"), "{text}");
    assert!(
        text.ends_with("No problems: ossd should start.\n"),
        "{text}"
    );
}

#[test]
fn no_cuse() {
    let f = Fake::healthy("nocuse");
    f.remove("/sys/module/cuse");
    f.remove("/dev/cuse");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(status(&r, "cuse module"), Status::Problem);
    assert!(fix(&r, "cuse module").starts_with("`modprobe cuse`"));
    assert_eq!(r.item("/dev/cuse").unwrap().detail, "missing");
    assert_eq!(fix(&r, "/dev/cuse"), "`modprobe cuse`");
    assert_eq!(r.problems(), 2);
    assert!(r.to_string().ends_with("2 problems.\n"));
    // /proc/misc is enough to know the module is there.
    f.file("/proc/misc", "229 fuse\n203 cuse\n");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(status(&r, "cuse module"), Status::Ok);
}

#[test]
fn cuse_without_permission() {
    use std::os::unix::fs::PermissionsExt;
    let mut f = Fake::healthy("cuseperm");
    f.root = false;
    let p = f.host.path("/dev/cuse");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    let r = run_checks_with(&f, &Settings::default());
    if nix::unistd::geteuid().is_root() {
        // Root opens a mode-0 file anyway; nothing to see.
        assert_eq!(status(&r, "/dev/cuse"), Status::Ok);
    } else {
        assert_eq!(status(&r, "/dev/cuse"), Status::Problem);
        assert_eq!(fix(&r, "/dev/cuse"), "run ossd (and this check) as root");
    }
}

#[test]
fn oss_emulation_takes_dev_dsp() {
    let f = Fake::healthy("pcmoss");
    f.file("/sys/module/snd_pcm_oss/refcnt", "0\n");
    f.file("/sys/class/sound/dsp/dev", "14:3\n");
    f.file("/dev/dsp", "");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(status(&r, "kernel OSS emulation"), Status::Problem);
    assert_eq!(
        r.item("kernel OSS emulation").unwrap().detail,
        "snd-pcm-oss loaded: it takes /dev/dsp and /dev/mixer"
    );
    assert!(fix(&r, "kernel OSS emulation").starts_with("unload it: `modprobe -r snd-pcm-oss"));
    assert_eq!(status(&r, "/dev/dsp"), Status::Problem);
    assert_eq!(status(&r, "/dev/mixer"), Status::Ok);
}

#[test]
fn who_serves_an_existing_node() {
    let mut f = Fake::healthy("cusenode");
    f.file("/sys/class/cuse/dsp/dev", "");
    f.file("/dev/dsp", "");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(
        r.item("/dev/dsp").unwrap().detail,
        "served by another CUSE program"
    );
    f.procs = vec!["osspd".into()];
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(r.item("/dev/dsp").unwrap().detail, "served by osspd");
    f.procs = vec!["ossd".into()];
    f.pcms.insert("hw:0,0".into(), libc::EBUSY);
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(status(&r, "/dev/dsp"), Status::Note);
    assert_eq!(status(&r, "playback device"), Status::Note);
    assert!(r.is_ok(), "{r}");
    // A stale plain file.
    f.remove("/sys/class/cuse/dsp");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(fix(&r, "/dev/dsp"), "remove it: `rm /dev/dsp`");
}

#[test]
fn a_busy_card_names_its_holder_and_a_sound_server_is_played_through() {
    let mut f = Fake::healthy("server");
    f.pcms.insert("hw:0,0".into(), libc::EBUSY);
    f.holder = "held by pulseaudio (pid 4242, user alice)".into();
    let s = Settings {
        device: vec!["hw:0,0".into()],
        ..Settings::default()
    };
    let r = run_checks_with(&f, &s);
    let item = r.item("playback device").unwrap();
    assert_eq!(item.status, Status::Problem);
    assert_eq!(
        item.detail,
        "hw:0,0 is busy: held by pulseaudio (pid 4242, user alice)"
    );
    assert!(fix(&r, "playback device").starts_with("that is a desktop's sound server"));
    // The same machine, no device named, alice's server running: ossd
    // plays through it, as alice, and the card is the fallback.
    f.servers = vec![alices_server()];
    f.answering = vec!["unix:/run/user/1000/pulse/native".into()];
    f.opened.borrow_mut().clear();
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(
        r.item("sound server").unwrap().detail,
        "alice's sound server (pulseaudio, pid 4242) runs: playing through it, as alice"
    );
    assert_eq!(
        r.item("playback device").unwrap().detail,
        "the sound server at unix:/run/user/1000/pulse/native answers"
    );
    assert!(r.item("fallback playback device").is_none(), "{r}");
    // A named server that does not answer is a problem.
    f.answering.clear();
    let s = Settings {
        server: Server::At("tcp:desktop:4713".into()),
        ..Settings::default()
    };
    let r = run_checks_with(&f, &s);
    assert_eq!(status(&r, "playback device"), Status::Problem);
    assert!(r
        .item("playback device")
        .unwrap()
        .detail
        .starts_with("cannot reach the sound server at tcp:desktop:4713"));
    // The system user ossd cannot reach alice's server: a note says how.
    let s = Settings {
        user: Some("ossd".into()),
        ..Settings::default()
    };
    let r = run_checks_with(&f, &s);
    assert_eq!(status(&r, "sound server"), Status::Note);
    assert!(r
        .item("sound server")
        .unwrap()
        .detail
        .contains("set user = \"alice\""));
}

#[test]
fn no_cards() {
    let mut f = Fake::healthy("nocards");
    f.file("/proc/asound/cards", "--- no soundcards ---\n");
    f.default_pcm = Err("no ALSA sound card found".into());
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(r.item("ALSA cards").unwrap().detail, "none");
    assert_eq!(status(&r, "playback device"), Status::Problem);
    f.remove("/proc/asound");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(status(&r, "ALSA cards"), Status::Problem);
}

#[test]
fn configured_devices_are_opened() {
    let mut f = Fake::healthy("devices");
    f.pcms.insert("hw:1,0".into(), libc::EBUSY);
    let s = Settings {
        device: vec!["hw:1,0".into()],
        capture_device: vec!["hw:7,0".into()],
        ..Settings::default()
    };
    let r = run_checks_with(&f, &s);
    assert_eq!(*f.opened.borrow(), ["hw:1,0", "hw:7,0"]);
    assert_eq!(status(&r, "playback device"), Status::Problem);
    assert!(fix(&r, "playback device").starts_with("stop that program"));
    // hw:7 is no card here: absent.
    assert!(fix(&r, "capture device").ends_with(
        "pick a card with `capture_device = \"hw:N,0\"`; cards here: hw:0 (HDA Intel PCH)"
    ));
}

#[test]
fn fallback_devices_are_checked_and_an_absent_one_is_a_note() {
    let mut f = Fake::healthy("fallbacks");
    f.pcms.insert("hw:Dummy,0".into(), libc::ENODEV);
    let s = Settings {
        device: vec!["hw:0,0".into(), "hw:Dummy,0".into()],
        capture_device: vec!["none".into()],
        ..Settings::default()
    };
    let r = run_checks_with(&f, &s);
    assert_eq!(*f.opened.borrow(), ["hw:0,0", "hw:Dummy,0"]);
    assert_eq!(status(&r, "playback device"), Status::Ok);
    assert_eq!(status(&r, "fallback playback device"), Status::Note);
    assert!(fix(&r, "fallback playback device").contains("nothing to do"));
    assert!(r.is_ok(), "{r}");
}

#[test]
fn an_absent_card_is_a_problem_that_ossd_waits_for() {
    let mut f = Fake::healthy("absent");
    f.pcms.insert("hw:Loopback,0,0".into(), libc::ENODEV);
    let s = Settings {
        device: vec!["hw:Loopback,0,0".into()],
        capture_device: vec!["none".into()],
        ..Settings::default()
    };
    let r = run_checks_with(&f, &s);
    assert_eq!(status(&r, "playback device"), Status::Problem);
    assert!(r
        .item("playback device")
        .unwrap()
        .detail
        .starts_with("hw:Loopback,0,0 is absent: "));
    assert!(fix(&r, "playback device").contains("stand-in clock"));
    assert!(!r.is_ok());
}

#[test]
fn recording_follows_the_playback_card() {
    let mut f = Fake::healthy("capture");
    // hw:0,0 opens both ways in the fake: recording is checked on it.
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(*f.opened.borrow(), ["hw:0,0", "hw:0,0"]);
    assert_eq!(status(&r, "capture device"), Status::Ok);
    // A card that cannot record is a note, not a problem.
    f.pcms.insert("hw:0,0".into(), 0);
    f.capture_fails = true;
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(status(&r, "capture device"), Status::Note);
    assert_eq!(
        r.item("capture device").unwrap().detail,
        "hw:0,0 cannot record: /dev/dsp will only play"
    );
    assert!(r.is_ok(), "{r}");
    // "none": not checked at all.
    let s = Settings {
        capture_device: vec!["none".into()],
        ..Settings::default()
    };
    assert!(run_checks_with(&f, &s).item("capture device").is_none());
}

#[test]
fn udev_rule_anywhere_udev_looks() {
    let f = Fake::healthy("udev");
    f.remove("/etc/udev/rules.d/60-ossd.rules");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(status(&r, "udev rule"), Status::Problem);
    assert!(fix(&r, "udev rule").contains("udevadm control --reload"));
    f.file("/usr/lib/udev/rules.d/60-ossd.rules", "");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(
        r.item("udev rule").unwrap().detail,
        "/usr/lib/udev/rules.d/60-ossd.rules"
    );
}

#[test]
fn what_an_installation_adds() {
    let f = Fake::healthy("installed");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(
        r.item("systemd unit").unwrap().detail,
        "/lib/systemd/system/ossd.service, enabled"
    );
    assert_eq!(
        r.item("cuse at boot").unwrap().detail,
        "loaded by /etc/modules-load.d/ossd.conf"
    );
    assert_eq!(
        r.item("ossd-run").unwrap().detail,
        "/usr/bin/ossd-run, its library for 64-bit and 32-bit programs"
    );
    // Each one missing is a note, and says what to do.
    f.remove(UNIT_ENABLED);
    f.remove("/etc/modules-load.d/ossd.conf");
    f.remove("/usr/lib32/libossd-run.so");
    let r = run_checks_with(&f, &Settings::default());
    assert!(r.is_ok(), "{r}");
    assert_eq!(status(&r, "systemd unit"), Status::Note);
    assert_eq!(fix(&r, "systemd unit"), "`systemctl enable --now ossd`");
    assert_eq!(status(&r, "cuse at boot"), Status::Note);
    assert!(fix(&r, "cuse at boot").starts_with("`echo cuse > /etc/modules-load.d/ossd.conf`"));
    assert_eq!(status(&r, "ossd-run"), Status::Note);
    assert_eq!(
        r.item("ossd-run").unwrap().detail,
        "/usr/bin/ossd-run, but no /usr/lib32/libossd-run.so: \
         32-bit programs (libc6-i386) get no mmap under it"
    );
    // Debian's /etc/modules counts; a commented line does not.
    f.file("/etc/modules", "# cuse\n");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(status(&r, "cuse at boot"), Status::Note);
    f.file("/etc/modules", "loop\ncuse\n");
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(
        r.item("cuse at boot").unwrap().detail,
        "loaded by /etc/modules"
    );
    f.remove("/lib/systemd/system/ossd.service");
    f.remove("/usr/bin/ossd-run");
    let r = run_checks_with(&f, &Settings::default());
    assert!(fix(&r, "systemd unit").contains("scripts/build-deb"));
    assert!(r
        .item("ossd-run")
        .unwrap()
        .detail
        .starts_with("no ossd-run beside /usr/bin/ossd"));
}

#[test]
fn ossd_run_is_looked_for_where_it_is_installed_or_built() {
    assert_eq!(
        ossd_run_roots(Path::new("/usr/bin/ossd")),
        [PathBuf::from("/usr"), PathBuf::from("/usr/ossd-run")]
    );
    assert_eq!(
        ossd_run_roots(Path::new("/src/ossd/target/release/ossd"))[1],
        PathBuf::from("/src/ossd/target/ossd-run")
    );
    assert!(ossd_run_roots(Path::new("ossd")).is_empty());
}

#[test]
fn users() {
    let mut f = Fake::healthy("users");
    f.users.clear();
    // No user configured and no ossd user: a note, not a problem.
    let r = run_checks_with(&f, &Settings::default());
    assert_eq!(status(&r, "user"), Status::Note);
    assert!(r.is_ok());
    // A configured user that does not exist is a problem.
    let s = Settings {
        user: Some("snd".into()),
        ..Settings::default()
    };
    let r = run_checks_with(&f, &s);
    assert_eq!(r.item("user").unwrap().detail, "user `snd` does not exist");
    assert_eq!(
        fix(&r, "user"),
        "create it: `useradd --system --no-create-home --groups audio snd`, or set user = \"root\""
    );
    f.users.insert(
        "snd".into(),
        UserInfo {
            uid: 5,
            in_audio: Some(false),
        },
    );
    let r = run_checks_with(&f, &s);
    assert_eq!(fix(&r, "user"), "`usermod -aG audio snd`");
    let r = run_checks_with(
        &f,
        &Settings {
            user: Some("root".into()),
            ..Settings::default()
        },
    );
    assert_eq!(status(&r, "user"), Status::Note);
}

#[test]
fn realtime_refused_is_a_note() {
    let mut f = Fake::healthy("rt");
    f.rt = Err("not allowed".into());
    let with_rt = Settings {
        rt: true,
        ..Settings::default()
    };
    let r = run_checks_with(&f, &with_rt);
    assert_eq!(status(&r, "real-time"), Status::Note);
    assert!(r.is_ok());
    let r = run_checks_with(
        &f,
        &Settings {
            rt: false,
            ..Settings::default()
        },
    );
    assert!(r.item("real-time").is_none());
}

#[test]
fn the_config_file_is_checked_first() {
    let f = Fake::healthy("config");
    let path = f.host.root.join("ossd.toml");
    std::fs::write(&path, "# ossd\nperiods = 1\n").unwrap();
    let r = check_with(&f, Some(&path), FileConfig::default());
    let item = &r.items[0];
    assert_eq!(item.status, Status::Problem);
    assert_eq!(
        item.detail,
        format!(
            "{}:2: key `periods`: must be between 2 and 64, not 1",
            path.display()
        )
    );
    // The rest still runs, on the defaults.
    assert!(r.item("cuse module").is_some());
    std::fs::write(&path, "periods = 4\n").unwrap();
    let r = check_with(&f, Some(&path), FileConfig::default());
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.items[0].detail, format!("{} is valid", path.display()));
    let r = check_with(
        &f,
        Some(&f.host.root.join("nope.toml")),
        FileConfig::default(),
    );
    assert_eq!(r.items[0].status, Status::Problem);
    let bad_flag = FileConfig {
        channels: Some(0),
        ..FileConfig::default()
    };
    let r = check_with(&f, Some(&path), bad_flag);
    assert_eq!(
        r.item("settings").unwrap().detail,
        "--channels: must be between 1 and 8, not 0"
    );
}

#[test]
fn cards_parse() {
    let text = " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n                      HDA Intel PCH at 0xf7f10000 irq 32\n 1 [Loopback       ]: Loopback - Loopback\n                      Loopback 1\n";
    assert_eq!(
        parse_cards(text),
        ["hw:0 (HDA Intel PCH)", "hw:1 (Loopback)"]
    );
    assert!(parse_cards("--- no soundcards ---\n").is_empty());
}

#[test]
fn host_reads_under_its_root() {
    let f = Fake::new("host");
    f.file("/proc/asound/cards", "x");
    assert!(f.host.exists("/proc/asound/cards"));
    assert_eq!(f.host.read("/proc/asound/cards").as_deref(), Some("x"));
    assert!(!f.host.exists("/proc/misc"));
    // The real host answers without panicking.
    let _ = run_checks(&Settings::default()).to_string();
}
