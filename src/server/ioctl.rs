//! IOCTL routing: a mixer call (on /dev/mixer, or an `M` call on /dev/dsp)
//! goes to the mixer state, a system information call on the mixer to a
//! fresh [`Dsp`], the sync-group calls to [`super::sync`], everything else
//! to the file's own [`Dsp::ioctl`] under the engines' lock; its outcome is
//! answered, or parked (SYNC). Also what a mixer change does to the engines.

use super::file::{streams, File, FileKind, RecSlot};
use super::{Answer, Fail, NodeKind, Ports, Server};
use crate::oss::dsp::{DeviceInfo, Dsp, Env, Handled, Outcome, Streams, Volume};
use crate::oss::mixer::{MixerDesc, MixerOutcome};
use crate::oss::soundcard::{
    ioc_type, OPEN_READ, OPEN_WRITE, OSS_GETVERSION, SNDCTL_AUDIOINFO, SNDCTL_AUDIOINFO_EX,
    SNDCTL_CARDINFO, SNDCTL_DSP_SYNCGROUP, SNDCTL_DSP_SYNCSTART, SNDCTL_ENGINEINFO, SNDCTL_SYSINFO,
};

impl Server {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ioctl(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        cmd: u32,
        input: &[u8],
        out_size: u32,
        io: &mut impl Ports,
    ) {
        let is_mixer_call = match self.files[&fh].kind {
            FileKind::Mixer | FileKind::Sndstat { .. } => true,
            // Real drivers answer the mixer ioctls on /dev/dsp too.
            FileKind::Dsp(_) => ioc_type(cmd) == b'M' as u32 && cmd != OSS_GETVERSION,
        };
        let info_call = matches!(
            cmd,
            SNDCTL_SYSINFO
                | SNDCTL_AUDIOINFO
                | SNDCTL_AUDIOINFO_EX
                | SNDCTL_ENGINEINFO
                | SNDCTL_CARDINFO
        );
        let info = self.device_info();
        let outcome = if !is_mixer_call && cmd == SNDCTL_DSP_SYNCGROUP {
            self.sync_group(fh, input, io)
        } else if !is_mixer_call && cmd == SNDCTL_DSP_SYNCSTART {
            self.sync_start(input, io)
        } else if is_mixer_call && info_call {
            // ossinfo and friends ask /dev/mixer about the whole system.
            let dev = io.engines(|e| *e.mixer.device());
            let env = Env {
                played: 0,
                info: &info,
                igain: self.mixer_state.igain(),
            };
            Dsp::new(dev)
                .ioctl(Streams::default(), env, cmd, input)
                .outcome
        } else if is_mixer_call {
            let desc = MixerDesc {
                name: format!("ossd on {}", self.settings.device_name),
                has_capture: self.settings.can_record,
            };
            let out = match self.mixer_state.ioctl(cmd, input, &desc) {
                MixerOutcome::Reply(out) => Outcome::Reply { result: 0, out },
                MixerOutcome::Error(e) => Outcome::Error(e),
            };
            self.apply_mixer(io);
            out
        } else {
            let now = io.now();
            let mixer_igain = self.mixer_state.igain();
            let f = self.dsp_file(fh).expect("a dsp file");
            let handled: Handled = io.engines(|e| {
                let env = Env {
                    played: e.position.played(now),
                    info: &info,
                    // The mixer's recording level is the capture's, not the monitor's.
                    igain: if matches!(f.rec, Some(RecSlot::Monitor(_))) {
                        Volume::FULL
                    } else {
                        mixer_igain
                    },
                };
                f.dsp.ioctl(streams(f.play, f.rec, e), env, cmd, input)
            });
            // A format, rate, channel or fragment change takes effect at
            // once, dropping what was queued in the old format (an implicit
            // reset, as OSS drivers do when the format changes mid-stream).
            if handled.rebuild {
                self.rebuild_streams(fh, io);
            }
            handled.outcome
        };
        match outcome {
            Outcome::Reply { out, .. } if out.len() > out_size as usize => {
                // The kernel would refuse the reply: only a wrong table could cause it.
                tracing::error!(cmd, "ioctl output larger than its declared size");
                self.fail(node, unique, Fail::Invalid)
            }
            Outcome::Reply { result, out } => self.answer(
                node,
                Answer::Ioctl {
                    unique,
                    result,
                    out,
                },
            ),
            Outcome::Error(errno) => self.fail(node, unique, Fail::Errno(errno)),
            Outcome::ParkUntilDrained => {
                if let Some(f) = self.dsp_file(fh) {
                    f.syncs.push(unique);
                }
            }
        }
    }

    pub(super) fn device_info(&self) -> DeviceInfo {
        DeviceInfo {
            alsa_name: self.settings.device_name.clone(),
            devnode: self
                .nodes
                .iter()
                .find(|n| n.kind == NodeKind::Dsp)
                .map_or_else(String::new, |n| format!("/dev/{}", n.name)),
            open_files: self
                .files
                .values()
                .filter(|f| matches!(f.kind, FileKind::Dsp(_)))
                .count(),
            busy: self.files.values().filter_map(File::dsp).fold(0, |b, d| {
                b | if d.play.is_some() { OPEN_WRITE } else { 0 }
                    | if d.rec.is_some() { OPEN_READ } else { 0 }
            }),
            has_capture: self.settings.can_record,
            has_mixer: self.nodes.iter().any(|n| n.kind == NodeKind::Mixer),
        }
    }

    /// After a mixer change: new master and recording gains, and the state
    /// to save.
    pub(super) fn apply_mixer(&mut self, io: &mut impl Ports) {
        let now = self.mixer_state.changed();
        if now == self.mixer_seen {
            return;
        }
        self.mixer_seen = now;
        let igain = self.mixer_state.igain();
        let (state, files) = (&self.mixer_state, &self.files);
        io.engines(|e| {
            let ch = e.mixer.device().pcm.channels as usize;
            e.mixer.master = state.master_gains(ch);
            let Some(c) = e.capture.as_mut() else { return };
            for d in files.values().filter_map(File::dsp) {
                if let Some(RecSlot::Capture(id)) = d.rec {
                    if let Some(r) = c.recorders.get_mut(id) {
                        r.set_gains(d.dsp.rec_gains(igain));
                    }
                }
            }
        });
        if self.settings.save_mixer {
            self.mixer_save = Some(self.mixer_state.to_state_string());
        }
    }
}
