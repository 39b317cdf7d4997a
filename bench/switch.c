/* What switching a uprobe off saves (user/kernel/links.c, --max-overhead's windows): a
 * function called in a loop, without a probe, with a perf-event uprobe created disabled,
 * enabled, disabled again by ioctl, and closed; and how long each step takes. Run as
 * root: build/bench-switch. */
#define _GNU_SOURCE
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) int target_fn(int x) { return x * 3 + 1; }

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static double loop_ns(int n)
{
	volatile int s = 0;
	double t0 = now();
	for (int i = 0; i < n; i++) s += target_fn(i);
	return (now() - t0) / n * 1e9;
}

static uint64_t file_off(void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t lo, hi, off;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off) == 3 && (uint64_t)addr >= lo && (uint64_t)addr < hi && strstr(line, "switch")) {
			fclose(f);
			return (uint64_t)addr - lo + off;
		}
	fclose(f);
	return 0;
}

int main(void)
{
	int type; FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	if (!f || fscanf(f, "%d", &type) != 1) return 1;
	char path[256]; ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1); path[n] = 0;
	struct perf_event_attr a = { .size = sizeof(a), .type = type, .config1 = (uint64_t)path,
				     .config2 = file_off((void *)target_fn), .disabled = 1 };
	int N = 200000;
	printf("no probe:           %.1f ns/call\n", loop_ns(N));
	double t0 = now();
	int fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	printf("perf_event_open:    %.3f ms (fd %d)\n", (now() - t0) * 1e3, fd);
	if (fd < 0) { perror("perf_event_open"); return 1; }
	printf("created, disabled:  %.1f ns/call\n", loop_ns(N));
	t0 = now(); ioctl(fd, PERF_EVENT_IOC_ENABLE, 0); printf("ioctl enable:       %.3f ms\n", (now() - t0) * 1e3);
	printf("enabled:            %.1f ns/call\n", loop_ns(N));
	t0 = now(); ioctl(fd, PERF_EVENT_IOC_DISABLE, 0); printf("ioctl disable:      %.3f ms\n", (now() - t0) * 1e3);
	printf("disabled again:     %.1f ns/call\n", loop_ns(N));
	t0 = now(); close(fd); printf("close:              %.3f ms\n", (now() - t0) * 1e3);
	printf("closed:             %.1f ns/call\n", loop_ns(N));
	return 0;
}
