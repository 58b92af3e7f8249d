//! What each ioctl does to one open file: [`Dsp::ioctl`] hands the call to
//! one function per family (format, buffer geometry, position, triggers,
//! volumes, identity and information, the modes accepted as hints), tried in
//! the order of [`FAMILIES`]; a call no family knows answers EINVAL. Each arm
//! notes the choice it makes where the OSS documents leave one.

use super::{
    DeviceInfo, Dsp, Env, Handled, Outcome, Streams, Volume, CHANNELS_LIMIT, DEFAULT_FRAGS,
    MAX_BUFFER, MAX_CHANNELS, MAX_FRAG_SHIFT, MAX_RATE, MIN_FRAGS, MIN_FRAG_SHIFT, MIN_RATE,
};
use crate::mix::record::RecVoice;
use crate::mix::Voice;
use crate::oss::soundcard::*;
use crate::pcm::format::{self, SampleFormat};
use crate::pcm::PcmFormat;

/// One ioctl as the family functions see it.
struct Call<'a> {
    cmd: u32,
    /// What the kernel copied in (restricted mode: the size encoded in `cmd`).
    input: &'a [u8],
    /// `input`'s first four bytes as an int, if it has them.
    int_arg: Option<i32>,
    env: Env<'a>,
    play: Option<&'a mut Voice>,
    rec: Option<&'a mut RecVoice>,
}

/// A family of ioctls: the outcome of the call, or `None` when the call is
/// not one of the family's.
type Family = fn(&mut Dsp, &mut Call<'_>) -> Option<Outcome>;

/// Every family, in the order they are asked.
const FAMILIES: [Family; 7] = [
    Dsp::format_call,
    Dsp::buffer_call,
    Dsp::position_call,
    Dsp::trigger_call,
    Dsp::volume_call,
    Dsp::info_call,
    Dsp::misc_call,
];

// The call's int argument, or its playback (or recording) stream; else the
// call answers EINVAL (the manual's answer for a missing direction).
macro_rules! arg {
    ($call:expr) => {
        match $call.int_arg {
            Some(v) => v,
            None => return Some(Outcome::Error(libc::EINVAL)),
        }
    };
}
macro_rules! play {
    ($call:expr) => {
        match $call.play.as_deref_mut() {
            Some(v) => v,
            None => return Some(Outcome::Error(libc::EINVAL)),
        }
    };
}
macro_rules! rec {
    ($call:expr) => {
        match $call.rec.as_deref_mut() {
            Some(v) => v,
            None => return Some(Outcome::Error(libc::EINVAL)),
        }
    };
}

impl Dsp {
    /// Handles one ioctl. `input` is what the kernel copied in (restricted
    /// mode: the size encoded in `cmd`).
    pub fn ioctl(&mut self, streams: Streams<'_>, env: Env<'_>, cmd: u32, input: &[u8]) -> Handled {
        self.dirty = false;
        let outcome = self.apply(streams, env, cmd, input);
        Handled {
            outcome,
            rebuild: std::mem::take(&mut self.dirty),
        }
    }

    fn apply(&mut self, streams: Streams<'_>, env: Env<'_>, cmd: u32, input: &[u8]) -> Outcome {
        let Streams { play, rec } = streams;
        let int_arg = input
            .get(..4)
            .map(|b| i32::from_ne_bytes(b.try_into().expect("4 bytes")));
        let mut call = Call {
            cmd,
            input,
            int_arg,
            env,
            play,
            rec,
        };
        FAMILIES
            .iter()
            .find_map(|family| family(self, &mut call))
            .unwrap_or(Outcome::Error(libc::EINVAL))
    }

    /// Format, channels and rate: never fail for a value a device could
    /// take; each writes back the choice.
    fn format_call(&mut self, call: &mut Call<'_>) -> Option<Outcome> {
        Some(match call.cmd {
            SNDCTL_DSP_SETFMT => {
                let v = arg!(call);
                // AFMT_QUERY (0) only reports; so does a negative value (not a format).
                if v > 0 {
                    let f = SampleFormat::from_afmt(v as u32)
                        .unwrap_or_else(|| format::nearest_supported(v as u32));
                    self.set_fmt(PcmFormat {
                        sample: f,
                        ..self.fmt
                    });
                }
                Outcome::int(self.fmt.sample.afmt() as i32)
            }
            SNDCTL_DSP_GETFMTS => Outcome::int(format::SUPPORTED_AFMTS as i32),
            SNDCTL_DSP_CHANNELS => {
                let v = arg!(call);
                // Negative, or more than any device has: refused, as the
                // kernel's emulation refuses them (OSS 4 and FreeBSD refuse
                // negative counts and clamp the rest). 0: a query.
                if v < 0 || v as u32 > CHANNELS_LIMIT {
                    return Some(Outcome::Error(libc::EINVAL));
                }
                if v > 0 {
                    let channels = (v as u32).clamp(1, MAX_CHANNELS);
                    self.set_fmt(PcmFormat {
                        channels,
                        ..self.fmt
                    });
                }
                Outcome::int(self.fmt.channels as i32)
            }
            SNDCTL_DSP_STEREO => {
                let channels = if arg!(call) != 0 { 2 } else { 1 };
                self.set_fmt(PcmFormat {
                    channels,
                    ..self.fmt
                });
                Outcome::int((self.fmt.channels == 2) as i32)
            }
            SNDCTL_DSP_SPEED => {
                let v = arg!(call);
                // 0 or negative: report the current rate (the manual's "query").
                if v > 0 {
                    let rate = (v as u32).clamp(MIN_RATE, MAX_RATE);
                    self.set_fmt(PcmFormat { rate, ..self.fmt });
                }
                Outcome::int(self.fmt.rate as i32)
            }
            SOUND_PCM_READ_RATE => Outcome::int(self.fmt.rate as i32),
            SOUND_PCM_READ_CHANNELS => Outcome::int(self.fmt.channels as i32),
            SOUND_PCM_READ_BITS => Outcome::int(self.fmt.sample.afmt() as i32),
            SNDCTL_DSP_GET_CHNORDER => Outcome::bytes(CHNORDER_NORMAL.to_ne_bytes().to_vec()),
            SNDCTL_DSP_SET_CHNORDER => {
                // Only the normal order is offered; the call writes back what is used.
                if call.input.len() < 8 {
                    return Some(Outcome::Error(libc::EINVAL));
                }
                Outcome::bytes(CHNORDER_NORMAL.to_ne_bytes().to_vec())
            }
            SNDCTL_DSP_GETCHANNELMASK => Outcome::int(DSP_BIND_FRONT as i32),
            SNDCTL_DSP_BIND_CHANNEL => {
                arg!(call);
                Outcome::int(DSP_BIND_FRONT as i32)
            }
            _ => return None,
        })
    }

    /// Buffer geometry: fragments, free and filled space, the poll threshold.
    fn buffer_call(&mut self, call: &mut Call<'_>) -> Option<Outcome> {
        Some(match call.cmd {
            SNDCTL_DSP_SETFRAGMENT => {
                let v = arg!(call) as u32;
                // A hint, honoured only before the first read/write (manual).
                if !self.io_started {
                    let shift = (v & 0xffff).clamp(MIN_FRAG_SHIFT, MAX_FRAG_SHIFT);
                    let size = 1usize << shift;
                    let count = match (v >> 16) as usize {
                        // 0x7fff (and 0) mean "as many as you like": use the default.
                        0 | 0x7fff => DEFAULT_FRAGS,
                        c => c,
                    };
                    self.frag_request = Some((
                        size,
                        count.clamp(MIN_FRAGS, (MAX_BUFFER / size).max(MIN_FRAGS)),
                    ));
                    self.dirty = true;
                }
                let (size, count) = self.geometry();
                Outcome::int(((count as u32) << 16 | size.trailing_zeros()) as i32)
            }
            SNDCTL_DSP_SUBDIVIDE => {
                let v = arg!(call);
                if !matches!(v, 0 | 1 | 2 | 4) {
                    return Some(Outcome::Error(libc::EINVAL));
                }
                if v > 0 && !self.io_started && self.frag_request.is_none() {
                    self.subdivide = v as usize;
                    self.dirty = true;
                }
                Outcome::int(self.subdivide as i32)
            }
            SNDCTL_DSP_GETBLKSIZE => Outcome::int(self.geometry().0 as i32),
            SNDCTL_DSP_GETOSPACE => {
                let voice = play!(call);
                self.buf_info(voice.capacity(), voice.space())
            }
            SNDCTL_DSP_LOW_WATER => {
                let v = arg!(call);
                let cap = call
                    .play
                    .as_ref()
                    .map(|p| p.capacity())
                    .or(call.rec.as_ref().map(|r| r.capacity()));
                // Clamped to 1 byte .. the whole buffer.
                self.low_water = Some((v.max(1) as usize).min(cap.unwrap_or(1).max(1)));
                Outcome::ok()
            }
            SNDCTL_DSP_POLICY => {
                // 0..10, a latency hint; accepted, the fragment defaults already
                // follow the device period.
                let v = arg!(call);
                if !(0..=10).contains(&v) {
                    return Some(Outcome::Error(libc::EINVAL));
                }
                Outcome::ok()
            }
            SNDCTL_DSP_GETISPACE => {
                let r = rec!(call);
                self.buf_info(r.capacity(), r.available())
            }
            _ => return None,
        })
    }

    /// Where playback and recording are: ODELAY and the byte and frame
    /// pointers, all from the device's own position.
    fn position_call(&mut self, call: &mut Call<'_>) -> Option<Outcome> {
        Some(match call.cmd {
            SNDCTL_DSP_GETODELAY => {
                let voice = play!(call);
                Outcome::int(self.odelay(voice, call.env.played).min(i32::MAX as u64) as i32)
            }
            SNDCTL_DSP_GETOPTR => {
                let voice = play!(call);
                let (size, _) = self.geometry();
                let played = self.played_bytes(voice, call.env.played);
                count_info(played, size, voice.capacity(), &mut self.optr_blocks_seen)
            }
            // An i386 program's number has the 140-byte struct (no tail
            // padding there): the same fields, cut to its size.
            SNDCTL_DSP_CURRENT_OPTR | SNDCTL_DSP_CURRENT_OPTR_I386 => {
                let voice = play!(call);
                let fb = self.fmt.frame_bytes() as u64;
                count(
                    call.cmd,
                    self.played_bytes(voice, call.env.played) / fb,
                    self.odelay(voice, call.env.played) / fb,
                )
            }
            SNDCTL_DSP_GETIPTR => {
                let r = rec!(call);
                let (size, _) = self.geometry();
                count_info(
                    r.produced_bytes(),
                    size,
                    r.capacity(),
                    &mut self.iptr_blocks_seen,
                )
            }
            SNDCTL_DSP_CURRENT_IPTR | SNDCTL_DSP_CURRENT_IPTR_I386 => {
                let r = rec!(call);
                let fb = self.fmt.frame_bytes() as u64;
                count(call.cmd, r.produced_bytes() / fb, r.available() as u64 / fb)
            }
            _ => return None,
        })
    }

    /// Starting, stopping and waiting: SYNC, POST, RESET and the halts, SKIP,
    /// SILENCE, and the trigger bits.
    fn trigger_call(&mut self, call: &mut Call<'_>) -> Option<Outcome> {
        Some(match call.cmd {
            // Output gated off by SETTRIGGER: nothing will play, so there is
            // nothing to wait for (waiting would hang the caller); nor on a
            // read-only file.
            SNDCTL_DSP_SYNC => {
                if call.play.as_deref_mut().is_some_and(|v| v.start_drain()) {
                    Outcome::ParkUntilDrained
                } else {
                    Outcome::ok()
                }
            }
            SNDCTL_DSP_POST => {
                play!(call).post();
                Outcome::ok()
            }
            // RESET is HALT (same number); HALT_OUTPUT and HALT_INPUT are
            // its halves. A halted direction is as just after open: empty,
            // stopped, and enabled again (OSS 4's reset restores the trigger
            // bits), so the next write or read starts it.
            SNDCTL_DSP_RESET => {
                self.halt_output(call.play.as_deref_mut(), call.env.played);
                self.halt_input(call.rec.as_deref_mut());
                Outcome::ok()
            }
            SNDCTL_DSP_HALT_OUTPUT => {
                self.halt_output(call.play.as_deref_mut(), call.env.played);
                Outcome::ok()
            }
            SNDCTL_DSP_HALT_INPUT => {
                self.halt_input(call.rec.as_deref_mut());
                Outcome::ok()
            }
            SNDCTL_DSP_SKIP => {
                // Drop what is queued but not yet taken by the mixer; keep playing.
                play!(call).skip();
                Outcome::ok()
            }
            SNDCTL_DSP_SILENCE => {
                // Overwrite what is queued with silence, keeping its length (and timing).
                play!(call).silence_queued();
                Outcome::ok()
            }
            // The trigger bits are enables (OSS 4 manual, SETTRIGGER): set for
            // every direction the file has from open on; a stream still
            // starts at its first write or read. Reported for the
            // directions the file has.
            SNDCTL_DSP_GETTRIGGER => {
                let mut bits = 0;
                if call.play.is_some() && self.enabled(PCM_ENABLE_OUTPUT) {
                    bits |= PCM_ENABLE_OUTPUT;
                }
                if call.rec.is_some() && self.enabled(PCM_ENABLE_INPUT) {
                    bits |= PCM_ENABLE_INPUT;
                }
                Outcome::int(bits as i32)
            }
            SNDCTL_DSP_SETTRIGGER => {
                self.set_trigger(
                    Streams {
                        play: call.play.as_deref_mut(),
                        rec: call.rec.as_deref_mut(),
                    },
                    arg!(call) as u32,
                );
                Outcome::ok()
            }
            _ => return None,
        })
    }

    /// The file's own playback and recording volumes, and its error counts.
    fn volume_call(&mut self, call: &mut Call<'_>) -> Option<Outcome> {
        Some(match call.cmd {
            SNDCTL_DSP_GETPLAYVOL => Outcome::int(self.play_volume.to_oss()),
            SNDCTL_DSP_SETPLAYVOL => {
                let v = arg!(call);
                let voice = play!(call);
                self.play_volume = Volume::from_oss(v);
                voice.set_gains(self.play_volume.gains(self.dev.pcm.channels as usize));
                Outcome::int(self.play_volume.to_oss())
            }
            SNDCTL_DSP_GETRECVOL => Outcome::int(self.rec_volume.to_oss()),
            SNDCTL_DSP_SETRECVOL => {
                self.rec_volume = Volume::from_oss(arg!(call));
                if let Some(r) = call.rec.as_deref_mut() {
                    r.set_gains(self.rec_gains(call.env.igain));
                }
                Outcome::int(self.rec_volume.to_oss())
            }
            SNDCTL_DSP_GETERROR => {
                let under = call.play.as_ref().map_or(0, |v| v.underruns());
                let over = call.rec.as_ref().map_or(0, |r| r.overruns());
                let new_under = under.wrapping_sub(self.underruns_reported);
                let new_over = over.wrapping_sub(self.overruns_reported);
                self.underruns_reported = under;
                self.overruns_reported = over;
                Outcome::bytes(
                    AudioErrInfo {
                        play_underruns: new_under.min(i32::MAX as u32) as i32,
                        rec_overruns: new_over.min(i32::MAX as u32) as i32,
                        ..AudioErrInfo::default()
                    }
                    .to_bytes()
                    .to_vec(),
                )
            }
            _ => return None,
        })
    }

    /// Identity and capabilities: what the device is and can do, and the
    /// file's name.
    fn info_call(&mut self, call: &mut Call<'_>) -> Option<Outcome> {
        Some(match call.cmd {
            SNDCTL_DSP_GETCAPS => Outcome::int(caps(call.env.info.has_capture) as i32),
            OSS_GETVERSION => Outcome::int(SOUND_VERSION as i32),
            SNDCTL_SETNAME => {
                let Some(name) = call.input.get(..OSS_LONGNAME_SIZE) else {
                    return Some(Outcome::Error(libc::EINVAL));
                };
                self.name = cstr_to_string(name);
                Outcome::ok()
            }
            SNDCTL_SYSINFO => Outcome::bytes(sysinfo(call.env.info).to_bytes().to_vec()),
            SNDCTL_AUDIOINFO | SNDCTL_AUDIOINFO_EX | SNDCTL_ENGINEINFO => {
                let dev = call.int_arg.unwrap_or(-1);
                // -1 asks about the device this file is open on; there is one.
                if dev != -1 && dev != 0 {
                    return Some(Outcome::Error(libc::EINVAL));
                }
                let records = dev == -1 && call.rec.is_some();
                Outcome::bytes(self.audioinfo(call.env.info, records).to_bytes().to_vec())
            }
            SNDCTL_CARDINFO => {
                let card = call.int_arg.unwrap_or(-1);
                if card != -1 && card != 0 {
                    return Some(Outcome::Error(libc::EINVAL));
                }
                let mut c = OssCardInfo::default();
                set_cstr(&mut c.shortname, "ossd");
                set_cstr(
                    &mut c.longname,
                    &format!("ossd on ALSA {}", call.env.info.alsa_name),
                );
                set_cstr(&mut c.hw_info, &self.device_description(call.env.info));
                Outcome::bytes(c.to_bytes().to_vec())
            }
            // "This is ossd's /dev/dsp": how ossd-run's library recognises
            // the files it may emulate mmap on (nothing changes here).
            SNDCTL_DSP_OSSD_IDENT => {
                let mut out = OSSD_IDENT_MAGIC.to_ne_bytes().to_vec();
                out.extend_from_slice(&OSSD_IDENT_VERSION.to_ne_bytes());
                Outcome::bytes(out)
            }
            _ => return None,
        })
    }

    /// Modes accepted and hints ignored: non-blocking, cooked mode, profiles,
    /// duplex, and the mmap calls CUSE cannot serve.
    fn misc_call(&mut self, call: &mut Call<'_>) -> Option<Outcome> {
        Some(match call.cmd {
            SNDCTL_DSP_NONBLOCK => {
                self.nonblock = true;
                Outcome::ok()
            }
            SNDCTL_DSP_COOKEDMODE => {
                // ossd always converts ("cooked"); turning it off is accepted
                // as a request the mixer cannot honour for shared hardware.
                arg!(call);
                Outcome::ok()
            }
            SNDCTL_DSP_PROFILE | SNDCTL_DSP_SETSYNCRO => Outcome::ok(),
            SNDCTL_DSP_SETDUPLEX => {
                // Duplex is what an O_RDWR file with a capture device already is.
                if call.play.is_some() && call.rec.is_some() {
                    Outcome::ok()
                } else {
                    Outcome::Error(libc::EINVAL)
                }
            }
            // No mmap over CUSE (the kernel refuses it), so no buffer to map.
            SNDCTL_DSP_MAPINBUF | SNDCTL_DSP_MAPOUTBUF => Outcome::Error(libc::EINVAL),
            _ => return None,
        })
    }
    /// GETOSPACE/GETISPACE: `bytes` free (playback) or available (recording)
    /// in a ring of `total`, in whole fragments.
    fn buf_info(&self, total: usize, bytes: usize) -> Outcome {
        let (size, _) = self.geometry();
        Outcome::bytes(
            AudioBufInfo {
                fragments: (bytes / size) as i32,
                fragstotal: (total / size).max(1) as i32,
                fragsize: size as i32,
                bytes: bytes as i32,
            }
            .to_bytes()
            .to_vec(),
        )
    }

    fn device_description(&self, info: &DeviceInfo) -> String {
        let d = &self.dev;
        format!(
            "{} {} {} Hz {} ch, period {} frames, buffer {} frames",
            info.alsa_name,
            d.pcm.sample.name(),
            d.pcm.rate,
            d.pcm.channels,
            d.period_frames,
            d.buffer_frames
        )
    }

    /// AUDIOINFO/ENGINEINFO. `records`: asked with dev -1 on a file that
    /// records (the capture, or the monitor, which records whether or not a
    /// capture device is configured): the input engine is described in
    /// full, as the output engine always is.
    fn audioinfo(&self, info: &DeviceInfo, records: bool) -> OssAudioinfo {
        let input = info.has_capture || records;
        let mut a = OssAudioinfo {
            dev: 0,
            busy: info.busy as i32,
            pid: -1,
            caps: (caps(info.has_capture) | if records { DSP_CAP_INPUT } else { 0 }) as i32,
            iformats: if input {
                format::SUPPORTED_AFMTS as i32
            } else {
                0
            },
            oformats: format::SUPPORTED_AFMTS as i32,
            card_number: 0,
            port_number: 0,
            mixer_dev: if info.has_mixer { 0 } else { -1 },
            real_device: 0,
            enabled: 1,
            min_rate: MIN_RATE as i32,
            max_rate: MAX_RATE as i32,
            min_channels: 1,
            max_channels: MAX_CHANNELS as i32,
            binding: DSP_BIND_FRONT as i32,
            rate_source: 0,
            nrates: 0,
            latency: -1,
            next_play_engine: 0,
            next_rec_engine: 0,
            ..OssAudioinfo::default()
        };
        set_cstr(&mut a.name, &format!("ossd mixer on {}", info.alsa_name));
        set_cstr(&mut a.cmd, &self.name);
        set_cstr(&mut a.handle, "ossd-dsp0");
        set_cstr(&mut a.label, "ossd");
        set_cstr(&mut a.devnode, &info.devnode);
        a
    }
    fn set_fmt(&mut self, fmt: PcmFormat) {
        if fmt != self.fmt {
            self.fmt = fmt;
            self.dirty = true;
        }
    }
}

/// CURRENT_OPTR/CURRENT_IPTR: frames moved in all, and frames queued, as
/// an `oss_count_t` of the size `cmd` asks for (144 bytes, or 140 from an
/// i386 program).
fn count(cmd: u32, samples: u64, queued: u64) -> Outcome {
    let mut out = OssCount {
        samples: samples as i64,
        fifo_samples: queued.min(i32::MAX as u64) as i32,
        filler: [0; 32],
    }
    .to_bytes()
    .to_vec();
    out.truncate(ioc_size(cmd));
    Outcome::bytes(out)
}

/// GETOPTR/GETIPTR: `bytes` moved in all (the OSS int wraps, as in every
/// driver), fragments moved since the last call (`seen` remembers), and the
/// position in a ring of `cap`.
fn count_info(bytes: u64, frag: usize, cap: usize, seen: &mut u64) -> Outcome {
    let blocks = bytes / frag as u64;
    let new_blocks = blocks.saturating_sub(*seen);
    *seen = blocks;
    Outcome::bytes(
        CountInfo {
            bytes: bytes as u32 as i32,
            blocks: new_blocks.min(i32::MAX as u64) as i32,
            ptr: (bytes % cap.max(1) as u64) as i32,
        }
        .to_bytes()
        .to_vec(),
    )
}

/// What /dev/dsp can do (GETCAPS): revision 1, real-time position
/// reporting, triggers, any number of opens, playback, any rate between
/// [`MIN_RATE`] and [`MAX_RATE`] (FREERATE: every stream is resampled, as
/// OSS 4's vmix engines say of theirs; without it, and without a list of
/// rates, OSS 4 programs such as GStreamer's oss4src find no rate at all),
/// and recording with full duplex where a capture device is configured.
/// Never MMAP: CUSE cannot map a buffer into the client.
pub fn caps(has_capture: bool) -> u32 {
    let base = 1
        | DSP_CAP_REALTIME
        | DSP_CAP_TRIGGER
        | DSP_CAP_MULTI
        | DSP_CAP_OUTPUT
        | DSP_CAP_VIRTUAL
        | DSP_CAP_FREERATE;
    if has_capture {
        base | DSP_CAP_INPUT | DSP_CAP_DUPLEX
    } else {
        base
    }
}

/// SNDCTL_SYSINFO: one card, one audio device, one mixer.
pub fn sysinfo(info: &DeviceInfo) -> OssSysinfo {
    let mut s = OssSysinfo {
        versionnum: SOUND_VERSION as i32,
        numaudios: 1,
        nummixers: info.has_mixer as i32,
        numcards: 1,
        numaudioengines: 1,
        ..OssSysinfo::default()
    };
    if info.open_files > 0 {
        s.openedaudio[0] = 1;
    }
    set_cstr(&mut s.product, "ossd");
    set_cstr(&mut s.version, env!("CARGO_PKG_VERSION"));
    set_cstr(&mut s.license, "MIT/Apache-2.0");
    set_cstr(&mut s.options, &format!("alsa={}", info.alsa_name));
    s
}
