/*
 * oss_audioinfo, as OSS 4 lays it out (SNDCTL_AUDIOINFO, SNDCTL_ENGINEINFO),
 * and the sync group calls where <sys/soundcard.h> (Linux's, OSS 3) lacks
 * them: shared by the VM clients that ask them (oss_conformance/, oss_probe.c,
 * oss_syncgroup.c).
 */
#ifndef OSS4_AUDIOINFO_H
#define OSS4_AUDIOINFO_H

#include <sys/ioctl.h>

#ifndef SNDCTL_DSP_SYNCGROUP
typedef struct oss_syncgroup {
	int id;
	int mode;
	int filler[16];
} oss_syncgroup;
#define SNDCTL_DSP_SYNCGROUP _IOWR('P', 28, oss_syncgroup)
#define SNDCTL_DSP_SYNCSTART _IOW('P', 29, int)
#endif

typedef struct {
	int dev;
	char name[64];
	int busy;
	int pid;
	int caps;
	int iformats, oformats;
	int magic;
	char cmd[64];
	int card_number;
	int port_number;
	int mixer_dev;
	int legacy_device;
	int enabled;
	int flags;
	int min_rate, max_rate;
	int min_channels, max_channels;
	int binding;
	int rate_source;
	char handle[32];
	unsigned int nrates;
	unsigned int rates[20];
	char song_name[64];
	char label[16];
	int latency;
	char devnode[32];
	int next_play_engine;
	int next_rec_engine;
	int filler[184];
} oss4_audioinfo;
_Static_assert(sizeof(oss4_audioinfo) == 1180, "oss_audioinfo is 1180 bytes");
#define OSS4_AUDIOINFO _IOWR('X', 7, oss4_audioinfo)
#define OSS4_ENGINEINFO _IOWR('X', 12, oss4_audioinfo)

#endif
