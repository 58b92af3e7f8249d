/* formats.c: groups 1-7, opening, the fresh-open defaults, format, channels,
 * rate, the fragment geometry and GETOSPACE. See oss_conformance.h. */
#include "oss_conformance.h"

/* 1. open(2): many opens at once, never EBUSY (OSS 4: DSP_CAP_MULTI, vmix). */
void t_open(void)
{
	int fds[8], n = 0, first_err = 0;
	fds[0] = open_dsp(O_WRONLY);
	if (fds[0] < 0)
		return;
	check(true, "open(O_WRONLY) succeeds", " ");
	n = 1;
	step("second and third concurrent open(O_WRONLY)");
	for (; n < 3; n++)
		if ((fds[n] = open(dsp_path, O_WRONLY)) < 0) {
			first_err = errno;
			break;
		}
	check(n == 3, "a second and a third concurrent open(O_WRONLY) succeed (not EBUSY)", "got %d of 3 open, then -1 (%s)", n,
	      ename(first_err));
	if (n == 3) {
		step("8 concurrent open(O_WRONLY)");
		for (; n < 8; n++)
			if ((fds[n] = open(dsp_path, O_WRONLY)) < 0) {
				first_err = errno;
				break;
			}
		check(n == 8, "8 concurrent open(O_WRONLY) all succeed", "got %d of 8 open, then -1 (%s)", n, ename(first_err));
	}
	step("close() of %d fresh fds", n);
	double t0 = now();
	while (n > 0)
		close(fds[--n]);
	double dt = now() - t0;
	check(dt < 2.0, "close() of fds that wrote nothing returns at once", "got %.3f s for all, expected < 2 s", dt);
}

/* 2. A fresh open is U8, mono, 8000 Hz (OSS 3 and 4: `cat x.ub > /dev/dsp`). */
void t_defaults(void)
{
	int fd = open_dsp(O_WRONLY), v, e, r;
	if (fd < 0)
		return;
	step("SNDCTL_DSP_SETFMT(AFMT_QUERY)");
	v = AFMT_QUERY;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0 && v == AFMT_U8, "fresh open: SNDCTL_DSP_SETFMT(AFMT_QUERY) is AFMT_U8", "got %s, expected AFMT_U8 (0x8)",
	      rv(r, e, v));
	v = -1;
	r = ioc(fd, SOUND_PCM_READ_CHANNELS, &v, &e);
	check(r == 0 && v == 1, "fresh open: SOUND_PCM_READ_CHANNELS is 1", "got %s, expected 1", rv(r, e, v));
	v = -1;
	r = ioc(fd, SOUND_PCM_READ_RATE, &v, &e);
	check(r == 0 && v == 8000, "fresh open: SOUND_PCM_READ_RATE is 8000", "got %s, expected 8000", rv(r, e, v));

	/* Settings belong to the open file, not to the device. */
	set_int(fd, SNDCTL_DSP_SETFMT, AFMT_S16_LE);
	set_int(fd, SNDCTL_DSP_CHANNELS, 2);
	set_int(fd, SNDCTL_DSP_SPEED, 44100);
	int fd2 = open_dsp(O_WRONLY);
	if (fd2 >= 0) {
		int f = AFMT_QUERY, c = -1, s = -1;
		ioc(fd2, SNDCTL_DSP_SETFMT, &f, &e);
		ioc(fd2, SOUND_PCM_READ_CHANNELS, &c, &e);
		ioc(fd2, SOUND_PCM_READ_RATE, &s, &e);
		check(f == AFMT_U8 && c == 1 && s == 8000,
		      "settings are per open: a second open while the first is S16_LE/2/44100 starts at U8/1/8000",
		      "got format %#x, %d channels, %d Hz, expected 0x8, 1, 8000", f, c, s);
		close(fd2);
	}
	close(fd);
}

/* 3. SNDCTL_DSP_SETFMT / GETFMTS: a set-call writes back what was chosen and
 * never fails for an unsupported value. */
void t_formats(void)
{
	int fd = open_dsp(O_WRONLY), v, e, r, fmts = 0;
	if (fd < 0)
		return;
	step("SNDCTL_DSP_GETFMTS");
	r = ioc(fd, SNDCTL_DSP_GETFMTS, &fmts, &e);
	const int want = AFMT_U8 | AFMT_S16_LE | AFMT_S16_BE | AFMT_S8 | AFMT_U16_LE | AFMT_MU_LAW | AFMT_A_LAW;
	check(r == 0 && (fmts & want) == want, "SNDCTL_DSP_GETFMTS includes U8, S16_LE, S16_BE, S8, U16_LE, MU_LAW, A_LAW",
	      "got %s (missing %#x), expected all of %#x", rv(r, e, fmts), want & ~fmts, want);

	v = AFMT_S16_LE;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0 && v == AFMT_S16_LE, "SNDCTL_DSP_SETFMT(AFMT_S16_LE) returns AFMT_S16_LE", "got %s, expected 0x10",
	      rv(r, e, v));
	v = AFMT_QUERY;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	check(r == 0 && v == AFMT_S16_LE, "SNDCTL_DSP_SETFMT(AFMT_QUERY) then reports AFMT_S16_LE", "got %s, expected 0x10",
	      rv(r, e, v));

	/* Every format GETFMTS advertises is accepted as is. */
	int bad = 0, badv = 0;
	for (int bit = 0; bit < 31; bit++) {
		int f = 1 << bit;
		if (!(fmts & f))
			continue;
		v = f;
		if (ioc(fd, SNDCTL_DSP_SETFMT, &v, &e) != 0 || v != f) {
			bad = f;
			badv = v;
		}
	}
	check(fmts && !bad, "SNDCTL_DSP_SETFMT accepts every format SNDCTL_DSP_GETFMTS lists", "got %#x for %#x (GETFMTS %#x)",
	      badv, bad, fmts);

	/* Not supported (ossd plays PCM only): the driver picks a format it has. */
	v = AFMT_MPEG;
	r = ioc(fd, SNDCTL_DSP_SETFMT, &v, &e);
	bool mpeg_ok = (fmts & AFMT_MPEG) ? v == AFMT_MPEG : (v != 0 && (v & (v - 1)) == 0 && (v & fmts));
	check(r == 0 && mpeg_ok, "SNDCTL_DSP_SETFMT(AFMT_MPEG) succeeds and returns a format in GETFMTS",
	      "got %s, expected ret 0 and one format of %#x", rv(r, e, v), fmts);
	close(fd);
}

/* 4. SNDCTL_DSP_CHANNELS / STEREO: write back the count chosen. */
void t_channels(void)
{
	int fd = open_dsp(O_WRONLY), v, e, r;
	if (fd < 0)
		return;
	v = 2;
	r = ioc(fd, SNDCTL_DSP_CHANNELS, &v, &e);
	check(r == 0 && v == 2, "SNDCTL_DSP_CHANNELS(2) returns 2", "got %s, expected 2", rv(r, e, v));
	v = 1;
	r = ioc(fd, SNDCTL_DSP_CHANNELS, &v, &e);
	check(r == 0 && v == 1, "SNDCTL_DSP_CHANNELS(1) returns 1", "got %s, expected 1", rv(r, e, v));
	v = 1;
	r = ioc(fd, SNDCTL_DSP_STEREO, &v, &e);
	check(r == 0 && v == 1, "SNDCTL_DSP_STEREO(1) returns 1", "got %s, expected 1", rv(r, e, v));
	v = -1;
	r = ioc(fd, SOUND_PCM_READ_CHANNELS, &v, &e);
	check(r == 0 && v == 2, "after SNDCTL_DSP_STEREO(1), SOUND_PCM_READ_CHANNELS is 2", "got %s, expected 2", rv(r, e, v));
	v = 0;
	r = ioc(fd, SNDCTL_DSP_STEREO, &v, &e);
	int c = -1, e2;
	ioc(fd, SOUND_PCM_READ_CHANNELS, &c, &e2);
	check(r == 0 && v == 0 && c == 1, "SNDCTL_DSP_STEREO(0) returns 0 and makes the stream mono",
	      "got %s and %d channels, expected 0 and 1", rv(r, e, v), c);
	/* Nearest supported: the exact maximum is the driver's choice (ossd: 8). */
	v = 1000;
	r = ioc(fd, SNDCTL_DSP_CHANNELS, &v, &e);
	c = -1;
	ioc(fd, SOUND_PCM_READ_CHANNELS, &c, &e2);
	check(r == 0 && v >= 1 && v <= 8 && c == v,
	      "SNDCTL_DSP_CHANNELS(1000) succeeds with a supported count (1..8) that SOUND_PCM_READ_CHANNELS then reports",
	      "got %s, READ_CHANNELS %d, expected ret 0 and 1 <= v <= 8", rv(r, e, v), c);
	close(fd);
}

/* 5. SNDCTL_DSP_SPEED: nearest supported rate, never an error for a positive one. */
void t_speed(void)
{
	int fd = open_dsp(O_WRONLY), v, e, e2, r, rd;
	if (fd < 0)
		return;
	v = 44100;
	r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
	rd = -1;
	ioc(fd, SOUND_PCM_READ_RATE, &rd, &e2);
	check(r == 0 && v >= 43659 && v <= 44541 && rd == v,
	      "SNDCTL_DSP_SPEED(44100) returns 44100 (within 1%) and SOUND_PCM_READ_RATE agrees",
	      "got %s, READ_RATE %d, expected 44100", rv(r, e, v), rd);
	v = 48000;
	r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
	check(r == 0 && v == 48000, "SNDCTL_DSP_SPEED(48000) returns 48000", "got %s, expected 48000", rv(r, e, v));
	/* The limits are the driver's choice; the call must clamp, not fail. */
	v = 1;
	r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
	check(r == 0 && v >= 1000 && v <= 192000, "SNDCTL_DSP_SPEED(1) succeeds with a clamped rate >= 1000",
	      "got %s, expected ret 0 and a rate >= 1000", rv(r, e, v));
	v = 10000000;
	r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
	check(r == 0 && v >= 1000 && v <= 192000, "SNDCTL_DSP_SPEED(10000000) succeeds with a clamped rate <= 192000",
	      "got %s, expected ret 0 and a rate <= 192000", rv(r, e, v));
	/* 0 and negative rates: not defined by the manual (4Front returns the
	 * current rate). Accept a positive rate or EINVAL; anything else fails. */
	int cur = 8000;
	set_int(fd, SNDCTL_DSP_SPEED, cur);
	int vals[2] = {0, -1};
	for (int i = 0; i < 2; i++) {
		v = vals[i];
		r = ioc(fd, SNDCTL_DSP_SPEED, &v, &e);
		rd = -1;
		int r2 = ioc(fd, SOUND_PCM_READ_RATE, &rd, &e2);
		bool ok = ((r == 0 && v > 0) || (r < 0 && e == EINVAL)) && r2 == 0 && rd > 0;
		check(ok, S("SNDCTL_DSP_SPEED(%d) returns a rate or EINVAL and the fd still works (did: %s)", vals[i], rv(r, e, v)),
		      "got %s, then SOUND_PCM_READ_RATE %s", rv(r, e, v), rv(r2, e2, rd));
	}
	close(fd);
}

/* 6. SNDCTL_DSP_SETFRAGMENT before the first write; GETBLKSIZE; GETOSPACE. */
void t_setfragment(void)
{
	int fd = open_dsp(O_WRONLY), v, e, r;
	if (fd < 0)
		return;
	v = 0x0004000A; /* at most 4 fragments of 2^10 bytes */
	r = ioc(fd, SNDCTL_DSP_SETFRAGMENT, &v, &e);
	check(r == 0, "SNDCTL_DSP_SETFRAGMENT(0x0004000A) succeeds before the first write", "got %s", rv(r, e, v));
	int blk = -1;
	r = ioc(fd, SNDCTL_DSP_GETBLKSIZE, &blk, &e);
	/* A hint: the driver may round; a power of two within 2x of 1 KiB. */
	bool pow2 = blk > 0 && (blk & (blk - 1)) == 0;
	check(r == 0 && pow2 && blk >= 512 && blk <= 2048, "SNDCTL_DSP_GETBLKSIZE after SETFRAGMENT(0x0004000A) is 1024 (+-2x)",
	      "got %s, expected 1024", rv(r, e, blk));
	audio_buf_info bi;
	bool ok = get_ospace(fd, &bi, &e);
	if (!check(ok, "SNDCTL_DSP_GETOSPACE succeeds", "got -1 (%s)", ename(e))) {
		close(fd);
		return;
	}
	check(bi.fragsize == blk, "SNDCTL_DSP_GETOSPACE fragsize == SNDCTL_DSP_GETBLKSIZE", "got %s, GETBLKSIZE %d", bistr(&bi),
	      blk);
	check(bi.fragstotal >= 2, "SNDCTL_DSP_GETOSPACE fragstotal >= 2", "got %s", bistr(&bi));
	check(bi.fragments == bi.fragstotal && bi.bytes == bi.fragstotal * bi.fragsize,
	      "SNDCTL_DSP_GETOSPACE on an empty buffer: fragments == fragstotal, bytes == fragstotal * fragsize", "got %s",
	      bistr(&bi));
	/* MMMM is a maximum in the manual, but drivers keep a floor; report only. */
	if (bi.fragstotal > 4)
		note("SETFRAGMENT asked for at most 4 fragments, got %d", bi.fragstotal);
	close(fd);
}

/* 7. SNDCTL_DSP_GETOSPACE: free space, small buffers, full after a fill. */
void t_getospace(void)
{
	int fd = open_dsp(O_WRONLY | O_NONBLOCK), e;
	if (fd < 0)
		return;
	audio_buf_info bi;
	bool ok = get_ospace(fd, &bi, &e);
	int total = bi.fragstotal * bi.fragsize;
	check(ok && bi.fragsize > 0 && bi.bytes > 0 && bi.bytes <= total && bi.fragments * bi.fragsize <= bi.bytes,
	      "SNDCTL_DSP_GETOSPACE on a fresh fd: 0 < bytes <= fragstotal * fragsize, fragments = whole fragments free",
	      "got %s (ret %s)", bistr(&bi), ok ? "0" : ename(e));
	/* "Tens of milliseconds by default, not seconds" (legacy programs'
	 * latency); 250 ms is the bound here. */
	check(ok && total > 0 && total <= BPS / 4, "the default buffer holds at most 250 ms (SNDCTL_DSP_GETOSPACE)",
	      "got %d bytes = %.0f ms of U8 8 kHz", total, total * 1000.0 / BPS);
	note("default geometry at U8 8 kHz mono: %s = %.0f ms", bistr(&bi), total * 1000.0 / BPS);
	long n = fill_nonblock(fd, SIL);
	check(n > 0, "non-blocking write()s fill the buffer, then EAGAIN", "got %ld (%s)", n, ename(errno));
	/* Playback goes on meanwhile: the default fragment is only ~1.5 device
	 * periods here, and the engine may take two periods at once after a late
	 * wakeup. So up to 3 tries (fill, then GETOSPACE at once): a buffer that
	 * reports its fill passes the first; one that does not, none. */
	char seen[600] = "";
	for (int i = 0; i < 3; i++) {
		if (i > 0)
			n = fill_nonblock(fd, SIL);
		ok = get_ospace(fd, &bi, &e);
		if (ok && (bi.fragments == 0 || bi.bytes < bi.fragsize))
			break;
		size_t len = strlen(seen);
		snprintf(seen + len, sizeof seen - len, "%s after %ld bytes; ", bistr(&bi), n);
		if (i < 2)
			note("GETOSPACE right after filling: %s after %ld bytes taken; filling again", bistr(&bi), n);
	}
	check(ok && (bi.fragments == 0 || bi.bytes < bi.fragsize),
	      "SNDCTL_DSP_GETOSPACE right after filling: no whole fragment free", "got %s", seen);
	halt_close(fd);
}
