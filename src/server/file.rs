//! One open file as the core holds it: its kind (dsp or monitor, mixer,
//! sndstat), its OSS state ([`Dsp`]), the streams it owns in the engines,
//! and the requests parked on it (writes, reads, SYNCs, a draining close),
//! with how each is answered when cut short. Also the small lookups of a
//! file's streams in the engines ([`streams`], [`rec_voice`]) and its poll
//! readiness.

use std::collections::VecDeque;
use std::time::Instant;

use super::{Answer, Engines, Fail};
use crate::mix::record::RecVoice;
use crate::mix::VoiceId;
use crate::oss::dsp::{Dsp, Streams, Volume};
use crate::oss::soundcard::PCM_ENABLE_INPUT;

/// A write waiting for room in its file's buffer.
#[derive(Debug)]
pub(super) struct ParkedWrite {
    pub(super) unique: u64,
    pub(super) data: Vec<u8>,
    pub(super) done: usize,
}

/// A read waiting for its bytes.
#[derive(Debug)]
pub(super) struct ParkedRead {
    pub(super) unique: u64,
    pub(super) want: usize,
    pub(super) got: Vec<u8>,
}

/// A close (RELEASE) waiting for its stream to play out.
#[derive(Debug)]
pub(super) struct ParkedRelease {
    pub(super) unique: u64,
    pub(super) deadline: Instant,
}

/// Where an open file's recording voice lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RecSlot {
    /// In the capture thread's recorders.
    Capture(usize),
    /// In the mixer's monitor recorders.
    Monitor(usize),
}

/// One open file of /dev/dsp or of the monitor.
#[derive(Debug)]
pub(super) struct DspFile {
    pub(super) dsp: Dsp,
    pub(super) play: Option<VoiceId>,
    pub(super) rec: Option<RecSlot>,
    pub(super) writes: VecDeque<ParkedWrite>,
    pub(super) reads: VecDeque<ParkedRead>,
    pub(super) syncs: Vec<u64>,
    pub(super) release: Option<ParkedRelease>,
    /// Kernel poll handle to notify when the file becomes ready.
    pub(super) poll_kh: Option<u64>,
    /// When it was opened (for the control socket's status).
    pub(super) opened: Instant,
    /// Bytes the program wrote into its voice, and read from its recorder.
    pub(super) written: u64,
    pub(super) read: u64,
    /// Muted over the control socket: the volume it goes back to.
    pub(super) muted: Option<Volume>,
}

impl DspFile {
    pub(super) fn new(
        dsp: Dsp,
        play: Option<VoiceId>,
        rec: Option<RecSlot>,
        opened: Instant,
    ) -> DspFile {
        DspFile {
            opened,
            written: 0,
            read: 0,
            muted: None,
            dsp,
            play,
            rec,
            writes: VecDeque::new(),
            reads: VecDeque::new(),
            syncs: Vec::new(),
            release: None,
            poll_kh: None,
        }
    }

    /// Queues what fits of its parked writes into `v`, its voice; those
    /// written whole are answered.
    pub(super) fn feed_parked(
        &mut self,
        v: &mut crate::mix::Voice,
        node: usize,
        answers: &mut Vec<(usize, Answer)>,
    ) {
        while let Some(w) = self.writes.front_mut() {
            let took = v.push(&w.data[w.done..]);
            w.done += took;
            self.written += took as u64;
            if w.done < w.data.len() {
                break;
            }
            let n = w.done as u32;
            answers.push((
                node,
                Answer::Written {
                    unique: w.unique,
                    n,
                },
            ));
            self.writes.pop_front();
        }
    }

    /// Its stream was gated off while writes waited for room: they can
    /// never complete (see `Server::write`), and each is answered with
    /// what it took, or EAGAIN.
    pub(super) fn answer_gated_writes(&mut self, node: usize, answers: &mut Vec<(usize, Answer)>) {
        answers.extend(
            self.writes
                .drain(..)
                .map(|w| (node, w.answer(Fail::WouldBlock))),
        );
    }

    /// Something is parked on it, or a poller waits for it.
    pub(super) fn waiting(&self) -> bool {
        !self.writes.is_empty()
            || !self.reads.is_empty()
            || !self.syncs.is_empty()
            || self.release.is_some()
            || self.poll_kh.is_some()
    }

    /// Drops the parked request `unique`, if it is here, unanswered.
    pub(super) fn forget(&mut self, unique: u64) {
        self.writes.retain(|w| w.unique != unique);
        self.reads.retain(|r| r.unique != unique);
        self.syncs.retain(|&u| u != unique);
        if self.release.as_ref().is_some_and(|r| r.unique == unique) {
            self.release = None;
        }
    }

    /// Every parked request answered: a write or read with what it has
    /// moved, if anything, else with `fail`; a SYNC with `fail`; a close as
    /// done.
    pub(super) fn answer_all(&mut self, fail: Fail, out: &mut Vec<Answer>) {
        out.extend(self.writes.drain(..).map(|w| w.answer(fail)));
        out.extend(self.reads.drain(..).map(|r| r.answer(fail)));
        out.extend(
            self.syncs
                .drain(..)
                .map(|unique| Answer::Fail { unique, fail }),
        );
        out.extend(self.release.take().map(|r| Answer::Done(r.unique)));
    }
}

impl ParkedWrite {
    /// Cut short: the bytes it has queued, or `fail` if none.
    pub(super) fn answer(self, fail: Fail) -> Answer {
        match self.done {
            0 => Answer::Fail {
                unique: self.unique,
                fail,
            },
            n => Answer::Written {
                unique: self.unique,
                n: n as u32,
            },
        }
    }
}

impl ParkedRead {
    /// Cut short: the bytes it has, or `fail` if none.
    pub(super) fn answer(self, fail: Fail) -> Answer {
        if self.got.is_empty() {
            Answer::Fail {
                unique: self.unique,
                fail,
            }
        } else {
            Answer::Data {
                unique: self.unique,
                data: self.got,
            }
        }
    }
}

#[derive(Debug)]
pub(super) enum FileKind {
    Dsp(Box<DspFile>),
    Mixer,
    Sndstat { text: Vec<u8>, pos: usize },
}

#[derive(Debug)]
pub(super) struct File {
    pub(super) node: usize,
    pub(super) pid: u32,
    pub(super) kind: FileKind,
    /// Handling one of its requests panicked: every later request but
    /// RELEASE gets EIO, and its streams have left the engines (see
    /// [`Server::recover`](super::Server::recover)).
    pub(super) failed: bool,
}

impl File {
    /// Its dsp state, if it is a dsp file that has not failed.
    pub(super) fn dsp(&self) -> Option<&DspFile> {
        match &self.kind {
            FileKind::Dsp(d) if !self.failed => Some(d),
            _ => None,
        }
    }
}

/// Overruns of a file's recording (capture or monitor), as the engines
/// have them.
pub(super) fn rec_overruns(rec: Option<RecSlot>, e: &Engines<'_>) -> u32 {
    match rec {
        Some(RecSlot::Capture(id)) => e
            .capture
            .as_ref()
            .and_then(|c| c.recorders.get(id))
            .map_or(0, |r| r.overruns()),
        Some(RecSlot::Monitor(id)) => e.mixer.monitors.get(id).map_or(0, |r| r.overruns()),
        None => 0,
    }
}

/// A file's streams, as far as the engines have them.
pub(super) fn streams<'e>(
    play: Option<VoiceId>,
    rec: Option<RecSlot>,
    e: &'e mut Engines<'_>,
) -> Streams<'e> {
    let monitor = match rec {
        Some(RecSlot::Monitor(id)) => Some(id),
        _ => None,
    };
    let (play, mon) = e.mixer.streams_mut(play, monitor);
    let rec = match (rec, e.capture.as_mut()) {
        (Some(RecSlot::Capture(id)), Some(c)) => c.recorders.get_mut(id),
        _ => mon,
    };
    Streams { play, rec }
}

/// The recording voice in `slot`, if its engine has it.
pub(super) fn rec_voice<'e>(e: &'e mut Engines<'_>, slot: RecSlot) -> Option<&'e mut RecVoice> {
    match slot {
        RecSlot::Capture(id) => e.capture.as_mut()?.recorders.get_mut(id),
        RecSlot::Monitor(id) => e.mixer.monitors.get_mut(id),
    }
}

/// poll() bits of a dsp file now: writable with a fragment (or LOW_WATER)
/// free and no write waiting; readable with a fragment recorded and no read
/// waiting. Asking for input starts recording, as in OSS.
pub(super) fn readiness(d: &DspFile, e: &mut Engines<'_>, start_input: bool) -> u32 {
    let mut r = 0;
    let mark = d.dsp.low_water();
    if let Some(v) = d.play.and_then(|id| e.mixer.voice(id)) {
        if d.writes.is_empty() && v.space() >= mark.min(v.capacity()) {
            r |= (libc::POLLOUT | libc::POLLWRNORM) as u32;
        }
    }
    if let Some(rv) = d.rec.and_then(|slot| rec_voice(e, slot)) {
        if start_input && d.dsp.enabled(PCM_ENABLE_INPUT) {
            rv.start();
        }
        if d.reads.is_empty() && rv.available() >= mark.min(rv.capacity()) {
            r |= (libc::POLLIN | libc::POLLRDNORM) as u32;
        }
    }
    r
}
