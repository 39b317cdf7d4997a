/* bench-floor: attach empty BPF programs (bench/floor.bpf.c) at given file offsets of
 * given files, for one process, exactly as alloctop attaches its probes: one
 * uprobe_multi link per program and file, return probes before entry probes, the file
 * named through our own descriptor. The bench measures a workload under it to get the
 * floor every uprobe-based tracer pays at those sites.
 *
 *   bench-floor [--stats] PID FILE:ENTRY_OFFS:RETURN_OFFS [...]
 *
 * ENTRY_OFFS and RETURN_OFFS are comma-separated file offsets (hex with 0x, or decimal);
 * either list may be empty. Prints "bench-floor: attached ..." on stderr once every
 * probe is live, then waits until PID exits or SIGINT/SIGTERM/SIGHUP, and detaches.
 * --stats enables the kernel's BPF run-time statistics while attached (as alloctop
 * does) and prints how often each program ran when it exits, to prove the probes fire.
 * --prims attaches the prims_ programs instead (bench/floor.bpf.c: the work no exact
 * tracer can skip); an entry offset within 16 bytes after one of the file's return
 * offsets is an allocating function's (cookie 1), the others frees (cookie 0). */
#include "floor.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "uprobe_multi.h"

#define MAX_FILES 8
#define MAX_OFFS 64



struct spec {
	const char *file;
	unsigned long entry[MAX_OFFS], ret[MAX_OFFS];
	__u32 nentry, nret;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-floor [--stats] [--prims] PID FILE:ENTRY_OFFS:RETURN_OFFS [...]\n");
	exit(2);
}

static __u32 parse_offs(const char *s, unsigned long *out)
{
	__u32 n = 0;

	while (*s) {
		char *end;

		if (n == MAX_OFFS)
			usage();
		errno = 0;
		out[n++] = strtoul(s, &end, 0);
		if (errno || end == s || (*end && *end != ','))
			usage();
		s = *end ? end + 1 : end;
	}
	return n;
}

/* FILE:ENTRY:RET, split at the last two colons (a path may hold colons). */
static void parse_spec(char *arg, struct spec *sp)
{
	char *c2 = strrchr(arg, ':'), *c1;

	if (!c2)
		usage();
	*c2 = 0;
	c1 = strrchr(arg, ':');
	if (!c1)
		usage();
	*c1 = 0;
	sp->file = arg;
	sp->nentry = parse_offs(c1 + 1, sp->entry);
	sp->nret = parse_offs(c2 + 1, sp->ret);
}

static int attach_multi(int prog_fd, const char *path, const unsigned long *offs, const __u64 *cookies,
			__u32 cnt, int pid, int ret)
{
	return at_uprobe_multi_link(prog_fd, path, offs, cookies, cnt, pid, ret);
}

/* --prims: 1 for the entry of a function that also has a return probe (an allocation,
 * probed at most a few instructions in), 0 for a free. */
static void entry_cookies(const struct spec *sp, __u64 *cookies)
{
	for (__u32 i = 0; i < sp->nentry; i++) {
		cookies[i] = 0;
		for (__u32 j = 0; j < sp->nret; j++)
			if (sp->entry[i] >= sp->ret[j] && sp->entry[i] < sp->ret[j] + 16)
				cookies[i] = 1;
	}
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static __u64 run_cnt(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.run_cnt;
}

int main(int argc, char **argv)
{
	struct spec specs[MAX_FILES];
	int links[2 * MAX_FILES], nlinks = 0, nspecs = 0, stats = 0, prims = 0, stats_fd = -1, pid, pidfd, i, rc = 1;
	struct bpf_program *entry_prog, *ret_prog;
	__u64 cookies[MAX_OFFS];
	__u32 nentry = 0, nret = 0;
	struct floor_bpf *skel;
	char *end;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--stats"))
			stats = 1;
		else if (!strcmp(argv[i], "--prims"))
			prims = 1;
		else
			usage();
	}
	if (i + 1 >= argc)
		usage();
	pid = (int)strtol(argv[i++], &end, 10);
	if (*end || pid <= 0)
		usage();
	for (; i < argc; i++) {
		if (nspecs == MAX_FILES)
			usage();
		parse_spec(argv[i], &specs[nspecs++]);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		fprintf(stderr, "bench-floor: no process %d: %s\n", pid, strerror(errno));
		return 1;
	}
	libbpf_set_print(quiet_print);
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "bench-floor: cannot open the BPF object\n");
		return 1;
	}
	entry_prog = prims ? skel->progs.prims_entry : skel->progs.floor_entry;
	ret_prog = prims ? skel->progs.prims_return : skel->progs.floor_return;
	/* only the programs in use load: the others would need what they use for nothing */
	bpf_program__set_autoload(prims ? skel->progs.floor_entry : skel->progs.prims_entry, false);
	bpf_program__set_autoload(prims ? skel->progs.floor_return : skel->progs.prims_return, false);
	bpf_program__set_expected_attach_type(entry_prog, AT_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(ret_prog, AT_TRACE_UPROBE_MULTI);
	if (floor_bpf__load(skel)) {
		fprintf(stderr, "bench-floor: loading the BPF programs failed: %s\n", strerror(errno));
		goto out;
	}
	if (stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			fprintf(stderr, "bench-floor: cannot enable BPF stats: %s\n", strerror(-stats_fd));
	}
	for (i = 0; i < nspecs; i++) {
		int ffd = open(specs[i].file, O_RDONLY | O_CLOEXEC), fd;
		char path[64];

		if (ffd < 0) {
			fprintf(stderr, "bench-floor: %s: %s\n", specs[i].file, strerror(errno));
			goto out;
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", ffd);
		/* return probes first, as alloctop does */
		if (specs[i].nret) {
			fd = attach_multi(bpf_program__fd(ret_prog), path, specs[i].ret, NULL, specs[i].nret, pid, 1);
			if (fd < 0) {
				fprintf(stderr, "bench-floor: return probes in %s: %s\n", specs[i].file, strerror(-fd));
				goto out;
			}
			links[nlinks++] = fd;
		}
		if (specs[i].nentry) {
			entry_cookies(&specs[i], cookies);
			fd = attach_multi(bpf_program__fd(entry_prog), path, specs[i].entry, prims ? cookies : NULL,
					  specs[i].nentry, pid, 0);
			if (fd < 0) {
				fprintf(stderr, "bench-floor: entry probes in %s: %s\n", specs[i].file, strerror(-fd));
				goto out;
			}
			links[nlinks++] = fd;
		}
		nentry += specs[i].nentry;
		nret += specs[i].nret;
		close(ffd);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	fprintf(stderr, "bench-floor: attached %u entry and %u return probes in %d files to pid %d\n", nentry, nret,
		nspecs, pid);
	while (!stop) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		if (poll(&p, 1, 1000) > 0)
			break;	/* the target exited */
	}
	rc = 0;
out:
	if (stats && stats_fd >= 0)
		fprintf(stderr, "bench-floor: runs entry=%llu return=%llu\n",
			(unsigned long long)run_cnt(bpf_program__fd(entry_prog)),
			(unsigned long long)run_cnt(bpf_program__fd(ret_prog)));
	for (i = 0; i < nlinks; i++)
		close(links[i]);
	if (stats_fd >= 0)
		close(stats_fd);
	floor_bpf__destroy(skel);
	close(pidfd);
	return rc;
}
