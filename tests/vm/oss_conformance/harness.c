/* harness.c: oss_conformance's harness (one line per check) and the device
 * helpers the groups share; see oss_conformance.h. */
#include "oss_conformance.h"

struct shared *sh;
const char *dsp_path = "/dev/dsp";

static void emit(bool ok, const char *desc, const char *suffix, const char *detail)
{
	int n = ++sh->num;
	if (ok) {
		sh->passed++;
		printf("ok %d - %s%s\n", n, desc, suffix);
	} else {
		sh->failed++;
		printf("not ok %d - %s: %s\n", n, desc, detail);
	}
	fflush(stdout);
}

/* One check: `desc` says what OSS requires; `fmt` (only printed on failure)
 * says "got X, expected Y". Returns `ok`. */
__attribute__((format(printf, 3, 4))) bool check(bool ok, const char *desc, const char *fmt, ...)
{
	char detail[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	emit(ok, desc, "", detail);
	return ok;
}

/* A passing line for something not built yet: "ok N - desc # SKIP why". */
__attribute__((format(printf, 2, 3))) void skip(const char *desc, const char *fmt, ...)
{
	char suffix[320] = " # SKIP ";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(suffix + 8, sizeof suffix - 8, fmt, ap);
	va_end(ap);
	emit(true, desc, suffix, "");
}

__attribute__((format(printf, 1, 2))) void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("#   ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

/* Names what the group is about to do: the failure line if it hangs there. */
__attribute__((format(printf, 1, 2))) void step(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sh->step, sizeof sh->step, fmt, ap);
	va_end(ap);
}

/* A formatted description (a few rotating buffers, for check()'s desc). */
__attribute__((format(printf, 1, 2))) const char *S(const char *fmt, ...)
{
	static char bufs[4][300];
	static int i;
	char *b = bufs[i++ % 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof bufs[0], fmt, ap);
	va_end(ap);
	return b;
}

const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* "ret 0, value 16" or "ret -1 (EINVAL)". */
const char *rv(int r, int e, long long v)
{
	return r < 0 ? S("ret %d (%s)", r, ename(e)) : S("ret %d, value %lld (%#llx)", r, v, v);
}

/* ioctl with an int argument: returns the ioctl's result, *err its errno. */
int ioc(int fd, unsigned long req, int *v, int *err)
{
	errno = 0;
	int r = ioctl(fd, req, v);
	*err = errno;
	return r;
}

/* Opens the device; a failure is a failed check (the group then stops). */
int open_dsp(int flags)
{
	step("open(%s, %s%s)", dsp_path, (flags & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : (flags & O_ACCMODE) == O_RDWR ? "O_RDWR" : "O_WRONLY",
	     flags & O_NONBLOCK ? "|O_NONBLOCK" : "");
	int fd = open(dsp_path, flags);
	if (fd < 0)
		check(false, S("%s", sh->step), "got -1 (%s), expected an fd", ename(errno));
	return fd;
}

/* Ends a stream without waiting for it to play out. */
void halt_close(int fd)
{
	step("SNDCTL_DSP_RESET then close()");
	ioctl(fd, SNDCTL_DSP_RESET, 0);
	close(fd);
}

bool set_int(int fd, unsigned long req, int v)
{
	int e;
	return ioc(fd, req, &v, &e) == 0;
}

/* Writes `byte` to a non-blocking fd until it answers EAGAIN; returns the bytes
 * taken (-1 on another error, errno set). */
long fill_nonblock(int fd, int byte)
{
	static char buf[4096];
	memset(buf, byte, sizeof buf);
	long total = 0;
	step("non-blocking write()s until EAGAIN");
	while (total < (1L << 22)) {
		ssize_t n = write(fd, buf, sizeof buf);
		if (n < 0)
			return errno == EAGAIN ? total : -1;
		total += n;
	}
	errno = 0;
	return -1; /* it never filled: 4 MiB taken without EAGAIN */
}

bool get_ospace(int fd, audio_buf_info *bi, int *err)
{
	memset(bi, 0xff, sizeof *bi);
	errno = 0;
	bool ok = ioctl(fd, SNDCTL_DSP_GETOSPACE, bi) == 0;
	*err = errno;
	return ok;
}

const char *bistr(const audio_buf_info *bi)
{
	return S("{fragments %d, fragstotal %d, fragsize %d, bytes %d}", bi->fragments, bi->fragstotal, bi->fragsize, bi->bytes);
}

int odelay(int fd)
{
	int v = -12345, e;
	if (ioc(fd, SNDCTL_DSP_GETODELAY, &v, &e) < 0)
		return -100000 - e; /* shows up as an impossible delay */
	return v;
}

/* Polls GETODELAY every 10 ms for up to `ms` until it is below `below`;
 * returns the last value, *waited the time it took. A new stream's sound comes
 * out only after what the device already holds (ossd in the VM: 4 periods, 85
 * ms), so "it decreases" is watched over a window, not after a fixed sleep. */
int odelay_drops(int fd, int below, int ms, double *waited)
{
	double t0 = now();
	int d;
	while ((d = odelay(fd)) >= below && now() - t0 < ms / 1000.0)
		msleep(10);
	*waited = now() - t0;
	return d;
}
