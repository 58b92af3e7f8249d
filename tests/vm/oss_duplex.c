/*
 * oss_duplex: full duplex on ONE file descriptor, for scripts/vm-suite.
 *
 *   gcc -O2 -Wall -Wextra -pthread -o target/vm-suite/bin/oss_duplex tests/vm/oss_duplex.c
 *   oss_duplex [-d DSP] PLAY.raw REC.raw SECONDS
 *
 * Opens DSP (default /dev/dsp) O_RDWR, and fails unless SNDCTL_DSP_GETCAPS has
 * DSP_CAP_DUPLEX and SNDCTL_DSP_SETDUPLEX answers 0. Sets S16_LE, 2 channels,
 * 48000 Hz (each must be taken). Then, at the same time on the same fd, one
 * thread writes PLAY.raw (blocking writes of one fragment, then SNDCTL_DSP_SYNC)
 * and another reads SECONDS of audio (blocking reads of one fragment) into
 * REC.raw. Prints the caps and how long each side took. Exit status 0 on
 * success, 1 with one "oss_duplex: ..." line on stderr on any error.
 */
#define _GNU_SOURCE
#define PROG "oss_duplex"
#include <pthread.h>

#include "oss_common.h"

#define RATE 48000
#define CHANNELS 2
#define FRAME 4

static int fd;
static const char *play_path;
static char *play_buf, *rec_buf;
static size_t play_len, rec_len;
static int blk;
static double t0, t_write_done, t_sync_done, t_read_done;
static const char *write_err, *read_err;
static int write_errno, read_errno;

static void *writer(void *arg)
{
	(void)arg;
	for (size_t off = 0; off < play_len;) {
		size_t n = play_len - off < (size_t)blk ? play_len - off : (size_t)blk;
		ssize_t w = write(fd, play_buf + off, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			write_err = "write", write_errno = w < 0 ? errno : EIO;
			return NULL;
		}
		off += (size_t)w;
	}
	t_write_done = now_ms(CLOCK_MONOTONIC);
	if (ioctl(fd, SNDCTL_DSP_SYNC, 0) < 0) {
		write_err = "SNDCTL_DSP_SYNC", write_errno = errno;
		return NULL;
	}
	t_sync_done = now_ms(CLOCK_MONOTONIC);
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	for (size_t have = 0; have < rec_len;) {
		size_t n = rec_len - have < (size_t)blk ? rec_len - have : (size_t)blk;
		ssize_t r = read(fd, rec_buf + have, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			read_err = r == 0 ? "read returned 0 (EOF)" : "read", read_errno = r < 0 ? errno : 0;
			return NULL;
		}
		have += (size_t)r;
	}
	t_read_done = now_ms(CLOCK_MONOTONIC);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *dsp = dsp_option(argc, argv, 3, "oss_duplex [-d DSP] PLAY.raw REC.raw SECONDS");
	play_path = argv[optind];
	const char *rec_path = argv[optind + 1];
	double seconds = atof(argv[optind + 2]);

	play_buf = slurp(play_path, &play_len);
	rec_len = (size_t)(seconds * RATE + 0.5) * FRAME;
	rec_buf = malloc(rec_len);

	fd = oss_open(dsp, O_RDWR);
	int caps = 0;
	if (ioctl(fd, SNDCTL_DSP_GETCAPS, &caps) < 0)
		die("SNDCTL_DSP_GETCAPS", strerror(errno));
	printf("GETCAPS %#x: DSP_CAP_DUPLEX %s, DSP_CAP_TRIGGER %s\n", caps, caps & DSP_CAP_DUPLEX ? "yes" : "no",
	       caps & DSP_CAP_TRIGGER ? "yes" : "no");
	if (!(caps & DSP_CAP_DUPLEX))
		die("SNDCTL_DSP_GETCAPS", "no DSP_CAP_DUPLEX on an O_RDWR open");
	if (ioctl(fd, SNDCTL_DSP_SETDUPLEX, 0) < 0)
		die("SNDCTL_DSP_SETDUPLEX", strerror(errno));
	oss_setup(fd, AFMT_S16_LE, RATE, CHANNELS);
	if (ioctl(fd, SNDCTL_DSP_GETBLKSIZE, &blk) < 0 || blk <= 0)
		blk = 4096;

	pthread_t tw, tr;
	t0 = now_ms(CLOCK_MONOTONIC);
	if (pthread_create(&tr, NULL, reader, NULL) || pthread_create(&tw, NULL, writer, NULL))
		die("pthread_create", "failed");
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	if (write_err)
		die(write_err, strerror(write_errno));
	if (read_err)
		die(read_err, read_errno ? strerror(read_errno) : "");
	double t1 = now_ms(CLOCK_MONOTONIC);
	if (close(fd) < 0)
		die("close", strerror(errno));
	FILE *f = fopen(rec_path, "wb");
	if (!f || fwrite(rec_buf, 1, rec_len, f) != rec_len || fclose(f) != 0)
		die(rec_path, strerror(errno));
	printf("oss_duplex: wrote %zu B (writes done at %.0f ms, SYNC at %.0f ms), read %zu B (done at %.0f ms), "
	       "fragment %d B, close %.0f ms\n",
	       play_len, t_write_done - t0, t_sync_done - t0, rec_len, t_read_done - t0, blk, now_ms(CLOCK_MONOTONIC) - t1);
	return 0;
}
