/*
 * oss_probe: what outside test suites and programs ask of /dev/dsp (and
 * /dev/audio), one mode each, printed so that the same run against ossd and
 * against the kernel's own snd-pcm-oss can be compared line by line.
 *
 *   oss_probe [-d DSP] channels    raise SNDCTL_DSP_CHANNELS 1, 2, 3, ... until
 *                                  refused (Cygwin's devdsp test does; it loops
 *                                  for ever on a driver that never refuses):
 *                                  the first count refused, its errno, the count
 *                                  then in effect. Gives up after 100000.
 *   oss_probe [-d DSP] preload [-n FILES] [-b BYTES]
 *                                  OSS 4 sndkit's synctest: FILES (3) opens in
 *                                  the default format, each joins one sync
 *                                  group and gets BYTES (32768) of silence in
 *                                  one blocking write() before SNDCTL_DSP_SYNCSTART;
 *                                  then one more such write() each, closes.
 *                                  Each write()'s count and time.
 *   oss_probe [-d DSP] gated       SETTRIGGER(0), then one blocking write() of
 *                                  GETOSPACE's free bytes + 4096: what it
 *                                  returns, and when (it can never complete).
 *   oss_probe [-d DSP] info        SNDCTL_ENGINEINFO and SNDCTL_AUDIOINFO with
 *                                  dev -1 on a read-only and a write-only open:
 *                                  caps, formats, rates, channels, busy; checks
 *                                  that the read-only one describes an input
 *                                  engine GStreamer's oss4src can use.
 *   oss_probe [-d DSP] space [FORMAT RATE CHANNELS]...
 *                                  GETOSPACE and GETBLKSIZE of a fresh write-only
 *                                  open: as opened (its defaults: format, rate,
 *                                  channels), then set to each FORMAT RATE
 *                                  CHANNELS in turn (a fresh open each).
 *
 * Every call that could block runs under alarm(TIMEOUT) (30 s): a call that
 * never returns prints "hung: CALL" and exits 3. Exit status: 0 when what the
 * mode checks holds (channels: a count was refused; preload: every write()
 * took its whole count; gated: the write() returned within 2 s; info: the
 * read-only description is complete; space: every call answered), 1 when it
 * does not, 2 when the device refused a call the mode needs (as the kernel's
 * emulation refuses SNDCTL_DSP_SYNCGROUP).
 */
#define PROG "oss_probe"
#include "oss_common.h"

#include <signal.h>

#ifndef TIMEOUT
#define TIMEOUT 30
#endif

#include "oss4_audioinfo.h"
#define OSS4_CAP_INPUT 0x00010000
#define OSS4_CAP_OUTPUT 0x00020000
#define OSS4_CAP_FREERATE 0x10000000
#define OSS4_OPEN_READ 1
#define OSS4_OPEN_WRITE 2

static const char *in_call = "";
static void on_alarm(int sig)
{
	(void)sig;
	char msg[160];
	int n = snprintf(msg, sizeof msg, "hung: %s (no answer within %d s)\n", in_call, TIMEOUT);
	if (write(STDOUT_FILENO, msg, n) < 0)
		_exit(4);
	_exit(3);
}

/* Arms the alarm for the call CALL (named in the "hung" line). */
static void timed(const char *call)
{
	in_call = call;
	alarm(TIMEOUT);
}

static int probe_channels(const char *dsp)
{
	int fd = oss_open(dsp, O_WRONLY);
	oss_setup(fd, AFMT_S16_LE, 44100, 2); /* as Cygwin's test sets it up first */
	int last_taken = -1;
	for (int n = 1; n <= 100000; n++) {
		int v = n;
		timed("SNDCTL_DSP_CHANNELS");
		if (ioctl(fd, SNDCTL_DSP_CHANNELS, &v) == 0) {
			last_taken = v;
			continue;
		}
		int e = errno, now = -1;
		ioctl(fd, SOUND_PCM_READ_CHANNELS, &now);
		printf("channels: 1..%d accepted (the last written back as %d); %d refused: %s (%s); "
		       "the argument reads %d after the call; %d channel(s) in effect\n",
		       n - 1, last_taken, n, strerror(e), e == EINVAL ? "EINVAL" : "not EINVAL", v, now);
		close(fd);
		return 0;
	}
	printf("channels: never refused up to 100000 (the last written back as %d): Cygwin's loop "
	       "would not end\n",
	       last_taken);
	close(fd);
	return 1;
}

/* One blocking write() of LEN bytes of U8 silence; prints its count and time. */
static ssize_t timed_write(int fd, size_t len, const char *what)
{
	static unsigned char buf[1 << 20];
	memset(buf, 0x80, len < sizeof buf ? len : sizeof buf);
	double t0 = now_ms(CLOCK_MONOTONIC);
	timed("write");
	ssize_t r = write(fd, buf, len);
	int e = errno;
	alarm(0);
	double ms = now_ms(CLOCK_MONOTONIC) - t0;
	if (r < 0)
		printf("%s: write(%zu) = -1 (%s) after %.0f ms\n", what, len, strerror(e), ms);
	else
		printf("%s: write(%zu) = %zd after %.0f ms\n", what, len, r, ms);
	errno = e;
	return r;
}

static int probe_preload(const char *dsp, int files, size_t bytes)
{
	int fds[16], id = 0, whole = 1;
	char what[64];
	if (files < 1 || files > 16)
		die("preload", "1 to 16 files");
	for (int i = 0; i < files; i++) {
		fds[i] = oss_open(dsp, O_WRONLY);
		oss_syncgroup g = {.id = id, .mode = PCM_ENABLE_OUTPUT};
		timed("SNDCTL_DSP_SYNCGROUP");
		if (ioctl(fds[i], SNDCTL_DSP_SYNCGROUP, &g) < 0) {
			printf("preload: SNDCTL_DSP_SYNCGROUP: %s\n", strerror(errno));
			return 2;
		}
		id = g.id;
		audio_buf_info space = {0};
		ioctl(fds[i], SNDCTL_DSP_GETOSPACE, &space);
		printf("file %d: group %d; GETOSPACE %d fragments of %d B, %d B free\n", i, id,
		       space.fragstotal, space.fragsize, space.bytes);
		snprintf(what, sizeof what, "file %d, before SYNCSTART", i);
		whole &= timed_write(fds[i], bytes, what) == (ssize_t)bytes;
	}
	timed("SNDCTL_DSP_SYNCSTART");
	if (ioctl(fds[0], SNDCTL_DSP_SYNCSTART, &id) < 0) {
		printf("preload: SNDCTL_DSP_SYNCSTART: %s\n", strerror(errno));
		return 1;
	}
	alarm(0);
	printf("group %d started\n", id);
	for (int i = 0; i < files; i++) {
		snprintf(what, sizeof what, "file %d, after SYNCSTART", i);
		whole &= timed_write(fds[i], bytes, what) == (ssize_t)bytes;
	}
	for (int i = 0; i < files; i++) {
		ioctl(fds[i], SNDCTL_DSP_RESET, 0); /* no need to hear it out */
		close(fds[i]);
	}
	printf("preload: %s\n", whole ? "every write() took its whole count" : "a write() came back short");
	return whole ? 0 : 1;
}

static int probe_gated(const char *dsp)
{
	int fd = oss_open(dsp, O_WRONLY);
	audio_buf_info space = {0};
	if (ioctl(fd, SNDCTL_DSP_GETOSPACE, &space) < 0)
		die("SNDCTL_DSP_GETOSPACE", strerror(errno));
	printf("gated: GETOSPACE %d fragments of %d B, %d B free\n", space.fragstotal, space.fragsize,
	       space.bytes);
	int bits = 0;
	if (ioctl(fd, SNDCTL_DSP_SETTRIGGER, &bits) < 0) {
		printf("gated: SNDCTL_DSP_SETTRIGGER(0): %s\n", strerror(errno));
		return 2;
	}
	double t0 = now_ms(CLOCK_MONOTONIC);
	ssize_t r = timed_write(fd, (size_t)space.bytes + 4096, "gated, output triggered off");
	double ms = now_ms(CLOCK_MONOTONIC) - t0;
	ioctl(fd, SNDCTL_DSP_GETOSPACE, &space);
	printf("gated: then GETOSPACE %d B free\n", space.bytes);
	/* Dropped: the kernel's emulation drains a closing file even with its
	 * trigger off (it took over a minute for its 1 MiB). */
	ioctl(fd, SNDCTL_DSP_RESET, 0);
	close(fd);
	(void)r;
	return ms <= 2000 ? 0 : 1;
}

static void print_info(const char *what, const oss4_audioinfo *a)
{
	printf("%s: dev %d name \"%.64s\" devnode \"%.32s\" busy %#x caps %#x (%s%s%s) "
	       "iformats %#x oformats %#x rates %d..%d nrates %u channels %d..%d enabled %d\n",
	       what, a->dev, a->name, a->devnode, a->busy, a->caps,
	       a->caps & OSS4_CAP_INPUT ? "INPUT " : "", a->caps & OSS4_CAP_OUTPUT ? "OUTPUT " : "",
	       a->caps & OSS4_CAP_FREERATE ? "FREERATE" : "no FREERATE", a->iformats, a->oformats,
	       a->min_rate, a->max_rate, a->nrates, a->min_channels, a->max_channels, a->enabled);
}

/* What GStreamer's oss4src needs of a read-only file's description: an input
 * engine with formats, a rate range it may use (FREERATE) or a list, and
 * channels. Prints what is missing; 1 if anything is. */
static int input_complete(const oss4_audioinfo *a)
{
	int bad = 0;
	if (!(a->caps & OSS4_CAP_INPUT))
		bad = printf("  missing: PCM_CAP_INPUT in caps\n");
	if (a->iformats == 0)
		bad = printf("  missing: iformats\n");
	if (!((a->caps & OSS4_CAP_FREERATE) && a->min_rate > 0 && a->min_rate <= a->max_rate) && a->nrates == 0)
		bad = printf("  missing: rates (no PCM_CAP_FREERATE with min_rate..max_rate, and nrates 0)\n");
	if (a->min_channels < 1 || a->max_channels < a->min_channels)
		bad = printf("  missing: channels\n");
	if (!(a->busy & OSS4_OPEN_READ))
		bad = printf("  missing: OPEN_READ in busy while this reader is open\n");
	return bad ? 1 : 0;
}

static int probe_info(const char *dsp)
{
	static const struct {
		int mode;
		const char *name;
	} opens[] = {{O_RDONLY, "O_RDONLY"}, {O_WRONLY, "O_WRONLY"}};
	int rc = 0;
	for (size_t i = 0; i < sizeof opens / sizeof opens[0]; i++) {
		int fd = open(dsp, opens[i].mode);
		if (fd < 0) {
			printf("%s: open: %s\n", opens[i].name, strerror(errno));
			rc = 2;
			continue;
		}
		static const struct {
			unsigned long cmd;
			const char *name;
		} calls[] = {{OSS4_ENGINEINFO, "SNDCTL_ENGINEINFO"}, {OSS4_AUDIOINFO, "SNDCTL_AUDIOINFO"}};
		for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
			oss4_audioinfo a;
			memset(&a, 0, sizeof a);
			a.dev = -1;
			char what[64];
			snprintf(what, sizeof what, "%s, %s(-1)", opens[i].name, calls[c].name);
			timed(calls[c].name);
			if (ioctl(fd, calls[c].cmd, &a) < 0) {
				printf("%s: %s\n", what, strerror(errno));
				if (opens[i].mode == O_RDONLY)
					rc = rc ? rc : 1;
				continue;
			}
			alarm(0);
			print_info(what, &a);
			if (opens[i].mode == O_RDONLY && input_complete(&a))
				rc = rc ? rc : 1;
		}
		close(fd);
	}
	printf("info: %s\n", rc == 0 ? "a read-only file describes a complete input engine" : "incomplete");
	return rc;
}

static const char *afmt_name(int afmt)
{
	switch (afmt) {
	case AFMT_U8: return "U8";
	case AFMT_S16_LE: return "S16_LE";
	case AFMT_MU_LAW: return "MU_LAW";
	case AFMT_A_LAW: return "A_LAW";
	case AFMT_S8: return "S8";
	case AFMT_S16_BE: return "S16_BE";
	default: return "other";
	}
}

static int probe_space(const char *dsp, int argc, char **argv)
{
	if (argc % 3 != 0)
		die("space", "FORMAT RATE CHANNELS, in threes");
	for (int i = -3; i < argc; i += 3) {
		int fd = oss_open(dsp, O_WRONLY);
		if (i >= 0)
			oss_setup(fd, afmt_by_name(argv[i]), atoi(argv[i + 1]), atoi(argv[i + 2]));
		int fmt = AFMT_QUERY, rate = 0, ch = 0, blk = 0;
		audio_buf_info s = {0};
		if (ioctl(fd, SNDCTL_DSP_SETFMT, &fmt) < 0 || ioctl(fd, SOUND_PCM_READ_RATE, &rate) < 0 ||
		    ioctl(fd, SOUND_PCM_READ_CHANNELS, &ch) < 0 || ioctl(fd, SNDCTL_DSP_GETOSPACE, &s) < 0 ||
		    ioctl(fd, SNDCTL_DSP_GETBLKSIZE, &blk) < 0)
			die("space", strerror(errno));
		double bps = (double)rate * ch * (fmt == AFMT_S16_LE || fmt == AFMT_S16_BE ? 2 : 1);
		printf("%s %s %d Hz %d ch: GETOSPACE %d fragments of %d B = %d B (%.1f ms), %d B free; "
		       "GETBLKSIZE %d\n",
		       i < 0 ? "as opened:" : "set to", afmt_name(fmt), rate, ch, s.fragstotal, s.fragsize,
		       s.fragstotal * s.fragsize, s.fragstotal * s.fragsize * 1000.0 / bps, s.bytes, blk);
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dsp = "/dev/dsp";
	int opt;
	signal(SIGALRM, on_alarm);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "+d:")) != -1) {
		if (opt != 'd')
			goto usage;
		dsp = optarg;
	}
	if (optind >= argc)
		goto usage;
	const char *mode = argv[optind++];
	if (strcmp(mode, "channels") == 0 && optind == argc)
		return probe_channels(dsp);
	if (strcmp(mode, "gated") == 0 && optind == argc)
		return probe_gated(dsp);
	if (strcmp(mode, "info") == 0 && optind == argc)
		return probe_info(dsp);
	if (strcmp(mode, "space") == 0)
		return probe_space(dsp, argc - optind, argv + optind);
	if (strcmp(mode, "preload") == 0) {
		int files = 3;
		size_t bytes = 32768;
		optind--; /* getopt wants the mode as argv[0] */
		argc -= optind;
		argv += optind;
		optind = 1;
		while ((opt = getopt(argc, argv, "n:b:")) != -1) {
			if (opt == 'n')
				files = atoi(optarg);
			else if (opt == 'b')
				bytes = (size_t)atol(optarg);
			else
				goto usage;
		}
		if (optind != argc || bytes > (1 << 20))
			goto usage;
		return probe_preload(dsp, files, bytes);
	}
usage:
	fprintf(stderr, "usage: " PROG " [-d DSP] channels | preload [-n FILES] [-b BYTES] | gated | info | "
			"space [FORMAT RATE CHANNELS]...\n");
	return 2;
}
