//! The paths that answer a request before it completes: INTERRUPT (a
//! parked request answered with what it has, a draining close of a dying
//! process at once), and [`Server::recover`] after a panic (the request in
//! hand gets EIO, its file fails, stray streams leave the engines), with
//! what the core keeps in hand for it.

use super::file::{File, FileKind, RecSlot};
use super::{Answer, Fail, Ports, Server};
use crate::mix::VoiceId;

/// What the core was doing, kept for [`Server::recover`] in case it panics.
#[derive(Debug, Clone, Copy)]
pub(super) struct InHand {
    pub(super) node: usize,
    /// The request being handled; `None` while serving a file's parked
    /// requests, or for an INTERRUPT (which is never answered).
    pub(super) unique: Option<u64>,
    /// The file concerned, if any.
    pub(super) fh: Option<u64>,
    /// The file is being closed: on a panic it goes, rather than staying
    /// failed.
    pub(super) closing: bool,
}

/// What [`Server::recover`] did, for the runtime's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// The request answered with EIO, if a request was being handled.
    pub unique: Option<u64>,
    /// The file that failed (or, if it was closing, was dropped).
    pub fh: Option<u64>,
    /// The process that opened that file.
    pub pid: Option<u32>,
    /// The file was closing, and is gone.
    pub closed: bool,
}

impl Server {
    /// INTERRUPT: a parked write answers with what it has taken (or EINTR),
    /// a parked read with what it has (or EINTR), a parked SYNC with EINTR.
    /// An unknown unique was answered already; a draining close is not
    /// interrupted (the kernel does not interrupt RELEASE).
    pub(super) fn interrupt(&mut self, target: u64, io: &mut impl Ports) {
        // A close that is draining: the kernel interrupts it when the
        // closing process gets a signal. A process that the signal kills
        // (SIGKILL, or any signal it does not catch) is then kept in state
        // D until the answer: answered at once, its queue dropped, as if it
        // had been killed before its close. A caught signal lets the close
        // drain on (its deadline still bounds it).
        let closing = self.files.iter().find_map(|(&fh, f)| match &f.kind {
            FileKind::Dsp(d) if d.release.as_ref().is_some_and(|r| r.unique == target) => {
                Some((fh, f.node, f.pid))
            }
            _ => None,
        });
        if let Some((fh, node, pid)) = closing {
            if pid != 0 && io.killed(pid) {
                tracing::debug!(
                    fh,
                    pid,
                    "a draining close was interrupted by a fatal signal"
                );
                self.remove_file(fh, io);
                self.answer(node, Answer::Done(target));
            }
            return;
        }
        for f in self.files.values_mut() {
            let node = f.node;
            let FileKind::Dsp(d) = &mut f.kind else {
                continue;
            };
            let a = if let Some(i) = d.writes.iter().position(|w| w.unique == target) {
                d.writes.remove(i).expect("found").answer(Fail::Interrupted)
            } else if let Some(i) = d.reads.iter().position(|r| r.unique == target) {
                d.reads.remove(i).expect("found").answer(Fail::Interrupted)
            } else if let Some(i) = d.syncs.iter().position(|&u| u == target) {
                d.syncs.remove(i);
                Answer::Fail {
                    unique: target,
                    fail: Fail::Interrupted,
                }
            } else {
                continue;
            };
            self.answers.push((node, a));
            return;
        }
    }

    /// After a panic in [`Server::handle`] or [`Server::service`] (a bug,
    /// caught by the runtime): what was in hand is failed, so that every
    /// request read is still answered exactly once and the other files go
    /// on untouched.
    /// - The request being handled is answered with EIO (whatever it had
    ///   queued or parked is dropped; an INTERRUPT is never answered).
    /// - Its file fails: what it has parked gets EIO (a parked close is
    ///   answered as done and the file goes), an armed poller is woken (to
    ///   find POLLERR), and its later requests get EIO, except RELEASE,
    ///   which closes it as usual. A file that was closing is dropped.
    /// - The streams of failed and dropped files leave the engines at once
    ///   (so a failed file stops playing), and so does any stream the panic
    ///   left without a file.
    ///
    /// The bookkeeping is done first and cannot reach the engines; their
    /// part comes last, so that if it panics too, every request is still
    /// answered (its streams then go at the file's RELEASE).
    pub fn recover(&mut self, io: &mut impl Ports) -> Recovered {
        let hand = self.in_hand.take();
        let mut done = Recovered {
            unique: None,
            fh: None,
            pid: None,
            closed: false,
        };
        // Closes that service answered and had yet to remove.
        for fh in std::mem::take(&mut self.finished) {
            self.drop_file(fh);
        }
        self.starving.clear();
        if let Some(h) = hand {
            if let Some(u) = h.unique {
                self.answers.retain(|(_, a)| a.unique() != Some(u));
                for f in self.files.values_mut() {
                    if let FileKind::Dsp(d) = &mut f.kind {
                        d.forget(u);
                    }
                }
                self.fail(h.node, u, Fail::Io);
                done.unique = Some(u);
            }
            if let Some(fh) = h.fh {
                // (A closing file may be out of the table already.)
                done.pid = self.files.get(&fh).map(|f| f.pid);
                if h.closing {
                    self.drop_file(fh);
                    (done.fh, done.closed) = (Some(fh), true);
                } else if self.files.contains_key(&fh) {
                    self.fail_file(fh, false);
                    done.fh = Some(fh);
                }
            }
        }
        self.sweep_streams(io);
        done
    }

    /// Marks file `fh` failed and answers what it has parked with EIO (a
    /// parked close as done, and the file goes); a poller of a file that
    /// stays is woken, to find POLLERR (a closing file has none: the kernel
    /// releases a file only when nothing, a poll included, holds it).
    pub(super) fn fail_file(&mut self, fh: u64, closing: bool) {
        let Some(f) = self.files.get_mut(&fh) else {
            return;
        };
        f.failed = true;
        let node = f.node;
        let mut closed = false;
        if let FileKind::Dsp(d) = &mut f.kind {
            let fail = |unique| Answer::Fail {
                unique,
                fail: Fail::Io,
            };
            let mut out: Vec<Answer> = d.writes.drain(..).map(|w| fail(w.unique)).collect();
            out.extend(d.reads.drain(..).map(|r| fail(r.unique)));
            out.extend(d.syncs.drain(..).map(fail));
            if let Some(r) = d.release.take() {
                out.push(Answer::Done(r.unique));
                closed = true;
            }
            let kh = d.poll_kh.take();
            if !closing && !closed {
                out.extend(kh.map(Answer::Notify));
            }
            self.answers.extend(out.into_iter().map(|a| (node, a)));
        }
        self.leave_groups(fh);
        if closed {
            self.files.remove(&fh);
        }
    }

    /// File `fh` goes without touching the engines (its parked requests
    /// answered as [`Server::fail_file`] does); its streams are left for
    /// [`Server::sweep_streams`].
    pub(super) fn drop_file(&mut self, fh: u64) {
        self.fail_file(fh, true);
        self.files.remove(&fh);
    }

    /// Removes from the engines every stream that no live file owns: those
    /// of failed files and any a panic left behind. Releases the capture
    /// device when no reader is left.
    pub(super) fn sweep_streams(&mut self, io: &mut impl Ports) {
        let mut voices = Vec::new();
        let mut monitors = Vec::new();
        let mut readers = Vec::new();
        for d in self.files.values().filter_map(File::dsp) {
            voices.extend(d.play);
            match d.rec {
                Some(RecSlot::Monitor(id)) => monitors.push(id),
                Some(RecSlot::Capture(id)) => readers.push(id),
                None => {}
            }
        }
        let (old, capture_idle) = io.engines(|e| {
            let mut old_voices = Vec::new();
            let mut old_recs = Vec::new();
            let stray: Vec<VoiceId> = e
                .mixer
                .voices()
                .map(|(id, _)| id)
                .filter(|id| !voices.contains(id))
                .collect();
            old_voices.extend(stray.into_iter().filter_map(|id| e.mixer.remove(id)));
            let stray: Vec<usize> = e
                .mixer
                .monitors
                .iter()
                .map(|(id, _)| id)
                .filter(|id| !monitors.contains(id))
                .collect();
            old_recs.extend(
                stray
                    .into_iter()
                    .filter_map(|id| e.mixer.monitors.remove(id)),
            );
            let idle = match e.capture.as_mut() {
                Some(c) => {
                    let stray: Vec<usize> = c
                        .recorders
                        .iter()
                        .map(|(id, _)| id)
                        .filter(|id| !readers.contains(id))
                        .collect();
                    old_recs.extend(stray.into_iter().filter_map(|id| c.recorders.remove(id)));
                    c.recorders.is_empty()
                }
                None => false,
            };
            ((old_voices, old_recs), idle)
        });
        drop(old);
        for f in self.files.values_mut() {
            if let (true, FileKind::Dsp(d)) = (f.failed, &mut f.kind) {
                d.play = None;
                d.rec = None;
            }
        }
        if capture_idle && readers.is_empty() {
            io.close_capture();
            self.capture_dev = None;
            tracing::debug!("capture closed");
        }
    }
}
