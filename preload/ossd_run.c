/*
 * libossd-run: mmap() of ossd's /dev/dsp, for programs run under `ossd-run`.
 *
 * CUSE cannot map a buffer into a client, so ossd itself never offers
 * DSP_CAP_MMAP. This library, preloaded into a program (LD_PRELOAD, the
 * dynamic loader picks the 64- or 32-bit build through $LIB), emulates what a
 * kernel driver's DMA buffer does, on ossd's files only:
 *
 *   - Recognition: a file is ossd's when it is a character device and answers
 *     ossd's private ioctl SNDCTL_DSP_OSSD_IDENT (src/oss/soundcard.rs) with
 *     its magic. Asked lazily: only when the program calls GETCAPS,
 *     GETOSPACE/GETISPACE/GETBLKSIZE or mmap() on the fd. Any other fd, and
 *     every other call, goes straight to the C library.
 *   - GETCAPS on ossd's file adds DSP_CAP_MMAP | DSP_CAP_TRIGGER. From then
 *     until the program's first read() or write() on it, GETOSPACE/GETISPACE
 *     and GETBLKSIZE report the buffer a mapping gets (OSSD_RUN_BUFFER bytes,
 *     default 64 KiB, a power of two, in 2 KiB fragments) whatever the format,
 *     as a driver's DMA buffer is. A program that never asks GETCAPS, or that
 *     writes or reads, sees ossd's own answers.
 *   - mmap(NULL, size, PROT_WRITE or PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)
 *     is the output buffer, PROT_READ alone the input buffer: shared memory
 *     (a memfd, so a forked child shares it). Offset not 0, a size beyond the
 *     buffer, or MAP_PRIVATE: EINVAL, as a driver answers.
 *   - SETTRIGGER with the direction's bit starts a copier thread (all signals
 *     blocked) at ptr 0. Output: after priming ossd with one ossd buffer of
 *     silence, it takes one ossd fragment at a time from the ring at the
 *     pointer, moves the pointer past it and writes it to ossd (a blocking
 *     write, which ossd parks until it has room); the pointer GETOPTR reports
 *     is where the copier has taken the ring to, so what the program paints
 *     ahead of it is heard one ossd buffer (GETODELAY) plus at most the
 *     fragment in flight later, as if written there. Input: blocking reads of
 *     one ossd fragment into the ring, and the pointer (GETIPTR) moves.
 *   - GETOPTR/GETIPTR: ptr = the frame-aligned offset in the ring, blocks =
 *     fragments passed since the last call, bytes = the running total (kept in
 *     the shared memory, so a forked child reads the live pointer).
 *     poll/select: a mapped direction is ready once a fragment passed since
 *     the last GETOPTR/GETIPTR (as ALSA's OSS emulation does).
 *   - The copier writes through its own dup of the fd (close-on-exec): the
 *     mapping outlives close() until munmap(); the last munmap of a file whose
 *     fds are all closed halts it (as a driver's release does) and drops the
 *     dup, so ossd's client goes. A forked child keeps the memory but not the
 *     copier (nor the dup); exec drops both; a killed program's fds close.
 *
 * The OSS names (fragsize, fragstotal, ptr, blocks) are kept. The ioctl
 * prototype is glibc's (unsigned long request); musl's is int, and programs
 * linked against musl do not load a glibc preload anyway.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/soundcard.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ossd's own call (src/oss/soundcard.rs SNDCTL_DSP_OSSD_IDENT). */
struct ossd_ident {
	uint32_t magic;
	uint32_t version;
};
#define SNDCTL_DSP_OSSD_IDENT _IOR('P', 0xf0, struct ossd_ident)
#define OSSD_IDENT_MAGIC 0x6f737364u /* "ossd" */
_Static_assert(SNDCTL_DSP_OSSD_IDENT == 0x800850f0u, "ossd's number (src/oss/dsp.rs test)");

/* OSS 4 numbers Linux's header lacks. */
#ifndef SNDCTL_DSP_HALT_INPUT
#define SNDCTL_DSP_HALT_INPUT _IO('P', 33)
#endif
#ifndef SNDCTL_DSP_HALT_OUTPUT
#define SNDCTL_DSP_HALT_OUTPUT _IO('P', 34)
#endif

#define FD_MAX 4096       /* fds above this pass through untouched */
#define FRAGSIZE 2048     /* the emulated buffer's fragment */
#define MAX_MAPS 16

/* The real functions (the next definition after ours). */
#define REAL(name) ((__typeof__(&name))real_sym(&real_##name, #name))
static void *real_sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		if (!p && strcmp(name, "fcntl64") == 0)
			p = dlsym(RTLD_NEXT, "fcntl");
		if (!p) {
			static const char msg[] = "ossd-run: a C library function is missing\n";
			(void)!write(2, msg, sizeof msg - 1);
			abort();
		}
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}
static void *real_open, *real_open64, *real_openat, *real_openat64, *real___open_2, *real___open64_2,
	*real___openat_2, *real___openat64_2, *real_close, *real_dup, *real_dup2, *real_dup3, *real_fcntl,
	*real_fcntl64, *real_ioctl, *real_mmap, *real_mmap64, *real_munmap, *real_poll, *real___poll_chk,
	*real_select, *real_read, *real___read_chk, *real_write;

static int debug = -1;
#define DBG(...)                                                                                            \
	do {                                                                                                \
		if (debug > 0) {                                                                            \
			int e_ = errno;                                                                     \
			dprintf(2, "ossd-run[%d]: ", (int)getpid());                                        \
			dprintf(2, __VA_ARGS__);                                                            \
			errno = e_;                                                                         \
		}                                                                                           \
	} while (0)

/* The counters, in the first page of the shared memory. */
struct ctl {
	uint64_t bytes; /* moved in all: taken to ossd (output), or brought from it (input) */
};

/* One mapped direction of a file. */
struct dir {
	int mapped;
	int input;          /* the input buffer (PROT_READ) */
	unsigned char *user; /* the program's view */
	size_t user_len;
	unsigned char *view; /* ours: the ctl page, then the ring */
	size_t view_len;
	struct ctl *ctl;
	unsigned char *buf;  /* the ring, in our view */
	size_t ring;        /* bytes the pointer cycles through: whole frames */
	unsigned frame;     /* bytes per frame while running */
	int afmt;           /* the format while running */
	uint64_t blocks_seen;
	int ready;          /* eventfd: a fragment passed since the last GETxPTR */
	int wake;           /* eventfd: tells the copier to stop */
	int running;
	pid_t owner;        /* the process whose copier it is */
	pthread_t thread;
	int stop;
	int io_fd;          /* the file's dup the copier uses */
};

/* One open file of ossd's /dev/dsp, as the program's fds share it. */
struct stream {
	int fds;            /* the program's fds on it */
	int caps_asked;     /* GETCAPS answered with DSP_CAP_MMAP ... */
	int io_started;     /* ... before any read() or write() */
	int io_fd;          /* our dup (close-on-exec) while mapped, else -1 */
	unsigned trig;      /* the trigger bits of the mapped directions */
	dev_t rdev;
	ino_t ino;
	struct dir out, in;
};

struct map {
	void *addr;
	struct stream *s;
	struct dir *d;
};

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static struct stream *tab[FD_MAX]; /* fd -> ossd's file, for fds known to be */
static struct map maps[MAX_MAPS];
static int nmapped;                /* mappings alive (fast paths skip when 0) */
static size_t buffer_bytes;        /* the emulated buffer */

static void setup(void)
{
	if (debug >= 0)
		return;
	const char *v = getenv("OSSD_RUN_DEBUG");
	debug = v && *v && strcmp(v, "0") != 0;
	size_t b = 65536;
	v = getenv("OSSD_RUN_BUFFER");
	if (v && *v) {
		unsigned long x = strtoul(v, NULL, 0);
		if (x >= 8192 && x <= (1ul << 20) && (x & (x - 1)) == 0)
			b = x;
	}
	buffer_bytes = b;
}

static int real_ioctl_call(int fd, unsigned long req, void *arg)
{
	return REAL(ioctl)(fd, req, arg);
}

/* ossd's /dev/dsp? (a character device that answers the ident call) */
static int recognise(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0 || !S_ISCHR(st->st_mode))
		return 0;
	struct ossd_ident id = {0, 0};
	int e = errno;
	int r = real_ioctl_call(fd, SNDCTL_DSP_OSSD_IDENT, &id);
	errno = e;
	return r == 0 && id.magic == OSSD_IDENT_MAGIC && id.version >= 1;
}

/* Frees a stream nothing refers to any more, and its fds. */
static void stream_free(struct stream *s)
{
	int fds[5] = {s->io_fd, s->out.ready, s->out.wake, s->in.ready, s->in.wake};
	for (int i = 0; i < 5; i++)
		if (fds[i] >= 0)
			REAL(close)(fds[i]);
	free(s);
}

static void stream_put(struct stream *s)
{
	if (s->fds == 0 && !s->out.mapped && !s->in.mapped)
		stream_free(s);
}

/* The stream of fd, recognising it if need be (lock held). NULL: not ossd's. */
static struct stream *stream_of(int fd, int probe)
{
	if (fd < 0 || fd >= FD_MAX)
		return NULL;
	struct stream *s = tab[fd];
	struct stat st;
	if (s) {
		if (s->out.mapped || s->in.mapped || !probe)
			return s;
		/* Still the same file? (an fd closed behind our back, e.g. by fclose) */
		if (fstat(fd, &st) == 0 && st.st_rdev == s->rdev && st.st_ino == s->ino)
			return s;
		tab[fd] = NULL;
		s->fds--;
		stream_put(s);
		s = NULL;
	}
	if (!probe || !recognise(fd, &st))
		return NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->fds = 1;
	s->io_fd = -1;
	s->rdev = st.st_rdev;
	s->ino = st.st_ino;
	s->out.ready = s->out.wake = s->in.ready = s->in.wake = -1;
	s->out.io_fd = s->in.io_fd = -1;
	s->in.input = 1;
	tab[fd] = s;
	DBG("fd %d is ossd's /dev/dsp\n", fd);
	return s;
}

/* Forgets fd (it was closed, or reused by open/dup2). Lock held. */
static void forget(int fd)
{
	if (fd < 0 || fd >= FD_MAX || !tab[fd])
		return;
	struct stream *s = tab[fd];
	tab[fd] = NULL;
	s->fds--;
	stream_put(s);
}

/* ------------------------------------------------------------------ the copier */

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
static int copier_wait(struct dir *d, short ev)
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

static void *copier(void *arg)
{
	struct dir *d = arg;
	size_t half = d->ring / 2;
	unsigned char *tmp = malloc(d->ring);
	if (!tmp)
		return NULL;
	uint64_t bytes = __atomic_load_n(&d->ctl->bytes, __ATOMIC_ACQUIRE);
	if (!d->input)
		prime(d, tmp);
	/* One ossd fragment per blocking write (read): ossd parks it until it
	 * has room (data), so the copier is paced by ossd at one request per
	 * fragment, the cost of a program that write()s. The pointer is ahead
	 * of what ossd took by the fragment in flight. Only an ossd buffer
	 * larger than half the ring is fed by poll and GETOSPACE instead, to
	 * keep the rest of the ring the program's. */
	audio_buf_info geo;
	size_t chunk = 0;
	if (real_ioctl_call(d->io_fd, d->input ? SNDCTL_DSP_GETISPACE : SNDCTL_DSP_GETOSPACE, &geo) == 0 &&
	    geo.fragsize > 0 && (d->input || (size_t)geo.fragstotal * (size_t)geo.fragsize <= half)) {
		chunk = (size_t)geo.fragsize - (size_t)geo.fragsize % d->frame;
		if (chunk > half)
			chunk = 0;
	}
	DBG("%s copier: %zu bytes per wake-up%s\n", d->input ? "input" : "output", chunk,
	    chunk ? "" : " (as GETOSPACE says)");
	/* The first fragment of the ring is taken once ossd has played some of
	 * the priming (a blocking write would take it at once). */
	int first = !d->input;
	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		audio_buf_info bi;
		if (chunk && first) {
			first = 0;
			if (copier_wait(d, POLLOUT) <= 0)
				break;
		}
		if (chunk) {
			bi.bytes = (int)chunk;
			bi.fragstotal = bi.fragsize = 0;
		} else {
			int w = copier_wait(d, d->input ? POLLIN : POLLOUT);
			if (w <= 0) {
				if (w < 0)
					DBG("copier: ossd's file failed (%s); stopping\n", strerror(errno));
				break;
			}
			if (real_ioctl_call(d->io_fd, d->input ? SNDCTL_DSP_GETISPACE : SNDCTL_DSP_GETOSPACE, &bi) < 0)
				break;
		}
		size_t n = bi.bytes > 0 ? (size_t)bi.bytes : 0;
		if (!d->input && !chunk) {
			/* Never more than half the ring in ossd: the rest is the program's. */
			size_t queued = (size_t)bi.fragstotal * bi.fragsize - n;
			n = queued >= half ? 0 : (n < half - queued ? n : half - queued);
		} else if (n > half) {
			n = half;
		}
		n -= n % d->frame;
		if (n == 0) {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		size_t pos = bytes % d->ring, first = n < d->ring - pos ? n : d->ring - pos;
		if (d->input) {
			size_t got = 0;
			while (got < n) {
				ssize_t r = REAL(read)(d->io_fd, tmp + got, n - got);
				if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
					if (copier_wait(d, POLLIN) <= 0)
						goto out;
					continue;
				}
				if (r <= 0)
					goto out;
				got += (size_t)r;
				if (__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE))
					goto out;
			}
			memcpy(d->buf + pos, tmp, first);
			memcpy(d->buf, tmp + first, n - first);
			__atomic_store_n(&d->ctl->bytes, bytes + n, __ATOMIC_RELEASE);
		} else {
			/* The snapshot, then the pointer moves past it, then ossd gets it. */
			memcpy(tmp, d->buf + pos, first);
			memcpy(tmp + first, d->buf, n - first);
			__atomic_store_n(&d->ctl->bytes, bytes + n, __ATOMIC_RELEASE);
			size_t put = 0;
			while (put < n) {
				ssize_t r = REAL(write)(d->io_fd, tmp + put, n - put);
				if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
					if (copier_wait(d, POLLOUT) <= 0)
						goto out;
					continue;
				}
				if (r <= 0)
					goto out;
				put += (size_t)r;
			}
		}
		signal_ready(d, bytes, bytes + n);
		bytes += n;
	}
out:
	free(tmp);
	return NULL;
}

/* Starts the copier of d at ptr 0 (lock held). */
static void copier_start(struct stream *s, struct dir *d)
{
	if (d->running || d->owner != getpid())
		return;
	d->frame = frame_bytes(d->io_fd, &d->afmt);
	d->ring = (d->view_len - (size_t)sysconf(_SC_PAGESIZE));
	d->ring -= d->ring % d->frame;
	__atomic_store_n(&d->ctl->bytes, 0, __ATOMIC_RELEASE);
	d->blocks_seen = 0;
	uint64_t junk;
	while (REAL(read)(d->ready, &junk, sizeof junk) > 0) {
	}
	while (REAL(read)(d->wake, &junk, sizeof junk) > 0) {
	}
	/* ossd's own trigger stays on for the directions the library runs. */
	int bits = (s->out.mapped ? PCM_ENABLE_OUTPUT : 0) | (s->in.mapped ? PCM_ENABLE_INPUT : 0);
	real_ioctl_call(d->io_fd, SNDCTL_DSP_SETTRIGGER, &bits);
	d->stop = 0;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&d->thread, NULL, copier, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == 0) {
		pthread_setname_np(d->thread, d->input ? "ossd-run-in" : "ossd-run-out");
		d->running = 1;
		DBG("%s copier started: ring %zu bytes, frame %u bytes\n", d->input ? "input" : "output",
		    d->ring, d->frame);
	}
}

/* Stops the copier of d (lock held; the copier never takes it). */
static void copier_stop(struct dir *d)
{
	if (!d->running)
		return;
	__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	(void)!REAL(write)(d->wake, &one, sizeof one);
	pthread_join(d->thread, NULL);
	d->running = 0;
	DBG("%s copier stopped at %llu bytes\n", d->input ? "input" : "output",
	    (unsigned long long)__atomic_load_n(&d->ctl->bytes, __ATOMIC_ACQUIRE));
}

/* A forked child: the memory is shared, the copiers and the dup are not. */
static void atfork_child(void)
{
	pthread_mutex_init(&lk, NULL);
	for (int i = 0; i < MAX_MAPS; i++) {
		struct stream *s = maps[i].s;
		if (!s)
			continue;
		s->out.running = s->in.running = 0;
		if (s->io_fd >= 0) {
			REAL(close)(s->io_fd);
			s->io_fd = -1;
			s->out.io_fd = s->in.io_fd = -1;
		}
	}
}

__attribute__((constructor)) static void init(void)
{
	setup();
	pthread_atfork(NULL, NULL, atfork_child);
}

/* ------------------------------------------------------------------ ioctl */

static void buf_info(void *arg, int fragments, int fragstotal, int fragsize)
{
	audio_buf_info bi = {fragments, fragstotal, fragsize, fragments * fragsize};
	memcpy(arg, &bi, sizeof bi);
}

static void get_ptr(struct dir *d, void *arg)
{
	count_info ci = {0, 0, 0};
	uint64_t b = __atomic_load_n(&d->ctl->bytes, __ATOMIC_ACQUIRE);
	uint64_t blocks = b / FRAGSIZE;
	size_t ring = d->ring ? d->ring : d->view_len - (size_t)sysconf(_SC_PAGESIZE);
	ci.bytes = (int)(uint32_t)b;
	ci.blocks = (int)(blocks - d->blocks_seen);
	ci.ptr = (int)(b % ring);
	d->blocks_seen = blocks;
	uint64_t junk;
	if (d->ready >= 0)
		while (REAL(read)(d->ready, &junk, sizeof junk) > 0) {
		}
	memcpy(arg, &ci, sizeof ci);
}

/* The calls the library answers or watches; everything else goes through. */
static int watched(unsigned int cmd)
{
	switch (cmd) {
	case SNDCTL_DSP_GETCAPS: case SNDCTL_DSP_GETOSPACE: case SNDCTL_DSP_GETISPACE:
	case SNDCTL_DSP_GETBLKSIZE: case SNDCTL_DSP_GETOPTR: case SNDCTL_DSP_GETIPTR:
	case SNDCTL_DSP_SETTRIGGER: case SNDCTL_DSP_GETTRIGGER: case SNDCTL_DSP_RESET:
	case SNDCTL_DSP_HALT_INPUT: case SNDCTL_DSP_HALT_OUTPUT: case SNDCTL_DSP_SYNC:
		return 1;
	}
	return 0;
}

static int mmap_ioctl(int fd, unsigned int cmd, void *arg, int *handled)
{
	struct stream *s;
	int r, probe = cmd == SNDCTL_DSP_GETCAPS || cmd == SNDCTL_DSP_GETOSPACE ||
		       cmd == SNDCTL_DSP_GETISPACE || cmd == SNDCTL_DSP_GETBLKSIZE;
	int nfrags = (int)(buffer_bytes / FRAGSIZE);
	*handled = 1;
	s = stream_of(fd, probe);
	if (!s) {
		*handled = 0;
		return 0;
	}
	int mapped = s->out.mapped || s->in.mapped;
	int geometry = mapped || (s->caps_asked && !s->io_started);
	switch (cmd) {
	case SNDCTL_DSP_GETCAPS:
		r = real_ioctl_call(fd, cmd, arg);
		if (r == 0) {
			*(int *)arg |= DSP_CAP_MMAP | DSP_CAP_TRIGGER;
			if (!s->io_started)
				s->caps_asked = 1;
		}
		return r;
	case SNDCTL_DSP_GETOSPACE:
	case SNDCTL_DSP_GETISPACE:
		if (!geometry)
			break;
		/* The buffer a mapping has, or gets: all of it the program's to
		 * paint (output); nothing recorded yet before a mapping (input). */
		if (cmd == SNDCTL_DSP_GETISPACE && !s->in.mapped)
			buf_info(arg, 0, nfrags, FRAGSIZE);
		else
			buf_info(arg, nfrags, nfrags, FRAGSIZE);
		return 0;
	case SNDCTL_DSP_GETBLKSIZE:
		if (!geometry)
			break;
		*(int *)arg = FRAGSIZE;
		return 0;
	case SNDCTL_DSP_GETOPTR:
		if (!s->out.mapped)
			break;
		get_ptr(&s->out, arg);
		return 0;
	case SNDCTL_DSP_GETIPTR:
		if (!s->in.mapped)
			break;
		get_ptr(&s->in, arg);
		return 0;
	case SNDCTL_DSP_SETTRIGGER: {
		if (!mapped)
			break;
		unsigned bits = (unsigned)*(int *)arg;
		unsigned mine = (s->out.mapped ? PCM_ENABLE_OUTPUT : 0) | (s->in.mapped ? PCM_ENABLE_INPUT : 0);
		/* ossd keeps the mapped directions enabled: the copiers gate them. */
		int pass = (int)(bits | mine);
		r = real_ioctl_call(fd, cmd, &pass);
		if (r < 0)
			return r;
		struct dir *ds[2] = {&s->out, &s->in};
		unsigned bit[2] = {PCM_ENABLE_OUTPUT, PCM_ENABLE_INPUT};
		for (int i = 0; i < 2; i++) {
			if (!ds[i]->mapped)
				continue;
			if (bits & bit[i])
				copier_start(s, ds[i]);
			else
				copier_stop(ds[i]);
		}
		s->trig = bits & mine;
		return 0;
	}
	case SNDCTL_DSP_GETTRIGGER: {
		if (!mapped)
			break;
		unsigned mine = (s->out.mapped ? PCM_ENABLE_OUTPUT : 0) | (s->in.mapped ? PCM_ENABLE_INPUT : 0);
		r = real_ioctl_call(fd, cmd, arg);
		if (r == 0)
			*(int *)arg = (int)(((unsigned)*(int *)arg & ~mine) | (s->trig & mine));
		return r;
	}
	case SNDCTL_DSP_RESET:
	case SNDCTL_DSP_HALT_OUTPUT:
	case SNDCTL_DSP_HALT_INPUT:
		if (!mapped)
			break;
		/* The DMA stops and the pointer goes back to 0; the next
		 * SETTRIGGER starts it again. */
		if (cmd != SNDCTL_DSP_HALT_INPUT && s->out.mapped) {
			copier_stop(&s->out);
			__atomic_store_n(&s->out.ctl->bytes, 0, __ATOMIC_RELEASE);
			s->out.blocks_seen = 0;
			s->trig &= ~(unsigned)PCM_ENABLE_OUTPUT;
		}
		if (cmd != SNDCTL_DSP_HALT_OUTPUT && s->in.mapped) {
			copier_stop(&s->in);
			__atomic_store_n(&s->in.ctl->bytes, 0, __ATOMIC_RELEASE);
			s->in.blocks_seen = 0;
			s->trig &= ~(unsigned)PCM_ENABLE_INPUT;
		}
		break;
	case SNDCTL_DSP_SYNC:
		/* A running DMA buffer never drains. */
		if (s->out.running)
			return 0;
		break;
	}
	*handled = 0;
	return 0;
}

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	unsigned int cmd = (unsigned int)request;
	if (!watched(cmd) || fd < 0 || fd >= FD_MAX)
		return real_ioctl_call(fd, request, arg);
	setup();
	int handled, r;
	pthread_mutex_lock(&lk);
	r = mmap_ioctl(fd, cmd, arg, &handled);
	pthread_mutex_unlock(&lk);
	if (handled)
		return r;
	return real_ioctl_call(fd, request, arg);
}

/* ------------------------------------------------------------------ mmap */

static void *map_ossd(struct stream *s, void *addr, size_t len, int prot, int flags, int fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int input = (prot & (PROT_READ | PROT_WRITE)) == PROT_READ;
	struct dir *d = input ? &s->in : &s->out;
	int acc = REAL(fcntl)(fd, F_GETFL);
	if ((flags & MAP_TYPE) != MAP_SHARED && (flags & MAP_TYPE) != MAP_SHARED_VALIDATE) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (len == 0 || len > buffer_bytes) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (acc >= 0 && ((input && (acc & O_ACCMODE) == O_WRONLY) || (!input && (acc & O_ACCMODE) == O_RDONLY))) {
		errno = EACCES;
		return MAP_FAILED;
	}
	if (d->mapped) {
		errno = EBUSY;
		return MAP_FAILED;
	}
	int slot = -1;
	for (int i = 0; i < MAX_MAPS; i++)
		if (!maps[i].s) {
			slot = i;
			break;
		}
	if (slot < 0) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	int mfd = memfd_create("ossd-run", MFD_CLOEXEC);
	if (mfd < 0)
		return MAP_FAILED;
	size_t view_len = page + buffer_bytes;
	void *view = MAP_FAILED, *user = MAP_FAILED;
	if (ftruncate(mfd, (off_t)view_len) == 0)
		view = REAL(mmap)(NULL, view_len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (view != MAP_FAILED)
		user = REAL(mmap)(addr, len, prot,
				  MAP_SHARED | (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_LOCKED)),
				  mfd, (off_t)page);
	int e = errno;
	REAL(close)(mfd);
	if (user == MAP_FAILED) {
		if (view != MAP_FAILED)
			REAL(munmap)(view, view_len);
		errno = e;
		return MAP_FAILED;
	}
	if (s->io_fd < 0) {
		s->io_fd = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 3);
		if (s->io_fd < 0) {
			e = errno;
			REAL(munmap)(user, len);
			REAL(munmap)(view, view_len);
			errno = e;
			return MAP_FAILED;
		}
	}
	if (d->ready < 0)
		d->ready = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wake < 0)
		d->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->mapped = 1;
	d->user = user;
	d->user_len = len;
	d->view = view;
	d->view_len = view_len;
	d->ctl = view;
	d->buf = (unsigned char *)view + page;
	d->ring = buffer_bytes;
	d->frame = 1;
	d->owner = getpid();
	d->io_fd = s->io_fd;
	d->blocks_seen = 0;
	maps[slot].addr = user;
	maps[slot].s = s;
	maps[slot].d = d;
	__atomic_add_fetch(&nmapped, 1, __ATOMIC_RELAXED);
	DBG("fd %d: mapped %zu bytes (%s) at %p\n", fd, len, input ? "input" : "output", user);
	return user;
}

static void *do_mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off, int is64)
{
	if (fd >= 0 && fd < FD_MAX && !(flags & MAP_ANONYMOUS)) {
		setup();
		pthread_mutex_lock(&lk);
		struct stream *s = stream_of(fd, 1);
		void *p = NULL;
		if (s) {
			if (off != 0) {
				errno = EINVAL;
				p = MAP_FAILED;
			} else {
				p = map_ossd(s, addr, len, prot, flags, fd);
			}
		}
		pthread_mutex_unlock(&lk);
		if (s)
			return p;
	}
	if (is64)
		return REAL(mmap64)(addr, len, prot, flags, fd, (off64_t)off);
	return REAL(mmap)(addr, len, prot, flags, fd, (off_t)off);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(addr, len, prot, flags, fd, (int64_t)off, 0);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return do_mmap(addr, len, prot, flags, fd, (int64_t)off, 1);
}

/* Unmaps a mapping of ours (lock held). */
static void unmap(int slot)
{
	struct stream *s = maps[slot].s;
	struct dir *d = maps[slot].d;
	copier_stop(d);
	REAL(munmap)(d->user, d->user_len);
	REAL(munmap)(d->view, d->view_len);
	d->mapped = 0;
	d->user = d->view = NULL;
	d->ctl = NULL;
	d->buf = NULL;
	memset(&maps[slot], 0, sizeof maps[slot]);
	__atomic_sub_fetch(&nmapped, 1, __ATOMIC_RELAXED);
	DBG("unmapped the %s buffer\n", d->input ? "input" : "output");
	if (!s->out.mapped && !s->in.mapped && s->io_fd >= 0) {
		/* The program closed every fd: this was the file's last use, and a
		 * driver's release stops the DMA at once (no drain). */
		if (s->fds == 0) {
			int e = errno;
			real_ioctl_call(s->io_fd, SNDCTL_DSP_RESET, NULL);
			errno = e;
		}
		REAL(close)(s->io_fd);
		s->io_fd = s->out.io_fd = s->in.io_fd = -1;
	}
	stream_put(s);
}

int munmap(void *addr, size_t len)
{
	if (__atomic_load_n(&nmapped, __ATOMIC_RELAXED) > 0) {
		pthread_mutex_lock(&lk);
		for (int i = 0; i < MAX_MAPS; i++) {
			if (maps[i].s && maps[i].addr == addr) {
				unmap(i);
				pthread_mutex_unlock(&lk);
				return 0;
			}
		}
		pthread_mutex_unlock(&lk);
	}
	return REAL(munmap)(addr, len);
}

/* ------------------------------------------------------------------ fds */

/* A new fd from open*(): whatever was known about its number is stale. */
static int opened(int fd)
{
	if (fd >= 0 && fd < FD_MAX && __atomic_load_n(&tab[fd], __ATOMIC_RELAXED)) {
		int e = errno;
		pthread_mutex_lock(&lk);
		forget(fd);
		pthread_mutex_unlock(&lk);
		errno = e;
	}
	return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return opened(REAL(open)(path, flags, m));
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return opened(REAL(open64)(path, flags, m));
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return opened(REAL(openat)(dirfd, path, flags, m));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return opened(REAL(openat64)(dirfd, path, flags, m));
}

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __open_2(const char *path, int flags) { return opened(REAL(__open_2)(path, flags)); }
int __open64_2(const char *path, int flags) { return opened(REAL(__open64_2)(path, flags)); }
int __openat_2(int dirfd, const char *path, int flags) { return opened(REAL(__openat_2)(dirfd, path, flags)); }
int __openat64_2(int dirfd, const char *path, int flags) { return opened(REAL(__openat64_2)(dirfd, path, flags)); }

int close(int fd)
{
	if (fd >= 0 && fd < FD_MAX && __atomic_load_n(&tab[fd], __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&lk);
		forget(fd);
		pthread_mutex_unlock(&lk);
	}
	return REAL(close)(fd);
}

/* newfd now refers to what oldfd does (a dup of any kind). */
static int duped(int oldfd, int newfd)
{
	if (newfd < 0 || newfd >= FD_MAX)
		return newfd;
	int e = errno;
	pthread_mutex_lock(&lk);
	forget(newfd);
	if (oldfd >= 0 && oldfd < FD_MAX && tab[oldfd]) {
		tab[newfd] = tab[oldfd];
		tab[newfd]->fds++;
	}
	pthread_mutex_unlock(&lk);
	errno = e;
	return newfd;
}

int dup(int fd)
{
	return duped(fd, REAL(dup)(fd));
}

int dup2(int oldfd, int newfd)
{
	int r = REAL(dup2)(oldfd, newfd);
	return r >= 0 && oldfd != newfd ? duped(oldfd, r) : r;
}

int dup3(int oldfd, int newfd, int flags)
{
	int r = REAL(dup3)(oldfd, newfd, flags);
	return r >= 0 ? duped(oldfd, r) : r;
}

static int fcntl_common(int fd, int cmd, void *arg, int is64)
{
	int r = is64 ? REAL(fcntl64)(fd, cmd, arg) : REAL(fcntl)(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		return duped(fd, r);
	return r;
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, 0);
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, 1);
}

/* The first read() or write() on a file ends the time GETOSPACE reports the
 * mapping's geometry (a program that does I/O gets ossd's own). */
static void io_on(int fd)
{
	if (fd >= 0 && fd < FD_MAX) {
		struct stream *s = __atomic_load_n(&tab[fd], __ATOMIC_RELAXED);
		if (s && !__atomic_load_n(&s->io_started, __ATOMIC_RELAXED)) {
			pthread_mutex_lock(&lk);
			if (tab[fd])
				tab[fd]->io_started = 1;
			pthread_mutex_unlock(&lk);
		}
	}
}

ssize_t read(int fd, void *buf, size_t n)
{
	io_on(fd);
	return REAL(read)(fd, buf, n);
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	io_on(fd);
	return REAL(__read_chk)(fd, buf, n, buflen);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	io_on(fd);
	return REAL(write)(fd, buf, n);
}

/* ------------------------------------------------------------------ poll, select */

/* A mapped direction polls as its `ready` eventfd: a fragment passed since
 * the last GETOPTR/GETIPTR. The rest of an fd's events go to the fd. */
struct sub {
	int i;          /* the caller's entry */
	short as;       /* 0: the fd itself; else the bits a readable eventfd means */
};

static int mapped_poll(struct pollfd *fds, nfds_t n, int timeout, int *done)
{
	*done = 0;
	if (__atomic_load_n(&nmapped, __ATOMIC_RELAXED) == 0 || n > 1024)
		return 0;
	struct pollfd q[2048];
	struct sub sub[2048];
	size_t m = 0;
	int any = 0;
	pthread_mutex_lock(&lk);
	for (nfds_t i = 0; i < n; i++) {
		int fd = fds[i].fd;
		struct stream *s = fd >= 0 && fd < FD_MAX ? tab[fd] : NULL;
		short ev = fds[i].events, rest = ev;
		if (s && s->out.mapped && s->out.ready >= 0 && (ev & (POLLOUT | POLLWRNORM))) {
			q[m] = (struct pollfd){s->out.ready, POLLIN, 0};
			sub[m++] = (struct sub){(int)i, (short)(ev & (POLLOUT | POLLWRNORM))};
			rest &= ~(POLLOUT | POLLWRNORM);
			any = 1;
		}
		if (s && s->in.mapped && s->in.ready >= 0 && (ev & (POLLIN | POLLRDNORM))) {
			q[m] = (struct pollfd){s->in.ready, POLLIN, 0};
			sub[m++] = (struct sub){(int)i, (short)(ev & (POLLIN | POLLRDNORM))};
			rest &= ~(POLLIN | POLLRDNORM);
			any = 1;
		}
		if (rest == ev || rest) {
			q[m] = (struct pollfd){fd, rest, 0};
			sub[m++] = (struct sub){(int)i, 0};
		}
	}
	pthread_mutex_unlock(&lk);
	if (!any)
		return 0;
	*done = 1;
	int r = REAL(poll)(q, (nfds_t)m, timeout);
	if (r < 0)
		return r;
	for (nfds_t i = 0; i < n; i++)
		fds[i].revents = 0;
	for (size_t k = 0; k < m; k++) {
		if (sub[k].as == 0)
			fds[sub[k].i].revents |= q[k].revents;
		else if (q[k].revents & POLLIN)
			fds[sub[k].i].revents |= sub[k].as;
	}
	r = 0;
	for (nfds_t i = 0; i < n; i++)
		r += fds[i].revents != 0;
	return r;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	int done, r = mapped_poll(fds, n, timeout, &done);
	return done ? r : REAL(poll)(fds, n, timeout);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	int done, r = mapped_poll(fds, n, timeout, &done);
	return done ? r : REAL(__poll_chk)(fds, n, timeout, fdslen);
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	int has = 0;
	if (__atomic_load_n(&nmapped, __ATOMIC_RELAXED) > 0 && nfds <= FD_SETSIZE) {
		pthread_mutex_lock(&lk);
		for (int fd = 0; fd < nfds && fd < FD_MAX && !has; fd++) {
			struct stream *s = tab[fd];
			has = s && ((s->out.mapped && wr && FD_ISSET(fd, wr)) || (s->in.mapped && rd && FD_ISSET(fd, rd)));
		}
		pthread_mutex_unlock(&lk);
	}
	if (!has)
		return REAL(select)(nfds, rd, wr, ex, tv);
	/* The same question as a poll, which knows the mapped files. */
	struct pollfd p[FD_SETSIZE];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((rd && FD_ISSET(fd, rd) ? POLLIN : 0) | (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
				   (ex && FD_ISSET(fd, ex) ? POLLPRI : 0));
		if (ev)
			p[n++] = (struct pollfd){fd, ev, 0};
	}
	int ms = -1;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (tv)
		ms = (int)(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000);
	int r = poll(p, n, ms);
	if (tv) {
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long long left = (long long)tv->tv_sec * 1000000 + tv->tv_usec -
				 ((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000);
		if (left < 0)
			left = 0;
		tv->tv_sec = (time_t)(left / 1000000);
		tv->tv_usec = (suseconds_t)(left % 1000000);
	}
	if (r < 0)
		return r;
	for (nfds_t i = 0; i < n; i++) {
		if (p[i].revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
	}
	if (rd)
		FD_ZERO(rd);
	if (wr)
		FD_ZERO(wr);
	if (ex)
		FD_ZERO(ex);
	r = 0;
	for (nfds_t i = 0; i < n; i++) {
		short re = p[i].revents;
		if (rd && (re & (POLLIN | POLLHUP | POLLERR)) && (p[i].events & POLLIN)) {
			FD_SET(p[i].fd, rd);
			r++;
		}
		if (wr && (re & (POLLOUT | POLLERR)) && (p[i].events & POLLOUT)) {
			FD_SET(p[i].fd, wr);
			r++;
		}
		if (ex && (re & POLLPRI) && (p[i].events & POLLPRI)) {
			FD_SET(p[i].fd, ex);
			r++;
		}
	}
	return r;
}
