//! Opening and closing files: OPEN (a dsp file's voice in the mixer, its
//! recorder in the capture engine or the monitor, the capture device opened
//! for the first reader), rebuilding a file's streams after a format change,
//! and RELEASE (a close that plays out its stream parks until it has, or
//! its deadline), with the removal of a file's streams that follows.

use std::time::Duration;

use super::file::{DspFile, File, FileKind, ParkedRelease, RecSlot};
use super::{Answer, Fail, NodeKind, Ports, Server};
use crate::oss::dsp::{Dsp, Volume};
use crate::pcm::DeviceConfig;
use crate::pcm::DeviceError;

impl Server {
    /// The capture device's configuration, opening it for the first reader.
    pub(super) fn ensure_capture(
        &mut self,
        io: &mut impl Ports,
    ) -> Result<DeviceConfig, DeviceError> {
        if let Some(d) = self.capture_dev {
            return Ok(d);
        }
        if !self.settings.can_record {
            return Err(DeviceError::NoCapture);
        }
        let d = io.open_capture()?;
        tracing::info!(
            device = self.settings.capture_name,
            format = d.pcm.sample.name(),
            rate = d.pcm.rate,
            channels = d.pcm.channels,
            period = d.period_frames,
            "capture opened"
        );
        self.capture_dev = Some(d);
        Ok(d)
    }

    /// A new reader of the capture device: its slot.
    pub(super) fn add_capture_reader(
        &mut self,
        dsp: &Dsp,
        io: &mut impl Ports,
    ) -> Result<RecSlot, DeviceError> {
        let dev = self.ensure_capture(io)?;
        let r = dsp.make_rec_voice(&dev, self.settings.quality, self.mixer_state.igain());
        io.engines(|e| e.capture.as_mut().map(|c| c.recorders.insert(r)))
            .map(RecSlot::Capture)
            .ok_or(DeviceError::NoCapture)
    }

    pub(super) fn open(
        &mut self,
        node: usize,
        unique: u64,
        flags: u32,
        pid: u32,
        io: &mut impl Ports,
    ) {
        let acc = flags as i32 & libc::O_ACCMODE;
        let kind = match self.nodes[node].kind {
            NodeKind::Mixer => FileKind::Mixer,
            // Sndstat and the monitor are read-only: the monitor records
            // what is played, it plays nothing itself.
            NodeKind::Sndstat | NodeKind::Monitor if acc != libc::O_RDONLY => {
                return self.fail(node, unique, Fail::Access);
            }
            NodeKind::Sndstat => FileKind::Sndstat {
                text: self.render_sndstat(io).into_bytes(),
                pos: 0,
            },
            NodeKind::Monitor => {
                let dev = io.engines(|e| *e.mixer.device());
                let dsp = Dsp::new(dev);
                let rec = dsp.make_rec_voice(&dev, self.settings.quality, Volume::FULL);
                let id = io.engines(|e| e.mixer.monitors.insert(rec));
                FileKind::Dsp(Box::new(DspFile::new(
                    dsp,
                    None,
                    Some(RecSlot::Monitor(id)),
                    io.now(),
                )))
            }
            kind @ (NodeKind::Dsp | NodeKind::Audio) => {
                let (dev, period) = io.engines(|e| {
                    let dev = *e.mixer.device();
                    (
                        dev,
                        e.output
                            .config
                            .map_or(dev.period_frames, |c| c.period_frames),
                    )
                });
                let mut dsp = match kind {
                    NodeKind::Audio => Dsp::new_audio(dev),
                    _ => Dsp::new(dev),
                };
                dsp.set_device_period(period);
                let rec = if acc == libc::O_RDONLY || acc == libc::O_RDWR {
                    match self.add_capture_reader(&dsp, io) {
                        Ok(slot) => Some(slot),
                        Err(e) if acc == libc::O_RDONLY => {
                            tracing::warn!("cannot record: {e}");
                            return self.fail(node, unique, Fail::NoCapture);
                        }
                        Err(e) => {
                            // Many old programs open O_RDWR only to play: let them.
                            tracing::warn!("opened read-write without recording: {e}");
                            None
                        }
                    }
                } else {
                    None
                };
                let play = (acc != libc::O_RDONLY).then(|| {
                    let v = dsp.make_voice(self.settings.quality);
                    io.engines(|e| e.mixer.insert(v))
                });
                FileKind::Dsp(Box::new(DspFile::new(dsp, play, rec, io.now())))
            }
        };
        let fh = self.next_fh;
        self.next_fh += 1;
        if matches!(kind, FileKind::Dsp(_)) {
            self.served += 1;
        }
        self.files.insert(
            fh,
            File {
                node,
                pid,
                kind,
                failed: false,
            },
        );
        tracing::debug!(fh, pid, flags, node = self.nodes[node].name, "open");
        self.answer(node, Answer::Open { unique, fh });
    }

    /// Rebuilds a file's streams after its format, rate, channels or
    /// fragments changed. The new streams are built, and the old ones
    /// dropped, outside the engines' locks; they keep the old ones' trigger
    /// and error counters, so SETTRIGGER and GETERROR mean the same across a
    /// format change.
    pub(super) fn rebuild_streams(&mut self, fh: u64, io: &mut impl Ports) {
        let quality = self.settings.quality;
        let igain = self.mixer_state.igain();
        let cap_dev = self.capture_dev;
        let mon_dev = io.engines(|e| *e.mixer.device());
        let Some(f) = self.dsp_file(fh) else { return };
        let play = f.play.map(|id| (id, f.dsp.make_voice(quality)));
        let rec = match f.rec {
            Some(RecSlot::Capture(id)) => cap_dev.map(|d| {
                (
                    RecSlot::Capture(id),
                    f.dsp.make_rec_voice(&d, quality, igain),
                )
            }),
            Some(RecSlot::Monitor(id)) => Some((
                RecSlot::Monitor(id),
                f.dsp.make_rec_voice(&mon_dev, quality, Volume::FULL),
            )),
            None => None,
        };
        let old = io.engines(|e| {
            let old_voice = play.and_then(|(id, mut v)| {
                if let Some(o) = e.mixer.voice(id) {
                    v.carry_over(o);
                }
                e.mixer.replace(id, v)
            });
            let old_rec = rec.and_then(|(slot, mut r)| {
                let recorders = match slot {
                    RecSlot::Capture(_) => &mut *e.capture.as_mut()?.recorders,
                    RecSlot::Monitor(_) => &mut e.mixer.monitors,
                };
                let (RecSlot::Capture(id) | RecSlot::Monitor(id)) = slot;
                if let Some(o) = recorders.get(id) {
                    r.carry_over(o);
                }
                recorders.replace(id, r)
            });
            (old_voice, old_rec)
        });
        drop(old);
    }

    pub(super) fn release(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        flags: u32,
        pid: u32,
        io: &mut impl Ports,
    ) {
        let grace = self.settings.drain_grace;
        // A process killed by a signal (SIGKILL, say) closes its files as it
        // dies, and the kernel keeps it waiting for the answer, unkillable:
        // its close does not drain (as the OSS manual has it for a process
        // killed by a signal), and its unplayed sound is dropped. A process
        // that returns from main with the file open drains as any close.
        // The kernel sends RELEASE without the closer's credentials (pid 0):
        // the process that opened the file stands for it then.
        let closer = match (pid, self.files.get(&fh)) {
            (0, Some(f)) => f.pid,
            (pid, _) => pid,
        };
        let dying = closer != 0 && self.dsp_file(fh).is_some() && io.killed(closer);
        let Some(f) = self.dsp_file(fh) else {
            self.remove_file(fh, io);
            return self.answer(node, Answer::Done(unique));
        };
        // Anything still parked belongs to a process that is gone.
        let mut gone = Vec::new();
        f.answer_all(Fail::Interrupted, &mut gone);
        let nonblock = dying || f.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        let play = f.play;
        self.answers.extend(gone.into_iter().map(|a| (node, a)));
        let queued = match play {
            Some(id) if !nonblock => io.engines(|e| {
                let dev = *e.mixer.device();
                let v = e.mixer.voice_mut(id)?;
                v.start_drain().then(|| {
                    let fmt = v.format();
                    let frames = v.queued() / fmt.frame_bytes().max(1);
                    Duration::from_secs_f64(frames as f64 / fmt.rate as f64)
                        + Duration::from_secs_f64(dev.buffer_frames as f64 / dev.pcm.rate as f64)
                })
            }),
            _ => None,
        };
        match queued {
            // Drain: play what was written, then answer. Bounded by the queued
            // time plus a grace period, so a stuck device cannot hang close().
            Some(q) => {
                let deadline = io.now() + q + grace;
                let f = self.dsp_file(fh).expect("still open");
                f.release = Some(ParkedRelease { unique, deadline });
            }
            // O_NONBLOCK (the manual: close does not wait), output gated off by
            // SETTRIGGER (it would never play), or nothing to play.
            None => {
                self.remove_file(fh, io);
                self.answer(node, Answer::Done(unique));
            }
        }
    }

    pub(super) fn remove_file(&mut self, fh: u64, io: &mut impl Ports) {
        let Some(f) = self.files.remove(&fh) else {
            return;
        };
        self.leave_groups(fh);
        tracing::debug!(fh, pid = f.pid, "closed");
        let FileKind::Dsp(d) = f.kind else { return };
        let (old, capture_idle) = io.engines(|e| {
            let voice = d.play.and_then(|id| e.mixer.remove(id));
            let (rec, idle) = match d.rec {
                Some(RecSlot::Monitor(id)) => (e.mixer.monitors.remove(id), false),
                Some(RecSlot::Capture(id)) => match e.capture.as_mut() {
                    Some(c) => (c.recorders.remove(id), c.recorders.is_empty()),
                    None => (None, false),
                },
                None => (None, false),
            };
            ((voice, rec), idle)
        });
        drop(old);
        if capture_idle {
            // The last reader is gone: release the capture device.
            io.close_capture();
            self.capture_dev = None;
            tracing::debug!("capture closed");
        }
    }
}
