/*
 * oss_conformance: does /dev/dsp behave the way legacy OSS programs expect?
 *
 * Uses the device exactly as an OSS program does: <sys/soundcard.h> (Linux's
 * OSS 3 header) plus the OSS 4 numbers and structs it lacks, defined in
 * oss_conformance.h from FreeBSD's / 4Front's soundcard.h and checked at compile
 * time against the values pinned in src/oss/soundcard.rs. The OSS 4 developer
 * manual's page for each ioctl decides what is correct; where the manual leaves a
 * choice the check is lenient and says so in a comment. The groups of checks are
 * in files by family (formats.c, writing.c, oss4.c, clients.c), the harness in
 * harness.c; this file runs them.
 *
 *   gcc -O2 -Wall -Wextra -o target/oss_conformance tests/vm/oss_conformance/[a-z]*.c
 *   oss_conformance [/dev/dsp]
 *
 * Prints one line per check, "ok N - what" or "not ok N - what: got X, expected
 * Y" ("# ..." lines are diagnostics), and last exactly
 * "oss_conformance: N passed, M failed". Exit status 1 if any check failed.
 * "ok N - ... # SKIP ..." lines (a refusal the device is entitled to: reading
 * opens when GETCAPS advertises no recording) count as passed.
 *
 * Each group of checks runs in its own forked process with alarm(TIMEOUT): a
 * call that hangs kills that group only, and is reported as a failed check
 * naming the call that hung; the run goes on with the next group.
 *
 * Timing bounds are wide: the test VM runs ~10x slower than real hardware and
 * ossd is run there with 1024-frame device periods (21 ms at 48 kHz).
 */
#include "oss_conformance.h"

static const struct {
	const char *title;
	void (*fn)(void);
} groups[] = {
	{"open: many at once", t_open},
	{"fresh-open defaults", t_defaults},
	{"SETFMT/GETFMTS", t_formats},
	{"CHANNELS/STEREO", t_channels},
	{"SPEED", t_speed},
	{"SETFRAGMENT/GETBLKSIZE", t_setfragment},
	{"GETOSPACE", t_getospace},
	{"blocking write and draining close", t_blocking_write},
	{"partial frames", t_partial_frames},
	{"non-blocking writes", t_nonblock},
	{"poll/select", t_poll},
	{"GETODELAY", t_getodelay},
	{"GETOPTR", t_getoptr},
	{"SYNC", t_sync},
	{"RESET", t_reset},
	{"POST", t_post},
	{"GETCAPS and mmap", t_caps},
	{"SETTRIGGER/GETTRIGGER", t_trigger},
	{"unknown ioctl", t_unknown_ioctl},
	{"OSS 4 version and info", t_info},
	{"GETPLAYVOL/SETPLAYVOL", t_playvol},
	{"GETERROR", t_geterror},
	{"CURRENT_OPTR", t_current_optr},
	{"other OSS 4 calls", t_oss4_misc},
	{"reading opens", t_read_open},
	{"8 concurrent players", t_concurrent},
	{"killed client", t_killed_client},
};

/* Runs one group in a child (own process group) with alarm(TIMEOUT). A child
 * killed by the alarm or by a crash is one failed check naming its step; one
 * that does not die (stuck in an uninterruptible wait) is abandoned. */
static void run_group(int idx)
{
	snprintf(sh->step, sizeof sh->step, "(start)");
	printf("# %d. %s\n", idx + 1, groups[idx].title);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		setpgid(0, 0);
		alarm(TIMEOUT);
		groups[idx].fn();
		fflush(stdout);
		_exit(0);
	}
	setpgid(pid, pid);
	double deadline = now() + TIMEOUT + 5;
	int st = 0;
	pid_t w;
	bool killed = false;
	while ((w = waitpid(pid, &st, WNOHANG)) == 0) {
		if (now() > deadline) {
			if (killed)
				break;
			kill(-pid, SIGKILL);
			killed = true;
			deadline = now() + 5;
		}
		msleep(20);
	}
	kill(-pid, SIGKILL); /* leftovers of the group (its forked players) */
	const char *title = groups[idx].title;
	if (w == 0)
		check(false, S("%s: %s", title, sh->step), "hung: no answer within %d s, and the process cannot be killed", TIMEOUT);
	else if (WIFSIGNALED(st) && (WTERMSIG(st) == SIGALRM || killed))
		check(false, S("%s: %s", title, sh->step), "hung: no answer within %d s", TIMEOUT);
	else if (WIFSIGNALED(st))
		check(false, S("%s: %s", title, sh->step), "the test process died of signal %d", WTERMSIG(st));
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		check(false, S("%s: %s", title, sh->step), "the test process exited with %d", WEXITSTATUS(st));
}

int main(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [/dev/dsp]\n", argv[0]);
		return 2;
	}
	if (argc == 2)
		dsp_path = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	memset(sh, 0, sizeof *sh);
	signal(SIGPIPE, SIG_IGN);
	printf("# oss_conformance: %s\n", dsp_path);
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		run_group((int)i);
	printf("oss_conformance: %d passed, %d failed\n", sh->passed, sh->failed);
	return sh->failed ? 1 : 0;
}
