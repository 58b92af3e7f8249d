//! The invariants checked between steps and at the end: /dev/sndstat
//! against the device, the position calls against the device, nothing
//! parked that could move, everything answered and closed, and the
//! reference stream whole in what the device played.

use std::time::Duration;

use crate::common::args;
use crate::sim::*;
use crate::world::*;
use crate::Check;
use ossd::cuse::abi::opcode;
use ossd::oss::soundcard::*;
use ossd::server::Answer;

impl World {
    /// /dev/sndstat says the output device is missing exactly while it is,
    /// and counts the frames played to the stand-in.
    pub(crate) fn check_sndstat(&mut self) -> Check {
        let Answer::Open { fh, .. } =
            self.request_now(SNDSTAT, opcode::FUSE_OPEN, &args::open(libc::O_RDONLY))?
        else {
            return Err("sndstat did not open".into());
        };
        let read = self.request_now(
            SNDSTAT,
            opcode::FUSE_READ,
            &args::read(fh, 65536, libc::O_RDONLY),
        )?;
        let done = self.request_now(
            SNDSTAT,
            opcode::FUSE_RELEASE,
            &args::release(fh, libc::O_RDONLY),
        )?;
        ensure!(matches!(done, Answer::Done(_)), "sndstat close: {done:?}");
        let Answer::Data { data, .. } = read else {
            return Err(format!("sndstat read: {read:?}"));
        };
        let text = String::from_utf8_lossy(&data);
        let missing = text.contains("(missing: playing on a stand-in clock)");
        ensure!(
            missing == self.sim.output_missing,
            "sndstat says missing: {missing}, the device is missing: {}:\n{text}",
            self.sim.output_missing
        );
        let lost = self.sim.standin_frames;
        ensure!(
            lost == 0
                || text.contains(&format!(
                    "Lost while the device was missing: {lost} frames played to the stand-in clock"
                )),
            "sndstat does not count the {lost} lost frames:\n{text}"
        );
        Ok(())
    }

    /// The position calls, checked against the device and each other.
    pub(crate) fn query(&mut self, c: usize) -> Check {
        let cl = &self.clients[c];
        if cl.fh.is_none()
            || cl.closing
            || cl.opening
            || cl.failed
            || cl.node != DSP
            || cl.acc == libc::O_RDONLY
        {
            return Ok(());
        }
        let int = |o: &[u8], i: usize| i32::from_ne_bytes(o[i * 4..i * 4 + 4].try_into().unwrap());
        let fmt = self
            .ask(c, SNDCTL_DSP_SETFMT, 0)?
            .ok_or("SETFMT query failed")?;
        let channels = self
            .ask(c, SNDCTL_DSP_CHANNELS, 0)?
            .ok_or("CHANNELS query")?;
        let rate = self.ask(c, SNDCTL_DSP_SPEED, 0)?.ok_or("SPEED query")?;
        let (fmt, channels, rate) = (int(&fmt, 0), int(&channels, 0) as u64, int(&rate, 0) as u64);
        let bps: u64 = match fmt as u32 {
            AFMT_U8 | AFMT_S8 | AFMT_MU_LAW | AFMT_A_LAW => 1,
            AFMT_S16_LE | AFMT_S16_BE | AFMT_U16_LE | AFMT_U16_BE => 2,
            AFMT_S24_PACKED => 3,
            _ => 4,
        };
        let fb = bps * channels;
        let space = self.ask(c, SNDCTL_DSP_GETOSPACE, 0)?.ok_or("GETOSPACE")?;
        let (frags, total, fragsize, bytes) = (
            int(&space, 0) as u64,
            int(&space, 1) as u64,
            int(&space, 2) as u64,
            int(&space, 3) as u64,
        );
        let ring = (total + 1) * fragsize;
        ensure!(
            bytes <= ring && frags == bytes / fragsize,
            "GETOSPACE {space:?}"
        );
        let odelay = int(
            &self.ask(c, SNDCTL_DSP_GETODELAY, 0)?.ok_or("GETODELAY")?,
            0,
        ) as u64;
        // In flight: at most the device buffer, a period and the resampler's delay.
        let in_flight = (DEV.buffer_frames as u64 + 2 * PERIOD + 512) * rate.div_ceil(RATE) * fb;
        ensure!(
            odelay <= ring + in_flight,
            "GETODELAY {odelay} beyond the buffer ({ring} + {in_flight})"
        );
        let optr = self.ask(c, SNDCTL_DSP_GETOPTR, 0)?.ok_or("GETOPTR")?;
        let played = int(&optr, 0) as u32 as u64;
        let dev_played = self.sim.position.played(self.sim.now);
        if let Some((before, dev_before)) = self.clients[c].optr {
            let moved = played.wrapping_sub(before) as u32;
            ensure!(
                moved < 1 << 31,
                "GETOPTR ran backwards: {before} then {played}"
            );
            // No faster than the device (plus a frame of rounding per side).
            let dev_moved = dev_played - dev_before;
            let limit = (dev_moved * rate).div_ceil(RATE) * fb + 2 * fb;
            ensure!(
                moved as u64 <= limit,
                "GETOPTR moved {moved} bytes while the device played {dev_moved} frames"
            );
        }
        self.clients[c].optr = Some((played, dev_played));
        Ok(())
    }

    /// Right after a service pass nothing waits for what has already happened.
    pub(crate) fn check_parked(&mut self) -> Check {
        let played = self.sim.position.played(self.sim.now);
        for (&u, p) in &self.pending {
            let Some(c) = p.c else { continue };
            let cl = &self.clients[c];
            let voice = cl.voice.and_then(|id| self.sim.mixer.voice(id));
            match p.kind {
                Kind::Write { .. } => {
                    if let Some(v) = voice {
                        ensure!(
                            v.space() == 0,
                            "write {u} parked with {} bytes free",
                            v.space()
                        );
                        ensure!(
                            v.trigger(),
                            "write {u} parked on a stream gated off (it can never complete)"
                        );
                    }
                }
                Kind::Read { .. } => {
                    let r = match cl.rec {
                        Some((false, id)) => self.sim.mixer.monitors.get(id),
                        Some((true, id)) => self
                            .sim
                            .capture
                            .as_ref()
                            .and_then(|cap| cap.recorders.get(id)),
                        None => None,
                    };
                    if let Some(r) = r {
                        ensure!(
                            r.available() == 0,
                            "read {u} parked with {} bytes recorded",
                            r.available()
                        );
                    }
                }
                Kind::Ioctl { sync: true, .. } | Kind::Release => {
                    if let Some(v) = voice {
                        ensure!(
                            !v.drained(played) && v.trigger(),
                            "{:?} {u} parked on a stream that has played out (or is gated off)",
                            p.kind
                        );
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every client closes, gated outputs enabled first and reads
    /// interrupted, at full device pace; everything must then be answered
    /// within the time its queue takes to play, and no file left open.
    pub(crate) fn quiesce(&mut self) -> Check {
        self.sim.pace = 100;
        self.sim.capture_present = true;
        self.sim.capture_gone = false;
        for c in 0..self.clients.len() {
            if self.clients[c].gated {
                self.ioctl(c, SNDCTL_DSP_SETTRIGGER, PCM_ENABLE_OUTPUT as i32)?;
            }
        }
        // Interrupt reads (recording never ends by itself), then close all.
        let reads: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| matches!(p.kind, Kind::Read { .. }))
            .map(|(&u, _)| u)
            .collect();
        for u in reads {
            self.interrupt(u)?;
        }
        for c in 0..self.clients.len() {
            self.close(c, false)?;
        }
        // A close plays out what its file queued, up to its deadline: the
        // queue's own length plus the device buffer and the drain grace. The
        // longest queue (1 MiB at 1000 Hz mono U8) lasts 1048 s, so the wait
        // is bounded by the core's own deadline, not by a guess: everything
        // must be answered within a second past the last one.
        let start = self.sim.now;
        let mut limit = start + Duration::from_secs(5);
        while !self.pending.is_empty() && self.sim.now < limit {
            if let Some(d) = self.server.next_deadline() {
                limit = limit.max(d + Duration::from_secs(1));
            }
            self.sim.advance(10_000);
            self.service()?;
        }
        let left: Vec<_> = self.pending.iter().collect();
        ensure!(left.is_empty(), "never answered: {left:?}");
        ensure!(self.server.open_files() == 0, "files left open");
        // Nothing left in the engines either, panics or not.
        let voices = self.sim.mixer.voices().count();
        let monitors = self.sim.mixer.monitors.iter().count();
        ensure!(
            voices == 0 && monitors == 0 && self.sim.capture.is_none(),
            "left in the engines with every file closed: {voices} voices, {monitors} monitor readers, capture open: {}",
            self.sim.capture.is_some()
        );
        Ok(())
    }

    /// Ends a schedule: quiesce, shut the daemon down, and check the
    /// reference stream in the mix.
    pub(crate) fn finish(&mut self) -> Check {
        self.quiesce()?;
        self.server.shutdown();
        self.collect()?;
        if let (Some(r), Some(out)) = (&self.reference, &self.sim.out) {
            // What the device played: the reference, complete and in order
            // outside the device's absences; each absence swallows a whole
            // stretch of it (the stand-in takes it at the device's rate and
            // the sound is lost, never played late).
            let mut heard: Vec<u8> = Vec::new();
            let mut skipped = Vec::new(); // (where in `heard`, frames lost)
            let mut at = 0;
            for &(pos, lost) in self.sim.absences.iter().chain([(out.len(), 0)].iter()) {
                heard.extend(
                    out[at..pos]
                        .chunks_exact(FRAME)
                        .filter(|f| f.iter().any(|&b| b != 0))
                        .flatten(),
                );
                skipped.push((heard.len(), lost));
                at = pos;
            }
            let whole = r.acked / FRAME * FRAME;
            let mut expect = Vec::with_capacity(whole);
            let mut next = 0; // the reference byte expected next
            for &(pos, lost) in &skipped {
                let n = pos - expect.len();
                expect.extend((next..next + n).map(reference_byte));
                next += n + lost * FRAME;
            }
            if heard != expect || next != whole {
                let at = heard.iter().zip(&expect).position(|(a, b)| a != b);
                return Err(format!(
                    "the reference stream reached the device as {} bytes and {} were lost while it was away, {} were written; first difference at {at:?}",
                    heard.len(),
                    skipped.iter().map(|&(_, lost)| lost * FRAME).sum::<usize>(),
                    whole
                ));
            }
        }
        Ok(())
    }
}
