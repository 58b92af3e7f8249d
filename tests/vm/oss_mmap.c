/*
 * oss_mmap: a client of /dev/dsp written the way the id-engine games' sound
 * drivers are (Quake's snd_linux.c and its descendants), for ossd-run's
 * preload library (preload/ossd_run.c).
 *
 *   oss_mmap [-d DSP] [-r RATE] [-f HZ] [-s SECONDS] [-a AHEAD_MS] [-w] [-t N] [-p] [-o FILE] MODE
 *
 * play    open O_RDWR, RESET, GETCAPS (no DSP_CAP_MMAP: say so, exit 0, as a
 *         game falls back to no sound), GETOSPACE before the format (a power
 *         of two, >= 0.1 s of 44.1 kHz stereo S16), mmap PROT_WRITE (-w:
 *         PROT_READ|PROT_WRITE), STEREO, SPEED RATE (11025), SETFMT S16_LE,
 *         GETOSPACE again (the same bytes), SETTRIGGER 0 then
 *         PCM_ENABLE_OUTPUT; then only GETOPTR every 10 ms, painting a tone
 *         (HZ, amplitude 0.5, starting at a cosine peak) from what it painted
 *         last (or the pointer) to AHEAD_MS (100) ahead of the pointer, for
 *         SECONDS (3) of tone, then silence until the pointer passed it;
 *         munmap, close. Checks every GETOPTR: ptr frame-aligned and inside
 *         the buffer, bytes = the running total, blocks = fragments since the
 *         last call; wrong mappings (twice the size, offset 4096) refused.
 *         -t N: N more threads call GETOPTR, GETODELAY, GETOSPACE and GETCAPS
 *         on the fd meanwhile. -p: wait for the next fragment with poll()
 *         (first half of the tone) and select() (second half), POLLOUT /
 *         writable, instead of sleeping 10 ms; none may time out (1 s).
 * dup     play, with the pointer read through dup(), fcntl(F_DUPFD) and dup2()
 *         copies of the fd, the original and two copies closed after the
 *         trigger.
 * fork    play, painted by a forked child; the parent also forks a child that
 *         execs /bin/true with the fd inherited, and waits for both.
 * close   paint the whole buffer with a tone that loops seamlessly (a whole
 *         number of cycles), SETTRIGGER, close the fd at once, let it play
 *         SECONDS through the mapping alone, munmap.
 * record  open O_RDONLY, GETCAPS, GETISPACE, mmap PROT_READ, S16_LE stereo
 *         RATE, SETTRIGGER 0 then PCM_ENABLE_INPUT, then GETIPTR every 10 ms,
 *         copying what arrived into FILE (raw S16_LE stereo), SECONDS of it.
 * After munmap and close, every mode checks that ossd's /dev/sndstat no
 * longer lists a client of this process (within 2 s).
 * Output: '#' lines and one last line "oss_mmap MODE: ok ..." (exit 0), or
 * "oss_mmap: what: why" (exit 1).
 */
#define _GNU_SOURCE
#define PROG "oss_mmap"
#include "oss_common.h"
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include "thread_cpu.h"
#include <poll.h>
#include <pthread.h>
#include <sys/select.h>
#include <sys/mman.h>
#include <sys/wait.h>

static const char *dsp = "/dev/dsp", *out_path;
static int rate = 11025, prot_rw, ahead_ms = 100, nthreads, wait_poll;
static double freq = 500, seconds = 3;

static void ioctl_or_die(int fd, unsigned long req, void *arg, const char *name)
{
	if (ioctl(fd, req, arg) < 0)
		die(name, strerror(errno));
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* Open fds of this process (the library must leave none behind). */
static int fds_at_start = -1;
static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* ossd's client of this process gone from /dev/sndstat (pid column)? And no
 * fd left open. */
static void client_gone(const char *when)
{
	int fds = count_fds();
	if (fds != fds_at_start) {
		char msg[120];
		snprintf(msg, sizeof msg, "%d fds open %s, %d at the start", fds, when, fds_at_start);
		die("fds", msg);
	}
	char want[32];
	snprintf(want, sizeof want, "pid %d ", (int)getpid());
	double t0 = now_ms(CLOCK_MONOTONIC);
	for (;;) {
		FILE *f = fopen("/dev/sndstat", "r");
		if (!f) {
			printf("# /dev/sndstat: %s (client check skipped)\n", strerror(errno));
			return;
		}
		char line[512];
		int found = 0;
		while (fgets(line, sizeof line, f)) {
			/* "pid  123 " with any spaces: squeeze them */
			char sq[512];
			size_t k = 0;
			for (size_t i = 0; line[i] && k + 1 < sizeof sq; i++)
				if (!(line[i] == ' ' && k > 0 && sq[k - 1] == ' '))
					sq[k++] = line[i];
			sq[k] = 0;
			if (strstr(sq, want))
				found = 1;
		}
		fclose(f);
		if (!found) {
			printf("# ossd's client of this process gone %.0f ms %s\n", now_ms(CLOCK_MONOTONIC) - t0, when);
			return;
		}
		if (now_ms(CLOCK_MONOTONIC) - t0 > 2000)
			die("/dev/sndstat", "ossd still lists a client of this process 2 s after munmap and close");
		sleep_ms(50);
	}
}

struct setup {
	int fd;
	unsigned char *buf;
	size_t size;       /* bytes */
	int fragsize;
};

/* The game's SNDDMA_Init: open, RESET, GETCAPS, GETOSPACE, mmap, format. 0:
 * no mmap offered (printed). */
static int game_init(struct setup *g)
{
	int fd = open(dsp, O_RDWR);
	if (fd < 0)
		die(dsp, strerror(errno));
	if (ioctl(fd, SNDCTL_DSP_RESET, 0) < 0)
		die("SNDCTL_DSP_RESET", strerror(errno));
	int caps = 0;
	ioctl_or_die(fd, SNDCTL_DSP_GETCAPS, &caps, "SNDCTL_DSP_GETCAPS");
	if (!(caps & DSP_CAP_TRIGGER) || !(caps & DSP_CAP_MMAP)) {
		printf("# GETCAPS %#x: no DSP_CAP_MMAP%s: no mmap sound (a game says so and plays without)\n", caps,
		       caps & DSP_CAP_TRIGGER ? "" : " nor DSP_CAP_TRIGGER");
		close(fd);
		return 0;
	}
	audio_buf_info bi;
	ioctl_or_die(fd, SNDCTL_DSP_GETOSPACE, &bi, "SNDCTL_DSP_GETOSPACE");
	size_t size = (size_t)bi.fragstotal * (size_t)bi.fragsize;
	printf("# GETCAPS %#x; GETOSPACE before the format: %d of %d fragments of %d bytes free, %d bytes (%zu bytes in all)\n",
	       caps, bi.fragments, bi.fragstotal, bi.fragsize, bi.bytes, size);
	if (size == 0 || (size & (size - 1)) != 0)
		die("SNDCTL_DSP_GETOSPACE", "the buffer is not a power of two in bytes");
	if (size < 17640)
		die("SNDCTL_DSP_GETOSPACE", "the buffer holds less than 0.1 s of 44.1 kHz stereo S16 (17640 bytes)");
	int prot = prot_rw ? PROT_READ | PROT_WRITE : PROT_WRITE;
	/* Wrong mappings fail as a driver's do. */
	void *bad = mmap(NULL, size * 2, prot, MAP_SHARED, fd, 0);
	if (bad != MAP_FAILED)
		die("mmap twice the buffer", "succeeded");
	printf("# mmap of twice the buffer: %s\n", strerror(errno));
	bad = mmap(NULL, 4096, prot, MAP_SHARED, fd, 4096);
	if (bad != MAP_FAILED)
		die("mmap at offset 4096", "succeeded");
	printf("# mmap at offset 4096: %s\n", strerror(errno));
	unsigned char *buf = mmap(NULL, size, prot, MAP_FILE | MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED)
		die("mmap", strerror(errno));
	int v = 1;
	ioctl_or_die(fd, SNDCTL_DSP_STEREO, &v, "SNDCTL_DSP_STEREO");
	if (v != 1)
		die("SNDCTL_DSP_STEREO", "refused");
	v = rate;
	ioctl_or_die(fd, SNDCTL_DSP_SPEED, &v, "SNDCTL_DSP_SPEED");
	if (v != rate)
		die("SNDCTL_DSP_SPEED", "rate not taken");
	v = AFMT_S16_LE;
	ioctl_or_die(fd, SNDCTL_DSP_SETFMT, &v, "SNDCTL_DSP_SETFMT");
	if (v != AFMT_S16_LE)
		die("SNDCTL_DSP_SETFMT", "S16_LE refused");
	audio_buf_info after;
	ioctl_or_die(fd, SNDCTL_DSP_GETOSPACE, &after, "SNDCTL_DSP_GETOSPACE");
	printf("# GETOSPACE after STEREO, SPEED %d, SETFMT S16_LE: %d x %d bytes\n", rate, after.fragstotal,
	       after.fragsize);
	if ((size_t)after.fragstotal * (size_t)after.fragsize != size)
		die("SNDCTL_DSP_GETOSPACE", "the buffer changed size with the format");
	memset(buf, 0, size);
	g->fd = fd;
	g->buf = buf;
	g->size = size;
	g->fragsize = bi.fragsize;
	return 1;
}

static void trigger(int fd, int bits)
{
	int v = 0;
	ioctl_or_die(fd, SNDCTL_DSP_SETTRIGGER, &v, "SNDCTL_DSP_SETTRIGGER 0");
	v = bits;
	ioctl_or_die(fd, SNDCTL_DSP_SETTRIGGER, &v, "SNDCTL_DSP_SETTRIGGER");
}

/* -t: threads that call the position and space ioctls on the fd while the
 * main thread paints (the library's state is shared between them). */
static volatile int stop_threads;
static int hammer_fd;
static long hammer_calls;
static void *hammer(void *arg)
{
	(void)arg;
	while (!stop_threads) {
		count_info ci;
		audio_buf_info bi;
		int v;
		if (ioctl(hammer_fd, SNDCTL_DSP_GETOPTR, &ci) < 0 || ioctl(hammer_fd, SNDCTL_DSP_GETODELAY, &v) < 0 ||
		    ioctl(hammer_fd, SNDCTL_DSP_GETOSPACE, &bi) < 0 || ioctl(hammer_fd, SNDCTL_DSP_GETCAPS, &v) < 0)
			die("an ioctl in a second thread", strerror(errno));
		__atomic_add_fetch(&hammer_calls, 4, __ATOMIC_RELAXED);
		sleep_ms(3);
	}
	return NULL;
}

/* -p: wait for the next fragment with poll() (first half) or select() (second
 * half) instead of sleeping; 0 if the 1 s timeout passed (never ready). */
static int wait_ready(int fd, int second_half)
{
	if (!second_half) {
		struct pollfd p = {fd, POLLOUT, 0};
		int r = poll(&p, 1, 1000);
		if (r < 0)
			die("poll", strerror(errno));
		return r == 1 && (p.revents & POLLOUT);
	}
	fd_set w;
	FD_ZERO(&w);
	FD_SET(fd, &w);
	struct timeval tv = {1, 0};
	int r = select(fd + 1, NULL, &w, NULL, &tv);
	if (r < 0)
		die("select", strerror(errno));
	return r == 1 && FD_ISSET(fd, &w);
}

/* The game's S_Update: GETOPTR every 10 ms, paint ahead of the pointer. */
static void paint_loop(const struct setup *g, int fd)
{
	pthread_t th[8];
	int polls = 0, timeouts = 0;
	hammer_fd = fd;
	for (int i = 0; i < nthreads && i < 8; i++)
		pthread_create(&th[i], NULL, hammer, NULL);
	const int fb = 4;
	const long frames = (long)(g->size / fb);
	int16_t *ring = (int16_t *)g->buf;
	long long laps = 0, painted = 0, tone_start = -1, tone_len = (long long)(seconds * rate);
	long ahead = (long)((long long)ahead_ms * rate / 1000);
	int oldptr = 0, calls = 0, late = 0;
	long long blocks_sum = 0;
	uint32_t bytes_last = 0;
	double t_last = now_ms(CLOCK_MONOTONIC), worst_gap = 0;
	for (;;) {
		count_info ci;
		ioctl_or_die(fd, SNDCTL_DSP_GETOPTR, &ci, "SNDCTL_DSP_GETOPTR");
		double t = now_ms(CLOCK_MONOTONIC);
		if (t - t_last > worst_gap)
			worst_gap = t - t_last;
		t_last = t;
		calls++;
		if (ci.ptr < 0 || (size_t)ci.ptr >= g->size || ci.ptr % fb != 0)
			die("SNDCTL_DSP_GETOPTR", "ptr outside the buffer or not frame-aligned");
		if (ci.ptr < oldptr)
			laps++;
		oldptr = ci.ptr;
		long long soundtime = laps * frames + ci.ptr / fb;
		if ((uint32_t)ci.bytes != (uint32_t)(soundtime * fb))
			die("SNDCTL_DSP_GETOPTR", "bytes is not the running total of the pointer");
		/* blocks counts from the file's last GETOPTR: with -t, the other
		 * threads' calls reset it too, so only its range is checked. */
		uint32_t passed = (uint32_t)ci.bytes / (uint32_t)g->fragsize - bytes_last / (uint32_t)g->fragsize;
		if (ci.blocks < 0 || (nthreads ? (uint32_t)ci.blocks > passed : (uint32_t)ci.blocks != passed))
			die("SNDCTL_DSP_GETOPTR", "blocks is not the fragments passed since the last call");
		bytes_last = (uint32_t)ci.bytes;
		blocks_sum += ci.blocks;
		if (painted < soundtime) {
			if (painted > 0)
				late++;
			painted = soundtime;
		}
		long long end = soundtime + ahead;
		for (; painted < end; painted++) {
			int16_t s = 0;
			if (tone_start < 0)
				tone_start = painted;
			long long k = painted - tone_start;
			if (k < tone_len)
				s = (int16_t)lrint(16383.0 * cos(2 * M_PI * freq * (double)k / rate));
			long at = (long)(painted % frames);
			ring[2 * at] = s;
			ring[2 * at + 1] = s;
		}
		if (tone_start >= 0 && soundtime > tone_start + tone_len + rate / 4)
			break;
		if (wait_poll) {
			polls++;
			timeouts += !wait_ready(fd, soundtime > tone_start + tone_len / 2);
		} else {
			sleep_ms(10);
		}
	}
	stop_threads = 1;
	for (int i = 0; i < nthreads && i < 8; i++)
		pthread_join(th[i], NULL);
	if (nthreads)
		printf("# %d more threads made %ld ioctl calls on the fd meanwhile\n", nthreads, hammer_calls);
	if (wait_poll) {
		printf("# waited for the next fragment %d times with poll, then select: %d timed out (1 s)\n", polls,
		       timeouts);
		if (timeouts)
			die("poll/select", "a mapped fd was never ready within 1 s");
	}
	printf("# %d GETOPTR calls, %lld frames painted (tone from frame %lld), longest gap between calls %.1f ms, "
	       "painter behind the pointer %d times; blocks summed %lld %s bytes / fragsize\n",
	       calls, painted, tone_start, worst_gap, late, blocks_sum, nthreads ? "<=" : "=");
	long long ns = thread_cpu_ns("ossd-run-out");
	double audio = (double)(laps * frames + oldptr / fb) / rate;
	if (ns >= 0)
		printf("# cpu: ossd-run's copier thread used %.1f ms for %.2f s of audio: %.3f ms per second\n",
		       ns / 1e6, audio, ns / 1e6 / audio);
	if (late > 0 && worst_gap > ahead_ms)
		/* vm-suite reruns the check if its stall meter saw the guest stand still that long */
		printf("# held up: this client went %.0f ms without a GETOPTR call, more than the %d ms it "
		       "paints ahead\n", worst_gap, ahead_ms);
	if (late > 0)
		die("painting", "the pointer overtook what was painted (the client was too slow)");
}

static int play(int mode_dup)
{
	struct setup g;
	if (!game_init(&g))
		return 0;
	trigger(g.fd, PCM_ENABLE_OUTPUT);
	int fd = g.fd;
	if (mode_dup) {
		int a = dup(fd);
		int b = a < 0 ? -1 : fcntl(a, F_DUPFD, 20);
		int c = b < 0 ? -1 : dup2(b, 40);
		if (a < 0 || b < 0 || c != 40)
			die("dup", strerror(errno));
		close(fd);
		close(a);
		close(b);
		printf("# the pointer is read through fd %d (dup2 of fcntl F_DUPFD of dup of %d, all but it closed)\n",
		       c, fd);
		fd = c;
	}
	paint_loop(&g, fd);
	if (munmap(g.buf, g.size) < 0)
		die("munmap", strerror(errno));
	close(fd);
	client_gone("after munmap and close");
	printf("oss_mmap %s: ok\n", mode_dup ? "dup" : "play");
	return 0;
}

static int play_fork(void)
{
	struct setup g;
	if (!game_init(&g))
		return 0;
	trigger(g.fd, PCM_ENABLE_OUTPUT);
	pid_t ex = fork();
	if (ex == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	pid_t painter = fork();
	if (painter < 0 || ex < 0)
		die("fork", strerror(errno));
	if (painter == 0) {
		paint_loop(&g, g.fd);
		fflush(stdout);
		_exit(0);
	}
	int st;
	alarm((unsigned)(seconds + 20));
	if (waitpid(ex, &st, 0) != ex || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the child that execs /bin/true", "failed");
	if (waitpid(painter, &st, 0) != painter || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the painting child", "failed");
	/* The parent's pointer still moves after the children are gone. */
	count_info a, b;
	ioctl_or_die(g.fd, SNDCTL_DSP_GETOPTR, &a, "SNDCTL_DSP_GETOPTR");
	sleep_ms(200);
	ioctl_or_die(g.fd, SNDCTL_DSP_GETOPTR, &b, "SNDCTL_DSP_GETOPTR");
	printf("# after the children: the pointer moved %d bytes in 200 ms\n", b.bytes - a.bytes);
	if (b.bytes == a.bytes)
		die("SNDCTL_DSP_GETOPTR", "the pointer stopped when the children exited");
	if (munmap(g.buf, g.size) < 0)
		die("munmap", strerror(errno));
	close(g.fd);
	client_gone("after munmap and close");
	printf("oss_mmap fork: ok\n");
	return 0;
}

static int play_close_first(void)
{
	struct setup g;
	if (!game_init(&g))
		return 0;
	long frames = (long)(g.size / 4);
	long cycles = lrint(freq * frames / rate);
	double f = (double)cycles * rate / frames;
	int16_t *ring = (int16_t *)g.buf;
	for (long i = 0; i < frames; i++) {
		int16_t s = (int16_t)lrint(16383.0 * cos(2 * M_PI * (double)cycles * (double)i / frames));
		ring[2 * i] = ring[2 * i + 1] = s;
	}
	printf("# the whole buffer holds %ld cycles: a %.3f Hz tone that loops seamlessly\n", cycles, f);
	trigger(g.fd, PCM_ENABLE_OUTPUT);
	close(g.fd);
	printf("# closed the fd; the mapping plays on for %.1f s\n", seconds);
	sleep_ms((int)(seconds * 1000));
	if (munmap(g.buf, g.size) < 0)
		die("munmap", strerror(errno));
	client_gone("after munmap (the fd was closed first)");
	printf("oss_mmap close: ok\n");
	return 0;
}

static int record(void)
{
	int fd = open(dsp, O_RDONLY);
	if (fd < 0)
		die(dsp, strerror(errno));
	int caps = 0;
	ioctl_or_die(fd, SNDCTL_DSP_GETCAPS, &caps, "SNDCTL_DSP_GETCAPS");
	if (!(caps & DSP_CAP_MMAP) || !(caps & DSP_CAP_TRIGGER)) {
		printf("# GETCAPS %#x: no DSP_CAP_MMAP\n", caps);
		close(fd);
		return 0;
	}
	audio_buf_info bi;
	ioctl_or_die(fd, SNDCTL_DSP_GETISPACE, &bi, "SNDCTL_DSP_GETISPACE");
	size_t size = (size_t)bi.fragstotal * (size_t)bi.fragsize;
	printf("# GETISPACE before the format: %d x %d bytes, %d available\n", bi.fragstotal, bi.fragsize, bi.bytes);
	unsigned char *buf = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED)
		die("mmap PROT_READ", strerror(errno));
	oss_setup(fd, AFMT_S16_LE, rate, 2);
	trigger(fd, PCM_ENABLE_INPUT);
	FILE *out = fopen(out_path, "wb");
	if (!out)
		die(out_path, strerror(errno));
	long long want = (long long)(seconds * rate) * 4, got = 0, laps = 0;
	int oldptr = 0;
	long long last = 0;
	double t0 = now_ms(CLOCK_MONOTONIC);
	while (got < want) {
		sleep_ms(10);
		count_info ci;
		ioctl_or_die(fd, SNDCTL_DSP_GETIPTR, &ci, "SNDCTL_DSP_GETIPTR");
		if (ci.ptr < 0 || (size_t)ci.ptr >= size || ci.ptr % 4 != 0)
			die("SNDCTL_DSP_GETIPTR", "ptr outside the buffer or not frame-aligned");
		if (ci.ptr < oldptr)
			laps++;
		oldptr = ci.ptr;
		long long now = laps * (long long)size + ci.ptr;
		if (now - last > (long long)size)
			die("recording", "the pointer lapped the reader (the client was too slow)");
		for (; last < now && got < want; last += 4, got += 4)
			fwrite(buf + (last % (long long)size), 1, 4, out);
		if (now_ms(CLOCK_MONOTONIC) - t0 > seconds * 1000 + 5000)
			die("recording", "the input pointer did not move fast enough");
	}
	fclose(out);
	printf("# recorded %lld bytes in %.0f ms\n", got, now_ms(CLOCK_MONOTONIC) - t0);
	munmap(buf, size);
	close(fd);
	client_gone("after munmap and close");
	printf("oss_mmap record: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	int opt;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "d:r:f:s:a:wo:t:p")) != -1) {
		switch (opt) {
		case 'd': dsp = optarg; break;
		case 'r': rate = atoi(optarg); break;
		case 'f': freq = atof(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'a': ahead_ms = atoi(optarg); break;
		case 'w': prot_rw = 1; break;
		case 'o': out_path = optarg; break;
		case 't': nthreads = atoi(optarg); break;
		case 'p': wait_poll = 1; break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	const char *mode = argv[optind];
	fds_at_start = count_fds();
	if (strcmp(mode, "play") == 0)
		return play(0);
	if (strcmp(mode, "dup") == 0)
		return play(1);
	if (strcmp(mode, "fork") == 0)
		return play_fork();
	if (strcmp(mode, "close") == 0)
		return play_close_first();
	if (strcmp(mode, "record") == 0 && out_path)
		return record();
usage:
	fprintf(stderr, "usage: oss_mmap [-d DSP] [-r RATE] [-f HZ] [-s SECONDS] [-a AHEAD_MS] [-w] [-t N] [-p] [-o FILE] "
			"play|dup|fork|close|record\n");
	return 1;
}
