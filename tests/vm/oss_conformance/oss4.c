/* oss4.c: groups 17-24, GETCAPS (no mmap), triggers, an unknown ioctl, and
 * the OSS 4 calls. See oss_conformance.h. */
#include "oss_conformance.h"

/* 17. SNDCTL_DSP_GETCAPS, and no mmap on CUSE. */
void t_caps(void)
{
	int fd = open_dsp(O_WRONLY), e, caps = 0;
	if (fd < 0)
		return;
	int r = ioc(fd, SNDCTL_DSP_GETCAPS, &caps, &e);
	note("SNDCTL_DSP_GETCAPS = %#x", caps);
	check(r == 0 && (caps & DSP_CAP_TRIGGER), "SNDCTL_DSP_GETCAPS has DSP_CAP_TRIGGER", "got %s", rv(r, e, caps));
	check(r == 0 && (caps & DSP_CAP_REALTIME), "SNDCTL_DSP_GETCAPS has DSP_CAP_REALTIME", "got %s", rv(r, e, caps));
	check(r == 0 && (caps & DSP_CAP_MULTI), "SNDCTL_DSP_GETCAPS has DSP_CAP_MULTI", "got %s", rv(r, e, caps));
	check(r == 0 && !(caps & DSP_CAP_MMAP), "SNDCTL_DSP_GETCAPS has no DSP_CAP_MMAP (CUSE cannot map)", "got %s",
	      rv(r, e, caps));
	step("mmap(PROT_WRITE) of an O_WRONLY fd");
	void *p = mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, fd, 0);
	e = errno;
	check(p == MAP_FAILED, S("mmap(PROT_WRITE, MAP_SHARED) of an O_WRONLY fd fails (%s)", p == MAP_FAILED ? ename(e) : "mapped"),
	      "got a mapping at %p", p);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
	/* Games map the buffer of an O_RDWR fd (read+write: the kernel's own
	 * permission check passes and the request reaches CUSE, which has no mmap). */
	step("open(O_RDWR) for mmap");
	fd = open(dsp_path, O_RDWR);
	if (fd < 0) {
		skip("mmap(PROT_READ|PROT_WRITE, MAP_SHARED) of an O_RDWR fd fails", "open(O_RDWR) failed (%s)", ename(errno));
		return;
	}
	step("mmap(PROT_READ|PROT_WRITE) of an O_RDWR fd");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	e = errno;
	check(p == MAP_FAILED,
	      S("mmap(PROT_READ|PROT_WRITE, MAP_SHARED) of an O_RDWR fd fails (%s)", p == MAP_FAILED ? ename(e) : "mapped"),
	      "got a mapping at %p", p);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
}

/* 18. SNDCTL_DSP_SETTRIGGER / GETTRIGGER: gate playback. */
void t_trigger(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e, v;
	if (fd < 0)
		return;
	v = 0;
	int r = ioc(fd, SNDCTL_DSP_SETTRIGGER, &v, &e);
	check(r == 0, "SNDCTL_DSP_SETTRIGGER(0) succeeds", "got %s", rv(r, e, 0));
	v = -1;
	r = ioc(fd, SNDCTL_DSP_GETTRIGGER, &v, &e);
	check(r == 0 && !(v & PCM_ENABLE_OUTPUT), "SNDCTL_DSP_GETTRIGGER after SETTRIGGER(0) lacks PCM_ENABLE_OUTPUT", "got %s",
	      rv(r, e, v));
	long n = fill_nonblock(fd, SIL);
	int d1 = odelay(fd);
	check(n > 0 && d1 > 0, "with the trigger off, non-blocking write()s are queued (GETODELAY > 0)", "got %ld bytes, odelay %d",
	      n, d1);
	msleep(300);
	int d2 = odelay(fd);
	count_info ci;
	memset(&ci, 0xff, sizeof ci);
	ioctl(fd, SNDCTL_DSP_GETOPTR, &ci);
	check(d2 >= d1 && d2 > 0, "with the trigger off nothing plays: SNDCTL_DSP_GETODELAY does not decrease over 300 ms",
	      "got %d then %d", d1, d2);
	check(ci.bytes == 0, "with the trigger off nothing plays: SNDCTL_DSP_GETOPTR bytes stays 0", "got %d", ci.bytes);
	v = PCM_ENABLE_OUTPUT;
	r = ioc(fd, SNDCTL_DSP_SETTRIGGER, &v, &e);
	check(r == 0, "SNDCTL_DSP_SETTRIGGER(PCM_ENABLE_OUTPUT) succeeds", "got %s", rv(r, e, 0));
	v = 0;
	ioc(fd, SNDCTL_DSP_GETTRIGGER, &v, &e);
	check(v & PCM_ENABLE_OUTPUT, "SNDCTL_DSP_GETTRIGGER then has PCM_ENABLE_OUTPUT", "got %#x", v);
	double waited;
	int d3 = odelay_drops(fd, d2 - DROP, 500, &waited);
	check(d3 >= 0 && d3 < d2 - DROP, S("SNDCTL_DSP_SETTRIGGER(PCM_ENABLE_OUTPUT) starts playback (GETODELAY %d -> %d after %.0f ms)", d2, d3, waited * 1000),
	      "got %d, still %d after %.0f ms, expected < %d within 500 ms", d2, d3, waited * 1000, d2 - DROP);
	halt_close(fd);
}

/* 19. Unknown ioctls fail with EINVAL (the manual; the kernel gives no ENOTTY
 * here because the number carries a size CUSE passes on). */
void t_unknown_ioctl(void)
{
	int fd = open_dsp(O_WRONLY), v = 0, e;
	if (fd < 0)
		return;
	int r = ioc(fd, UNKNOWN_IOCTL, &v, &e);
	check(r == -1 && e == EINVAL, "an unknown ioctl _IOWR('P', 200, int) fails with EINVAL", "got %s", rv(r, e, v));
	int fmt = AFMT_QUERY;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &fmt, &e);
	check(r == 0 && fmt == AFMT_U8, "the fd still works after an unknown ioctl", "got %s", rv(r, e, fmt));
	close(fd);
}

/* 20. OSS 4 identification: OSS_GETVERSION, SNDCTL_SYSINFO, AUDIOINFO, ENGINEINFO. */
static bool cstr_ok(const char *s, size_t n)
{
	return s[0] != 0 && memchr(s, 0, n) != NULL;
}

void t_info(void)
{
	int fd = open_dsp(O_WRONLY), e, v = 0;
	if (fd < 0)
		return;
	int r = ioc(fd, OSS4_GETVERSION, &v, &e);
	check(r == 0 && v >= 0x040000, "OSS_GETVERSION returns >= 0x040000", "got %s", rv(r, e, v));

	static oss4_sysinfo si;
	memset(&si, 0, sizeof si);
	errno = 0;
	r = ioctl(fd, OSS4_SYSINFO, &si);
	e = errno;
	check(r == 0 && si.numaudios >= 1 && cstr_ok(si.product, sizeof si.product),
	      "SNDCTL_SYSINFO succeeds with numaudios >= 1 and a product name", "got ret %d%s%s, numaudios %d, product \"%.32s\"", r,
	      r < 0 ? " " : "", r < 0 ? ename(e) : "", si.numaudios, si.product);
	if (r == 0)
		note("SYSINFO: product \"%.32s\" version \"%.32s\" versionnum %#x numaudios %d", si.product, si.version,
		     si.versionnum, si.numaudios);

	static oss4_audioinfo ai;
	int devs[2] = {-1, 0};
	for (int i = 0; i < 2; i++) {
		memset(&ai, 0, sizeof ai);
		ai.dev = devs[i];
		errno = 0;
		r = ioctl(fd, OSS4_AUDIOINFO, &ai);
		e = errno;
		check(r == 0 && cstr_ok(ai.name, sizeof ai.name) && cstr_ok(ai.devnode, sizeof ai.devnode),
		      S("SNDCTL_AUDIOINFO(dev %d) succeeds with a name and a devnode", devs[i]),
		      "got ret %d%s%s, name \"%.64s\", devnode \"%.32s\"", r, r < 0 ? " " : "", r < 0 ? ename(e) : "", ai.name,
		      ai.devnode);
		if (r == 0)
			note("AUDIOINFO(%d): dev %d name \"%.64s\" devnode \"%.32s\" caps %#x oformats %#x rates %d..%d", devs[i], ai.dev,
			     ai.name, ai.devnode, ai.caps, ai.oformats, ai.min_rate, ai.max_rate);
	}
	memset(&ai, 0, sizeof ai);
	ai.dev = 0;
	errno = 0;
	r = ioctl(fd, OSS4_ENGINEINFO, &ai);
	e = errno;
	check(r == 0 && cstr_ok(ai.name, sizeof ai.name), "SNDCTL_ENGINEINFO(dev 0) succeeds with a name",
	      "got ret %d%s%s, name \"%.64s\"", r, r < 0 ? " " : "", r < 0 ? ename(e) : "", ai.name);
	close(fd);
}

/* 21. SNDCTL_DSP_GETPLAYVOL / SETPLAYVOL: per-open volume, l | r << 8, 0..100. */
void t_playvol(void)
{
	int fd = open_dsp(O_WRONLY), e, v = -1;
	if (fd < 0)
		return;
	int r = ioc(fd, OSS4_GETPLAYVOL, &v, &e);
	/* OSS 4 starts at full volume; any valid pair is accepted. */
	check(r == 0 && (v & ~0xffff) == 0 && (v & 0xff) <= 100 && ((v >> 8) & 0xff) <= 100,
	      "SNDCTL_DSP_GETPLAYVOL on a fresh fd is a valid left | right << 8 (each <= 100)", "got %s", rv(r, e, v));
	if (r == 0 && v != (100 | 100 << 8))
		note("fresh GETPLAYVOL is %#x, not 100|100<<8", v);
	v = 50 | 30 << 8;
	r = ioc(fd, OSS4_SETPLAYVOL, &v, &e);
	int g = -1;
	int r2 = ioc(fd, OSS4_GETPLAYVOL, &g, &e);
	check(r == 0 && r2 == 0 && g == (50 | 30 << 8), "SNDCTL_DSP_SETPLAYVOL(50 | 30 << 8) then GETPLAYVOL returns 50 | 30 << 8",
	      "got SET ret %d, GET %s", r, rv(r2, e, g));
	v = 200 | 200 << 8;
	r = ioc(fd, OSS4_SETPLAYVOL, &v, &e);
	g = -1;
	r2 = ioc(fd, OSS4_GETPLAYVOL, &g, &e);
	check(r == 0 && r2 == 0 && (g & 0xff) <= 100 && ((g >> 8) & 0xff) <= 100 && (g & ~0xffff) == 0,
	      "SNDCTL_DSP_SETPLAYVOL(200 | 200 << 8) is clamped to <= 100 each", "got SET ret %d, GET %s", r, rv(r2, e, g));
	close(fd);
}

/* 22. SNDCTL_DSP_GETERROR: counters since the previous call. */
void t_geterror(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return;
	oss4_audio_errinfo ei;
	memset(&ei, 0xff, sizeof ei);
	int r = ioctl(fd, OSS4_GETERROR, &ei);
	int e = errno;
	check(r == 0 && ei.play_underruns >= 0, "SNDCTL_DSP_GETERROR succeeds (104-byte audio_errinfo)",
	      "got ret %d%s%s, play_underruns %d", r, r < 0 ? " " : "", r < 0 ? ename(e) : "", ei.play_underruns);
	/* Let the stream run dry while triggered: whether a mixing daemon calls this
	 * an underrun is its choice (counted >= 0 here); clearing on read is not. */
	static char buf[200];
	memset(buf, SIL, sizeof buf);
	step("write(), 500 ms pause, write()");
	ssize_t w1 = write(fd, buf, sizeof buf);
	msleep(500);
	ssize_t w2 = write(fd, buf, sizeof buf);
	msleep(300); /* played out and idle: no underrun can fall between the two calls */
	memset(&ei, 0xff, sizeof ei);
	r = ioctl(fd, OSS4_GETERROR, &ei);
	e = errno;
	check(w1 > 0 && w2 > 0 && r == 0 && ei.play_underruns >= 0, "SNDCTL_DSP_GETERROR after the stream ran dry: play_underruns >= 0",
	      "got writes %zd %zd, ret %d%s%s, play_underruns %d", w1, w2, r, r < 0 ? " " : "", r < 0 ? ename(e) : "",
	      ei.play_underruns);
	if (r == 0)
		note("play_underruns after running dry: %d", ei.play_underruns);
	memset(&ei, 0xff, sizeof ei);
	r = ioctl(fd, OSS4_GETERROR, &ei);
	e = errno;
	check(r == 0 && ei.play_underruns == 0, "a second SNDCTL_DSP_GETERROR right after reports 0 underruns (cleared on read)",
	      "got ret %d%s%s, play_underruns %d", r, r < 0 ? " " : "", r < 0 ? ename(e) : "", ei.play_underruns);
	halt_close(fd);
}

/* 23. SNDCTL_DSP_CURRENT_OPTR: frames played, and the FIFO depth. */
void t_current_optr(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return;
	set_int(fd, SNDCTL_DSP_SETFRAGMENT, 0x0010000A); /* hint: up to 16 KiB, 2 s */
	long n = fill_nonblock(fd, SIL);
	oss4_count_t c0, c1;
	memset(&c0, 0xff, sizeof c0);
	memset(&c1, 0xff, sizeof c1);
	int r0 = ioctl(fd, OSS4_CURRENT_OPTR, &c0);
	int e = errno;
	/* Watch for up to 500 ms (the device's own queue plays first) for a growth
	 * of 10 ms of frames, more than resampler bookkeeping can fake. */
	double t0 = now();
	int r1;
	do {
		msleep(10);
		r1 = ioctl(fd, OSS4_CURRENT_OPTR, &c1);
	} while (r0 == 0 && r1 == 0 && c1.samples < c0.samples + DROP && now() - t0 < 0.5);
	double ms = (now() - t0) * 1000;
	check(r0 == 0 && r1 == 0 && c1.samples >= c0.samples + DROP,
	      S("SNDCTL_DSP_CURRENT_OPTR samples grows while playing (%lld -> %lld after %.0f ms)", c0.samples, c1.samples, ms),
	      "got ret %d%s%s/%d, samples %lld then %lld after %.0f ms", r0, r0 < 0 ? " " : "", r0 < 0 ? ename(e) : "", r1, c0.samples,
	      c1.samples, ms);
	check(r0 == 0 && r1 == 0 && c0.fifo_samples >= 0 && c1.fifo_samples >= 0, "SNDCTL_DSP_CURRENT_OPTR fifo_samples >= 0",
	      "got %d and %d", c0.fifo_samples, c1.fifo_samples);
	step("SNDCTL_DSP_SYNC");
	ioctl(fd, SNDCTL_DSP_SYNC, 0);
	memset(&c1, 0xff, sizeof c1);
	r1 = ioctl(fd, OSS4_CURRENT_OPTR, &c1);
	check(r1 == 0 && c1.samples >= n * 95 / 100 && c1.samples <= n * 105 / 100,
	      S("SNDCTL_DSP_CURRENT_OPTR after SYNC: samples = frames written (%ld, +-5%%)", n), "got ret %d, samples %lld", r1,
	      c1.samples);
	close(fd);
}

/* 24. The other OSS 4 calls current programs make. */
void t_oss4_misc(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e, v;
	if (fd < 0)
		return;
	unsigned long long order = 0;
	errno = 0;
	int r = ioctl(fd, OSS4_GET_CHNORDER, &order);
	e = errno;
	check(r == 0, S("SNDCTL_DSP_GET_CHNORDER succeeds (%#llx)", order), "got ret %d (%s)", r, ename(e));
	v = 1;
	r = ioc(fd, OSS4_COOKEDMODE, &v, &e);
	check(r == 0, "SNDCTL_DSP_COOKEDMODE(1) succeeds", "got %s", rv(r, e, v));
	v = 256;
	r = ioc(fd, OSS4_LOW_WATER, &v, &e);
	check(r == 0, "SNDCTL_DSP_LOW_WATER(256) succeeds", "got %s", rv(r, e, v));
	fill_nonblock(fd, SIL);
	r = ioc(fd, OSS4_SILENCE, &v, &e);
	check(r == 0, "SNDCTL_DSP_SILENCE succeeds while playing", "got %s", rv(r, e, 0));
	r = ioc(fd, OSS4_SKIP, &v, &e);
	check(r == 0, "SNDCTL_DSP_SKIP succeeds while playing", "got %s", rv(r, e, 0));
	step("SNDCTL_DSP_HALT_OUTPUT");
	r = ioc(fd, OSS4_HALT_OUTPUT, &v, &e);
	int d = odelay(fd);
	check(r == 0, "SNDCTL_DSP_HALT_OUTPUT succeeds", "got %s", rv(r, e, 0));
	check(r == 0 && d >= 0 && d <= BPS / 40, "SNDCTL_DSP_GETODELAY after HALT_OUTPUT is 0 (or <= 25 ms)",
	      "got HALT_OUTPUT %s, odelay %d", rv(r, e, 0), d);
	close(fd);
}
