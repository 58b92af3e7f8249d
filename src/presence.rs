//! Which of the configured devices is used, and when to look for the
//! others: the pure half of surviving cards that go away (unplugged, driver
//! unbound), are absent at start-up, or come back. The devices are a list in
//! order of preference (`--device A --device B`); the engine and capture
//! threads feed in what happened and the time, and this says which device
//! to use, when a stand-in (a clock that paces clients as the card would)
//! takes over, and when to try which device again. The threads do the I/O
//! and the logging.
//!
//! The rules: the first device of the list that opens is used. When it
//! fails, every device is tried at once, most preferred first, and the
//! stand-in runs only if none opens. While the device used is not the first
//! of the list (or the stand-in runs), the ones preferred to it are tried
//! every [`RETRY`], and the mix moves back to the first that opens. Opening a
//! missing ALSA device fails at once, so a try costs little, and a card that
//! comes back is playing again within about half a second.
//!
//! A device that opens but not at the rate and channels the mix runs at
//! (the clients' streams are built for those) is not used; that is said once
//! per device.

use std::ops::Range;
use std::time::{Duration, Instant};

/// How often the devices preferred to the one used are tried again.
pub const RETRY: Duration = Duration::from_millis(500);

/// The device list with `name` first and the others after it, in their
/// order (`ossd ctl device NAME`, `ossd ctl capture NAME`).
pub fn preferring(names: &[String], name: &str) -> Vec<String> {
    std::iter::once(name.to_owned())
        .chain(names.iter().filter(|n| *n != name).cloned())
        .collect()
}

/// The devices as the thread that owns them sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// The device used; `None`: the stand-in runs.
    on: Option<usize>,
    /// Per device: since when it has been missing (`None`: not known to be).
    away: Vec<Option<Instant>>,
    /// Per device: it opened in another configuration, and that was said.
    told_other: Vec<bool>,
    /// When to try the preferred devices again.
    next_try: Instant,
}

/// Whether to use a device that just opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Use it; it had been missing this long (`None`: it was not missing,
    /// e.g. opened again after an idle release).
    Yes { away: Option<Duration> },
    /// It does not fit the mix: close it; say so if `tell`.
    No { tell: bool },
}

impl Presence {
    /// `n` devices (at least one), of which `on` was opened at `now` (the
    /// ones preferred to it did not open); `None`: none opened, the
    /// stand-in runs and every device is tried at once.
    pub fn new(n: usize, on: Option<usize>, now: Instant) -> Presence {
        let n = n.max(1);
        let first_present = on.unwrap_or(n);
        Presence {
            on,
            away: (0..n).map(|i| (i < first_present).then_some(now)).collect(),
            told_other: vec![false; n],
            next_try: if on.is_some() { now + RETRY } else { now },
        }
    }

    /// The device used, if any.
    pub fn on(&self) -> Option<usize> {
        self.on
    }

    /// The stand-in runs: no device is used.
    pub fn is_missing(&self) -> bool {
        self.on.is_none()
    }

    /// The devices to try at `now`, most preferred first: all of them while
    /// the stand-in runs, those preferred to the one used otherwise, none
    /// before the timer is due.
    pub fn to_try(&self, now: Instant) -> Range<usize> {
        if now < self.next_try {
            return 0..0;
        }
        0..self.on.unwrap_or(self.away.len())
    }

    /// The device used failed at `now` (a read, write or wait failed in a
    /// way no recovery fixes): the stand-in takes over, and every device is
    /// to be tried at once. Returns the device that failed.
    pub fn failed(&mut self, now: Instant) -> Option<usize> {
        let was = self.on.take();
        if let Some(i) = was {
            self.away[i].get_or_insert(now);
        }
        self.next_try = now;
        was
    }

    /// Device `i` opened at `now`; `fits`: at the mix's rate and channels.
    pub fn opened(&mut self, i: usize, fits: bool, now: Instant) -> Use {
        if !fits {
            self.away[i].get_or_insert(now);
            let tell = !self.told_other[i];
            self.told_other[i] = true;
            return Use::No { tell };
        }
        self.on = Some(i);
        self.told_other[i] = false;
        let away = self.away[i]
            .take()
            .map(|t| now.saturating_duration_since(t));
        Use::Yes { away }
    }

    /// Opening device `i` failed at `now`.
    pub fn open_failed(&mut self, i: usize, now: Instant) {
        self.away[i].get_or_insert(now);
    }

    /// A round of tries ended at `now`: the next is a [`RETRY`] later.
    pub fn tried(&mut self, now: Instant) {
        self.next_try = now + RETRY;
    }
}

/// How a thread's device list speaks in the log: one line when the device
/// used fails (and what is used meanwhile), one when a device comes back.
#[derive(Debug, Clone, Copy)]
pub struct Role {
    /// "output", "capture".
    pub role: &'static str,
    /// What is done on a device: "playing on", "recording from".
    pub using: &'static str,
    /// What is done with no device: "playing on a stand-in clock".
    pub standin: &'static str,
}

pub const OUTPUT: Role = Role {
    role: "output",
    using: "playing on",
    standin: "playing on a stand-in clock",
};

pub const CAPTURE: Role = Role {
    role: "capture",
    using: "recording from",
    standin: "recording silence",
};

impl Role {
    /// Device `failed` of `names` failed (`why`); `on` is used now.
    pub fn log_failed(
        &self,
        names: &[String],
        failed: usize,
        on: Option<usize>,
        why: &dyn std::fmt::Display,
    ) {
        let (role, name) = (self.role, &names[failed]);
        match on {
            Some(i) if i != failed => tracing::warn!(
                "{role} device {name} failed ({why}); {} {} until it returns",
                self.using,
                names[i]
            ),
            Some(_) => tracing::info!("{role} device {name} failed ({why}) and opened again"),
            None => tracing::warn!(
                "{role} device {name} failed ({why}); {} until {}",
                self.standin,
                if names.len() > 1 {
                    "a device returns"
                } else {
                    "it returns"
                }
            ),
        }
    }

    /// Device `i` of `names` is used now, instead of `was`; it had been
    /// missing for `away`.
    pub fn log_back(&self, names: &[String], i: usize, was: Option<usize>, away: Option<Duration>) {
        let (role, name) = (self.role, &names[i]);
        match (away, was) {
            (Some(away), Some(from)) if from != i => tracing::info!(
                "{role} device {name} is back after {:.1} s; {} it instead of {}",
                away.as_secs_f64(),
                self.using,
                names[from]
            ),
            (Some(away), _) => tracing::info!(
                "{role} device {name} is back after {:.1} s",
                away.as_secs_f64()
            ),
            (None, Some(from)) if from != i => {
                tracing::info!(
                    "{} {role} device {name} instead of {}",
                    self.using,
                    names[from]
                )
            }
            (None, _) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferring_puts_the_name_first_and_keeps_the_others_in_order() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let names = l(&["a", "b", "c"]);
        assert_eq!(preferring(&names, "b"), l(&["b", "a", "c"]));
        assert_eq!(preferring(&names, "a"), names);
        assert_eq!(preferring(&names, "new"), l(&["new", "a", "b", "c"]));
    }

    #[test]
    fn one_device_fails_is_tried_on_the_timer_and_comes_back() {
        let t0 = Instant::now();
        let mut p = Presence::new(1, Some(0), t0);
        assert_eq!(p.to_try(t0 + RETRY * 9), 0..0, "the first is never tried");
        assert_eq!(p.failed(t0), Some(0));
        assert!(p.is_missing());
        // Tried at once, then on the timer.
        assert_eq!(p.to_try(t0), 0..1);
        p.open_failed(0, t0);
        p.tried(t0);
        assert_eq!(p.to_try(t0 + RETRY / 2), 0..0);
        assert_eq!(p.to_try(t0 + RETRY), 0..1);
        p.open_failed(0, t0 + RETRY);
        p.tried(t0 + RETRY);
        let back = p.opened(0, true, t0 + RETRY * 5);
        assert_eq!(
            back,
            Use::Yes {
                away: Some(RETRY * 5)
            }
        );
        assert_eq!(p.on(), Some(0));
        // Gone again: the time away counts afresh.
        p.failed(t0 + RETRY * 9);
        let back = p.opened(0, true, t0 + RETRY * 10);
        assert_eq!(back, Use::Yes { away: Some(RETRY) });
    }

    #[test]
    fn the_mix_moves_down_the_list_and_back_to_the_preferred_device() {
        let t0 = Instant::now();
        let mut p = Presence::new(3, Some(0), t0);
        assert_eq!(p.failed(t0), Some(0));
        // The round: the first is still gone, the second opens.
        let round = p.to_try(t0);
        assert_eq!(round, 0..3);
        p.open_failed(0, t0);
        assert_eq!(p.opened(1, true, t0), Use::Yes { away: None });
        p.tried(t0);
        assert_eq!(p.on(), Some(1));
        // On the timer only the preferred one is tried.
        assert_eq!(p.to_try(t0 + RETRY), 0..1);
        p.open_failed(0, t0 + RETRY);
        p.tried(t0 + RETRY);
        let t = t0 + RETRY * 4;
        assert_eq!(p.to_try(t), 0..1);
        assert_eq!(
            p.opened(0, true, t),
            Use::Yes {
                away: Some(RETRY * 4)
            }
        );
        assert_eq!(p.on(), Some(0));
        assert_eq!(p.to_try(t + RETRY * 9), 0..0);
    }

    #[test]
    fn absent_at_start_every_device_is_tried_at_once() {
        let t0 = Instant::now();
        let mut p = Presence::new(2, None, t0);
        assert!(p.is_missing());
        assert_eq!(p.to_try(t0), 0..2);
        p.open_failed(0, t0);
        p.open_failed(1, t0);
        p.tried(t0);
        assert_eq!(p.to_try(t0), 0..0);
        // The second comes first: used, and the first still looked for.
        let t = t0 + RETRY * 2;
        p.open_failed(0, t);
        assert_eq!(
            p.opened(1, true, t),
            Use::Yes {
                away: Some(RETRY * 2)
            }
        );
        p.tried(t);
        assert_eq!(p.to_try(t + RETRY), 0..1);
        // Started on the second: the first counts as away from the start.
        let q = Presence::new(2, Some(1), t0);
        assert_eq!(q.to_try(t0 + RETRY), 0..1);
    }

    #[test]
    fn a_device_in_another_configuration_is_skipped_and_told_once() {
        let t0 = Instant::now();
        let mut p = Presence::new(2, Some(0), t0);
        p.failed(t0);
        assert_eq!(p.opened(0, false, t0), Use::No { tell: true });
        assert_eq!(p.opened(1, false, t0), Use::No { tell: true });
        p.tried(t0);
        assert!(p.is_missing());
        assert_eq!(p.opened(0, false, t0 + RETRY), Use::No { tell: false });
        // As it was again: used, and the time counts from the failure.
        let back = p.opened(0, true, t0 + RETRY * 3);
        assert_eq!(
            back,
            Use::Yes {
                away: Some(RETRY * 3)
            }
        );
        // Once used, another mismatch is told again.
        p.failed(t0 + RETRY * 4);
        assert_eq!(p.opened(0, false, t0 + RETRY * 4), Use::No { tell: true });
    }
}
