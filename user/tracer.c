#include "tracer.h"
#include "alloctop.skel.h"
#include "bpfmap.h"
#include "livemap.h"
#include "unwind.h"
#include "unwind_pre.h"
#include "util.h"
#include "uprobe_multi.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AT_LINKS_PER_PID (2 * AT_MAX_PROBES)

/* Links of one per-PID attachment (pid > 0) or of one file probed for all (pid == -1). */
struct at_target_links {
	int pid;
	__u64 dev, ino;
	int nr;
	int fds[AT_LINKS_PER_PID];	/* uprobe_multi link fds: the always-on side */
	int nr_alloc;
	int alloc_fds[AT_LINKS_PER_PID];	/* the allocation side (--max-overhead toggles it) */
	bool alloc_ret[AT_LINKS_PER_PID];	/* which of those are return probes */
	struct at_plan plan;		/* kept open to re-attach the allocation side */
	int bpf_pid;
};

/* Which probes an attach covers: with --max-overhead the allocation side (malloc
 * family and new entries, their returns) comes and goes, while frees, deletes and
 * mmap/munmap stay so that sampled blocks keep exact lifetimes and live bytes. */
enum at_side { AT_SIDE_ALL, AT_SIDE_ALLOC, AT_SIDE_KEEP };

struct at_tracer {
	struct alloctop_bpf *skel;
	struct at_tracer_opts opts;
	struct at_elfcache *ec;
	struct at_target_links *targets;
	size_t nr_targets;
	int stats_fd;
	struct bpf_link *proc_links[3];
	struct at_unwinder *uw;		/* NULL with --unwind fp */
	struct at_unwind_pre *pre;	/* the -p targets' tables, until uw takes them */
	bool alloc_off;			/* --max-overhead: the allocation side is detached now */
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
	bpf_map__set_max_entries(t->skel->maps.unwind_procs, opts->max_procs);
	bpf_map__set_max_entries(t->skel->maps.unwind_stale, opts->max_procs);
	bpf_map__set_max_entries(t->skel->maps.unwind_modules, AT_UNWIND_MODULES);
	/* --unwind fp: keep the (preallocated) row map minimal */
	bpf_map__set_max_entries(t->skel->maps.unwind_rows, opts->unwind_fp ? 1 : opts->unwind_rows);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!at_verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool has_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};
	__u64 eff;

	if (syscall(SYS_capget, &h, d))
		return geteuid() == 0;
	eff = d[0].effective | (__u64)d[1].effective << 32;
#define CAP(n) (eff & (1ULL << (n)))
	return CAP(CAP_SYS_ADMIN) || (CAP(CAP_BPF) && CAP(CAP_PERFMON));
#undef CAP
}

static bool check_system(void)
{
	if (!has_caps()) {
		at_err("permission denied: tracing needs root (or CAP_BPF and CAP_PERFMON): run with sudo");
		return false;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		at_err("kernel BTF not readable at /sys/kernel/btf/vmlinux: alloctop needs a kernel built with "
		       "CONFIG_DEBUG_INFO_BTF=y");
		return false;
	}
	return true;
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
	/* two dirty slots a site: few sites share one, so few clean ones are reread */
	__u32 slots = pow2_at_least(2ULL * (opts->max_stacks + opts->max_procs));
	int ncpus = possible_cpus();

	skel->rodata->live_buckets = at_live_buckets_for(opts->max_live);
	bpf_map__set_max_entries(skel->maps.live, skel->rodata->live_buckets);
	bpf_map__set_max_entries(skel->maps.stacks, opts->max_stacks);
	/* plus one unknown site per process, so a full map never loses an allocation */
	bpf_map__set_max_entries(skel->maps.sites, opts->max_stacks + opts->max_procs);
	/* a site's value: one struct at_site_stats per CPU, as a per-CPU map's reads */
	skel->rodata->site_cpus = ncpus;
	bpf_map__set_value_size(skel->maps.sites, ncpus * sizeof(struct at_site_stats));
	bpf_map__set_value_size(skel->maps.zero_site, ncpus * sizeof(struct at_site_stats));
	bpf_map__set_max_entries(skel->maps.procs, opts->max_procs);
	bpf_map__set_max_entries(skel->maps.alloc_text, opts->max_procs);
	bpf_map__set_max_entries(skel->maps.site_dirty, slots / 8);
	skel->rodata->at_site_slot_mask = slots - 1;
	/* Every map stays preallocated: without it (BPF_F_NO_PREALLOC) an insert can fail
	 * when the kernel's per-CPU element cache runs dry in a burst (64 processes
	 * starting together lost entries), and a lost entry is a wrong count. */
}

struct at_tracer *at_tracer__new(const struct at_tracer_opts *opts)
{
	struct at_tracer *t;
	double t0;
	int err;

	if (!check_system())
		return NULL;
	libbpf_set_print(libbpf_print);
	t = at_xcalloc(1, sizeof(*t));
	memcpy(&t->opts, opts, opts->sz < sizeof(t->opts) ? opts->sz : sizeof(t->opts));
	t->stats_fd = -1;
	t->skel = alloctop_bpf__open();
	if (!t->skel) {
		at_err("cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	t->skel->rodata->self_tgid = getpid();
	t->skel->rodata->filter_followed = opts->global && opts->follow;
	t->skel->rodata->filter_excluded = opts->global && opts->nr_exclude > 0;
	if (opts->global && opts->comm) {
		t->skel->rodata->filter_comm = true;
		strncpy((char *)t->skel->rodata->comm_filter, opts->comm, sizeof(t->skel->rodata->comm_filter) - 1);
	}
	size_maps(t->skel, opts);
	size_unwind_maps(t, opts);
	/* the kernel creates maps and verifies programs meanwhile: the tables are ready
	 * by the time the targets are attached */
	if (!opts->unwind_fp)
		t->pre = at_unwind_pre_start(opts->pids, opts->nr_pids);
	{
		struct bpf_program *p;

		bpf_object__for_each_program(p, t->skel->obj)
			if (bpf_program__type(p) == BPF_PROG_TYPE_KPROBE)
				bpf_program__set_expected_attach_type(p, AT_TRACE_UPROBE_MULTI);
	}
	t0 = at_now_mono();
	err = alloctop_bpf__load(t->skel);
	at_debug("BPF object loaded (maps created, programs verified) in %.0f ms", (at_now_mono() - t0) * 1e3);
	if (err) {
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
		goto fail;
	}
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
		goto fail;
	}
	/* Kernel BPF statistics time every program run (two clock reads each, ~0.1x of
	 * the uprobe floor on a KVM guest): only on request. Not fatal if refused. */
	if (opts->bpf_stats)
		t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	t->ec = at_elfcache_new();
	/* done long since, as a rule (the load takes longer): from here ELF files are read
	 * on this thread only */
	at_unwind_pre_wait(t->pre);
	if (unwinder_new(t))
		goto fail;
	return t;
fail:
	at_tracer__free(t);
	return NULL;
}

/* The entry program of function f; the attach cookie tells it which function it is in. */
static struct bpf_program *entry_prog(struct alloctop_bpf *s, enum at_func f)
{
	switch (f) {
	case AT_FREE:
	case AT_DELETE:
	case AT_DELETE_ARRAY:
		return s->progs.free_entry;
	case AT_MMAP:
		return s->progs.mmap_entry;
	case AT_MUNMAP:
		return s->progs.munmap_entry;
	default:
		return f < AT_NR_FUNCS ? s->progs.alloc_entry : NULL;
	}
}

static struct at_target_links *find_target(struct at_tracer *t, int pid)
{
	for (size_t i = 0; i < t->nr_targets; i++)
		if (t->targets[i].pid == pid)
			return &t->targets[i];
	return NULL;
}

static int attach_multi(struct at_target_links *tl, struct bpf_program *prog, int pid, const char *path,
			const unsigned long *offs, const __u64 *cookies, __u32 cnt, bool ret, bool alloc_side)
{
	int fd;

	if (!cnt)
		return 0;
	if (tl->nr == AT_LINKS_PER_PID || tl->nr_alloc == AT_LINKS_PER_PID)
		return -E2BIG;
	fd = at_uprobe_multi_link(bpf_program__fd(prog), path, offs, cookies, cnt, pid, ret);
	if (fd < 0)
		return fd;
	if (alloc_side) {
		tl->alloc_ret[tl->nr_alloc] = ret;
		tl->alloc_fds[tl->nr_alloc++] = fd;
	} else
		tl->fds[tl->nr++] = fd;
	return 0;
}

struct alias_add {
	struct at_tracer *t;
	int pid;
};

static void add_alias_slot(void *ctx, __u64 slot, enum at_func f)
{
	struct alias_add *a = ctx;
	struct at_block_key k = { .pid = a->pid, .addr = slot };
	__u32 v = f;

	bpf_map__update_elem(a->t->skel->maps.alias_got, &k, sizeof(k), &v, sizeof(v), BPF_ANY);
}

static struct at_target_links *new_links(struct at_tracer *t, int pid, __u64 dev, __u64 ino)
{
	struct at_target_links *tl;

	t->targets = at_xrealloc(t->targets, t->nr_targets + 1, sizeof(*t->targets));
	tl = &t->targets[t->nr_targets++];
	memset(tl, 0, sizeof(*tl));
	tl->pid = pid;
	tl->dev = dev;
	tl->ino = ino;
	for (int i = 0; i < AT_PLAN_FILES; i++)
		tl->plan.files[i].fd = -1;
	return tl;
}

static void *close_fd(void *fd)
{
	close((int)(intptr_t)fd);
	return NULL;
}

/* Releasing a uprobe link waits for an RCU grace period (~0.1 s here); closed from
 * parallel threads the waits overlap, so detaching takes about one grace period. */
static void close_parallel(const int *fds, int n)
{
	pthread_t th[n > 0 ? n : 1];
	bool started[n > 0 ? n : 1];

	for (int i = 0; i < n; i++)
		started[i] = !pthread_create(&th[i], NULL, close_fd, (void *)(intptr_t)fds[i]);
	for (int i = 0; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			close(fds[i]);
	}
}

static void destroy_links(struct at_tracer *t, struct at_target_links *tl)
{
	close_parallel(tl->fds, tl->nr);
	close_parallel(tl->alloc_fds, tl->nr_alloc);
	at_plan_free(&tl->plan);
	*tl = t->targets[--t->nr_targets];
}

/* Attaches the probes of plan that live in plan file `file` into tl: one link per
 * program, with every offset that program serves in the file. */
static bool alloc_side(const struct at_tracer *t, struct bpf_program *prog)
{
	return prog == t->skel->progs.alloc_return || prog == t->skel->progs.alloc_entry;
}

static int attach_file(struct at_tracer *t, struct at_target_links *tl, const struct at_plan *plan, int file,
		       int bpf_pid, bool quiet, enum at_side side)
{
	struct bpf_program *progs[AT_MAX_PROBES + 2];
	unsigned long offs[AT_MAX_PROBES];
	__u64 cookies[AT_MAX_PROBES];
	bool rets[AT_MAX_PROBES + 2];
	int nprogs = 0, err = 0;
	char path[64];

	/* the kernel resolves the probed inode through our fd: no path race */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", plan->files[file].fd);
	/* the distinct programs this file needs, return probes first: a call entering in
	 * between would otherwise never see its return and count as a missed return */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < plan->nr_probes; i++) {
			const struct at_probe *p = &plan->probes[i];
			struct bpf_program *prog;
			bool seen = false;

			if (p->file != file || (pass == 0 && !p->has_ret))
				continue;
			prog = pass == 1 ? entry_prog(t->skel, p->func)
			       : p->func == AT_MMAP ? t->skel->progs.mmap_return : t->skel->progs.alloc_return;
			for (int k = 0; k < nprogs; k++)
				seen |= progs[k] == prog && rets[k] == (pass == 0);
			if (!seen) {
				progs[nprogs] = prog;
				rets[nprogs++] = pass == 0;
			}
		}
	for (int k = 0; k < nprogs && !err; k++) {
		bool is_alloc = t->opts.sampling && alloc_side(t, progs[k]);
		__u32 cnt = 0;

		if ((side == AT_SIDE_ALLOC && !is_alloc) || (side == AT_SIDE_KEEP && is_alloc))
			continue;
		for (int i = 0; i < plan->nr_probes; i++) {
			const struct at_probe *p = &plan->probes[i];

			if (p->file != file)
				continue;
			if (rets[k] && p->has_ret &&
			    progs[k] == (p->func == AT_MMAP ? t->skel->progs.mmap_return : t->skel->progs.alloc_return)) {
				cookies[cnt] = p->func;
				offs[cnt++] = p->ret_off;
			} else if (!rets[k] && progs[k] == entry_prog(t->skel, p->func)) {
				cookies[cnt] = p->func;
				offs[cnt++] = p->entry_off;
			}
		}
		err = attach_multi(tl, progs[k], bpf_pid, path, offs, cookies, cnt, rets[k], is_alloc);
		if (err && !quiet)
			at_err("cannot probe %s in %s for process %d: %s%s", bpf_program__name(progs[k]),
			       plan->files[file].path, plan->pid, strerror(-err),
			       err == -ESRCH ? " (the process exited)" : err == -EINVAL ?
			       " (uprobe_multi needs Linux 6.6 or later)" : "");
	}
	return err;
}

/* Per-process facts the probes need, whichever way they are attached. */
static void set_process_info(struct at_tracer *t, const struct at_plan *plan)
{
	struct alias_add aa = { .t = t, .pid = plan->pid };
	__u32 key = plan->pid;

	if (plan->text.hi)
		bpf_map__update_elem(t->skel->maps.alloc_text, &key, sizeof(key), &plan->text, sizeof(plan->text),
				     BPF_ANY);
	at_plan_alias_slots(t->ec, plan, add_alias_slot, &aa);
}

/* One link set per (pid, file), holding that file's descriptor (moved out of plan), so
 * that an exec that changes some of a process's files keeps the links of the others. */
static int attach_pid_file(struct at_tracer *t, struct at_plan *plan, int f, bool quiet)
{
	struct at_target_links *tl;
	struct stat st;

	if (fstat(plan->files[f].fd, &st))
		return -errno;
	tl = new_links(t, plan->pid, st.st_dev, st.st_ino);
	tl->plan = *plan;
	for (int i = 0; i < AT_PLAN_FILES; i++)
		if (i != f)
			tl->plan.files[i].fd = -1;
	plan->files[f].fd = -1;
	tl->bpf_pid = plan->pid;
	return attach_file(t, tl, &tl->plan, f, plan->pid, quiet, t->alloc_off ? AT_SIDE_KEEP : AT_SIDE_ALL);
}

/* Closes the links of every marked link set at once (see close_parallel). */
static void destroy_marked(struct at_tracer *t, const bool *drop)
{
	size_t n = 0, k = 0;
	int *fds;

	for (size_t i = 0; i < t->nr_targets; i++)
		if (drop[i])
			n += t->targets[i].nr + t->targets[i].nr_alloc;
	fds = at_xcalloc(n ? n : 1, sizeof(*fds));
	n = 0;
	for (size_t i = 0; i < t->nr_targets; i++) {
		struct at_target_links *tl = &t->targets[i];

		if (!drop[i]) {
			t->targets[k++] = *tl;
			continue;
		}
		for (int j = 0; j < tl->nr; j++)
			fds[n++] = tl->fds[j];
		for (int j = 0; j < tl->nr_alloc; j++)
			fds[n++] = tl->alloc_fds[j];
		at_plan_free(&tl->plan);
	}
	t->nr_targets = k;
	close_parallel(fds, (int)n);
	free(fds);
}

int at_tracer__attach_pid(struct at_tracer *t, int pid)
{
	struct at_plan plan;
	int err = 0;

	if (find_target(t, pid))
		return 0;
	err = at_plan_make(t->ec, pid, t->opts.lib, &plan);
	if (err)
		return err;
	set_process_info(t, &plan);
	for (int f = 0; f < AT_PLAN_FILES && !err; f++)
		if (plan.files[f].fd >= 0)
			err = attach_pid_file(t, &plan, f, false);
	at_plan_free(&plan);
	if (err)
		at_tracer__detach_pid(t, pid);
	else if (t->uw)
		at_unwinder__add_pid(t->uw, pid);	/* until it has, stacks use frame pointers */
	return err;
}

/* The probes plan a puts in its file fa are those plan b puts in fb. */
static bool same_probes(const struct at_plan *a, int fa, const struct at_plan *b, int fb)
{
	int i = 0, j = 0;

	for (;; i++, j++) {
		while (i < a->nr_probes && a->probes[i].file != fa)
			i++;
		while (j < b->nr_probes && b->probes[j].file != fb)
			j++;
		if (i == a->nr_probes || j == b->nr_probes)
			return i == a->nr_probes && j == b->nr_probes;
		if (a->probes[i].func != b->probes[j].func || a->probes[i].entry_off != b->probes[j].entry_off ||
		    a->probes[i].ret_off != b->probes[j].ret_off || a->probes[i].has_ret != b->probes[j].has_ret)
			return false;
	}
}

/* The file of plan that link set tl already probes exactly as plan wants, or -1. */
static int kept_file(const struct at_target_links *tl, const struct at_plan *plan, const bool *taken)
{
	int own = -1;

	for (int i = 0; i < AT_PLAN_FILES; i++)
		if (tl->plan.files[i].fd >= 0)
			own = i;
	for (int f = 0; own >= 0 && f < AT_PLAN_FILES; f++) {
		struct stat st;

		if (taken[f] || plan->files[f].fd < 0 || fstat(plan->files[f].fd, &st))
			continue;
		if (st.st_dev == tl->dev && st.st_ino == tl->ino && same_probes(&tl->plan, own, plan, f))
			return f;
	}
	return -1;
}

int at_tracer__replan_pid(struct at_tracer *t, int pid)
{
	bool taken[AT_PLAN_FILES] = {}, *drop;
	struct at_plan plan;
	int err;

	err = at_plan_make_quiet(t->ec, pid, t->opts.lib, &plan, true);
	if (err)
		return err;
	set_process_info(t, &plan);
	/* links on files the new program maps the same way stay, so calls into them are
	 * never missed nor doubled; the others go before their replacements come */
	drop = at_xcalloc(t->nr_targets ? t->nr_targets : 1, sizeof(*drop));
	for (size_t i = 0; i < t->nr_targets; i++) {
		int f;

		if (t->targets[i].pid != pid)
			continue;
		f = kept_file(&t->targets[i], &plan, taken);
		if (f >= 0)
			taken[f] = true;
		else
			drop[i] = true;
	}
	destroy_marked(t, drop);
	free(drop);
	for (int f = 0; f < AT_PLAN_FILES && !err; f++)
		if (plan.files[f].fd >= 0 && !taken[f])
			err = attach_pid_file(t, &plan, f, true);
	at_plan_free(&plan);
	if (err)
		at_tracer__detach_pid(t, pid);
	else if (t->uw)
		at_unwinder__add_pid(t->uw, pid);	/* the new program's mappings */
	return err;
}

static struct at_target_links *find_file(struct at_tracer *t, __u64 dev, __u64 ino)
{
	for (size_t i = 0; i < t->nr_targets; i++)
		if (t->targets[i].pid == -1 && t->targets[i].dev == dev && t->targets[i].ino == ino)
			return &t->targets[i];
	return NULL;
}

int at_tracer__attach_global(struct at_tracer *t, int pid, bool quiet)
{
	struct at_plan plan;
	int err = at_plan_make_quiet(t->ec, pid, t->opts.lib, &plan, quiet);

	if (err)
		return err;
	/* no unwind tables yet: its first stack flags it, and the next refresh reads its
	 * mappings, so a census only pays for the processes that allocate */
	set_process_info(t, &plan);
	for (int f = 0; f < AT_PLAN_FILES && !err; f++) {
		struct at_target_links *tl;
		struct stat st;

		if (plan.files[f].fd < 0 || fstat(plan.files[f].fd, &st) || find_file(t, st.st_dev, st.st_ino))
			continue;
		tl = new_links(t, -1, st.st_dev, st.st_ino);
		err = attach_file(t, tl, &plan, f, -1, quiet, AT_SIDE_ALL);
		if (err)
			destroy_links(t, tl);
		else
			at_debug("probing %s for every process", plan.files[f].path);
		for (int i = 0; !err && i < plan.nr_probes; i++)	/* its probes, for the cost model */
			if (plan.probes[i].file == f)
				tl->plan.probes[tl->plan.nr_probes++] = plan.probes[i];
	}
	at_plan_free(&plan);
	return err;
}

int at_tracer__sample(struct at_tracer *t, bool on)
{
	int err = 0;

	/* A call cut by the switch leaves nesting behind: a new epoch makes the probes
	 * forget it. Bumped before attaching and after detaching, so that no call can
	 * enter under the new epoch while its return probe is going away. */
	if (on)
		t->skel->bss->at_epoch++;
	t->alloc_off = !on;
	for (size_t i = 0; i < t->nr_targets; i++) {
		struct at_target_links *tl = &t->targets[i];

		if (tl->pid <= 0)
			continue;
		if (!on) {
			/* entries before returns: no call may enter once its return is gone */
			int fds[AT_LINKS_PER_PID], n = 0;

			for (int pass = 0; pass < 2; pass++, n = 0) {
				for (int k = 0; k < tl->nr_alloc; k++)
					if (tl->alloc_ret[k] == (pass == 1))
						fds[n++] = tl->alloc_fds[k];
				close_parallel(fds, n);
			}
			tl->nr_alloc = 0;
			continue;
		}
		if (tl->nr_alloc)
			continue;
		for (int f = 0; f < AT_PLAN_FILES && !err; f++)
			if (tl->plan.files[f].fd >= 0)
				err = attach_file(t, tl, &tl->plan, f, tl->bpf_pid, true, AT_SIDE_ALLOC);
	}
	if (!on)
		t->skel->bss->at_epoch++;
	return err;
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
	bpf_map_update_elem(bpf_map__fd(t->skel->maps.sites), &sk, zero, BPF_NOEXIST);
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

void at_tracer__detach_pid(struct at_tracer *t, int pid)
{
	bool *drop;

	if (pid <= 0 || !find_target(t, pid))
		return;
	drop = at_xcalloc(t->nr_targets, sizeof(*drop));
	for (size_t i = 0; i < t->nr_targets; i++)
		drop[i] = t->targets[i].pid == pid;
	destroy_marked(t, drop);
	free(drop);
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

struct pid_keys {
	const int *set;		/* sorted */
	int n;
	size_t ksz, nk, cap;
	char *keys;		/* the matching keys */
};

static int collect_pid_keys(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct pid_keys *pk = ctx;

	(void)vals;
	for (size_t i = 0; i < n; i++) {
		const char *k = (const char *)keys + i * pk->ksz;
		int pid = *(const __u32 *)k;

		if (!bsearch(&pid, pk->set, pk->n, sizeof(int), at_int_cmp))
			continue;
		if (pk->nk == pk->cap) {
			pk->cap = pk->cap ? pk->cap * 2 : 1024;
			pk->keys = at_xrealloc(pk->keys, pk->cap, pk->ksz);
		}
		memcpy(pk->keys + pk->nk++ * pk->ksz, k, pk->ksz);
	}
	return 0;
}

/* Deletes every key of map fd whose leading u32 (the pid) is in the sorted set: one
 * batched read that keeps only those keys, then batched deletes. (Walking get_next_key
 * and deleting as it goes restarts the walk after each delete: minutes for a million
 * blocks.) */
static void delete_pids(int fd, size_t ksz, size_t vsz, const int *set, int n)
{
	struct pid_keys pk = { .set = set, .n = n, .ksz = ksz };

	if (at_map_read_chunks(fd, ksz, vsz, 4096, collect_pid_keys, &pk)) {
		free(pk.keys);
		return;
	}
	for (size_t done = 0; done < pk.nk;) {
		__u32 count = pk.nk - done > 4096 ? 4096 : (__u32)(pk.nk - done);
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		if (bpf_map_delete_batch(fd, pk.keys + done * ksz, &count, &bo) && !count) {
			/* no batch support: one by one */
			for (; done < pk.nk; done++)
				bpf_map_delete_elem(fd, pk.keys + done * ksz);
			break;
		}
		done += count ? count : 1;
	}
	free(pk.keys);
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
	delete_pids(bpf_map__fd(t->skel->maps.mappings), sizeof(struct at_block_key), sizeof(struct at_mapping),
		    set, n);
	delete_pids(bpf_map__fd(t->skel->maps.alias_got), sizeof(struct at_block_key), sizeof(__u32), set, n);
	if (counters) {
		delete_pids(bpf_map__fd(t->skel->maps.sites), sizeof(struct at_site_key),
			    sizeof(struct at_site_stats) * possible_cpus(), set, n);
		for (int i = 0; i < n; i++) {
			__u32 k = set[i];

			bpf_map__delete_elem(t->skel->maps.procs, &k, sizeof(k), 0);
		}
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
	{
		/* every link of every target at once, see close_parallel */
		double t0 = at_now_mono();
		size_t n = 0;
		int *all;

		for (size_t i = 0; i < t->nr_targets; i++)
			n += t->targets[i].nr + t->targets[i].nr_alloc;
		all = at_xcalloc(n, sizeof(*all));
		n = 0;
		for (size_t i = 0; i < t->nr_targets; i++) {
			for (int k = 0; k < t->targets[i].nr; k++)
				all[n++] = t->targets[i].fds[k];
			for (int k = 0; k < t->targets[i].nr_alloc; k++)
				all[n++] = t->targets[i].alloc_fds[k];
			at_plan_free(&t->targets[i].plan);
		}
		close_parallel(all, (int)n);
		for (size_t i = 0; i < AT_ARRAY_SIZE(t->proc_links); i++)
			bpf_link__destroy(t->proc_links[i]);
		at_debug("detached %zu uprobe links in %.3f s", n, at_now_mono() - t0);
		free(all);
		free(t->targets);
	}
	at_unwinder__free(t->uw);
	at_unwind_pre_free(t->pre);
	alloctop_bpf__destroy(t->skel);
	at_elfcache_free(t->ec);
	if (t->stats_fd >= 0)
		close(t->stats_fd);
	free(t);
}

void at_tracer__map_fds(const struct at_tracer *t, struct at_map_fds *fds)
{
	fds->procs = bpf_map__fd(t->skel->maps.procs);
	fds->sites = bpf_map__fd(t->skel->maps.sites);
	fds->stacks = bpf_map__fd(t->skel->maps.stacks);
	fds->live = bpf_map__fd(t->skel->maps.live);
	fds->drops = bpf_map__fd(t->skel->maps.drops);
	fds->site_dirty = bpf_map__fd(t->skel->maps.site_dirty);
	fds->site_news = bpf_map__fd(t->skel->maps.site_news);
	fds->site_slots = t->skel->rodata->at_site_slot_mask + 1;
	fds->site_news_lost = &t->skel->bss->at_site_news_lost;
}

void at_tracer__unwind_refresh(struct at_tracer *t)
{
	if (t->uw)
		at_unwinder__refresh(t->uw);
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

/* A function's probes in one plan, merged into fp: the dearer entry kind wins. */
static void merge_probes(const struct at_plan *plan, struct at_func_probe *fp)
{
	for (int i = 0; i < plan->nr_probes; i++) {
		const struct at_probe *p = &plan->probes[i];
		struct at_func_probe *d = &fp[p->func];

		if (!d->probed || p->entry_kind == AT_HIT_STEPPED)
			d->entry = p->entry_kind;
		d->probed = true;
		d->ret |= p->has_ret;
	}
	/* a name probed through another's site (aligned_alloc = memalign) costs the same */
	for (int f = 0; f < AT_NR_FUNCS; f++)
		for (int g = 0; g < AT_NR_FUNCS && !fp[f].probed && (plan->aliased >> f & 1); g++)
			if (g != f && (plan->aliased >> g & 1) && fp[g].probed)
				fp[f] = fp[g];
}

bool at_tracer__func_probes(const struct at_tracer *t, int pid, struct at_func_probe fp[AT_NR_FUNCS])
{
	bool any = false;

	memset(fp, 0, AT_NR_FUNCS * sizeof(*fp));
	for (size_t i = 0; i < t->nr_targets; i++)
		if (t->targets[i].pid == pid || (t->opts.global && t->targets[i].pid == -1)) {
			merge_probes(&t->targets[i].plan, fp);
			any = true;
		}
	return any;
}
