//! OSS 4 sync groups: SNDCTL_DSP_SYNCGROUP arms a file's directions in a
//! group, SNDCTL_DSP_SYNCSTART triggers every member in one pass under the
//! engines' lock, and a closing or failing file leaves its group.

use super::file::{streams, FileKind};
use super::{Ports, Server};
use crate::oss::dsp::Outcome;
use crate::oss::soundcard::{OssSyncgroup, PCM_ENABLE_INPUT, PCM_ENABLE_OUTPUT};

impl Server {
    /// SNDCTL_DSP_SYNCGROUP: creates a group (id 0) or joins one, and arms
    /// the file's chosen directions: output gated off (its writes are
    /// queued, not played), recording halted, until SYNCSTART.
    pub(super) fn sync_group(&mut self, fh: u64, input: &[u8], io: &mut impl Ports) -> Outcome {
        let Some(mut g) = OssSyncgroup::from_bytes(input) else {
            return Outcome::Error(libc::EINVAL);
        };
        let mode = g.mode as u32;
        let both = PCM_ENABLE_INPUT | PCM_ENABLE_OUTPUT;
        let f = self.files[&fh].dsp().expect("a dsp file");
        let has = |bit: u32| match bit {
            PCM_ENABLE_OUTPUT => f.play.is_some(),
            _ => f.rec.is_some(),
        };
        // A mode of nothing, of unknown bits, or of a direction the file
        // does not have.
        if mode == 0
            || mode & !both != 0
            || [PCM_ENABLE_INPUT, PCM_ENABLE_OUTPUT]
                .iter()
                .any(|&b| mode & b != 0 && !has(b))
        {
            return Outcome::Error(libc::EINVAL);
        }
        if self.groups.values().flatten().any(|&(m, _)| m == fh) {
            return Outcome::Error(libc::EBUSY);
        }
        if g.id == 0 {
            g.id = self.next_group;
            self.next_group = self.next_group.checked_add(1).unwrap_or(1);
        } else if !self.groups.contains_key(&g.id) {
            // Unknown, or already started (a started group is gone).
            return Outcome::Error(libc::EINVAL);
        }
        self.groups.entry(g.id).or_default().push((fh, mode));
        self.set_triggers(&[(fh, mode)], false, io);
        Outcome::Reply {
            result: 0,
            out: g.to_bytes().to_vec(),
        }
    }

    /// SNDCTL_DSP_SYNCSTART: every member of the group starts in the same
    /// device period (one pass under the engines' lock): streams in the
    /// device's rate, or resampled by `fast`, put their first frames on the
    /// same device frame. The group ends.
    pub(super) fn sync_start(&mut self, input: &[u8], io: &mut impl Ports) -> Outcome {
        let Some(id) = input
            .get(..4)
            .map(|b| i32::from_ne_bytes(b.try_into().expect("4")))
        else {
            return Outcome::Error(libc::EINVAL);
        };
        let Some(members) = self.groups.remove(&id) else {
            return Outcome::Error(libc::EINVAL);
        };
        self.set_triggers(&members, true, io);
        Outcome::Reply {
            result: 0,
            out: Vec::new(),
        }
    }

    /// Turns the trigger bits `mode` of each file on or off, all in one
    /// call to the engines.
    pub(super) fn set_triggers(&mut self, members: &[(u64, u32)], on: bool, io: &mut impl Ports) {
        let files = &mut self.files;
        io.engines(|e| {
            for &(fh, mode) in members {
                let Some(FileKind::Dsp(f)) = files.get_mut(&fh).map(|f| &mut f.kind) else {
                    continue;
                };
                let bits = if on {
                    f.dsp.trigger_bits() | mode
                } else {
                    f.dsp.trigger_bits() & !mode
                };
                f.dsp.set_trigger(streams(f.play, f.rec, e), bits);
            }
        });
    }

    pub(super) fn leave_groups(&mut self, fh: u64) {
        for members in self.groups.values_mut() {
            members.retain(|&(m, _)| m != fh);
        }
        self.groups.retain(|_, members| !members.is_empty());
    }
}
