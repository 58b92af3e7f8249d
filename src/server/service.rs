//! [`Server::service`]: after every engine tick and every batch of
//! requests, each parked request is moved on as far as the engines allow
//! (writes fed into the room made, reads filled, SYNCs and draining closes
//! answered once played out or late), pollers that became ready notified,
//! starved buffers grown and finished closes removed; and
//! [`Server::shutdown`], which answers everything still parked.

use super::file::{readiness, rec_voice, FileKind};
use super::recover::InHand;
use super::{Answer, Fail, Ports, Server};

impl Server {
    /// Moves every parked request on as far as the engines allow, and
    /// answers what became answerable. Called after every engine tick and
    /// every batch of requests.
    pub fn service(&mut self, io: &mut impl Ports) {
        // The clock only matters to SYNC and a draining close.
        let timed = self.files.values().any(|f| {
            f.dsp()
                .is_some_and(|d| !d.syncs.is_empty() || d.release.is_some())
        });
        let now = timed.then(|| io.now());
        let (files, answers) = (&mut self.files, &mut self.answers);
        let (dead_pipes, dead_convs) = (&mut self.dead_pipes, &mut self.dead_convs);
        let (in_hand, finished) = (&mut self.in_hand, &mut self.finished);
        let starving = &mut self.starving;
        io.engines(|e| {
            let played = now.map_or(0, |now| e.position.played(now));
            e.mixer.take_dead(dead_pipes);
            e.mixer.monitors.take_dead(dead_convs);
            if let Some(c) = e.capture.as_mut() {
                c.recorders.take_dead(dead_convs);
            }
            for (&fh, f) in files.iter_mut() {
                let node = f.node;
                let FileKind::Dsp(d) = &mut f.kind else {
                    continue;
                };
                if f.failed {
                    continue;
                }
                *in_hand = Some(InHand {
                    node,
                    unique: None,
                    fh: Some(fh),
                    closing: false,
                });
                if let Some(v) = d.play.and_then(|id| e.mixer.voice_mut(id)) {
                    if v.starved() != d.dsp.starved_seen() {
                        starving.push((fh, v.starved()));
                    }
                    d.feed_parked(v, node, answers);
                    if !v.trigger() {
                        d.answer_gated_writes(node, answers);
                    }
                    // Played out, or gated off by SETTRIGGER meanwhile (it
                    // would never play out: answered as a SYNC on a gated
                    // stream is).
                    let done = !v.trigger() || v.drained(played);
                    if !d.syncs.is_empty() && done {
                        answers.extend(d.syncs.drain(..).map(|unique| {
                            (
                                node,
                                Answer::Ioctl {
                                    unique,
                                    result: 0,
                                    out: Vec::new(),
                                },
                            )
                        }));
                    }
                    if let (Some(r), Some(now)) = (&d.release, now) {
                        let late = now >= r.deadline;
                        if done || late {
                            if late {
                                tracing::warn!(
                                    fh,
                                    "close gave up waiting for the stream to play out"
                                );
                            }
                            answers.push((node, Answer::Done(r.unique)));
                            d.release = None;
                            finished.push(fh);
                            continue; // closed: nothing more to answer or notify
                        }
                    }
                }
                if !d.reads.is_empty() {
                    if let Some(r) = d.rec.and_then(|slot| rec_voice(e, slot)) {
                        while let Some(p) = d.reads.front_mut() {
                            let had = p.got.len();
                            r.take_into(&mut p.got, p.want);
                            d.read += (p.got.len() - had) as u64;
                            if p.got.len() < p.want {
                                break;
                            }
                            let p = d.reads.pop_front().expect("front");
                            answers.push((
                                node,
                                Answer::Data {
                                    unique: p.unique,
                                    data: p.got,
                                },
                            ));
                        }
                    }
                }
                if d.poll_kh.is_some() && readiness(d, e, false) != 0 {
                    let kh = d.poll_kh.take().expect("checked");
                    answers.push((node, Answer::Notify(kh)));
                }
            }
        });
        while let Some((fh, starved)) = self.starving.pop() {
            self.in_hand = Some(InHand {
                node: 0, // not used: nothing is answered
                unique: None,
                fh: Some(fh),
                closing: false,
            });
            self.grow_if_starved(fh, starved, io);
        }
        while let Some(&fh) = self.finished.last() {
            self.in_hand = Some(InHand {
                node: 0, // not used: the close is answered
                unique: None,
                fh: Some(fh),
                closing: true,
            });
            self.remove_file(fh, io);
            self.finished.pop();
        }
        self.in_hand = None;
        self.dead_pipes.clear();
        self.dead_convs.clear();
    }

    /// The daemon stops: every parked request is answered (writes, reads
    /// and SYNC with EIO; a draining close as done).
    pub fn shutdown(&mut self) {
        let mut gone = Vec::new();
        for f in self.files.values_mut() {
            let node = f.node;
            if let FileKind::Dsp(d) = &mut f.kind {
                d.answer_all(Fail::Io, &mut gone);
                self.answers.extend(gone.drain(..).map(|a| (node, a)));
            }
        }
    }
}
