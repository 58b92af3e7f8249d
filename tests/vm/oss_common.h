/*
 * oss_common.h: what the small OSS test clients in tests/vm/ share: failing
 * with one line, a clock, format names, reading a file whole, and setting up
 * a /dev/dsp fd (each setting checked as taken).
 *
 * Include after defining PROG (the program's name, for error lines). Header
 * only: each client is still built from its one .c file.
 */
#ifndef OSS_COMMON_H
#define OSS_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/soundcard.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef PROG
#error "define PROG before including oss_common.h"
#endif

/* OSS 4 values Linux's soundcard.h lacks. */
#ifndef AFMT_S32_LE
#define AFMT_S32_LE 0x00001000
#endif
#ifndef AFMT_S32_BE
#define AFMT_S32_BE 0x00002000
#endif

/* "PROG: WHAT: WHY" on stderr, exit status 1. */
static __attribute__((noreturn, unused)) void die(const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
	exit(1);
}

static __attribute__((unused)) double now_ms(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The AFMT_ value of a format name (U8, S16_LE, MU_LAW, ...); dies on others. */
static __attribute__((unused)) int afmt_by_name(const char *name)
{
	static const struct {
		const char *name;
		int afmt;
	} formats[] = {
		{"U8", AFMT_U8},         {"S8", AFMT_S8},         {"S16_LE", AFMT_S16_LE},
		{"S16_BE", AFMT_S16_BE}, {"U16_LE", AFMT_U16_LE}, {"U16_BE", AFMT_U16_BE},
		{"S32_LE", AFMT_S32_LE}, {"S32_BE", AFMT_S32_BE}, {"MU_LAW", AFMT_MU_LAW},
		{"A_LAW", AFMT_A_LAW},
	};
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (strcasecmp(name, formats[i].name) == 0)
			return formats[i].afmt;
	die(name, "unknown format");
}

/* The whole file at PATH, its length in *len. */
static __attribute__((unused)) char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die(path, strerror(errno));
	char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	size_t have = 0;
	while (have < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + have, st.st_size - have);
		if (r <= 0)
			die(path, r < 0 ? strerror(errno) : "short read");
		have += (size_t)r;
	}
	close(fd);
	*len = have;
	return buf;
}

/* An int ioctl: sets WANT and dies unless the device took it exactly, or
 * (WANT == 0) queries. Returns the value in effect. */
static __attribute__((unused)) int oss_call(int fd, unsigned long req, const char *name, int want)
{
	int v = want;
	if (ioctl(fd, req, &v) < 0)
		die(name, strerror(errno));
	if (want != 0 && v != want) {
		char msg[80];
		snprintf(msg, sizeof msg, "asked for %d (%#x), device took %d (%#x)", want, want, v, v);
		die(name, msg);
	}
	return v;
}

/* Format, channels, rate, in the order the OSS manual asks for, each checked. */
static __attribute__((unused)) void oss_setup(int fd, int afmt, int rate, int channels)
{
	oss_call(fd, SNDCTL_DSP_SETFMT, "SNDCTL_DSP_SETFMT", afmt);
	oss_call(fd, SNDCTL_DSP_CHANNELS, "SNDCTL_DSP_CHANNELS", channels);
	oss_call(fd, SNDCTL_DSP_SPEED, "SNDCTL_DSP_SPEED", rate);
}

/* Command lines of the form `PROG [-d DSP] OPERAND...`: returns DSP
 * (default /dev/dsp) and leaves optind at the first of exactly NARGS
 * operands; prints "usage: USAGE" and exits 1 otherwise. */
static __attribute__((unused)) const char *dsp_option(int argc, char **argv, int nargs, const char *usage)
{
	const char *dsp = "/dev/dsp";
	int opt;
	while ((opt = getopt(argc, argv, "d:")) != -1) {
		if (opt != 'd')
			break;
		dsp = optarg;
	}
	if (opt != -1 || argc - optind != nargs) {
		fprintf(stderr, "usage: %s\n", usage);
		exit(1);
	}
	return dsp;
}

/* Opens DSP with MODE (O_WRONLY, O_RDONLY, O_RDWR). */
static __attribute__((unused)) int oss_open(const char *dsp, int mode)
{
	int fd = open(dsp, mode);
	if (fd < 0)
		die(dsp, strerror(errno));
	return fd;
}

#endif
