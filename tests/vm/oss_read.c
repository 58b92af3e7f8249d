/*
 * oss_read: record from /dev/dsp the way an OSS program does, for scripts/vm-suite.
 *
 *   gcc -O2 -Wall -Wextra -o target/vm-suite/bin/oss_read tests/vm/oss_read.c
 *   oss_read [-d DSP] OUT.raw FORMAT RATE CHANNELS SECONDS
 *
 * Opens DSP (default /dev/dsp) O_RDONLY. FORMAT U8, S16_LE or S32_LE: sets
 * SNDCTL_DSP_SETFMT, SNDCTL_DSP_CHANNELS and SNDCTL_DSP_SPEED in that order and
 * fails unless each was taken. FORMAT "default": sets nothing, and fails unless
 * the fresh open is what OSS promises (AFMT_U8, 1 channel, 8000 Hz; RATE and
 * CHANNELS must then say 8000 and 1). Then reads SECONDS of audio in blocking
 * reads of one fragment (SNDCTL_DSP_GETBLKSIZE) into OUT.raw, and prints how long
 * the reads took (a device that records in real time needs about SECONDS).
 * Exit status 0 on success, 1 with one "oss_read: ..." line on stderr on error.
 */
#define _GNU_SOURCE
#define PROG "oss_read"
#include "oss_common.h"

int main(int argc, char **argv)
{
	const char *dsp = dsp_option(argc, argv, 5, "oss_read [-d DSP] OUT.raw U8|S16_LE|S32_LE|default RATE CHANNELS SECONDS");
	const char *out = argv[optind], *fmtname = argv[optind + 1];
	int rate = atoi(argv[optind + 2]), channels = atoi(argv[optind + 3]);
	double seconds = atof(argv[optind + 4]);
	int afmt, width;
	if (strcmp(fmtname, "default") == 0 || strcasecmp(fmtname, "U8") == 0)
		afmt = AFMT_U8, width = 1;
	else if (strcasecmp(fmtname, "S16_LE") == 0)
		afmt = AFMT_S16_LE, width = 2;
	else if (strcasecmp(fmtname, "S32_LE") == 0)
		afmt = AFMT_S32_LE, width = 4;
	else
		die(fmtname, "unknown format");

	int fd = oss_open(dsp, O_RDONLY);
	if (strcmp(fmtname, "default") == 0) {
		int f = oss_call(fd, SNDCTL_DSP_SETFMT, "SNDCTL_DSP_SETFMT(AFMT_QUERY)", AFMT_QUERY);
		int c = oss_call(fd, SNDCTL_DSP_CHANNELS, "SNDCTL_DSP_CHANNELS(0)", 0);
		int r = oss_call(fd, SNDCTL_DSP_SPEED, "SNDCTL_DSP_SPEED(0)", 0);
		printf("fresh open: format %#x, %d channels, %d Hz\n", f, c, r);
		if (f != AFMT_U8 || c != 1 || r != 8000)
			die("fresh open", "not AFMT_U8 (0x8), 1 channel, 8000 Hz");
		if (rate != 8000 || channels != 1)
			die("arguments", "\"default\" records U8 1 channel 8000 Hz");
	} else {
		oss_setup(fd, afmt, rate, channels);
	}
	int blk = oss_call(fd, SNDCTL_DSP_GETBLKSIZE, "SNDCTL_DSP_GETBLKSIZE", 0);
	if (blk <= 0)
		blk = 4096;
	size_t frame = (size_t)width * channels;
	size_t total = (size_t)(seconds * rate + 0.5) * frame;
	char *buf = malloc(total);
	double t0 = now_ms(CLOCK_MONOTONIC), t_first = 0;
	size_t have = 0;
	int reads = 0;
	while (have < total) {
		size_t n = total - have < (size_t)blk ? total - have : (size_t)blk;
		ssize_t r = read(fd, buf + have, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read", strerror(errno));
		if (r == 0)
			die("read", "returned 0 (EOF)");
		if (reads++ == 0)
			t_first = now_ms(CLOCK_MONOTONIC) - t0;
		have += (size_t)r;
	}
	double t1 = now_ms(CLOCK_MONOTONIC);
	close(fd);
	FILE *f = fopen(out, "wb");
	if (!f || fwrite(buf, 1, total, f) != total || fclose(f) != 0)
		die(out, strerror(errno));
	printf("oss_read: %zu bytes (%s %d ch %d Hz, %.3f s) in %d reads of up to %d B: %.0f ms (first read %.0f ms)\n",
	       total, fmtname, channels, rate, seconds, reads, blk, t1 - t0, t_first);
	return 0;
}
