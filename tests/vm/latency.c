/*
 * latency: how long after a write() to /dev/dsp returns is its sound heard, and
 * how well did SNDCTL_DSP_GETODELAY predict it?
 *
 * Runs in the test VM against ossd playing to hw:Loopback,0,0; the sound comes
 * back bit-exact on the loopback's capture side, hw:Loopback,1,0, which this
 * program records with alsa-lib in a second thread.
 *
 *   gcc -O2 -Wall -Wextra -pthread -o target/vm-bench/latency tests/vm/latency.c -lasound
 *   latency [-d /dev/dsp] [-c hw:Loopback,1,0] [-s /dev/sndstat] [-n CLICKS] [-i MS] [-m [-a MS]]
 *
 * Playback (the OSS side): /dev/dsp is set to S16_LE, 2 ch, 48000 Hz and fed
 * silence in blocking writes of one fragment (GETOSPACE fragsize), so the ring
 * stays full and every write returns when the device has made room. Every
 * ~MS ms (default 300, raised to 1.5x the configured buffer so that clicks
 * cannot overlap) one block carries a click: 8 frames at +full scale then 8 at
 * -full scale, starting at the middle of the block. For that write:
 *   T0        = CLOCK_MONOTONIC right after write() returned;
 *   odelay    = GETODELAY right after that (bytes not yet audible, including
 *               the whole block just written);
 *   predicted = (odelay / 4 - frames from the click's first frame to the end
 *               of the block) / 48000 s: when the click should be heard,
 *               counted from T0.
 *
 * Capture (the time the sound came out): the capture PCM is opened after ossd,
 * so aloop has locked it to ossd's format, rate, channels and period; the
 * program reads them back from the PCM. After every snd_pcm_readi() it takes
 * snd_pcm_status(): htstamp (CLOCK_MONOTONIC, timestamp mode enabled) is when
 * the capture position was updated, and delay is what is captured but not yet
 * read, so the hardware position at htstamp is P = frames_read + delay and frame
 * j was captured at htstamp - (P - j) / rate. A click's first frame (first
 * sample above 1/4 full scale after >= 100 ms below it) gives T1.
 * Error: aloop moves both its playback and capture positions on a jiffy timer
 * (CONFIG_HZ=250 on Debian: 4 ms steps), so T1 is late by 0..1 jiffy, plus
 * one frame. The readi wake-up time does not enter (htstamp is taken with the
 * position). As a cross-check the program also computes T1 from
 * CLOCK_MONOTONIC read right after snd_pcm_status() (the simpler method:
 * "readi return time minus the frames still in the buffer") and prints the
 * mean difference between the two.
 *
 * measured = T1 - T0. Also printed: the configured buffer, i.e. ossd's ring
 * (GETOSPACE fragstotal * fragsize) plus the device buffer (from the
 * "playback" line of /dev/sndstat), and the time GETODELAY itself took.
 * Consecutive clicks are K blocks apart in the stream, so in a bit-exact
 * capture their first frames are exactly K * fragment frames apart: the
 * program counts the pairs that are (anything else is a lost or inserted
 * stretch: an underrun).
 *
 * -m (run it under ossd-run): the same clicks through a mapped buffer, as a
 * game plays: open O_RDWR, GETCAPS (DSP_CAP_MMAP), the format, GETOSPACE, mmap
 * PROT_WRITE, SETTRIGGER 0 then PCM_ENABLE_OUTPUT; then GETOPTR every 2 ms,
 * painting silence up to -a MS (default 100) ahead of the pointer, and the
 * clicks at fixed stream frames. For a click: T0 = CLOCK_MONOTONIC when the
 * GETOPTR returned whose pointer the click was painted ahead of, ahead = its
 * distance from that pointer, predicted = ahead + GETODELAY (taken right
 * after). measured - ahead is the latency of a sample painted at GETOPTR's
 * pointer (RESULT pointer_latency_*), the counterpart of a write()'s measured.
 * Before munmap it reads the CPU time of ossd-run's copier thread
 * (/proc/self/task/TID/schedstat of the thread named ossd-run-out): RESULT
 * copier_cpu_ms_per_s, CPU ms per second of audio.
 *
 * Output: one line per click, then "RESULT key=value" lines (parsed by
 * scripts/vm-bench). Exit status 0 if >= 20 clicks (or -n) were matched,
 * 1 otherwise, 2 on setup errors.
 */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "thread_cpu.h"
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/soundcard.h>
#include <time.h>
#include <unistd.h>

#define RATE 48000
#define CHANNELS 2
#define FRAME_BYTES 4
#define CLICK_FRAMES 16
#define THRESHOLD 0.25       /* of full scale */
#define QUIET_FRAMES 4800    /* 100 ms below the threshold before an onset */
#define MAX_ONSETS 4096
#define MAX_CLICKS 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "latency: %s: %s\n", what, why);
    exit(2);
}

/* ---------------------------------------------------------------- capture */

struct onset {
    uint64_t frame;  /* index in the capture stream (frames read since start) */
    double t;        /* from htstamp */
    double t_simple; /* from CLOCK_MONOTONIC after snd_pcm_status */
};

static snd_pcm_t *cap;
static snd_pcm_format_t cap_fmt;
static unsigned cap_rate, cap_channels;
static snd_pcm_uframes_t cap_period, cap_buffer;
static atomic_bool cap_stop;
static struct onset onsets[MAX_ONSETS];
static int n_onsets;
static int cap_xruns;
static uint64_t cap_frames;
static int htstamp_missing;
static const char *cap_error;

static double sample_level(const void *buf, size_t i)
{
    switch (cap_fmt) {
    case SND_PCM_FORMAT_S16_LE: return fabs(((const int16_t *)buf)[i] / 32768.0);
    case SND_PCM_FORMAT_S32_LE: return fabs(((const int32_t *)buf)[i] / 2147483648.0);
    case SND_PCM_FORMAT_FLOAT_LE: return fabs(((const float *)buf)[i]);
    case SND_PCM_FORMAT_S24_LE: {
        int32_t v = ((const int32_t *)buf)[i] << 8;
        return fabs(v / 2147483648.0);
    }
    default: return 0;
    }
}

static void *capture_thread(void *arg)
{
    (void)arg;
    size_t fb = snd_pcm_format_physical_width(cap_fmt) / 8 * cap_channels;
    char *buf = malloc(cap_period * fb);
    snd_pcm_status_t *st;
    snd_pcm_status_alloca(&st);
    uint64_t quiet = QUIET_FRAMES; /* the start counts as quiet */
    while (!atomic_load(&cap_stop)) {
        snd_pcm_sframes_t n = snd_pcm_readi(cap, buf, cap_period);
        if (n == -EPIPE || n == -ESTRPIPE) {
            cap_xruns++;
            snd_pcm_prepare(cap);
            snd_pcm_start(cap);
            continue;
        }
        if (n < 0) {
            cap_error = snd_strerror((int)n);
            break;
        }
        int err = snd_pcm_status(cap, st);
        double t_simple = now_s();
        if (err < 0) {
            cap_error = snd_strerror(err);
            break;
        }
        snd_htimestamp_t hts;
        snd_pcm_status_get_htstamp(st, &hts);
        double t_hw = hts.tv_sec + hts.tv_nsec * 1e-9;
        if (t_hw == 0) {
            htstamp_missing++;
            t_hw = t_simple;
        }
        uint64_t base = cap_frames;
        cap_frames += (uint64_t)n;
        /* hardware position when htstamp was taken */
        double pos = (double)cap_frames + (double)snd_pcm_status_get_delay(st);
        for (snd_pcm_sframes_t f = 0; f < n; f++) {
            double level = 0;
            for (unsigned c = 0; c < cap_channels; c++) {
                double l = sample_level(buf, (size_t)f * cap_channels + c);
                if (l > level)
                    level = l;
            }
            if (level > THRESHOLD) {
                if (quiet >= QUIET_FRAMES && n_onsets < MAX_ONSETS) {
                    uint64_t j = base + (uint64_t)f;
                    onsets[n_onsets].frame = j;
                    onsets[n_onsets].t = t_hw - (pos - (double)j) / cap_rate;
                    onsets[n_onsets].t_simple = t_simple - (pos - (double)j) / cap_rate;
                    n_onsets++;
                }
                quiet = 0;
            } else {
                quiet++;
            }
        }
    }
    free(buf);
    return NULL;
}

static void open_capture(const char *name)
{
    int err;
    snd_pcm_hw_params_t *hw;
    snd_pcm_sw_params_t *sw;
    snd_pcm_hw_params_alloca(&hw);
    snd_pcm_sw_params_alloca(&sw);
    if ((err = snd_pcm_open(&cap, name, SND_PCM_STREAM_CAPTURE, 0)) < 0)
        die(name, snd_strerror(err));
    snd_pcm_hw_params_any(cap, hw);
    if ((err = snd_pcm_hw_params_set_access(cap, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0)
        die("capture access", snd_strerror(err));
    /* aloop has locked format, rate and channels to the playback side (ossd)
     * if it runs: take what is left; otherwise S16_LE 48 kHz stereo. */
    if (snd_pcm_hw_params_get_format(hw, &cap_fmt) < 0) {
        cap_fmt = SND_PCM_FORMAT_S16_LE;
        if ((err = snd_pcm_hw_params_set_format(cap, hw, cap_fmt)) < 0)
            die("capture format", snd_strerror(err));
    }
    if (cap_fmt != SND_PCM_FORMAT_S16_LE && cap_fmt != SND_PCM_FORMAT_S32_LE &&
        cap_fmt != SND_PCM_FORMAT_FLOAT_LE && cap_fmt != SND_PCM_FORMAT_S24_LE)
        die("capture format", snd_pcm_format_name(cap_fmt));
    cap_rate = RATE;
    if ((err = snd_pcm_hw_params_set_rate_near(cap, hw, &cap_rate, NULL)) < 0)
        die("capture rate", snd_strerror(err));
    cap_channels = CHANNELS;
    if ((err = snd_pcm_hw_params_set_channels_near(cap, hw, &cap_channels)) < 0)
        die("capture channels", snd_strerror(err));
    /* aloop also locks the period (bytes) to the playback side's */
    cap_period = 256;
    snd_pcm_hw_params_set_period_size_near(cap, hw, &cap_period, NULL);
    cap_buffer = cap_rate / 2;
    snd_pcm_hw_params_set_buffer_size_near(cap, hw, &cap_buffer);
    if ((err = snd_pcm_hw_params(cap, hw)) < 0)
        die("capture hw_params", snd_strerror(err));
    snd_pcm_hw_params_get_period_size(hw, &cap_period, NULL);
    snd_pcm_hw_params_get_buffer_size(hw, &cap_buffer);
    snd_pcm_sw_params_current(cap, sw);
    snd_pcm_sw_params_set_tstamp_mode(cap, sw, SND_PCM_TSTAMP_ENABLE);
    snd_pcm_sw_params_set_tstamp_type(cap, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC);
    snd_pcm_sw_params_set_avail_min(cap, sw, cap_period);
    if ((err = snd_pcm_sw_params(cap, sw)) < 0)
        die("capture sw_params", snd_strerror(err));
    if ((err = snd_pcm_start(cap)) < 0)
        die("capture start", snd_strerror(err));
}

/* ---------------------------------------------------------------- playback */

struct click {
    double t0, t_after_ioctl;
    double ahead;       /* s from the pointer to the click (mmap), else 0 */
    int odelay;         /* bytes */
    double predicted;   /* s after t0 */
    int onset;          /* index in onsets[], -1 if none */
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("write /dev/dsp", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
}

/* The "playback" line of /dev/sndstat: period and buffer frames, underruns. */
static void read_sndstat(const char *path, char *line, size_t cap_len, long *period, long *buffer,
                         long *underruns)
{
    *period = *buffer = *underruns = -1;
    line[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char l[512];
    while (fgets(l, sizeof l, f)) {
        if (!strstr(l, " playback "))
            continue;
        l[strcspn(l, "\n")] = 0;
        snprintf(line, cap_len, "%s", l);
        char *p;
        if ((p = strstr(l, "period ")))
            *period = strtol(p + 7, NULL, 10);
        if ((p = strstr(l, "buffer ")))
            *buffer = strtol(p + 7, NULL, 10);
        if ((p = strstr(l, "frames, ")) && (p = strstr(p + 8, "frames, ")))
            *underruns = strtol(p + 8, NULL, 10);
        break;
    }
    fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* nearest-rank percentile of sorted v[0..n) */
static double pct(const double *v, int n, double p)
{
    int k = (int)ceil(p / 100.0 * n) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return v[k];
}

/* -m: the clicks through a mapped buffer (see the top). Returns the copier's
 * CPU ms per second of audio (-1 if unknown). */
static double play_mmap(int fd, const audio_buf_info *bi, struct click *clicks, int nclicks, int spacing,
                        int ahead_ms, long configured)
{
    size_t size = (size_t)bi->fragstotal * bi->fragsize;
    int16_t *ring = mmap(NULL, size, PROT_WRITE, MAP_SHARED, fd, 0);
    if (ring == MAP_FAILED)
        die("mmap", strerror(errno));
    memset(ring, 0, size);
    uint64_t rf = size / FRAME_BYTES;
    int v = 0;
    if (ioctl(fd, SNDCTL_DSP_SETTRIGGER, &v) < 0)
        die("SNDCTL_DSP_SETTRIGGER 0", strerror(errno));
    v = PCM_ENABLE_OUTPUT;
    if (ioctl(fd, SNDCTL_DSP_SETTRIGGER, &v) < 0)
        die("SNDCTL_DSP_SETTRIGGER", strerror(errno));
    uint64_t total = 0, painted = 0, first = 0, ahead = (uint64_t)ahead_ms * RATE / 1000;
    uint64_t tail = (uint64_t)(0.5 * RATE + 2.0 * configured);
    uint32_t last = 0;
    int late = 0;
    double t_start = now_s();
    for (;;) {
        count_info ci;
        if (ioctl(fd, SNDCTL_DSP_GETOPTR, &ci) < 0)
            die("SNDCTL_DSP_GETOPTR", strerror(errno));
        double t = now_s();
        total += (uint32_t)ci.bytes - last;
        last = (uint32_t)ci.bytes;
        uint64_t st = total / FRAME_BYTES;
        if (painted < st) {
            late += painted > 0;
            painted = st;
        }
        if (first == 0 && t - t_start > 1.0)
            first = painted > st + ahead ? painted : st + ahead;
        for (; painted < st + ahead; painted++) {
            int16_t s = 0;
            if (first && painted >= first) {
                uint64_t rel = painted - first, k = rel / (uint64_t)spacing, off = rel % (uint64_t)spacing;
                if (k < (uint64_t)nclicks && off < CLICK_FRAMES) {
                    s = off < CLICK_FRAMES / 2 ? 32767 : -32767;
                    if (off == 0) {
                        struct click *c = &clicks[k];
                        int od = -1;
                        c->t0 = t;
                        c->ahead = (double)(painted - st) / RATE;
                        if (ioctl(fd, SNDCTL_DSP_GETODELAY, &od) < 0)
                            die("SNDCTL_DSP_GETODELAY", strerror(errno));
                        c->t_after_ioctl = now_s();
                        c->odelay = od;
                        c->predicted = c->ahead + od / FRAME_BYTES / (double)RATE;
                        c->onset = -1;
                    }
                }
            }
            ring[(painted % rf) * CHANNELS] = s;
            ring[(painted % rf) * CHANNELS + 1] = s;
        }
        if (first && st > first + (uint64_t)nclicks * spacing + tail)
            break;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    long long ns = thread_cpu_ns("ossd-run-out");
    double secs = (double)total / FRAME_BYTES / RATE;
    printf("# mmap: %.2f s of audio; the painter fell behind the pointer %d times; ossd-run's copier "
           "thread used %.1f ms of CPU\n", secs, late, ns >= 0 ? ns / 1e6 : -1.0);
    munmap(ring, size);
    return ns >= 0 && secs > 0 ? ns / 1e6 / secs : -1;
}

/* /dev/dsp's geometry as set up for the run, and where the clicks go. */
struct geometry {
    audio_buf_info bi;
    int frag_frames;
    long ring_frames;
    long dev_period, dev_buffer, underruns0;
    long configured; /* ring + device buffer, frames */
    int K;           /* a click every K blocks */
    int click_pos;   /* its frame in its block */
};

/* 2. /dev/dsp: S16_LE stereo 48 kHz; reads its geometry and the device's, and
 * spaces the clicks (>= interval_ms, >= 1.5 x the configured buffer). */
static int setup_dsp(const char *dsp, const char *sndstat, int mmap_mode, int interval_ms, struct geometry *g)
{
    int fd = open(dsp, mmap_mode ? O_RDWR : O_WRONLY);
    if (fd < 0)
        die(dsp, strerror(errno));
    int v = 0;
    if (mmap_mode) {
        if (ioctl(fd, SNDCTL_DSP_GETCAPS, &v) < 0)
            die("SNDCTL_DSP_GETCAPS", strerror(errno));
        if (!(v & DSP_CAP_MMAP) || !(v & DSP_CAP_TRIGGER))
            die("SNDCTL_DSP_GETCAPS", "no DSP_CAP_MMAP|DSP_CAP_TRIGGER (run -m under ossd-run)");
    }
    v = AFMT_S16_LE;
    if (ioctl(fd, SNDCTL_DSP_SETFMT, &v) < 0 || v != AFMT_S16_LE)
        die("SNDCTL_DSP_SETFMT", "S16_LE refused");
    v = CHANNELS;
    if (ioctl(fd, SNDCTL_DSP_CHANNELS, &v) < 0 || v != CHANNELS)
        die("SNDCTL_DSP_CHANNELS", "2 refused");
    v = RATE;
    if (ioctl(fd, SNDCTL_DSP_SPEED, &v) < 0 || v != RATE)
        die("SNDCTL_DSP_SPEED", "48000 refused");
    if (ioctl(fd, SNDCTL_DSP_GETOSPACE, &g->bi) < 0)
        die("SNDCTL_DSP_GETOSPACE", strerror(errno));
    g->frag_frames = g->bi.fragsize / FRAME_BYTES;
    g->ring_frames = (long)g->bi.fragstotal * g->bi.fragsize / FRAME_BYTES;
    char stline[512];
    read_sndstat(sndstat, stline, sizeof stline, &g->dev_period, &g->dev_buffer, &g->underruns0);
    printf("# /dev/dsp: fragments %d x %d bytes (%d frames, %.2f ms each); ring %ld frames = %.2f ms\n",
           g->bi.fragstotal, g->bi.fragsize, g->frag_frames, g->frag_frames * 1e3 / RATE, g->ring_frames,
           g->ring_frames * 1e3 / RATE);
    printf("# sndstat: %s\n", stline[0] ? stline : "(no playback line)");
    g->configured = g->ring_frames + (g->dev_buffer > 0 ? g->dev_buffer : 0);
    printf("# configured buffer: ring %ld + device %ld = %ld frames = %.2f ms\n", g->ring_frames,
           g->dev_buffer, g->configured, g->configured * 1e3 / RATE);

    /* a click every K blocks: >= interval, >= 1.5 x the configured buffer */
    double want_ms = interval_ms;
    if (want_ms < 1.5 * g->configured * 1e3 / RATE)
        want_ms = 1.5 * g->configured * 1e3 / RATE;
    g->K = (int)ceil(want_ms / (g->frag_frames * 1e3 / RATE));
    if (g->K < 1)
        g->K = 1;
    g->click_pos = g->frag_frames / 2;
    printf("# a click every %d blocks (%.1f ms), at frame %d of its %d-frame block\n", g->K,
           g->K * g->frag_frames * 1e3 / RATE, g->click_pos, g->frag_frames);
    fflush(stdout);
    return fd;
}

/* Blocking one-fragment writes of silence, a click every K blocks: a warm-up
 * first (the ring filled, >= 1 s), then the clicks, then a tail that lets the
 * last one come out. */
static void play_writes(int fd, const struct geometry *g, struct click *clicks, int nclicks)
{
    int fragsize = g->bi.fragsize, frag_frames = g->frag_frames;
    char *silence = calloc(1, fragsize);
    char *clickblk = calloc(1, fragsize);
    int16_t *s = (int16_t *)clickblk;
    for (int f = 0; f < CLICK_FRAMES; f++)
        for (int c = 0; c < CHANNELS; c++)
            s[(g->click_pos + f) * CHANNELS + c] = f < CLICK_FRAMES / 2 ? 32767 : -32767;

    /* warm-up: fill the ring, let everything settle (>= 1 s) */
    int warm = (int)ceil((1.0 * RATE + g->configured) / frag_frames);
    for (int i = 0; i < warm; i++)
        write_all(fd, silence, fragsize);

    for (int k = 0; k < nclicks; k++) {
        for (int i = 0; i < g->K - 1; i++)
            write_all(fd, silence, fragsize);
        write_all(fd, clickblk, fragsize);
        clicks[k].t0 = now_s();
        int od = -1;
        if (ioctl(fd, SNDCTL_DSP_GETODELAY, &od) < 0)
            die("SNDCTL_DSP_GETODELAY", strerror(errno));
        clicks[k].t_after_ioctl = now_s();
        clicks[k].odelay = od;
        clicks[k].predicted = (od / FRAME_BYTES - (frag_frames - g->click_pos)) / (double)RATE;
        clicks[k].onset = -1;
    }
    /* let the last click come out */
    int tail = (int)ceil((0.5 * RATE + 2.0 * g->configured) / frag_frames);
    for (int i = 0; i < tail; i++)
        write_all(fd, silence, fragsize);
    free(silence);
    free(clickblk);
}

/* The clicks found in the capture, in ms (and us for the ioctl), unsorted. */
struct matches {
    int n;
    double meas[MAX_CLICKS], pred[MAX_CLICKS], diff[MAX_CLICKS], ioc[MAX_CLICKS], ptrlat[MAX_CLICKS];
    double sum_diff, sum_simple, sum_ioctl;
    int spacing_ok, spacing_pairs;
};

/* 3. match: click k's onset is the first one in [t0 - 20 ms, t0 + spacing - 20 ms);
 * prints one line per click. */
static void match_clicks(struct click *clicks, int nclicks, const struct geometry *g, struct matches *m)
{
    double spacing = g->K * g->frag_frames / (double)RATE;
    uint64_t spacing_frames = (uint64_t)g->K * g->frag_frames;
    int next = 0, prev_onset = -1;
    printf("# click  measured_ms  predicted_ms  meas-pred_ms  odelay_bytes  getodelay_us  capture_frame\n");
    for (int k = 0; k < nclicks; k++) {
        struct click *c = &clicks[k];
        while (next < n_onsets && onsets[next].t < c->t0 - 0.020)
            next++;
        double ioctl_us = (c->t_after_ioctl - c->t0) * 1e6;
        if (next < n_onsets && onsets[next].t < c->t0 + spacing - 0.020) {
            struct onset *o = &onsets[next];
            c->onset = next++;
            double t = o->t - c->t0;
            int i = m->n++;
            m->meas[i] = t * 1e3;
            m->ptrlat[i] = (t - c->ahead) * 1e3;
            m->pred[i] = c->predicted * 1e3;
            m->diff[i] = (t - c->predicted) * 1e3;
            m->ioc[i] = ioctl_us;
            m->sum_diff += m->diff[i];
            m->sum_simple += (o->t_simple - o->t) * 1e3;
            m->sum_ioctl += ioctl_us;
            if (prev_onset >= 0) {
                m->spacing_pairs++;
                if (o->frame - onsets[prev_onset].frame == spacing_frames)
                    m->spacing_ok++;
            }
            prev_onset = c->onset;
            printf("%7d  %11.2f  %12.2f  %12.2f  %12d  %12.0f  %13llu\n", k, t * 1e3,
                   c->predicted * 1e3, m->diff[i], c->odelay, ioctl_us,
                   (unsigned long long)o->frame);
        } else {
            prev_onset = -1;
            printf("%7d  %11s  %12.2f  %12s  %12d  %12.0f  %13s\n", k, "missing", c->predicted * 1e3,
                   "-", c->odelay, ioctl_us, "-");
        }
    }
}

/* The figures of the matched clicks (sorts them): RESULT lines. */
static void print_figures(struct matches *m)
{
    int n = m->n;
    double mean_meas = 0, mean_pred = 0;
    for (int i = 0; i < n; i++) {
        mean_meas += m->meas[i];
        mean_pred += m->pred[i];
    }
    mean_meas /= n;
    mean_pred /= n;
    qsort(m->meas, n, sizeof *m->meas, cmp_double);
    qsort(m->pred, n, sizeof *m->pred, cmp_double);
    qsort(m->diff, n, sizeof *m->diff, cmp_double);
    qsort(m->ioc, n, sizeof *m->ioc, cmp_double);
    qsort(m->ptrlat, n, sizeof *m->ptrlat, cmp_double);
    printf("RESULT pointer_latency_min_ms=%.2f pointer_latency_median_ms=%.2f pointer_latency_p90_ms=%.2f "
           "pointer_latency_max_ms=%.2f\n",
           m->ptrlat[0], pct(m->ptrlat, n, 50), pct(m->ptrlat, n, 90), m->ptrlat[n - 1]);
    printf("RESULT measured_min_ms=%.2f measured_median_ms=%.2f measured_p90_ms=%.2f "
           "measured_max_ms=%.2f measured_mean_ms=%.2f\n",
           m->meas[0], pct(m->meas, n, 50), pct(m->meas, n, 90), m->meas[n - 1], mean_meas);
    printf("RESULT predicted_min_ms=%.2f predicted_median_ms=%.2f predicted_p90_ms=%.2f "
           "predicted_max_ms=%.2f predicted_mean_ms=%.2f\n",
           m->pred[0], pct(m->pred, n, 50), pct(m->pred, n, 90), m->pred[n - 1], mean_pred);
    printf("RESULT diff_mean_ms=%.2f diff_min_ms=%.2f diff_median_ms=%.2f diff_max_ms=%.2f\n",
           m->sum_diff / n, m->diff[0], pct(m->diff, n, 50), m->diff[n - 1]);
    printf("RESULT getodelay_median_us=%.0f getodelay_max_us=%.0f\n", pct(m->ioc, n, 50), m->ioc[n - 1]);
    printf("RESULT simple_minus_htstamp_mean_ms=%.2f\n", m->sum_simple / n);
}

int main(int argc, char **argv)
{
    const char *dsp = "/dev/dsp", *capname = "hw:Loopback,1,0", *sndstat = "/dev/sndstat";
    int nclicks = 30, interval_ms = 300, opt, mmap_mode = 0, ahead_ms = 100;
    while ((opt = getopt(argc, argv, "d:c:s:n:i:ma:")) != -1) {
        switch (opt) {
        case 'd': dsp = optarg; break;
        case 'c': capname = optarg; break;
        case 's': sndstat = optarg; break;
        case 'n': nclicks = atoi(optarg); break;
        case 'i': interval_ms = atoi(optarg); break;
        case 'm': mmap_mode = 1; break;
        case 'a': ahead_ms = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: latency [-d /dev/dsp] [-c CAPTURE_PCM] [-s /dev/sndstat] "
                            "[-n CLICKS] [-i MS] [-m [-a AHEAD_MS]]\n");
            return 2;
        }
    }
    if (nclicks < 1 || nclicks > MAX_CLICKS)
        die("-n", "1..1000");

    /* 1. capture first, so it is running before the first click */
    open_capture(capname);
    printf("# capture %s: %s %u Hz %u ch, period %lu frames, buffer %lu frames\n", capname,
           snd_pcm_format_name(cap_fmt), cap_rate, cap_channels, (unsigned long)cap_period,
           (unsigned long)cap_buffer);
    pthread_t th;
    pthread_create(&th, NULL, capture_thread, NULL);

    static struct geometry g;
    int fd = setup_dsp(dsp, sndstat, mmap_mode, interval_ms, &g);
    static struct click clicks[MAX_CLICKS];
    int spacing_frames = g.K * g.frag_frames;
    double copier_ms_per_s = -1;
    if (mmap_mode) {
        printf("# mmap: painting %d ms ahead of GETOPTR's pointer, a click every %d frames\n", ahead_ms,
               spacing_frames);
        copier_ms_per_s = play_mmap(fd, &g.bi, clicks, nclicks, spacing_frames, ahead_ms, g.configured);
    } else {
        play_writes(fd, &g, clicks, nclicks);
    }
    atomic_store(&cap_stop, true);
    pthread_join(th, NULL);
    char stline[512];
    long dev_period, dev_buffer, underruns1;
    read_sndstat(sndstat, stline, sizeof stline, &dev_period, &dev_buffer, &underruns1);
    close(fd);
    snd_pcm_close(cap);
    if (cap_error)
        die("capture", cap_error);

    static struct matches m;
    match_clicks(clicks, nclicks, &g, &m);
    printf("# onsets detected in the capture: %d (clicks written: %d); capture overruns: %d; "
           "htstamp missing: %d\n", n_onsets, nclicks, cap_xruns, htstamp_missing);

    printf("RESULT mode=%s clicks=%d matched=%d\n", mmap_mode ? "mmap" : "write", nclicks, m.n);
    if (mmap_mode)
        printf("RESULT ahead_ms=%d copier_cpu_ms_per_s=%.3f\n", ahead_ms, copier_ms_per_s);
    printf("RESULT capture_format=%s capture_period_frames=%lu capture_overruns=%d\n",
           snd_pcm_format_name(cap_fmt), (unsigned long)cap_period, cap_xruns);
    printf("RESULT frag_bytes=%d frags=%d ring_frames=%ld ring_ms=%.3f\n", g.bi.fragsize, g.bi.fragstotal,
           g.ring_frames, g.ring_frames * 1e3 / RATE);
    printf("RESULT device_period_frames=%ld device_buffer_frames=%ld configured_ms=%.3f\n", dev_period,
           dev_buffer, g.configured * 1e3 / RATE);
    printf("RESULT device_underruns_during=%ld\n",
           g.underruns0 >= 0 && underruns1 >= 0 ? underruns1 - g.underruns0 : -1);
    printf("RESULT click_spacing_exact=%d of %d\n", m.spacing_ok, m.spacing_pairs);
    if (m.n > 0)
        print_figures(&m);
    int need = nclicks < 20 ? nclicks : 20;
    return m.n >= need ? 0 : 1;
}
