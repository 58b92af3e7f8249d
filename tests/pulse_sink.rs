//! ossd's output through a real sound server, on any machine: PulseAudio
//! (Debian's `pulseaudio`, which scripts/deps installs) runs here with a
//! null sink, which consumes sound by its own clock as a card would, and
//! ossd's [`PulseSink`] plays to it over a unix socket of the test's own.
//! The server is killed under the sink and started again, as a session
//! ends and begins: the sink says the server is gone (an absent device,
//! for the engine's stand-in), and a new one opens on the new server.
//! The full path (clients, mixing, PulseAudio holding a real ALSA card)
//! is the VM suite's `server_*` checks.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ossd::output::pulse::PulseSink;
use ossd::output::Sink;
use ossd::pcm::{DeviceConfig, PcmFormat, SampleFormat};

struct Server {
    child: Child,
    dir: PathBuf,
}

impl Server {
    /// PulseAudio with a null sink, its socket at `dir`/native.
    fn start(dir: &Path) -> Server {
        std::fs::create_dir_all(dir).unwrap();
        let script = dir.join("test.pa");
        std::fs::write(
            &script,
            format!(
                "load-module module-null-sink sink_name=null rate=48000\n\
                 load-module module-native-protocol-unix socket={}/native auth-anonymous=1\n\
                 set-default-sink null\n",
                dir.display()
            ),
        )
        .unwrap();
        let child = Command::new("pulseaudio")
            .args(["-n", "-F"])
            .arg(&script)
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--log-level=error",
            ])
            .env("HOME", dir)
            .env("XDG_RUNTIME_DIR", dir)
            .env("XDG_CONFIG_HOME", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pulseaudio is not installed (scripts/deps installs it)");
        let socket = dir.join("native");
        let t0 = Instant::now();
        while !socket.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "pulseaudio did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            dir: dir.to_owned(),
        }
    }

    fn address(&self) -> String {
        format!("unix:{}/native", self.dir.display())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self.dir.join("native"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn want() -> DeviceConfig {
    DeviceConfig {
        pcm: PcmFormat {
            sample: SampleFormat::S16Le,
            channels: 2,
            rate: 48000,
        },
        period_frames: 128,
        buffer_frames: 384,
    }
}

/// Plays `frames` of a tone the way the engine does: a block when there is
/// room for it. Returns how long it took.
fn play(sink: &mut PulseSink, frames: u32) -> Result<Duration, ossd::device::DeviceError> {
    let block = 128u32;
    let fb = sink.config().pcm.frame_bytes();
    let mut bytes = vec![0u8; block as usize * fb];
    for (i, b) in bytes.chunks_exact_mut(2).enumerate() {
        b.copy_from_slice(&(((i / 2) as i16 % 64) * 200).to_le_bytes());
    }
    let t0 = Instant::now();
    let mut done = 0;
    while done < frames {
        sink.wait_ready(block)?;
        sink.write_period(&bytes)?;
        done += block;
    }
    Ok(t0.elapsed())
}

#[test]
fn a_sink_on_a_sound_server_keeps_its_time_and_notices_it_going_away() {
    let dir = std::env::temp_dir().join(format!("ossd-pulse-sink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut server = Server::start(&dir);

    let mut sink = PulseSink::open(Some(&server.address()), &want()).expect("opens");
    let cfg = sink.config();
    // ossd's 8 ms default is below what a server serves: at least 10 ms
    // periods and 40 ms of latency are asked for, in whole blocks (the
    // server keeps part of that latency in its sink, and grants the rest
    // as the stream's buffer).
    assert!(cfg.period_frames >= 480, "{cfg:?}");
    assert!(cfg.buffer_frames >= 2 * cfg.period_frames, "{cfg:?}");
    assert!(!sink.has_hw_pointer());

    // A second of sound takes a second, less what the buffer holds.
    let took = play(&mut sink, 48000).expect("plays");
    let buffer = Duration::from_secs_f64(f64::from(cfg.buffer_frames) / 48000.0);
    assert!(
        took + buffer + Duration::from_millis(50) >= Duration::from_secs(1),
        "1 s of sound was taken in {took:?}: the server is not pacing the sink"
    );
    assert!(took < Duration::from_secs(3), "1 s of sound took {took:?}");
    // What is queued is what the server has not played: at most the
    // buffer and the sink's own latency, some of it at least.
    let delay = sink.delay();
    assert!(delay > 0 && delay < 48000 / 2, "delay {delay} frames");
    assert_eq!(sink.xruns(), 0, "a steady writer never starves the server");

    // The server goes (the session ends): the sink says so, in bounded time.
    server.kill();
    let t0 = Instant::now();
    let err = play(&mut sink, 48000 * 10).expect_err("the server is gone");
    assert!(err.is_absent(), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    drop(sink);

    // No server: the device is absent, at once.
    let t0 = Instant::now();
    let err = PulseSink::open(Some(&server.address()), &want()).expect_err("no server");
    assert!(err.is_absent(), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    assert!(
        err.to_string().contains("cannot reach the sound server"),
        "{err}"
    );

    // A new server (the user logs in again): a new sink plays.
    let server = Server::start(&dir);
    let mut sink = PulseSink::open(Some(&server.address()), &want()).expect("opens again");
    play(&mut sink, 4800).expect("plays again");
    drop(sink);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_server_that_does_not_answer_never_holds_the_engine_up() {
    use ossd::output::pulse::{Connector, QUICK};
    // A TCP port that takes connections (the kernel's backlog does) and
    // never says a word, as a server on a machine that froze.
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("tcp:{}", mute.local_addr().unwrap());
    let mut connector = Connector::default();
    let t0 = Instant::now();
    let err = connector.open(&address, &want()).expect_err("no answer");
    assert!(err.is_absent(), "{err}");
    assert!(
        t0.elapsed() < QUICK + Duration::from_millis(400),
        "the engine waited {:?}",
        t0.elapsed()
    );
    assert!(err.to_string().contains("still connecting"), "{err}");
    // The try goes on alone and ends in its own time; a later try takes
    // its end (the server never answered) and starts afresh.
    std::thread::sleep(Duration::from_secs(4));
    let err = connector
        .open(&address, &want())
        .expect_err("still no answer");
    assert!(err.to_string().contains("no answer in 3 s"), "{err}");
    // Nobody listening at all: absent, as quickly.
    drop(mute);
    let t0 = Instant::now();
    let err = connector.open(&address, &want()).expect_err("nobody");
    assert!(err.is_absent(), "{err}");
    assert!(t0.elapsed() < QUICK + Duration::from_millis(400));
}
