use super::*;

const P: &str = "/etc/ossd.toml";

fn err(text: &str) -> String {
    parse(text, Path::new(P)).unwrap_err().to_string()
}

#[test]
fn empty_file_is_empty_config() {
    assert_eq!(
        parse("# nothing\n", Path::new(P)).unwrap(),
        FileConfig::default()
    );
}

#[test]
fn every_key_parses() {
    let text = r#"
device = "hw:1,0"
server = "tcp:box:4713"
capture_device = "hw:1,0"
dsp = "dsp1"
audio = "audio1"
mixer = "mixer1"
sndstat = ""
monitor = "dspmon"
format = "s16-le"
rate = 44_100
channels = 6
period_frames = 0x100
periods = 4
resampler = "high"
limiter = false
adapt_latency = false
idle_release_ms = 5000
rt = false
rt_priority = 40
user = "ossd"
state_file = "/var/lib/ossd/x"
log_level = "debug"
cuse = "/dev/cuse"
control_socket = "/run/ossd1/control"
"#;
    let c = parse(text, Path::new(P)).unwrap();
    assert_eq!(
        c,
        FileConfig {
            device: Some(vec!["hw:1,0".into()]),
            server: Some("tcp:box:4713".into()),
            capture_device: Some(vec!["hw:1,0".into()]),
            dsp: Some("dsp1".into()),
            audio: Some("audio1".into()),
            mixer: Some("mixer1".into()),
            sndstat: Some("".into()),
            monitor: Some("dspmon".into()),
            format: Some(SampleFormat::S16Le),
            rate: Some(44100),
            channels: Some(6),
            period_frames: Some(256),
            periods: Some(4),
            resampler: Some(Quality::High),
            rt: Some(false),
            rt_priority: Some(40),
            idle_release_ms: Some(5000),
            limiter: Some(false),
            adapt_latency: Some(false),
            user: Some("ossd".into()),
            state_file: Some("/var/lib/ossd/x".into()),
            log_level: Some(LogLevel::Debug),
            cuse: Some("/dev/cuse".into()),
            control_socket: Some("/run/ossd1/control".into()),
        }
    );
    // Every key in the table is a serde field, and the other way round.
    assert_eq!(text.lines().filter(|l| l.contains('=')).count(), KEYS.len());
}

#[test]
fn devices_are_a_name_or_a_list_in_order_of_preference() {
    let c = parse(
        "device = [\"hw:CARD=Headset,0\", \"hw:Loopback,0,0\"]\ncapture_device = \"none\"\n",
        Path::new(P),
    )
    .unwrap();
    let s = Settings::resolve(FileConfig::default(), c).unwrap();
    assert_eq!(s.device, ["hw:CARD=Headset,0", "hw:Loopback,0,0"]);
    assert!(s.capture(&s.device).is_empty());
    assert_eq!(
        err("device = []\n"),
        "/etc/ossd.toml:1: key `device`: must name at least one device"
    );
    assert_eq!(
        err("device = [\"hw:0\", 1]\n"),
        "/etc/ossd.toml:1: key `device`: expected a string or an array of strings, \
         found an array holding an integer"
    );
    assert_eq!(
        err("capture_device = [\"\"]\n"),
        "/etc/ossd.toml:1: key `capture_device`: must not be empty"
    );
}

#[test]
fn unknown_key_names_line_and_key() {
    let e = err("# ossd\nrate = 48000\nperod_frames = 128\n");
    assert!(
        e.starts_with("/etc/ossd.toml:3: unknown key `perod_frames` (known: device, "),
        "{e}"
    );
    assert!(e.ends_with("log_level, cuse, control_socket)"), "{e}");
}

#[test]
fn a_server_is_auto_none_or_an_address() {
    assert_eq!(parse_server("auto"), Ok(Server::Auto));
    assert_eq!(parse_server("none"), Ok(Server::None));
    assert_eq!(
        parse_server("/run/user/1000/pulse/native"),
        Ok(Server::At("unix:/run/user/1000/pulse/native".into()))
    );
    assert_eq!(
        parse_server("tcp:127.0.0.1:4713"),
        Ok(Server::At("tcp:127.0.0.1:4713".into()))
    );
    assert_eq!(
        parse_server("tcp6:[::1]"),
        Ok(Server::At("tcp6:[::1]".into()))
    );
    for bad in ["", "pulse", "unix:relative", "tcp:", "tcp:a b", "udp:x"] {
        assert!(parse_server(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        err("server = \"pulse\"\n"),
        "/etc/ossd.toml:1: key `server`: \"pulse\" is not a sound server: \"auto\", \
         \"none\", \"unix:/path/to/socket\" or \"tcp:host[:port]\""
    );
    let s = Settings::resolve(FileConfig::default(), FileConfig::default()).unwrap();
    assert_eq!(s.server, Server::Auto);
    assert_eq!(Server::device("tcp:box"), "server:tcp:box");
}

#[test]
fn a_table_is_an_unknown_key() {
    let e = err("rate = 48000\n\n[alsa]\ndevice = \"hw:0\"\n");
    assert!(e.starts_with("/etc/ossd.toml:3: unknown key `alsa`"), "{e}");
}

#[test]
fn wrong_type_names_line_and_key() {
    let text = "\n\n\n\nrate = \"48000\"\n";
    assert_eq!(
        err(text),
        "/etc/ossd.toml:5: key `rate`: expected an integer, found a string"
    );
    assert_eq!(
        err("rt = 1\n"),
        "/etc/ossd.toml:1: key `rt`: expected a boolean (true or false), found an integer"
    );
    assert_eq!(
        err("x = 1\ndevice = 0\n"),
        "/etc/ossd.toml:1: unknown key `x` (known: device, server, capture_device, dsp, audio, \
         mixer, sndstat, monitor, format, rate, channels, period_frames, periods, resampler, \
         limiter, adapt_latency, idle_release_ms, rt, rt_priority, user, state_file, \
         log_level, cuse, control_socket)\n\
         /etc/ossd.toml:2: key `device`: expected a string or an array of strings, found \
         an integer"
    );
    assert_eq!(
        err("periods = 2.5"),
        "/etc/ossd.toml:1: key `periods`: expected an integer, found a float"
    );
}

#[test]
fn bad_values_name_line_and_key() {
    assert_eq!(
        err("device = \"hw:0\"\nrate = 0\n"),
        "/etc/ossd.toml:2: key `rate`: must be between 1000 and 384000, not 0"
    );
    assert_eq!(
        err("\nperiods = 1\n"),
        "/etc/ossd.toml:2: key `periods`: must be between 2 and 64, not 1"
    );
    assert_eq!(
        err("channels = 0"),
        "/etc/ossd.toml:1: key `channels`: must be between 1 and 8, not 0"
    );
    assert_eq!(
        err("#\n#\n#\nchannels = 9"),
        "/etc/ossd.toml:4: key `channels`: must be between 1 and 8, not 9"
    );
    assert_eq!(
        err("rate = -1"),
        "/etc/ossd.toml:1: key `rate`: must be between 1000 and 384000, not -1"
    );
    assert_eq!(
        err("resampler = \"medium\"\n"),
        "/etc/ossd.toml:1: key `resampler`: unknown resampler \"medium\"; `fast` or `high`"
    );
    let e = err("\nformat = \"S17_LE\"\n");
    assert!(
        e.starts_with(
            "/etc/ossd.toml:2: key `format`: unknown format \"S17_LE\"; one of MU_LAW, A_LAW,"
        ),
        "{e}"
    );
    assert_eq!(
        err("dsp = \"snd/dsp\""),
        "/etc/ossd.toml:1: key `dsp`: \"snd/dsp\" is not a device node name \
         (letters, digits, `_`, `-`, `.`; at most 32)"
    );
    assert_eq!(
        err("dsp = \"\""),
        "/etc/ossd.toml:1: key `dsp`: must not be empty"
    );
    assert_eq!(
        err("state_file = \"mixer.state\""),
        "/etc/ossd.toml:1: key `state_file`: must be an absolute path, not \"mixer.state\""
    );
    assert_eq!(
        err("log_level = \"loud\""),
        "/etc/ossd.toml:1: key `log_level`: unknown log level \"loud\"; \
         error, warn, info, debug or trace"
    );
}

#[test]
fn issues_come_in_file_order() {
    // DeTable sorts keys; the report must not.
    let e = err("zz = 1\nperiods = 1\naa = 2\n");
    let lines: Vec<_> = e.lines().map(|l| &l[..17]).collect();
    assert_eq!(
        lines,
        [
            "/etc/ossd.toml:1:",
            "/etc/ossd.toml:2:",
            "/etc/ossd.toml:3:"
        ]
    );
}

#[test]
fn syntax_errors_have_a_line() {
    let e = err("rate = 48000\nperiods = \n");
    assert!(e.starts_with("/etc/ossd.toml:2: "), "{e}");
    let e = err("rate = 48000\nrate = 44100\n");
    assert!(e.starts_with("/etc/ossd.toml:2: "), "{e}");
    assert!(e.contains("duplicate"), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn missing_files() {
    let dir = std::env::temp_dir().join(format!("ossd-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("nope.toml");
    assert!(matches!(load(&missing), Err(ConfigError::Missing(_))));
    assert!(matches!(
        load_or_default(Some(&missing)),
        Err(ConfigError::Missing(_))
    ));
    assert_eq!(
        load(&missing).unwrap_err().to_string(),
        format!("{}: no such file", missing.display())
    );
    let present = dir.join("ossd.toml");
    std::fs::write(&present, "periods = 5\n").unwrap();
    assert_eq!(load(&present).unwrap().periods, Some(5));
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "\nperiods = 1\n").unwrap();
    assert_eq!(
        load(&bad).unwrap_err().to_string(),
        format!(
            "{}:2: key `periods`: must be between 2 and 64, not 1",
            bad.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn defaults() {
    let s = Settings::resolve(FileConfig::default(), FileConfig::default()).unwrap();
    assert_eq!(s, Settings::default());
    assert_eq!(s.dsp, "dsp");
    assert_eq!(s.period_frames, 128);
    assert_eq!(s.periods, 3);
    assert_eq!(s.resampler, Quality::Fast);
    assert_eq!(s.cuse, Path::new("/dev/cuse"));
    assert_eq!(
        s.nodes(),
        [
            ("dsp", "dsp"),
            ("audio", "audio"),
            ("mixer", "mixer"),
            ("sndstat", "sndstat")
        ]
    );
    assert_eq!(s.idle_release(false), None);
    assert_eq!(s.idle_release(true), Some(CHOSEN_IDLE_RELEASE));
    assert_eq!(s.state_file, None);
    assert_eq!(s.capture(&["hw:0,0".to_string()]), ["hw:0,0"]);
}

#[test]
fn state_file_under_systemd() {
    let none = FileConfig::default;
    let dir = Some(Path::new("/var/lib/ossd:/var/lib/other"));
    let s = Settings::resolve_in(none(), none(), dir).unwrap();
    assert_eq!(
        s.state_file.as_deref(),
        Some(Path::new("/var/lib/ossd/mixer.state"))
    );
    let file = parse("state_file = \"\"", Path::new(P)).unwrap();
    assert_eq!(
        Settings::resolve_in(none(), file, dir).unwrap().state_file,
        None
    );
    let file = parse("state_file = \"/srv/m\"", Path::new(P)).unwrap();
    let s = Settings::resolve_in(none(), file, dir).unwrap();
    assert_eq!(s.state_file.as_deref(), Some(Path::new("/srv/m")));
    assert_eq!(
        Settings::resolve_in(none(), none(), None)
            .unwrap()
            .state_file,
        None
    );
}

#[test]
fn capture_follows_playback_unless_told() {
    let cli = |c: &str| FileConfig {
        capture_device: Some(vec![c.into()]),
        ..FileConfig::default()
    };
    let play = ["hw:0,0".to_string(), "hw:1,0".to_string()];
    let s = Settings::resolve(cli("none"), FileConfig::default()).unwrap();
    assert!(s.capture(&play).is_empty());
    let s = Settings::resolve(cli("hw:3,1"), FileConfig::default()).unwrap();
    assert_eq!(s.capture(&play), ["hw:3,1"]);
    let s = Settings::resolve(FileConfig::default(), FileConfig::default()).unwrap();
    assert_eq!(s.capture(&play), play);
}

#[test]
fn flags_win_over_file() {
    let file = parse(
        "periods = 4\nperiod_frames = 128\nresampler = \"high\"\nmixer = \"\"\nrt = false\n",
        Path::new(P),
    )
    .unwrap();
    let cli = FileConfig {
        periods: Some(6),
        device: Some(vec!["hw:2,0".into()]),
        ..FileConfig::default()
    };
    let s = Settings::resolve(cli, file).unwrap();
    assert_eq!(s.periods, 6); // flag
    assert_eq!(s.period_frames, 128); // file
    assert_eq!(s.resampler, Quality::High); // file
    assert_eq!(s.device, ["hw:2,0"]); // flag
    assert_eq!(s.mixer, None); // "" in the file: no mixer
    assert!(!s.rt);
    assert_eq!(s.dsp, "dsp"); // default
    let req = s.alsa_request("hw:2,0");
    assert_eq!((req.period_frames, req.periods), (128, 6));
}

#[test]
fn bad_flags_are_named_as_flags() {
    let cli = FileConfig {
        periods: Some(1),
        period_frames: Some(8),
        ..FileConfig::default()
    };
    assert_eq!(
        Settings::resolve(cli, FileConfig::default())
            .unwrap_err()
            .to_string(),
        "--period-frames: must be between 16 and 16384, not 8\n\
         --periods: must be between 2 and 64, not 1"
    );
}

#[test]
fn node_names_must_differ() {
    let cli = FileConfig {
        monitor: Some("dsp".into()),
        ..FileConfig::default()
    };
    assert_eq!(
        Settings::resolve(cli, FileConfig::default())
            .unwrap_err()
            .to_string(),
        "`dsp` and `monitor` are both /dev/dsp: give them different names"
    );
}

#[test]
fn names_parse_like_the_flags() {
    for f in SampleFormat::ALL {
        assert_eq!(parse_format(f.name()), Ok(f));
    }
    assert_eq!(parse_format("float_le"), Ok(SampleFormat::FloatLe));
    assert_eq!(LogLevel::from_verbose(0), None);
    assert_eq!(LogLevel::from_verbose(3), Some(LogLevel::Trace));
    assert_eq!(flag_of("idle_release_ms"), "--idle-release-ms");
}

#[test]
fn example_config_parses_and_documents_every_key() {
    let text = include_str!("../../packaging/ossd.toml");
    assert_eq!(
        parse(text, Path::new("packaging/ossd.toml")).unwrap(),
        FileConfig::default()
    );
    // Uncommenting every `# key = value` line gives a valid file.
    let on: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            l.split_once(" = ")
                .is_some_and(|(k, _)| kind_of(k).is_some())
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let c = parse(&on, Path::new("uncommented")).unwrap();
    let mut seen: Vec<&str> = on.lines().filter_map(|l| l.split(' ').next()).collect();
    seen.sort_unstable();
    let mut all: Vec<&str> = known_keys().collect();
    all.sort_unstable();
    assert_eq!(seen, all);
    Settings::resolve(FileConfig::default(), c).unwrap();
}
