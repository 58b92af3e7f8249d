/*
 * poll.c: poll() and select() on a mapped file. A mapped direction polls as
 * its `ready` eventfd: a fragment passed since the last GETOPTR/GETIPTR (as
 * ALSA's OSS emulation does). The rest of an fd's events go to the fd. No
 * lock: each mapped file is held (fds.c) across the real poll.
 */
#include "ossd_run.h"
#include <limits.h>
#include <time.h>

struct sub {
	int i;    /* the caller's entry */
	short as; /* 0: the fd itself; else the bits a readable eventfd means */
};

#define POLL_MAX 1024 /* more fds pass through */
#define HELD_MAX 32   /* mapped entries substituted at most */

/* The entries q[] that stand for fds[i]: the fd for its other events, and the
 * `ready` eventfd of each mapped direction asked for. */
static size_t subst(struct pollfd *q, struct sub *sub, size_t m, int i, const struct pollfd *p, struct stream *s)
{
	short ev = p->events, rest = ev;
	const short out = POLLOUT | POLLWRNORM, in = POLLIN | POLLRDNORM;
	if (s && __atomic_load_n(&s->out.mapped, __ATOMIC_ACQUIRE) && (ev & out)) {
		q[m] = (struct pollfd){s->out.ready, POLLIN, 0};
		sub[m++] = (struct sub){i, (short)(ev & out)};
		rest &= ~out;
	}
	if (s && __atomic_load_n(&s->in.mapped, __ATOMIC_ACQUIRE) && (ev & in)) {
		q[m] = (struct pollfd){s->in.ready, POLLIN, 0};
		sub[m++] = (struct sub){i, (short)(ev & in)};
		rest &= ~in;
	}
	if (rest == ev || rest) {
		q[m] = (struct pollfd){p->fd, rest, 0};
		sub[m++] = (struct sub){i, 0};
	}
	return m;
}

/* The answer poll gives after the substitution into q. */
static int merge(struct pollfd *fds, nfds_t n, const struct pollfd *q, const struct sub *sub, size_t m)
{
	for (nfds_t i = 0; i < n; i++)
		fds[i].revents = 0;
	for (size_t k = 0; k < m; k++) {
		if (sub[k].as == 0)
			fds[sub[k].i].revents |= q[k].revents;
		else if (q[k].revents & POLLIN)
			fds[sub[k].i].revents |= sub[k].as;
	}
	int r = 0;
	for (nfds_t i = 0; i < n; i++)
		r += fds[i].revents != 0;
	return r;
}

static int mapped_poll(struct pollfd *fds, nfds_t n, int timeout, int *done)
{
	*done = 0;
	if (__atomic_load_n(&nmapped, __ATOMIC_RELAXED) == 0 || n > POLL_MAX)
		return 0;
	struct pollfd q[POLL_MAX + 2 * HELD_MAX];
	struct sub sub[POLL_MAX + 2 * HELD_MAX];
	struct stream *held[HELD_MAX];
	size_t m = 0, nheld = 0;
	for (nfds_t i = 0; i < n; i++) {
		struct stream *s = fd_known(fds[i].fd) ? fd_stream(fds[i].fd, 0) : NULL;
		if (s && (nheld == HELD_MAX || !(__atomic_load_n(&s->out.mapped, __ATOMIC_ACQUIRE) ||
						 __atomic_load_n(&s->in.mapped, __ATOMIC_ACQUIRE)))) {
			stream_put(s);
			s = NULL;
		}
		if (s)
			held[nheld++] = s;
		size_t before = m;
		m = subst(q, sub, m, (int)i, &fds[i], s);
		for (size_t k = before; k < m; k++)
			*done |= sub[k].as != 0;
	}
	int r = *done ? REAL(poll)(q, (nfds_t)m, timeout) : 0;
	for (size_t k = 0; k < nheld; k++)
		stream_put(held[k]);
	return *done && r >= 0 ? merge(fds, n, q, sub, m) : r;
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	int done, r = mapped_poll(fds, n, timeout, &done);
	return done ? r : REAL(poll)(fds, n, timeout);
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	int done, r = mapped_poll(fds, n, timeout, &done);
	return done ? r : REAL(__poll_chk)(fds, n, timeout, fdslen);
}

/* Asks select's question of fds that include a mapped one? */
static int select_has_mapped(int nfds, fd_set *rd, fd_set *wr)
{
	if (__atomic_load_n(&nmapped, __ATOMIC_RELAXED) == 0 || nfds > FD_SETSIZE)
		return 0;
	int has = 0;
	for (int fd = 0; fd < nfds && fd < FD_MAX && !has; fd++) {
		if (!fd_known(fd) || !((wr && FD_ISSET(fd, wr)) || (rd && FD_ISSET(fd, rd))))
			continue;
		struct stream *s = fd_stream(fd, 0);
		if (s) {
			has = (__atomic_load_n(&s->out.mapped, __ATOMIC_ACQUIRE) && wr && FD_ISSET(fd, wr)) ||
			      (__atomic_load_n(&s->in.mapped, __ATOMIC_ACQUIRE) && rd && FD_ISSET(fd, rd));
			stream_put(s);
		}
	}
	return has;
}

/* select's answer from a poll, which knows the mapped files. *usec: the
 * timeout (NULL: none), left on return as Linux's select does. */
static int select_by_poll(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, long long *usec)
{
	struct pollfd p[FD_SETSIZE];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((rd && FD_ISSET(fd, rd) ? POLLIN : 0) | (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
				   (ex && FD_ISSET(fd, ex) ? POLLPRI : 0));
		if (ev)
			p[n++] = (struct pollfd){fd, ev, 0};
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ms = !usec ? -1 : *usec / 1000 >= INT_MAX ? INT_MAX : (int)((*usec + 999) / 1000);
	int r = poll(p, n, ms);
	if (usec) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		*usec -= (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
		if (*usec < 0)
			*usec = 0;
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

EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	if (!select_has_mapped(nfds, rd, wr))
		return REAL(select)(nfds, rd, wr, ex, tv);
	long long usec = tv ? (long long)tv->tv_sec * 1000000 + tv->tv_usec : 0;
	int r = select_by_poll(nfds, rd, wr, ex, tv ? &usec : NULL);
	if (tv) {
		tv->tv_sec = (time_t)(usec / 1000000);
		tv->tv_usec = (suseconds_t)(usec % 1000000);
	}
	return r;
}

#if __TIMESIZE == 32
/* select() of a 32-bit program built with _TIME_BITS=64. */
EXPORT int __select64(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval64 *tv)
{
	if (!select_has_mapped(nfds, rd, wr))
		return REAL(__select64)(nfds, rd, wr, ex, tv);
	long long usec = tv ? tv->tv_sec * 1000000 + tv->tv_usec : 0;
	int r = select_by_poll(nfds, rd, wr, ex, tv ? &usec : NULL);
	if (tv) {
		tv->tv_sec = usec / 1000000;
		tv->tv_usec = usec % 1000000;
	}
	return r;
}
#endif
