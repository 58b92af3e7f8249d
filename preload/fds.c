/*
 * fds.c: the library's fd table, the streams it points to, and every call
 * that makes, copies or ends an fd (open*, close, close_range, closefrom,
 * fclose, dup*, fcntl's F_DUPFD*) or does I/O on one (read, write, readv,
 * writev).
 *
 * The table is read as the kernel reads its own: without a lock. tab[fd] is
 * 0 (nothing known) or an entry naming a stream slot and the slot's
 * incarnation (gen). The streams live in a fixed pool, never freed to the
 * allocator, so a stale entry never points into freed memory. A reader
 * loads the entry, takes a reference on the slot if it is alive (refs not 0,
 * as get_file_rcu does) and checks that the slot is still the incarnation the
 * entry named; writers publish entries with an atomic exchange or
 * compare-and-swap. Each entry holds one reference, each mapping one, each
 * reader one while it works; the last stream_put() frees the slot (closing
 * the library's own fds of it, no lock). None of these calls takes a lock,
 * so a signal handler may make any of them whatever its thread was doing in
 * the library.
 *
 * An fd number can be closed behind the table's back (a raw system call, or
 * inside the C library) and taken by another file. So before the library acts
 * on an fd as ossd's file it checks that the fd is still that file
 * (fd_stream: fstat's st_dev, st_ino and st_rdev, and while the file is
 * mapped kcmp(KCMP_FILE) against the library's own dup of it, which tells
 * one open of /dev/dsp from another); a stale entry is dropped.
 *
 * The library's own fds (the dup the copier uses, the memfds, the eventfds)
 * are close-on-exec, sit near the top of the fd range, and a close(),
 * close_range() or closefrom() of the program's leaves them open (a single
 * close() of one fails with EBADF, as if it were not open).
 */
#include "ossd_run.h"
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#ifndef KCMP_FILE
#define KCMP_FILE 0
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define GEN_MASK 0xffffffu
static uint32_t tab[FD_MAX];         /* fd -> entry: (gen << 8) | (slot + 1), or 0 */
static struct stream streams[NSTREAMS];
static uint32_t ours[FD_MAX / 32];   /* the library's own fds */

/* ------------------------------------------------------------------ the library's own fds */

static int is_ours(int fd)
{
	return fd >= 0 && fd < FD_MAX &&
	       (__atomic_load_n(&ours[fd / 32], __ATOMIC_RELAXED) & (1u << (fd % 32))) != 0;
}

static void own_fd(int fd)
{
	if (fd >= 0 && fd < FD_MAX)
		__atomic_or_fetch(&ours[fd / 32], 1u << (fd % 32), __ATOMIC_RELEASE);
}

/* Takes fd (just made, close-on-exec) as the library's: moved near the top
 * of the fd range, out of the way of the numbers the program gets and
 * names, and marked ours. Returns the fd to use. */
int keep_fd(int fd)
{
	if (fd < 0)
		return fd;
	struct rlimit rl;
	long top = FD_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)top)
		top = (long)rl.rlim_cur;
	if (top - 64 > fd) {
		int hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, (int)(top - 64));
		if (hi >= 0) {
			REAL(close)(fd);
			fd = hi;
		}
	}
	own_fd(fd);
	return fd;
}

/* Undoes keep_fd: unmarked, then closed (never the other way round: the
 * number, once free, may be the program's at once). */
void close_own(int fd)
{
	if (fd < 0)
		return;
	if (fd < FD_MAX)
		__atomic_and_fetch(&ours[fd / 32], ~(1u << (fd % 32)), __ATOMIC_RELEASE);
	REAL(close)(fd);
}

/* ------------------------------------------------------------------ stream slots */

static int inc_not_zero(uint32_t *r)
{
	uint32_t v = __atomic_load_n(r, __ATOMIC_RELAXED);
	while (v != 0)
		if (__atomic_compare_exchange_n(r, &v, v + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return 1;
	return 0;
}

void stream_hold(struct stream *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
}

static void dir_free(struct dir *d)
{
	if (d->view)
		REAL(munmap)(d->view, d->view_len);
	close_own(d->mfd);
	close_own(d->ready);
	close_own(d->wake);
}

/* The last reference went: nothing can reach this incarnation any more. No
 * mapping is left (each holds a reference), so no copier runs. */
static void stream_free(struct stream *s)
{
	int e = errno;
	close_own(s->io_fd);
	dir_free(&s->out);
	dir_free(&s->in);
	__atomic_add_fetch(&s->gen, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
	errno = e;
}

void stream_put(struct stream *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		stream_free(s);
}

static void dir_init(struct dir *d, int input)
{
	d->input = input;
	d->mfd = d->ready = d->wake = d->io_fd = -1;
	d->state = IDLE;
}

/* A free slot for the file st, with one reference (its first table entry's). */
static struct stream *stream_new(const struct stat64 *st)
{
	for (int i = 0; i < NSTREAMS; i++) {
		struct stream *s = &streams[i];
		uint32_t free_ = 0;
		if (__atomic_load_n(&s->busy, __ATOMIC_RELAXED) ||
		    !__atomic_compare_exchange_n(&s->busy, &free_, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		/* refs is 0: no reader touches the slot but to fail its inc_not_zero. */
		size_t from = offsetof(struct stream, fds);
		memset((char *)s + from, 0, sizeof *s - from);
		s->dev = st->st_dev;
		s->rdev = st->st_rdev;
		s->ino = st->st_ino;
		s->io_fd = -1;
		s->fds = 1;
		dir_init(&s->out, 0);
		dir_init(&s->in, 1);
		__atomic_store_n(&s->refs, 1, __ATOMIC_RELEASE);
		return s;
	}
	return NULL;
}

static uint32_t entry_of(struct stream *s)
{
	uint32_t gen = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) & GEN_MASK;
	return gen << 8 | (uint32_t)(s - streams + 1);
}

/* The stream tab[fd] names, with a reference; NULL if none. */
static struct stream *fd_hold(int fd, uint32_t *entry)
{
	for (;;) {
		uint32_t e = __atomic_load_n(&tab[fd], __ATOMIC_ACQUIRE);
		if (e == 0 || (e & 0xff) > NSTREAMS)
			return NULL;
		struct stream *s = &streams[(e & 0xff) - 1];
		if (inc_not_zero(&s->refs)) {
			if ((__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) & GEN_MASK) == e >> 8) {
				*entry = e;
				return s;
			}
			stream_put(s);
		}
		/* The entry went while we looked (an entry holds its slot). */
		if (__atomic_load_n(&tab[fd], __ATOMIC_ACQUIRE) == e)
			return NULL;
	}
}

/* An entry taken out of the table: its fd and its reference go. */
static void entry_drop(uint32_t e)
{
	struct stream *s = &streams[(e & 0xff) - 1];
	__atomic_sub_fetch(&s->fds, 1, __ATOMIC_RELAXED);
	stream_put(s);
}

/* Whatever was known about fd is stale (it was closed, or is new). */
static void forget(int fd)
{
	if (fd < 0 || fd >= FD_MAX || !__atomic_load_n(&tab[fd], __ATOMIC_RELAXED))
		return;
	uint32_t e = __atomic_exchange_n(&tab[fd], 0, __ATOMIC_ACQ_REL);
	if (e)
		entry_drop(e);
}

static void forget_range(unsigned first, unsigned last)
{
	for (unsigned fd = first; fd <= last && fd < FD_MAX; fd++)
		forget((int)fd);
}

int fd_known(int fd)
{
	return fd >= 0 && fd < FD_MAX && __atomic_load_n(&tab[fd], __ATOMIC_RELAXED) != 0;
}

/* ------------------------------------------------------------------ identity */

/* Still the file s was made for? dev/ino/rdev say it is ossd's device;
 * while s is mapped, kcmp against our dup says it is the same open of it. */
static int same_file(int fd, const struct stream *s)
{
	struct stat64 st;
	if (fstat64(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != s->rdev || st.st_dev != s->dev ||
	    st.st_ino != s->ino)
		return 0;
	int io = __atomic_load_n(&s->io_fd, __ATOMIC_RELAXED);
	if (io < 0)
		return 1;
	pid_t me = getpid();
	/* 0: the same file; 1..3: another; -1: no kcmp here (dev/ino said yes) */
	return syscall(SYS_kcmp, me, me, KCMP_FILE, fd, io) <= 0;
}

/* ossd's /dev/dsp? (a character device that answers the ident call) */
static int recognise(int fd, struct stat64 *st)
{
	if (fstat64(fd, st) < 0 || !S_ISCHR(st->st_mode))
		return 0;
	struct ossd_ident id = {0, 0};
	int r = real_ioctl_call(fd, SNDCTL_DSP_OSSD_IDENT, &id);
	return r == 0 && id.magic == OSSD_IDENT_MAGIC && id.version >= 1;
}

/* A new stream for fd if it is ossd's file: 1 (*out held), 0 not ossd's,
 * -1 another thread published an entry meanwhile. */
static int probe(int fd, struct stream **out)
{
	struct stat64 st;
	if (!recognise(fd, &st))
		return 0;
	struct stream *s = stream_new(&st);
	if (!s) {
		DBG("fd %d: more than %d ossd files open; this one passes through\n", fd, NSTREAMS);
		return 0;
	}
	uint32_t none = 0;
	stream_hold(s);
	if (!__atomic_compare_exchange_n(&tab[fd], &none, entry_of(s), 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		s->fds = 0;
		stream_put(s);
		stream_put(s);
		return -1;
	}
	DBG("fd %d is ossd's /dev/dsp\n", fd);
	*out = s;
	return 1;
}

/* The stream of fd, held (stream_put when done), checked to be still the
 * file it was made for, and recognised now if `probe`. NULL: not ossd's. */
struct stream *fd_stream(int fd, int probe_)
{
	if (fd < 0 || fd >= FD_MAX || is_ours(fd))
		return NULL;
	int err = errno;
	struct stream *s = NULL;
	for (int tries = 0; tries < 3; tries++) {
		uint32_t e = 0;
		s = fd_hold(fd, &e);
		if (s && !same_file(fd, s)) {
			DBG("fd %d is no longer the file it was (closed behind the library's back)\n", fd);
			if (__atomic_compare_exchange_n(&tab[fd], &e, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				entry_drop(e);
			stream_put(s);
			s = NULL;
		}
		if (s || !probe_ || probe(fd, &s) >= 0)
			break;
	}
	errno = err;
	return s;
}

/* A forked child: the memory is shared, the copiers and the dup are not. */
void streams_forked(void)
{
	for (int i = 0; i < NSTREAMS; i++) {
		struct stream *s = &streams[i];
		if (!__atomic_load_n(&s->busy, __ATOMIC_RELAXED))
			continue;
		s->out.state = s->in.state = IDLE;
		if (s->io_fd >= 0) {
			close_own(s->io_fd);
			__atomic_store_n(&s->io_fd, -1, __ATOMIC_RELAXED);
			s->out.io_fd = s->in.io_fd = -1;
		}
	}
}

/* ------------------------------------------------------------------ open, close */

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

/* A new fd from open*(): whatever was known about its number is stale. */
static int opened(int fd)
{
	forget(fd);
	return fd;
}

#define OPEN_WRAPPER(name, ...)                                                                             \
	EXPORT int name(__VA_ARGS__, int flags, ...)                                                        \
	{                                                                                                   \
		va_list ap;                                                                                 \
		va_start(ap, flags);                                                                        \
		mode_t m = mode_arg(flags, ap);                                                             \
		va_end(ap);                                                                                 \
		return opened(OPEN_CALL_##name);                                                            \
	}
#define OPEN_CALL_open REAL(open)(path, flags, m)
#define OPEN_CALL_open64 REAL(open64)(path, flags, m)
#define OPEN_CALL_openat REAL(openat)(dirfd, path, flags, m)
#define OPEN_CALL_openat64 REAL(openat64)(dirfd, path, flags, m)
OPEN_WRAPPER(open, const char *path)
OPEN_WRAPPER(open64, const char *path)
OPEN_WRAPPER(openat, int dirfd, const char *path)
OPEN_WRAPPER(openat64, int dirfd, const char *path)

EXPORT int __open_2(const char *path, int flags) { return opened(REAL(__open_2)(path, flags)); }
EXPORT int __open64_2(const char *path, int flags) { return opened(REAL(__open64_2)(path, flags)); }
EXPORT int __openat_2(int dirfd, const char *path, int flags) { return opened(REAL(__openat_2)(dirfd, path, flags)); }
EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return opened(REAL(__openat64_2)(dirfd, path, flags));
}

EXPORT int close(int fd)
{
	if (is_ours(fd)) {
		errno = EBADF;
		return -1;
	}
	forget(fd);
	return REAL(close)(fd);
}

/* The real close_range over [first, last] but the library's own fds. */
static int close_but_ours(unsigned first, unsigned last, int flags)
{
	unsigned from = first;
	for (unsigned fd = first; fd <= last && fd < FD_MAX; fd++) {
		if (!is_ours((int)fd))
			continue;
		if (fd > from && REAL(close_range)(from, fd - 1, flags) < 0)
			return -1;
		from = fd + 1;
	}
	return from > last ? 0 : REAL(close_range)(from, last, flags);
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	if (first > last)
		return REAL(close_range)(first, last, flags);
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		forget_range(first, last);
	return close_but_ours(first, last, flags);
}

EXPORT void closefrom(int low)
{
	int e = errno;
	unsigned first = low < 0 ? 0 : (unsigned)low;
	int top = -1;
	forget_range(first, UINT_MAX);
	for (int fd = FD_MAX - 1; fd >= (int)first && top < 0; fd--)
		if (is_ours(fd))
			top = fd;
	if (top >= 0) {
		if (close_but_ours(first, (unsigned)top, 0) < 0) /* no close_range here: one by one */
			for (int fd = (int)first; fd < top; fd++)
				if (!is_ours(fd))
					REAL(close)(fd);
		low = top + 1;
	}
	REAL(closefrom)(low);
	errno = e;
}

/* fclose closes the fd inside the C library. */
EXPORT int fclose(FILE *f)
{
	int e = errno;
	forget(fileno(f));
	errno = e;
	return REAL(fclose)(f);
}

/* ------------------------------------------------------------------ dup */

/* newfd now refers to what oldfd does (a dup of any kind). */
static int duped(int oldfd, int newfd)
{
	if (newfd < 0 || newfd >= FD_MAX)
		return newfd;
	uint32_t e = 0;
	struct stream *s = NULL;
	if (oldfd >= 0 && oldfd < FD_MAX && __atomic_load_n(&tab[oldfd], __ATOMIC_RELAXED))
		s = fd_hold(oldfd, &e);
	if (!s && !__atomic_load_n(&tab[newfd], __ATOMIC_RELAXED))
		return newfd;
	if (s) /* our reference becomes the new entry's */
		__atomic_add_fetch(&s->fds, 1, __ATOMIC_RELAXED);
	uint32_t was = __atomic_exchange_n(&tab[newfd], s ? e : 0, __ATOMIC_ACQ_REL);
	if (was)
		entry_drop(was);
	return newfd;
}

EXPORT int dup(int fd)
{
	return duped(fd, REAL(dup)(fd));
}

EXPORT int dup2(int oldfd, int newfd)
{
	int r = REAL(dup2)(oldfd, newfd);
	return r >= 0 && oldfd != newfd ? duped(oldfd, r) : r;
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int r = REAL(dup3)(oldfd, newfd, flags);
	return r >= 0 ? duped(oldfd, r) : r;
}

static int fcntl_done(int fd, int cmd, int r)
{
	return r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) ? duped(fd, r) : r;
}

/* fcntl's third argument, whatever its type, passed on as it came. */
#define FCNTL_WRAPPER(name)                                                                                 \
	EXPORT int name(int fd, int cmd, ...)                                                               \
	{                                                                                                   \
		va_list ap;                                                                                 \
		va_start(ap, cmd);                                                                          \
		void *arg = va_arg(ap, void *);                                                             \
		va_end(ap);                                                                                 \
		return fcntl_done(fd, cmd, REAL(name)(fd, cmd, arg));                                      \
	}
FCNTL_WRAPPER(fcntl)
FCNTL_WRAPPER(fcntl64)
#if __TIMESIZE == 32
FCNTL_WRAPPER(__fcntl_time64)
#endif

/* ------------------------------------------------------------------ read, write */

/* The first read() or write() on a file ends the time GETOSPACE reports the
 * mapping's geometry (a program that does I/O gets ossd's own). */
static void io_on(int fd)
{
	if (fd < 0 || fd >= FD_MAX || !__atomic_load_n(&tab[fd], __ATOMIC_RELAXED))
		return;
	uint32_t e;
	struct stream *s = fd_hold(fd, &e);
	if (s) {
		__atomic_store_n(&s->io_started, 1, __ATOMIC_RELAXED);
		stream_put(s);
	}
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	io_on(fd);
	return REAL(read)(fd, buf, n);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	io_on(fd);
	return REAL(__read_chk)(fd, buf, n, buflen);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	io_on(fd);
	return REAL(readv)(fd, iov, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	io_on(fd);
	return REAL(write)(fd, buf, n);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	io_on(fd);
	return REAL(writev)(fd, iov, n);
}
