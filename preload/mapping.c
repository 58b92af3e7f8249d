/*
 * mapping.c: mmap() of ossd's file (the emulated DMA buffer) and munmap().
 *
 * A direction's memory (a memfd: one page of counters, then the ring) is made
 * at its first mmap and kept until the stream goes, so that a reader holding
 * the stream may read the counters without a lock; each mmap() maps the
 * ring's part of it for the program. A mapping holds a reference on its
 * stream, and the copier is joined before that reference goes. mmap and the
 * munmap of a mapping of ours take lk; any other munmap looks the address up
 * without it.
 */
#include "ossd_run.h"
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

struct map {
	void *addr; /* atomic: the program's address, NULL when the slot is free */
	struct stream *s;
	struct dir *d;
};
static struct map maps[MAX_MAPS];
int nmapped;

/* What a driver answers to a mapping it does not offer (0: it offers it). */
static int map_refused(int fd, struct dir *d, size_t len, int flags)
{
	int acc = REAL(fcntl)(fd, F_GETFL);
	if ((flags & MAP_TYPE) != MAP_SHARED && (flags & MAP_TYPE) != MAP_SHARED_VALIDATE)
		return EINVAL;
	if (len == 0 || len > buffer_bytes)
		return EINVAL;
	if (acc >= 0 && ((d->input && (acc & O_ACCMODE) == O_WRONLY) || (!d->input && (acc & O_ACCMODE) == O_RDONLY)))
		return EACCES;
	if (__atomic_load_n(&d->mapped, __ATOMIC_RELAXED))
		return EBUSY;
	return 0;
}

/* The direction's memory and eventfds, made once (lk held): 0, or an errno. */
static int dir_memory(struct dir *d)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (d->ready < 0)
		d->ready = keep_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (d->wake < 0)
		d->wake = keep_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (d->ready < 0 || d->wake < 0)
		return errno;
	if (d->view)
		return 0;
	if (d->mfd < 0)
		d->mfd = keep_fd(memfd_create("ossd-run", MFD_CLOEXEC));
	if (d->mfd < 0 || ftruncate(d->mfd, (off_t)(page + buffer_bytes)) < 0)
		return errno;
	void *view = REAL(mmap)(NULL, page + buffer_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, d->mfd, 0);
	if (view == MAP_FAILED)
		return errno;
	d->view = view;
	d->view_len = page + buffer_bytes;
	d->ctl = view;
	d->buf = (unsigned char *)view + page;
	return 0;
}

/* Maps the buffer of d for the program (lk held). */
static void *map_ossd(struct stream *s, void *addr, size_t len, int prot, int flags, int fd)
{
	struct dir *d = (prot & (PROT_READ | PROT_WRITE)) == PROT_READ ? &s->in : &s->out;
	copier_wait_idle(d); /* a copier still being joined uses the memory */
	int slot = -1, e = map_refused(fd, d, len, flags);
	for (int i = 0; i < MAX_MAPS && slot < 0; i++)
		if (!maps[i].s)
			slot = i;
	if (!e && slot < 0)
		e = ENOMEM;
	if (!e)
		e = dir_memory(d);
	void *user = MAP_FAILED;
	if (!e) {
		int keep = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_LOCKED);
		user = REAL(mmap)(addr, len, prot, MAP_SHARED | keep, d->mfd, (off_t)(d->view_len - buffer_bytes));
		if (user == MAP_FAILED)
			e = errno;
	}
	if (!e && s->io_fd < 0) {
		int io = keep_fd(REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 3));
		if (io < 0) {
			e = errno;
			REAL(munmap)(user, len);
		}
		__atomic_store_n(&s->io_fd, io, __ATOMIC_RELEASE);
	}
	if (e) {
		errno = e;
		return MAP_FAILED;
	}
	/* Nothing runs on d: its pointer starts again at 0. */
	__atomic_store_n(&d->ctl->bytes, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&d->blocks_seen, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&d->ring, buffer_bytes, __ATOMIC_RELEASE);
	d->user = user;
	d->user_len = len;
	d->owner = getpid();
	stream_hold(s); /* the mapping's reference */
	maps[slot].s = s;
	maps[slot].d = d;
	__atomic_store_n(&maps[slot].addr, user, __ATOMIC_RELEASE);
	__atomic_store_n(&d->mapped, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&nmapped, 1, __ATOMIC_RELAXED);
	DBG("fd %d: mapped %zu bytes (%s) at %p\n", fd, len, d->input ? "input" : "output", user);
	return user;
}

static void *do_mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off, int is64)
{
	if (fd >= 0 && fd < FD_MAX && !(flags & MAP_ANONYMOUS)) {
		setup();
		struct stream *s = fd_stream(fd, 1);
		if (s) {
			void *p = MAP_FAILED;
			if (off != 0) {
				errno = EINVAL;
			} else {
				pthread_mutex_lock(&lk);
				p = map_ossd(s, addr, len, prot, flags, fd);
				pthread_mutex_unlock(&lk);
			}
			stream_put(s);
			return p;
		}
	}
	if (is64)
		return REAL(mmap64)(addr, len, prot, flags, fd, (off64_t)off);
	return REAL(mmap)(addr, len, prot, flags, fd, (off_t)off);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(addr, len, prot, flags, fd, (int64_t)off, 0);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return do_mmap(addr, len, prot, flags, fd, (int64_t)off, 1);
}

/* Unmaps the mapping in `slot` (lk held; released while its copier is
 * joined). Returns its stream, whose mapping reference the caller drops. */
static struct stream *unmap(int slot)
{
	struct stream *s = maps[slot].s;
	struct dir *d = maps[slot].d;
	__atomic_store_n(&maps[slot].addr, NULL, __ATOMIC_RELEASE);
	maps[slot].s = NULL;
	maps[slot].d = NULL;
	__atomic_sub_fetch(&nmapped, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&d->mapped, 0, __ATOMIC_RELEASE);
	void *user = d->user;
	size_t user_len = d->user_len;
	d->user = NULL;
	copier_stop(d);
	REAL(munmap)(user, user_len);
	DBG("unmapped the %s buffer\n", d->input ? "input" : "output");
	if (!s->out.mapped && !s->in.mapped && s->out.state == IDLE && s->in.state == IDLE && s->io_fd >= 0) {
		/* The program closed every fd: this was the file's last use, and a
		 * driver's release stops the DMA at once (no drain). */
		if (__atomic_load_n(&s->fds, __ATOMIC_RELAXED) == 0) {
			int e = errno;
			real_ioctl_call(s->io_fd, SNDCTL_DSP_RESET, NULL);
			errno = e;
		}
		int io = s->io_fd;
		__atomic_store_n(&s->io_fd, -1, __ATOMIC_RELEASE);
		s->out.io_fd = s->in.io_fd = -1;
		close_own(io);
	}
	return s;
}

EXPORT int munmap(void *addr, size_t len)
{
	if (addr && __atomic_load_n(&nmapped, __ATOMIC_RELAXED) > 0) {
		for (int i = 0; i < MAX_MAPS; i++) {
			if (__atomic_load_n(&maps[i].addr, __ATOMIC_ACQUIRE) != addr)
				continue;
			struct stream *s = NULL;
			pthread_mutex_lock(&lk);
			if (maps[i].addr == addr)
				s = unmap(i);
			pthread_mutex_unlock(&lk);
			if (s) {
				stream_put(s);
				return 0;
			}
		}
	}
	return REAL(munmap)(addr, len);
}
