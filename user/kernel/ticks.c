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
	struct bpf_link **links;	/* one timer per CPU */
	int nr;
};

/* A cpu-clock timer on cpu running user_tick; 0, or -1 after an error. */
static int add_timer(struct at_ticks_set *t, int cpu)
{
	struct perf_event_attr a = { .size = sizeof(a), .type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_CPU_CLOCK,
				     .sample_period = AT_TICK_NS };
	int fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0) {
		if (errno == ENODEV)	/* a possible CPU that is not online */
			return 0;
		at_err("cannot open a cpu-clock timer on CPU %d for --max-overhead: %s", cpu, strerror(errno));
		return -1;
	}
	t->links[t->nr] = bpf_program__attach_perf_event(t->skel->progs.user_tick, fd);
	if (!t->links[t->nr]) {
		at_err("cannot attach the --max-overhead sampler on CPU %d: %s", cpu, strerror(errno));
		close(fd);
		return -1;
	}
	t->nr++;	/* the link owns fd */
	return 0;
}

struct at_ticks_set *at_ticks__new(struct alloctop_bpf *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	struct at_ticks_set *t;

	if (ncpu < 1)
		ncpu = 1;
	t = at_xcalloc(1, sizeof(*t));
	t->skel = skel;
	t->links = at_xcalloc((size_t)ncpu, sizeof(*t->links));
	for (int cpu = 0; cpu < ncpu; cpu++)
		if (add_timer(t, cpu)) {
			at_ticks__free(t);
			return NULL;
		}
	at_ticks__window(t, true);	/* attach put every probe in */
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

bool at_ticks__read(const struct at_ticks_set *t, int pid, struct at_user_time *u)
{
	__u32 k = (__u32)pid;

	return t && !bpf_map__lookup_elem(t->skel->maps.user_ticks, &k, sizeof(k), u, sizeof(*u), 0);
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
