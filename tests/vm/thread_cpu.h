/*
 * thread_cpu.h: the CPU time of one of this process's threads, found by name,
 * for the VM benchmarks (latency.c, oss_mmap.c: ossd-run's copier thread).
 */
#ifndef THREAD_CPU_H
#define THREAD_CPU_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/* CPU ns of this process's thread named `comm` (from its schedstat), or -1. */
static __attribute__((unused)) long long thread_cpu_ns(const char *comm)
{
	DIR *d = opendir("/proc/self/task");
	long long ns = -1;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], name[64] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof name, f))
			name[strcspn(name, "\n")] = 0;
		fclose(f);
		if (strcmp(name, comm) != 0)
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
		if ((f = fopen(path, "r"))) {
			if (fscanf(f, "%lld", &ns) != 1)
				ns = -1;
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return ns;
}

#endif
