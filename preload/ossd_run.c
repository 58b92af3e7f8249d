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
 * Threads, signals and fds (fds.c has the details): the library keeps an fd
 * table of atomics, read without a lock, as the kernel reads its own. read,
 * write, close, close_range, dup*, fcntl, open*, fclose, poll, select and
 * GETOPTR/GETIPTR never take a lock, so a signal handler may call any of them
 * on any fd whatever its thread was doing in the library. The one lock is
 * taken only by SETTRIGGER, RESET and HALT on a mapped file and by mmap and
 * munmap of ossd's file, and never held while a copier is joined. Before the
 * library acts on an fd as ossd's file it checks that the fd still is that
 * file (fstat's dev/ino/rdev, and kcmp while mapped): a number closed behind
 * its back (a raw system call, the C library's own closes) and taken by
 * another file is never mistaken for it. The library's own fds are
 * close-on-exec, sit near the top of the fd range, and outlive the program's
 * close loops, close_range and closefrom.
 *
 * The OSS names (fragsize, fragstotal, ptr, blocks) are kept. The ioctl
 * prototype is glibc's (unsigned long request); musl's is int, and programs
 * linked against musl do not load a glibc preload anyway. A 32-bit program
 * built with _TIME_BITS=64 calls __ioctl_time64, __fcntl_time64 and
 * __select64 instead of ioctl, fcntl and select: the library wraps those too.
 */
#include "ossd_run.h"
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

_Static_assert(SNDCTL_DSP_OSSD_IDENT == 0x800850f0u, "ossd's number (src/oss/dsp.rs test)");

#define REAL_DEFINE(name) void *real_##name;
REALS(REAL_DEFINE)
#undef REAL_DEFINE

static void *real_lookup(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p && strcmp(name, "fcntl64") == 0)
		p = dlsym(RTLD_NEXT, "fcntl");
	return p;
}

/* The real function in `slot`, looked up now if the constructor could not
 * (a call before it ran, or a name this C library lacks: then abort). */
void *real_sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!p) {
		p = real_lookup(name);
		if (!p) {
			static const char msg[] = "ossd-run: a C library function is missing\n";
			(void)!syscall(SYS_write, 2, msg, sizeof msg - 1);
			abort();
		}
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	}
	return p;
}

int debug = -1;
size_t buffer_bytes;

void setup(void)
{
	if (debug >= 0)
		return;
	const char *v = getenv("OSSD_RUN_DEBUG");
	size_t b = 65536;
	const char *bv = getenv("OSSD_RUN_BUFFER");
	if (bv && *bv) {
		unsigned long x = strtoul(bv, NULL, 0);
		if (x >= 8192 && x <= (1ul << 20) && (x & (x - 1)) == 0)
			b = x;
	}
	buffer_bytes = b;
	debug = v && *v && strcmp(v, "0") != 0;
}

/* Everything is looked up here, before the program runs: dlsym is not for
 * a signal handler, and the fd calls are. */
__attribute__((constructor)) static void init(void)
{
	setup();
#define REAL_RESOLVE(name)                                                                                  \
	if (!real_##name)                                                                                   \
		__atomic_store_n(&real_##name, real_lookup(#name), __ATOMIC_RELEASE);
	REALS(REAL_RESOLVE)
#undef REAL_RESOLVE
	pthread_atfork(NULL, NULL, copiers_forked);
}

int real_ioctl_call(int fd, unsigned long req, void *arg)
{
	int e = errno, r = REAL(ioctl)(fd, req, arg);
	if (r == 0)
		errno = e;
	return r;
}

/* ------------------------------------------------------------------ ioctl */

static void buf_info(void *arg, int fragments, int fragstotal, int fragsize)
{
	audio_buf_info bi = {fragments, fragstotal, fragsize, fragments * fragsize};
	memcpy(arg, &bi, sizeof bi);
}

static int is_mapped(const struct dir *d)
{
	return __atomic_load_n(&d->mapped, __ATOMIC_ACQUIRE);
}

static unsigned mapped_bits(const struct stream *s)
{
	return (is_mapped(&s->out) ? PCM_ENABLE_OUTPUT : 0) | (is_mapped(&s->in) ? PCM_ENABLE_INPUT : 0);
}

/* GETOPTR/GETIPTR, without a lock: the counters live as long as s. */
static void get_ptr(struct dir *d, void *arg)
{
	uint64_t b = __atomic_load_n(&d->ctl->bytes, __ATOMIC_ACQUIRE);
	uint64_t blocks = b / FRAGSIZE, seen = __atomic_load_n(&d->blocks_seen, __ATOMIC_ACQUIRE), passed = 0;
	/* Each fragment is reported once, whichever thread asks. */
	while (seen < blocks) {
		if (__atomic_compare_exchange_n(&d->blocks_seen, &seen, blocks, 1, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			passed = blocks - seen;
			break;
		}
	}
	size_t ring = __atomic_load_n(&d->ring, __ATOMIC_ACQUIRE);
	count_info ci = {(int)(uint32_t)b, (int)passed, (int)(b % ring)};
	uint64_t junk;
	while (REAL(read)(d->ready, &junk, sizeof junk) > 0) {
	}
	memcpy(arg, &ci, sizeof ci);
}

/* GETCAPS, and the geometry a mapping has or gets. */
static int ioctl_space(struct stream *s, int fd, unsigned cmd, void *arg, int *handled)
{
	int io = __atomic_load_n(&s->io_started, __ATOMIC_RELAXED);
	int geometry = mapped_bits(s) || (__atomic_load_n(&s->caps_asked, __ATOMIC_RELAXED) && !io);
	int nfrags = (int)(buffer_bytes / FRAGSIZE);
	*handled = 1;
	if (cmd == SNDCTL_DSP_GETCAPS) {
		int r = real_ioctl_call(fd, cmd, arg);
		if (r == 0) {
			*(int *)arg |= DSP_CAP_MMAP | DSP_CAP_TRIGGER;
			if (!io)
				__atomic_store_n(&s->caps_asked, 1, __ATOMIC_RELAXED);
		}
		return r;
	}
	if (!geometry) {
		*handled = 0;
	} else if (cmd == SNDCTL_DSP_GETBLKSIZE) {
		*(int *)arg = FRAGSIZE;
	} else if (cmd == SNDCTL_DSP_GETISPACE && !is_mapped(&s->in)) {
		/* The buffer a mapping has, or gets: all of it the program's to
		 * paint (output); nothing recorded yet before a mapping (input). */
		buf_info(arg, 0, nfrags, FRAGSIZE);
	} else {
		buf_info(arg, nfrags, nfrags, FRAGSIZE);
	}
	return 0;
}

/* SETTRIGGER on a mapped file: the copiers start and stop (lk). */
static int set_trigger(struct stream *s, int fd, void *arg, int *handled)
{
	unsigned bits = (unsigned)*(int *)arg;
	pthread_mutex_lock(&lk);
	unsigned mine = mapped_bits(s);
	int r = 0;
	*handled = mine != 0;
	if (mine) {
		/* ossd keeps the mapped directions enabled: the copiers gate them. */
		int pass = (int)(bits | mine);
		r = real_ioctl_call(fd, SNDCTL_DSP_SETTRIGGER, &pass);
		struct dir *ds[2] = {&s->out, &s->in};
		unsigned bit[2] = {PCM_ENABLE_OUTPUT, PCM_ENABLE_INPUT};
		for (int i = 0; i < 2 && r == 0; i++) {
			if (!(mine & bit[i]))
				continue;
			if (bits & bit[i])
				copier_start(s, ds[i]);
			else
				copier_stop(ds[i]);
		}
		if (r == 0)
			__atomic_store_n(&s->trig, bits & mine, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&lk);
	return r;
}

/* RESET and HALT: the DMA stops and the pointer goes back to 0; the next
 * SETTRIGGER starts it again (lk). ossd gets the call too. */
static void halt(struct stream *s, unsigned cmd)
{
	struct dir *ds[2] = {&s->out, &s->in};
	unsigned bit[2] = {PCM_ENABLE_OUTPUT, PCM_ENABLE_INPUT};
	int skip = cmd == SNDCTL_DSP_HALT_INPUT ? 0 : cmd == SNDCTL_DSP_HALT_OUTPUT ? 1 : -1;
	pthread_mutex_lock(&lk);
	for (int i = 0; i < 2; i++) {
		if (i == skip || !is_mapped(ds[i]))
			continue;
		copier_stop(ds[i]);
		__atomic_store_n(&ds[i]->ctl->bytes, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&ds[i]->blocks_seen, 0, __ATOMIC_RELEASE);
		__atomic_and_fetch(&s->trig, ~bit[i], __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&lk);
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

/* ossd's file s: the answer, or *handled = 0 for ossd's own. */
static int mmap_ioctl(struct stream *s, int fd, unsigned int cmd, void *arg, int *handled)
{
	unsigned mine = mapped_bits(s);
	*handled = 1;
	switch (cmd) {
	case SNDCTL_DSP_GETCAPS: case SNDCTL_DSP_GETOSPACE: case SNDCTL_DSP_GETISPACE: case SNDCTL_DSP_GETBLKSIZE:
		return ioctl_space(s, fd, cmd, arg, handled);
	case SNDCTL_DSP_GETOPTR:
	case SNDCTL_DSP_GETIPTR: {
		struct dir *d = cmd == SNDCTL_DSP_GETOPTR ? &s->out : &s->in;
		if (!is_mapped(d))
			break;
		get_ptr(d, arg);
		return 0;
	}
	case SNDCTL_DSP_SETTRIGGER:
		if (!mine)
			break;
		return set_trigger(s, fd, arg, handled);
	case SNDCTL_DSP_GETTRIGGER: {
		if (!mine)
			break;
		int r = real_ioctl_call(fd, cmd, arg);
		unsigned trig = __atomic_load_n(&s->trig, __ATOMIC_RELAXED);
		if (r == 0)
			*(int *)arg = (int)(((unsigned)*(int *)arg & ~mine) | (trig & mine));
		return r;
	}
	case SNDCTL_DSP_RESET:
	case SNDCTL_DSP_HALT_OUTPUT:
	case SNDCTL_DSP_HALT_INPUT:
		if (mine)
			halt(s, cmd);
		break;
	case SNDCTL_DSP_SYNC:
		/* A running DMA buffer never drains. */
		if (__atomic_load_n(&s->out.state, __ATOMIC_ACQUIRE) == RUNNING)
			return 0;
		break;
	}
	*handled = 0;
	return 0;
}

static int do_ioctl(int fd, unsigned long request, void *arg, int time64)
{
	unsigned int cmd = (unsigned int)request;
	int probe = cmd == SNDCTL_DSP_GETCAPS || cmd == SNDCTL_DSP_GETOSPACE || cmd == SNDCTL_DSP_GETISPACE ||
		    cmd == SNDCTL_DSP_GETBLKSIZE;
	if (watched(cmd) && (probe || fd_known(fd))) {
		setup();
		struct stream *s = fd_stream(fd, probe);
		if (s) {
			int handled, r = mmap_ioctl(s, fd, cmd, arg, &handled);
			stream_put(s);
			if (handled)
				return r;
		}
	}
#if __TIMESIZE == 32
	if (time64)
		return REAL(__ioctl_time64)(fd, request, arg);
#endif
	(void)time64;
	return REAL(ioctl)(fd, request, arg);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return do_ioctl(fd, request, arg, 0);
}

#if __TIMESIZE == 32
/* ioctl() of a 32-bit program built with _TIME_BITS=64. */
EXPORT int __ioctl_time64(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return do_ioctl(fd, request, arg, 1);
}
#endif
