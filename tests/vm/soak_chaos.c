/*
 * soak_chaos: the soak's crowd of short-lived OSS clients (scripts/soak), and
 * the driver that kills them at chosen points.
 *
 *   gcc -O2 -Wall -Wextra -o target/soak/bin/soak_chaos tests/vm/soak_chaos.c
 *   soak_chaos [-d DSP] [-s SEED] [-t SECONDS] [-j MAX] [-q SECONDS -p PID]
 *
 * For SECONDS (default 60) it keeps up to MAX (default 8) children alive, each a
 * fork that runs one random client against DSP (default /dev/dsp) and has a
 * fate chosen at its start: run to the end and close, or be SIGKILLed while it
 * is blocked in write(), in SNDCTL_DSP_SYNC, in close() (a drain), in read(),
 * or at a random moment (whatever it is doing). The children publish what they
 * are doing (the call they are in, since when) in shared memory; the driver
 * kills a targeted child once it has been in its call for a random 0..500 ms
 * and the kernel shows it sleeping there (/proc/PID/stat), and names each kill
 * by the call the child was in.
 *
 * A client opens DSP write-only, read-only or read-write, blocking or
 * O_NONBLOCK, sets a random format (all 14 ossd takes), rate (4000..192000)
 * and channels (1..8), maybe SETFRAGMENT, and then does random calls: writes
 * of random sizes (also partial frames), reads, GETOSPACE/GETISPACE,
 * GETOPTR/GETIPTR, CURRENT_OPTR, GETODELAY, GETERROR, POST, RESET, SYNC,
 * SETTRIGGER, poll, NONBLOCK, SILENCE, SKIP, HALT_*, format changes mid
 * stream, dup + close, reading /dev/sndstat, opening /dev/mixer.
 *
 * The sum of everything the children play is exactly zero, so that a
 * reference stream played meanwhile stays bit-exact: a playing child either
 * sets SNDCTL_DSP_SETPLAYVOL 0 before its first write (checked with
 * GETPLAYVOL, also after each format change) and plays full-scale noise, or
 * (a quarter of them) stays at full volume and plays digital silence in a
 * format whose silence is zero at any byte alignment (U8, S8, S16, S24, S32,
 * float, mu-law) and never changes it. A child that cannot get volume 0 never
 * writes (exit status 4).
 *
 * With -q SECONDS -p PID, every SECONDS the driver stops starting children,
 * kills those alive, waits until all are gone and 1 s more, and prints the
 * RSS, threads and open fds of process PID (the daemon) and the clients
 * /dev/sndstat says are open: "quiet n=N t=T rss_kib=R fds=F threads=H
 * clients_open=C". With the same long-lived clients open at each quiet
 * point, the daemon should look the same at each of them.
 *
 * Prints key=value lines: children started, how they ended (exited, killed by
 * call), the time from SIGKILL to the child being reaped (a child in a CUSE
 * request the daemon never answers is unkillable: state D), the requests and
 * bytes, and the errors each call got. A killed child still there 1 s after
 * its SIGKILL is counted as slow to die (with the state it is in: ossd plays
 * out what a closed file queued before it answers the close, and a dying
 * process closes its files), one still there 10 s after its ring could have
 * played out (the ring's duration, published by the child) as stuck (with
 * its state and wchan); a child alive after 60 s plus 6 times its ring's
 * duration (none of the scenarios blocks that long) as hung, and killed.
 * Exit status 0 only if nothing was stuck or hung, no child died otherwise
 * (a signal other than the driver's SIGKILL, an unexpected exit status) and
 * no call failed with an errno other than EAGAIN, EINVAL or ENOTTY.
 */
#define _GNU_SOURCE
#define PROG "soak_chaos"
#include "oss_common.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/wait.h>

#ifndef AFMT_FLOAT
#define AFMT_FLOAT 0x00004000
#endif
#ifndef AFMT_S24_LE
#define AFMT_S24_LE 0x00008000
#endif
#ifndef AFMT_S24_BE
#define AFMT_S24_BE 0x00010000
#endif
#ifndef AFMT_S24_PACKED
#define AFMT_S24_PACKED 0x00040000
#endif

struct count_t {
	long long samples;
	int fifo_samples;
	int filler[32];
};
struct errinfo {
	int v[10];
	int filler[16];
};
#define OSS4_GETPLAYVOL _IOR('P', 24, int)
#define OSS4_SETPLAYVOL _IOWR('P', 24, int)
#define OSS4_GETERROR _IOR('P', 25, struct errinfo)
#define OSS4_SILENCE _IO('P', 31)
#define OSS4_SKIP _IO('P', 32)
#define OSS4_HALT_INPUT _IO('P', 33)
#define OSS4_HALT_OUTPUT _IO('P', 34)
#define OSS4_CURRENT_OPTR _IOR('P', 36, struct count_t)
#define OSS4_CURRENT_IPTR _IOR('P', 35, struct count_t)

#define MAXJ 32
#define WATCHDOG_MS 60000
#define STUCK_MS 10000 /* after what a drain of its ring may take */
#define SLOW_MS 1000

/* ------------------------------------------------------------ shared state */

/* What a child is doing: the call it is in (set just before, cleared after). */
enum phase { PH_START, PH_OPEN, PH_SETUP, PH_IOCTL, PH_WRITE, PH_READ, PH_SYNC, PH_POLL, PH_CLOSE, PH_SLEEP, PH_OTHER, NPHASE };
static const char *phase_name[NPHASE] = {"start", "open", "setup", "ioctl", "write", "read",
					 "sync", "poll", "close", "sleep", "other"};

enum fate { F_EXIT, F_KILL_WRITE, F_KILL_SYNC, F_KILL_CLOSE, F_KILL_READ, F_KILL_RANDOM, NFATE };
static const char *fate_name[NFATE] = {"exit", "kill-in-write", "kill-in-sync", "kill-in-close", "kill-in-read", "kill-at-random"};

/* The calls whose errors are counted. */
enum op { OP_OPEN, OP_WRITE, OP_READ, OP_IOCTL, OP_POLL, OP_CLOSE, OP_SYNC, OP_OTHER, NOP };
static const char *op_name[NOP] = {"open", "write", "read", "ioctl", "poll", "close", "sync", "other"};
#define NERR 134

struct slot {
	volatile int phase;
	volatile double since; /* CLOCK_MONOTONIC ms */
	volatile double drain_ms; /* the longest its ring lasts (a close may drain it) */
	/* requests to DSP, bytes */
	volatile long long opens, writes, wbytes, reads, rbytes, ioctls, polls, closes;
};

struct shared {
	struct slot slot[MAXJ];
	long long errors[NOP][NERR];
	long long ioctl_errors[2][256][NERR]; /* by type ('P' or 'M') and number */
	long long playvol_fail;
};
static struct shared *sh;

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t x = (rng_state += 0x9e3779b97f4a7c15ull);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}
static int rn(int n) { return n > 0 ? (int)(rnd() % (uint64_t)n) : 0; }
static int chance(int percent) { return rn(100) < percent; }

/* ------------------------------------------------------------ the client */

static struct slot *me;
static const char *dsp_path = "/dev/dsp";

static void set_phase(int p)
{
	me->since = now_ms(CLOCK_MONOTONIC);
	__atomic_store_n(&me->phase, p, __ATOMIC_SEQ_CST);
}

static void err(int op, int e)
{
	if (e < 0 || e >= NERR)
		e = 0;
	__atomic_fetch_add(&sh->errors[op][e], 1, __ATOMIC_RELAXED);
}

struct client {
	int fd, mode, nonblock, play, rec;
	int vol0;	/* volume 0 (noise) vs full volume (silence) */
	int trigger_off;
	int afmt, channels, rate;
	int bps;	/* bytes per sample */
	int fragsize, ring;
	long long wpos; /* bytes written so far (silence pattern phase) */
	unsigned char *buf;
	size_t bufsize;
};

static int afmt_bytes(int afmt)
{
	switch (afmt) {
	case AFMT_MU_LAW: case AFMT_A_LAW: case AFMT_U8: case AFMT_S8: return 1;
	case AFMT_S16_LE: case AFMT_S16_BE: case AFMT_U16_LE: case AFMT_U16_BE: return 2;
	case AFMT_S24_PACKED: return 3;
	default: return 4;
	}
}

/* Formats whose silence is the same byte everywhere, so that the stream is
 * silent at any byte alignment: those a full-volume child may play. */
static int zero_safe(int afmt)
{
	switch (afmt) {
	case AFMT_U8: case AFMT_S8: case AFMT_MU_LAW: case AFMT_S16_LE: case AFMT_S16_BE: case AFMT_S32_LE:
	case AFMT_S32_BE: case AFMT_S24_LE: case AFMT_S24_BE: case AFMT_S24_PACKED: case AFMT_FLOAT:
		return 1;
	default:
		return 0;
	}
}
static unsigned char silence_byte(int afmt)
{
	return afmt == AFMT_U8 ? 0x80 : afmt == AFMT_MU_LAW ? 0xff : 0;
}

static const int all_formats[] = {AFMT_MU_LAW, AFMT_A_LAW, AFMT_U8, AFMT_S16_LE, AFMT_S16_BE, AFMT_S8, AFMT_U16_LE,
				  AFMT_U16_BE, AFMT_S32_LE, AFMT_S32_BE, AFMT_FLOAT, AFMT_S24_LE, AFMT_S24_BE, AFMT_S24_PACKED};
static const int safe_formats[] = {AFMT_U8, AFMT_S16_LE, AFMT_S16_BE, AFMT_S8, AFMT_S32_LE, AFMT_S32_BE, AFMT_MU_LAW};
static const int rates[] = {8000, 11025, 16000, 22050, 32000, 44100, 48000, 48000, 48000, 88200, 96000, 192000};
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* An ioctl on the client's fd, counted; returns 0 or the errno. */
static int cioctl(struct client *c, unsigned long req, void *arg, int phase)
{
	set_phase(phase);
	int r = ioctl(c->fd, req, arg), e = errno;
	set_phase(PH_OTHER);
	me->ioctls++;
	if (r < 0) {
		err(phase == PH_SYNC ? OP_SYNC : OP_IOCTL, e);
		if (e > 0 && e < NERR)
			__atomic_fetch_add(&sh->ioctl_errors[_IOC_TYPE(req) == 'P' ? 0 : 1][_IOC_NR(req)][e], 1, __ATOMIC_RELAXED);
		return e;
	}
	return 0;
}

/* The child must not write unless its volume is 0 (or it plays silence). */
static void need_vol0(struct client *c)
{
	int v = 0;
	if (cioctl(c, OSS4_SETPLAYVOL, &v, PH_IOCTL) != 0 || v != 0) {
		__atomic_fetch_add(&sh->playvol_fail, 1, __ATOMIC_RELAXED);
		_exit(4);
	}
	v = -1;
	if (cioctl(c, OSS4_GETPLAYVOL, &v, PH_IOCTL) != 0 || v != 0) {
		__atomic_fetch_add(&sh->playvol_fail, 1, __ATOMIC_RELAXED);
		_exit(4);
	}
}

static void geometry(struct client *c)
{
	audio_buf_info bi = {0};
	if (cioctl(c, c->play ? SNDCTL_DSP_GETOSPACE : SNDCTL_DSP_GETISPACE, &bi, PH_IOCTL) == 0 && bi.fragsize > 0) {
		c->fragsize = bi.fragsize;
		c->ring = bi.fragsize * (bi.fragstotal > 0 ? bi.fragstotal : 1);
	} else {
		c->fragsize = 4096, c->ring = 65536;
	}
	double ms = c->ring * 1e3 / ((double)(c->rate > 0 ? c->rate : 8000) * afmt_bytes(c->afmt) * (c->channels > 0 ? c->channels : 1));
	if (ms > me->drain_ms)
		me->drain_ms = ms;
}

static void set_format(struct client *c, int first)
{
	int f = c->vol0 ? all_formats[rn(N(all_formats))] : safe_formats[rn(N(safe_formats))];
	int ch = chance(60) ? 2 : 1 + rn(8);
	int rate = chance(85) ? rates[rn(N(rates))] : 4000 + rn(188001);
	if (!first && !c->vol0)
		return; /* a full-volume child keeps its silent format */
	cioctl(c, SNDCTL_DSP_SETFMT, &f, PH_SETUP);
	cioctl(c, SNDCTL_DSP_CHANNELS, &ch, PH_SETUP);
	cioctl(c, SNDCTL_DSP_SPEED, &rate, PH_SETUP);
	/* what is in effect */
	f = AFMT_QUERY;
	cioctl(c, SNDCTL_DSP_SETFMT, &f, PH_SETUP);
	c->afmt = f, c->channels = ch, c->rate = rate;
	c->bps = afmt_bytes(f);
	if (c->play && !c->vol0 && !zero_safe(f)) {
		c->vol0 = 1; /* took another format than asked: silence it */
	}
	if (c->play && c->vol0)
		need_vol0(c);
	geometry(c);
}

static size_t frame_bytes(struct client *c) { return (size_t)c->bps * (c->channels > 0 ? c->channels : 1); }

static void fill(struct client *c, size_t n)
{
	if (n > c->bufsize) {
		c->buf = realloc(c->buf, n);
		c->bufsize = n;
	}
	if (c->vol0) {
		for (size_t i = 0; i < n; i += 8) {
			uint64_t r = rnd();
			memcpy(c->buf + i, &r, n - i < 8 ? n - i : 8);
		}
	} else {
		memset(c->buf, silence_byte(c->afmt), n);
	}
}

/* One write of n bytes (a blocking one may park for as long as it takes). */
static void do_write(struct client *c, size_t n)
{
	if (!c->play || n == 0)
		return;
	fill(c, n);
	set_phase(PH_WRITE);
	ssize_t w = write(c->fd, c->buf, n);
	int e = errno;
	set_phase(PH_OTHER);
	me->writes++;
	if (w < 0)
		err(OP_WRITE, e);
	else
		me->wbytes += w, c->wpos += w;
}

static void do_read(struct client *c, size_t n)
{
	if (!c->rec || n == 0)
		return;
	if (n > c->bufsize) {
		c->buf = realloc(c->buf, n);
		c->bufsize = n;
	}
	set_phase(PH_READ);
	ssize_t r = read(c->fd, c->buf, n);
	int e = errno;
	set_phase(PH_OTHER);
	me->reads++;
	if (r < 0)
		err(OP_READ, e);
	else
		me->rbytes += r;
}

/* A write size: mostly whole frames, sometimes any byte count. */
static size_t write_size(struct client *c, size_t max)
{
	size_t fb = frame_bytes(c), n = 1 + (size_t)rn((int)(max > 1 ? max : 1));
	if (chance(90))
		n = (n + fb - 1) / fb * fb;
	return n;
}

/* Free space in the ring (blocking writes with the trigger off must fit). */
static int ospace(struct client *c)
{
	audio_buf_info bi = {0};
	if (cioctl(c, SNDCTL_DSP_GETOSPACE, &bi, PH_IOCTL) != 0)
		return 0;
	return bi.bytes;
}

static void random_op(struct client *c)
{
	int v;
	audio_buf_info bi;
	count_info ci;
	struct count_t ct;
	struct errinfo ei;
	int k = rn(100);
	if (k < 30) { /* write */
		if (!c->play)
			return;
		size_t max = chance(70) ? (size_t)c->fragsize : (size_t)c->ring * 2;
		size_t n = write_size(c, max);
		if (c->trigger_off && !c->nonblock) {
			int free = ospace(c);
			if ((int)n > free)
				n = (size_t)free / frame_bytes(c) * frame_bytes(c);
		}
		do_write(c, n);
	} else if (k < 42) { /* read */
		if (c->rec && !(c->trigger_off && !c->nonblock))
			do_read(c, write_size(c, chance(70) ? (size_t)c->fragsize : (size_t)c->ring));
	} else if (k < 50) {
		cioctl(c, c->play && (!c->rec || chance(50)) ? SNDCTL_DSP_GETOSPACE : SNDCTL_DSP_GETISPACE, &bi, PH_IOCTL);
	} else if (k < 54) {
		cioctl(c, chance(50) ? SNDCTL_DSP_GETOPTR : SNDCTL_DSP_GETIPTR, &ci, PH_IOCTL);
	} else if (k < 58) {
		cioctl(c, SNDCTL_DSP_GETODELAY, &v, PH_IOCTL);
	} else if (k < 60) {
		cioctl(c, chance(50) ? OSS4_CURRENT_OPTR : OSS4_CURRENT_IPTR, &ct, PH_IOCTL);
	} else if (k < 62) {
		cioctl(c, OSS4_GETERROR, &ei, PH_IOCTL);
	} else if (k < 65) {
		cioctl(c, SNDCTL_DSP_POST, NULL, PH_IOCTL);
	} else if (k < 67) {
		cioctl(c, SNDCTL_DSP_RESET, NULL, PH_IOCTL);
	} else if (k < 70) {
		if (!c->trigger_off)
			cioctl(c, SNDCTL_DSP_SYNC, NULL, PH_SYNC);
	} else if (k < 73) { /* trigger off or on */
		v = 0;
		if (chance(50) || c->trigger_off)
			v = (c->play ? PCM_ENABLE_OUTPUT : 0) | (c->rec ? PCM_ENABLE_INPUT : 0);
		if (cioctl(c, SNDCTL_DSP_SETTRIGGER, &v, PH_IOCTL) == 0)
			c->trigger_off = v == 0;
	} else if (k < 78) { /* poll */
		struct pollfd p = {.fd = c->fd, .events = (c->play ? POLLOUT : 0) | (c->rec ? POLLIN : 0)};
		set_phase(PH_POLL);
		int r = poll(&p, 1, rn(150));
		int e = errno;
		set_phase(PH_OTHER);
		me->polls++;
		if (r < 0)
			err(OP_POLL, e);
	} else if (k < 83) { /* think */
		set_phase(PH_SLEEP);
		usleep((useconds_t)rn(100000));
		set_phase(PH_OTHER);
	} else if (k < 86) {
		unsigned long reqs[] = {SNDCTL_DSP_GETBLKSIZE, SNDCTL_DSP_GETFMTS, SNDCTL_DSP_GETCAPS, SOUND_PCM_READ_RATE,
			      SNDCTL_DSP_GETTRIGGER, OSS4_GETPLAYVOL};
		v = 0;
		cioctl(c, reqs[rn(N(reqs))], &v, PH_IOCTL);
	} else if (k < 88) {
		if (c->vol0)
			set_format(c, 0); /* mid-stream */
	} else if (k < 89) {
		if (cioctl(c, SNDCTL_DSP_NONBLOCK, NULL, PH_IOCTL) == 0)
			c->nonblock = 1;
	} else if (k < 91) {
		unsigned long reqs[] = {OSS4_SILENCE, OSS4_SKIP, OSS4_HALT_OUTPUT, OSS4_HALT_INPUT};
		cioctl(c, reqs[rn(N(reqs))], NULL, PH_IOCTL);
	} else if (k < 93) { /* a second descriptor of the same open file */
		set_phase(PH_CLOSE);
		int d = dup(c->fd);
		if (d >= 0 && close(d) < 0)
			err(OP_CLOSE, errno);
		set_phase(PH_OTHER);
		me->closes++;
	} else if (k < 95) {
		v = (2 + rn(15)) << 16 | (8 + rn(7));
		cioctl(c, SNDCTL_DSP_SETFRAGMENT, &v, PH_IOCTL);
	} else if (k < 97) { /* /dev/sndstat, read whole */
		set_phase(PH_OTHER);
		int s = open("/dev/sndstat", O_RDONLY);
		if (s >= 0) {
			char b[4096];
			while (read(s, b, sizeof b) > 0)
				;
			close(s);
		} else {
			err(OP_OTHER, errno);
		}
	} else if (k < 98) { /* the mixer, read only */
		int m = open("/dev/mixer", O_RDONLY);
		if (m >= 0) {
			ioctl(m, SOUND_MIXER_READ_VOLUME, &v);
			ioctl(m, SOUND_MIXER_READ_DEVMASK, &v);
			close(m);
		} else {
			err(OP_OTHER, errno);
		}
	} else if (c->vol0 && c->play) {
		need_vol0(c); /* still 0 */
	}
}

static void client_open(struct client *c)
{
	set_phase(PH_OPEN);
	c->fd = open(dsp_path, c->mode | (c->nonblock ? O_NONBLOCK : 0));
	int e = errno;
	set_phase(PH_OTHER);
	me->opens++;
	if (c->fd < 0) {
		err(OP_OPEN, e);
		_exit(3);
	}
	c->trigger_off = 0, c->wpos = 0;
	if (c->play && c->vol0)
		need_vol0(c); /* before anything is written */
	if (chance(40)) {
		/* 2..16 fragments of 256 B..16 KiB: up to 32 s at 8 kHz U8 mono,
		 * and a closed file's ring plays out before the close returns */
		int v = (2 + rn(15)) << 16 | (8 + rn(7));
		cioctl(c, SNDCTL_DSP_SETFRAGMENT, &v, PH_SETUP);
	}
	set_format(c, 1);
}

static void client_close(struct client *c)
{
	set_phase(PH_CLOSE);
	int r = close(c->fd), e = errno;
	set_phase(PH_OTHER);
	me->closes++;
	if (r < 0)
		err(OP_CLOSE, e);
	c->fd = -1;
}

/* Fill the ring (blocking writes) so that a SYNC or close has a drain to do. */
static void fill_ring(struct client *c)
{
	size_t n = (size_t)c->ring / 2 + (size_t)rn(c->ring / 2 + 1);
	do_write(c, n / frame_bytes(c) * frame_bytes(c));
}

static __attribute__((noreturn)) void client_main(int fate)
{
	struct client c0 = {0}, *c = &c0;
	int m = rn(10);
	switch (fate) {
	case F_KILL_WRITE: case F_KILL_SYNC: case F_KILL_CLOSE:
		c->mode = m < 7 ? O_WRONLY : O_RDWR;
		break;
	case F_KILL_READ:
		c->mode = m < 6 ? O_RDONLY : O_RDWR;
		break;
	default:
		c->mode = m < 5 ? O_WRONLY : m < 7 ? O_RDONLY : O_RDWR;
		c->nonblock = chance(30);
	}
	c->play = c->mode != O_RDONLY, c->rec = c->mode != O_WRONLY;
	c->vol0 = !chance(25);
	client_open(c);
	int nops = rn(fate == F_EXIT || fate == F_KILL_RANDOM ? 60 : 20);
	for (int i = 0; i < nops; i++)
		random_op(c);
	if (c->trigger_off) {
		int v = (c->play ? PCM_ENABLE_OUTPUT : 0) | (c->rec ? PCM_ENABLE_INPUT : 0);
		if (cioctl(c, SNDCTL_DSP_SETTRIGGER, &v, PH_IOCTL) == 0)
			c->trigger_off = 0;
	}
	/* The targeted call, again and again until the driver kills it. */
	for (int round = 0; round < 20; round++) {
		switch (fate) {
		case F_KILL_WRITE:
			do_write(c, (size_t)(c->ring * (2 + rn(3))) / frame_bytes(c) * frame_bytes(c));
			break;
		case F_KILL_SYNC:
			fill_ring(c);
			cioctl(c, SNDCTL_DSP_SYNC, NULL, PH_SYNC);
			break;
		case F_KILL_CLOSE:
			fill_ring(c);
			client_close(c);
			client_open(c);
			break;
		case F_KILL_READ:
			do_read(c, (size_t)c->ring * (1 + rn(3)));
			break;
		case F_KILL_RANDOM:
			random_op(c);
			round = 0;
			break;
		default:
			round = 20;
		}
	}
	if (c->play && chance(50))
		fill_ring(c); /* a close with something to play */
	client_close(c);
	_exit(0);
}

/* ------------------------------------------------------------ the driver */

struct child {
	pid_t pid;
	int fate, killed, kill_phase, kill_blocked, stuck, hung, slow;
	int need_blocked;
	double start, kill_at, delay;
};

/* State letter of a process (R, S, D, Z...) and its wchan. */
static char proc_state(pid_t pid, char *wchan, size_t wlen)
{
	char path[64], b[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return '?';
	b[n] = 0;
	char *p = strrchr(b, ')');
	char st = p && p[1] && p[2] ? p[2] : '?';
	if (wchan) {
		wchan[0] = 0;
		snprintf(path, sizeof path, "/proc/%d/wchan", pid);
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			n = read(fd, wchan, wlen - 1);
			wchan[n > 0 ? n : 0] = 0;
			close(fd);
		}
	}
	return st;
}

/* The daemon's RSS (KiB), threads, open fds and open /dev/dsp files. */
static void quiet_sample(pid_t pid, int n, double t)
{
	char path[64], b[8192];
	long rss = -1, threads = -1, fds = 0, open_clients = -1;
	if (pid <= 0)
		return;
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (f) {
		while (fgets(b, sizeof b, f)) {
			sscanf(b, "VmRSS: %ld", &rss);
			sscanf(b, "Threads: %ld", &threads);
		}
		fclose(f);
	}
	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			fds += e->d_name[0] != '.';
		closedir(d);
	} else {
		fds = -1;
	}
	int s = open("/dev/sndstat", O_RDONLY);
	if (s >= 0) {
		size_t have = 0;
		ssize_t r;
		while (have < sizeof b - 1 && (r = read(s, b + have, sizeof b - 1 - have)) > 0)
			have += (size_t)r;
		b[have] = 0;
		close(s);
		char *c = strstr(b, "\nClients (");
		if (c)
			open_clients = atol(c + 10);
	}
	printf("soak_chaos: quiet n=%d t=%.0f rss_kib=%ld fds=%ld threads=%ld clients_open=%ld\n", n, t, rss, fds, threads,
	       open_clients);
}

/* What the driver counted over the run. */
struct tally {
	long long started, exited_ok, escaped, by_fate[NFATE];
	long long killed[NPHASE], killed_blocked[NPHASE], hung, stuck, bad_exit, bad_signal;
	long long open_failed, end_killed, slow, slow_state[3];
	double reap_max[NPHASE], reap_sum[NPHASE];
	struct slot tot;
};

/* Forks a client into a free slot, its fate drawn. */
static void spawn(struct child *ch, double now, struct tally *t)
{
	int i = 0;
	while (ch[i].pid)
		i++;
	struct child *c = &ch[i];
	memset(c, 0, sizeof *c);
	memset(&sh->slot[i], 0, sizeof sh->slot[i]);
	int f = rn(100);
	c->fate = f < 25 ? F_EXIT : f < 40 ? F_KILL_WRITE : f < 55 ? F_KILL_SYNC : f < 70 ? F_KILL_CLOSE
		: f < 82 ? F_KILL_READ : F_KILL_RANDOM;
	c->delay = c->fate == F_KILL_RANDOM ? rn(4000) : rn(500);
	c->need_blocked = chance(85);
	c->start = now;
	uint64_t child_seed = rnd();
	pid_t pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		rng_state = child_seed;
		me = &sh->slot[i];
		client_main(c->fate);
	}
	c->pid = pid;
	t->started++, t->by_fate[c->fate]++;
}

/* A child that ended: how, and its requests into the totals. */
static void reaped(const struct child *c, const struct slot *s, int status, double now, struct tally *t)
{
	if (c->killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		double d = now - c->kill_at;
		t->reap_sum[c->kill_phase] += d;
		if (d > t->reap_max[c->kill_phase])
			t->reap_max[c->kill_phase] = d;
		if (c->stuck)
			printf("soak_chaos: stuck child %d finally gone after %.0f ms\n", c->pid, d);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		t->exited_ok++;
		if (c->fate != F_EXIT)
			t->escaped++;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		t->open_failed++;
	} else if (WIFEXITED(status)) {
		t->bad_exit++;
		printf("soak_chaos: child %d (%s) exited with status %d\n", c->pid, fate_name[c->fate],
		       WEXITSTATUS(status));
	} else {
		t->bad_signal++;
		printf("soak_chaos: child %d (%s) died of signal %d (%s) in %s\n", c->pid, fate_name[c->fate],
		       WTERMSIG(status), strsignal(WTERMSIG(status)), phase_name[s->phase]);
	}
	t->tot.opens += s->opens, t->tot.writes += s->writes, t->tot.wbytes += s->wbytes;
	t->tot.reads += s->reads, t->tot.rbytes += s->rbytes, t->tot.ioctls += s->ioctls;
	t->tot.polls += s->polls, t->tot.closes += s->closes;
}

/* A killed child still there: slow after SLOW_MS, stuck after STUCK_MS (plus
 * what its ring may take to drain). */
static void watch_killed(struct child *c, const struct slot *s, double now, struct tally *t)
{
	if (!c->slow && now - c->kill_at > SLOW_MS) {
		char w[64];
		char st = proc_state(c->pid, w, sizeof w);
		c->slow = 1, t->slow++;
		t->slow_state[st == 'D' ? 0 : st == 'S' ? 1 : 2]++;
		if (t->slow <= 5)
			printf("soak_chaos: slow to die: child %d (%s) killed in %s %.0f ms ago: state %c, wchan %s; its ring lasts %.0f ms\n",
			       c->pid, fate_name[c->fate], phase_name[c->kill_phase], now - c->kill_at, st, w, s->drain_ms);
	}
	if (!c->stuck && now - c->kill_at > STUCK_MS + s->drain_ms) {
		char w[64];
		char st = proc_state(c->pid, w, sizeof w);
		c->stuck = 1, t->stuck++;
		printf("soak_chaos: STUCK: child %d (%s) killed in %s %.0f ms ago is still there: state %c, wchan %s; its ring lasts %.0f ms\n",
		       c->pid, fate_name[c->fate], phase_name[c->kill_phase], now - c->kill_at, st, w, s->drain_ms);
	}
}

/* Carries out a living child's fate: SIGKILL once it is in its call (blocked
 * there, if it must be) or at its random moment; at the end or a quiet point;
 * or when it hangs past the watchdog. */
static void fate_of(struct child *c, const struct slot *s, double now, int ending, struct tally *t)
{
	int phase = __atomic_load_n(&s->phase, __ATOMIC_SEQ_CST);
	int kill_now = 0, blocked = 0;
	char st = 0;
	int target = c->fate == F_KILL_WRITE ? PH_WRITE : c->fate == F_KILL_SYNC ? PH_SYNC
		: c->fate == F_KILL_CLOSE ? PH_CLOSE : c->fate == F_KILL_READ ? PH_READ : -1;
	if (ending) {
		kill_now = 1, t->end_killed++;
	} else if (now - c->start > WATCHDOG_MS + 6 * s->drain_ms) {
		char w[64];
		st = proc_state(c->pid, w, sizeof w);
		t->hung++;
		printf("soak_chaos: HUNG: child %d (%s) alive for %.0f s, in %s for %.0f ms: state %c, wchan %s\n",
		       c->pid, fate_name[c->fate], (now - c->start) / 1e3, phase_name[phase], now - s->since, st, w);
		kill_now = 1;
	} else if (target >= 0 && phase == target && now - s->since >= c->delay) {
		st = proc_state(c->pid, NULL, 0);
		kill_now = !c->need_blocked || st == 'S' || st == 'D';
	} else if (c->fate == F_KILL_RANDOM && now - c->start >= c->delay) {
		kill_now = 1;
	}
	if (!kill_now)
		return;
	if (!st)
		st = proc_state(c->pid, NULL, 0);
	phase = __atomic_load_n(&s->phase, __ATOMIC_SEQ_CST);
	blocked = st == 'S' || st == 'D';
	kill(c->pid, SIGKILL);
	c->killed = 1, c->kill_at = now_ms(CLOCK_MONOTONIC), c->kill_phase = phase, c->kill_blocked = blocked;
	t->killed[phase]++;
	if (blocked)
		t->killed_blocked[phase]++;
}

static long long all_killed(const struct tally *t)
{
	long long k = 0;
	for (int p = 0; p < NPHASE; p++)
		k += t->killed[p];
	return k;
}

/* The run: clients forked and their fates carried out until the deadline, with
 * a quiet point every quiet_every seconds (all killed, the daemon measured). */
static void drive(double seconds, int maxj, double quiet_every, pid_t daemon_pid, struct tally *t)
{
	struct child ch[MAXJ];
	memset(ch, 0, sizeof ch);
	double t0 = now_ms(CLOCK_MONOTONIC), deadline = t0 + seconds * 1e3, next_spawn = t0, last_report = t0;
	int alive = 0, quiet = 0, nquiet = 0;
	double next_quiet = quiet_every > 0 ? t0 + quiet_every * 1e3 : deadline + 1;
	for (;;) {
		double now = now_ms(CLOCK_MONOTONIC);
		/* A quiet point: every child killed and gone, then the daemon is
		 * measured with only the long-lived clients open. */
		if (!quiet && now >= next_quiet && now < deadline)
			quiet = 1;
		if (quiet && alive == 0) {
			usleep(1000000);
			nquiet++;
			quiet_sample(daemon_pid, nquiet, (now_ms(CLOCK_MONOTONIC) - t0) / 1e3);
			quiet = 0;
			now = now_ms(CLOCK_MONOTONIC);
			next_quiet = now + quiet_every * 1e3;
			next_spawn = now;
		}
		if (!quiet && now < deadline && alive < maxj && now >= next_spawn) {
			spawn(ch, now, t);
			alive++;
			next_spawn = now + rn(300);
		}
		for (int i = 0; i < maxj; i++) {
			struct child *c = &ch[i];
			if (!c->pid)
				continue;
			struct slot *s = &sh->slot[i];
			int status;
			pid_t r = waitpid(c->pid, &status, WNOHANG);
			now = now_ms(CLOCK_MONOTONIC);
			if (r == c->pid) {
				reaped(c, s, status, now, t);
				c->pid = 0;
				alive--;
			} else if (c->killed) {
				watch_killed(c, s, now, t);
			} else {
				fate_of(c, s, now, now >= deadline || quiet, t);
			}
		}
		if (now >= deadline && alive == 0)
			break;
		if (now - last_report >= 10000) {
			last_report = now;
			printf("soak_chaos: %.0f s: %lld started, %lld alive, %lld exited, %lld killed\n", (now - t0) / 1e3,
			       t->started, (long long)alive, t->exited_ok, all_killed(t));
		}
		usleep(5000);
	}
}

/* The errors the clients met, by call and errno, then the failed ioctls by
 * number; returns how many were unexpected (not EAGAIN, EINVAL, ENOTTY). */
static long long report_errors(void)
{
	long long unexpected = 0;
	printf("soak_chaos: errors:");
	int any = 0;
	for (int o = 0; o < NOP; o++)
		for (int e = 0; e < NERR; e++)
			if (sh->errors[o][e]) {
				const char *name = e ? strerrorname_np(e) : "?";
				printf("%s %s %s=%lld", any++ ? "," : "", op_name[o], name ? name : "?", sh->errors[o][e]);
				if (e != EAGAIN && e != EINVAL && e != ENOTTY)
					unexpected += sh->errors[o][e];
			}
	printf("%s\n", any ? "" : " none");
	/* which ioctls failed, by number (SNDCTL_DSP_* are 'P') */
	static const struct { unsigned long req; const char *name; } names[] = {
		{SNDCTL_DSP_RESET, "RESET"}, {SNDCTL_DSP_SYNC, "SYNC"}, {SNDCTL_DSP_SPEED, "SPEED"},
		{SNDCTL_DSP_GETBLKSIZE, "GETBLKSIZE"}, {SNDCTL_DSP_SETFMT, "SETFMT"}, {SNDCTL_DSP_CHANNELS, "CHANNELS"},
		{SNDCTL_DSP_POST, "POST"}, {SNDCTL_DSP_SETFRAGMENT, "SETFRAGMENT"}, {SNDCTL_DSP_GETFMTS, "GETFMTS"},
		{SNDCTL_DSP_GETOSPACE, "GETOSPACE"}, {SNDCTL_DSP_GETISPACE, "GETISPACE"}, {SNDCTL_DSP_NONBLOCK, "NONBLOCK"},
		{SNDCTL_DSP_GETCAPS, "GETCAPS"}, {SNDCTL_DSP_SETTRIGGER, "SET/GETTRIGGER"}, {SNDCTL_DSP_GETIPTR, "GETIPTR"},
		{SNDCTL_DSP_GETOPTR, "GETOPTR"}, {SNDCTL_DSP_GETODELAY, "GETODELAY"}, {OSS4_SETPLAYVOL, "SET/GETPLAYVOL"},
		{OSS4_GETERROR, "GETERROR"}, {OSS4_SILENCE, "SILENCE"}, {OSS4_SKIP, "SKIP"}, {OSS4_HALT_INPUT, "HALT_INPUT"},
		{OSS4_HALT_OUTPUT, "HALT_OUTPUT"}, {OSS4_CURRENT_IPTR, "CURRENT_IPTR"}, {OSS4_CURRENT_OPTR, "CURRENT_OPTR"},
	};
	printf("soak_chaos: ioctl_errors:");
	any = 0;
	for (int t = 0; t < 2; t++)
		for (int nr = 0; nr < 256; nr++)
			for (int e = 1; e < NERR; e++) {
				if (!sh->ioctl_errors[t][nr][e])
					continue;
				const char *name = NULL;
				for (int i = 0; i < N(names); i++)
					if (t == 0 && _IOC_NR(names[i].req) == (unsigned)nr && _IOC_TYPE(names[i].req) == 'P')
						name = names[i].name;
				const char *en = strerrorname_np(e);
				if (name)
					printf("%s %s %s=%lld", any++ ? "," : "", name, en ? en : "?", sh->ioctl_errors[t][nr][e]);
				else
					printf("%s %c/%d %s=%lld", any++ ? "," : "", t ? '?' : 'P', nr, en ? en : "?",
					       sh->ioctl_errors[t][nr][e]);
			}
	printf("%s\n", any ? "" : " none");
	return unexpected;
}

/* The run's figures; returns whether it passed. */
static int report(const struct tally *t)
{
	printf("soak_chaos: children=%lld exited=%lld killed=%lld open_failed=%lld bad_exit=%lld bad_signal=%lld "
	       "stuck=%lld hung=%lld playvol_fail=%lld\n",
	       t->started, t->exited_ok, all_killed(t), t->open_failed, t->bad_exit, t->bad_signal, t->stuck, t->hung,
	       sh->playvol_fail);
	printf("soak_chaos: fates:");
	for (int f = 0; f < NFATE; f++)
		printf(" %s=%lld", fate_name[f], t->by_fate[f]);
	printf(" (targeted children that ended before their kill: %lld; killed at a quiet point or the end: %lld)\n",
	       t->escaped, t->end_killed);
	printf("soak_chaos: killed_in:");
	for (int p = 0; p < NPHASE; p++)
		if (t->killed[p])
			printf(" %s=%lld(blocked %lld)", phase_name[p], t->killed[p], t->killed_blocked[p]);
	printf("\n");
	printf("soak_chaos: kill_to_reap_ms:");
	for (int p = 0; p < NPHASE; p++)
		if (t->killed[p])
			printf(" %s=%.0f/%.0f", phase_name[p], t->reap_sum[p] / t->killed[p], t->reap_max[p]);
	printf(" (mean/max)\n");
	printf("soak_chaos: slow_to_die=%lld (still there %d ms after SIGKILL; then in state D %lld, S %lld, other %lld)\n",
	       t->slow, SLOW_MS, t->slow_state[0], t->slow_state[1], t->slow_state[2]);
	printf("soak_chaos: requests opens=%lld writes=%lld bytes_written=%lld reads=%lld bytes_read=%lld ioctls=%lld "
	       "polls=%lld closes=%lld\n",
	       t->tot.opens, t->tot.writes, t->tot.wbytes, t->tot.reads, t->tot.rbytes, t->tot.ioctls, t->tot.polls,
	       t->tot.closes);
	long long unexpected = report_errors();
	printf("soak_chaos: unexpected_errors=%lld\n", unexpected);
	int ok = !t->stuck && !t->hung && !t->bad_exit && !t->bad_signal && !unexpected && !sh->playvol_fail;
	printf("soak_chaos: %s\n", ok ? "ok" : "FAILED");
	return ok;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	double seconds = 60;
	int maxj = 8, opt;
	double quiet_every = 0;
	pid_t daemon_pid = 0;
	while ((opt = getopt(argc, argv, "d:s:t:j:q:p:")) != -1) {
		switch (opt) {
		case 'd': dsp_path = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 't': seconds = atof(optarg); break;
		case 'j': maxj = atoi(optarg); break;
		case 'q': quiet_every = atof(optarg); break;
		case 'p': daemon_pid = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: soak_chaos [-d DSP] [-s SEED] [-t SECONDS] [-j MAX] [-q SECONDS -p PID]\n");
			return 2;
		}
	}
	if (maxj < 1 || maxj > MAXJ)
		die("-j", "1..32");
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap", strerror(errno));
	rng_state = seed * 0x2545f4914f6cdd1dull + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	static struct tally t;
	drive(seconds, maxj, quiet_every, daemon_pid, &t);
	return report(&t) ? 0 : 1;
}
