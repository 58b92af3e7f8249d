/*
 * ossd_run.h: what the files of libossd-run share. ossd_run.c says what the
 * library does; fds.c owns the fd table and the streams (read without a
 * lock); copier.c the copier threads; mapping.c mmap and munmap; poll.c poll
 * and select. Everything but the C library's names is hidden
 * (-fvisibility=hidden): only the functions marked EXPORT interpose.
 */
#ifndef OSSD_RUN_H
#define OSSD_RUN_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/soundcard.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* ossd's own call (src/oss/soundcard.rs SNDCTL_DSP_OSSD_IDENT). */
struct ossd_ident {
	uint32_t magic;
	uint32_t version;
};
#define SNDCTL_DSP_OSSD_IDENT _IOR('P', 0xf0, struct ossd_ident)
#define OSSD_IDENT_MAGIC 0x6f737364u /* "ossd" */

/* OSS 4 numbers Linux's header lacks. */
#ifndef SNDCTL_DSP_HALT_INPUT
#define SNDCTL_DSP_HALT_INPUT _IO('P', 33)
#endif
#ifndef SNDCTL_DSP_HALT_OUTPUT
#define SNDCTL_DSP_HALT_OUTPUT _IO('P', 34)
#endif

#define FD_MAX 4096   /* fds above this pass through untouched */
#define FRAGSIZE 2048 /* the emulated buffer's fragment */
#define MAX_MAPS 16
#define NSTREAMS 64   /* ossd files known at once; more pass through */

/* The C library's names a 32-bit program built with _TIME_BITS=64 calls. */
#if __TIMESIZE == 32
struct timeval64 {
	int64_t tv_sec;
	int64_t tv_usec;
};
int __ioctl_time64(int fd, unsigned long request, ...);
int __fcntl_time64(int fd, int cmd, ...);
int __select64(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval64 *tv);
#define REALS_TIME64(X) X(__ioctl_time64) X(__fcntl_time64) X(__select64)
#else
#define REALS_TIME64(X)
#endif
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);

/* The real functions: the next definition after ours, looked up once. */
#define REALS(X)                                                                                            \
	X(open) X(open64) X(openat) X(openat64) X(__open_2) X(__open64_2) X(__openat_2) X(__openat64_2)     \
	X(close) X(close_range) X(closefrom) X(fclose) X(dup) X(dup2) X(dup3) X(fcntl) X(fcntl64)           \
	X(ioctl) X(mmap) X(mmap64) X(munmap) X(poll) X(__poll_chk) X(select) X(read) X(__read_chk)         \
	X(readv) X(write) X(writev) REALS_TIME64(X)
#define REAL_SLOT(name) extern void *real_##name;
REALS(REAL_SLOT)
#undef REAL_SLOT
#define REAL(name) ((__typeof__(&name))real_sym(&real_##name, #name))
void *real_sym(void **slot, const char *name);

extern int debug;
#define DBG(...)                                                                                            \
	do {                                                                                                \
		if (debug > 0) {                                                                            \
			int e_ = errno;                                                                     \
			dprintf(2, "ossd-run[%d]: ", (int)getpid());                                        \
			dprintf(2, __VA_ARGS__);                                                            \
			errno = e_;                                                                         \
		}                                                                                           \
	} while (0)

extern size_t buffer_bytes; /* the emulated buffer */
void setup(void);
int real_ioctl_call(int fd, unsigned long req, void *arg);

/* The counters, in the first page of the shared memory. */
struct ctl {
	uint64_t bytes; /* moved in all: taken to ossd (output), or brought from it (input) */
};

enum { IDLE, RUNNING, STOPPING }; /* a direction's copier */

/* One direction of a file, mapped or once mapped. */
struct dir {
	int input; /* the input buffer (PROT_READ) */
	/* Made at the direction's first mmap and kept until the stream goes, so
	 * that a reader holding the stream may use them without the lock. */
	int mfd;             /* the memfd: the ctl page, then the ring */
	unsigned char *view; /* ours: the ctl page, then the ring */
	size_t view_len;
	struct ctl *ctl;
	unsigned char *buf; /* the ring, in our view */
	int ready;          /* eventfd: a fragment passed since the last GETxPTR */
	int wake;           /* eventfd: tells the copier to stop */
	/* Changed under lk; atomics, read without it. */
	int mapped;
	int state;            /* IDLE, RUNNING, STOPPING */
	size_t ring;          /* bytes the pointer cycles through: whole frames */
	uint64_t blocks_seen; /* blocks GETxPTR reported up to */
	/* Under lk; the copier reads the ones set before it started. */
	unsigned char *user; /* the program's view */
	size_t user_len;
	unsigned frame; /* bytes per frame while running */
	int afmt;       /* the format while running */
	pid_t owner;    /* the process that mapped it (a forked child runs no copier) */
	pthread_t thread;
	int stop; /* atomic: the copier is to stop */
	int io_fd;
};

/* One open file of ossd's /dev/dsp, as the program's fds share it: a slot of
 * fds.c's pool, reached through fd_stream() and let go with stream_put(). */
struct stream {
	uint32_t refs; /* atomic: table entries, mappings and holders; 0: the slot is free */
	uint32_t gen;  /* atomic: the slot's incarnation (fd table entries carry it) */
	uint32_t busy; /* atomic: the slot is taken (refs may be 0 while it is cleaned) */
	/* From here on: set when the slot is taken. */
	int fds;        /* atomic: the program's fds on it (table entries) */
	int caps_asked; /* atomic: GETCAPS answered with DSP_CAP_MMAP ... */
	int io_started; /* atomic: ... before any read() or write() */
	unsigned trig;  /* atomic: the trigger bits of the mapped directions */
	dev_t dev, rdev; /* the file's identity (fstat) */
	ino64_t ino;
	int io_fd; /* under lk (read atomically): our dup (close-on-exec) while mapped, else -1 */
	struct dir out, in;
};

/* fds.c: the fd table and the streams. */
struct stream *fd_stream(int fd, int probe);
int fd_known(int fd);
void stream_hold(struct stream *s);
void stream_put(struct stream *s);
int keep_fd(int fd);
void close_own(int fd);
void streams_forked(void);

/* copier.c: the copier threads (lk held; they may release it while joining). */
extern pthread_mutex_t lk;
void copier_start(struct stream *s, struct dir *d);
void copier_stop(struct dir *d);
void copier_wait_idle(struct dir *d);
void copiers_forked(void);

/* mapping.c */
extern int nmapped; /* mappings alive (fast paths skip when 0) */

#endif
