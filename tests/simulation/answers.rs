//! Every answer the core makes, checked as the kernel would take it and
//! against what was asked: one function per kind of request.

use crate::sim::*;
use crate::world::*;
use crate::Check;
use ossd::cuse::abi;
use ossd::server::{Answer, Fail};

impl World {
    /// Checks one answer: a well-formed reply, to a request asked once (a
    /// notification to a poll armed), as that request may be answered.
    pub(crate) fn check_answer(&mut self, node: usize, a: Answer) -> Check {
        // Encoded as the daemon sends it: a well-formed reply.
        let bytes = a.encode(&mut self.reply, ("sim", (0, 0))).to_vec();
        ensure!(bytes.len() >= abi::OUT_HEADER_SIZE, "reply too short");
        let len = u32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as usize;
        let error = i32::from_ne_bytes(bytes[4..8].try_into().unwrap());
        ensure!(len == bytes.len(), "reply length field wrong: {a:?}");
        ensure!(
            error <= 0 && error > -512 || a.unique().is_none(),
            "errno out of range: {a:?}"
        );
        let Some(unique) = a.unique() else {
            let Answer::Notify(kh) = a else {
                unreachable!()
            };
            ensure!(
                self.armed.remove(&kh).is_some(),
                "notification for poll handle {kh} that nobody armed"
            );
            return Ok(());
        };
        ensure!(unique & 1 == 0, "an INTERRUPT ({unique}) was answered");
        let p = self
            .pending
            .remove(&unique)
            .ok_or_else(|| format!("answer to {unique}, never asked or answered twice: {a:?}"))?;
        ensure!(
            p.node == node,
            "answer to {unique} on node {node}, asked on {}",
            p.node
        );
        let closing = p.c.is_some_and(|c| self.clients[c].closing);
        let failed = p.faulted || p.c.is_some_and(|c| self.clients[c].failed);
        match p.kind {
            Kind::Init if matches!(a, Answer::Init(_)) => Ok(()),
            // A request that panicked, and those of its file after it.
            Kind::Write { .. } | Kind::Read { .. } | Kind::Ioctl { .. } | Kind::Poll { .. }
                if failed && matches!(a, Answer::Fail { fail: Fail::Io, .. }) =>
            {
                Ok(())
            }
            Kind::Open { .. } => self.opened(&p, &a),
            Kind::Write { .. } => self.written(&p, &a, closing),
            Kind::Read { .. } => read_answered(&p, &a, closing),
            Kind::Ioctl { .. } => ioctl_answered(&p, &a, closing),
            Kind::Poll { .. } => self.polled(&p, &a),
            Kind::Release => self.released(&p, &a),
            k => Err(format!("{k:?} answered with {a:?}")),
        }
    }

    /// An OPEN: the client has its file, or (refused) none.
    fn opened(&mut self, p: &Pending, a: &Answer) -> Check {
        match (p.kind, a) {
            (
                Kind::Open {
                    c,
                    node,
                    acc,
                    nonblock,
                },
                Answer::Open { fh, .. },
            ) => {
                let cl = &mut self.clients[c];
                cl.opening = false;
                cl.fh = Some(*fh);
                cl.node = node;
                cl.acc = acc;
                cl.nonblock = nonblock;
            }
            (Kind::Open { c, .. }, Answer::Fail { fail, .. }) => {
                ensure!(
                    matches!(fail, Fail::Access | Fail::NoCapture)
                        || (p.faulted && *fail == Fail::Io),
                    "open failed with {fail:?}"
                );
                self.clients[c] = Client::default();
            }
            (k, a) => return Err(format!("{k:?} answered with {a:?}")),
        }
        Ok(())
    }

    /// A WRITE: never more than asked, short only when non-blocking,
    /// interrupted or closing, or when it filled a stream gated off
    /// (SETTRIGGER, or armed in a sync group), which gets what fitted or
    /// EAGAIN; the reference stream moves on by what was taken.
    fn written(&mut self, p: &Pending, a: &Answer, closing: bool) -> Check {
        // (Its ring was full when the answer was made; it may have grown
        // since, in the same service pass, for a program that starved.)
        let gated =
            p.c.and_then(|c| self.clients[c].voice)
                .and_then(|id| self.sim.mixer.voice(id))
                .is_some_and(|v| !v.trigger());
        match (p.kind, a) {
            (Kind::Write { len, blocking }, Answer::Written { n, .. }) => {
                let n = *n as usize;
                ensure!(n <= len, "wrote {n} of {len}");
                ensure!(
                    !blocking || n == len || p.interrupted || closing || gated,
                    "a blocking write returned {n} of {len} uninterrupted"
                );
                if let (Some(c), Some(r)) = (p.c, &mut self.reference) {
                    if r.c == c {
                        r.acked += n;
                        r.writing = false;
                    }
                }
            }
            (Kind::Write { blocking, .. }, Answer::Fail { fail, .. }) => {
                let ok = match fail {
                    Fail::WouldBlock => !blocking || gated,
                    Fail::Interrupted => p.interrupted || closing,
                    // A write on /dev/mixer or /dev/sndstat.
                    Fail::Invalid => p.node == MIXER || p.node == SNDSTAT,
                    _ => false,
                };
                ensure!(ok, "write failed with {fail:?} (blocking {blocking})");
                if let (Some(c), Some(r)) = (p.c, &mut self.reference) {
                    if r.c == c {
                        r.writing = false;
                    }
                }
            }
            (k, a) => return Err(format!("{k:?} answered with {a:?}")),
        }
        Ok(())
    }

    /// A POLL: armed when nothing asked for was ready.
    fn polled(&mut self, p: &Pending, a: &Answer) -> Check {
        match (p.kind, a) {
            (Kind::Poll { events }, Answer::Poll { unique, revents }) => {
                // Armed when nothing asked for was ready and notify was asked.
                if revents & events == 0 {
                    if let Some(c) = p.c {
                        self.armed.insert(*unique, c);
                    }
                }
            }
            (Kind::Poll { .. }, Answer::Fail { fail, .. }) => {
                ensure!(*fail == Fail::BadFile, "poll failed with {fail:?}")
            }
            (k, a) => return Err(format!("{k:?} answered with {a:?}")),
        }
        Ok(())
    }

    /// A RELEASE: the client's file is gone.
    fn released(&mut self, p: &Pending, a: &Answer) -> Check {
        match (p.kind, a) {
            (Kind::Release, a)
                if matches!(a, Answer::Done(_))
                    || (p.faulted && matches!(a, Answer::Fail { fail: Fail::Io, .. })) =>
            {
                if let (Some(c), Some(r)) = (p.c, &mut self.reference) {
                    if r.c == c {
                        // A trailing partial frame dies with the file; the
                        // next open starts on a frame.
                        r.acked = r.acked / FRAME * FRAME;
                    }
                }
                if let Some(c) = p.c {
                    let gone = self.clients[c].fh;
                    self.armed.retain(|_, &mut cc| cc != c);
                    if gone.is_some() {
                        self.clients[c] = Client::default();
                    }
                }
            }
            (k, a) => return Err(format!("{k:?} answered with {a:?}")),
        }
        Ok(())
    }
}

/// A READ: never more than asked, short only when non-blocking,
/// interrupted, closing or of /dev/sndstat.
fn read_answered(p: &Pending, a: &Answer, closing: bool) -> Check {
    match (p.kind, a) {
        (Kind::Read { len, blocking }, Answer::Data { data, .. }) => {
            ensure!(data.len() <= len, "read {} of {len}", data.len());
            ensure!(
                !blocking || data.len() == len || p.interrupted || closing || p.node == SNDSTAT,
                "a blocking read returned {} of {len} uninterrupted",
                data.len()
            );
        }
        (Kind::Read { blocking, .. }, Answer::Fail { fail, .. }) => {
            let ok = match fail {
                Fail::WouldBlock => !blocking,
                Fail::Interrupted => p.interrupted || closing,
                // No capture stream (O_RDWR without one, or it failed).
                Fail::Io => true,
                Fail::Invalid => p.node == MIXER,
                _ => false,
            };
            ensure!(ok, "read failed with {fail:?}");
        }
        (k, a) => return Err(format!("{k:?} answered with {a:?}")),
    }
    Ok(())
}

/// An IOCTL: its output within its declared size; a SYNC fails only
/// when interrupted (or its file failed).
fn ioctl_answered(p: &Pending, a: &Answer, closing: bool) -> Check {
    match (p.kind, a) {
        (Kind::Ioctl { out_size, .. }, Answer::Ioctl { out, .. }) => {
            ensure!(
                out.len() <= out_size as usize,
                "ioctl output {} > {out_size}",
                out.len()
            );
        }
        (Kind::Ioctl { sync, .. }, Answer::Fail { fail, .. }) => {
            ensure!(
                !sync || matches!(fail, Fail::Interrupted | Fail::Io) || p.node >= MIXER,
                "SYNC failed with {fail:?}"
            );
            ensure!(
                !matches!(fail, Fail::Interrupted) || p.interrupted || closing,
                "ioctl interrupted by nobody"
            );
        }
        (k, a) => return Err(format!("{k:?} answered with {a:?}")),
    }
    Ok(())
}
