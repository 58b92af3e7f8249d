/*
 * soak_ref: the soak's reference stream (scripts/soak): plays it, and checks a
 * capture of it, without ever holding it whole.
 *
 *   gcc -O2 -Wall -Wextra -o target/soak/bin/soak_ref tests/vm/soak_ref.c
 *   soak_ref play [-d DSP] [-s SEED] [-r PRIO] [-F FRAGS] STOPFILE
 *   soak_ref check [-s SEED]            < capture (S16_LE stereo, raw)
 *   soak_ref gen [-s SEED] FRAMES       > stream  (for trying `check` on the host)
 *
 * The stream is S16_LE, 2 channels, 48000 Hz: the device format of ossd in the
 * VM, so it is mixed bit-exact. Frame i is a pure function of SEED and i
 * (splitmix64), full scale; frame 0 is positive on both channels, so a capture
 * is aligned by stripping its leading all-zero frames.
 *
 * play: opens DSP (default /dev/dsp) O_WRONLY, sets S16_LE, 2 ch, 48000 Hz
 *   (each checked as taken), asks for FRAGS (default 16) fragments of 16 KiB
 *   (a deep ring: the slow guest may stall this client for a moment), and
 *   writes the stream in blocking writes of one fragment until STOPFILE
 *   exists, always ending on a whole second of frames; then SYNC and close.
 *   -r PRIO runs it SCHED_FIFO at PRIO (a stall would be an underrun of this
 *   client: silence inside the reference). Prints one line of key=value
 *   figures: frames written, writes, GETERROR's play_underruns, timings.
 *
 * check: reads a capture on stdin and follows the stream in it. Leading
 *   all-zero frames are skipped; from the first non-zero frame on, each
 *   captured frame must be the next frame of the stream. A captured frame
 *   that is not is a break: the frames up to where the stream goes on again
 *   (its next expected frame seen again) are counted as inserted (zero or
 *   not), and nothing of the stream may be missing. After the stream's last
 *   frame (the first of an all-zero run that lasts to the end of the capture
 *   marks the end) only zero frames may follow. Prints one line per break
 *   (up to 50, on stderr: where in the capture, in seconds too, and what was
 *   inserted: zero frames, others, and how many of those repeat one of the
 *   stream's last 16384 frames, as aloop does after an underrun), then
 *   key=value figures: captured, lead_zero, matched (frames of the stream
 *   that arrived, in order, bit-exact), breaks, inserted_zero,
 *   inserted_other, inserted_stale, tail_zero, tail_other, and where the
 *   first break was. Exit status 0 always (the caller compares `matched`
 *   with what `play` wrote and judges the breaks).
 */
#define _GNU_SOURCE
#define PROG "soak_ref"
#include "oss_common.h"

#include <sched.h>
#include <stdint.h>

#define RATE 48000
#define FRAME 4 /* S16_LE stereo */
#define STALE 16384 /* frames back an inserted frame is looked for */
#define SNDCTL_DSP_GETERROR_ _IOR('P', 25, struct errinfo)

/* audio_errinfo (SNDCTL_DSP_GETERROR), 4Front's layout. */
struct errinfo {
	int play_underruns, rec_overruns;
	unsigned int play_ptradjust, rec_ptradjust;
	int play_errorcount, rec_errorcount, play_lasterror, rec_lasterror;
	int play_errorparm, rec_errorparm;
	int filler[16];
};

/* The stream: frame i as (left, right). */
struct stream {
	uint64_t seed, i;
};

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint32_t frame_at(uint64_t seed, uint64_t i)
{
	uint64_t r = splitmix64(seed * 0x100000001b3ull + i);
	if (i == 0) /* positive on both channels: 0x4000..0x7fff */
		return (uint32_t)(0x4000 | (r & 0x3fff)) | (uint32_t)(0x4000 | ((r >> 16) & 0x3fff)) << 16;
	return (uint32_t)r;
}

/* One frame as the 4 bytes S16_LE stereo puts in memory. */
static void put_frame(unsigned char *p, uint32_t f)
{
	p[0] = f & 0xff, p[1] = (f >> 8) & 0xff, p[2] = (f >> 16) & 0xff, p[3] = f >> 24;
}

static uint32_t get_frame(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static int cmd_play(const char *dsp, uint64_t seed, int prio, int frags, const char *stopfile)
{
	if (prio > 0) {
		struct sched_param sp = {.sched_priority = prio};
		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
			die("sched_setscheduler(SCHED_FIFO)", strerror(errno));
	}
	double t0 = now_ms(CLOCK_MONOTONIC);
	int fd = oss_open(dsp, O_WRONLY);
	int v = frags << 16 | 14;
	if (ioctl(fd, SNDCTL_DSP_SETFRAGMENT, &v) < 0)
		die("SNDCTL_DSP_SETFRAGMENT", strerror(errno));
	oss_setup(fd, AFMT_S16_LE, RATE, 2);
	audio_buf_info bi;
	if (ioctl(fd, SNDCTL_DSP_GETOSPACE, &bi) < 0)
		die("SNDCTL_DSP_GETOSPACE", strerror(errno));
	size_t chunk = bi.fragsize > 0 ? (size_t)bi.fragsize / FRAME * FRAME : 4096;
	unsigned char *buf = malloc(chunk);
	uint64_t i = 0, writes = 0, end = 0;
	double worst = 0;
	for (;;) {
		if (!end && access(stopfile, F_OK) == 0)
			end = (i + RATE - 1) / RATE * RATE; /* a whole second */
		if (end && i >= end)
			break;
		size_t n = chunk / FRAME;
		if (end && end - i < n)
			n = (size_t)(end - i);
		for (size_t k = 0; k < n; k++)
			put_frame(buf + k * FRAME, frame_at(seed, i + k));
		for (size_t off = 0; off < n * FRAME;) {
			double w0 = now_ms(CLOCK_MONOTONIC);
			ssize_t w = write(fd, buf + off, n * FRAME - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				die("write", w < 0 ? strerror(errno) : "returned 0");
			double took = now_ms(CLOCK_MONOTONIC) - w0;
			if (took > worst)
				worst = took;
			off += (size_t)w;
			writes++;
		}
		i += n;
	}
	double t1 = now_ms(CLOCK_MONOTONIC);
	struct errinfo ei;
	memset(&ei, 0, sizeof ei);
	if (ioctl(fd, SNDCTL_DSP_GETERROR_, &ei) < 0)
		die("SNDCTL_DSP_GETERROR", strerror(errno));
	if (ioctl(fd, SNDCTL_DSP_SYNC, 0) < 0)
		die("SNDCTL_DSP_SYNC", strerror(errno));
	double t2 = now_ms(CLOCK_MONOTONIC);
	if (close(fd) < 0)
		die("close", strerror(errno));
	printf("soak_ref: frames=%llu writes=%llu fragsize=%d fragstotal=%d underruns=%d longest_write_ms=%.0f "
	       "play_s=%.1f sync_ms=%.0f close_ms=%.0f\n",
	       (unsigned long long)i, (unsigned long long)writes, bi.fragsize, bi.fragstotal, ei.play_underruns, worst,
	       (t1 - t0) / 1e3, t2 - t1, now_ms(CLOCK_MONOTONIC) - t2);
	return 0;
}

static int cmd_gen(uint64_t seed, uint64_t frames)
{
	unsigned char buf[4096];
	for (uint64_t i = 0; i < frames;) {
		size_t n = 0;
		for (; n < sizeof buf / FRAME && i < frames; n++, i++)
			put_frame(buf + n * FRAME, frame_at(seed, i));
		if (fwrite(buf, FRAME, n, stdout) != n)
			die("stdout", strerror(errno));
	}
	return 0;
}

static int cmd_check(uint64_t seed)
{
	/* States: before the stream; inside it (each frame the next one); in a
	 * break (waiting for the next expected frame to come again). A break
	 * still open at the end of the capture is the tail after the stream. */
	enum { LEAD, STREAM, BREAK } st = LEAD;
	uint64_t captured = 0, lead = 0, matched = 0, breaks = 0, ins_zero = 0, ins_other = 0;
	uint64_t cur_zero = 0, cur_other = 0, cur_at = 0, cur_stale = 0; /* the open break */
	uint64_t stale = 0;
	uint32_t cur_got = 0;
	uint64_t first_at = 0, first_frame = 0, first_len = 0;
	uint32_t first_got = 0, first_want = 0;
	static unsigned char buf[1 << 16];
	size_t have = 0;
	for (;;) {
		ssize_t r = read(0, buf + have, sizeof buf - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("stdin", strerror(errno));
		if (r == 0)
			break;
		have += (size_t)r;
		size_t n = have / FRAME;
		for (size_t k = 0; k < n; k++, captured++) {
			uint32_t f = get_frame(buf + k * FRAME);
			if (st == LEAD) {
				if (f == 0) {
					lead++;
					continue;
				}
				st = STREAM;
			}
			if (f == frame_at(seed, matched)) {
				if (st == BREAK) {
					if (breaks++ == 0) {
						first_at = cur_at, first_frame = matched, first_len = cur_zero + cur_other;
						first_got = cur_got, first_want = frame_at(seed, matched);
					}
					ins_zero += cur_zero, ins_other += cur_other, stale += cur_stale;
					if (breaks <= 50)
						fprintf(stderr, "soak_ref check: break %llu at capture frame %llu (%.3f s), stream frame %llu: "
							"%llu frames inserted (%llu zero, %llu others, %llu of them earlier frames of the stream)\n",
							(unsigned long long)breaks, (unsigned long long)cur_at, cur_at / (double)RATE,
							(unsigned long long)matched, (unsigned long long)(cur_zero + cur_other),
							(unsigned long long)cur_zero, (unsigned long long)cur_other, (unsigned long long)cur_stale);
					st = STREAM;
				}
				matched++;
				continue;
			}
			if (st == STREAM) {
				st = BREAK;
				cur_zero = cur_other = cur_stale = 0, cur_at = captured, cur_got = f;
			}
			if (f == 0) {
				cur_zero++;
			} else {
				cur_other++;
				/* one of the last STALE frames of the stream again (aloop
				 * plays its buffer once more after an underrun)? */
				for (uint64_t j = 1; j <= STALE && j <= matched; j++)
					if (frame_at(seed, matched - j) == f) {
						cur_stale++;
						break;
					}
			}
		}
		memmove(buf, buf + n * FRAME, have - n * FRAME);
		have -= n * FRAME;
	}
	uint64_t tail_zero = st == BREAK ? cur_zero : 0, tail_other = st == BREAK ? cur_other : 0;
	printf("soak_ref check: captured=%llu lead_zero=%llu matched=%llu breaks=%llu inserted_zero=%llu "
	       "inserted_other=%llu inserted_stale=%llu tail_zero=%llu tail_other=%llu",
	       (unsigned long long)captured, (unsigned long long)lead, (unsigned long long)matched,
	       (unsigned long long)breaks, (unsigned long long)ins_zero, (unsigned long long)ins_other, (unsigned long long)stale,
	       (unsigned long long)tail_zero, (unsigned long long)tail_other);
	if (breaks)
		printf(" first_break_capture_frame=%llu first_break_stream_frame=%llu first_break_frames=%llu "
		       "first_break_got=0x%08x first_break_want=0x%08x",
		       (unsigned long long)first_at, (unsigned long long)first_frame, (unsigned long long)first_len,
		       first_got, first_want);
	if (tail_other)
		printf(" tail_first_frame_got=0x%08x tail_at_capture_frame=%llu", cur_got, (unsigned long long)cur_at);
	printf("\n");
	return 0;
}

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: soak_ref play [-d DSP] [-s SEED] [-r PRIO] [-F FRAGS] STOPFILE\n"
			"       soak_ref check [-s SEED] < CAPTURE\n"
			"       soak_ref gen [-s SEED] FRAMES > STREAM\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *cmd = argv[1], *dsp = "/dev/dsp";
	uint64_t seed = 1;
	int prio = 0, frags = 16, opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "d:s:r:F:")) != -1) {
		switch (opt) {
		case 'd': dsp = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'r': prio = atoi(optarg); break;
		case 'F': frags = atoi(optarg); break;
		default: usage();
		}
	}
	if (strcmp(cmd, "play") == 0 && argc - optind == 1)
		return cmd_play(dsp, seed, prio, frags, argv[optind]);
	if (strcmp(cmd, "check") == 0 && argc - optind == 0)
		return cmd_check(seed);
	if (strcmp(cmd, "gen") == 0 && argc - optind == 1)
		return cmd_gen(seed, strtoull(argv[optind], NULL, 0));
	usage();
}
