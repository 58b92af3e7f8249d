//! /dev/sndstat's text: the devices, the clients and the totals, gathered in
//! one pass under the engines' lock (command names asked outside it) and
//! rendered by [`crate::oss::sndstat`].

use super::file::rec_overruns;
use super::{Ports, Server};
use crate::oss::sndstat::{self, ClientLine, DeviceLine, SndstatInfo, Totals};

impl Server {
    pub(super) fn render_sndstat(&mut self, io: &mut impl Ports) -> String {
        let capture = self
            .capture_dev
            .map(|d| (d, self.settings.capture_name.clone()));
        let (device_name, nodes, files) = (&self.settings.device_name, &self.nodes, &self.files);
        let names = &self.settings.device_names;
        let (devices, mut clients, (device_xruns, standin_frames, skipped_frames)) =
            io.engines(|e| {
                let dev = e.output.config.unwrap_or(*e.mixer.device());
                let mut devices = vec![DeviceLine {
                    role: "playback",
                    alsa_name: names.get(e.output.device).unwrap_or(device_name).clone(),
                    format: dev.pcm.sample.name(),
                    rate: dev.pcm.rate,
                    channels: dev.pcm.channels,
                    period_frames: dev.period_frames,
                    buffer_frames: dev.buffer_frames,
                    xruns: e.device_xruns,
                    missing: e.output_missing.then_some("playing on a stand-in clock"),
                }];
                if let (Some((d, name)), Some(c)) = (&capture, &e.capture) {
                    devices.push(DeviceLine {
                        role: "capture",
                        alsa_name: name.clone(),
                        format: d.pcm.sample.name(),
                        rate: d.pcm.rate,
                        channels: d.pcm.channels,
                        period_frames: d.period_frames,
                        buffer_frames: d.buffer_frames,
                        xruns: c.xruns,
                        missing: c.missing.then_some("recording silence"),
                    });
                }
                let mut clients = Vec::new();
                for f in files.values() {
                    let Some(d) = f.dsp() else { continue };
                    let (size, count) = d.dsp.geometry();
                    let underruns = d
                        .play
                        .and_then(|id| e.mixer.voice(id))
                        .map_or(0, |v| v.underruns());
                    let overruns = rec_overruns(d.rec, e);
                    clients.push(ClientLine {
                        node: nodes[f.node].name.clone(),
                        pid: f.pid,
                        command: String::new(), // asked of the runtime below, outside the locks
                        direction: match (d.play.is_some(), d.rec.is_some()) {
                            (true, true) => "duplex",
                            (false, true) => "record",
                            _ => "play",
                        },
                        format: d.dsp.fmt.sample.name(),
                        channels: d.dsp.fmt.channels,
                        rate: d.dsp.fmt.rate,
                        frag_size: size,
                        frags: count,
                        volume: d.dsp.play_volume,
                        underruns,
                        overruns,
                        name: d.dsp.name.clone(),
                    });
                }
                (
                    devices,
                    clients,
                    (e.device_xruns, e.standin_frames, e.output.skipped_frames),
                )
            });
        for c in &mut clients {
            c.command = io.command_of(c.pid).unwrap_or_else(|| "?".into());
        }
        sndstat::render(&SndstatInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            devices,
            clients,
            mixer: Some((self.mixer_state.volume(), self.mixer_state.pcm())),
            totals: Totals {
                clients_served: self.served,
                device_underruns: device_xruns,
                standin_frames,
                skipped_frames,
            },
        })
    }
}
