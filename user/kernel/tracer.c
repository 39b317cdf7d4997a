#include "kernel/tracer.h"
#include "kernel/ticks.h"
#include "alloctop.skel.h"
#include "kernel/bpfmap.h"
#include "kernel/growth.h"
#include "kernel/percall.h"
#include "kernel/links.h"
#include "kernel/system.h"
#include "kernel/livegrow.h"
#include "kernel/livemap.h"
#include "unwind/unwind.h"
#include "unwind/unwind_pre.h"
#include "lib/opts.h"
#include "lib/util.h"
#include "uprobe_multi.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct at_tracer {
	struct alloctop_bpf *skel;
	struct at_tracer_opts opts;
	struct at_elfcache *ec;
	struct at_links *links;
	int stats_fd;
	struct bpf_link *proc_links[3];
	struct at_unwinder *uw;		/* NULL with --unwind fp */
	struct at_unwind_pre *pre;	/* the -p targets' tables, until uw takes them */
	struct bpf_link *growth_links[AT_GROWTH_LINKS];	/* --growth */
	struct at_ticks_set *ticks;	/* --max-overhead: own work in and out of windows */
	struct at_percall *per;		/* --per */
	struct at_livegrow *live;	/* the live-block table's tiers */
};

#define AT_UNWIND_MODULES 4096

static int unwinder_new(struct at_tracer *t)
{
	struct at_unwinder_opts uo = {
		.sz = sizeof(uo), .procs_fd = bpf_map__fd(t->skel->maps.unwind_procs),
		.modules_fd = bpf_map__fd(t->skel->maps.unwind_modules),
		.rows_fd = bpf_map__fd(t->skel->maps.unwind_rows), .stale_fd = bpf_map__fd(t->skel->maps.unwind_stale),
		.max_rows = t->opts.unwind_rows, .max_modules = AT_UNWIND_MODULES, .ec = t->ec, .pre = t->pre,
		.gen = &t->skel->bss->at_unwind_gen,
	};

	if (t->opts.unwind_fp)
		return 0;
	t->pre = NULL;		/* the unwinder's now, whether or not it comes up */
	t->uw = at_unwinder__new(&uo);
	return t->uw ? 0 : -1;
}

static void size_unwind_maps(struct at_tracer *t, const struct at_tracer_opts *opts)
{
	t->skel->rodata->unwind_cfi = !opts->unwind_fp;
	t->skel->rodata->stack_depth = opts->stack_depth ? opts->stack_depth : AT_MAX_FRAMES;
	/* per-PID probes (-p, a command) fire in the targets only, not in their children */
	__u32 procs = opts->global || opts->growth || opts->max_procs < 2 * AT_MAX_TARGETS ? opts->max_procs
											     : 2 * AT_MAX_TARGETS;
	bpf_map__set_max_entries(t->skel->maps.unwind_procs, procs);
	bpf_map__set_max_entries(t->skel->maps.unwind_stale, procs);
	bpf_map__set_max_entries(t->skel->maps.unwind_modules, AT_UNWIND_MODULES);
	/* --unwind fp: keep the (preallocated) row map minimal */
	bpf_map__set_max_entries(t->skel->maps.unwind_rows, opts->unwind_fp ? 1 : opts->unwind_rows);
}

static __u32 pow2_at_least(__u64 n)
{
	__u32 p = 8;

	while (p < n && p < (1U << 30))
		p <<= 1;
	return p;
}

/* CPUs whose copies per-CPU values hold (at least 1), as the model reads them. */
static int possible_cpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

static void size_maps(struct alloctop_bpf *skel, const struct at_tracer_opts *opts)
{
	/* two dirty slots a site, for the preallocated sites and the first quarter of the
	 * room past them (a large target's room is all past them): few sites share one, so
	 * few clean ones are reread */
	__u32 slots = pow2_at_least(2ULL * (opts->max_stacks + opts->max_stacks_more / 4 + opts->max_procs));
	int ncpus = possible_cpus();

	bpf_map__set_max_entries(skel->maps.stacks, opts->max_stacks);
	/* plus one unknown site per process, so a full map never loses an allocation */
	bpf_map__set_max_entries(skel->maps.sites, opts->max_stacks + opts->max_procs);
	/* a site's value: one struct at_site_stats per CPU, as a per-CPU map's reads */
	skel->rodata->site_cpus = ncpus;
	bpf_map__set_value_size(skel->maps.sites, ncpus * sizeof(struct at_site_stats));
	bpf_map__set_value_size(skel->maps.zero_site, ncpus * sizeof(struct at_site_stats));
	skel->rodata->at_more_room = opts->max_stacks_more > 0;
	bpf_map__set_max_entries(skel->maps.stacks_more, opts->max_stacks_more ? opts->max_stacks_more : 1);
	bpf_map__set_max_entries(skel->maps.sites_more, opts->max_stacks_more ? opts->max_stacks_more : 1);
	bpf_map__set_value_size(skel->maps.sites_more, ncpus * sizeof(struct at_site_stats));
	if (!opts->growth && !opts->global)	/* the followed set is read by --follow and --growth */
		bpf_map__set_max_entries(skel->maps.followed, 16);
	bpf_map__set_max_entries(skel->maps.procs, opts->max_procs);
	bpf_map__set_max_entries(skel->maps.peaks, opts->max_procs);
	bpf_map__set_max_entries(skel->maps.alloc_text, opts->max_procs);
	bpf_map__set_max_entries(skel->maps.user_ticks, opts->max_procs);
	bpf_program__set_autoload(skel->progs.user_tick, opts->sampling);
	if (opts->sampling)
		at_ticks__prepare(skel);
	bpf_map__set_max_entries(skel->maps.site_dirty, slots / 8);
	skel->rodata->at_site_slot_mask = slots - 1;
	/* Every map stays preallocated: without it (BPF_F_NO_PREALLOC) an insert can fail
	 * when the kernel's per-CPU element cache runs dry in a burst (64 processes
	 * starting together lost entries), and a lost entry is a wrong count. Only the
	 * stacks and sites past them are not (stacks_more, sites_more). */
}

/* What the programs filter on, fixed at load time. */
static void configure(struct alloctop_bpf *skel, const struct at_tracer_opts *opts)
{
	skel->rodata->self_tgid = getpid();
	/* --growth probes the whole system: -p and a command trace the followed set */
	skel->rodata->filter_followed = (opts->global && opts->follow) || (opts->growth && !opts->global);
	skel->rodata->filter_excluded = opts->global && opts->nr_exclude > 0;
	if (opts->global && opts->comm) {
		skel->rodata->filter_comm = true;
		strncpy((char *)skel->rodata->comm_filter, opts->comm, sizeof(skel->rodata->comm_filter) - 1);
	}
}

/* Creates the maps and verifies the programs; 0, or -1 after a one-line error. */
static int load(struct at_tracer *t)
{
	double t0 = at_now_mono();
	int err = alloctop_bpf__load(t->skel);

	at_debug("BPF object loaded (maps created, programs verified) in %.0f ms", (at_now_mono() - t0) * 1e3);
	if (!err)
		return 0;
	if (err == -EACCES && geteuid() == 0)
		/* root was refused by the verifier, not for want of privilege */
		at_err("the kernel's verifier rejected a BPF program (%s): run with -v for its log "
		       "and report it with your kernel version (uname -r)", strerror(-err));
	else if (err == -EPERM || err == -EACCES)
		at_err("the kernel refused to load BPF programs (%s): run as root with BPF enabled "
		       "(kernel.unprivileged_bpf_disabled does not matter for root)", strerror(-err));
	else
		at_err("loading the BPF programs failed: %s (run with -v for the verifier's log)",
		       strerror(-err));
	return -1;
}

/* The live-block table and the thread that grows it. 0, or -1 after a one-line error. */
static int live_new(struct at_tracer *t, const struct at_tracer_opts *opts)
{
	struct at_livegrow_opts lo = {
		.sz = sizeof(lo), .outer_fd = bpf_map__fd(t->skel->maps.live),
		.ring_fd = bpf_map__fd(t->skel->maps.live_grow), .nb = t->skel->bss->at_live_nb,
		.wanted = &t->skel->bss->at_live_grow_wanted, .max_live = opts->max_live,
		.initial = opts->live_initial ? opts->live_initial : opts->max_live };

	t->live = at_livegrow__new(&lo);
	return t->live ? 0 : -1;
}

/* The excluded set and the process exit/exec (and fork) tracepoints; 0, or -1 after a
 * one-line error. */
static int attach_proc_hooks(struct at_tracer *t, const struct at_tracer_opts *opts)
{
	for (int i = 0; i < opts->nr_exclude && opts->global; i++) {
		__u32 k = opts->exclude[i];
		__u8 one = 1;

		bpf_map__update_elem(t->skel->maps.excluded, &k, sizeof(k), &one, sizeof(one), BPF_ANY);
	}
	t->proc_links[0] = bpf_program__attach(t->skel->progs.proc_exit);
	t->proc_links[1] = bpf_program__attach(t->skel->progs.proc_exec);
	/* file probes: a child inherits its parent's allocator text and alias slots (and,
	 * with --follow, its place in the followed set) */
	if (opts->global)
		t->proc_links[2] = bpf_program__attach(t->skel->progs.proc_fork);
	if (!t->proc_links[0] || !t->proc_links[1] || (opts->global && !t->proc_links[2])) {
		at_err("cannot attach to the sched_process_exit/fork tracepoints: %s (kernel without BTF "
		       "tracepoints?)", strerror(errno));
		return -1;
	}
	return 0;
}

struct at_tracer *at_tracer__new(const struct at_tracer_opts *opts)
{
	struct at_tracer *t;

	if (!at_system_check()) {
		at_unwind_pre__free(opts->pre);
		return NULL;
	}
	libbpf_set_print(at_libbpf_print);
	t = at_xcalloc(1, sizeof(*t));
	memcpy(&t->opts, opts, opts->sz < sizeof(t->opts) ? opts->sz : sizeof(t->opts));
	t->pre = opts->pre;
	t->stats_fd = -1;
	t->skel = alloctop_bpf__open();
	if (!t->skel) {
		at_err("cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	configure(t->skel, opts);
	size_maps(t->skel, opts);
	size_unwind_maps(t, opts);
	at_growth_prepare(t->skel, opts->growth, opts->growth_calls, opts->max_procs,
			  opts->max_stacks + opts->max_procs);
	at_percall__prepare(t->skel, opts->nr_per, opts->max_procs);
	{
		struct bpf_program *p;

		bpf_object__for_each_program(p, t->skel->obj)
			if (bpf_program__type(p) == BPF_PROG_TYPE_KPROBE)
				bpf_program__set_expected_attach_type(p, AT_TRACE_UPROBE_MULTI);
	}
	if (load(t))
		goto fail;
	if (live_new(t, opts) || attach_proc_hooks(t, opts))
		goto fail;
	if (opts->growth && at_growth_attach(t->skel, t->growth_links, AT_GROWTH_LINKS))
		goto fail;
	if (opts->sampling && !(t->ticks = at_ticks__new(t->skel, !opts->global)))
		goto fail;
	/* Kernel BPF statistics time every program run (two clock reads each, ~0.1x of
	 * the uprobe floor on a KVM guest): only on request. Not fatal if refused. */
	if (opts->bpf_stats)
		t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	t->ec = at_elfcache__new();
	/* done long since, as a rule (the load takes longer): from here ELF files are read
	 * on this thread only */
	at_unwind_pre__wait(t->pre);
	if (unwinder_new(t))
		goto fail;
	{
		struct at_links_opts lo = { .sz = sizeof(lo), .skel = t->skel, .ec = t->ec, .lib = opts->lib,
					    .sampling = opts->sampling, .live = t->live };

		t->links = at_links__new(&lo);
	}
	t->per = at_percall__new(t->skel, opts->per, opts->nr_per);
	return t;
fail:
	at_tracer__free(t);
	return NULL;
}

/* --growth: nothing to probe in the process; its events count once it is followed. A
 * launched command (not a -p target) is followed from its exec, but its unwind tables
 * are read only once its allocator library is mapped (-EAGAIN until then, the launcher
 * asks again after each mmap), as exact mode attaches: its first stacks unwind whole. */
static int growth_add_pid(struct at_tracer *t, int pid)
{
	int err = at_tracer__follow(t, pid);
	struct at_plan plan;

	if (!err && t->opts.launch) {
		err = at_plan__make_quiet(t->ec, pid, NULL, &plan, true);
		if (err == -EAGAIN)
			return err;
		if (!err)
			at_plan__fini(&plan);
		err = 0;
	}
	if (!err && t->uw)
		at_unwinder__add_pid(t->uw, pid);
	return err;
}

int at_tracer__attach_pid(struct at_tracer *t, int pid)
{
	int err;

	if (t->opts.growth)
		return growth_add_pid(t, pid);
	if (at_links__has_pid(t->links, pid))
		return 0;
	err = at_links__attach_pid(t->links, pid);
	if (!err && t->per && (err = at_percall__attach_pid(t->per, pid)))
		at_links__detach_pid(t->links, pid);
	if (!err && (err = at_ticks__add_pid(t->ticks, pid)))
		at_links__detach_pid(t->links, pid);
	if (!err && t->uw)
		at_unwinder__add_pid(t->uw, pid);	/* until it has, stacks use frame pointers */
	return err;
}

int at_tracer__replan_pid(struct at_tracer *t, int pid)
{
	int err;

	if (t->opts.growth)
		return growth_add_pid(t, pid);	/* the new program's mappings */
	err = at_links__replan_pid(t->links, pid);

	if (!err && t->uw)
		at_unwinder__add_pid(t->uw, pid);	/* the new program's mappings */
	return err;
}

void at_tracer__detach_pid(struct at_tracer *t, int pid)
{
	at_links__detach_pid(t->links, pid);
}

int at_tracer__attach_global(struct at_tracer *t, int pid, bool quiet)
{
	if (t->opts.growth)
		return 0;	/* every process's faults and calls are seen already */
	return at_links__attach_global(t->links, pid, quiet);
}

int at_tracer__sample(struct at_tracer *t, bool on, double *exposed_s)
{
	return at_links__sample(t->links, on, exposed_s);
}

void at_tracer__gate(struct at_tracer *t, bool open)
{
	at_links__gate(t->links, open);
}

struct at_ticks_set *at_tracer__ticks(const struct at_tracer *t)
{
	return t->ticks;
}

size_t at_tracer__nr_links(const struct at_tracer *t)
{
	return at_links__count(t->links);
}

bool at_tracer__func_probes(const struct at_tracer *t, int pid, struct at_func_probe fp[AT_NR_FUNCS])
{
	return t->links && at_links__func_probes(t->links, pid, fp);
}

void at_tracer__seed_proc(struct at_tracer *t, int pid)
{
	size_t n = possible_cpus();
	void *zero = at_xcalloc(n, sizeof(struct at_proc_stats));
	struct at_site_key sk = { .pid = pid };
	__u32 k = pid;

	/* NOEXIST: a probe may have made it already; also its unknown site, as at_proc_get
	 * does, so a full site map still has that slot for it */
	bpf_map_update_elem(bpf_map__fd(t->skel->maps.procs), &k, zero, BPF_NOEXIST);
	free(zero);
	zero = at_xcalloc(n, sizeof(struct at_site_stats));
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.sites), &sk, zero, BPF_NOEXIST) && errno == E2BIG &&
	    t->opts.max_stacks_more)
		bpf_map_update_elem(bpf_map__fd(t->skel->maps.sites_more), &sk, zero, BPF_NOEXIST);
	free(zero);
}

int at_tracer__follow(struct at_tracer *t, int pid)
{
	__u32 k = pid;
	__u8 one = 1;

	return bpf_map__update_elem(t->skel->maps.followed, &k, sizeof(k), &one, sizeof(one), BPF_ANY) ? -errno : 0;
}

/* Takes up to max (pid -> record) entries out of a map the BPF side fills. */
static int drain_pids(int fd, int *pids, void *recs, size_t rec_sz, int max)
{
	int n = 0;
	__u32 next;

	while (n < max && !bpf_map_get_next_key(fd, NULL, &next)) {
		if (bpf_map_lookup_and_delete_elem(fd, &next, (char *)recs + n * rec_sz))
			break;
		pids[n++] = next;
	}
	return n;
}

int at_tracer__drain_exited(struct at_tracer *t, int *pids, struct at_exit_rec *info, int max)
{
	return drain_pids(bpf_map__fd(t->skel->maps.exited), pids, info, sizeof(*info), max);
}

int at_tracer__drain_execs(struct at_tracer *t, int *pids, struct at_exec_rec *info, int max)
{
	return drain_pids(bpf_map__fd(t->skel->maps.execd), pids, info, sizeof(*info), max);
}

int at_tracer__drop_old_images(struct at_tracer *t, const int *pids, const struct at_exec_rec *info, int n)
{
	int fd = bpf_map__fd(t->skel->maps.sweep), err;
	LIBBPF_OPTS(bpf_test_run_opts, run);

	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		__u32 k = pids[i];

		bpf_map_update_elem(fd, &k, &info[i], BPF_ANY);
	}
	/* one pass over the live and mapping maps, in the kernel */
	err = bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.drop_old_images), &run) ? -errno : 0;
	for (int i = 0; i < n; i++) {
		__u32 k = pids[i];

		bpf_map_delete_elem(fd, &k);
	}
	return err;
}

void at_tracer__forget(struct at_tracer *t, const int *pids, int n, bool counters)
{
	int *set;

	if (n <= 0)
		return;
	set = at_xcalloc(n, sizeof(int));
	memcpy(set, pids, n * sizeof(int));
	qsort(set, n, sizeof(int), at_int_cmp);
	at_live_forget(bpf_map__fd(t->skel->maps.live), set, n);
	for (int i = 0; i < n; i++)
		at_ticks__forget(t->ticks, set[i]);
	at_map_delete_pids(bpf_map__fd(t->skel->maps.mappings), sizeof(struct at_block_key), sizeof(struct at_mapping),
		    set, n);
	at_map_delete_pids(bpf_map__fd(t->skel->maps.alias_got), sizeof(struct at_block_key), sizeof(__u32), set, n);
	if (counters) {
		at_map_delete_pids(bpf_map__fd(t->skel->maps.sites), sizeof(struct at_site_key),
			    sizeof(struct at_site_stats) * possible_cpus(), set, n);
		if (t->opts.max_stacks_more)
			at_map_delete_pids(bpf_map__fd(t->skel->maps.sites_more), sizeof(struct at_site_key),
				    sizeof(struct at_site_stats) * possible_cpus(), set, n);
		for (int i = 0; i < n; i++) {
			__u32 k = set[i];

			bpf_map__delete_elem(t->skel->maps.procs, &k, sizeof(k), 0);
			bpf_map__delete_elem(t->skel->maps.peaks, &k, sizeof(k), 0);
			for (__u32 f = 0; f < (__u32)t->opts.nr_per; f++) {
				struct at_per_key pk = { .pid = k, .func = f };

				bpf_map__delete_elem(t->skel->maps.per_calls, &pk, sizeof(pk), 0);
			}
			bpf_map__delete_elem(t->skel->maps.growth_procs, &k, sizeof(k), 0);
		}
		if (t->opts.growth)
			at_map_delete_pids(bpf_map__fd(t->skel->maps.growth_sites), sizeof(struct at_site_key),
				    sizeof(struct at_growth_site), set, n);
	}
	free(set);
}

int at_tracer__followed(struct at_tracer *t, int *pids, int max)
{
	int fd = bpf_map__fd(t->skel->maps.followed), n = 0;
	__u32 key, next;
	bool have = false;

	while (n < max && !bpf_map_get_next_key(fd, have ? &key : NULL, &next)) {
		pids[n++] = next;
		key = next;
		have = true;
	}
	return n;
}

void at_tracer__free(struct at_tracer *t)
{
	if (!t)
		return;
	at_percall__free(t->per);
	at_links__free(t->links);
	at_ticks__free(t->ticks);
	for (size_t i = 0; i < AT_ARRAY_SIZE(t->proc_links); i++)
		bpf_link__destroy(t->proc_links[i]);
	for (size_t i = 0; i < AT_ARRAY_SIZE(t->growth_links); i++)
		bpf_link__destroy(t->growth_links[i]);
	at_unwinder__free(t->uw);
	at_unwind_pre__free(t->pre);
	at_livegrow__free(t->live);
	alloctop_bpf__destroy(t->skel);
	at_elfcache__free(t->ec);
	if (t->stats_fd >= 0)
		close(t->stats_fd);
	free(t);
}

void at_tracer__map_fds(const struct at_tracer *t, struct at_map_fds *fds)
{
	fds->procs = bpf_map__fd(t->skel->maps.procs);
	fds->sites = bpf_map__fd(t->skel->maps.sites);
	fds->peaks = bpf_map__fd(t->skel->maps.peaks);
	fds->per_calls = bpf_map__fd(t->skel->maps.per_calls);
	fds->stacks = bpf_map__fd(t->skel->maps.stacks);
	fds->sites_more = t->opts.max_stacks_more ? bpf_map__fd(t->skel->maps.sites_more) : -1;
	fds->stacks_more = t->opts.max_stacks_more ? bpf_map__fd(t->skel->maps.stacks_more) : -1;
	fds->live = bpf_map__fd(t->skel->maps.live);
	fds->drops = bpf_map__fd(t->skel->maps.drops);
	fds->site_dirty = bpf_map__fd(t->skel->maps.site_dirty);
	fds->site_news = bpf_map__fd(t->skel->maps.site_news);
	fds->site_slots = t->skel->rodata->at_site_slot_mask + 1;
	fds->site_news_lost = &t->skel->bss->at_site_news_lost;
	fds->gaps = bpf_map__fd(t->skel->maps.gaps);
	fds->gaps_lost = &t->skel->bss->at_gaps_lost;
	fds->growth_procs = t->opts.growth ? bpf_map__fd(t->skel->maps.growth_procs) : -1;
	fds->growth_sites = t->opts.growth ? bpf_map__fd(t->skel->maps.growth_sites) : -1;
}

void at_tracer__refresh(struct at_tracer *t)
{
	if (t->uw)
		at_unwinder__refresh(t->uw);
	at_ticks__refresh(t->ticks);	/* the targets' threads change too */
}

void at_tracer__growth_refresh(struct at_tracer *t)
{
	int err = t->opts.growth ? at_growth_refresh(t->skel) : 0;

	if (err)
		at_debug("--growth: cannot read the processes' mappings: %s", strerror(-err));
}

size_t at_tracer__unwind_modules(const struct at_tracer *t, const struct at_unwind_info **mods)
{
	*mods = NULL;
	return t->uw ? at_unwinder__modules(t->uw, mods) : 0;
}

struct at_elfcache *at_tracer__elfcache(struct at_tracer *t)
{
	return t->ec;
}

int at_tracer__prog_stats(const struct at_tracer *t, __u64 *run_ns, __u64 *run_cnt)
{
	struct bpf_program *p;

	*run_ns = *run_cnt = 0;
	if (t->stats_fd < 0)
		return -ENODATA;	/* the kernel counts nothing without --bpf-stats */
	bpf_object__for_each_program(p, t->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			return -errno;
		*run_ns += info.run_time_ns;
		*run_cnt += info.run_cnt;
	}
	return 0;
}
