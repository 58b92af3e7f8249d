/*
 * copier.c: the thread that moves a mapped direction's ring to ossd (output)
 * or from it (input), and starting and stopping it.
 *
 * Starting and stopping take lk, the library's one lock, which only the
 * calls that change a mapping's state take (SETTRIGGER, RESET, HALT, mmap
 * and munmap of ossd's file), never read, write, close or dup. Stopping
 * joins the thread with lk released: the direction is STOPPING meanwhile,
 * and whoever wants to start it or map it again waits (copier_wait_idle)
 * until the joiner has made it IDLE. The copier itself never takes lk.
 */
#include "ossd_run.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;

static unsigned frame_bytes(int fd, int *format)
{
	int afmt = AFMT_QUERY, ch = 0;
	if (real_ioctl_call(fd, SNDCTL_DSP_SETFMT, &afmt) < 0)
		afmt = AFMT_S16_LE;
	if (real_ioctl_call(fd, SOUND_PCM_READ_CHANNELS, &ch) < 0 || ch < 1)
		ch = 1;
	unsigned b;
	switch (afmt) {
	case AFMT_U8: case AFMT_S8: case AFMT_MU_LAW: case AFMT_A_LAW: b = 1; break;
	case AFMT_S16_LE: case AFMT_S16_BE: case AFMT_U16_LE: case AFMT_U16_BE: b = 2; break;
	case 0x40000: b = 3; break; /* AFMT_S24_PACKED */
	default: b = 4;
	}
	*format = afmt;
	return b * (unsigned)ch;
}

static void signal_ready(struct dir *d, uint64_t before, uint64_t after)
{
	if (before / FRAGSIZE != after / FRAGSIZE) {
		uint64_t one = 1;
		(void)!REAL(write)(d->ready, &one, sizeof one);
	}
}

/* Waits for fd to be ready for `ev`, or for the stop signal: 1 ready, 0 stop, -1 error. */
static int wait_io(struct dir *d, short ev)
{
	for (;;) {
		struct pollfd p[2] = {{d->io_fd, ev, 0}, {d->wake, POLLIN, 0}};
		int r = REAL(poll)(p, 2, 1000);
		if (__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE) || p[1].revents)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)))
			return -1;
		if (p[0].revents & ev)
			return 1;
	}
}

/* n bytes of silence in format afmt. */
static void silence(unsigned char *p, size_t n, int afmt)
{
	unsigned char a = 0, b = 0;
	switch (afmt) {
	case AFMT_U8: a = b = 0x80; break;
	case AFMT_MU_LAW: a = b = 0xff; break;
	case AFMT_A_LAW: a = b = 0xd5; break;
	case AFMT_U16_LE: b = 0x80; break;
	case AFMT_U16_BE: a = 0x80; break;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = i % 2 ? b : a;
}

/* Output starts with what ossd takes at once in silence, outside the ring:
 * the ring's first bytes are taken only when ossd has played some of it,
 * which gives the program the time to paint them (as a DMA buffer is read
 * progressively, not a buffer's worth at the trigger). */
static void prime(struct dir *d, unsigned char *tmp)
{
	audio_buf_info bi;
	if (real_ioctl_call(d->io_fd, SNDCTL_DSP_GETOSPACE, &bi) < 0 || bi.bytes <= 0)
		return;
	size_t n = (size_t)bi.bytes < d->ring / 2 ? (size_t)bi.bytes : d->ring / 2;
	n -= n % d->frame;
	silence(tmp, n, d->afmt);
	while (n > 0) {
		ssize_t r = REAL(write)(d->io_fd, tmp, n);
		if (r <= 0)
			return;
		n -= (size_t)r;
	}
}

/* One ossd fragment per blocking write (read): ossd parks it until it has
 * room (data), so the copier is paced by ossd at one request per fragment,
 * the cost of a program that write()s. The pointer is ahead of what ossd
 * took by the fragment in flight. Only an ossd buffer larger than half the
 * ring is fed by poll and GETOSPACE instead (0), to keep the rest of the ring
 * the program's. */
static size_t chunk_of(struct dir *d)
{
	size_t half = d->ring / 2, chunk = 0;
	audio_buf_info geo;
	if (real_ioctl_call(d->io_fd, d->input ? SNDCTL_DSP_GETISPACE : SNDCTL_DSP_GETOSPACE, &geo) == 0 &&
	    geo.fragsize > 0 && (d->input || (size_t)geo.fragstotal * (size_t)geo.fragsize <= half)) {
		chunk = (size_t)geo.fragsize - (size_t)geo.fragsize % d->frame;
		if (chunk > half)
			chunk = 0;
	}
	DBG("%s copier: %zu bytes per wake-up%s\n", d->input ? "input" : "output", chunk,
	    chunk ? "" : " (as GETOSPACE says)");
	return chunk;
}

/* The bytes to move next (0: none yet), or -1 to stop. */
static long next_bytes(struct dir *d, size_t chunk)
{
	size_t half = d->ring / 2, n;
	if (chunk) {
		n = chunk;
	} else {
		audio_buf_info bi;
		int w = wait_io(d, d->input ? POLLIN : POLLOUT);
		if (w < 0)
			DBG("copier: ossd's file failed (%s); stopping\n", strerror(errno));
		if (w <= 0 ||
		    real_ioctl_call(d->io_fd, d->input ? SNDCTL_DSP_GETISPACE : SNDCTL_DSP_GETOSPACE, &bi) < 0)
			return -1;
		n = bi.bytes > 0 ? (size_t)bi.bytes : 0;
		if (!d->input) {
			/* Never more than half the ring in ossd: the rest is the program's. */
			size_t queued = (size_t)bi.fragstotal * bi.fragsize - n;
			n = queued >= half ? 0 : (n < half - queued ? n : half - queued);
		}
	}
	if (n > half)
		n = half;
	return (long)(n - n % d->frame);
}

/* Moves all n bytes between tmp and ossd (blocking): 0 done, -1 stop. */
static int move_all(struct dir *d, unsigned char *tmp, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = d->input ? REAL(read)(d->io_fd, tmp + done, n - done)
				     : REAL(write)(d->io_fd, tmp + done, n - done);
		if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (wait_io(d, d->input ? POLLIN : POLLOUT) <= 0)
				return -1;
			continue;
		}
		if (r <= 0)
			return -1;
		done += (size_t)r;
		if (d->input && __atomic_load_n(&d->stop, __ATOMIC_ACQUIRE))
			return -1;
	}
	return 0;
}

static void *copier(void *arg)
{
	struct dir *d = arg;
	unsigned char *tmp = malloc(d->ring);
	if (!tmp)
		return NULL;
	uint64_t bytes = __atomic_load_n(&d->ctl->bytes, __ATOMIC_ACQUIRE);
	if (!d->input)
		prime(d, tmp);
	size_t chunk = chunk_of(d);
	/* The first fragment of the ring is taken once ossd has played some of
	 * the priming (a blocking write would take it at once). */
	if (chunk && !d->input && wait_io(d, POLLOUT) <= 0)
		goto out;
	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		long got = next_bytes(d, chunk);
		if (got < 0)
			break;
		size_t n = (size_t)got;
		if (n == 0) {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		size_t pos = bytes % d->ring, first = n < d->ring - pos ? n : d->ring - pos;
		if (d->input) {
			if (move_all(d, tmp, n) < 0)
				break;
			memcpy(d->buf + pos, tmp, first);
			memcpy(d->buf, tmp + first, n - first);
			__atomic_store_n(&d->ctl->bytes, bytes + n, __ATOMIC_RELEASE);
		} else {
			/* The snapshot, then the pointer moves past it, then ossd gets it. */
			memcpy(tmp, d->buf + pos, first);
			memcpy(tmp + first, d->buf, n - first);
			__atomic_store_n(&d->ctl->bytes, bytes + n, __ATOMIC_RELEASE);
			if (move_all(d, tmp, n) < 0)
				break;
		}
		signal_ready(d, bytes, bytes + n);
		bytes += n;
	}
out:
	free(tmp);
	return NULL;
}

/* Waits (lk held; released meanwhile) until no one is joining d's copier. */
void copier_wait_idle(struct dir *d)
{
	while (__atomic_load_n(&d->state, __ATOMIC_ACQUIRE) == STOPPING)
		pthread_cond_wait(&idle_cv, &lk);
}

/* Starts the copier of d at ptr 0 (lk held; it may be released meanwhile). */
void copier_start(struct stream *s, struct dir *d)
{
	copier_wait_idle(d);
	if (d->state != IDLE || !__atomic_load_n(&d->mapped, __ATOMIC_ACQUIRE) || d->owner != getpid() ||
	    s->io_fd < 0)
		return;
	d->io_fd = s->io_fd;
	d->frame = frame_bytes(d->io_fd, &d->afmt);
	size_t ring = d->view_len - (size_t)sysconf(_SC_PAGESIZE);
	__atomic_store_n(&d->ring, ring - ring % d->frame, __ATOMIC_RELEASE);
	__atomic_store_n(&d->ctl->bytes, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&d->blocks_seen, 0, __ATOMIC_RELEASE);
	uint64_t junk;
	while (REAL(read)(d->ready, &junk, sizeof junk) > 0) {
	}
	while (REAL(read)(d->wake, &junk, sizeof junk) > 0) {
	}
	/* ossd's own trigger stays on for the directions the library runs. */
	int bits = (s->out.mapped ? PCM_ENABLE_OUTPUT : 0) | (s->in.mapped ? PCM_ENABLE_INPUT : 0);
	real_ioctl_call(d->io_fd, SNDCTL_DSP_SETTRIGGER, &bits);
	__atomic_store_n(&d->stop, 0, __ATOMIC_RELEASE);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&d->thread, NULL, copier, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == 0) {
		pthread_setname_np(d->thread, d->input ? "ossd-run-in" : "ossd-run-out");
		__atomic_store_n(&d->state, RUNNING, __ATOMIC_RELEASE);
		DBG("%s copier started: ring %zu bytes, frame %u bytes\n", d->input ? "input" : "output",
		    d->ring, d->frame);
	}
}

/* Stops the copier of d (lk held; released while the thread is joined, so
 * the caller must look again at what it read before). Returns with d IDLE. */
void copier_stop(struct dir *d)
{
	copier_wait_idle(d);
	if (d->state != RUNNING)
		return;
	__atomic_store_n(&d->state, STOPPING, __ATOMIC_RELEASE);
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	(void)!REAL(write)(d->wake, &one, sizeof one);
	pthread_t t = d->thread;
	pthread_mutex_unlock(&lk);
	pthread_join(t, NULL);
	pthread_mutex_lock(&lk);
	__atomic_store_n(&d->state, IDLE, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&idle_cv);
	DBG("%s copier stopped at %llu bytes\n", d->input ? "input" : "output",
	    (unsigned long long)__atomic_load_n(&d->ctl->bytes, __ATOMIC_ACQUIRE));
}

/* A forked child has no copier, and no thread holds lk there. */
void copiers_forked(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t fresh_cv = PTHREAD_COND_INITIALIZER;
	memcpy(&lk, &fresh, sizeof lk);
	memcpy(&idle_cv, &fresh_cv, sizeof idle_cv);
	streams_forked();
}
