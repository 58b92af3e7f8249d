/*
 * oss_conformance.h: what the files of oss_conformance share: the OSS 4 numbers
 * and structs <sys/soundcard.h> lacks (checked at compile time against the values
 * pinned in src/oss/soundcard.rs), the harness (harness.c: one line per check,
 * the group's step named if it hangs) and the device helpers, and the groups of
 * checks, one function each, in the files named for their family.
 */
#ifndef OSS_CONFORMANCE_H
#define OSS_CONFORMANCE_H

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
#include "../oss4_audioinfo.h"

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


_Static_assert(sizeof(oss4_audio_errinfo) == 104, "audio_errinfo is 104 bytes");
#if defined(__i386__)
/* long long aligns to 4 in i386 structs: no tail padding, another ioctl number. */
_Static_assert(sizeof(oss4_count_t) == 140, "oss_count_t is 140 bytes on i386");
#else
_Static_assert(sizeof(oss4_count_t) == 144, "oss_count_t is 144 bytes");
#endif
_Static_assert(sizeof(oss4_sysinfo) == 1248, "oss_sysinfo is 1248 bytes");

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

/* ---------------------------------------------------------- harness.c */

#ifndef TIMEOUT
#define TIMEOUT 20 /* seconds per group of checks */
#endif

struct shared {
	int num, passed, failed;
	char step[256]; /* what the current group is doing (named if it hangs) */
};
/* In memory shared with the groups' processes. */
extern struct shared *sh;
extern const char *dsp_path;

/* One check: `desc` says what OSS requires; `fmt` (only printed on failure)
 * says "got X, expected Y". Returns `ok`. */
__attribute__((format(printf, 3, 4))) bool check(bool ok, const char *desc, const char *fmt, ...);
/* A passing line for something not built yet: "ok N - desc # SKIP why". */
__attribute__((format(printf, 2, 3))) void skip(const char *desc, const char *fmt, ...);
/* A "#   ..." diagnostic line. */
__attribute__((format(printf, 1, 2))) void note(const char *fmt, ...);
/* Names what the group is about to do: the failure line if it hangs there. */
__attribute__((format(printf, 1, 2))) void step(const char *fmt, ...);
/* A formatted description (a few rotating buffers, for check()'s desc). */
__attribute__((format(printf, 1, 2))) const char *S(const char *fmt, ...);
const char *ename(int e);
double now(void);
void msleep(int ms);
/* "ret 0, value 16" or "ret -1 (EINVAL)". */
const char *rv(int r, int e, long long v);
/* ioctl with an int argument: returns the ioctl's result, *err its errno. */
int ioc(int fd, unsigned long req, int *v, int *err);
/* Opens the device; a failure is a failed check (the group then stops). */
int open_dsp(int flags);
/* Ends a stream without waiting for it to play out. */
void halt_close(int fd);
bool set_int(int fd, unsigned long req, int v);
/* Writes `byte` to a non-blocking fd until it answers EAGAIN; returns the bytes
 * taken (-1 on another error, errno set). */
long fill_nonblock(int fd, int byte);
bool get_ospace(int fd, audio_buf_info *bi, int *err);
const char *bistr(const audio_buf_info *bi);
int odelay(int fd);
/* Polls GETODELAY every 10 ms for up to `ms` until it is below `below`. */
int odelay_drops(int fd, int below, int ms, double *waited);

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

/* ------------------------------------------------- the groups, by family */

/* formats.c: opening, the fresh-open defaults, format, channels, rate, the
 * fragment geometry and GETOSPACE. */
void t_open(void);
void t_defaults(void);
void t_formats(void);
void t_channels(void);
void t_speed(void);
void t_setfragment(void);
void t_getospace(void);
/* writing.c: writes (blocking, partial frames, non-blocking), poll/select, the
 * play pointer and delay, SYNC, RESET, POST. */
void t_blocking_write(void);
void t_partial_frames(void);
void t_nonblock(void);
void t_poll(void);
void t_getodelay(void);
void t_getoptr(void);
void t_sync(void);
void t_reset(void);
void t_post(void);
/* oss4.c: GETCAPS (no mmap), triggers, an unknown ioctl, and the OSS 4 calls. */
void t_caps(void);
void t_trigger(void);
void t_unknown_ioctl(void);
void t_info(void);
void t_playvol(void);
void t_geterror(void);
void t_current_optr(void);
void t_oss4_misc(void);
/* clients.c: opens for reading, eight players at once, a killed client. */
void t_read_open(void);
void t_concurrent(void);
void t_killed_client(void);

#endif
