//! The steps of a schedule, as a client or the device takes them: one
//! function for each step that does more than one call.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::common::args;
use crate::schedule::*;
use crate::sim::*;
use crate::world::*;
use crate::Check;
use ossd::cuse::abi::opcode;
use ossd::oss::soundcard::*;

impl World {
    /// Runs one step of a schedule.
    pub(crate) fn run_step(&mut self, step: Step) -> Check {
        let n = self.clients.len();
        match step {
            Step::Open {
                c,
                node,
                acc,
                nonblock,
            } => self.open(c as usize % n, node, acc, nonblock)?,
            Step::Write { c, len, nonblock } => self.write(c, len, nonblock)?,
            Step::Read { c, len, nonblock } => self.read(c, len, nonblock)?,
            Step::Ioctl { c, cmd, arg } => self.any_ioctl(c as usize % n, cmd, arg)?,
            Step::Sync { c } => self.ioctl(c as usize % n, SNDCTL_DSP_SYNC, 0)?,
            Step::Post { c } => self.ioctl(c as usize % n, SNDCTL_DSP_POST, 0)?,
            Step::Reset { c } => {
                if !self.is_reference(c as usize % n) {
                    self.ioctl(c as usize % n, SNDCTL_DSP_RESET, 0)?;
                }
            }
            Step::Trigger { c, bits } => {
                let c = c as usize % n;
                if !self.is_reference(c) {
                    self.ioctl(c, SNDCTL_DSP_SETTRIGGER, bits)?;
                }
            }
            Step::Query { c } => self.query(c as usize % n)?,
            Step::Poll {
                c,
                schedule,
                events,
            } => self.poll(c, schedule, events)?,
            Step::Interrupt { c, which } => {
                let list = self.outstanding(c as usize % n);
                if !list.is_empty() {
                    self.interrupt(list[which as usize % list.len()])?;
                }
            }
            Step::StaleInterrupt { back } => {
                let target = self.next_unique.saturating_sub(2 * (back as u64 + 1));
                if !self.pending.contains_key(&target) {
                    self.interrupt(target)?;
                }
            }
            Step::Close { c } => self.close(c as usize % n, false)?,
            Step::Vanish { c } => self.close(c as usize % n, true)?,
            Step::Advance { micros } => {
                self.sim.advance(micros as u64);
                self.service()?;
            }
            Step::Pace { percent } => self.sim.pace = percent as u64,
            Step::CaptureGone { yes } => self.sim.capture_gone = yes,
            Step::CapturePresent { yes } => self.sim.capture_present = yes,
            Step::Fault { c, after } => {
                let c = c as usize % n;
                if !self.is_reference(c) {
                    self.fault = Some((c, after as u32));
                }
            }
            Step::FaultService => self.fault_service()?,
            Step::OutputGone { yes } => {
                self.sim.output_gone(yes);
                self.check_sndstat()?;
                self.service()?;
            }
        }
        Ok(())
    }

    /// Client `c` opens `node` (the reference client: /dev/dsp, to write,
    /// blocking); the streams it got are noted, and its format set.
    fn open(&mut self, c: usize, node: u8, acc: u8, nonblock: bool) -> Check {
        let cl = &self.clients[c];
        if cl.fh.is_some() || cl.opening || cl.closing {
            return Ok(());
        }
        let (node, acc) = if self.is_reference(c) {
            (DSP, libc::O_WRONLY)
        } else {
            (
                node as usize,
                [libc::O_RDONLY, libc::O_WRONLY, libc::O_RDWR][acc as usize % 3],
            )
        };
        let nonblock = nonblock && !self.is_reference(c);
        let flags = acc | if nonblock { libc::O_NONBLOCK } else { 0 };
        self.clients[c].opening = true;
        let voices_before: Vec<usize> = self.sim.mixer.voices().map(|(i, _)| i).collect();
        let recs_before = self.recorder_ids();
        let kind = Kind::Open {
            c,
            node,
            acc,
            nonblock,
        };
        self.send(node, Some(c), opcode::FUSE_OPEN, &args::open(flags), kind)?;
        let cl = &mut self.clients[c];
        if cl.fh.is_some() {
            cl.voice = self
                .sim
                .mixer
                .voices()
                .map(|(i, _)| i)
                .find(|i| !voices_before.contains(i));
            let recs_after = self.recorder_ids();
            self.clients[c].rec = recs_after.into_iter().find(|r| !recs_before.contains(r));
            if self.is_reference(c) {
                // The device's own format: bit-exact into the mix.
                self.ioctl(c, SNDCTL_DSP_SETFMT, AFMT_S16_LE as i32)?;
                self.ioctl(c, SNDCTL_DSP_CHANNELS, 2)?;
                self.ioctl(c, SNDCTL_DSP_SPEED, DEV.pcm.rate as i32)?;
            } else if self.reference.is_some() && node == DSP {
                // Silent clients play zeros in a format whose silence is zeros.
                let fmt = self.rng.pick(ZERO_SILENCE) as i32;
                self.ioctl(c, SNDCTL_DSP_SETFMT, fmt)?;
            }
        }
        Ok(())
    }

    /// A write of `len` bytes: the reference stream's next ones, or silence
    /// (or a pattern, without a reference).
    fn write(&mut self, c: u8, len: u16, nonblock: bool) -> Check {
        let Some((c, fh, node, blocking, flags)) = self.io_target(c, libc::O_RDONLY, nonblock)
        else {
            return Ok(());
        };
        let data: Vec<u8> = match &mut self.reference {
            Some(r) if r.c == c => {
                if r.writing {
                    return Ok(()); // one write at a time, as a program's thread does
                }
                r.writing = true;
                (r.acked..r.acked + len as usize)
                    .map(reference_byte)
                    .collect()
            }
            Some(_) => vec![0; len as usize],
            None => (0..len).map(|i| (i as u8).wrapping_mul(37)).collect(),
        };
        let kind = Kind::Write {
            len: data.len(),
            blocking,
        };
        self.send(
            node,
            Some(c),
            opcode::FUSE_WRITE,
            &args::write(fh, &data, flags),
            kind,
        )?;
        Ok(())
    }

    /// A read of `len` bytes.
    fn read(&mut self, c: u8, len: u16, nonblock: bool) -> Check {
        let Some((c, fh, node, blocking, flags)) = self.io_target(c, libc::O_WRONLY, nonblock)
        else {
            return Ok(());
        };
        let kind = Kind::Read {
            len: len as usize,
            blocking,
        };
        self.send(
            node,
            Some(c),
            opcode::FUSE_READ,
            &args::read(fh, len as u32, flags),
            kind,
        )?;
        Ok(())
    }

    /// A random ioctl with its odd argument; with a reference, never one
    /// that would change what the reference plays.
    fn any_ioctl(&mut self, c: usize, cmd: u32, arg: i32) -> Check {
        if self.reference.is_some() {
            if self.is_reference(c) || ioc_type(cmd) == b'M' as u32 {
                return Ok(()); // the reference plays untouched, at full volume
            }
            if cmd == SNDCTL_DSP_SETFMT {
                let f = self.rng.pick(ZERO_SILENCE) as i32;
                return self.ioctl(c, cmd, f);
            }
        }
        self.ioctl(c, cmd, arg)?;
        Ok(())
    }

    /// A poll, with a notification asked for or not.
    fn poll(&mut self, c: u8, schedule: bool, events: u32) -> Check {
        let n = self.clients.len();
        let fh_of = |w: &World, c: usize| -> Option<(u64, usize)> {
            let cl = &w.clients[c % n];
            (!cl.closing && !cl.opening).then_some(())?;
            cl.fh.map(|fh| (fh, cl.node))
        };
        let Some((fh, node)) = fh_of(self, c as usize) else {
            return Ok(());
        };
        let c = c as usize % n;
        let kh = self.next_unique; // the poll's own unique, as a handle
        let a = args::poll(fh, kh, schedule, events);
        let events = if schedule { events } else { u32::MAX };
        self.send(node, Some(c), opcode::FUSE_POLL, &a, Kind::Poll { events })?;
        Ok(())
    }

    /// A service pass that panics (a bug), recovered from as the runtime
    /// does.
    fn fault_service(&mut self) -> Check {
        self.sim.panic_in = Some(0);
        let (server, sim) = (&mut self.server, &mut self.sim);
        if catch_unwind(AssertUnwindSafe(|| server.service(sim))).is_err() {
            self.recover()?;
        }
        self.sim.panic_in = None;
        self.collect()?;
        // The next pass (the next tick's) finds everything as before.
        self.service()?;
        Ok(())
    }
}
