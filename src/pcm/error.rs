//! The one error a device returns ([`DeviceError`]), for the output and
//! the capture devices alike: why it could not be opened, or stopped
//! working. Vocabulary: the core answers with it, the devices make it. The
//! messages are the ones the user sees.

use alsa::Direction;

use super::DeviceConfig;

/// Why a device could not be opened, or stopped working. The messages are
/// the ones the user sees (`ossd` prints them as they are).
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The ALSA PCM did not open.
    #[error("cannot open ALSA {} device {device:?}: {source}", dir_name(.dir))]
    Open {
        device: String,
        dir: Direction,
        source: alsa::Error,
    },
    /// The PCM opened but refused a step of its configuration (`what`).
    #[error("ALSA {} device {device:?}: {what}: {source}", dir_name(.dir))]
    Config {
        device: String,
        dir: Direction,
        what: String,
        source: alsa::Error,
    },
    /// The PCM does not take the sample format asked for.
    #[error("ALSA {} device {device:?}: format {format} refused: {source}", dir_name(.dir))]
    FormatRefused {
        device: String,
        dir: Direction,
        format: &'static str,
        source: alsa::Error,
    },
    /// The PCM takes none of the sample formats ossd would choose.
    #[error(
        "ALSA {} device {device:?}: takes none of S32_LE, S24_LE, S24_3LE, S16_LE, FLOAT_LE, U8",
        dir_name(.dir)
    )]
    NoFormat { device: String, dir: Direction },
    /// A read or write failed in a way that no recovery fixes.
    #[error("{0}")]
    Alsa(#[from] alsa::Error),
    /// The device vanished (unplugged, driver unbound).
    #[error("the device is gone: {0}")]
    Gone(#[source] alsa::Error),
    /// A sound server could not be reached (not running, its socket
    /// missing, the network down) or did not answer in time.
    #[error("cannot reach the sound server {server}: {why}")]
    ServerAbsent { server: String, why: String },
    /// The sound server closed the connection or the stream, or stopped
    /// taking sound.
    #[error("the sound server {server} went away: {why}")]
    ServerGone { server: String, why: String },
    /// The output device, released while idle, came back with another
    /// configuration than the mixer runs at.
    #[error("the device reopened as {got:?}, not {want:?}")]
    Reopened {
        got: DeviceConfig,
        want: DeviceConfig,
    },
    /// The output device, released while idle, did not open again.
    #[error("cannot reopen the output device: {0}")]
    Reopen(#[source] Box<DeviceError>),
    /// Recording was asked for, but there is no capture device.
    #[error("no capture device configured")]
    NoCapture,
    /// The capture thread did not start.
    #[error("cannot start the capture thread: {0}")]
    CaptureThread(#[source] std::io::Error),
}

impl DeviceError {
    /// Another program holds the device (a sound server, another player):
    /// there, but not for ossd now. Like an absent one, it is tried again.
    pub fn is_busy(&self) -> bool {
        matches!(self, DeviceError::Open { source, .. } if source.errno() == libc::EBUSY)
    }

    /// The device is not there (no such card or PCM, or it vanished), as
    /// opposed to there and refusing: ossd then plays to a stand-in clock
    /// and waits for it.
    pub fn is_absent(&self) -> bool {
        match self {
            DeviceError::Open { source, .. } => {
                matches!(source.errno(), libc::ENOENT | libc::ENODEV | libc::ENXIO)
            }
            DeviceError::Gone(_)
            | DeviceError::ServerAbsent { .. }
            | DeviceError::ServerGone { .. } => true,
            _ => false,
        }
    }
}

fn dir_name(dir: &Direction) -> &'static str {
    match dir {
        Direction::Playback => "playback",
        Direction::Capture => "capture",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(errno: i32) -> alsa::Error {
        alsa::Error::new("snd_pcm_writei", errno)
    }

    #[test]
    fn messages_name_the_device_the_direction_and_the_step() {
        let open = DeviceError::Open {
            device: "hw:1,0".into(),
            dir: Direction::Capture,
            source: err(libc::EBUSY),
        };
        assert!(open
            .to_string()
            .starts_with("cannot open ALSA capture device \"hw:1,0\": ALSA function"));
        let cfg = DeviceError::Config {
            device: "hw:0,0".into(),
            dir: Direction::Playback,
            what: "rate".into(),
            source: err(libc::EINVAL),
        };
        assert!(cfg
            .to_string()
            .starts_with("ALSA playback device \"hw:0,0\": rate: ALSA function"));
        let none = DeviceError::NoFormat {
            device: "hw:0,0".into(),
            dir: Direction::Playback,
        };
        assert!(none
            .to_string()
            .ends_with(": takes none of S32_LE, S24_LE, S24_3LE, S16_LE, FLOAT_LE, U8"));
        let again = DeviceError::Reopen(Box::new(none));
        assert!(again
            .to_string()
            .starts_with("cannot reopen the output device: ALSA playback device"));
    }

    #[test]
    fn a_missing_card_is_absent_a_busy_one_is_not() {
        let open = |errno| DeviceError::Open {
            device: "hw:Loopback,0,0".into(),
            dir: Direction::Playback,
            source: err(errno),
        };
        assert!(open(libc::ENOENT).is_absent());
        assert!(open(libc::ENODEV).is_absent());
        assert!(!open(libc::EBUSY).is_absent());
        assert!(open(libc::EBUSY).is_busy());
        assert!(!open(libc::ENOENT).is_busy());
        assert!(!open(libc::EACCES).is_absent());
        assert!(DeviceError::Gone(err(libc::ENODEV)).is_absent());
        assert!(!DeviceError::Alsa(err(libc::EIO)).is_absent());
    }
}
