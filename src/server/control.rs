//! The core's side of the control socket ([`crate::control`]): the status
//! snapshot, gathered as /dev/sndstat's text is (one pass under the
//! engines' lock, command names asked outside it), and the changes a
//! control client may make: a client's SETPLAYVOL (and mute), the mixer's
//! VOLUME. Each goes the way the client's own ioctl, or /dev/mixer's,
//! would, so GETPLAYVOL and the mixer read them back and the state file
//! saves them.

use serde_json::{json, Value};

use super::{Engines, File, Ports, Server};
use crate::control::{ClientStatus, DeviceStatus, MixerStatus, Status, Target, TotalsStatus};
use crate::oss::dsp::{Env, Volume};
use crate::oss::mixer::{MixerDesc, MixerOutcome};
use crate::oss::soundcard::{SNDCTL_DSP_SETPLAYVOL, SOUND_MIXER_WRITE_VOLUME};
use crate::pcm::format::FIXED_ONE;
use crate::pcm::DeviceConfig;

fn device_status(
    name: String,
    d: &DeviceConfig,
    latency_frames: u64,
    xruns: u64,
    missing: Option<&str>,
) -> DeviceStatus {
    DeviceStatus {
        name,
        format: d.pcm.sample.name().into(),
        rate: d.pcm.rate,
        channels: d.pcm.channels,
        period_frames: d.period_frames,
        buffer_frames: d.buffer_frames,
        latency_ms: latency_frames as f64 * 1000.0 / f64::from(d.pcm.rate.max(1)),
        xruns,
        missing: missing.map(str::to_owned),
    }
}

fn pair(v: Volume) -> [u8; 2] {
    [v.left, v.right]
}

impl Server {
    /// The capture devices' names, as sndstat gives them, after the
    /// runtime moved recording (`ossd ctl capture`).
    pub fn set_capture_name(&mut self, name: String) {
        self.settings.capture_name = name;
    }

    /// The output devices, most preferred first, after the runtime moved
    /// the output (`ossd ctl device`): sndstat and the status name them.
    pub fn set_device_names(&mut self, names: Vec<String>) {
        self.settings.device_name = names.join(", ");
        self.settings.device_names = names;
    }

    /// Everything `status` answers. `meters`: take each voice's peak since
    /// the last ask (the meters run while someone watches).
    pub fn status(&mut self, io: &mut impl Ports, meters: bool) -> Status {
        let now = io.now();
        let capture_name = self.settings.capture_name.clone();
        let capture_dev = self.capture_dev;
        let (device_name, nodes, files) = (&self.settings.device_name, &self.nodes, &self.files);
        let names = &self.settings.device_names;
        let (output, capture, mut clients, totals, metering) = io.engines(|e: &mut Engines<'_>| {
            let dev = e.output.config.unwrap_or(*e.mixer.device());
            let played = e.position.played(now);
            let queued = e.position.written.saturating_sub(played);
            let output = device_status(
                names.get(e.output.device).unwrap_or(device_name).clone(),
                &dev,
                queued.min(u64::from(dev.buffer_frames)),
                e.device_xruns,
                e.output_missing.then_some("playing on a stand-in clock"),
            );
            let capture = match (capture_dev, &e.capture) {
                (Some(d), Some(c)) => Some(device_status(
                    capture_name,
                    &d,
                    u64::from(d.buffer_frames),
                    c.xruns,
                    c.missing.then_some("recording silence"),
                )),
                _ => None,
            };
            let metering = e.mixer.meters;
            let mut clients = Vec::new();
            for (&fh, f) in files.iter() {
                let Some(d) = f.dsp() else { continue };
                let (size, count) = d.dsp.geometry();
                let (underruns, queued_ms, peak) = match d.play.and_then(|id| e.mixer.voice_mut(id))
                {
                    Some(v) => {
                        let fmt = v.format();
                        let frames = v.queued() / fmt.frame_bytes().max(1);
                        let peak =
                            (meters && metering).then(|| v.take_peak() as f64 / FIXED_ONE as f64);
                        (
                            v.underruns(),
                            frames as f64 * 1000.0 / f64::from(fmt.rate.max(1)),
                            peak,
                        )
                    }
                    None => (0, 0.0, None),
                };
                let overruns = super::file::rec_overruns(d.rec, e);
                clients.push(ClientStatus {
                    fh,
                    pid: f.pid,
                    command: String::new(), // asked below, outside the locks
                    name: d.dsp.name.clone(),
                    node: nodes[f.node].name.clone(),
                    direction: match (d.play.is_some(), d.rec.is_some()) {
                        (true, true) => "duplex",
                        (false, true) => "record",
                        _ => "play",
                    }
                    .into(),
                    format: d.dsp.fmt.sample.name().into(),
                    rate: d.dsp.fmt.rate,
                    channels: d.dsp.fmt.channels,
                    frag_size: size,
                    frags: count,
                    queued_ms,
                    volume: pair(d.dsp.play_volume),
                    muted: d.muted.is_some(),
                    peak,
                    underruns,
                    overruns,
                    bytes_written: d.written,
                    bytes_read: d.read,
                    open_s: now.saturating_duration_since(d.opened).as_secs_f64(),
                });
            }
            let totals = TotalsStatus {
                clients_served: 0,
                device_underruns: e.device_xruns,
                standin_frames: e.standin_frames,
                skipped_frames: e.output.skipped_frames,
            };
            (output, capture, clients, totals, metering)
        });
        for c in &mut clients {
            c.command = io.command_of(c.pid).unwrap_or_else(|| "?".into());
        }
        Status {
            version: env!("CARGO_PKG_VERSION").into(),
            output,
            capture,
            mixer: MixerStatus {
                volume: pair(self.mixer_state.volume()),
                pcm: pair(self.mixer_state.pcm()),
            },
            clients,
            totals: TotalsStatus {
                clients_served: self.served,
                ..totals
            },
            meters: metering,
        }
    }

    /// The playing files `target` names.
    fn targets(&self, target: Target) -> Result<Vec<u64>, String> {
        let playing = |f: &File| f.dsp().is_some_and(|d| d.play.is_some());
        let fhs: Vec<u64> = match target {
            Target::Fh(fh) => match self.files.get(&fh) {
                Some(f) if playing(f) => vec![fh],
                Some(_) => return Err(format!("file {fh} does not play")),
                None => return Err(format!("no open file {fh} (see `ossd status`)")),
            },
            Target::Pid(pid) => self
                .files
                .iter()
                .filter(|(_, f)| f.pid == pid && playing(f))
                .map(|(&fh, _)| fh)
                .collect(),
        };
        match (fhs.is_empty(), target) {
            (true, Target::Pid(pid)) => Err(format!("process {pid} plays nothing through ossd")),
            _ => Ok(fhs),
        }
    }

    /// SETPLAYVOL on `fh`, as the client's own ioctl would do it.
    fn set_play_volume(&mut self, fh: u64, v: Volume, io: &mut impl Ports) {
        let now = io.now();
        let info = self.device_info();
        let igain = self.mixer_state.igain();
        let Some(f) = self.dsp_file(fh) else { return };
        let arg = v.to_oss().to_ne_bytes();
        io.engines(|e| {
            let env = Env {
                played: e.position.played(now),
                info: &info,
                igain,
            };
            let _ = f.dsp.ioctl(
                super::file::streams(f.play, f.rec, e),
                env,
                SNDCTL_DSP_SETPLAYVOL,
                &arg,
            );
        });
    }

    /// `volume`: sets the files' SETPLAYVOL to `level` on both sides (and
    /// unmutes them). The answer's fields.
    pub fn control_volume(
        &mut self,
        target: Target,
        level: u8,
        io: &mut impl Ports,
    ) -> Result<Value, String> {
        let fhs = self.targets(target)?;
        let v = Volume {
            left: level,
            right: level,
        };
        for &fh in &fhs {
            if let Some(f) = self.dsp_file(fh) {
                f.muted = None;
            }
            self.set_play_volume(fh, v, io);
        }
        Ok(json!({"fh": fhs, "volume": pair(v)}))
    }

    /// `mute` (volume 0, the level kept) or `unmute` (back to it).
    pub fn control_mute(
        &mut self,
        target: Target,
        on: bool,
        io: &mut impl Ports,
    ) -> Result<Value, String> {
        let fhs = self.targets(target)?;
        for &fh in &fhs {
            let Some(f) = self.dsp_file(fh) else { continue };
            let to = match (on, f.muted) {
                (true, None) => {
                    f.muted = Some(f.dsp.play_volume);
                    Volume { left: 0, right: 0 }
                }
                (false, Some(was)) => {
                    f.muted = None;
                    was
                }
                _ => continue, // already so
            };
            self.set_play_volume(fh, to, io);
        }
        Ok(json!({"fh": fhs, "muted": on}))
    }

    /// `master`: the mixer's VOLUME, as /dev/mixer sets it (saved with the
    /// mixer state).
    pub fn control_master(&mut self, level: u8, io: &mut impl Ports) -> Result<Value, String> {
        let desc = MixerDesc {
            name: format!("ossd on {}", self.settings.device_name),
            has_capture: self.settings.can_record,
        };
        let arg = (i32::from(level) | i32::from(level) << 8).to_ne_bytes();
        match self
            .mixer_state
            .ioctl(SOUND_MIXER_WRITE_VOLUME, &arg, &desc)
        {
            MixerOutcome::Reply(_) => {}
            MixerOutcome::Error(e) => return Err(format!("the mixer refused: errno {e}")),
        }
        self.apply_mixer(io);
        Ok(json!({"master": pair(self.mixer_state.volume())}))
    }
}
