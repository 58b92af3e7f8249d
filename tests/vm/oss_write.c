/*
 * oss_write: play a raw file to /dev/dsp the careful way, for scripts/vm-suite.
 *
 *   gcc -O2 -Wall -Wextra -o target/vm-suite/bin/oss_write tests/vm/oss_write.c
 *   oss_write [-d DSP] [-n] [-1] [-p FILE2] FILE FORMAT RATE CHANNELS
 *
 * Opens DSP (default /dev/dsp) O_WRONLY, sets SNDCTL_DSP_SETFMT, SNDCTL_DSP_CHANNELS
 * and SNDCTL_DSP_SPEED in that order and fails unless each was taken as asked,
 * writes FILE in blocking writes of one fragment (GETOSPACE fragsize), then
 * SNDCTL_DSP_SYNC and close(). FORMAT: U8, S8, S16_LE, S16_BE, S32_LE, S32_BE.
 *
 *   -n        no SYNC: close() right after the last write (close must drain)
 *   -1        the whole file in ONE write() call (a write that parks for as long
 *             as the file lasts); prints "write returned N (ERRNO) at EPOCH_MS"
 *             with the CLOCK_REALTIME time it returned, and exits 0 even if the
 *             write failed (the caller judges the result)
 *   -b        a ring big enough for the whole file (SETFRAGMENT): the writes return
 *             at once, and a close without SYNC (-n) has all of it to drain
 *   -v        after the SYNC, one more line: the underruns GETERROR counted and the
 *             buffer GETOSPACE shows (ossd may have grown it)
 *   -p FILE2  a second fd with the same settings plays FILE2 in step with FILE:
 *             both fds get a ring big enough for their file (SETFRAGMENT), both
 *             triggers go off (SETTRIGGER 0), both files are written, and then
 *             both triggers go on back to back, so both streams start in the
 *             same engine period; then SYNC both and close both
 *
 * Prints one line of timings (ms): open, setup, writes, sync, close. Exit status
 * 0 on success, 1 with one "oss_write: ..." line on stderr on any error.
 */
#define _GNU_SOURCE
#define PROG "oss_write"
#include "oss_common.h"

static int open_set(const char *dsp, int afmt, int rate, int channels)
{
	int fd = oss_open(dsp, O_WRONLY);
	oss_setup(fd, afmt, rate, channels);
	return fd;
}

static void write_all(int fd, const char *buf, size_t len, size_t chunk)
{
	for (size_t off = 0; off < len;) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t w = write(fd, buf + off, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("write", strerror(errno));
		if (w == 0)
			die("write", "returned 0");
		off += (size_t)w;
	}
}

/* A ring of at least `bytes` (so the whole file queues with the trigger off). */
static void ring_for(int fd, size_t bytes)
{
	int shift = 14; /* 16 KiB fragments */
	int count = (int)((bytes + (1u << shift) - 1) >> shift) + 2;
	int v = (count << 16) | shift;
	if (ioctl(fd, SNDCTL_DSP_SETFRAGMENT, &v) < 0)
		die("SNDCTL_DSP_SETFRAGMENT", strerror(errno));
	audio_buf_info bi;
	if (ioctl(fd, SNDCTL_DSP_GETOSPACE, &bi) < 0)
		die("SNDCTL_DSP_GETOSPACE", strerror(errno));
	if ((size_t)bi.bytes < bytes) {
		char msg[120];
		snprintf(msg, sizeof msg, "ring has %d bytes free (%d x %d) after SETFRAGMENT %#x; the file needs %zu",
			 bi.bytes, bi.fragstotal, bi.fragsize, (count << 16) | shift, bytes);
		die("SNDCTL_DSP_GETOSPACE", msg);
	}
}

int main(int argc, char **argv)
{
	const char *dsp = "/dev/dsp", *file2 = NULL;
	int no_sync = 0, one_write = 0, verbose = 0, big = 0, opt;
	while ((opt = getopt(argc, argv, "d:n1vbp:")) != -1) {
		switch (opt) {
		case 'd': dsp = optarg; break;
		case 'n': no_sync = 1; break;
		case '1': one_write = 1; break;
		case 'v': verbose = 1; break;
		case 'b': big = 1; break;
		case 'p': file2 = optarg; break;
		default: goto usage;
		}
	}
	if (argc - optind != 4) {
	usage:
		fprintf(stderr, "usage: oss_write [-d DSP] [-n] [-1] [-v] [-b] [-p FILE2] FILE FORMAT RATE CHANNELS\n");
		return 1;
	}
	const char *file = argv[optind];
	int afmt = afmt_by_name(argv[optind + 1]);
	int rate = atoi(argv[optind + 2]), channels = atoi(argv[optind + 3]);
	size_t len, len2 = 0;
	char *buf = slurp(file, &len), *buf2 = file2 ? slurp(file2, &len2) : NULL;

	double t0 = now_ms(CLOCK_MONOTONIC);
	int fd = open_set(dsp, afmt, rate, channels);
	double t1 = now_ms(CLOCK_MONOTONIC);
	int fd2 = -1;
	if (file2) {
		fd2 = open_set(dsp, afmt, rate, channels);
		ring_for(fd, len);
		ring_for(fd2, len2);
		int off = 0;
		if (ioctl(fd, SNDCTL_DSP_SETTRIGGER, &off) < 0 || ioctl(fd2, SNDCTL_DSP_SETTRIGGER, &off) < 0)
			die("SNDCTL_DSP_SETTRIGGER(0)", strerror(errno));
	}
	if (big && !file2)
		ring_for(fd, len);
	audio_buf_info bi;
	if (ioctl(fd, SNDCTL_DSP_GETOSPACE, &bi) < 0)
		die("SNDCTL_DSP_GETOSPACE", strerror(errno));
	size_t chunk = bi.fragsize > 0 ? (size_t)bi.fragsize : 4096;
	int start_frags = bi.fragstotal;
	double t2 = now_ms(CLOCK_MONOTONIC);

	if (one_write) {
		ssize_t w = write(fd, buf, len);
		int e = errno;
		double at = now_ms(CLOCK_REALTIME);
		printf("write returned %zd (%s) at %.0f; asked %zu; it took %.0f ms\n", w, w < 0 ? strerrorname_np(e) : "no error",
		       at, len, now_ms(CLOCK_MONOTONIC) - t2);
		fflush(stdout);
		int r = close(fd);
		e = errno;
		printf("close returned %d (%s) after %.0f ms more\n", r, r < 0 ? strerrorname_np(e) : "no error",
		       now_ms(CLOCK_REALTIME) - at);
		return 0;
	}
	write_all(fd, buf, len, chunk);
	if (file2) {
		write_all(fd2, buf2, len2, len2);
		int on = PCM_ENABLE_OUTPUT;
		if (ioctl(fd, SNDCTL_DSP_SETTRIGGER, &on) < 0 || ioctl(fd2, SNDCTL_DSP_SETTRIGGER, &on) < 0)
			die("SNDCTL_DSP_SETTRIGGER(PCM_ENABLE_OUTPUT)", strerror(errno));
	}
	double t3 = now_ms(CLOCK_MONOTONIC);
	if (!no_sync) {
		if (ioctl(fd, SNDCTL_DSP_SYNC, 0) < 0)
			die("SNDCTL_DSP_SYNC", strerror(errno));
		if (fd2 >= 0 && ioctl(fd2, SNDCTL_DSP_SYNC, 0) < 0)
			die("SNDCTL_DSP_SYNC (second fd)", strerror(errno));
	}
	double t4 = now_ms(CLOCK_MONOTONIC);
	if (verbose) {
		/* OSS 4's audio_errinfo is 104 bytes; play_underruns comes first. */
		int ei[26];
		if (ioctl(fd, _IOR('P', 25, int[26]), ei) < 0)
			die("SNDCTL_DSP_GETERROR", strerror(errno));
		if (ioctl(fd, SNDCTL_DSP_GETOSPACE, &bi) < 0)
			die("SNDCTL_DSP_GETOSPACE", strerror(errno));
		printf("oss_write: %d underruns; buffer of %d fragments of %d B at the end (%d at the start)\n",
		       ei[0], bi.fragstotal, bi.fragsize, start_frags);
	}
	if (close(fd) < 0)
		die("close", strerror(errno));
	if (fd2 >= 0 && close(fd2) < 0)
		die("close (second fd)", strerror(errno));
	double t5 = now_ms(CLOCK_MONOTONIC);
	printf("oss_write: %zu bytes%s%s: open %.0f ms, setup %.0f ms, writes %.0f ms, sync %.0f ms, close %.0f ms\n",
	       len + len2, file2 ? " on two fds" : "", no_sync ? " (no SYNC)" : "", t1 - t0, t2 - t1, t3 - t2,
	       t4 - t3, t5 - t4);
	return 0;
}
