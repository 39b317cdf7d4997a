#include "kernel/ticks.h"
#include "alloctop.skel.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct at_ticks_set {
	struct alloctop_bpf *skel;
	struct bpf_link **links;	/* per CPU: the slow timer, the fast one */
	int *fast_fds;			/* the fast timers, on in windows only */
	int nr, nr_fast;
};

/* A cpu-clock timer of period ns on cpu running user_tick; 0, or -1 after an error. */
static int add_timer(struct at_ticks_set *t, int cpu, __u64 period, bool fast)
{
	struct perf_event_attr a = { .size = sizeof(a), .type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_CPU_CLOCK,
				     .sample_period = period };
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
	if (fast)
		t->fast_fds[t->nr_fast++] = fd;
	return 0;
}

/* The kernel's uprobe paths: a sample whose kernel stack goes through them is the
 * probes' time, not the process's own work. */
static const char *const probe_funcs[] = {
	"asm_exc_int3", "exc_int3", "asm_exc_debug", "exc_debug", "exc_debug_user", "uprobe_notify_resume",
	"uprobe_notify_resume.cold", "uprobe_handle_trampoline", "uprobe_handle_trampoline.cold",
	"__x64_sys_uretprobe", "__do_sys_uretprobe", "arch_uprobe_exception_notify", "uprobe_pre_sstep_notifier",
	"uprobe_post_sstep_notifier",
};

int at_ticks__prepare(struct alloctop_bpf *skel)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512], name[256];
	unsigned long long a;
	__u32 n = 0, open = 0;	/* ranges whose end is the next symbol's start */
	char type;

	_Static_assert(AT_ARRAY_SIZE(probe_funcs) <= AT_ARRAY_SIZE(skel->rodata->probe_lo), "probe_lo");
	skel->rodata->tick_on_ns = AT_TICK_ON_NS;
	skel->rodata->tick_off_ns = AT_TICK_OFF_NS;
	if (!f)
		return 0;
	/* the core kernel's symbols come sorted by address: a function ends where the
	 * next symbol starts */
	while (fgets(line, sizeof(line), f) && sscanf(line, "%llx %c %255s", &a, &type, name) == 3) {
		if (!a)
			break;	/* addresses hidden (kptr_restrict): no ranges */
		for (; open < n; open++)
			if (a > skel->rodata->probe_lo[open])
				skel->rodata->probe_hi[open] = a;
			else
				break;
		if (strchr(line, '['))
			break;	/* modules: past the core kernel */
		for (size_t i = 0; i < AT_ARRAY_SIZE(probe_funcs) && n < AT_ARRAY_SIZE(skel->rodata->probe_lo); i++)
			if (!strcmp(name, probe_funcs[i]))
				skel->rodata->probe_lo[n++] = a;
	}
	fclose(f);
	skel->rodata->nr_probe_text = open;	/* those whose end was found */
	at_debug("--max-overhead: %u kernel functions of the uprobe paths", open);
	return (int)open;
}

struct at_ticks_set *at_ticks__new(struct alloctop_bpf *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	struct at_ticks_set *t;

	if (ncpu < 1)
		ncpu = 1;
	t = at_xcalloc(1, sizeof(*t));
	t->skel = skel;
	t->links = at_xcalloc(2 * (size_t)ncpu, sizeof(*t->links));
	t->fast_fds = at_xcalloc((size_t)ncpu, sizeof(*t->fast_fds));
	for (int cpu = 0; cpu < ncpu; cpu++)
		if (add_timer(t, cpu, AT_TICK_OFF_NS, false) || add_timer(t, cpu, AT_TICK_ON_NS, true)) {
			at_ticks__free(t);
			return NULL;
		}
	at_ticks__window(t, true);	/* attach put every probe in */
	return t;
}

void at_ticks__window(struct at_ticks_set *t, bool on)
{
	if (!t)
		return;
	/* the flag first both ways: a fast sample outside a window is dropped */
	t->skel->bss->at_win_on = on;
	for (int i = 0; i < t->nr_fast; i++)
		ioctl(t->fast_fds[i], on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
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
	free(t->fast_fds);
	free(t);
}
