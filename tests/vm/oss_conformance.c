/*
 * oss_conformance: does /dev/dsp behave the way legacy OSS programs expect?
 *
 * Uses the device exactly as an OSS program does: <sys/soundcard.h> (Linux's
 * OSS 3 header) plus the OSS 4 numbers and structs it lacks, defined below from
 * FreeBSD's / 4Front's soundcard.h and checked at compile time against the
 * values pinned in src/oss/soundcard.rs. The OSS 4 developer manual's page for
 * each ioctl decides what is correct; where the manual leaves a choice the check
 * is lenient and says so in a comment.
 *
 *   gcc -O2 -Wall -Wextra -o target/oss_conformance tests/vm/oss_conformance.c
 *   oss_conformance [/dev/dsp]
 *
 * Prints one line per check, "ok N - what" or "not ok N - what: got X, expected
 * Y" ("# ..." lines are diagnostics), and last exactly
 * "oss_conformance: N passed, M failed". Exit status 1 if any check failed.
 * "ok N - ... # SKIP ..." lines (a refusal the device is entitled to: reading
 * opens when GETCAPS advertises no recording) count as passed.
 *
 * Each group of checks runs in its own forked process with alarm(TIMEOUT): a
 * call that hangs kills that group only, and is reported as a failed check
 * naming the call that hung; the run goes on with the next group.
 *
 * Timing bounds are wide: the test VM runs ~10x slower than real hardware and
 * ossd is run there with 1024-frame device periods (21 ms at 48 kHz).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/soundcard.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ OSS 4 */

/* audio_errinfo (SNDCTL_DSP_GETERROR), 4Front's layout (int errorparm). */
typedef struct {
	int play_underruns;
	int rec_overruns;
	unsigned int play_ptradjust;
	unsigned int rec_ptradjust;
	int play_errorcount;
	int rec_errorcount;
	int play_lasterror;
	int rec_lasterror;
	int play_errorparm;
	int rec_errorparm;
	int filler[16];
} oss4_audio_errinfo;

/* oss_count_t (SNDCTL_DSP_CURRENT_OPTR). */
typedef struct {
	long long samples;
	int fifo_samples;
	int filler[32];
} oss4_count_t;

/* oss_sysinfo (SNDCTL_SYSINFO). */
typedef struct {
	char product[32];
	char version[32];
	int versionnum;
	char options[128];
	int numaudios;
	int openedaudio[8];
	int numsynths;
	int nummidis;
	int numtimers;
	int nummixers;
	int openedmidi[8];
	int numcards;
	int numaudioengines;
	char license[16];
	char revision_info[256];
	int filler[172];
} oss4_sysinfo;

/* oss_audioinfo (SNDCTL_AUDIOINFO, SNDCTL_ENGINEINFO). */
typedef struct {
	int dev;
	char name[64];
	int busy;
	int pid;
	int caps;
	int iformats, oformats;
	int magic;
	char cmd[64];
	int card_number;
	int port_number;
	int mixer_dev;
	int legacy_device;
	int enabled;
	int flags;
	int min_rate, max_rate;
	int min_channels, max_channels;
	int binding;
	int rate_source;
	char handle[32];
	unsigned int nrates;
	unsigned int rates[20];
	char song_name[64];
	char label[16];
	int latency;
	char devnode[32];
	int next_play_engine;
	int next_rec_engine;
	int filler[184];
} oss4_audioinfo;

_Static_assert(sizeof(oss4_audio_errinfo) == 104, "audio_errinfo is 104 bytes");
#if defined(__i386__)
/* long long aligns to 4 in i386 structs: no tail padding, another ioctl number. */
_Static_assert(sizeof(oss4_count_t) == 140, "oss_count_t is 140 bytes on i386");
#else
_Static_assert(sizeof(oss4_count_t) == 144, "oss_count_t is 144 bytes");
#endif
_Static_assert(sizeof(oss4_sysinfo) == 1248, "oss_sysinfo is 1248 bytes");
_Static_assert(sizeof(oss4_audioinfo) == 1180, "oss_audioinfo is 1180 bytes");

#define OSS4_GETPLAYVOL _IOR('P', 24, int)
#define OSS4_SETPLAYVOL _IOWR('P', 24, int)
#define OSS4_GETERROR _IOR('P', 25, oss4_audio_errinfo)
#define OSS4_COOKEDMODE _IOW('P', 30, int)
#define OSS4_SILENCE _IO('P', 31)
#define OSS4_SKIP _IO('P', 32)
#define OSS4_HALT_OUTPUT _IO('P', 34)
#define OSS4_LOW_WATER _IOW('P', 34, int)
#define OSS4_CURRENT_OPTR _IOR('P', 36, oss4_count_t)
#define OSS4_GET_CHNORDER _IOR('P', 42, unsigned long long)
#define OSS4_SYSINFO _IOR('X', 1, oss4_sysinfo)
#define OSS4_AUDIOINFO _IOWR('X', 7, oss4_audioinfo)
#define OSS4_ENGINEINFO _IOWR('X', 12, oss4_audioinfo)
#define OSS4_GETVERSION _IOR('M', 118, int)
#define OSS4_DSP_CAP_INPUT 0x00010000 /* can record */
/* A 'P' ioctl no OSS version defines, with a size (so CUSE passes it on). */
#define UNKNOWN_IOCTL _IOWR('P', 200, int)

/* The values pinned (from C headers) in src/oss/soundcard.rs's tests. */
#define PIN(name, value) _Static_assert((name) == (value##u), #name " is " #value)
PIN(OSS4_GETPLAYVOL, 0x80045018);
PIN(OSS4_SETPLAYVOL, 0xc0045018);
PIN(OSS4_GETERROR, 0x80685019);
PIN(OSS4_COOKEDMODE, 0x4004501e);
PIN(OSS4_SILENCE, 0x0000501f);
PIN(OSS4_SKIP, 0x00005020);
PIN(OSS4_HALT_OUTPUT, 0x00005022);
PIN(OSS4_LOW_WATER, 0x40045022);
#if defined(__i386__)
PIN(OSS4_CURRENT_OPTR, 0x808c5024);
#else
PIN(OSS4_CURRENT_OPTR, 0x80905024);
#endif
PIN(OSS4_GET_CHNORDER, 0x8008502a);
PIN(OSS4_SYSINFO, 0x84e05801);
PIN(OSS4_AUDIOINFO, 0xc49c5807);
PIN(OSS4_ENGINEINFO, 0xc49c580c);
PIN(OSS4_GETVERSION, 0x80044d76);
/* ... and the OSS 3 ones this program takes from the system header. */
PIN(SNDCTL_DSP_RESET, 0x00005000);
PIN(SNDCTL_DSP_SYNC, 0x00005001);
PIN(SNDCTL_DSP_SPEED, 0xc0045002);
PIN(SNDCTL_DSP_STEREO, 0xc0045003);
PIN(SNDCTL_DSP_GETBLKSIZE, 0xc0045004);
PIN(SNDCTL_DSP_SETFMT, 0xc0045005);
PIN(SNDCTL_DSP_CHANNELS, 0xc0045006);
PIN(SNDCTL_DSP_POST, 0x00005008);
PIN(SNDCTL_DSP_SETFRAGMENT, 0xc004500a);
PIN(SNDCTL_DSP_GETFMTS, 0x8004500b);
PIN(SNDCTL_DSP_GETOSPACE, 0x8010500c);
PIN(SNDCTL_DSP_NONBLOCK, 0x0000500e);
PIN(SNDCTL_DSP_GETCAPS, 0x8004500f);
PIN(SNDCTL_DSP_GETTRIGGER, 0x80045010);
PIN(SNDCTL_DSP_SETTRIGGER, 0x40045010);
PIN(SNDCTL_DSP_GETOPTR, 0x800c5012);
PIN(SNDCTL_DSP_GETODELAY, 0x80045017);
PIN(SOUND_PCM_READ_RATE, 0x80045002);
PIN(SOUND_PCM_READ_CHANNELS, 0x80045006);

/* --------------------------------------------------------------- harness */

#ifndef TIMEOUT
#define TIMEOUT 20 /* seconds per group of checks */
#endif

struct shared {
	int num, passed, failed;
	char step[256]; /* what the current group is doing (named if it hangs) */
};
static struct shared *sh;
static const char *dsp_path = "/dev/dsp";

static void emit(bool ok, const char *desc, const char *suffix, const char *detail)
{
	int n = ++sh->num;
	if (ok) {
		sh->passed++;
		printf("ok %d - %s%s\n", n, desc, suffix);
	} else {
		sh->failed++;
		printf("not ok %d - %s: %s\n", n, desc, detail);
	}
	fflush(stdout);
}

/* One check: `desc` says what OSS requires; `fmt` (only printed on failure)
 * says "got X, expected Y". Returns `ok`. */
__attribute__((format(printf, 3, 4))) static bool check(bool ok, const char *desc, const char *fmt, ...)
{
	char detail[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	emit(ok, desc, "", detail);
	return ok;
}

/* A passing line for something not built yet: "ok N - desc # SKIP why". */
__attribute__((format(printf, 2, 3))) static void skip(const char *desc, const char *fmt, ...)
{
	char suffix[320] = " # SKIP ";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(suffix + 8, sizeof suffix - 8, fmt, ap);
	va_end(ap);
	emit(true, desc, suffix, "");
}

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("#   ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

/* Names what the group is about to do: the failure line if it hangs there. */
__attribute__((format(printf, 1, 2))) static void step(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sh->step, sizeof sh->step, fmt, ap);
	va_end(ap);
}

/* A formatted description (a few rotating buffers, for check()'s desc). */
__attribute__((format(printf, 1, 2))) static const char *S(const char *fmt, ...)
{
	static char bufs[4][300];
	static int i;
	char *b = bufs[i++ % 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof bufs[0], fmt, ap);
	va_end(ap);
	return b;
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* "ret 0, value 16" or "ret -1 (EINVAL)". */
static const char *rv(int r, int e, long long v)
{
	return r < 0 ? S("ret %d (%s)", r, ename(e)) : S("ret %d, value %lld (%#llx)", r, v, v);
}

/* ioctl with an int argument: returns the ioctl's result, *err its errno. */
static int ioc(int fd, unsigned long req, int *v, int *err)
{
	errno = 0;
	int r = ioctl(fd, req, v);
	*err = errno;
	return r;
}

/* Opens the device; a failure is a failed check (the group then stops). */
static int open_dsp(int flags)
{
	step("open(%s, %s%s)", dsp_path, (flags & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : (flags & O_ACCMODE) == O_RDWR ? "O_RDWR" : "O_WRONLY",
	     flags & O_NONBLOCK ? "|O_NONBLOCK" : "");
	int fd = open(dsp_path, flags);
	if (fd < 0)
		check(false, S("%s", sh->step), "got -1 (%s), expected an fd", ename(errno));
	return fd;
}

/* Ends a stream without waiting for it to play out. */
static void halt_close(int fd)
{
	step("SNDCTL_DSP_RESET then close()");
	ioctl(fd, SNDCTL_DSP_RESET, 0);
	close(fd);
}

static bool set_int(int fd, unsigned long req, int v)
{
	int e;
	return ioc(fd, req, &v, &e) == 0;
}

/* Writes `byte` to a non-blocking fd until it answers EAGAIN; returns the bytes
 * taken (-1 on another error, errno set). */
static long fill_nonblock(int fd, int byte)
{
	static char buf[4096];
	memset(buf, byte, sizeof buf);
	long total = 0;
	step("non-blocking write()s until EAGAIN");
	while (total < (1L << 22)) {
		ssize_t n = write(fd, buf, sizeof buf);
		if (n < 0)
			return errno == EAGAIN ? total : -1;
		total += n;
	}
	errno = 0;
	return -1; /* it never filled: 4 MiB taken without EAGAIN */
}

static bool get_ospace(int fd, audio_buf_info *bi, int *err)
{
	memset(bi, 0xff, sizeof *bi);
	errno = 0;
	bool ok = ioctl(fd, SNDCTL_DSP_GETOSPACE, bi) == 0;
	*err = errno;
	return ok;
}

static const char *bistr(const audio_buf_info *bi)
{
	return S("{fragments %d, fragstotal %d, fragsize %d, bytes %d}", bi->fragments, bi->fragstotal, bi->fragsize, bi->bytes);
}

static int odelay(int fd)
{
	int v = -12345, e;
	if (ioc(fd, SNDCTL_DSP_GETODELAY, &v, &e) < 0)
		return -100000 - e; /* shows up as an impossible delay */
	return v;
}

/* Polls GETODELAY every 10 ms for up to `ms` until it is below `below`;
 * returns the last value, *waited the time it took. A new stream's sound comes
 * out only after what the device already holds (ossd in the VM: 4 periods, 85
 * ms), so "it decreases" is watched over a window, not after a fixed sleep. */
static int odelay_drops(int fd, int below, int ms, double *waited)
{
	double t0 = now();
	int d;
	while ((d = odelay(fd)) >= below && now() - t0 < ms / 1000.0)
		msleep(10);
	*waited = now() - t0;
	return d;
}

/* U8 silence: what these checks play (nothing audible if run on a real card). */
#define SIL 0x80
/* 8 kHz U8 mono, the default format: bytes per second. */
#define BPS 8000
/* What the device and mixer may hold beyond a stream's buffer, at 8 kHz U8:
 * 200 ms (ossd in the VM: 4 x 1024-frame periods = 85 ms, plus resampler). */
#define DEVICE_HOLD (BPS / 5)
/* A decrease of GETODELAY that means sound came out, not resampler
 * bookkeeping (a few frames either way): 10 ms at 8 kHz U8. */
#define DROP (BPS / 100)

/* ---------------------------------------------------------------- checks */

/* 1. open(2): many opens at once, never EBUSY (OSS 4: DSP_CAP_MULTI, vmix). */
static void t_open(void)
{
	int fds[8], n = 0, first_err = 0;
	fds[0] = open_dsp(O_WRONLY);
	if (fds[0] < 0)
		return;
	check(true, "open(O_WRONLY) succeeds", " ");
	n = 1;
	step("second and third concurrent open(O_WRONLY)");
	for (; n < 3; n++)
		if ((fds[n] = open(dsp_path, O_WRONLY)) < 0) {
			first_err = errno;
			break;
		}
	check(n == 3, "a second and a third concurrent open(O_WRONLY) succeed (not EBUSY)", "got %d of 3 open, then -1 (%s)", n,
	      ename(first_err));
	if (n == 3) {
		step("8 concurrent open(O_WRONLY)");
		for (; n < 8; n++)
			if ((fds[n] = open(dsp_path, O_WRONLY)) < 0) {
				first_err = errno;
				break;
			}
		check(n == 8, "8 concurrent open(O_WRONLY) all succeed", "got %d of 8 open, then -1 (%s)", n, ename(first_err));
	}
	step("close() of %d fresh fds", n);
	double t0 = now();
	while (n > 0)
		close(fds[--n]);
	double dt = now() - t0;
	check(dt < 2.0, "close() of fds that wrote nothing returns at once", "got %.3f s for all, expected < 2 s", dt);
}

/* 2. A fresh open is U8, mono, 8000 Hz (OSS 3 and 4: `cat x.ub > /dev/dsp`). */
static void t_defaults(void)
{
	int fd = open_dsp(O_WRONLY), v, e, r;
	if (fd < 0)
		return;
	step("SNDCTL_DSP_SETFMT(AFMT_QUERY)");
	v = AFMT_QUERY;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0 && v == AFMT_U8, "fresh open: SNDCTL_DSP_SETFMT(AFMT_QUERY) is AFMT_U8", "got %s, expected AFMT_U8 (0x8)",
	      rv(r, e, v));
	v = -1;
	r = ioc(fd, SOUND_PCM_READ_CHANNELS, &v, &e);
	check(r == 0 && v == 1, "fresh open: SOUND_PCM_READ_CHANNELS is 1", "got %s, expected 1", rv(r, e, v));
	v = -1;
	r = ioc(fd, SOUND_PCM_READ_RATE, &v, &e);
	check(r == 0 && v == 8000, "fresh open: SOUND_PCM_READ_RATE is 8000", "got %s, expected 8000", rv(r, e, v));

	/* Settings belong to the open file, not to the device. */
	set_int(fd, SNDCTL_DSP_SETFMT, AFMT_S16_LE);
	set_int(fd, SNDCTL_DSP_CHANNELS, 2);
	set_int(fd, SNDCTL_DSP_SPEED, 44100);
	int fd2 = open_dsp(O_WRONLY);
	if (fd2 >= 0) {
		int f = AFMT_QUERY, c = -1, s = -1;
		ioc(fd2, SNDCTL_DSP_SETFMT, &f, &e);
		ioc(fd2, SOUND_PCM_READ_CHANNELS, &c, &e);
		ioc(fd2, SOUND_PCM_READ_RATE, &s, &e);
		check(f == AFMT_U8 && c == 1 && s == 8000,
		      "settings are per open: a second open while the first is S16_LE/2/44100 starts at U8/1/8000",
		      "got format %#x, %d channels, %d Hz, expected 0x8, 1, 8000", f, c, s);
		close(fd2);
	}
	close(fd);
}

/* 3. SNDCTL_DSP_SETFMT / GETFMTS: a set-call writes back what was chosen and
 * never fails for an unsupported value. */
static void t_formats(void)
{
	int fd = open_dsp(O_WRONLY), v, e, r, fmts = 0;
	if (fd < 0)
		return;
	step("SNDCTL_DSP_GETFMTS");
	r = ioc(fd, SNDCTL_DSP_GETFMTS, &fmts, &e);
	const int want = AFMT_U8 | AFMT_S16_LE | AFMT_S16_BE | AFMT_S8 | AFMT_U16_LE | AFMT_MU_LAW | AFMT_A_LAW;
	check(r == 0 && (fmts & want) == want, "SNDCTL_DSP_GETFMTS includes U8, S16_LE, S16_BE, S8, U16_LE, MU_LAW, A_LAW",
	      "got %s (missing %#x), expected all of %#x", rv(r, e, fmts), want & ~fmts, want);

	v = AFMT_S16_LE;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0 && v == AFMT_S16_LE, "SNDCTL_DSP_SETFMT(AFMT_S16_LE) returns AFMT_S16_LE", "got %s, expected 0x10",
	      rv(r, e, v));
	v = AFMT_QUERY;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0 && v == AFMT_S16_LE, "SNDCTL_DSP_SETFMT(AFMT_QUERY) then reports AFMT_S16_LE", "got %s, expected 0x10",
	      rv(r, e, v));

	/* Every format GETFMTS advertises is accepted as is. */
	int bad = 0, badv = 0;
	for (int bit = 0; bit < 31; bit++) {
		int f = 1 << bit;
		if (!(fmts & f))
			continue;
		v = f;
		if (ioc(fd, SNDCTL_DSP_SETFMT, &v, &e) != 0 || v != f) {
			bad = f;
			badv = v;
		}
	}
	check(fmts && !bad, "SNDCTL_DSP_SETFMT accepts every format SNDCTL_DSP_GETFMTS lists", "got %#x for %#x (GETFMTS %#x)",
	      badv, bad, fmts);

	/* Not supported (ossd plays PCM only): the driver picks a format it has. */
	v = AFMT_MPEG;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	bool mpeg_ok = (fmts & AFMT_MPEG) ? v == AFMT_MPEG : (v != 0 && (v & (v - 1)) == 0 && (v & fmts));
	check(r == 0 && mpeg_ok, "SNDCTL_DSP_SETFMT(AFMT_MPEG) succeeds and returns a format in GETFMTS",
	      "got %s, expected ret 0 and one format of %#x", rv(r, e, v), fmts);
	close(fd);
}

/* 4. SNDCTL_DSP_CHANNELS / STEREO: write back the count chosen. */
static void t_channels(void)
{
	int fd = open_dsp(O_WRONLY), v, e, r;
	if (fd < 0)
		return;
	v = 2;
	r = ioc(fd, SNDCTL_DSP_CHANNELS, &v, &e);
	check(r == 0 && v == 2, "SNDCTL_DSP_CHANNELS(2) returns 2", "got %s, expected 2", rv(r, e, v));
	v = 1;
	r = ioc(fd, SNDCTL_DSP_CHANNELS, &v, &e);
	check(r == 0 && v == 1, "SNDCTL_DSP_CHANNELS(1) returns 1", "got %s, expected 1", rv(r, e, v));
	v = 1;
	r = ioc(fd, SNDCTL_DSP_STEREO, &v, &e);
	check(r == 0 && v == 1, "SNDCTL_DSP_STEREO(1) returns 1", "got %s, expected 1", rv(r, e, v));
	v = -1;
	r = ioc(fd, SOUND_PCM_READ_CHANNELS, &v, &e);
	check(r == 0 && v == 2, "after SNDCTL_DSP_STEREO(1), SOUND_PCM_READ_CHANNELS is 2", "got %s, expected 2", rv(r, e, v));
	v = 0;
	r = ioc(fd, SNDCTL_DSP_STEREO, &v, &e);
	int c = -1, e2;
	ioc(fd, SOUND_PCM_READ_CHANNELS, &c, &e2);
	check(r == 0 && v == 0 && c == 1, "SNDCTL_DSP_STEREO(0) returns 0 and makes the stream mono",
	      "got %s and %d channels, expected 0 and 1", rv(r, e, v), c);
	/* Nearest supported: the exact maximum is the driver's choice (ossd: 8). */
	v = 1000;
	r = ioc(fd, SNDCTL_DSP_CHANNELS, &v, &e);
	c = -1;
	ioc(fd, SOUND_PCM_READ_CHANNELS, &c, &e2);
	check(r == 0 && v >= 1 && v <= 8 && c == v,
	      "SNDCTL_DSP_CHANNELS(1000) succeeds with a supported count (1..8) that SOUND_PCM_READ_CHANNELS then reports",
	      "got %s, READ_CHANNELS %d, expected ret 0 and 1 <= v <= 8", rv(r, e, v), c);
	close(fd);
}

/* 5. SNDCTL_DSP_SPEED: nearest supported rate, never an error for a positive one. */
static void t_speed(void)
{
	int fd = open_dsp(O_WRONLY), v, e, e2, r, rd;
	if (fd < 0)
		return;
	v = 44100;
	r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
	rd = -1;
	ioc(fd, SOUND_PCM_READ_RATE, &rd, &e2);
	check(r == 0 && v >= 43659 && v <= 44541 && rd == v,
	      "SNDCTL_DSP_SPEED(44100) returns 44100 (within 1%) and SOUND_PCM_READ_RATE agrees",
	      "got %s, READ_RATE %d, expected 44100", rv(r, e, v), rd);
	v = 48000;
	r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
	check(r == 0 && v == 48000, "SNDCTL_DSP_SPEED(48000) returns 48000", "got %s, expected 48000", rv(r, e, v));
	/* The limits are the driver's choice; the call must clamp, not fail. */
	v = 1;
	r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
	check(r == 0 && v >= 1000 && v <= 192000, "SNDCTL_DSP_SPEED(1) succeeds with a clamped rate >= 1000",
	      "got %s, expected ret 0 and a rate >= 1000", rv(r, e, v));
	v = 10000000;
	r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
	check(r == 0 && v >= 1000 && v <= 192000, "SNDCTL_DSP_SPEED(10000000) succeeds with a clamped rate <= 192000",
	      "got %s, expected ret 0 and a rate <= 192000", rv(r, e, v));
	/* 0 and negative rates: not defined by the manual (4Front returns the
	 * current rate). Accept a positive rate or EINVAL; anything else fails. */
	int cur = 8000;
	set_int(fd, SNDCTL_DSP_SPEED, cur);
	int vals[2] = {0, -1};
	for (int i = 0; i < 2; i++) {
		v = vals[i];
		r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
		rd = -1;
		int r2 = ioc(fd, SOUND_PCM_READ_RATE, &rd, &e2);
		bool ok = ((r == 0 && v > 0) || (r < 0 && e == EINVAL)) && r2 == 0 && rd > 0;
		check(ok, S("SNDCTL_DSP_SPEED(%d) returns a rate or EINVAL and the fd still works (did: %s)", vals[i], rv(r, e, v)),
		      "got %s, then SOUND_PCM_READ_RATE %s", rv(r, e, v), rv(r2, e2, rd));
	}
	close(fd);
}

/* 6. SNDCTL_DSP_SETFRAGMENT before the first write; GETBLKSIZE; GETOSPACE. */
static void t_setfragment(void)
{
	int fd = open_dsp(O_WRONLY), v, e, r;
	if (fd < 0)
		return;
	v = 0x0004000A; /* at most 4 fragments of 2^10 bytes */
	r = ioc(fd, SNDCTL_DSP_SETFRAGMENT, &v, &e);
	check(r == 0, "SNDCTL_DSP_SETFRAGMENT(0x0004000A) succeeds before the first write", "got %s", rv(r, e, v));
	int blk = -1;
	r = ioc(fd, SNDCTL_DSP_GETBLKSIZE, &blk, &e);
	/* A hint: the driver may round; a power of two within 2x of 1 KiB. */
	bool pow2 = blk > 0 && (blk & (blk - 1)) == 0;
	check(r == 0 && pow2 && blk >= 512 && blk <= 2048, "SNDCTL_DSP_GETBLKSIZE after SETFRAGMENT(0x0004000A) is 1024 (+-2x)",
	      "got %s, expected 1024", rv(r, e, blk));
	audio_buf_info bi;
	bool ok = get_ospace(fd, &bi, &e);
	if (!check(ok, "SNDCTL_DSP_GETOSPACE succeeds", "got -1 (%s)", ename(e))) {
		close(fd);
		return;
	}
	check(bi.fragsize == blk, "SNDCTL_DSP_GETOSPACE fragsize == SNDCTL_DSP_GETBLKSIZE", "got %s, GETBLKSIZE %d", bistr(&bi),
	      blk);
	check(bi.fragstotal >= 2, "SNDCTL_DSP_GETOSPACE fragstotal >= 2", "got %s", bistr(&bi));
	check(bi.fragments == bi.fragstotal && bi.bytes == bi.fragstotal * bi.fragsize,
	      "SNDCTL_DSP_GETOSPACE on an empty buffer: fragments == fragstotal, bytes == fragstotal * fragsize", "got %s",
	      bistr(&bi));
	/* MMMM is a maximum in the manual, but drivers keep a floor; report only. */
	if (bi.fragstotal > 4)
		note("SETFRAGMENT asked for at most 4 fragments, got %d", bi.fragstotal);
	close(fd);
}

/* 7. SNDCTL_DSP_GETOSPACE: free space, small buffers, full after a fill. */
static void t_getospace(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e;
	if (fd < 0)
		return;
	audio_buf_info bi;
	bool ok = get_ospace(fd, &bi, &e);
	int total = bi.fragstotal * bi.fragsize;
	check(ok && bi.fragsize > 0 && bi.bytes > 0 && bi.bytes <= total && bi.fragments * bi.fragsize <= bi.bytes,
	      "SNDCTL_DSP_GETOSPACE on a fresh fd: 0 < bytes <= fragstotal * fragsize, fragments = whole fragments free",
	      "got %s (ret %s)", bistr(&bi), ok ? "0" : ename(e));
	/* "Tens of milliseconds by default, not seconds" (legacy programs'
	 * latency); 250 ms is the bound here. */
	check(ok && total > 0 && total <= BPS / 4, "the default buffer holds at most 250 ms (SNDCTL_DSP_GETOSPACE)",
	      "got %d bytes = %.0f ms of U8 8 kHz", total, total * 1000.0 / BPS);
	note("default geometry at U8 8 kHz mono: %s = %.0f ms", bistr(&bi), total * 1000.0 / BPS);
	long n = fill_nonblock(fd, SIL);
	check(n > 0, "non-blocking write()s fill the buffer, then EAGAIN", "got %ld (%s)", n, ename(errno));
	/* Playback goes on meanwhile: the default fragment is only ~1.5 device
	 * periods here, and the engine may take two periods at once after a late
	 * wakeup. So up to 3 tries (fill, then GETOSPACE at once): a buffer that
	 * reports its fill passes the first; one that does not, none. */
	char seen[600] = "";
	for (int i = 0; i < 3; i++) {
		if (i > 0)
			n = fill_nonblock(fd, SIL);
		ok = get_ospace(fd, &bi, &e);
		if (ok && (bi.fragments == 0 || bi.bytes < bi.fragsize))
			break;
		size_t len = strlen(seen);
		snprintf(seen + len, sizeof seen - len, "%s after %ld bytes; ", bistr(&bi), n);
		if (i < 2)
			note("GETOSPACE right after filling: %s after %ld bytes taken; filling again", bistr(&bi), n);
	}
	check(ok && (bi.fragments == 0 || bi.bytes < bi.fragsize),
	      "SNDCTL_DSP_GETOSPACE right after filling: no whole fragment free", "got %s", seen);
	halt_close(fd);
}

/* 8. A blocking write is paced by the device clock; close() drains. */
static void t_blocking_write(void)
{
	static char buf[BPS];
	memset(buf, SIL, sizeof buf);
	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	step("blocking write() of 1 s of U8 8 kHz mono (8000 bytes)");
	double t0 = now();
	ssize_t n = write(fd, buf, sizeof buf);
	int e = errno;
	double t1 = now();
	check(n == (ssize_t)sizeof buf, "a blocking write() of 8000 bytes returns 8000", "got %zd (%s)", n, n < 0 ? ename(e) : "");
	check(t1 - t0 >= 0.5 && t1 - t0 <= 3.0, S("a blocking write() of 1 s of audio is paced by the device (took %.3f s)", t1 - t0),
	      "got %.3f s, expected 0.5 to 3 s (1 s minus the buffer)", t1 - t0);
	step("close() after a blocking write of 1 s (drains)");
	int r = close(fd);
	e = errno;
	double t2 = now();
	check(r == 0, "close() succeeds", "got -1 (%s)", ename(e));
	check(t2 - t0 >= 0.9 && t2 - t0 <= 3.5,
	      S("close() waits until the sound has played (write + close took %.3f s, close %.3f s)", t2 - t0, t2 - t1),
	      "got %.3f s in all, expected 0.9 to 3.5 s", t2 - t0);
}

/* 9. Partial frames are accepted: write() returns its full count. */
static void t_partial_frames(void)
{
	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	set_int(fd, SNDCTL_DSP_SETFMT, AFMT_S16_LE);
	set_int(fd, SNDCTL_DSP_CHANNELS, 2);
	static const char zero[8];
	step("write() of 3 bytes to S16_LE stereo");
	ssize_t a = write(fd, zero, 3);
	int ea = errno;
	step("write() of 5 bytes to S16_LE stereo");
	ssize_t b = write(fd, zero, 5);
	int eb = errno;
	check(a == 3 && b == 5, "S16_LE stereo: write() of 3 bytes then 5 bytes returns 3 and 5 (partial frames accepted)",
	      "got %zd%s%s and %zd%s%s", a, a < 0 ? " " : "", a < 0 ? ename(ea) : "", b, b < 0 ? " " : "", b < 0 ? ename(eb) : "");
	step("close() after 2 frames");
	close(fd);
}

/* 10. Non-blocking writes: take what fits, then EAGAIN. Three ways to ask. */
static void nonblock_case(int fd, const char *how)
{
	static char buf[5 * BPS];
	memset(buf, SIL, sizeof buf);
	audio_buf_info bi;
	int e;
	get_ospace(fd, &bi, &e);
	step("%s: write() of 5 s of audio", how);
	ssize_t n = write(fd, buf, sizeof buf);
	e = errno;
	check(n > 0 && n < (ssize_t)sizeof buf, S("%s: write() of 5 s returns a short count at once", how),
	      "got %zd%s%s, expected 0 < n < %zu", n, n < 0 ? " " : "", n < 0 ? ename(e) : "", sizeof buf);
	step("%s: second write()", how);
	ssize_t m = write(fd, buf, sizeof buf);
	e = errno;
	/* Playback runs on: a period or two may free between the two calls (the
	 * engine can take two at once after a late wakeup). Such a small count is
	 * retried, up to 3 times; a buffer that never says EAGAIN fails. */
	int total = bi.fragstotal * bi.fragsize;
	for (int i = 0; i < 3 && m > 0 && m <= total / 2; i++) {
		note("%s: next write took %zd bytes (freed by playback meanwhile); trying again", how, m);
		m = write(fd, buf, sizeof buf);
		e = errno;
	}
	check(m < 0 && e == EAGAIN, S("%s: the next write() fails with EAGAIN", how), "got %zd%s%s", m, m < 0 ? " " : "",
	      m < 0 ? ename(e) : "");
}

static void t_nonblock(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK);
	if (fd >= 0) {
		nonblock_case(fd, "open(O_NONBLOCK)");
		halt_close(fd);
	}
	fd = open_dsp(O_WRONLY);
	if (fd >= 0) {
		int r = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		check(r == 0, "fcntl(F_SETFL, O_NONBLOCK) succeeds", "got %d (%s)", r, ename(errno));
		nonblock_case(fd, "fcntl(F_SETFL, O_NONBLOCK)");
		halt_close(fd);
	}
	fd = open_dsp(O_WRONLY);
	if (fd >= 0) {
		int r = ioctl(fd, SNDCTL_DSP_NONBLOCK, 0);
		check(r == 0, "SNDCTL_DSP_NONBLOCK succeeds", "got %d (%s)", r, ename(errno));
		nonblock_case(fd, "SNDCTL_DSP_NONBLOCK");
		halt_close(fd);
	}
}

/* 11. poll()/select(): writable while at least one fragment is free. */
static int poll_out(int fd, int ms, short *rev)
{
	struct pollfd p = {fd, POLLOUT, 0};
	int r = poll(&p, 1, ms);
	*rev = p.revents;
	return r;
}

static int select_out(int fd, int ms)
{
	fd_set w;
	FD_ZERO(&w);
	FD_SET(fd, &w);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	int r = select(fd + 1, NULL, &w, NULL, &tv);
	return r > 0 && FD_ISSET(fd, &w) ? 1 : r;
}

static void t_poll(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return;
	short rev;
	step("poll(POLLOUT, 0 ms) on a fresh fd");
	int r = poll_out(fd, 0, &rev);
	check(r == 1 && (rev & POLLOUT), "poll(): a fresh fd is writable at once", "got %d revents %#x", r, rev);
	step("select(writefds, 0 ms) on a fresh fd");
	r = select_out(fd, 0);
	check(r == 1, "select(): a fresh fd is writable at once", "got %d", r);

	/* As for GETOSPACE: playback may free a fragment between the last write
	 * and poll(); up to 3 tries (fill, poll at once). */
	long n;
	int tries = 0;
	for (;;) {
		n = fill_nonblock(fd, SIL);
		step("poll(POLLOUT, 0 ms) on a full buffer");
		r = poll_out(fd, 0, &rev);
		if (r == 0 || ++tries == 3)
			break;
		note("poll() right after filling said %d (revents %#x); filling again", r, rev);
	}
	check(n > 0 && r == 0, "poll(): not writable after non-blocking writes filled the buffer",
	      "got %d revents %#x after %ld bytes, expected 0", r, rev, n);
	step("poll(POLLOUT, 1000 ms) on a full buffer");
	double t0 = now();
	r = poll_out(fd, 1000, &rev);
	double dt = now() - t0;
	check(r == 1 && (rev & POLLOUT), S("poll(1000 ms): writable again once playback frees a fragment (after %.0f ms)", dt * 1000),
	      "got %d revents %#x after %.0f ms", r, rev, dt * 1000);
	step("write() after poll() said writable");
	static char buf[256];
	memset(buf, SIL, sizeof buf);
	ssize_t w = write(fd, buf, sizeof buf);
	check(w > 0, "write() succeeds once poll() reports POLLOUT", "got %zd (%s)", w, w < 0 ? ename(errno) : "");

	tries = 0;
	for (;;) {
		n = fill_nonblock(fd, SIL);
		step("select(writefds, 0 ms) on a full buffer");
		r = select_out(fd, 0);
		if (r == 0 || ++tries == 3)
			break;
		note("select() right after filling said %d; filling again", r);
	}
	check(n >= 0 && r == 0, "select(): not writable after the buffer is filled", "got %d after %ld bytes, expected 0", r, n);
	step("select(writefds, 1000 ms) on a full buffer");
	t0 = now();
	r = select_out(fd, 1000);
	dt = now() - t0;
	check(r == 1, S("select(1000 ms): writable again once playback frees a fragment (after %.0f ms)", dt * 1000),
	      "got %d after %.0f ms", r, dt * 1000);
	halt_close(fd);
}

/* 12. SNDCTL_DSP_GETODELAY: bytes written and not yet heard. */
static void t_getodelay(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e;
	if (fd < 0)
		return;
	int d0 = odelay(fd);
	check(d0 == 0, "SNDCTL_DSP_GETODELAY is 0 on a fresh fd", "got %d", d0);
	audio_buf_info bi;
	get_ospace(fd, &bi, &e);
	int n = bi.bytes < 800 ? bi.bytes : 800; /* up to 100 ms, within the buffer */
	static char buf[800];
	memset(buf, SIL, sizeof buf);
	step("non-blocking write() of %d bytes", n);
	ssize_t w = write(fd, buf, n);
	int d1 = odelay(fd);
	check(w == n && d1 > 0 && d1 <= n + DEVICE_HOLD, S("SNDCTL_DSP_GETODELAY after writing %d bytes: 0 < odelay <= %d + device", n, n),
	      "got write %zd, odelay %d, expected 0 < odelay <= %d", w, d1, n + DEVICE_HOLD);
	double waited;
	int d2 = odelay_drops(fd, d1 - DROP, 500, &waited);
	check(d2 >= 0 && d2 < d1 - DROP, S("SNDCTL_DSP_GETODELAY decreases as the sound plays (%d -> %d after %.0f ms)", d1, d2, waited * 1000),
	      "got %d, still %d after %.0f ms, expected < %d within 500 ms", d1, d2, waited * 1000, d1 - DROP);
	step("SNDCTL_DSP_SYNC");
	int r = ioctl(fd, SNDCTL_DSP_SYNC, 0);
	e = errno;
	int d3 = odelay(fd);
	check(r == 0 && d3 == 0, "SNDCTL_DSP_GETODELAY is 0 after SNDCTL_DSP_SYNC", "got SYNC %s, odelay %d", rv(r, e, 0), d3);
	close(fd);
}

/* 13. SNDCTL_DSP_GETOPTR: bytes played so far. */
static void t_getoptr(void)
{
	int fd = open_dsp(O_WRONLY), e;
	if (fd < 0)
		return;
	count_info ci;
	memset(&ci, 0xff, sizeof ci);
	int r = ioctl(fd, SNDCTL_DSP_GETOPTR, &ci);
	e = errno;
	check(r == 0 && ci.bytes == 0, "SNDCTL_DSP_GETOPTR bytes is 0 on a fresh fd", "got ret %d%s, bytes %d blocks %d ptr %d", r,
	      r < 0 ? ename(e) : "", ci.bytes, ci.blocks, ci.ptr);
	static char buf[BPS / 2];
	memset(buf, SIL, sizeof buf);
	step("blocking write() of 0.5 s");
	ssize_t w = write(fd, buf, sizeof buf);
	step("SNDCTL_DSP_SYNC after 0.5 s");
	ioctl(fd, SNDCTL_DSP_SYNC, 0);
	memset(&ci, 0xff, sizeof ci);
	r = ioctl(fd, SNDCTL_DSP_GETOPTR, &ci);
	e = errno;
	int want = sizeof buf;
	check(r == 0 && w == want && ci.bytes >= want * 95 / 100 && ci.bytes <= want * 105 / 100,
	      "SNDCTL_DSP_GETOPTR after writing 4000 bytes and SYNC: bytes played is 4000 (+-5%)",
	      "got write %zd, ret %d%s, bytes %d", w, r, r < 0 ? ename(e) : "", ci.bytes);
	check(r == 0 && ci.blocks > 0, "SNDCTL_DSP_GETOPTR blocks > 0 after fragments played", "got blocks %d", ci.blocks);
	close(fd);
}

/* 14. SNDCTL_DSP_SYNC returns only once everything written was played. */
static void t_sync(void)
{
	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	step("SNDCTL_DSP_SYNC on a fresh fd");
	double t0 = now();
	int r = ioctl(fd, SNDCTL_DSP_SYNC, 0);
	double dt = now() - t0;
	check(r == 0 && dt < 1.0, "SNDCTL_DSP_SYNC with nothing written returns 0 at once", "got %d (%s) after %.3f s", r,
	      r < 0 ? ename(errno) : "", dt);
	static char buf[BPS / 2];
	memset(buf, SIL, sizeof buf);
	step("write() of 0.5 s");
	t0 = now();
	ssize_t w = write(fd, buf, sizeof buf);
	double t1 = now();
	step("SNDCTL_DSP_SYNC after writing 0.5 s");
	r = ioctl(fd, SNDCTL_DSP_SYNC, 0);
	int e = errno;
	double t2 = now();
	check(w == (ssize_t)sizeof buf && r == 0 && t2 - t0 >= 0.45 && t2 - t0 <= 3.0,
	      S("SNDCTL_DSP_SYNC returns after 0.5 s written has played (write %.3f s + SYNC %.3f s)", t1 - t0, t2 - t1),
	      "got write %zd, SYNC %s, %.3f s in all, expected 0.45 to 3 s", w, rv(r, e, 0), t2 - t0);
	step("close() after SYNC");
	t0 = now();
	close(fd);
	dt = now() - t0;
	check(dt < 0.5, "close() after SNDCTL_DSP_SYNC returns at once (nothing left)", "got %.3f s", dt);
}

/* 15. SNDCTL_DSP_RESET (= HALT) drops what is queued, at once. */
static void t_reset(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e;
	if (fd < 0)
		return;
	long n = fill_nonblock(fd, SIL);
	int d0 = odelay(fd);
	step("SNDCTL_DSP_RESET on a full buffer");
	double t0 = now();
	int r = ioctl(fd, SNDCTL_DSP_RESET, 0);
	e = errno;
	double dt = now() - t0;
	check(n > 0 && r == 0 && dt < 0.5, S("SNDCTL_DSP_RESET on a full buffer returns 0 at once (%.0f ms)", dt * 1000),
	      "got %s after %.3f s, %ld bytes queued", rv(r, e, 0), dt, n);
	int d1 = odelay(fd);
	/* The manual: stop at once. A mixer may have handed up to one device
	 * period to the hardware; allow 25 ms (200 bytes at 8 kHz U8). */
	check(d1 >= 0 && d1 <= BPS / 40, "SNDCTL_DSP_GETODELAY right after RESET is 0 (or <= 25 ms)", "got %d (was %d before RESET)",
	      d1, d0);
	audio_buf_info bi;
	bool ok = get_ospace(fd, &bi, &e);
	check(ok && bi.bytes == bi.fragstotal * bi.fragsize, "SNDCTL_DSP_GETOSPACE right after RESET: the whole buffer is free",
	      "got %s", bistr(&bi));
	static char buf[100];
	memset(buf, SIL, sizeof buf);
	step("write() after RESET");
	ssize_t w = write(fd, buf, sizeof buf);
	check(w == (ssize_t)sizeof buf, "write() after SNDCTL_DSP_RESET is accepted", "got %zd (%s)", w, w < 0 ? ename(errno) : "");
	halt_close(fd);
}

/* 16. SNDCTL_DSP_POST: start a partial fragment now. */
static void t_post(void)
{
	int fd = open_dsp(O_WRONLY), e, dummy = 0;
	if (fd < 0)
		return;
	int r = ioc(fd, SNDCTL_DSP_POST, &dummy, &e);
	check(r == 0, "SNDCTL_DSP_POST on a fresh fd returns 0", "got %s", rv(r, e, 0));
	static char buf[100];
	memset(buf, SIL, sizeof buf);
	step("write() of 100 bytes");
	ssize_t w = write(fd, buf, sizeof buf);
	r = ioc(fd, SNDCTL_DSP_POST, &dummy, &e);
	check(w == 100 && r == 0, "SNDCTL_DSP_POST after a partial fragment returns 0", "got write %zd, POST %s", w, rv(r, e, 0));
	step("close() after POST");
	close(fd);
}

/* 17. SNDCTL_DSP_GETCAPS, and no mmap on CUSE. */
static void t_caps(void)
{
	int fd = open_dsp(O_WRONLY), e, caps = 0;
	if (fd < 0)
		return;
	int r = ioc(fd, SNDCTL_DSP_GETCAPS, &caps, &e);
	note("SNDCTL_DSP_GETCAPS = %#x", caps);
	check(r == 0 && (caps & DSP_CAP_TRIGGER), "SNDCTL_DSP_GETCAPS has DSP_CAP_TRIGGER", "got %s", rv(r, e, caps));
	check(r == 0 && (caps & DSP_CAP_REALTIME), "SNDCTL_DSP_GETCAPS has DSP_CAP_REALTIME", "got %s", rv(r, e, caps));
	check(r == 0 && (caps & DSP_CAP_MULTI), "SNDCTL_DSP_GETCAPS has DSP_CAP_MULTI", "got %s", rv(r, e, caps));
	check(r == 0 && !(caps & DSP_CAP_MMAP), "SNDCTL_DSP_GETCAPS has no DSP_CAP_MMAP (CUSE cannot map)", "got %s",
	      rv(r, e, caps));
	step("mmap(PROT_WRITE) of an O_WRONLY fd");
	void *p = mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, fd, 0);
	e = errno;
	check(p == MAP_FAILED, S("mmap(PROT_WRITE, MAP_SHARED) of an O_WRONLY fd fails (%s)", p == MAP_FAILED ? ename(e) : "mapped"),
	      "got a mapping at %p", p);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
	/* Games map the buffer of an O_RDWR fd (read+write: the kernel's own
	 * permission check passes and the request reaches CUSE, which has no mmap). */
	step("open(O_RDWR) for mmap");
	fd = open(dsp_path, O_RDWR);
	if (fd < 0) {
		skip("mmap(PROT_READ|PROT_WRITE, MAP_SHARED) of an O_RDWR fd fails", "open(O_RDWR) failed (%s)", ename(errno));
		return;
	}
	step("mmap(PROT_READ|PROT_WRITE) of an O_RDWR fd");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	e = errno;
	check(p == MAP_FAILED,
	      S("mmap(PROT_READ|PROT_WRITE, MAP_SHARED) of an O_RDWR fd fails (%s)", p == MAP_FAILED ? ename(e) : "mapped"),
	      "got a mapping at %p", p);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
}

/* 18. SNDCTL_DSP_SETTRIGGER / GETTRIGGER: gate playback. */
static void t_trigger(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e, v;
	if (fd < 0)
		return;
	v = 0;
	int r = ioc(fd, SNDCTL_DSP_SETTRIGGER, &v, &e);
	check(r == 0, "SNDCTL_DSP_SETTRIGGER(0) succeeds", "got %s", rv(r, e, 0));
	v = -1;
	r = ioc(fd, SNDCTL_DSP_GETTRIGGER, &v, &e);
	check(r == 0 && !(v & PCM_ENABLE_OUTPUT), "SNDCTL_DSP_GETTRIGGER after SETTRIGGER(0) lacks PCM_ENABLE_OUTPUT", "got %s",
	      rv(r, e, v));
	long n = fill_nonblock(fd, SIL);
	int d1 = odelay(fd);
	check(n > 0 && d1 > 0, "with the trigger off, non-blocking write()s are queued (GETODELAY > 0)", "got %ld bytes, odelay %d",
	      n, d1);
	msleep(300);
	int d2 = odelay(fd);
	count_info ci;
	memset(&ci, 0xff, sizeof ci);
	ioctl(fd, SNDCTL_DSP_GETOPTR, &ci);
	check(d2 >= d1 && d2 > 0, "with the trigger off nothing plays: SNDCTL_DSP_GETODELAY does not decrease over 300 ms",
	      "got %d then %d", d1, d2);
	check(ci.bytes == 0, "with the trigger off nothing plays: SNDCTL_DSP_GETOPTR bytes stays 0", "got %d", ci.bytes);
	v = PCM_ENABLE_OUTPUT;
	r = ioc(fd, SNDCTL_DSP_SETTRIGGER, &v, &e);
	check(r == 0, "SNDCTL_DSP_SETTRIGGER(PCM_ENABLE_OUTPUT) succeeds", "got %s", rv(r, e, 0));
	v = 0;
	ioc(fd, SNDCTL_DSP_GETTRIGGER, &v, &e);
	check(v & PCM_ENABLE_OUTPUT, "SNDCTL_DSP_GETTRIGGER then has PCM_ENABLE_OUTPUT", "got %#x", v);
	double waited;
	int d3 = odelay_drops(fd, d2 - DROP, 500, &waited);
	check(d3 >= 0 && d3 < d2 - DROP, S("SNDCTL_DSP_SETTRIGGER(PCM_ENABLE_OUTPUT) starts playback (GETODELAY %d -> %d after %.0f ms)", d2, d3, waited * 1000),
	      "got %d, still %d after %.0f ms, expected < %d within 500 ms", d2, d3, waited * 1000, d2 - DROP);
	halt_close(fd);
}

/* 19. Unknown ioctls fail with EINVAL (the manual; the kernel gives no ENOTTY
 * here because the number carries a size CUSE passes on). */
static void t_unknown_ioctl(void)
{
	int fd = open_dsp(O_WRONLY), v = 0, e;
	if (fd < 0)
		return;
	int r = ioc(fd, UNKNOWN_IOCTL, &v, &e);
	check(r == -1 && e == EINVAL, "an unknown ioctl _IOWR('P', 200, int) fails with EINVAL", "got %s", rv(r, e, v));
	int fmt = AFMT_QUERY;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &fmt, &e);
	check(r == 0 && fmt == AFMT_U8, "the fd still works after an unknown ioctl", "got %s", rv(r, e, fmt));
	close(fd);
}

/* 20. OSS 4 identification: OSS_GETVERSION, SNDCTL_SYSINFO, AUDIOINFO, ENGINEINFO. */
static bool cstr_ok(const char *s, size_t n)
{
	return s[0] != 0 && memchr(s, 0, n) != NULL;
}

static void t_info(void)
{
	int fd = open_dsp(O_WRONLY), e, v = 0;
	if (fd < 0)
		return;
	int r = ioc(fd, OSS4_GETVERSION, &v, &e);
	check(r == 0 && v >= 0x040000, "OSS_GETVERSION returns >= 0x040000", "got %s", rv(r, e, v));

	static oss4_sysinfo si;
	memset(&si, 0, sizeof si);
	errno = 0;
	r = ioctl(fd, OSS4_SYSINFO, &si);
	e = errno;
	check(r == 0 && si.numaudios >= 1 && cstr_ok(si.product, sizeof si.product),
	      "SNDCTL_SYSINFO succeeds with numaudios >= 1 and a product name", "got ret %d%s%s, numaudios %d, product \"%.32s\"", r,
	      r < 0 ? " " : "", r < 0 ? ename(e) : "", si.numaudios, si.product);
	if (r == 0)
		note("SYSINFO: product \"%.32s\" version \"%.32s\" versionnum %#x numaudios %d", si.product, si.version,
		     si.versionnum, si.numaudios);

	static oss4_audioinfo ai;
	int devs[2] = {-1, 0};
	for (int i = 0; i < 2; i++) {
		memset(&ai, 0, sizeof ai);
		ai.dev = devs[i];
		errno = 0;
		r = ioctl(fd, OSS4_AUDIOINFO, &ai);
		e = errno;
		check(r == 0 && cstr_ok(ai.name, sizeof ai.name) && cstr_ok(ai.devnode, sizeof ai.devnode),
		      S("SNDCTL_AUDIOINFO(dev %d) succeeds with a name and a devnode", devs[i]),
		      "got ret %d%s%s, name \"%.64s\", devnode \"%.32s\"", r, r < 0 ? " " : "", r < 0 ? ename(e) : "", ai.name,
		      ai.devnode);
		if (r == 0)
			note("AUDIOINFO(%d): dev %d name \"%.64s\" devnode \"%.32s\" caps %#x oformats %#x rates %d..%d", devs[i], ai.dev,
			     ai.name, ai.devnode, ai.caps, ai.oformats, ai.min_rate, ai.max_rate);
	}
	memset(&ai, 0, sizeof ai);
	ai.dev = 0;
	errno = 0;
	r = ioctl(fd, OSS4_ENGINEINFO, &ai);
	e = errno;
	check(r == 0 && cstr_ok(ai.name, sizeof ai.name), "SNDCTL_ENGINEINFO(dev 0) succeeds with a name",
	      "got ret %d%s%s, name \"%.64s\"", r, r < 0 ? " " : "", r < 0 ? ename(e) : "", ai.name);
	close(fd);
}

/* 21. SNDCTL_DSP_GETPLAYVOL / SETPLAYVOL: per-open volume, l | r << 8, 0..100. */
static void t_playvol(void)
{
	int fd = open_dsp(O_WRONLY), e, v = -1;
	if (fd < 0)
		return;
	int r = ioc(fd, OSS4_GETPLAYVOL, &v, &e);
	/* OSS 4 starts at full volume; any valid pair is accepted. */
	check(r == 0 && (v & ~0xffff) == 0 && (v & 0xff) <= 100 && ((v >> 8) & 0xff) <= 100,
	      "SNDCTL_DSP_GETPLAYVOL on a fresh fd is a valid left | right << 8 (each <= 100)", "got %s", rv(r, e, v));
	if (r == 0 && v != (100 | 100 << 8))
		note("fresh GETPLAYVOL is %#x, not 100|100<<8", v);
	v = 50 | 30 << 8;
	r = ioc(fd, OSS4_SETPLAYVOL, &v, &e);
	int g = -1;
	int r2 = ioc(fd, OSS4_GETPLAYVOL, &g, &e);
	check(r == 0 && r2 == 0 && g == (50 | 30 << 8), "SNDCTL_DSP_SETPLAYVOL(50 | 30 << 8) then GETPLAYVOL returns 50 | 30 << 8",
	      "got SET ret %d, GET %s", r, rv(r2, e, g));
	v = 200 | 200 << 8;
	r = ioc(fd, OSS4_SETPLAYVOL, &v, &e);
	g = -1;
	r2 = ioc(fd, OSS4_GETPLAYVOL, &g, &e);
	check(r == 0 && r2 == 0 && (g & 0xff) <= 100 && ((g >> 8) & 0xff) <= 100 && (g & ~0xffff) == 0,
	      "SNDCTL_DSP_SETPLAYVOL(200 | 200 << 8) is clamped to <= 100 each", "got SET ret %d, GET %s", r, rv(r2, e, g));
	close(fd);
}

/* 22. SNDCTL_DSP_GETERROR: counters since the previous call. */
static void t_geterror(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return;
	oss4_audio_errinfo ei;
	memset(&ei, 0xff, sizeof ei);
	int r = ioctl(fd, OSS4_GETERROR, &ei);
	int e = errno;
	check(r == 0 && ei.play_underruns >= 0, "SNDCTL_DSP_GETERROR succeeds (104-byte audio_errinfo)",
	      "got ret %d%s%s, play_underruns %d", r, r < 0 ? " " : "", r < 0 ? ename(e) : "", ei.play_underruns);
	/* Let the stream run dry while triggered: whether a mixing daemon calls this
	 * an underrun is its choice (counted >= 0 here); clearing on read is not. */
	static char buf[200];
	memset(buf, SIL, sizeof buf);
	step("write(), 500 ms pause, write()");
	ssize_t w1 = write(fd, buf, sizeof buf);
	msleep(500);
	ssize_t w2 = write(fd, buf, sizeof buf);
	msleep(300); /* played out and idle: no underrun can fall between the two calls */
	memset(&ei, 0xff, sizeof ei);
	r = ioctl(fd, OSS4_GETERROR, &ei);
	e = errno;
	check(w1 > 0 && w2 > 0 && r == 0 && ei.play_underruns >= 0, "SNDCTL_DSP_GETERROR after the stream ran dry: play_underruns >= 0",
	      "got writes %zd %zd, ret %d%s%s, play_underruns %d", w1, w2, r, r < 0 ? " " : "", r < 0 ? ename(e) : "",
	      ei.play_underruns);
	if (r == 0)
		note("play_underruns after running dry: %d", ei.play_underruns);
	memset(&ei, 0xff, sizeof ei);
	r = ioctl(fd, OSS4_GETERROR, &ei);
	e = errno;
	check(r == 0 && ei.play_underruns == 0, "a second SNDCTL_DSP_GETERROR right after reports 0 underruns (cleared on read)",
	      "got ret %d%s%s, play_underruns %d", r, r < 0 ? " " : "", r < 0 ? ename(e) : "", ei.play_underruns);
	halt_close(fd);
}

/* 23. SNDCTL_DSP_CURRENT_OPTR: frames played, and the FIFO depth. */
static void t_current_optr(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return;
	set_int(fd, SNDCTL_DSP_SETFRAGMENT, 0x0010000A); /* hint: up to 16 KiB, 2 s */
	long n = fill_nonblock(fd, SIL);
	oss4_count_t c0, c1;
	memset(&c0, 0xff, sizeof c0);
	memset(&c1, 0xff, sizeof c1);
	int r0 = ioctl(fd, OSS4_CURRENT_OPTR, &c0);
	int e = errno;
	/* Watch for up to 500 ms (the device's own queue plays first) for a growth
	 * of 10 ms of frames, more than resampler bookkeeping can fake. */
	double t0 = now();
	int r1;
	do {
		msleep(10);
		r1 = ioctl(fd, OSS4_CURRENT_OPTR, &c1);
	} while (r0 == 0 && r1 == 0 && c1.samples < c0.samples + DROP && now() - t0 < 0.5);
	double ms = (now() - t0) * 1000;
	check(r0 == 0 && r1 == 0 && c1.samples >= c0.samples + DROP,
	      S("SNDCTL_DSP_CURRENT_OPTR samples grows while playing (%lld -> %lld after %.0f ms)", c0.samples, c1.samples, ms),
	      "got ret %d%s%s/%d, samples %lld then %lld after %.0f ms", r0, r0 < 0 ? " " : "", r0 < 0 ? ename(e) : "", r1, c0.samples,
	      c1.samples, ms);
	check(r0 == 0 && r1 == 0 && c0.fifo_samples >= 0 && c1.fifo_samples >= 0, "SNDCTL_DSP_CURRENT_OPTR fifo_samples >= 0",
	      "got %d and %d", c0.fifo_samples, c1.fifo_samples);
	step("SNDCTL_DSP_SYNC");
	ioctl(fd, SNDCTL_DSP_SYNC, 0);
	memset(&c1, 0xff, sizeof c1);
	r1 = ioctl(fd, OSS4_CURRENT_OPTR, &c1);
	check(r1 == 0 && c1.samples >= n * 95 / 100 && c1.samples <= n * 105 / 100,
	      S("SNDCTL_DSP_CURRENT_OPTR after SYNC: samples = frames written (%ld, +-5%%)", n), "got ret %d, samples %lld", r1,
	      c1.samples);
	close(fd);
}

/* 24. The other OSS 4 calls current programs make. */
static void t_oss4_misc(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e, v;
	if (fd < 0)
		return;
	unsigned long long order = 0;
	errno = 0;
	int r = ioctl(fd, OSS4_GET_CHNORDER, &order);
	e = errno;
	check(r == 0, S("SNDCTL_DSP_GET_CHNORDER succeeds (%#llx)", order), "got ret %d (%s)", r, ename(e));
	v = 1;
	r = ioc(fd, OSS4_COOKEDMODE, &v, &e);
	check(r == 0, "SNDCTL_DSP_COOKEDMODE(1) succeeds", "got %s", rv(r, e, v));
	v = 256;
	r = ioc(fd, OSS4_LOW_WATER, &v, &e);
	check(r == 0, "SNDCTL_DSP_LOW_WATER(256) succeeds", "got %s", rv(r, e, v));
	fill_nonblock(fd, SIL);
	r = ioc(fd, OSS4_SILENCE, &v, &e);
	check(r == 0, "SNDCTL_DSP_SILENCE succeeds while playing", "got %s", rv(r, e, 0));
	r = ioc(fd, OSS4_SKIP, &v, &e);
	check(r == 0, "SNDCTL_DSP_SKIP succeeds while playing", "got %s", rv(r, e, 0));
	step("SNDCTL_DSP_HALT_OUTPUT");
	r = ioc(fd, OSS4_HALT_OUTPUT, &v, &e);
	int d = odelay(fd);
	check(r == 0, "SNDCTL_DSP_HALT_OUTPUT succeeds", "got %s", rv(r, e, 0));
	check(r == 0 && d >= 0 && d <= BPS / 40, "SNDCTL_DSP_GETODELAY after HALT_OUTPUT is 0 (or <= 25 ms)",
	      "got HALT_OUTPUT %s, odelay %d", rv(r, e, 0), d);
	close(fd);
}

/* 25. Opens for reading. A device whose GETCAPS advertises recording
 * (DSP_CAP_INPUT for O_RDONLY, DSP_CAP_DUPLEX for O_RDWR) must accept them and
 * deliver data; one that does not (recording not built, or ossd run with
 * --capture-device none) may refuse: that is a SKIP line. Either way a hang
 * (the group's alarm) is a failure, and the daemon must go on serving. */
static void read_open_case(int acc, const char *name, bool advertised, const char *cap)
{
	step("open(%s)", name);
	int fd = open(dsp_path, acc);
	if (fd < 0) {
		if (advertised)
			check(false, S("open(%s) succeeds (GETCAPS has %s)", name, cap), "got -1 (%s)", ename(errno));
		else
			skip(S("open(%s) answers without hanging", name), "no %s in GETCAPS: open failed with %s", cap,
			     ename(errno));
		return;
	}
	static char buf[80];
	if (acc == O_RDWR) { /* full duplex; some legacy players open O_RDWR just to play */
		memset(buf, SIL, sizeof buf);
		step("write() to an O_RDWR fd");
		ssize_t w = write(fd, buf, sizeof buf);
		int e = errno;
		if (advertised)
			check(w == (ssize_t)sizeof buf, "write() of 80 bytes to an O_RDWR fd returns 80", "got %zd%s%s", w,
			      w < 0 ? " " : "", w < 0 ? ename(e) : "");
		else
			note("O_RDWR fd: write() of 80 bytes returned %zd%s%s", w, w < 0 ? " " : "", w < 0 ? ename(e) : "");
		ioctl(fd, SNDCTL_DSP_RESET, 0);
	}
	step("read() of 80 bytes from an %s fd", name);
	ssize_t n = read(fd, buf, sizeof buf);
	int e = errno;
	if (n > 0 || advertised)
		check(n > 0, S("open(%s) and a blocking read() return data", name), "got read() %zd%s%s", n, n < 0 ? " " : "",
		      n < 0 ? ename(e) : "");
	else
		skip(S("open(%s) succeeds and read() answers without hanging", name), "no %s in GETCAPS: read() returned %zd (%s)",
		     cap, n, n < 0 ? ename(e) : "EOF");
	step("close() of an %s fd", name);
	close(fd);
}

static void t_read_open(void)
{
	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	int caps = 0, e;
	ioc(fd, SNDCTL_DSP_GETCAPS, &caps, &e);
	close(fd);
	read_open_case(O_RDONLY, "O_RDONLY", caps & OSS4_DSP_CAP_INPUT, "DSP_CAP_INPUT");
	read_open_case(O_RDWR, "O_RDWR", caps & DSP_CAP_DUPLEX, "DSP_CAP_DUPLEX");
	fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	int v = AFMT_QUERY;
	int r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0, "the daemon still serves O_WRONLY opens after reading opens", "got %s", rv(r, e, v));
	close(fd);
}

/* 26. Eight programs playing at once are mixed, in real time. */
static void t_concurrent(void)
{
	enum { N = 8 };
	pid_t pids[N];
	step("8 processes each playing 1 s (blocking write + close)");
	double t0 = now();
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			alarm(TIMEOUT);
			static char buf[BPS];
			memset(buf, SIL, sizeof buf);
			int fd = open(dsp_path, O_WRONLY);
			if (fd < 0)
				_exit(10 + (errno & 0x3f));
			if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
				_exit(2);
			_exit(close(fd) == 0 ? 0 : 3);
		}
	}
	int good = 0, bad_status = 0;
	for (int i = 0; i < N; i++) {
		int st;
		if (pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			good++;
		else if (pids[i] > 0)
			bad_status = st;
	}
	double dt = now() - t0;
	check(good == N, "8 processes playing 1 s each at once all succeed (open, write, close)",
	      "got %d of 8; a failure's wait status %#x (exit 1x: open errno x, 2: short write, 3: close)", good, bad_status);
	check(dt >= 0.9 && dt <= 2.5, S("8 concurrent 1 s streams finish in real time (%.3f s)", dt), "got %.3f s, expected 0.9 to 2.5 s",
	      dt);
}

/* 27. A client killed in the middle of a write does no harm. */
static void t_killed_client(void)
{
	step("fork a writer of 5 s");
	pid_t pid = fork();
	if (pid == 0) {
		static char buf[5 * BPS];
		memset(buf, SIL, sizeof buf);
		int fd = open(dsp_path, O_WRONLY);
		if (fd >= 0)
			(void)!write(fd, buf, sizeof buf);
		_exit(0);
	}
	msleep(200);
	step("kill -9 a client blocked in write(), then reap it");
	double t0 = now();
	kill(pid, SIGKILL);
	int st = 0;
	waitpid(pid, &st, 0);
	double dt = now() - t0;
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && dt < 2.0,
	      S("a client blocked in write() dies at once on SIGKILL (%.3f s)", dt), "got wait status %#x after %.3f s", st, dt);

	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	static char buf[BPS * 3 / 10];
	memset(buf, SIL, sizeof buf);
	step("write() of 0.3 s and close() after a killed client");
	t0 = now();
	ssize_t w = write(fd, buf, sizeof buf);
	int r = close(fd);
	dt = now() - t0;
	check(w == (ssize_t)sizeof buf && r == 0 && dt >= 0.25 && dt <= 2.0,
	      S("after a killed client, a new fd plays 0.3 s and closes normally (%.3f s)", dt),
	      "got write %zd, close %d, %.3f s, expected 0.25 to 2 s", w, r, dt);
	fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	int v = AFMT_QUERY, e;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0 && v == AFMT_U8, "the daemon is still alive (a new open answers SNDCTL_DSP_SETFMT)", "got %s", rv(r, e, v));
	close(fd);
}

/* ------------------------------------------------------------------ main */

static const struct {
	const char *title;
	void (*fn)(void);
} groups[] = {
	{"open: many at once", t_open},
	{"fresh-open defaults", t_defaults},
	{"SETFMT/GETFMTS", t_formats},
	{"CHANNELS/STEREO", t_channels},
	{"SPEED", t_speed},
	{"SETFRAGMENT/GETBLKSIZE", t_setfragment},
	{"GETOSPACE", t_getospace},
	{"blocking write and draining close", t_blocking_write},
	{"partial frames", t_partial_frames},
	{"non-blocking writes", t_nonblock},
	{"poll/select", t_poll},
	{"GETODELAY", t_getodelay},
	{"GETOPTR", t_getoptr},
	{"SYNC", t_sync},
	{"RESET", t_reset},
	{"POST", t_post},
	{"GETCAPS and mmap", t_caps},
	{"SETTRIGGER/GETTRIGGER", t_trigger},
	{"unknown ioctl", t_unknown_ioctl},
	{"OSS 4 version and info", t_info},
	{"GETPLAYVOL/SETPLAYVOL", t_playvol},
	{"GETERROR", t_geterror},
	{"CURRENT_OPTR", t_current_optr},
	{"other OSS 4 calls", t_oss4_misc},
	{"reading opens", t_read_open},
	{"8 concurrent players", t_concurrent},
	{"killed client", t_killed_client},
};

/* Runs one group in a child (own process group) with alarm(TIMEOUT). A child
 * killed by the alarm or by a crash is one failed check naming its step; one
 * that does not die (stuck in an uninterruptible wait) is abandoned. */
static void run_group(int idx)
{
	snprintf(sh->step, sizeof sh->step, "(start)");
	printf("# %d. %s\n", idx + 1, groups[idx].title);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		setpgid(0, 0);
		alarm(TIMEOUT);
		groups[idx].fn();
		fflush(stdout);
		_exit(0);
	}
	setpgid(pid, pid);
	double deadline = now() + TIMEOUT + 5;
	int st = 0;
	pid_t w;
	bool killed = false;
	while ((w = waitpid(pid, &st, WNOHANG)) == 0) {
		if (now() > deadline) {
			if (killed)
				break;
			kill(-pid, SIGKILL);
			killed = true;
			deadline = now() + 5;
		}
		msleep(20);
	}
	kill(-pid, SIGKILL); /* leftovers of the group (its forked players) */
	const char *title = groups[idx].title;
	if (w == 0)
		check(false, S("%s: %s", title, sh->step), "hung: no answer within %d s, and the process cannot be killed", TIMEOUT);
	else if (WIFSIGNALED(st) && (WTERMSIG(st) == SIGALRM || killed))
		check(false, S("%s: %s", title, sh->step), "hung: no answer within %d s", TIMEOUT);
	else if (WIFSIGNALED(st))
		check(false, S("%s: %s", title, sh->step), "the test process died of signal %d", WTERMSIG(st));
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		check(false, S("%s: %s", title, sh->step), "the test process exited with %d", WEXITSTATUS(st));
}

int main(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [/dev/dsp]\n", argv[0]);
		return 2;
	}
	if (argc == 2)
		dsp_path = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	memset(sh, 0, sizeof *sh);
	signal(SIGPIPE, SIG_IGN);
	printf("# oss_conformance: %s\n", dsp_path);
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		run_group((int)i);
	printf("oss_conformance: %d passed, %d failed\n", sh->passed, sh->failed);
	return sh->failed ? 1 : 0;
}
