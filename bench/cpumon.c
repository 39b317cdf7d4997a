/* bench-cpumon: what a process costs while it runs, seen from outside.
 *
 *   bench-cpumon PID SECONDS [PERIOD_MS]
 *
 * Samples PID every PERIOD_MS (default 10) for SECONDS and prints one line of
 * key=value pairs:
 *   cpu_pct       CPU time / wall time, in % of one core, from /proc/PID/stat
 *                 utime+stime (clock ticks, all threads, dead ones included)
 *   cpu_ns_pct    the same from the scheduler's ns counters (/proc/PID/task/ *\/schedstat)
 *   rss_kb_max, rss_kb_last   VmRSS; hwm_kb  VmHWM (peak RSS since the process started)
 *   bursts        busy periods: runs of samples in which the process used CPU, split by
 *                 at least IDLE_MS (100 ms) without; for a tool that refreshes once a
 *                 second each refresh is one burst
 *   burst_ms_med, burst_ms_p90, burst_ms_max   CPU ms used per burst
 *   bpf_memlock_kb  the sum of "memlock" over the BPF maps PID holds, each map once
 *                   (kernel memory its maps pin, not part of its RSS)
 * Exits 1 if PID is gone before the end. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IDLE_MS 100
#define MAX_BURSTS 100000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime + stime in clock ticks, or -1 */
static long long stat_ticks(int pid)
{
	char path[64], buf[4096], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');	/* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* the sum of the tasks' on-CPU ns, or -1 */
static long long sched_ns(int pid)
{
	char path[300];
	long long sum = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		unsigned long long ns;
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			sum += (long long)ns;
		fclose(f);
	}
	closedir(dir);
	return sum;
}

static long status_kb(int pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* One map's memlock, once per map: a map held through two descriptors (libbpf dups
 * the fd it reuses in a second object) pins its memory once. */
static long long map_memlock(FILE *f, long long *ids, int *nids)
{
	char line[256];
	long long memlock = 0, id = -1;

	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "memlock:", 8))
			memlock = strtoll(line + 8, NULL, 10);
		else if (!strncmp(line, "map_id:", 7))
			id = strtoll(line + 7, NULL, 10);
	}
	for (int i = 0; i < *nids; i++)
		if (ids[i] == id)
			return 0;
	if (*nids < 1024)
		ids[(*nids)++] = id;
	return memlock;
}

static long long bpf_memlock_kb(int pid)
{
	char path[300], link[256];
	long long sum = 0, ids[1024];
	int nids = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		ssize_t n;
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strcmp(link, "anon_inode:bpf-map"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		sum += map_memlock(f, ids, &nids);
		fclose(f);
	}
	closedir(dir);
	return sum / 1024;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static double bursts[MAX_BURSTS];
	long long t0, tl, s0, sl, s, t;
	double w0, w, end, idle_since, cur = 0, period;
	long rss, rss_max = 0, rss_last = 0, hwm;
	int pid, nb = 0, in_burst = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: bench-cpumon PID SECONDS [PERIOD_MS]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	end = atof(argv[2]);
	period = argc == 4 ? atof(argv[3]) / 1000 : 0.01;
	if (pid <= 0 || !(end > 0) || !(period > 0)) {
		fprintf(stderr, "usage: bench-cpumon PID SECONDS [PERIOD_MS]\n");
		return 2;
	}
	t0 = tl = stat_ticks(pid);
	s0 = sl = sched_ns(pid);
	if (t0 < 0 || s0 < 0) {
		fprintf(stderr, "bench-cpumon: no process %d\n", pid);
		return 1;
	}
	w0 = idle_since = now_s();
	end += w0;
	for (;;) {
		struct timespec ts = { 0, (long)(period * 1e9) };

		nanosleep(&ts, NULL);
		w = now_s();
		t = stat_ticks(pid);
		s = sched_ns(pid);
		rss = status_kb(pid, "VmRSS");
		if (t < 0 || s < 0 || rss < 0) {
			fprintf(stderr, "bench-cpumon: process %d exited\n", pid);
			return 1;
		}
		tl = t;
		rss_last = rss;
		if (rss > rss_max)
			rss_max = rss;
		if (s > sl) {
			if (!in_burst && nb < MAX_BURSTS) {
				in_burst = 1;
				cur = 0;
			}
			cur += (double)(s - sl) / 1e6;
			idle_since = w;
		} else if (in_burst && w - idle_since >= IDLE_MS / 1000.0) {
			bursts[nb++] = cur;
			in_burst = 0;
		}
		sl = s;
		if (w >= end)
			break;
	}
	if (in_burst && nb < MAX_BURSTS)
		bursts[nb++] = cur;
	hwm = status_kb(pid, "VmHWM");
	qsort(bursts, (size_t)nb, sizeof(bursts[0]), cmp_double);
	printf("seconds=%.2f cpu_pct=%.2f cpu_ns_pct=%.2f rss_kb_max=%ld rss_kb_last=%ld hwm_kb=%ld bursts=%d "
	       "burst_ms_med=%.1f burst_ms_p90=%.1f burst_ms_max=%.1f bpf_memlock_kb=%lld\n",
	       w - w0, 100.0 * (double)(tl - t0) / (double)hz / (w - w0), 100.0 * (double)(sl - s0) / 1e9 / (w - w0),
	       rss_max, rss_last, hwm, nb, nb ? bursts[nb / 2] : 0.0, nb ? bursts[nb * 9 / 10] : 0.0,
	       nb ? bursts[nb - 1] : 0.0, bpf_memlock_kb(pid));
	return 0;
}
