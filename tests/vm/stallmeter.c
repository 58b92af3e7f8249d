/* stallmeter: measures when the emulated guest itself stands still.
 *
 * One thread per online CPU, pinned to it, at the highest SCHED_FIFO priority,
 * sleeps until a deadline INTERVAL after its last wake-up (clock_nanosleep on
 * CLOCK_MONOTONIC, TIMER_ABSTIME) and notes how late it woke. Nothing in the
 * guest can hold such a thread up for long: when it wakes tens of milliseconds
 * late, its vCPU did not run (the host did not schedule qemu's thread, or qemu
 * stopped). When only some program of the guest is late (ossd's own bug, its own
 * underrun, a busy guest), this sleeper is not.
 *
 *   stallmeter [-t THRESHOLD_MS] [-i INTERVAL_US] [-o FILE]
 *
 * Every wake-up THRESHOLD_MS (default 20) or more late is appended to FILE
 * (default stdout) at once, as one line
 *
 *   START_MS LENGTH_MS CPU
 *
 * START_MS is the deadline it missed, on CLOCK_REALTIME in ms (the clock `date
 * +%s%N` reads), LENGTH_MS how late it woke (one decimal): the vCPU stood still
 * at least from START_MS for LENGTH_MS. CPU is the thread's CPU. On SIGTERM or
 * SIGINT it prints a summary to stdout and exits 0; SIGUSR1 prints the summary so
 * far. The summary's lines start with "# ": the CPU time the meter used, and per
 * CPU the wake-ups, how many were late by each range of lengths, and the latest.
 * INTERVAL (default 10000 us) sets what the meter costs: in the emulated guest a
 * wake-up takes about 0.5 ms of CPU (1 ms: a third of a vCPU; 10 ms: a few %).
 * Keep FILE on a tmpfs (a write that waits on I/O is no stall of the guest; it is
 * not counted, as the next deadline is set after it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 64
/* Upper ends (ms) of the ranges the summary counts gaps in; the last is open. */
static const double bucket_ms[] = {2, 5, 10, 20, 50, 100, 200, 500, 1000};
#define NBUCKETS (sizeof bucket_ms / sizeof bucket_ms[0] + 1)

struct meter {
	int cpu;
	pthread_t thread;
	/* written by the meter's thread, read by the summary (a torn read is harmless) */
	volatile long long wakeups;
	volatile long long buckets[NBUCKETS];
	volatile double longest_ms; /* the latest wake-up */
	volatile long long stalls;
};

static struct meter meters[MAX_CPUS];
static int nmeters;
static int out_fd = 1;
static double threshold_ms = 20;
static long interval_ns = 10000000;
/* CLOCK_REALTIME minus CLOCK_MONOTONIC, ms (the guest runs no NTP: it stays put) */
static double realtime_offset_ms;

static double ms_of(const struct timespec *t)
{
	return (double)t->tv_sec * 1e3 + (double)t->tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "stallmeter: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A wake-up `late` ms after the deadline `due` (monotonic, ms); whether it was
 * written down. */
static bool note_late(struct meter *m, double due, double late)
{
	size_t b = 0;
	while (b < NBUCKETS - 1 && late >= bucket_ms[b])
		b++;
	m->buckets[b]++;
	if (late > m->longest_ms)
		m->longest_ms = late;
	if (late < threshold_ms)
		return false;
	m->stalls++;
	char line[96];
	long long start = (long long)(due + realtime_offset_ms);
	int n = snprintf(line, sizeof line, "%lld %.1f %d\n", start, late, m->cpu);
	/* one write per line, O_APPEND: whole lines whatever the threads do */
	if (write(out_fd, line, (size_t)n) != n)
		die("write");
	return true;
}

static void *run(void *arg)
{
	struct meter *m = arg;
	struct timespec due, now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (;;) {
		/* the next deadline counts from the last wake-up (and after the write) */
		long long ns = (long long)now.tv_nsec + interval_ns;
		due.tv_sec = now.tv_sec + ns / 1000000000LL;
		due.tv_nsec = ns % 1000000000LL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
			;
		clock_gettime(CLOCK_MONOTONIC, &now);
		m->wakeups++;
		if (note_late(m, ms_of(&due), ms_of(&now) - ms_of(&due)))
			clock_gettime(CLOCK_MONOTONIC, &now);
	}
	return NULL;
}

static void start(struct meter *m)
{
	pthread_attr_t attr;
	struct sched_param param = {.sched_priority = sched_get_priority_max(SCHED_FIFO)};
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(m->cpu, &set);
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
	pthread_attr_setschedparam(&attr, &param);
	pthread_attr_setaffinity_np(&attr, sizeof set, &set);
	int rc = pthread_create(&m->thread, &attr, run, m);
	if (rc != 0) {
		errno = rc;
		die("pthread_create (SCHED_FIFO needs root)");
	}
	pthread_attr_destroy(&attr);
}

static double started_ms;

static void summary(void)
{
	struct rusage ru;
	struct timespec t;
	getrusage(RUSAGE_SELF, &ru);
	clock_gettime(CLOCK_MONOTONIC, &t);
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	double secs = (ms_of(&t) - started_ms) / 1e3;
	printf("# stallmeter: %d CPUs, a wake-up every %.1f ms, those %.0f ms late or more recorded; %.1f s of CPU "
	       "in %.0f s (%.1f%% of one CPU)\n",
	       nmeters, interval_ns / 1e6, threshold_ms, cpu, secs, secs > 0 ? 100 * cpu / secs : 0.0);
	for (int i = 0; i < nmeters; i++) {
		struct meter *m = &meters[i];
		printf("# cpu %d: %lld wake-ups, the latest %.1f ms late, %lld of %.0f ms or more; late by (ms):", m->cpu,
		       m->wakeups, m->longest_ms, m->stalls, threshold_ms);
		for (size_t b = 0; b < NBUCKETS; b++) {
			if (b == 0)
				printf(" under %g ms %lld,", bucket_ms[b], m->buckets[b]);
			else if (b < NBUCKETS - 1)
				printf(" %g-%g %lld,", bucket_ms[b - 1], bucket_ms[b], m->buckets[b]);
			else
				printf(" %g and more %lld\n", bucket_ms[b - 1], m->buckets[b]);
		}
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int opt;
	const char *out = NULL;
	while ((opt = getopt(argc, argv, "t:i:o:")) != -1) {
		switch (opt) {
		case 't': threshold_ms = atof(optarg); break;
		case 'i': interval_ns = atol(optarg) * 1000; break;
		case 'o': out = optarg; break;
		default:
			fprintf(stderr, "usage: stallmeter [-t THRESHOLD_MS] [-i INTERVAL_US] [-o FILE]\n");
			return 2;
		}
	}
	if (threshold_ms <= 0 || interval_ns <= 0 || interval_ns >= 1000000000L) {
		fprintf(stderr, "stallmeter: -t and -i must be positive, -i under 1 s\n");
		return 2;
	}
	if (out && (out_fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
		die(out);
	/* Everything resident before the threads start: a page fault (the binary may
	 * live on the 9p share) would be a stall of the meter's own. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		die("mlockall");
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* the threads inherit it */
	struct timespec t0, r0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_REALTIME, &r0);
	started_ms = ms_of(&t0);
	realtime_offset_ms = ms_of(&r0) - started_ms;
	cpu_set_t online;
	if (sched_getaffinity(0, sizeof online, &online) != 0)
		die("sched_getaffinity");
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (CPU_ISSET(cpu, &online)) {
			meters[nmeters].cpu = cpu;
			start(&meters[nmeters++]);
		}
	}
	printf("# stallmeter: running on %d CPUs\n", nmeters);
	fflush(stdout);
	for (;;) {
		int sig;
		sigwait(&sigs, &sig);
		summary();
		if (sig != SIGUSR1)
			return 0;
	}
}
