/*
 * oss_syncgroup: three opens of /dev/dsp in one OSS 4 sync group, each primed
 * with a click on its first frame, started together with SNDCTL_DSP_SYNCSTART.
 *
 *   oss_syncgroup [-d DSP]
 *
 * Each file plays S16_LE stereo 48 kHz: a click (1000, 0), (0, 2000) and
 * (300, 300), then 0.1 s of silence. If the three start on the same device
 * frame, the mix holds one non-zero frame, (1300, 2300); the VM suite looks
 * for it in the loopback's capture. Also checks the calls' answers: the group
 * id is written back, later joins get the same id, the armed files report no
 * output trigger until the start, and a started group cannot be joined.
 * Exit status 0 when every call answered as expected.
 */
#define PROG "oss_syncgroup"
#include "oss_common.h"

#include "oss4_audioinfo.h"

#define FILES 3
#define FRAMES 4800

int main(int argc, char **argv)
{
	const char *dsp = dsp_option(argc, argv, 0, PROG " [-d DSP]");
	static const short click[FILES][2] = {{1000, 0}, {0, 2000}, {300, 300}};
	static short buf[FRAMES * 2];
	int fds[FILES], id = 0;
	for (int i = 0; i < FILES; i++) {
		fds[i] = oss_open(dsp, O_WRONLY);
		oss_setup(fds[i], AFMT_S16_LE, 48000, 2);
		oss_syncgroup g = {.id = id, .mode = PCM_ENABLE_OUTPUT};
		if (ioctl(fds[i], SNDCTL_DSP_SYNCGROUP, &g) < 0)
			die("SNDCTL_DSP_SYNCGROUP", strerror(errno));
		if (g.id <= 0 || (id != 0 && g.id != id))
			die("SNDCTL_DSP_SYNCGROUP", "no group id, or another group's");
		id = g.id;
		int trig = -1;
		if (ioctl(fds[i], SNDCTL_DSP_GETTRIGGER, &trig) < 0 || (trig & PCM_ENABLE_OUTPUT))
			die("SNDCTL_DSP_GETTRIGGER", "an armed file still has PCM_ENABLE_OUTPUT");
		memset(buf, 0, sizeof buf);
		buf[0] = click[i][0];
		buf[1] = click[i][1];
		/* Primed: less than the buffer holds, so the write does not wait. */
		audio_buf_info space;
		if (ioctl(fds[i], SNDCTL_DSP_GETOSPACE, &space) < 0)
			die("SNDCTL_DSP_GETOSPACE", strerror(errno));
		size_t n = sizeof buf < (size_t)space.bytes ? sizeof buf : (size_t)space.bytes / 4 * 4;
		if (write(fds[i], buf, n) != (ssize_t)n)
			die("write", strerror(errno));
	}
	if (ioctl(fds[0], SNDCTL_DSP_SYNCSTART, &id) < 0)
		die("SNDCTL_DSP_SYNCSTART", strerror(errno));
	for (int i = 0; i < FILES; i++) {
		int trig = 0;
		if (ioctl(fds[i], SNDCTL_DSP_GETTRIGGER, &trig) < 0 || !(trig & PCM_ENABLE_OUTPUT))
			die("SNDCTL_DSP_GETTRIGGER", "a started file lacks PCM_ENABLE_OUTPUT");
	}
	/* The group ended with its start. */
	int extra = oss_open(dsp, O_WRONLY);
	oss_syncgroup g = {.id = id, .mode = PCM_ENABLE_OUTPUT};
	if (ioctl(extra, SNDCTL_DSP_SYNCGROUP, &g) == 0 || errno != EINVAL)
		die("SNDCTL_DSP_SYNCGROUP", "joining a started group did not fail with EINVAL");
	close(extra);
	for (int i = 0; i < FILES; i++)
		close(fds[i]); /* each drains its stream */
	printf("group %d: %d files started together\n", id, FILES);
	return 0;
}
