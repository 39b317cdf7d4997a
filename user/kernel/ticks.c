#include "kernel/ticks.h"
#include "alloctop.skel.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct at_ticks_set {
	struct alloctop_bpf *skel;
	struct bpf_link **links;
	int nr;
};

struct at_ticks_set *at_ticks__new(struct alloctop_bpf *skel, int hz)
{
	struct perf_event_attr a = { .size = sizeof(a), .type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_CPU_CLOCK,
				     .sample_freq = (__u64)hz, .freq = 1 };
	int ncpu = libbpf_num_possible_cpus();
	struct at_ticks_set *t;

	if (ncpu < 1)
		ncpu = 1;
	t = at_xcalloc(1, sizeof(*t));
	t->skel = skel;
	t->links = at_xcalloc((size_t)ncpu, sizeof(*t->links));
	for (int cpu = 0; cpu < ncpu; cpu++) {
		int fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno == ENODEV)	/* a possible CPU that is not online */
				continue;
			at_err("cannot open a cpu-clock sampler on CPU %d for --max-overhead: %s", cpu, strerror(errno));
			at_ticks__free(t);
			return NULL;
		}
		t->links[t->nr] = bpf_program__attach_perf_event(skel->progs.user_tick, fd);
		if (!t->links[t->nr]) {
			at_err("cannot attach the --max-overhead sampler on CPU %d: %s", cpu, strerror(errno));
			close(fd);
			at_ticks__free(t);
			return NULL;
		}
		t->nr++;
	}
	skel->bss->at_win_on = true;	/* attach put every probe in */
	return t;
}

void at_ticks__window(struct at_ticks_set *t, bool on)
{
	if (t)
		t->skel->bss->at_win_on = on;
}

void at_ticks__window_start(struct at_ticks_set *t, __u64 ns)
{
	if (t)
		t->skel->bss->at_win_start_ns = ns;
}

bool at_ticks__read(const struct at_ticks_set *t, int pid, __u64 *on, __u64 *off)
{
	struct { __u64 on, off; } v;
	__u32 k = (__u32)pid;

	if (!t || bpf_map__lookup_elem(t->skel->maps.user_ticks, &k, sizeof(k), &v, sizeof(v), 0))
		return false;
	*on = v.on;
	*off = v.off;
	return true;
}

void at_ticks__free(struct at_ticks_set *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->nr; i++)
		bpf_link__destroy(t->links[i]);	/* closes the perf event too */
	free(t->links);
	free(t);
}
