//! A deterministic simulation of the request core ([`ossd::server`]):
//! seeded, single-threaded, no sleeping. Each schedule drives the core with
//! up to 64 clients opening, writing and reading in random sizes (blocking
//! and not), random ioctls with random arguments, SYNC, POST, RESET,
//! SETTRIGGER, polls, interrupts at random points, clients vanishing
//! mid-request and closes, while a simulated device plays the real
//! [`Mixer`] at a random pace, stalls (and so underruns), the output device
//! goes away and comes back (the runtime's stand-in clock keeps the
//! device's rate meanwhile, and the sound mixed then is lost), and a
//! simulated capture device comes and goes (silence while it is away).
//! Now and then the handling of a request, or a service pass, panics at a
//! random call to the engines (a bug), and the core recovers as the
//! runtime has it do (`Server::recover`).
//! Every request goes in as the
//! bytes the kernel would send, through `Request::parse`, and every answer
//! comes out through the same encoder the daemon uses.
//!
//! Checked after every step:
//! - every request is answered exactly once, on its node, with a reply the
//!   kernel would take (INTERRUPT never; a blocking write or read short only
//!   when interrupted or closed, or a write that filled a stream gated off,
//!   which then gets what fitted or EAGAIN); nothing is left unanswered at
//!   the end;
//! - no request stays parked once what it waits for has happened, or when
//!   it can never happen (a parked write means a full ring on a stream not
//!   gated off, a parked read an empty one, a parked SYNC or close a stream
//!   still playing);
//! - one reference client's bytes reach the mix complete, in order and
//!   bit-exact (everyone else plays silence), and its close plays its tail;
//!   while the output device is away, the stand-in takes it at the device's
//!   rate and the sound is lost: what the device played is the reference
//!   whole outside its absences, and what it played and what was lost add
//!   up to what was written;
//! - no client sees an error while the output device is away, and
//!   /dev/sndstat says it is missing (and counts the frames lost) exactly
//!   while it is;
//! - GETOPTR never runs backwards and moves no faster than the device;
//!   GETODELAY and GETOSPACE never exceed the buffer;
//! - a request whose handling panicked is answered with EIO, and so is
//!   every later one of its file but its close; nothing is left in the
//!   engines once every file is closed;
//! - nothing else panics, and memory does not grow with the number of steps.
//!
//! The seeds: half the requests run on seeds 0, 1, 2, ... (the same every
//! run), half on seeds from a base that changes every run (eight bytes of
//! /dev/urandom), printed as `seed base N` on stderr, so that every run, in
//! CI too, also tries schedules no run has tried. `OSSD_SIM_SEED_BASE=N`
//! sets the base (the same schedules as that run). A failure prints its
//! seed, the command that re-runs it and the shortest schedule that still
//! fails. `OSSD_SIM_SEED=n cargo test --test simulation` re-runs one seed;
//! `OSSD_SIM_REQUESTS=n` sets how many requests the main test covers
//! (default one million, half of them from the base; `--release` for long
//! runs); `OSSD_SIM_THREADS=n` runs the seeds on n threads.
//!
//! The files: this one runs the schedules, shrinks a failure and holds the
//! tests; `schedule.rs` draws the steps from a seed; `sim.rs` is the
//! simulated device (the core's `Ports`); `world.rs` the clients and the
//! requests in flight; `steps.rs` what each step does; `answers.rs` checks
//! every answer against what was asked; `checks.rs` the invariants checked
//! between steps and at the end. A new invariant is a check in `checks.rs`
//! (or, for one about an answer, in `answers.rs`), called where it must
//! hold: after each service pass (`World::service`), after a step in
//! `steps.rs`, or at the end (`World::finish`).

#[path = "../common/mod.rs"]
mod common;

// `ensure!` is defined before the modules that use it (macros are textual).

/// What a check comes to: nothing, or what went wrong.
type Check = Result<(), String>;

/// Fails the check with the message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

mod answers;
mod checks;
mod schedule;
mod sim;
mod steps;
mod world;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use schedule::{generate, Rng, Step};
use world::World;

// ---------------------------------------------------------------------------
// Live heap bytes of this thread, for the memory check.

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|c| c.set(c.get() + l.size() as isize));
        // SAFETY: the caller's layout, passed through.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let _ = LIVE.try_with(|c| c.set(c.get() - l.size() as isize));
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let _ = LIVE.try_with(|c| c.set(c.get() + new as isize - l.size() as isize));
        // SAFETY: as for `dealloc` and `alloc`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live_bytes() -> isize {
    LIVE.with(Cell::get)
}

/// Runs one schedule; the number of requests it made, or the failure (with
/// the index of the step it happened at).
fn run(seed: u64, steps: &[Step], clients: usize, reference: bool) -> Result<u64, (usize, String)> {
    let mut w = World::new(seed, clients, reference);
    let result = catch_unwind(AssertUnwindSafe(|| {
        for (i, &s) in steps.iter().enumerate() {
            w.run_step(s).map_err(|e| (i, e))?;
        }
        w.finish().map_err(|e| (steps.len(), e))?;
        Ok(w.requests)
    }));
    match result {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err((usize::MAX, format!("panic: {msg}")))
        }
    }
}

/// Removes steps while the schedule still fails (delta debugging).
fn shrink(
    seed: u64,
    mut steps: Vec<Step>,
    clients: usize,
    reference: bool,
    kind: &str,
) -> Vec<Step> {
    let same = |r: Result<u64, (usize, String)>| r.is_err_and(|(_, m)| failure_kind(&m) == kind);
    let mut chunk = steps.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < steps.len() {
            let mut shorter = steps.clone();
            shorter.drain(i..(i + chunk).min(steps.len()));
            if same(run(seed, &shorter, clients, reference)) {
                steps = shorter;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    steps
}

/// A failure message without its numbers: what shrinking must keep.
fn failure_kind(msg: &str) -> String {
    msg.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// The shape of schedule `seed`: clients, steps, whether it has a reference.
fn plan(seed: u64) -> (usize, Vec<Step>, bool) {
    let mut rng = Rng(seed ^ 0x5eed);
    let clients = rng.pick(&[2, 4, 8, 16, 64]);
    let steps = rng.pick(&[200, 800, 2000]);
    let reference = rng.chance(50);
    (clients, generate(&mut rng, steps, clients as u8), reference)
}

fn check_seed(seed: u64) -> u64 {
    let (clients, steps, reference) = plan(seed);
    match run(seed, &steps, clients, reference) {
        Ok(n) => n,
        Err((at, msg)) => {
            let hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let small = shrink(seed, steps, clients, reference, &failure_kind(&msg));
            std::panic::set_hook(hook);
            let again = run(seed, &small, clients, reference).err();
            panic!(
                "seed {seed} failed at step {at}: {msg}\n\
                 re-run: OSSD_SIM_SEED={seed} cargo test --test simulation -- simulation_schedules\n\
                 shortest failing schedule ({} steps, {clients} clients, reference {reference}), failing with {again:?}:\n{small:#?}",
                small.len()
            );
        }
    }
}

/// Half the requests on the seeds every run has (0, 1, 2, ...), half on
/// seeds from a base drawn anew each run ([`seed_base`]), so that every run
/// also explores schedules no run has seen.
#[test]
fn simulation_schedules() {
    if let Some(seed) = env_u64("OSSD_SIM_SEED") {
        let n = check_seed(seed);
        println!("seed {seed}: {n} requests, every invariant held");
        return;
    }
    let target = env_u64("OSSD_SIM_REQUESTS").unwrap_or(1_000_000);
    // OSSD_SIM_THREADS=n splits the seeds among n threads (thread t runs
    // seeds t, t + n, ...); each schedule stays single-threaded.
    let threads = env_u64("OSSD_SIM_THREADS").unwrap_or(1).max(1);
    let base = seed_base();
    // Outside the test's captured output, so that every run's log has it.
    let _ = writeln!(
        std::io::stderr(),
        "simulation: seed base {base} (OSSD_SIM_SEED_BASE={base} cargo test --test simulation \
         runs the same schedules again)"
    );
    let t0 = Instant::now();
    let (fixed, fixed_schedules) = run_seeds(0, target / 2, threads);
    let (fresh, fresh_schedules) = run_seeds(base, target - target / 2, threads);
    println!(
        "simulation: {} requests in {} schedules ({fixed_schedules} from seed 0, \
         {fresh_schedules} from seed base {base}), {:.1} s, every invariant held",
        fixed + fresh,
        fixed_schedules + fresh_schedules,
        t0.elapsed().as_secs_f64()
    );
}

/// Runs the seeds `first`, `first + 1`, ... (wrapping) until they have made
/// `target` requests, split among `threads`; the requests and schedules run.
fn run_seeds(first: u64, target: u64, threads: u64) -> (u64, u64) {
    let counts: Vec<(u64, u64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let (mut requests, mut schedules) = (0u64, 0u64);
                    while requests < target.div_ceil(threads) {
                        requests += check_seed(first.wrapping_add(t + schedules * threads));
                        schedules += 1;
                    }
                    (requests, schedules)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a simulation thread failed"))
            .collect()
    });
    counts.iter().fold((0, 0), |(r, n), &(a, b)| (r + a, n + b))
}

/// The first of this run's fresh seeds: `OSSD_SIM_SEED_BASE`, else eight
/// bytes of /dev/urandom (else the time).
fn seed_base() -> u64 {
    if let Some(base) = env_u64("OSSD_SIM_SEED_BASE") {
        return base;
    }
    let mut b = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_ne_bytes(b),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    }
}

/// A number from the environment, if set (and a number).
fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// The same schedule, run to its end again and again, leaves the heap where
/// it was: nothing the core keeps grows with the number of steps.
#[test]
fn memory_does_not_grow_with_steps() {
    let mut rng = Rng(77);
    let steps = generate(&mut rng, 3000, 16);
    let mut w = World::new(77, 16, false);
    let mut marks = Vec::new();
    for round in 0..12 {
        for &s in &steps {
            w.run_step(s).unwrap();
        }
        // Quiet point: everything closed and answered.
        w.quiesce().unwrap();
        assert_eq!(w.server.open_files(), 0);
        if round >= 2 {
            marks.push(live_bytes());
        }
    }
    let (first, last) = (marks[0], *marks.last().unwrap());
    assert!(
        last - first < 64 * 1024,
        "the heap grew from {first} to {last} bytes over {} rounds",
        marks.len()
    );
}
