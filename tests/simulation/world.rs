//! The clients and the core as one world: what each client has open and
//! asked, the requests in flight, and how a request is sent (as the bytes
//! the kernel would send) and its answers collected.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::common::{args, request_bytes, restricted_ioctl};
use crate::schedule::*;
use crate::sim::*;
use crate::Check;
use ossd::cuse::abi::opcode;
use ossd::cuse::wire::{Reply, Request};
use ossd::mix::{Mixer, Quality};
use ossd::oss::mixer::MixerState;
use ossd::oss::soundcard::*;
use ossd::pcm::Position;
use ossd::server::{Answer, NodeDesc, NodeKind, Server, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Init,
    Open {
        c: usize,
        node: usize,
        acc: i32,
        nonblock: bool,
    },
    Write {
        len: usize,
        blocking: bool,
    },
    Read {
        len: usize,
        blocking: bool,
    },
    Ioctl {
        out_size: u32,
        sync: bool,
    },
    Poll {
        events: u32,
    },
    Release,
}

#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) c: Option<usize>,
    pub(crate) node: usize,
    pub(crate) kind: Kind,
    pub(crate) interrupted: bool,
    /// Its handling panicked: it is answered with EIO.
    pub(crate) faulted: bool,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Client {
    pub(crate) fh: Option<u64>,
    pub(crate) node: usize,
    pub(crate) acc: i32,
    pub(crate) nonblock: bool,
    /// Opening: the OPEN request is out.
    pub(crate) opening: bool,
    /// The file's voice in the mixer and its recorder (capture or monitor).
    pub(crate) voice: Option<usize>,
    pub(crate) rec: Option<(bool, usize)>,
    /// GETOPTR's byte count at the last query of this stream's epoch, and
    /// the device frames played then.
    pub(crate) optr: Option<(u64, u64)>,
    /// Its output is gated off by SETTRIGGER (as far as the client knows).
    pub(crate) gated: bool,
    /// Sent a RELEASE: no more requests.
    pub(crate) closing: bool,
    /// A request of its file panicked: the file fails with EIO until closed.
    pub(crate) failed: bool,
}

pub(crate) struct Reference {
    pub(crate) c: usize,
    /// Bytes the reference's writes took, in all: the stream is its prefix.
    pub(crate) acked: usize,
    pub(crate) writing: bool,
}

/// The reference stream: frame i is (i % 30000 + 1, -(i % 30000 + 1)), never
/// silent, so its frames are found in the mix by being non-zero.
pub(crate) fn reference_byte(i: usize) -> u8 {
    let frame = i / FRAME;
    let v = (frame % 30000 + 1) as i16;
    let s = if i % FRAME < 2 { v } else { -v };
    s.to_le_bytes()[i % 2]
}

pub(crate) struct World {
    pub(crate) rng: Rng,
    pub(crate) server: Server,
    pub(crate) sim: Sim,
    pub(crate) reply: Reply,
    pub(crate) clients: Vec<Client>,
    pub(crate) pending: BTreeMap<u64, Pending>,
    pub(crate) next_unique: u64,
    pub(crate) requests: u64,
    pub(crate) reference: Option<Reference>,
    /// Poll handles armed and not yet notified, by kh.
    pub(crate) armed: BTreeMap<u64, usize>,
    /// The client whose next request panics, and after how many calls to
    /// the engines.
    pub(crate) fault: Option<(usize, u32)>,
}

impl World {
    pub(crate) fn new(seed: u64, clients: usize, reference: bool) -> World {
        let nodes = [
            (NodeKind::Dsp, "dsp"),
            (NodeKind::Monitor, "monitor"),
            (NodeKind::Mixer, "mixer"),
            (NodeKind::Sndstat, "sndstat"),
        ]
        .iter()
        .map(|&(kind, name)| NodeDesc {
            kind,
            name: name.into(),
        })
        .collect();
        let settings = Settings {
            device_name: "sim".into(),
            device_names: Vec::new(),
            capture_name: "sim-capture".into(),
            can_record: true,
            // The sinc resampler in one schedule of 16: the core treats both
            // alike, but its delay is longer, and its mixing far costlier.
            quality: if seed % 16 == 5 {
                Quality::High
            } else {
                Quality::Fast
            },
            drain_grace: Duration::from_secs(2),
            save_mixer: seed.is_multiple_of(2),
        };
        let now = Instant::now();
        let mut w = World {
            rng: Rng(seed),
            server: Server::new(settings, nodes, MixerState::new()),
            sim: Sim {
                mixer: Mixer::new(DEV),
                position: Position::new(DEV.pcm.rate, now),
                xruns: 0,
                now,
                played_milli: 0,
                pace: 100,
                capture: None,
                capture_present: true,
                capture_gone: false,
                captured: 0,
                out: reference.then(Vec::new),
                output_missing: false,
                standin_frames: 0,
                absences: Vec::new(),
                panic_in: None,
            },
            reply: Reply::new(),
            clients: vec![Client::default(); clients],
            pending: BTreeMap::new(),
            next_unique: 2,
            requests: 0,
            reference: None,
            armed: BTreeMap::new(),
            fault: None,
        };
        quiet_injected_panics();
        for node in 0..4 {
            w.send(node, None, opcode::CUSE_INIT, &[0; 16], Kind::Init)
                .expect("CUSE_INIT");
        }
        if reference {
            w.reference = Some(Reference {
                c: 0,
                acked: 0,
                writing: false,
            });
        }
        w
    }

    pub(crate) fn is_reference(&self, c: usize) -> bool {
        self.reference.as_ref().is_some_and(|r| r.c == c)
    }

    /// Sends one request (as bytes, through the decoder) and checks what
    /// comes back.
    pub(crate) fn send(
        &mut self,
        node: usize,
        c: Option<usize>,
        op: u32,
        args: &[u8],
        kind: Kind,
    ) -> Result<u64, String> {
        let unique = self.next_unique;
        self.next_unique += 2;
        self.pending.insert(
            unique,
            Pending {
                c,
                node,
                kind,
                interrupted: false,
                faulted: false,
            },
        );
        if let Some((_, after)) = self.fault.filter(|&(fc, _)| c == Some(fc)) {
            self.fault = None;
            self.sim.panic_in = Some(after);
        }
        self.deliver(node, op, unique, args)?;
        Ok(unique)
    }

    pub(crate) fn deliver(&mut self, node: usize, op: u32, unique: u64, args: &[u8]) -> Check {
        let bytes = request_bytes(op, unique, args);
        let req = Request::parse(&bytes).map_err(|e| format!("our own request: {e}"))?;
        self.requests += 1;
        let (server, sim) = (&mut self.server, &mut self.sim);
        let panicked = catch_unwind(AssertUnwindSafe(|| server.handle(node, &req, sim))).is_err();
        // It may not have got that far: then nothing panicked.
        self.sim.panic_in = None;
        if panicked {
            if let Some(p) = self.pending.get_mut(&unique) {
                p.faulted = true;
            }
            self.recover()?;
        }
        self.collect()
    }

    /// After a panic: the core's recovery, as the runtime calls it.
    pub(crate) fn recover(&mut self) -> Check {
        let r = self.server.recover(&mut self.sim);
        if let (Some(fh), false) = (r.fh, r.closed) {
            let c = self
                .clients
                .iter()
                .position(|cl| cl.fh == Some(fh))
                .ok_or_else(|| format!("recover failed file {fh}, which no client has"))?;
            ensure!(!self.is_reference(c), "the reference client failed");
            self.clients[c].failed = true;
        }
        Ok(())
    }

    pub(crate) fn interrupt(&mut self, target: u64) -> Check {
        if let Some(p) = self.pending.get_mut(&target) {
            p.interrupted = true;
        }
        let node = self.pending.get(&target).map_or(DSP, |p| p.node);
        self.deliver(
            node,
            opcode::FUSE_INTERRUPT,
            target | 1,
            &target.to_ne_bytes(),
        )
    }

    /// Takes the core's answers and checks each as the kernel would.
    pub(crate) fn collect(&mut self) -> Check {
        let answers: Vec<(usize, Answer)> = self.server.take_answers().collect();
        for (node, a) in answers {
            self.check_answer(node, a)?;
        }
        Ok(())
    }

    /// Outstanding requests of client `c`.
    pub(crate) fn outstanding(&self, c: usize) -> Vec<u64> {
        self.pending
            .iter()
            .filter(|(_, p)| p.c == Some(c))
            .map(|(&u, _)| u)
            .collect()
    }

    /// Client `c`'s file for a read or write: (client, fh, node, blocking,
    /// request flags); `None` if it has none open, or opened it `refused`
    /// (the kernel answers EBADF itself then).
    pub(crate) fn io_target(
        &self,
        c: u8,
        refused: i32,
        nonblock: bool,
    ) -> Option<(usize, u64, usize, bool, i32)> {
        let c = c as usize % self.clients.len();
        let cl = &self.clients[c];
        if cl.closing || cl.opening || cl.acc == refused {
            return None;
        }
        let flags = if nonblock { libc::O_NONBLOCK } else { 0 };
        Some((c, cl.fh?, cl.node, !(nonblock || cl.nonblock), flags))
    }

    pub(crate) fn recorder_ids(&self) -> Vec<(bool, usize)> {
        let mut v: Vec<(bool, usize)> = self
            .sim
            .mixer
            .monitors
            .iter()
            .map(|(i, _)| (false, i))
            .collect();
        if let Some(c) = &self.sim.capture {
            v.extend(c.recorders.iter().map(|(i, _)| (true, i)));
        }
        v
    }

    pub(crate) fn ioctl(&mut self, c: usize, cmd: u32, arg: i32) -> Check {
        let cl = &self.clients[c];
        let Some(fh) = cl.fh.filter(|_| !cl.closing && !cl.opening) else {
            return Ok(());
        };
        let node = cl.node;
        let mut argb = [0u8; 512];
        argb[..4].copy_from_slice(&arg.to_ne_bytes());
        match cmd {
            // Small group ids, so that files meet in groups; the mode from
            // the low bits (odd modes included).
            SNDCTL_DSP_SYNCGROUP => {
                argb[..4].copy_from_slice(&(arg >> 8 & 3).to_ne_bytes());
                argb[4..8].copy_from_slice(&(arg & 7).to_ne_bytes());
                self.clients[c].gated = true; // armed: finish() starts it
            }
            SNDCTL_DSP_SYNCSTART => argb[..4].copy_from_slice(&(arg & 3).to_ne_bytes()),
            _ => {}
        }
        let (input, out_size) = restricted_ioctl(cmd, &argb);
        let input = input.to_vec();
        if !matches!(
            cmd,
            SNDCTL_DSP_GETOPTR | SNDCTL_DSP_GETODELAY | SNDCTL_DSP_GETOSPACE | SNDCTL_DSP_SYNC
        ) {
            self.clients[c].optr = None; // a new epoch for the position checks
        }
        if cmd == SNDCTL_DSP_NONBLOCK && node <= MONITOR {
            self.clients[c].nonblock = true; // it sticks until close
        }
        if cmd == SNDCTL_DSP_SETTRIGGER {
            self.clients[c].gated = arg & PCM_ENABLE_OUTPUT as i32 == 0;
        }
        let kind = Kind::Ioctl {
            out_size,
            sync: cmd == SNDCTL_DSP_SYNC,
        };
        let a = args::ioctl(fh, cmd, &input, out_size);
        self.send(node, Some(c), opcode::FUSE_IOCTL, &a, kind)?;
        Ok(())
    }

    /// A request answered at once, on `node`: its answer (the others the
    /// core made meanwhile are checked as usual).
    pub(crate) fn request_now(
        &mut self,
        node: usize,
        op: u32,
        args: &[u8],
    ) -> Result<Answer, String> {
        let unique = self.next_unique;
        self.next_unique += 2;
        let bytes = request_bytes(op, unique, args);
        let req = Request::parse(&bytes).map_err(|e| e.to_string())?;
        self.requests += 1;
        self.server.handle(node, &req, &mut self.sim);
        let mut ours = None;
        let answers: Vec<(usize, Answer)> = self.server.take_answers().collect();
        for (n, a) in answers {
            if a.unique() == Some(unique) {
                ensure!(n == node && ours.is_none(), "{a:?} on node {n}, or twice");
                ours = Some(a);
            } else {
                self.check_answer(n, a)?;
            }
        }
        ours.ok_or_else(|| format!("opcode {op} on node {node} was not answered at once"))
    }

    /// An ioctl answered at once; its output.
    pub(crate) fn ask(&mut self, c: usize, cmd: u32, arg: i32) -> Result<Option<Vec<u8>>, String> {
        let cl = &self.clients[c];
        let Some(fh) = cl.fh else { return Ok(None) };
        let node = cl.node;
        let argb = arg.to_ne_bytes();
        let (input, out_size) = restricted_ioctl(cmd, &argb);
        let unique = self.next_unique;
        self.next_unique += 2;
        let bytes = request_bytes(
            opcode::FUSE_IOCTL,
            unique,
            &args::ioctl(fh, cmd, input, out_size),
        );
        let req = Request::parse(&bytes).map_err(|e| e.to_string())?;
        self.requests += 1;
        self.server.handle(node, &req, &mut self.sim);
        let mut out = None;
        let answers: Vec<(usize, Answer)> = self.server.take_answers().collect();
        for (n, a) in answers {
            match a {
                Answer::Ioctl {
                    unique: u, out: o, ..
                } if u == unique => out = Some(o),
                Answer::Fail { unique: u, .. } if u == unique => {}
                a => self.check_answer(n, a)?,
            }
        }
        Ok(out)
    }

    pub(crate) fn close(&mut self, c: usize, vanish: bool) -> Check {
        let cl = &self.clients[c];
        let Some(fh) = cl.fh.filter(|_| !cl.closing && !cl.opening) else {
            return Ok(());
        };
        let (node, nonblock) = (cl.node, cl.nonblock);
        if vanish {
            for u in self.outstanding(c) {
                self.interrupt(u)?;
            }
        }
        self.clients[c].closing = true;
        let flags = if nonblock { libc::O_NONBLOCK } else { 0 };
        self.send(
            node,
            Some(c),
            opcode::FUSE_RELEASE,
            &args::release(fh, flags),
            Kind::Release,
        )?;
        Ok(())
    }

    pub(crate) fn service(&mut self) -> Check {
        self.server.service(&mut self.sim);
        self.collect()?;
        self.check_parked()
    }
}
