//! Schedules: the steps a simulation is made of, the ioctls and odd
//! arguments the clients pick from, and the seeded generator that draws them.

use crate::sim::*;
use ossd::oss::soundcard::*;

#[derive(Debug, Clone)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub(crate) fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    Open {
        c: u8,
        node: u8,
        acc: u8,
        nonblock: bool,
    },
    Write {
        c: u8,
        len: u16,
        nonblock: bool,
    },
    Read {
        c: u8,
        len: u16,
        nonblock: bool,
    },
    Ioctl {
        c: u8,
        cmd: u32,
        arg: i32,
    },
    Sync {
        c: u8,
    },
    Post {
        c: u8,
    },
    Reset {
        c: u8,
    },
    Trigger {
        c: u8,
        bits: i32,
    },
    Query {
        c: u8,
    },
    Poll {
        c: u8,
        schedule: bool,
        events: u32,
    },
    Interrupt {
        c: u8,
        which: u8,
    },
    /// A stale INTERRUPT, for a request answered long ago.
    StaleInterrupt {
        back: u16,
    },
    Close {
        c: u8,
    },
    /// The client is killed: its waiting requests are interrupted, its file
    /// released (a killed process's close still drains, as close does).
    Vanish {
        c: u8,
    },
    Advance {
        micros: u32,
    },
    Pace {
        percent: u8,
    },
    /// The capture card goes (the runtime records silence meanwhile, at
    /// the device's pace) or comes back.
    CaptureGone {
        yes: bool,
    },
    CapturePresent {
        yes: bool,
    },
    /// The output card goes (the runtime plays to a stand-in clock at the
    /// device's rate; the sound is lost) or comes back.
    OutputGone {
        yes: bool,
    },
    /// A bug: handling client `c`'s next request panics in its `after`th
    /// call to the engines (if it gets that far), and the runtime recovers
    /// as `daemon::run` does.
    Fault {
        c: u8,
        after: u8,
    },
    /// A bug: the next service pass panics before it reaches any file.
    FaultService,
}

/// The ioctls the clients pick from (odd arguments come with them).
pub(crate) const CMDS: &[u32] = &[
    SNDCTL_DSP_SETFMT,
    SNDCTL_DSP_CHANNELS,
    SNDCTL_DSP_STEREO,
    SNDCTL_DSP_SPEED,
    SNDCTL_DSP_SETFRAGMENT,
    SNDCTL_DSP_SUBDIVIDE,
    SNDCTL_DSP_GETBLKSIZE,
    SNDCTL_DSP_GETOSPACE,
    SNDCTL_DSP_GETISPACE,
    SNDCTL_DSP_GETODELAY,
    SNDCTL_DSP_GETOPTR,
    SNDCTL_DSP_GETIPTR,
    SNDCTL_DSP_CURRENT_OPTR,
    SNDCTL_DSP_CURRENT_IPTR,
    SNDCTL_DSP_CURRENT_OPTR_I386,
    SNDCTL_DSP_NONBLOCK,
    SNDCTL_DSP_LOW_WATER,
    SNDCTL_DSP_GETTRIGGER,
    SNDCTL_DSP_SETTRIGGER,
    SNDCTL_DSP_SKIP,
    SNDCTL_DSP_SILENCE,
    SNDCTL_DSP_HALT_INPUT,
    SNDCTL_DSP_HALT_OUTPUT,
    SNDCTL_DSP_SETPLAYVOL,
    SNDCTL_DSP_GETPLAYVOL,
    SNDCTL_DSP_SETRECVOL,
    SNDCTL_DSP_GETERROR,
    SNDCTL_DSP_GETCAPS,
    SNDCTL_DSP_SETDUPLEX,
    SNDCTL_DSP_POLICY,
    SNDCTL_DSP_COOKEDMODE,
    SNDCTL_DSP_SYNCGROUP,
    SNDCTL_DSP_SYNCSTART,
    SNDCTL_DSP_GET_CHNORDER,
    SNDCTL_DSP_SET_CHNORDER,
    SNDCTL_SETNAME,
    SNDCTL_SYSINFO,
    SNDCTL_AUDIOINFO,
    OSS_GETVERSION,
    SOUND_MIXER_READ_VOLUME,
    SOUND_MIXER_WRITE_VOLUME,
    SOUND_MIXER_WRITE_PCM,
    SOUND_MIXER_WRITE_IGAIN,
];

/// Sample formats whose silence is all zero bytes: the silent clients of a
/// reference schedule use only these, so that they add exactly nothing.
pub(crate) const ZERO_SILENCE: &[u32] = &[
    AFMT_S16_LE,
    AFMT_S16_BE,
    AFMT_S8,
    AFMT_S32_LE,
    AFMT_S32_BE,
    AFMT_S24_LE,
    AFMT_S24_PACKED,
    AFMT_FLOAT,
];

pub(crate) const ODD: &[i32] = &[
    0,
    -1,
    1,
    2,
    3,
    7,
    0x7fff_ffff,
    i32::MIN,
    0x7fff_0004,
    0x0002_0010,
];

pub(crate) fn odd_arg(rng: &mut Rng) -> i32 {
    match rng.below(4) {
        0 => rng.pick(ODD),
        1 => rng.below(200_000) as i32,
        2 => rng.next() as i32,
        _ => rng.pick(&[
            8000, 11025, 22050, 44100, 48000, 96000, 1, 2, 6, 16, 0x10, 0x20,
        ]),
    }
}

pub(crate) fn generate(rng: &mut Rng, steps: usize, clients: u8) -> Vec<Step> {
    let mut v = Vec::with_capacity(steps);
    for _ in 0..steps {
        let c = rng.below(clients as u64) as u8;
        let step = match rng.below(100) {
            0..=7 => Step::Open {
                c,
                node: match rng.below(20) {
                    0 => MONITOR as u8,
                    1 => MIXER as u8,
                    2 => SNDSTAT as u8,
                    _ => DSP as u8,
                },
                acc: rng.below(3) as u8,
                nonblock: rng.chance(15),
            },
            8..=29 => Step::Write {
                c,
                len: rng.pick(&[1, 3, 64, 500, 1024, 2048, 4096, 8192]) as u16
                    + rng.below(3) as u16,
                nonblock: rng.chance(25),
            },
            30..=37 => Step::Read {
                c,
                len: rng.pick(&[1, 64, 512, 2048, 4096]) as u16,
                nonblock: rng.chance(30),
            },
            38..=49 => Step::Ioctl {
                c,
                cmd: if rng.chance(8) {
                    rng.next() as u32
                } else {
                    rng.pick(CMDS)
                },
                arg: odd_arg(rng),
            },
            50..=52 => Step::Sync { c },
            53 => Step::Post { c },
            54..=55 => Step::Reset { c },
            56..=57 => Step::Trigger {
                c,
                bits: rng.below(4) as i32,
            },
            58..=63 => Step::Query { c },
            64..=66 => Step::Poll {
                c,
                schedule: rng.chance(70),
                events: rng.pick(&[
                    (libc::POLLOUT | libc::POLLWRNORM) as u32,
                    (libc::POLLIN | libc::POLLRDNORM) as u32,
                    (libc::POLLIN | libc::POLLOUT) as u32,
                ]),
            },
            67..=69 => Step::Interrupt {
                c,
                which: rng.below(4) as u8,
            },
            70 => match rng.below(10) {
                0..=1 => Step::Fault {
                    c,
                    after: rng.below(4) as u8,
                },
                2 => Step::FaultService,
                _ => Step::Interrupt {
                    c,
                    which: rng.below(4) as u8,
                },
            },
            71 => Step::StaleInterrupt {
                back: rng.below(50) as u16,
            },
            72..=75 => Step::Close { c },
            76..=77 => Step::Vanish { c },
            78..=95 => Step::Advance {
                micros: rng.pick(&[100, 500, 1000, 2667, 5000, 20_000]) as u32
                    + rng.below(1000) as u32,
            },
            96 => Step::OutputGone {
                yes: rng.chance(30),
            },
            97 => Step::Pace {
                percent: rng.pick(&[0, 0, 50, 90, 100, 100, 100, 110, 150]),
            },
            98 => Step::CaptureGone {
                yes: rng.chance(50),
            },
            _ => Step::CapturePresent {
                yes: rng.chance(70),
            },
        };
        v.push(step);
    }
    v
}
