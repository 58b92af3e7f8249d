/* writing.c: groups 8-16, writes (blocking, partial frames, non-blocking),
 * poll/select, the play pointer and delay, SYNC, RESET, POST. See oss_conformance.h. */
#include "oss_conformance.h"

/* 8. A blocking write is paced by the device clock; close() drains. */
void t_blocking_write(void)
{
	static char buf[BPS];
	memset(buf, SIL, sizeof buf);
	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	step("blocking write() of 1 s of U8 8 kHz mono (8000 bytes)");
	double t0 = now();
	ssize_t n = write(fd, buf, sizeof buf);
	int e = errno;
	double t1 = now();
	check(n == (ssize_t)sizeof buf, "a blocking write() of 8000 bytes returns 8000", "got %zd (%s)", n, n < 0 ? ename(e) : "");
	check(t1 - t0 >= 0.5 && t1 - t0 <= 3.0, S("a blocking write() of 1 s of audio is paced by the device (took %.3f s)", t1 - t0),
	      "got %.3f s, expected 0.5 to 3 s (1 s minus the buffer)", t1 - t0);
	step("close() after a blocking write of 1 s (drains)");
	int r = close(fd);
	e = errno;
	double t2 = now();
	check(r == 0, "close() succeeds", "got -1 (%s)", ename(e));
	check(t2 - t0 >= 0.9 && t2 - t0 <= 3.5,
	      S("close() waits until the sound has played (write + close took %.3f s, close %.3f s)", t2 - t0, t2 - t1),
	      "got %.3f s in all, expected 0.9 to 3.5 s", t2 - t0);
}

/* 9. Partial frames are accepted: write() returns its full count. */
void t_partial_frames(void)
{
	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	set_int(fd, SNDCTL_DSP_SETFMT, AFMT_S16_LE);
	set_int(fd, SNDCTL_DSP_CHANNELS, 2);
	static const char zero[8];
	step("write() of 3 bytes to S16_LE stereo");
	ssize_t a = write(fd, zero, 3);
	int ea = errno;
	step("write() of 5 bytes to S16_LE stereo");
	ssize_t b = write(fd, zero, 5);
	int eb = errno;
	check(a == 3 && b == 5, "S16_LE stereo: write() of 3 bytes then 5 bytes returns 3 and 5 (partial frames accepted)",
	      "got %zd%s%s and %zd%s%s", a, a < 0 ? " " : "", a < 0 ? ename(ea) : "", b, b < 0 ? " " : "", b < 0 ? ename(eb) : "");
	step("close() after 2 frames");
	close(fd);
}

/* 10. Non-blocking writes: take what fits, then EAGAIN. Three ways to ask. */
static void nonblock_case(int fd, const char *how)
{
	static char buf[5 * BPS];
	memset(buf, SIL, sizeof buf);
	audio_buf_info bi;
	int e;
	get_ospace(fd, &bi, &e);
	step("%s: write() of 5 s of audio", how);
	ssize_t n = write(fd, buf, sizeof buf);
	e = errno;
	check(n > 0 && n < (ssize_t)sizeof buf, S("%s: write() of 5 s returns a short count at once", how),
	      "got %zd%s%s, expected 0 < n < %zu", n, n < 0 ? " " : "", n < 0 ? ename(e) : "", sizeof buf);
	step("%s: second write()", how);
	ssize_t m = write(fd, buf, sizeof buf);
	e = errno;
	/* Playback runs on: a period or two may free between the two calls (the
	 * engine can take two at once after a late wakeup). Such a small count is
	 * retried, up to 3 times; a buffer that never says EAGAIN fails. */
	int total = bi.fragstotal * bi.fragsize;
	for (int i = 0; i < 3 && m > 0 && m <= total / 2; i++) {
		note("%s: next write took %zd bytes (freed by playback meanwhile); trying again", how, m);
		m = write(fd, buf, sizeof buf);
		e = errno;
	}
	check(m < 0 && e == EAGAIN, S("%s: the next write() fails with EAGAIN", how), "got %zd%s%s", m, m < 0 ? " " : "",
	      m < 0 ? ename(e) : "");
}

void t_nonblock(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK);
	if (fd >= 0) {
		nonblock_case(fd, "open(O_NONBLOCK)");
		halt_close(fd);
	}
	fd = open_dsp(O_WRONLY);
	if (fd >= 0) {
		int r = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		check(r == 0, "fcntl(F_SETFL, O_NONBLOCK) succeeds", "got %d (%s)", r, ename(errno));
		nonblock_case(fd, "fcntl(F_SETFL, O_NONBLOCK)");
		halt_close(fd);
	}
	fd = open_dsp(O_WRONLY);
	if (fd >= 0) {
		int r = ioctl(fd, SNDCTL_DSP_NONBLOCK, 0);
		check(r == 0, "SNDCTL_DSP_NONBLOCK succeeds", "got %d (%s)", r, ename(errno));
		nonblock_case(fd, "SNDCTL_DSP_NONBLOCK");
		halt_close(fd);
	}
}

/* 11. poll()/select(): writable while at least one fragment is free. */
static int poll_out(int fd, int ms, short *rev)
{
	struct pollfd p = {fd, POLLOUT, 0};
	int r = poll(&p, 1, ms);
	*rev = p.revents;
	return r;
}

static int select_out(int fd, int ms)
{
	fd_set w;
	FD_ZERO(&w);
	FD_SET(fd, &w);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	int r = select(fd + 1, NULL, &w, NULL, &tv);
	return r > 0 && FD_ISSET(fd, &w) ? 1 : r;
}

void t_poll(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return;
	short rev;
	step("poll(POLLOUT, 0 ms) on a fresh fd");
	int r = poll_out(fd, 0, &rev);
	check(r == 1 && (rev & POLLOUT), "poll(): a fresh fd is writable at once", "got %d revents %#x", r, rev);
	step("select(writefds, 0 ms) on a fresh fd");
	r = select_out(fd, 0);
	check(r == 1, "select(): a fresh fd is writable at once", "got %d", r);

	/* As for GETOSPACE: playback may free a fragment between the last write
	 * and poll(); up to 3 tries (fill, poll at once). */
	long n;
	int tries = 0;
	for (;;) {
		n = fill_nonblock(fd, SIL);
		step("poll(POLLOUT, 0 ms) on a full buffer");
		r = poll_out(fd, 0, &rev);
		if (r == 0 || ++tries == 3)
			break;
		note("poll() right after filling said %d (revents %#x); filling again", r, rev);
	}
	check(n > 0 && r == 0, "poll(): not writable after non-blocking writes filled the buffer",
	      "got %d revents %#x after %ld bytes, expected 0", r, rev, n);
	step("poll(POLLOUT, 1000 ms) on a full buffer");
	double t0 = now();
	r = poll_out(fd, 1000, &rev);
	double dt = now() - t0;
	check(r == 1 && (rev & POLLOUT), S("poll(1000 ms): writable again once playback frees a fragment (after %.0f ms)", dt * 1000),
	      "got %d revents %#x after %.0f ms", r, rev, dt * 1000);
	step("write() after poll() said writable");
	static char buf[256];
	memset(buf, SIL, sizeof buf);
	ssize_t w = write(fd, buf, sizeof buf);
	check(w > 0, "write() succeeds once poll() reports POLLOUT", "got %zd (%s)", w, w < 0 ? ename(errno) : "");

	tries = 0;
	for (;;) {
		n = fill_nonblock(fd, SIL);
		step("select(writefds, 0 ms) on a full buffer");
		r = select_out(fd, 0);
		if (r == 0 || ++tries == 3)
			break;
		note("select() right after filling said %d; filling again", r);
	}
	check(n >= 0 && r == 0, "select(): not writable after the buffer is filled", "got %d after %ld bytes, expected 0", r, n);
	step("select(writefds, 1000 ms) on a full buffer");
	t0 = now();
	r = select_out(fd, 1000);
	dt = now() - t0;
	check(r == 1, S("select(1000 ms): writable again once playback frees a fragment (after %.0f ms)", dt * 1000),
	      "got %d after %.0f ms", r, dt * 1000);
	halt_close(fd);
}

/* 12. SNDCTL_DSP_GETODELAY: bytes written and not yet heard. */
void t_getodelay(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e;
	if (fd < 0)
		return;
	int d0 = odelay(fd);
	check(d0 == 0, "SNDCTL_DSP_GETODELAY is 0 on a fresh fd", "got %d", d0);
	audio_buf_info bi;
	get_ospace(fd, &bi, &e);
	int n = bi.bytes < 800 ? bi.bytes : 800; /* up to 100 ms, within the buffer */
	static char buf[800];
	memset(buf, SIL, sizeof buf);
	step("non-blocking write() of %d bytes", n);
	ssize_t w = write(fd, buf, n);
	int d1 = odelay(fd);
	check(w == n && d1 > 0 && d1 <= n + DEVICE_HOLD, S("SNDCTL_DSP_GETODELAY after writing %d bytes: 0 < odelay <= %d + device", n, n),
	      "got write %zd, odelay %d, expected 0 < odelay <= %d", w, d1, n + DEVICE_HOLD);
	double waited;
	int d2 = odelay_drops(fd, d1 - DROP, 500, &waited);
	check(d2 >= 0 && d2 < d1 - DROP, S("SNDCTL_DSP_GETODELAY decreases as the sound plays (%d -> %d after %.0f ms)", d1, d2, waited * 1000),
	      "got %d, still %d after %.0f ms, expected < %d within 500 ms", d1, d2, waited * 1000, d1 - DROP);
	step("SNDCTL_DSP_SYNC");
	int r = ioctl(fd, SNDCTL_DSP_SYNC, 0);
	e = errno;
	int d3 = odelay(fd);
	check(r == 0 && d3 == 0, "SNDCTL_DSP_GETODELAY is 0 after SNDCTL_DSP_SYNC", "got SYNC %s, odelay %d", rv(r, e, 0), d3);
	close(fd);
}

/* 13. SNDCTL_DSP_GETOPTR: bytes played so far. */
void t_getoptr(void)
{
	int fd = open_dsp(O_WRONLY), e;
	if (fd < 0)
		return;
	count_info ci;
	memset(&ci, 0xff, sizeof ci);
	int r = ioctl(fd, SNDCTL_DSP_GETOPTR, &ci);
	e = errno;
	check(r == 0 && ci.bytes == 0, "SNDCTL_DSP_GETOPTR bytes is 0 on a fresh fd", "got ret %d%s, bytes %d blocks %d ptr %d", r,
	      r < 0 ? ename(e) : "", ci.bytes, ci.blocks, ci.ptr);
	static char buf[BPS / 2];
	memset(buf, SIL, sizeof buf);
	step("blocking write() of 0.5 s");
	ssize_t w = write(fd, buf, sizeof buf);
	step("SNDCTL_DSP_SYNC after 0.5 s");
	ioctl(fd, SNDCTL_DSP_SYNC, 0);
	memset(&ci, 0xff, sizeof ci);
	r = ioctl(fd, SNDCTL_DSP_GETOPTR, &ci);
	e = errno;
	int want = sizeof buf;
	check(r == 0 && w == want && ci.bytes >= want * 95 / 100 && ci.bytes <= want * 105 / 100,
	      "SNDCTL_DSP_GETOPTR after writing 4000 bytes and SYNC: bytes played is 4000 (+-5%)",
	      "got write %zd, ret %d%s, bytes %d", w, r, r < 0 ? ename(e) : "", ci.bytes);
	check(r == 0 && ci.blocks > 0, "SNDCTL_DSP_GETOPTR blocks > 0 after fragments played", "got blocks %d", ci.blocks);
	close(fd);
}

/* 14. SNDCTL_DSP_SYNC returns only once everything written was played. */
void t_sync(void)
{
	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	step("SNDCTL_DSP_SYNC on a fresh fd");
	double t0 = now();
	int r = ioctl(fd, SNDCTL_DSP_SYNC, 0);
	double dt = now() - t0;
	check(r == 0 && dt < 1.0, "SNDCTL_DSP_SYNC with nothing written returns 0 at once", "got %d (%s) after %.3f s", r,
	      r < 0 ? ename(errno) : "", dt);
	static char buf[BPS / 2];
	memset(buf, SIL, sizeof buf);
	step("write() of 0.5 s");
	t0 = now();
	ssize_t w = write(fd, buf, sizeof buf);
	double t1 = now();
	step("SNDCTL_DSP_SYNC after writing 0.5 s");
	r = ioctl(fd, SNDCTL_DSP_SYNC, 0);
	int e = errno;
	double t2 = now();
	check(w == (ssize_t)sizeof buf && r == 0 && t2 - t0 >= 0.45 && t2 - t0 <= 3.0,
	      S("SNDCTL_DSP_SYNC returns after 0.5 s written has played (write %.3f s + SYNC %.3f s)", t1 - t0, t2 - t1),
	      "got write %zd, SYNC %s, %.3f s in all, expected 0.45 to 3 s", w, rv(r, e, 0), t2 - t0);
	step("close() after SYNC");
	t0 = now();
	close(fd);
	dt = now() - t0;
	check(dt < 0.5, "close() after SNDCTL_DSP_SYNC returns at once (nothing left)", "got %.3f s", dt);
}

/* 15. SNDCTL_DSP_RESET (= HALT) drops what is queued, at once. */
void t_reset(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e;
	if (fd < 0)
		return;
	long n = fill_nonblock(fd, SIL);
	int d0 = odelay(fd);
	step("SNDCTL_DSP_RESET on a full buffer");
	double t0 = now();
	int r = ioctl(fd, SNDCTL_DSP_RESET, 0);
	e = errno;
	double dt = now() - t0;
	check(n > 0 && r == 0 && dt < 0.5, S("SNDCTL_DSP_RESET on a full buffer returns 0 at once (%.0f ms)", dt * 1000),
	      "got %s after %.3f s, %ld bytes queued", rv(r, e, 0), dt, n);
	int d1 = odelay(fd);
	/* The manual: stop at once. A mixer may have handed up to one device
	 * period to the hardware; allow 25 ms (200 bytes at 8 kHz U8). */
	check(d1 >= 0 && d1 <= BPS / 40, "SNDCTL_DSP_GETODELAY right after RESET is 0 (or <= 25 ms)", "got %d (was %d before RESET)",
	      d1, d0);
	audio_buf_info bi;
	bool ok = get_ospace(fd, &bi, &e);
	check(ok && bi.bytes == bi.fragstotal * bi.fragsize, "SNDCTL_DSP_GETOSPACE right after RESET: the whole buffer is free",
	      "got %s", bistr(&bi));
	static char buf[100];
	memset(buf, SIL, sizeof buf);
	step("write() after RESET");
	ssize_t w = write(fd, buf, sizeof buf);
	check(w == (ssize_t)sizeof buf, "write() after SNDCTL_DSP_RESET is accepted", "got %zd (%s)", w, w < 0 ? ename(errno) : "");
	halt_close(fd);
}

/* 16. SNDCTL_DSP_POST: start a partial fragment now. */
void t_post(void)
{
	int fd = open_dsp(O_WRONLY), e, dummy = 0;
	if (fd < 0)
		return;
	int r = ioc(fd, SNDCTL_DSP_POST, &dummy, &e);
	check(r == 0, "SNDCTL_DSP_POST on a fresh fd returns 0", "got %s", rv(r, e, 0));
	static char buf[100];
	memset(buf, SIL, sizeof buf);
	step("write() of 100 bytes");
	ssize_t w = write(fd, buf, sizeof buf);
	r = ioc(fd, SNDCTL_DSP_POST, &dummy, &e);
	check(w == 100 && r == 0, "SNDCTL_DSP_POST after a partial fragment returns 0", "got write %zd, POST %s", w, rv(r, e, 0));
	step("close() after POST");
	close(fd);
}
