#include "kernel/ticks.h"
#include "alloctop.skel.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One cpu-clock timer running user_tick: on a CPU (tid < 0), or on one thread. */
struct timer {
	struct bpf_link *link;	/* owns fd */
	int fd, pid, tid;
	bool fast;		/* on in windows only */
};

struct at_ticks_set {
	struct alloctop_bpf *skel;
	struct timer *v;
	int n, cap;
	bool per_task;		/* timers on the targets' threads, not on every CPU */
	bool on;		/* a window is on */
	struct at_hash tids;	/* per_task: tid -> its pid + 1, timers open */
};

/* A timer of period ns on cpu (tid < 0) or thread tid running user_tick; 0, or -1 after
 * an error (a thread gone meanwhile is no error). */
static int add_timer(struct at_ticks_set *t, int pid, int tid, int cpu, __u64 period, bool fast)
{
	struct perf_event_attr a = { .size = sizeof(a), .type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_CPU_CLOCK,
				     .sample_period = period, .disabled = fast && !t->on };
	int fd = (int)syscall(SYS_perf_event_open, &a, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	struct bpf_link *l;

	if (fd < 0) {
		if (errno == ENODEV || (tid >= 0 && errno == ESRCH))	/* a CPU offline, a thread gone */
			return 0;
		if (tid >= 0)
			at_err("cannot open a cpu-clock timer on thread %d for --max-overhead: %s", tid, strerror(errno));
		else
			at_err("cannot open a cpu-clock timer on CPU %d for --max-overhead: %s", cpu, strerror(errno));
		return -1;
	}
	l = bpf_program__attach_perf_event(t->skel->progs.user_tick, fd);
	if (!l) {
		at_err("cannot attach the --max-overhead sampler: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->v = at_xrealloc(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n++] = (struct timer){ .link = l, .fd = fd, .pid = pid, .tid = tid, .fast = fast };
	return 0;
}

/* The kernel's uprobe paths: a sample whose kernel stack goes through them is the
 * probes' time, not the process's own work. */
/* bpf/ticks.bpf.c's room for their ranges */
#define PROBE_TEXT AT_ARRAY_SIZE(((struct alloctop_bpf *)0)->rodata->probe_lo)

static const char *const probe_funcs[] = {
	"asm_exc_int3", "exc_int3", "asm_exc_debug", "exc_debug", "exc_debug_user", "uprobe_notify_resume",
	"uprobe_notify_resume.cold", "uprobe_handle_trampoline", "uprobe_handle_trampoline.cold",
	"__x64_sys_uretprobe", "__do_sys_uretprobe", "arch_uprobe_exception_notify", "uprobe_pre_sstep_notifier",
	"uprobe_post_sstep_notifier",
};

/* The functions' [lo, hi) from /proc/kallsyms (45 ms of the kernel's time to list it
 * here): the core kernel's symbols come sorted by address, a function ends where the
 * next symbol starts. Those whose end was found come first; returns how many. */
static __u32 ranges_from_kallsyms(__u64 *lo, __u64 *hi)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512], name[256];
	unsigned long long a;
	__u32 n = 0, open = 0;	/* ranges whose end is the next symbol's start */
	char type;

	while (f && fgets(line, sizeof(line), f) && sscanf(line, "%llx %c %255s", &a, &type, name) == 3) {
		if (!a)
			break;	/* addresses hidden (kptr_restrict): no ranges */
		for (; open < n && a > lo[open]; open++)
			hi[open] = a;
		if (strchr(line, '['))
			break;	/* modules: past the core kernel */
		for (size_t i = 0; i < AT_ARRAY_SIZE(probe_funcs) && n < PROBE_TEXT; i++)
			if (!strcmp(name, probe_funcs[i]))
				lo[n++] = a;
	}
	if (f)
		fclose(f);
	return open;
}

/* The ranges hold for one boot: cached beside the probe costs, keyed by the boot. */
static void ranges_key(char *key, size_t sz)
{
	char boot[64] = "", rel[128] = "";

	at_read_small("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
	at_read_small("/proc/sys/kernel/osrelease", rel, sizeof(rel));
	snprintf(key, sz, "%s %s %zu", boot, rel, AT_ARRAY_SIZE(probe_funcs));
}

static bool ranges_cached(const char *path, const char *key, __u64 *lo, __u64 *hi, __u32 *n)
{
	char line[512], want[300];
	FILE *f = fopen(path, "re");
	unsigned long long a, b;
	bool ok;

	if (!f)
		return false;
	snprintf(want, sizeof(want), "key %s\n", key);
	ok = fgets(line, sizeof(line), f) && !strcmp(line, want);
	for (*n = 0; ok && *n < PROBE_TEXT && fscanf(f, "%llx %llx\n", &a, &b) == 2; (*n)++) {
		lo[*n] = a;
		hi[*n] = b;
	}
	fclose(f);
	return ok;
}

static void ranges_save(const char *path, const char *key, const __u64 *lo, const __u64 *hi, __u32 n)
{
	char tmp[4200];
	FILE *f;

	mkdir(at_cache_dir(), 0755);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, getpid());
	if (!(f = fopen(tmp, "we")))
		return;	/* not cached: the next start lists them again */
	fprintf(f, "key %s\n", key);
	for (__u32 i = 0; i < n; i++)
		fprintf(f, "%llx %llx\n", (unsigned long long)lo[i], (unsigned long long)hi[i]);
	if (fclose(f) || rename(tmp, path))
		unlink(tmp);
}

int at_ticks__prepare(struct alloctop_bpf *skel)
{
	__u64 lo[PROBE_TEXT] = { 0 }, hi[PROBE_TEXT] = { 0 };
	char key[256], path[4096];
	__u32 n;

	_Static_assert(AT_ARRAY_SIZE(probe_funcs) <= PROBE_TEXT, "probe_lo");
	skel->rodata->tick_on_ns = AT_TICK_ON_NS;
	skel->rodata->tick_off_ns = AT_TICK_OFF_NS;
	ranges_key(key, sizeof(key));
	snprintf(path, sizeof(path), "%s/probe-text", at_cache_dir());
	if (!ranges_cached(path, key, lo, hi, &n)) {
		n = ranges_from_kallsyms(lo, hi);
		if (n)
			ranges_save(path, key, lo, hi, n);
	}
	for (__u32 i = 0; i < n; i++) {
		skel->rodata->probe_lo[i] = lo[i];
		skel->rodata->probe_hi[i] = hi[i];
	}
	skel->rodata->nr_probe_text = n;
	at_debug("--max-overhead: %u kernel functions of the uprobe paths", n);
	return (int)n;
}

struct at_ticks_set *at_ticks__new(struct alloctop_bpf *skel, bool per_task)
{
	int ncpu = libbpf_num_possible_cpus();
	struct at_ticks_set *t = at_xcalloc(1, sizeof(*t));

	t->skel = skel;
	t->per_task = per_task;
	t->on = true;	/* attach put every probe in */
	skel->bss->at_win_on = true;
	for (int cpu = 0; !per_task && cpu < (ncpu < 1 ? 1 : ncpu); cpu++)
		if (add_timer(t, -1, -1, cpu, AT_TICK_OFF_NS, false) || add_timer(t, -1, -1, cpu, AT_TICK_ON_NS, true)) {
			at_ticks__free(t);
			return NULL;
		}
	return t;
}

/* Closes the timers for which gone(timer) holds. */
static void drop_timers(struct at_ticks_set *t, bool (*gone)(const struct timer *, const void *), const void *arg)
{
	int n = 0;

	for (int i = 0; i < t->n; i++) {
		if (gone(&t->v[i], arg)) {
			if (!t->v[i].fast)	/* a thread's two timers go together */
				at_hash_del(&t->tids, (__u64)t->v[i].tid, 0);
			bpf_link__destroy(t->v[i].link);
		} else {
			t->v[n++] = t->v[i];
		}
	}
	t->n = n;
}

/* Timers on each thread of pid that has none yet. */
static int add_threads(struct at_ticks_set *t, int pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (!(dir = opendir(path)))
		return 0;	/* gone: nothing to time */
	while (!err && (d = readdir(dir))) {
		int tid = atoi(d->d_name);

		if (tid <= 0 || at_hash_get(&t->tids, (__u64)tid, 0))
			continue;
		at_hash_put(&t->tids, (__u64)tid, 0, (void *)(uintptr_t)(pid + 1));
		err = add_timer(t, pid, tid, -1, AT_TICK_OFF_NS, false) || add_timer(t, pid, tid, -1, AT_TICK_ON_NS, true);
	}
	closedir(dir);
	return err ? -1 : 0;
}

int at_ticks__add_pid(struct at_ticks_set *t, int pid)
{
	return t && t->per_task ? add_threads(t, pid) : 0;
}

static bool in_set(const struct timer *tm, const void *arg)
{
	return at_hash_get(arg, (__u64)tm->tid, 0) != NULL;
}

/* One pass over the threads (their slow timers): the gone ones lose both timers, and
 * each process is rescanned once for threads born since. */
void at_ticks__refresh(struct at_ticks_set *t)
{
	struct at_hash gone = { 0 }, pids = { 0 };
	struct at_hash_ent *e;
	char path[64];

	if (!t || !t->per_task)
		return;
	for (int i = 0; i < t->n; i++) {
		const struct timer *tm = &t->v[i];

		if (tm->fast)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d", tm->pid, tm->tid);
		if (access(path, F_OK))
			at_hash_put(&gone, (__u64)tm->tid, 0, (void *)1);
		at_hash_put(&pids, (__u64)tm->pid, 0, (void *)1);
	}
	if (gone.len)
		drop_timers(t, in_set, &gone);
	at_hash_for_each(&pids, e)
		add_threads(t, (int)e->k1);	/* a failure is said and skipped */
	at_hash_clear(&gone);
	at_hash_clear(&pids);
}

static bool of_pid(const struct timer *tm, const void *arg)
{
	return tm->pid == *(const int *)arg;
}

void at_ticks__forget(struct at_ticks_set *t, int pid)
{
	if (t && t->per_task)
		drop_timers(t, of_pid, &pid);
}

void at_ticks__window(struct at_ticks_set *t, bool on)
{
	if (!t)
		return;
	/* the flag first both ways: a fast sample outside a window is dropped */
	t->skel->bss->at_win_on = on;
	t->on = on;
	for (int i = 0; i < t->n; i++)
		if (t->v[i].fast)
			ioctl(t->v[i].fd, on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
}

void at_ticks__window_start(struct at_ticks_set *t, __u64 ns)
{
	if (t)
		t->skel->bss->at_win_start_ns = ns;
}

bool at_ticks__read(const struct at_ticks_set *t, int pid, struct at_ticks *u)
{
	__u32 k = (__u32)pid;

	return t && !bpf_map__lookup_elem(t->skel->maps.user_ticks, &k, sizeof(k), u, sizeof(*u), 0);
}

void at_ticks__free(struct at_ticks_set *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++)
		bpf_link__destroy(t->v[i].link);	/* closes the perf event too */
	free(t->v);
	at_hash_clear(&t->tids);
	free(t);
}
