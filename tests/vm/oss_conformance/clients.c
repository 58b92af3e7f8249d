/* clients.c: groups 25-27, opens for reading, eight players at once, a
 * killed client. See oss_conformance.h. */
#include "oss_conformance.h"

/* 25. Opens for reading. A device whose GETCAPS advertises recording
 * (DSP_CAP_INPUT for O_RDONLY, DSP_CAP_DUPLEX for O_RDWR) must accept them and
 * deliver data; one that does not (recording not built, or ossd run with
 * --capture-device none) may refuse: that is a SKIP line. Either way a hang
 * (the group's alarm) is a failure, and the daemon must go on serving. */
static void read_open_case(int acc, const char *name, bool advertised, const char *cap)
{
	step("open(%s)", name);
	int fd = open(dsp_path, acc);
	if (fd < 0) {
		if (advertised)
			check(false, S("open(%s) succeeds (GETCAPS has %s)", name, cap), "got -1 (%s)", ename(errno));
		else
			skip(S("open(%s) answers without hanging", name), "no %s in GETCAPS: open failed with %s", cap,
			     ename(errno));
		return;
	}
	static char buf[80];
	if (acc == O_RDWR) { /* full duplex; some legacy players open O_RDWR just to play */
		memset(buf, SIL, sizeof buf);
		step("write() to an O_RDWR fd");
		ssize_t w = write(fd, buf, sizeof buf);
		int e = errno;
		if (advertised)
			check(w == (ssize_t)sizeof buf, "write() of 80 bytes to an O_RDWR fd returns 80", "got %zd%s%s", w,
			      w < 0 ? " " : "", w < 0 ? ename(e) : "");
		else
			note("O_RDWR fd: write() of 80 bytes returned %zd%s%s", w, w < 0 ? " " : "", w < 0 ? ename(e) : "");
		ioctl(fd, SNDCTL_DSP_RESET, 0);
	}
	step("read() of 80 bytes from an %s fd", name);
	ssize_t n = read(fd, buf, sizeof buf);
	int e = errno;
	if (n > 0 || advertised)
		check(n > 0, S("open(%s) and a blocking read() return data", name), "got read() %zd%s%s", n, n < 0 ? " " : "",
		      n < 0 ? ename(e) : "");
	else
		skip(S("open(%s) succeeds and read() answers without hanging", name), "no %s in GETCAPS: read() returned %zd (%s)",
		     cap, n, n < 0 ? ename(e) : "EOF");
	step("close() of an %s fd", name);
	close(fd);
}

void t_read_open(void)
{
	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	int caps = 0, e;
	ioc(fd, SNDCTL_DSP_GETCAPS, &caps, &e);
	close(fd);
	read_open_case(O_RDONLY, "O_RDONLY", caps & OSS4_DSP_CAP_INPUT, "DSP_CAP_INPUT");
	read_open_case(O_RDWR, "O_RDWR", caps & DSP_CAP_DUPLEX, "DSP_CAP_DUPLEX");
	fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	int v = AFMT_QUERY;
	int r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0, "the daemon still serves O_WRONLY opens after reading opens", "got %s", rv(r, e, v));
	close(fd);
}

/* 26. Eight programs playing at once are mixed, in real time. */
void t_concurrent(void)
{
	enum { N = 8 };
	pid_t pids[N];
	step("8 processes each playing 1 s (blocking write + close)");
	double t0 = now();
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			alarm(TIMEOUT);
			static char buf[BPS];
			memset(buf, SIL, sizeof buf);
			int fd = open(dsp_path, O_WRONLY);
			if (fd < 0)
				_exit(10 + (errno & 0x3f));
			if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
				_exit(2);
			_exit(close(fd) == 0 ? 0 : 3);
		}
	}
	int good = 0, bad_status = 0;
	for (int i = 0; i < N; i++) {
		int st;
		if (pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			good++;
		else if (pids[i] > 0)
			bad_status = st;
	}
	double dt = now() - t0;
	check(good == N, "8 processes playing 1 s each at once all succeed (open, write, close)",
	      "got %d of 8; a failure's wait status %#x (exit 1x: open errno x, 2: short write, 3: close)", good, bad_status);
	check(dt >= 0.9 && dt <= 2.5, S("8 concurrent 1 s streams finish in real time (%.3f s)", dt), "got %.3f s, expected 0.9 to 2.5 s",
	      dt);
}

/* 27. A client killed in the middle of a write does no harm. */
void t_killed_client(void)
{
	step("fork a writer of 5 s");
	pid_t pid = fork();
	if (pid == 0) {
		static char buf[5 * BPS];
		memset(buf, SIL, sizeof buf);
		int fd = open(dsp_path, O_WRONLY);
		if (fd >= 0)
			(void)!write(fd, buf, sizeof buf);
		_exit(0);
	}
	msleep(200);
	step("kill -9 a client blocked in write(), then reap it");
	double t0 = now();
	kill(pid, SIGKILL);
	int st = 0;
	waitpid(pid, &st, 0);
	double dt = now() - t0;
	check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && dt < 2.0,
	      S("a client blocked in write() dies at once on SIGKILL (%.3f s)", dt), "got wait status %#x after %.3f s", st, dt);

	int fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	static char buf[BPS * 3 / 10];
	memset(buf, SIL, sizeof buf);
	step("write() of 0.3 s and close() after a killed client");
	t0 = now();
	ssize_t w = write(fd, buf, sizeof buf);
	int r = close(fd);
	dt = now() - t0;
	check(w == (ssize_t)sizeof buf && r == 0 && dt >= 0.25 && dt <= 2.0,
	      S("after a killed client, a new fd plays 0.3 s and closes normally (%.3f s)", dt),
	      "got write %zd, close %d, %.3f s, expected 0.25 to 2 s", w, r, dt);
	fd = open_dsp(O_WRONLY);
	if (fd < 0)
		return;
	int v = AFMT_QUERY, e;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0 && v == AFMT_U8, "the daemon is still alive (a new open answers SNDCTL_DSP_SETFMT)", "got %s", rv(r, e, v));
	close(fd);
}
