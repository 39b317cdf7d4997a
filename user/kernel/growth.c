#include "kernel/growth.h"
#include "alloctop.skel.h"
#include "kernel/bpfmap.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* bpf/growth.bpf.c's programs, by their names' prefix */
static bool is_growth_prog(const struct bpf_program *p)
{
	return !strncmp(bpf_program__name(p), "growth_", 7);
}

/* Its system call programs: any syscall tracepoint sends every system call of every
 * process through the kernel's slow path while attached, hence only on request. */
static bool is_syscall_prog(const struct bpf_program *p)
{
	return !strncmp(bpf_program__section_name(p), "tracepoint/syscalls/", 20);
}

void at_growth_prepare(struct alloctop_bpf *skel, bool growth, bool calls, __u32 max_procs, __u32 max_sites)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, skel->obj) {
		if (is_growth_prog(p))
			bpf_program__set_autoload(p, growth && (calls || !is_syscall_prog(p)));
		else if (growth && bpf_program__type(p) == BPF_PROG_TYPE_KPROBE)
			bpf_program__set_autoload(p, false);	/* the allocator uprobes */
	}
	/* unused maps stay one entry small */
	bpf_map__set_max_entries(skel->maps.growth_procs, growth ? max_procs : 1);
	bpf_map__set_max_entries(skel->maps.growth_sites, growth ? max_sites : 1);
}

/* The syscalls tracepoints are found through tracefs: mounted where it is missing. */
static void mount_tracefs(void)
{
	if (!access("/sys/kernel/tracing/events", F_OK) || !access("/sys/kernel/debug/tracing/events", F_OK))
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		at_debug("--growth: cannot mount tracefs on /sys/kernel/tracing: %s", strerror(errno));
}

int at_growth_attach(struct alloctop_bpf *skel, struct bpf_link **links, size_t max)
{
	struct bpf_program *p;
	size_t n = 0;

	mount_tracefs();
	bpf_object__for_each_program(p, skel->obj) {
		if (!is_growth_prog(p) || !bpf_program__autoload(p) || bpf_program__type(p) == BPF_PROG_TYPE_SYSCALL)
			continue;	/* growth_refresh runs on demand */
		if (n == max)
			return -E2BIG;
		links[n] = bpf_program__attach(p);
		if (!links[n]) {
			int err = -errno;

			at_err("--growth: cannot attach %s (%s): it needs the exceptions:page_fault_* and "
			       "kmem:rss_stat tracepoints with BTF (and for --growth-calls the syscalls ones, "
			       "through tracefs), as in Linux 6.2 or later", bpf_program__name(p), strerror(-err));
			return err;
		}
		at_debug("--growth: attached %s (%s)", bpf_program__name(p), bpf_program__section_name(p));
		n++;
	}
	return 0;
}

int at_growth_refresh(struct alloctop_bpf *skel)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);

	return bpf_prog_test_run_opts(bpf_program__fd(skel->progs.growth_refresh), &run) ? -errno : 0;
}

bool at_growth_proc_read(int fd, int pid, struct at_growth_proc *g)
{
	__u32 k = pid;

	memset(g, 0, sizeof(*g));
	return fd >= 0 && !bpf_map_lookup_elem(fd, &k, g);
}

bool at_growth_site_read(int fd, int pid, __u64 stack_id, struct at_growth_site *g)
{
	struct at_site_key k = { .pid = pid, .stack_id = stack_id };

	memset(g, 0, sizeof(*g));
	return fd >= 0 && !bpf_map_lookup_elem(fd, &k, g);
}

__s64 at_growth_brk_bytes(const struct at_growth_proc *g)
{
	return (__s64)(g->brk_now - g->brk_base);
}

__s64 at_growth_mmap_bytes(const struct at_growth_proc *g)
{
	return (__s64)(g->data_now - g->data_base) * sysconf(_SC_PAGESIZE) - at_growth_brk_bytes(g);
}

__s64 at_growth_rss_bytes(const struct at_growth_proc *g)
{
	static const int members[] = { 0 /* file */, 1 /* anon */, 3 /* shmem */ };
	__s64 pages = 0;

	for (size_t i = 0; i < AT_ARRAY_SIZE(members); i++)
		pages += g->rss_now[members[i]] - g->rss_base[members[i]];
	return pages * sysconf(_SC_PAGESIZE);
}

size_t at_growth_calls_read(int fd, struct at_growth_call **out)
{
	struct at_site_key *keys = NULL;
	struct at_growth_site *vals = NULL;
	struct at_growth_call *c;
	size_t n = 0;

	if (fd < 0 || at_map_read_all(fd, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals, &n))
		n = 0;
	c = at_xcalloc(n ? n : 1, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		c[i].key = keys[i];
		c[i].g = vals[i];
	}
	free(keys);
	free(vals);
	*out = c;
	return n;
}
