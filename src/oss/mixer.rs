//! /dev/mixer: the levels the OSS 3 mixer API exposes and what each mixer
//! ioctl does to them, plus the OSS 4 information calls a mixer answers.
//!
//! This module owns the mixer *state* ([`MixerState`]: master VOLUME, PCM,
//! the recording level, the recording source, the change counter), the
//! ioctl state machine over it ([`MixerState::ioctl`]), the gains the engine
//! derives from it ([`MixerState::master_gains`]; the recording level is [`MixerState::igain`], which each reader multiplies with its own SETRECVOL in `oss::dsp`)
//! and its persistence as a small text file. It is pure except for
//! [`MixerState::load`] and [`MixerState::save`], kept apart at the end of
//! the `impl`; the daemon decides when to call them (when
//! [`MixerState::changed`] moves).
//!
//! # The controls
//!
//! | channel | bit in DEVMASK | meaning |
//! |---------|----------------|---------|
//! | `SOUND_MIXER_VOLUME` | always | master output level |
//! | `SOUND_MIXER_PCM` | always | /dev/dsp output level |
//! | `SOUND_MIXER_IGAIN` | with capture | recording level |
//! | `SOUND_MIXER_RECLEV` | with capture | the same recording level (an alias) |
//!
//! Every control is stereo (STEREODEVS = DEVMASK). The master output is
//! VOLUME × PCM: ossd has nothing but PCM to play, so the two are simply
//! multiplied, as a hardware mixer would chain them.
//!
//! # Recording source
//!
//! The device's capture is one stream, the card's capture input, which ossd
//! presents as `SOUND_MIXER_LINE` ([`REC_SOURCES`]). RECMASK is that bit when
//! the device records and 0 otherwise; CAPS says `SOUND_CAP_EXCL_INPUT` (one
//! source at a time). WRITE_RECSRC keeps only bits of RECMASK; if none are
//! left (0, or only unknown bits) the current source stays, and if several
//! are given the one not already selected wins (how OSS 3 drivers with
//! exclusive input treat a read-modify-write "add this source"). The call
//! writes back the mask in effect. Without capture RECSRC reads and writes
//! back 0.
//!
//! # Writes and the change counter
//!
//! A level write takes `left | right << 8`, each side clamped to 0..=100
//! (higher bits ignored), and writes back the value in effect. The change
//! counter ([`MixerState::changed`], reported as `modify_counter` by
//! SOUND_MIXER_INFO and SNDCTL_MIXERINFO) moves only when a write changes the
//! state in effect, so a daemon saving on every move does no needless work
//! and a mixer program polling `modify_counter` sees real changes only.
//!
//! # Not answered here
//!
//! `SNDCTL_SYSINFO` needs the device description (`dsp::DeviceInfo`), which
//! the mixer does not have: it answers EINVAL here, and the dispatcher
//! should answer it for /dev/mixer with [`crate::oss::dsp::sysinfo`] before
//! calling [`MixerState::ioctl`] (4Front's `ossinfo` and `ossmix` ask
//! /dev/mixer for it). The OSS 4 control API (`SNDCTL_MIX_EXTINFO`,
//! `SNDCTL_MIX_READ`/`WRITE`) is not offered: `SNDCTL_MIX_NRMIX` says 1 mixer
//! and `SNDCTL_MIX_NREXT` and `oss_mixerinfo.nrext` say 0 controls.
//!
//! # State file
//!
//! [`MixerState::to_state_string`] writes, and [`MixerState::from_state_str`]
//! reads, one `key = value` per line:
//!
//! ```text
//! # ossd mixer state (levels are left:right, each 0..=100)
//! volume = 100:100
//! pcm = 80:80
//! igain = 100:100
//! recsrc = line
//! ```
//!
//! Blank lines and `#` comments (whole-line or trailing) are ignored. A level
//! is `left:right` or a single number for both sides, each an integer
//! 0..=100. `recsrc` is the name of a recording source (`line`). A missing
//! key keeps its default; an unknown key, a malformed line, a bad value or a
//! key given twice is an error naming the line number and the key.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use crate::oss::dsp::Volume;
use crate::oss::soundcard::*;

/// Sources a recording can come from: the card's capture, shown as line in.
pub const REC_SOURCES: u32 = SOUND_MASK_LINE;

/// Channels every ossd mixer has.
const OUTPUT_DEVS: u32 = SOUND_MASK_VOLUME | SOUND_MASK_PCM;
/// Channels a mixer with capture adds (one control, two names).
const INPUT_DEVS: u32 = SOUND_MASK_IGAIN | SOUND_MASK_RECLEV;

/// `oss_mixerinfo.priority`: the only mixer there is, so the default one.
const MIXER_PRIORITY: i32 = 10;

/// What the mixer looks like to programs; fixed for the daemon's lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixerDesc {
    /// Shown by SOUND_MIXER_INFO and SNDCTL_MIXERINFO, e.g.
    /// "ossd on hw:Loopback,0,0".
    pub name: String,
    /// The device records: IGAIN/RECLEV exist and RECMASK is not empty.
    pub has_capture: bool,
}

/// What the daemon answers to a /dev/mixer ioctl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MixerOutcome {
    /// Return 0 with these output bytes (an `int` is 4 bytes, native-endian).
    Reply(Vec<u8>),
    /// Fail with this errno.
    Error(i32),
}

impl MixerOutcome {
    fn int(v: i32) -> MixerOutcome {
        MixerOutcome::Reply(v.to_ne_bytes().to_vec())
    }

    fn einval() -> MixerOutcome {
        MixerOutcome::Error(libc::EINVAL)
    }
}

/// The mixer's settings, shared by every open of /dev/mixer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixerState {
    /// SOUND_MIXER_VOLUME: master output level.
    volume: Volume,
    /// SOUND_MIXER_PCM: /dev/dsp output level.
    pcm: Volume,
    /// SOUND_MIXER_IGAIN, also reached as SOUND_MIXER_RECLEV.
    igain: Volume,
    /// The selected recording source: one bit of [`REC_SOURCES`].
    recsrc: u32,
    /// Effective changes so far.
    changes: u64,
}

impl Default for MixerState {
    fn default() -> Self {
        MixerState::new()
    }
}

impl MixerState {
    /// Everything at full level (100:100), recording from line in.
    pub fn new() -> Self {
        MixerState {
            volume: Volume::FULL,
            pcm: Volume::FULL,
            igain: Volume::FULL,
            recsrc: SOUND_MASK_LINE,
            changes: 0,
        }
    }

    /// SOUND_MIXER_VOLUME as set.
    pub fn volume(&self) -> Volume {
        self.volume
    }

    /// SOUND_MIXER_PCM as set.
    pub fn pcm(&self) -> Volume {
        self.pcm
    }

    /// The recording level (SOUND_MIXER_IGAIN = SOUND_MIXER_RECLEV) as set.
    pub fn igain(&self) -> Volume {
        self.igain
    }

    /// The selected recording source (a `SOUND_MASK_*` bit), whether or not
    /// the device records.
    pub fn recsrc(&self) -> u32 {
        self.recsrc
    }

    /// A counter that moves on every change of the state in effect.
    pub fn changed(&self) -> u64 {
        self.changes
    }

    /// Gains the engine multiplies the mix by, one per device channel:
    /// VOLUME × PCM of the side, left on even channels and right on odd
    /// ones; mono takes the louder side. 100:100 on both is exactly 1.0.
    pub fn master_gains(&self, channels: usize) -> Vec<f64> {
        let left = Volume::gain(self.volume.left) * Volume::gain(self.pcm.left);
        let right = Volume::gain(self.volume.right) * Volume::gain(self.pcm.right);
        if channels == 1 {
            return vec![left.max(right)];
        }
        (0..channels)
            .map(|c| if c % 2 == 0 { left } else { right })
            .collect()
    }

    /// DEVMASK (and STEREODEVS): the channels this mixer has.
    pub fn devmask(desc: &MixerDesc) -> u32 {
        if desc.has_capture {
            OUTPUT_DEVS | INPUT_DEVS
        } else {
            OUTPUT_DEVS
        }
    }

    /// RECMASK: the recording sources this mixer offers.
    pub fn recmask(desc: &MixerDesc) -> u32 {
        if desc.has_capture {
            REC_SOURCES
        } else {
            0
        }
    }

    /// Handles one /dev/mixer ioctl. `input` is what the kernel copied in
    /// (restricted mode: the size encoded in `cmd` for calls that pass a
    /// value); a shorter input is EINVAL. Unknown calls are EINVAL.
    pub fn ioctl(&mut self, cmd: u32, input: &[u8], desc: &MixerDesc) -> MixerOutcome {
        if ioc_dir(cmd) & IOC_WRITE != 0 && input.len() < ioc_size(cmd) {
            return MixerOutcome::einval();
        }
        let int_arg = input
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_ne_bytes);
        match cmd {
            SOUND_MIXER_INFO => {
                let mut info = MixerInfo {
                    id: cstr_array("ossd"),
                    modify_counter: self.modify_counter(),
                    ..MixerInfo::default()
                };
                set_cstr(&mut info.name, &desc.name);
                return MixerOutcome::Reply(info.to_bytes().to_vec());
            }
            SOUND_OLD_MIXER_INFO => {
                let mut info = OldMixerInfo {
                    id: cstr_array("ossd"),
                    ..OldMixerInfo::default()
                };
                set_cstr(&mut info.name, &desc.name);
                return MixerOutcome::Reply(info.to_bytes().to_vec());
            }
            OSS_GETVERSION => return MixerOutcome::int(SOUND_VERSION as i32),
            SNDCTL_MIXERINFO => {
                // -1 asks about the mixer this file is open on; there is one, 0.
                return match int_arg {
                    Some(-1 | 0) => MixerOutcome::Reply(self.mixerinfo(desc).to_bytes().to_vec()),
                    _ => MixerOutcome::einval(),
                };
            }
            SNDCTL_MIX_NRMIX => return MixerOutcome::int(1),
            SNDCTL_MIX_NREXT => {
                return match int_arg {
                    Some(-1 | 0) => MixerOutcome::int(0),
                    _ => MixerOutcome::einval(),
                };
            }
            _ => {}
        }
        let nr = ioc_nr(cmd);
        if cmd == mixer_read(nr) {
            return self.read(nr, desc);
        }
        if cmd == mixer_write(nr) {
            return match int_arg {
                Some(v) => self.write(nr, v, desc),
                None => MixerOutcome::einval(),
            };
        }
        MixerOutcome::einval()
    }

    /// `MIXER_READ(nr)`: a level, or one of the masks.
    fn read(&self, nr: u32, desc: &MixerDesc) -> MixerOutcome {
        match nr {
            SOUND_MIXER_RECSRC => MixerOutcome::int(self.recsrc_in_effect(desc) as i32),
            SOUND_MIXER_DEVMASK | SOUND_MIXER_STEREODEVS => {
                MixerOutcome::int(Self::devmask(desc) as i32)
            }
            SOUND_MIXER_RECMASK => MixerOutcome::int(Self::recmask(desc) as i32),
            SOUND_MIXER_CAPS => MixerOutcome::int(SOUND_CAP_EXCL_INPUT as i32),
            _ => match self.level(nr, desc) {
                Some(v) => MixerOutcome::int(v.to_oss()),
                None => MixerOutcome::einval(),
            },
        }
    }

    /// `MIXER_WRITE(nr)`: set a level or the recording source; writes back
    /// what is in effect.
    fn write(&mut self, nr: u32, value: i32, desc: &MixerDesc) -> MixerOutcome {
        if nr == SOUND_MIXER_RECSRC {
            return MixerOutcome::int(self.set_recsrc(value as u32, desc) as i32);
        }
        let Some(slot) = self.level_mut(nr, desc) else {
            return MixerOutcome::einval();
        };
        let new = Volume::from_oss(value);
        let changed = *slot != new;
        *slot = new;
        if changed {
            self.bump();
        }
        MixerOutcome::int(new.to_oss())
    }

    /// The level of channel `nr`, if this mixer has it.
    fn level(&self, nr: u32, desc: &MixerDesc) -> Option<Volume> {
        if !Self::has_channel(nr, desc) {
            return None;
        }
        match nr {
            SOUND_MIXER_VOLUME => Some(self.volume),
            SOUND_MIXER_PCM => Some(self.pcm),
            SOUND_MIXER_IGAIN | SOUND_MIXER_RECLEV => Some(self.igain),
            _ => None,
        }
    }

    fn level_mut(&mut self, nr: u32, desc: &MixerDesc) -> Option<&mut Volume> {
        if !Self::has_channel(nr, desc) {
            return None;
        }
        match nr {
            SOUND_MIXER_VOLUME => Some(&mut self.volume),
            SOUND_MIXER_PCM => Some(&mut self.pcm),
            SOUND_MIXER_IGAIN | SOUND_MIXER_RECLEV => Some(&mut self.igain),
            _ => None,
        }
    }

    fn has_channel(nr: u32, desc: &MixerDesc) -> bool {
        nr < SOUND_MIXER_NRDEVICES && Self::devmask(desc) & (1 << nr) != 0
    }

    /// RECSRC as programs see it: the selected source if the device records.
    fn recsrc_in_effect(&self, desc: &MixerDesc) -> u32 {
        self.recsrc & Self::recmask(desc)
    }

    /// WRITE_RECSRC: exclusive input, so one bit of RECMASK is kept (see the
    /// module doc); returns the mask in effect afterwards.
    fn set_recsrc(&mut self, mask: u32, desc: &MixerDesc) -> u32 {
        let valid = mask & Self::recmask(desc);
        if valid != 0 {
            let added = valid & !self.recsrc;
            let pick = if added != 0 { added } else { valid };
            let bit = pick & pick.wrapping_neg();
            if bit != self.recsrc {
                self.recsrc = bit;
                self.bump();
            }
        }
        self.recsrc_in_effect(desc)
    }

    fn bump(&mut self) {
        self.changes = self.changes.wrapping_add(1);
    }

    /// The change counter as the C `int` `modify_counter` (it wraps).
    fn modify_counter(&self) -> i32 {
        self.changes as u32 as i32
    }

    fn mixerinfo(&self, desc: &MixerDesc) -> OssMixerinfo {
        let mut m = OssMixerinfo {
            dev: 0,
            id: cstr_array("ossd"),
            modify_counter: self.modify_counter(),
            card_number: 0,
            port_number: 0,
            handle: cstr_array("ossd-mixer0"),
            enabled: 1,
            caps: MIXER_CAP_VIRTUAL,
            nrext: 0,
            priority: MIXER_PRIORITY,
            ..OssMixerinfo::default()
        };
        set_cstr(&mut m.name, &desc.name);
        m
    }

    // -----------------------------------------------------------------------
    // State text (pure)
    // -----------------------------------------------------------------------

    /// The state as the text of the state file (see the module doc).
    pub fn to_state_string(&self) -> String {
        let level = |v: Volume| format!("{}:{}", v.left, v.right);
        format!(
            "# ossd mixer state (levels are left:right, each 0..=100)\n\
             volume = {}\npcm = {}\nigain = {}\nrecsrc = {}\n",
            level(self.volume),
            level(self.pcm),
            level(self.igain),
            source_name(self.recsrc),
        )
    }

    /// Parses the state file text (see the module doc). The change counter
    /// starts at 0.
    pub fn from_state_str(s: &str) -> Result<Self, String> {
        let mut state = MixerState::new();
        // Line on which each key was first set, to reject repeats.
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for (i, raw) in s.lines().enumerate() {
            let n = i + 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!(
                    "line {n}: expected `key = value`, got `{}`",
                    line.escape_default()
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            let key_name = match key {
                "volume" | "pcm" | "igain" | "recsrc" => key,
                _ => {
                    return Err(format!(
                        "line {n}: unknown key `{}` (expected volume, pcm, igain or recsrc)",
                        key.escape_default()
                    ))
                }
            };
            if let Some(&(_, first)) = seen.iter().find(|(k, _)| *k == key_name) {
                return Err(format!(
                    "line {n}: key `{key_name}` given twice (first on line {first})"
                ));
            }
            seen.push((key_name, n));
            let bad = |what: &str| {
                format!(
                    "line {n}: key `{key_name}`: bad value `{}`, expected {what}",
                    value.escape_default()
                )
            };
            const LEVEL: &str = "left:right or one level, each an integer 0..=100";
            match key_name {
                "volume" => state.volume = parse_level(value).ok_or_else(|| bad(LEVEL))?,
                "pcm" => state.pcm = parse_level(value).ok_or_else(|| bad(LEVEL))?,
                "igain" => state.igain = parse_level(value).ok_or_else(|| bad(LEVEL))?,
                _ => {
                    state.recsrc = source_bit(value)
                        .ok_or_else(|| bad(&format!("a recording source: {}", source_list())))?
                }
            }
        }
        Ok(state)
    }

    // -----------------------------------------------------------------------
    // State file I/O (the only I/O of this module)
    // -----------------------------------------------------------------------

    /// Reads the state file: `Ok(None)` if it does not exist, an
    /// `InvalidData` error naming the file and line if it does not parse.
    pub fn load(path: &Path) -> io::Result<Option<Self>> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        MixerState::from_state_str(&text).map(Some).map_err(|msg| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {msg}", path.display()),
            )
        })
    }

    /// Writes the state file atomically: the text goes to a temporary file
    /// next to it (`.<name>.tmp`), is synced, and is renamed over `path`, so
    /// a reader or a crash sees the old file or the new one, never half of
    /// one. Creates the parent directory if needed.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        MixerState::save_text(&self.to_state_string(), path)
    }

    /// [`MixerState::save`] of a state already rendered by
    /// [`MixerState::to_state_string`] (the runtime saves off the protocol
    /// thread).
    pub fn save_text(text: &str, path: &Path) -> io::Result<()> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a file path", path.display()),
            )
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
        let written = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
            return written;
        }
        // Make the rename itself durable; not all filesystems allow this.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// `left:right` or `level`, each an integer 0..=100.
fn parse_level(s: &str) -> Option<Volume> {
    let side = |t: &str| t.trim().parse::<u8>().ok().filter(|&v| v <= 100);
    match s.split_once(':') {
        Some((l, r)) => Some(Volume {
            left: side(l)?,
            right: side(r)?,
        }),
        None => {
            let v = side(s)?;
            Some(Volume { left: v, right: v })
        }
    }
}

/// The channel name (`SOUND_DEVICE_NAMES`) of a recording source bit.
fn source_name(bit: u32) -> &'static str {
    SOUND_DEVICE_NAMES
        .get(bit.trailing_zeros() as usize)
        .copied()
        .unwrap_or("line")
}

/// The bit of a recording source named as in `SOUND_DEVICE_NAMES`.
fn source_bit(name: &str) -> Option<u32> {
    SOUND_DEVICE_NAMES
        .iter()
        .position(|&n| n == name)
        .map(|i| 1u32 << i)
        .filter(|bit| bit & REC_SOURCES != 0)
}

/// The names of the recording sources, for error messages.
fn source_list() -> String {
    (0..SOUND_MIXER_NRDEVICES)
        .filter(|i| REC_SOURCES & (1 << i) != 0)
        .map(|i| SOUND_DEVICE_NAMES[i as usize])
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(has_capture: bool) -> MixerDesc {
        MixerDesc {
            name: "ossd on hw:Loopback,0,0".into(),
            has_capture,
        }
    }

    fn int(v: i32) -> Vec<u8> {
        v.to_ne_bytes().to_vec()
    }

    /// The int a successful call wrote back.
    fn reply_int(out: MixerOutcome) -> i32 {
        match out {
            MixerOutcome::Reply(b) => {
                assert_eq!(b.len(), 4, "an int reply");
                i32::from_ne_bytes(b[..4].try_into().unwrap())
            }
            MixerOutcome::Error(e) => panic!("expected a reply, got errno {e}"),
        }
    }

    fn read(m: &mut MixerState, nr: u32, d: &MixerDesc) -> MixerOutcome {
        m.ioctl(mixer_read(nr), &[], d)
    }

    fn write(m: &mut MixerState, nr: u32, v: i32, d: &MixerDesc) -> MixerOutcome {
        m.ioctl(mixer_write(nr), &int(v), d)
    }

    const EINVAL: MixerOutcome = MixerOutcome::Error(libc::EINVAL);

    #[test]
    fn fresh_state() {
        let mut m = MixerState::new();
        let d = desc(true);
        assert_eq!(m, MixerState::default());
        for nr in [
            SOUND_MIXER_VOLUME,
            SOUND_MIXER_PCM,
            SOUND_MIXER_IGAIN,
            SOUND_MIXER_RECLEV,
        ] {
            assert_eq!(reply_int(read(&mut m, nr, &d)), 100 | 100 << 8);
        }
        assert_eq!(
            reply_int(read(&mut m, SOUND_MIXER_RECSRC, &d)),
            SOUND_MASK_LINE as i32
        );
        assert_eq!(m.changed(), 0);
    }

    #[test]
    fn level_writes_clamp_and_write_back() {
        let d = desc(true);
        let cases: &[(i32, i32)] = &[
            (0, 0),
            (50 | 25 << 8, 50 | 25 << 8),
            (100 | 100 << 8, 100 | 100 << 8),
            (101 | 200 << 8, 100 | 100 << 8),
            (255 | 255 << 8, 100 | 100 << 8),
            (-1, 100 | 100 << 8),
            (i32::MIN, 0),
            // Bits above 16 are ignored.
            (0x7abc_0000 | 30 | 40 << 8, 30 | 40 << 8),
            (-65536 | 7 | 9 << 8, 7 | 9 << 8),
            // Only the left byte given: right is 0.
            (60, 60),
        ];
        for nr in [
            SOUND_MIXER_VOLUME,
            SOUND_MIXER_PCM,
            SOUND_MIXER_IGAIN,
            SOUND_MIXER_RECLEV,
        ] {
            let mut m = MixerState::new();
            for &(input, expect) in cases {
                assert_eq!(
                    reply_int(write(&mut m, nr, input, &d)),
                    expect,
                    "write {input:#x} to channel {nr}"
                );
                assert_eq!(reply_int(read(&mut m, nr, &d)), expect);
            }
        }
    }

    #[test]
    fn igain_and_reclev_are_one_control() {
        let d = desc(true);
        let mut m = MixerState::new();
        write(&mut m, SOUND_MIXER_RECLEV, 20 | 30 << 8, &d);
        assert_eq!(reply_int(read(&mut m, SOUND_MIXER_IGAIN, &d)), 20 | 30 << 8);
        write(&mut m, SOUND_MIXER_IGAIN, 70, &d);
        assert_eq!(reply_int(read(&mut m, SOUND_MIXER_RECLEV, &d)), 70);
        assert_eq!(m.igain(), Volume { left: 70, right: 0 });
        // The playback levels did not move.
        assert_eq!(m.volume(), Volume::FULL);
        assert_eq!(m.pcm(), Volume::FULL);
    }

    #[test]
    fn modify_counter_moves_on_effective_writes_only() {
        let d = desc(true);
        let mut m = MixerState::new();
        let counter = |m: &mut MixerState| {
            let MixerOutcome::Reply(b) = m.ioctl(SOUND_MIXER_INFO, &[], &d) else {
                panic!("SOUND_MIXER_INFO failed");
            };
            MixerInfo::from_bytes(&b).unwrap().modify_counter
        };
        assert_eq!(counter(&mut m), 0);
        write(&mut m, SOUND_MIXER_VOLUME, 100 | 100 << 8, &d);
        assert_eq!(m.changed(), 0, "same value: no change");
        write(&mut m, SOUND_MIXER_VOLUME, 90 | 90 << 8, &d);
        assert_eq!(m.changed(), 1);
        write(&mut m, SOUND_MIXER_PCM, 150 | 100 << 8, &d);
        assert_eq!(m.changed(), 1, "clamps to the value in effect");
        write(&mut m, SOUND_MIXER_PCM, 0, &d);
        write(&mut m, SOUND_MIXER_RECLEV, 1, &d);
        assert_eq!(m.changed(), 3);
        assert_eq!(counter(&mut m), 3);
        // Failed and read-only calls change nothing.
        write(&mut m, SOUND_MIXER_BASS, 0, &d);
        m.ioctl(SOUND_MIXER_WRITE_VOLUME, &[1, 2], &d);
        read(&mut m, SOUND_MIXER_DEVMASK, &d);
        write(&mut m, SOUND_MIXER_RECSRC, SOUND_MASK_LINE as i32, &d);
        assert_eq!(m.changed(), 3);
        let MixerOutcome::Reply(b) = m.ioctl(SNDCTL_MIXERINFO, &[0xff; OssMixerinfo::SIZE], &d)
        else {
            panic!("SNDCTL_MIXERINFO failed");
        };
        assert_eq!(OssMixerinfo::from_bytes(&b).unwrap().modify_counter, 3);
    }

    #[test]
    fn masks() {
        let mut m = MixerState::new();
        let full = desc(true);
        let play_only = desc(false);
        let all = OUTPUT_DEVS | INPUT_DEVS;
        assert_eq!(all, 0b1_1000_0001_0001);
        assert_eq!(
            reply_int(read(&mut m, SOUND_MIXER_DEVMASK, &full)),
            all as i32
        );
        assert_eq!(
            reply_int(read(&mut m, SOUND_MIXER_STEREODEVS, &full)),
            all as i32
        );
        assert_eq!(
            reply_int(read(&mut m, SOUND_MIXER_RECMASK, &full)),
            SOUND_MASK_LINE as i32
        );
        assert_eq!(
            reply_int(read(&mut m, SOUND_MIXER_DEVMASK, &play_only)),
            (SOUND_MASK_VOLUME | SOUND_MASK_PCM) as i32
        );
        assert_eq!(
            reply_int(read(&mut m, SOUND_MIXER_STEREODEVS, &play_only)),
            (SOUND_MASK_VOLUME | SOUND_MASK_PCM) as i32
        );
        assert_eq!(reply_int(read(&mut m, SOUND_MIXER_RECMASK, &play_only)), 0);
        for d in [&full, &play_only] {
            assert_eq!(
                reply_int(m.ioctl(SOUND_MIXER_READ_CAPS, &[], d)),
                SOUND_CAP_EXCL_INPUT as i32
            );
        }
        // The masks are read-only.
        for nr in [
            SOUND_MIXER_DEVMASK,
            SOUND_MIXER_STEREODEVS,
            SOUND_MIXER_RECMASK,
            SOUND_MIXER_CAPS,
            SOUND_MIXER_OUTSRC,
            SOUND_MIXER_OUTMASK,
        ] {
            assert_eq!(write(&mut m, nr, 0, &full), EINVAL, "write {nr:#x}");
        }
        assert_eq!(read(&mut m, SOUND_MIXER_OUTSRC, &full), EINVAL);
        assert_eq!(read(&mut m, SOUND_MIXER_OUTMASK, &full), EINVAL);
    }

    /// Every bit of DEVMASK is readable and writable; no other channel is.
    #[test]
    fn devmask_is_exactly_the_usable_channels() {
        for d in [desc(true), desc(false)] {
            let mut m = MixerState::new();
            let devmask = reply_int(read(&mut m, SOUND_MIXER_DEVMASK, &d)) as u32;
            for nr in 0..32 {
                let present = devmask & (1 << nr) != 0;
                let r = read(&mut m, nr, &d);
                let w = write(&mut m, nr, 33 | 44 << 8, &d);
                if present {
                    assert_eq!(reply_int(w), 33 | 44 << 8, "write channel {nr}");
                    assert_eq!(
                        reply_int(read(&mut m, nr, &d)),
                        33 | 44 << 8,
                        "read channel {nr}"
                    );
                    reply_int(r);
                } else {
                    assert_eq!(r, EINVAL, "read channel {nr}");
                    assert_eq!(w, EINVAL, "write channel {nr}");
                }
            }
        }
        // The named absent ones, for the record.
        let d = desc(true);
        let mut m = MixerState::new();
        assert_eq!(m.ioctl(SOUND_MIXER_WRITE_BASS, &int(50), &d), EINVAL);
        assert_eq!(m.ioctl(SOUND_MIXER_READ_MIC, &[], &d), EINVAL);
        assert_eq!(m.ioctl(SOUND_MIXER_READ_MUTE, &[], &d), EINVAL);
        assert_eq!(m.ioctl(SOUND_MIXER_WRITE_LINE, &int(50), &d), EINVAL);
        let play_only = desc(false);
        assert_eq!(m.ioctl(SOUND_MIXER_READ_IGAIN, &[], &play_only), EINVAL);
        assert_eq!(
            m.ioctl(SOUND_MIXER_WRITE_RECLEV, &int(5), &play_only),
            EINVAL
        );
    }

    #[test]
    fn recsrc() {
        let d = desc(true);
        let mut m = MixerState::new();
        let line = SOUND_MASK_LINE as i32;
        assert_eq!(reply_int(write(&mut m, SOUND_MIXER_RECSRC, line, &d)), line);
        // 0, unknown bits, negative: the current source stays and is written back.
        for v in [
            0,
            SOUND_MASK_MIC as i32,
            SOUND_MASK_CD as i32,
            i32::MIN,
            1 << 30,
        ] {
            assert_eq!(
                reply_int(write(&mut m, SOUND_MIXER_RECSRC, v, &d)),
                line,
                "{v:#x}"
            );
        }
        // Known bits among unknown ones: the known one is kept.
        assert_eq!(reply_int(write(&mut m, SOUND_MIXER_RECSRC, -1, &d)), line);
        assert_eq!(
            reply_int(write(
                &mut m,
                SOUND_MIXER_RECSRC,
                (SOUND_MASK_MIC | SOUND_MASK_LINE) as i32,
                &d
            )),
            line
        );
        assert_eq!(reply_int(read(&mut m, SOUND_MIXER_RECSRC, &d)), line);
        assert_eq!(m.changed(), 0);
        // Without capture there is no source at all.
        let p = desc(false);
        assert_eq!(reply_int(read(&mut m, SOUND_MIXER_RECSRC, &p)), 0);
        assert_eq!(reply_int(write(&mut m, SOUND_MIXER_RECSRC, line, &p)), 0);
        assert_eq!(m.recsrc(), SOUND_MASK_LINE, "kept for when capture exists");
    }

    #[test]
    fn exclusive_input_prefers_the_added_source() {
        // With one source this cannot be seen through the ioctl; check the
        // rule itself with a state holding a source outside REC_SOURCES.
        let d = desc(true);
        let mut m = MixerState {
            recsrc: SOUND_MASK_MIC,
            ..MixerState::new()
        };
        let out = m.set_recsrc(SOUND_MASK_MIC | SOUND_MASK_LINE, &d);
        assert_eq!(out, SOUND_MASK_LINE);
        assert_eq!(m.changed(), 1);
    }

    #[test]
    fn short_input_is_einval() {
        let d = desc(true);
        let mut m = MixerState::new();
        for len in 0..4 {
            let short = vec![50u8; len];
            for nr in [
                SOUND_MIXER_VOLUME,
                SOUND_MIXER_PCM,
                SOUND_MIXER_IGAIN,
                SOUND_MIXER_RECSRC,
            ] {
                assert_eq!(m.ioctl(mixer_write(nr), &short, &d), EINVAL);
            }
            assert_eq!(m.ioctl(SNDCTL_MIX_NREXT, &short, &d), EINVAL);
        }
        assert_eq!(
            m.ioctl(SNDCTL_MIXERINFO, &[0; OssMixerinfo::SIZE - 1], &d),
            EINVAL
        );
        assert_eq!(m.ioctl(SNDCTL_MIXERINFO, &[], &d), EINVAL);
        assert_eq!(m, MixerState::new());
        // Longer input than the size is fine (only the first int counts).
        assert_eq!(
            reply_int(m.ioctl(SOUND_MIXER_WRITE_PCM, &[10, 20, 0, 0, 99, 99], &d)),
            10 | 20 << 8
        );
    }

    #[test]
    fn info_calls() {
        let d = desc(true);
        let mut m = MixerState::new();
        let MixerOutcome::Reply(b) = m.ioctl(SOUND_MIXER_INFO, &[], &d) else {
            panic!()
        };
        assert_eq!(b.len(), MixerInfo::SIZE);
        let info = MixerInfo::from_bytes(&b).unwrap();
        assert_eq!(cstr_to_string(&info.id), "ossd");
        assert_eq!(cstr_to_string(&info.name), "ossd on hw:Loopback,0,0");
        assert_eq!(info.modify_counter, 0);

        let MixerOutcome::Reply(b) = m.ioctl(SOUND_OLD_MIXER_INFO, &[], &d) else {
            panic!()
        };
        assert_eq!(b.len(), OldMixerInfo::SIZE);
        let old = OldMixerInfo::from_bytes(&b).unwrap();
        assert_eq!(cstr_to_string(&old.id), "ossd");
        assert_eq!(cstr_to_string(&old.name), "ossd on hw:Loopback,0,0");

        // A name longer than the field is cut, NUL-terminated.
        let long = MixerDesc {
            name: "x".repeat(100),
            has_capture: false,
        };
        let MixerOutcome::Reply(b) = m.ioctl(SOUND_MIXER_INFO, &[], &long) else {
            panic!()
        };
        assert_eq!(
            cstr_to_string(&MixerInfo::from_bytes(&b).unwrap().name).len(),
            31
        );

        assert_eq!(
            reply_int(m.ioctl(OSS_GETVERSION, &[], &d)),
            SOUND_VERSION as i32
        );
        assert_eq!(reply_int(m.ioctl(SNDCTL_MIX_NRMIX, &[], &d)), 1);
        assert_eq!(reply_int(m.ioctl(SNDCTL_MIX_NREXT, &int(0), &d)), 0);
        assert_eq!(reply_int(m.ioctl(SNDCTL_MIX_NREXT, &int(-1), &d)), 0);
        assert_eq!(m.ioctl(SNDCTL_MIX_NREXT, &int(1), &d), EINVAL);
    }

    #[test]
    fn oss4_mixerinfo() {
        let d = desc(true);
        let mut m = MixerState::new();
        write(&mut m, SOUND_MIXER_PCM, 5, &d);
        for dev in [-1, 0] {
            let mut input = vec![0xa5u8; OssMixerinfo::SIZE];
            input[..4].copy_from_slice(&int(dev));
            let MixerOutcome::Reply(b) = m.ioctl(SNDCTL_MIXERINFO, &input, &d) else {
                panic!("dev {dev}")
            };
            assert_eq!(b.len(), OssMixerinfo::SIZE);
            let mi = OssMixerinfo::from_bytes(&b).unwrap();
            assert_eq!(mi.dev, 0);
            assert_eq!(cstr_to_string(&mi.id), "ossd");
            assert_eq!(cstr_to_string(&mi.name), "ossd on hw:Loopback,0,0");
            assert_eq!(cstr_to_string(&mi.handle), "ossd-mixer0");
            assert_eq!(mi.modify_counter, 1);
            assert_eq!(mi.card_number, 0);
            assert_eq!(mi.enabled, 1);
            assert_eq!(mi.caps, MIXER_CAP_VIRTUAL);
            assert_eq!(mi.nrext, 0);
            assert_eq!(mi.priority, MIXER_PRIORITY);
            assert!(mi.filler.iter().all(|&f| f == 0));
        }
        for dev in [1, 2, -2, i32::MAX, i32::MIN] {
            let mut input = vec![0u8; OssMixerinfo::SIZE];
            input[..4].copy_from_slice(&int(dev));
            assert_eq!(m.ioctl(SNDCTL_MIXERINFO, &input, &d), EINVAL, "dev {dev}");
        }
    }

    #[test]
    fn unknown_calls_are_einval() {
        let d = desc(true);
        let mut m = MixerState::new();
        for cmd in [
            0,
            u32::MAX,
            SNDCTL_SYSINFO,
            SNDCTL_MIX_EXTINFO,
            SNDCTL_MIX_READ,
            SNDCTL_MIX_WRITE,
            SOUND_MIXER_AGC,
            SOUND_MIXER_ACCESS,
            SOUND_MIXER_PRIVATE1,
            SNDCTL_DSP_SPEED,
            SNDCTL_DSP_GETCAPS,
            // A mixer number with the wrong direction or size.
            iow(OSS_IOCTYPE_MIXER, SOUND_MIXER_VOLUME, 4),
            ior(OSS_IOCTYPE_MIXER, SOUND_MIXER_VOLUME, 2),
            iowr(OSS_IOCTYPE_MIXER, SOUND_MIXER_VOLUME, 8),
            io(OSS_IOCTYPE_MIXER, SOUND_MIXER_VOLUME),
        ] {
            let input = vec![0u8; ioc_size(cmd)];
            assert_eq!(m.ioctl(cmd, &input, &d), EINVAL, "{cmd:#010x}");
        }
        assert_eq!(m, MixerState::new());
    }

    /// Arbitrary commands and bytes never panic.
    #[test]
    fn garbage_never_panics() {
        let d = desc(true);
        let mut m = MixerState::new();
        let mut x: u32 = 0x1234_5678;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let cmd = if x & 1 == 0 { mixer_write(x >> 24) } else { x };
            let len = (x >> 8) as usize % 8;
            let input: Vec<u8> = (0..len).map(|i| (x >> (i % 4 * 8)) as u8).collect();
            let _ = m.ioctl(cmd, &input, &d);
            assert!(m.volume().left <= 100 && m.igain().right <= 100);
        }
    }

    #[test]
    fn gains() {
        let d = desc(true);
        let mut m = MixerState::new();
        assert_eq!(m.master_gains(2), vec![1.0, 1.0]);
        assert_eq!(m.master_gains(1), vec![1.0]);
        assert_eq!(m.master_gains(6), vec![1.0; 6]);
        assert!(m.master_gains(0).is_empty());
        assert_eq!(m.igain().gains(2), vec![1.0, 1.0]);

        write(&mut m, SOUND_MIXER_VOLUME, 0, &d);
        assert_eq!(m.master_gains(2), vec![0.0, 0.0]);
        assert_eq!(m.master_gains(1), vec![0.0]);

        // VOLUME × PCM per side.
        write(&mut m, SOUND_MIXER_VOLUME, 100 | 60 << 8, &d);
        write(&mut m, SOUND_MIXER_PCM, 80 | 100 << 8, &d);
        let g = m.master_gains(4);
        assert_eq!(g[0], Volume::gain(80));
        assert_eq!(g[1], Volume::gain(60));
        assert_eq!(g[2], g[0]);
        assert_eq!(g[3], g[1]);
        write(&mut m, SOUND_MIXER_PCM, 50 | 50 << 8, &d);
        let g = m.master_gains(2);
        assert!((g[0] - Volume::gain(50)).abs() < 1e-15);
        assert!((g[1] - Volume::gain(60) * Volume::gain(50)).abs() < 1e-15);
        // Mono: the louder side.
        assert_eq!(m.master_gains(1), vec![g[0]]);
        write(&mut m, SOUND_MIXER_PCM, 100 << 8, &d);
        assert_eq!(m.master_gains(1), vec![Volume::gain(60)]);

        write(&mut m, SOUND_MIXER_IGAIN, 100 << 8, &d);
        assert_eq!(m.igain().gains(2), vec![0.0, 1.0]);
        assert_eq!(m.igain().gains(1), vec![1.0]);
    }

    #[test]
    fn state_string_round_trip() {
        let d = desc(true);
        let mut m = MixerState::new();
        assert_eq!(
            m.to_state_string(),
            "# ossd mixer state (levels are left:right, each 0..=100)\n\
             volume = 100:100\npcm = 100:100\nigain = 100:100\nrecsrc = line\n"
        );
        assert_eq!(
            MixerState::from_state_str(&m.to_state_string()),
            Ok(m.clone())
        );
        write(&mut m, SOUND_MIXER_VOLUME, 1 << 8, &d);
        write(&mut m, SOUND_MIXER_PCM, 80 | 80 << 8, &d);
        write(&mut m, SOUND_MIXER_RECLEV, 33 | 100 << 8, &d);
        let text = m.to_state_string();
        assert!(text.contains("volume = 0:1\npcm = 80:80\nigain = 33:100\n"));
        let back = MixerState::from_state_str(&text).unwrap();
        assert_eq!(back.volume(), m.volume());
        assert_eq!(back.pcm(), m.pcm());
        assert_eq!(back.igain(), m.igain());
        assert_eq!(back.recsrc(), m.recsrc());
        assert_eq!(back.changed(), 0);
    }

    #[test]
    fn state_string_lenient_forms() {
        let m = MixerState::from_state_str(
            "\n  # comment\n\tpcm=40   # trailing comment\nvolume =  7 : 9 \n\n",
        )
        .unwrap();
        assert_eq!(
            m.pcm(),
            Volume {
                left: 40,
                right: 40
            }
        );
        assert_eq!(m.volume(), Volume { left: 7, right: 9 });
        assert_eq!(m.igain(), Volume::FULL, "missing keys keep their default");
        assert_eq!(m.recsrc(), SOUND_MASK_LINE);
        assert_eq!(MixerState::from_state_str(""), Ok(MixerState::new()));
        assert_eq!(
            MixerState::from_state_str("volume = 1:2\r\npcm = 3:4\r\n")
                .unwrap()
                .pcm(),
            Volume { left: 3, right: 4 }
        );
    }

    #[test]
    fn state_string_errors_name_line_and_key() {
        let cases: &[(&str, &[&str])] = &[
            ("volume = 100:100\nbass = 3:3\n", &["line 2", "`bass`"]),
            ("\n\npcm = 101:100\n", &["line 3", "`pcm`", "`101:100`"]),
            ("pcm = -1:0", &["line 1", "`pcm`"]),
            ("igain = 50:", &["line 1", "`igain`"]),
            ("igain = 1:2:3", &["line 1", "`igain`"]),
            ("volume = loud", &["line 1", "`volume`", "`loud`"]),
            ("volume =", &["line 1", "`volume`"]),
            ("recsrc = mic", &["line 1", "`recsrc`", "`mic`", "line"]),
            ("recsrc = ", &["line 1", "`recsrc`"]),
            (
                "pcm = 1\n# x\npcm = 2\n",
                &["line 3", "`pcm`", "twice", "line 1"],
            ),
            (
                "volume 100:100",
                &["line 1", "key = value", "volume 100:100"],
            ),
            ("= 5", &["line 1", "unknown key ``"]),
            ("VOLUME = 5", &["line 1", "`VOLUME`"]),
            (
                "pcm = 5\nvolume = 5\nx\u{7}y = 1",
                &["line 3", "`x\\u{7}y`"],
            ),
        ];
        for (text, wants) in cases {
            let err = MixerState::from_state_str(text).expect_err(text);
            for want in *wants {
                assert!(err.contains(want), "{text:?}: {err:?} lacks {want:?}");
            }
        }
    }

    #[test]
    fn save_and_load() {
        let dir = std::env::temp_dir().join(format!("ossd-mixer-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("mixer.state");
        assert!(MixerState::load(&path).unwrap().is_none());

        let d = desc(true);
        let mut m = MixerState::new();
        write(&mut m, SOUND_MIXER_PCM, 12 | 34 << 8, &d);
        m.save(&path).unwrap();
        let back = MixerState::load(&path).unwrap().unwrap();
        assert_eq!(
            back.pcm(),
            Volume {
                left: 12,
                right: 34
            }
        );
        // Saving again replaces the file and leaves no temporary behind.
        write(&mut m, SOUND_MIXER_PCM, 56, &d);
        m.save(&path).unwrap();
        assert_eq!(MixerState::load(&path).unwrap().unwrap().pcm().left, 56);
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("mixer.state")]);

        fs::write(&path, "volume = 1:1\npcm = what\n").unwrap();
        let err = MixerState::load(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let msg = err.to_string();
        assert!(msg.contains("mixer.state") && msg.contains("line 2") && msg.contains("`pcm`"));

        assert!(m.save(Path::new("/")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
