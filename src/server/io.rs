//! WRITE, READ and POLL: bytes into a file's voice and out of its recorder,
//! parking a blocking request that cannot complete yet (the rest is moved
//! on by [`Server::service`]), and a buffer that grows for a program that
//! keeps running dry.

use super::file::{readiness, rec_voice, File, FileKind, ParkedRead, ParkedWrite};
use super::{Answer, Fail, Ports, Server};
use crate::cuse::abi::FUSE_POLL_SCHEDULE_NOTIFY;
use crate::oss::soundcard::PCM_ENABLE_INPUT;

impl Server {
    pub(super) fn write(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        data: &[u8],
        flags: u32,
        io: &mut impl Ports,
    ) {
        let Some(f) = self.dsp_file(fh) else {
            return self.fail(node, unique, Fail::Invalid);
        };
        let Some(id) = f.play else {
            return self.fail(node, unique, Fail::WrongDirection);
        };
        f.dsp.start_io();
        let nonblock = f.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        let (took, starved, gated) = io.engines(|e| match e.mixer.voice_mut(id) {
            // Earlier writes of this file wait first: keep the byte order.
            Some(v) if f.writes.is_empty() => (v.push(data), v.starved(), !v.trigger()),
            // (Behind them it waits its turn, even gated off: the service
            // pass feeds them first, and answers what still waits then.)
            Some(v) => (0, v.starved(), false),
            None => (0, 0, false),
        });
        f.written += took as u64;
        if starved != f.dsp.starved_seen() {
            self.grow_if_starved(fh, starved, io);
        }
        let Some(f) = self.dsp_file(fh) else {
            return self.fail(node, unique, Fail::Invalid);
        };
        if took == data.len() {
            return self.answer(
                node,
                Answer::Written {
                    unique,
                    n: took as u32,
                },
            );
        }
        // A stream gated off (SETTRIGGER without output, or armed in a sync
        // group) frees no room until its program starts it, which a writer
        // blocked here cannot do: the write can never complete. It gets what
        // was taken, or EAGAIN if nothing was, as from OSS 4's and FreeBSD's
        // drivers when a write fills a buffer that is not triggered.
        if nonblock || gated {
            return if took > 0 {
                self.answer(
                    node,
                    Answer::Written {
                        unique,
                        n: took as u32,
                    },
                )
            } else {
                self.fail(node, unique, Fail::WouldBlock)
            };
        }
        f.writes.push_back(ParkedWrite {
            unique,
            data: data.to_vec(),
            done: took,
        });
    }

    /// The file's voice has starved `starved` times in all (it ran dry
    /// although its program kept it topped up): its default buffer may
    /// grow ([`Dsp::note_starved`](crate::oss::dsp::Dsp::note_starved)). The bigger ring is allocated here,
    /// outside the engine's lock, and swapped in under it.
    pub(super) fn grow_if_starved(&mut self, fh: u64, starved: u32, io: &mut impl Ports) {
        let now = io.now();
        let Some(f) = self.dsp_file(fh) else { return };
        let Some(id) = f.play else { return };
        if !f.dsp.note_starved(starved, now) {
            return;
        }
        let fb = f.dsp.fmt.frame_bytes();
        let bytes = f.dsp.buffer_bytes() / fb * fb;
        let ms = f.dsp.bytes_ms(bytes);
        let (size, count) = f.dsp.geometry();
        let buf = vec![0u8; bytes].into_boxed_slice();
        let node = self.files.get(&fh).map_or(0, |f| f.node);
        let Some(f) = self.dsp_file(fh) else { return };
        let mut answers = Vec::new();
        let old = io.engines(|e| {
            let v = e.mixer.voice_mut(id)?;
            let old = v.regrow(buf);
            // What waits goes into the room made.
            f.feed_parked(v, node, &mut answers);
            Some(old)
        });
        drop(old);
        self.answers.extend(answers);
        let pid = self.files.get(&fh).map_or(0, |f| f.pid);
        tracing::info!(
            pid,
            "a program could not keep its buffer from running dry (this machine wakes it too \
             late): its buffer grew to {ms:.1} ms ({count} fragments of {size} B)"
        );
    }

    pub(super) fn read(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        size: usize,
        flags: u32,
        io: &mut impl Ports,
    ) {
        if let Some(File {
            kind: FileKind::Sndstat { text, pos },
            ..
        }) = self.files.get_mut(&fh)
        {
            let n = size.min(text.len() - *pos);
            let data = text[*pos..*pos + n].to_vec();
            *pos += n;
            return self.answer(node, Answer::Data { unique, data });
        }
        let Some(f) = self.dsp_file(fh) else {
            return self.fail(node, unique, Fail::Invalid);
        };
        let Some(slot) = f.rec else {
            // Opened read-write on a device that cannot record.
            return self.fail(node, unique, Fail::Io);
        };
        f.dsp.start_io();
        let nonblock = f.dsp.nonblock || flags as i32 & libc::O_NONBLOCK != 0;
        let first = f.reads.is_empty();
        let mut got = Vec::with_capacity(size);
        let enabled = f.dsp.enabled(PCM_ENABLE_INPUT);
        io.engines(|e| {
            if let Some(r) = rec_voice(e, slot) {
                if enabled {
                    r.start(); // the first read starts recording
                }
                if first {
                    r.take_into(&mut got, size);
                }
            }
        });
        f.read += got.len() as u64;
        if got.len() == size || (nonblock && !got.is_empty()) {
            return self.answer(node, Answer::Data { unique, data: got });
        }
        if nonblock {
            return self.fail(node, unique, Fail::WouldBlock);
        }
        f.reads.push_back(ParkedRead {
            unique,
            want: size,
            got,
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn poll(
        &mut self,
        node: usize,
        unique: u64,
        fh: u64,
        kh: u64,
        flags: u32,
        events: u32,
        io: &mut impl Ports,
    ) {
        let revents = match &mut self.files.get_mut(&fh).expect("checked").kind {
            FileKind::Mixer => 0,
            FileKind::Sndstat { .. } => (libc::POLLIN | libc::POLLRDNORM) as u32,
            FileKind::Dsp(f) => {
                let wants_in = events & (libc::POLLIN | libc::POLLRDNORM) as u32 != 0;
                let r = io.engines(|e| readiness(f, e, wants_in));
                if r & events == 0 && flags & FUSE_POLL_SCHEDULE_NOTIFY != 0 {
                    f.poll_kh = Some(kh);
                }
                r
            }
        };
        self.answer(node, Answer::Poll { unique, revents });
    }
}
