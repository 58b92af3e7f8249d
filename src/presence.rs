//! Whether a device is there, and when to look for it again: the pure half
//! of surviving a card that goes away (unplugged, driver unbound) or is
//! absent at start-up. The engine and capture threads feed it what happened
//! and the time; it says when to swap in the stand-in (a clock that paces
//! clients as the card would), when to try the device again, and what to
//! log. The threads do only the I/O.
//!
//! The device is looked for on a slow timer ([`RETRY`]): opening a missing
//! ALSA device fails at once, so a try costs little, and a card that comes
//! back is playing again within about half a second.

use std::time::{Duration, Instant};

/// How often a missing device is tried again.
pub const RETRY: Duration = Duration::from_millis(500);

/// The device as the thread that owns it sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The device is open and used.
    Present,
    /// The device is missing: a stand-in runs in its place.
    StandIn {
        /// When the device went (or the daemon started without it).
        since: Instant,
        /// When to try opening it again.
        next_try: Instant,
        /// It came back in another configuration, and that was said.
        other_config_told: bool,
    },
}

/// What happened to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A read, write or wait failed in a way no recovery fixes.
    Failed,
    /// Opening it again failed.
    ReopenFailed,
    /// It opened again, in the configuration the stand-in runs at or not.
    Reopened { same_config: bool },
}

/// What the thread is to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing new to do or say.
    Quiet,
    /// The device just went: swap in the stand-in, and say so once.
    WentAway,
    /// The device is back as it was: swap it in; it was away this long.
    Back { away: Duration },
    /// The device came back in another configuration: keep the stand-in
    /// (the clients' streams are built for the old one), and say so once.
    OtherConfig,
}

impl Step {
    /// Logs this change of `role`'s device (`"output"`, `"capture"`)
    /// `name`, once: `why` it went (or the configuration it came back in),
    /// and what goes on `meanwhile` (e.g. "playing on a stand-in clock").
    pub fn log(self, role: &str, name: &str, why: &dyn std::fmt::Display, meanwhile: &str) {
        match self {
            Step::WentAway => {
                tracing::warn!("{role} device {name} failed ({why}); {meanwhile} until it returns")
            }
            Step::Back { away } => tracing::info!(
                "{role} device {name} is back after {:.1} s",
                away.as_secs_f64()
            ),
            Step::OtherConfig => tracing::warn!(
                "{role} device {name} is back, but as {why}, not as ossd runs; \
                 {meanwhile} (restart ossd to use it)"
            ),
            Step::Quiet => {}
        }
    }
}

impl Presence {
    /// Missing from the start (`now`); the first try is at once.
    pub fn absent(now: Instant) -> Presence {
        Presence::StandIn {
            since: now,
            next_try: now,
            other_config_told: false,
        }
    }

    pub fn is_missing(&self) -> bool {
        matches!(self, Presence::StandIn { .. })
    }

    /// Whether to try opening the device at `now`.
    pub fn should_try(&self, now: Instant) -> bool {
        match *self {
            Presence::Present => false,
            Presence::StandIn { next_try, .. } => now >= next_try,
        }
    }

    /// Takes in what happened at `now`; what to do about it.
    pub fn on(&mut self, event: Event, now: Instant) -> Step {
        let later = now + RETRY;
        match (*self, event) {
            (Presence::Present, Event::Failed) => {
                *self = Presence::StandIn {
                    since: now,
                    next_try: later,
                    other_config_told: false,
                };
                Step::WentAway
            }
            // An open after an idle release that fails is the device going.
            (Presence::Present, Event::ReopenFailed) => {
                *self = Presence::StandIn {
                    since: now,
                    next_try: later,
                    other_config_told: false,
                };
                Step::WentAway
            }
            (Presence::Present, Event::Reopened { same_config: true }) => Step::Quiet,
            (Presence::Present, Event::Reopened { same_config: false }) => {
                *self = Presence::StandIn {
                    since: now,
                    next_try: later,
                    other_config_told: true,
                };
                Step::OtherConfig
            }
            (Presence::StandIn { .. }, Event::Failed) => Step::Quiet,
            (
                Presence::StandIn {
                    since,
                    other_config_told,
                    ..
                },
                Event::ReopenFailed,
            ) => {
                *self = Presence::StandIn {
                    since,
                    next_try: later,
                    other_config_told,
                };
                Step::Quiet
            }
            (Presence::StandIn { since, .. }, Event::Reopened { same_config: true }) => {
                *self = Presence::Present;
                Step::Back {
                    away: now.saturating_duration_since(since),
                }
            }
            (
                Presence::StandIn {
                    since,
                    other_config_told,
                    ..
                },
                Event::Reopened { same_config: false },
            ) => {
                *self = Presence::StandIn {
                    since,
                    next_try: later,
                    other_config_told: true,
                };
                if other_config_told {
                    Step::Quiet
                } else {
                    Step::OtherConfig
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_swaps_in_the_stand_in_once_and_tries_again_on_the_timer() {
        let t0 = Instant::now();
        let mut p = Presence::Present;
        assert!(!p.should_try(t0));
        assert_eq!(p.on(Event::Failed, t0), Step::WentAway);
        assert!(p.is_missing());
        // The stand-in failing too says nothing more.
        assert_eq!(p.on(Event::Failed, t0), Step::Quiet);
        assert!(!p.should_try(t0 + RETRY / 2));
        assert!(p.should_try(t0 + RETRY));
        assert_eq!(p.on(Event::ReopenFailed, t0 + RETRY), Step::Quiet);
        assert!(!p.should_try(t0 + RETRY + RETRY / 2));
        assert!(p.should_try(t0 + RETRY * 2));
    }

    #[test]
    fn the_device_back_as_it_was_is_swapped_in_and_the_time_away_told() {
        let t0 = Instant::now();
        let mut p = Presence::Present;
        p.on(Event::Failed, t0);
        p.on(Event::ReopenFailed, t0 + RETRY);
        let back = p.on(Event::Reopened { same_config: true }, t0 + RETRY * 5);
        assert_eq!(back, Step::Back { away: RETRY * 5 });
        assert_eq!(p, Presence::Present);
        assert!(!p.should_try(t0 + RETRY * 9));
        // Gone again: said again.
        assert_eq!(p.on(Event::Failed, t0 + RETRY * 9), Step::WentAway);
    }

    #[test]
    fn back_in_another_configuration_keeps_the_stand_in_and_is_told_once() {
        let t0 = Instant::now();
        let mut p = Presence::Present;
        p.on(Event::Failed, t0);
        let other = Event::Reopened { same_config: false };
        assert_eq!(p.on(other, t0 + RETRY), Step::OtherConfig);
        assert!(p.is_missing());
        assert!(p.should_try(t0 + RETRY * 2));
        assert_eq!(p.on(other, t0 + RETRY * 2), Step::Quiet);
        assert_eq!(p.on(Event::ReopenFailed, t0 + RETRY * 3), Step::Quiet);
        assert_eq!(p.on(other, t0 + RETRY * 4), Step::Quiet);
        // ... and when it is as it was, the time counts from the going.
        let back = p.on(Event::Reopened { same_config: true }, t0 + RETRY * 6);
        assert_eq!(back, Step::Back { away: RETRY * 6 });
    }

    #[test]
    fn absent_at_start_tries_at_once() {
        let t0 = Instant::now();
        let mut p = Presence::absent(t0);
        assert!(p.is_missing());
        assert!(p.should_try(t0));
        assert_eq!(p.on(Event::ReopenFailed, t0), Step::Quiet);
        assert!(!p.should_try(t0));
        let step = p.on(Event::Reopened { same_config: true }, t0 + RETRY * 2);
        assert_eq!(step, Step::Back { away: RETRY * 2 });
    }

    #[test]
    fn a_reopen_after_an_idle_release_that_fails_is_the_device_going() {
        let t0 = Instant::now();
        let mut p = Presence::Present;
        assert_eq!(p.on(Event::Reopened { same_config: true }, t0), Step::Quiet);
        assert_eq!(p.on(Event::ReopenFailed, t0), Step::WentAway);
        let mut q = Presence::Present;
        assert_eq!(
            q.on(Event::Reopened { same_config: false }, t0),
            Step::OtherConfig
        );
        assert_eq!(
            q.on(Event::Reopened { same_config: false }, t0 + RETRY),
            Step::Quiet
        );
    }
}
