/*
 * oss_play: the thinnest OSS player, the OSS counterpart of `aplay FILE.raw`.
 *
 *   gcc -O2 -Wall -Wextra -o target/vm-bench/oss_play tests/vm/oss_play.c
 *   oss_play FILE.raw FORMAT RATE CHANNELS [/dev/dsp]
 *
 * FORMAT: U8, S8, S16_LE, S16_BE, U16_LE, U16_BE, S32_LE, S32_BE, MU_LAW, A_LAW.
 * Opens the device O_WRONLY, sets SNDCTL_DSP_SETFMT, SNDCTL_DSP_CHANNELS and
 * SNDCTL_DSP_SPEED in that order (the order the OSS manual recommends), checks
 * that the device took them as asked, writes the file in blocking writes of one
 * fragment (GETOSPACE fragsize) and closes (the close drains). No other work is
 * done on the client side, so in scripts/vm-bench the client's CPU time is
 * almost all syscalls and the daemon does the converting and mixing.
 * Exit status 0 on success, 1 on any error (with one line on stderr).
 */
#define _GNU_SOURCE
#define PROG "oss_play"
#include "oss_common.h"

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: oss_play FILE.raw FORMAT RATE CHANNELS [/dev/dsp]\n");
        return 1;
    }
    const char *file = argv[1], *dsp = argc > 5 ? argv[5] : "/dev/dsp";
    int afmt = afmt_by_name(argv[2]);
    int rate = atoi(argv[3]), channels = atoi(argv[4]);

    int in = open(file, O_RDONLY);
    if (in < 0)
        die(file, strerror(errno));
    int fd = oss_open(dsp, O_WRONLY);
    oss_setup(fd, afmt, rate, channels);
    audio_buf_info bi;
    if (ioctl(fd, SNDCTL_DSP_GETOSPACE, &bi) < 0)
        die("SNDCTL_DSP_GETOSPACE", strerror(errno));
    size_t size = bi.fragsize > 0 ? (size_t)bi.fragsize : 4096;
    char *buf = malloc(size);

    for (;;) {
        size_t have = 0;
        while (have < size) {  /* full fragments, except the last */
            ssize_t r = read(in, buf + have, size - have);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                die(file, strerror(errno));
            if (r == 0)
                break;
            have += (size_t)r;
        }
        if (have == 0)
            break;
        for (size_t off = 0; off < have;) {
            ssize_t w = write(fd, buf + off, have - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                die("write", strerror(errno));
            off += (size_t)w;
        }
        if (have < size)
            break;
    }
    if (close(fd) < 0)
        die("close", strerror(errno));
    return 0;
}
