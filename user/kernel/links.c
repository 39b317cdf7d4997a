/* Link sets: which uprobe links exist for which process or file, and their lifecycle
 * (plan, attach, re-plan after exec, sampling on/off, detach). */
#include "kernel/links.h"
#include "kernel/linkclose.h"
#include "kernel/livegrow.h"
#include "alloctop.skel.h"
#include "lib/family.h"
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
#include <unistd.h>

#define AT_LINKS_PER_PID (2 * AT_MAX_PROBES)

/* Links of one per-PID attachment (pid > 0) or of one file probed for all (pid == -1). */
struct at_target_links {
	int pid;
	__u64 dev, ino;
	int nr;
	int fds[AT_LINKS_PER_PID];	/* uprobe_multi link fds (exact mode) */
	int nr_win;
	int win_fds[AT_LINKS_PER_PID];	/* --max-overhead: every link, attached in windows */
	struct at_plan plan;		/* kept open to re-attach in the next window */
	int bpf_pid;
};

/* In what order a window attaches a file's links: the free side (free, delete, mmap,
 * munmap entries) first, then returns, then allocation entries, so that a block seen
 * born has its free and its return probed already. */
enum at_rank { AT_RANK_FREE, AT_RANK_RET, AT_RANK_ALLOC, AT_NR_RANKS, AT_RANK_ALL = -1 };

struct at_links {
	struct at_links_opts opts;
	struct alloctop_bpf *skel;
	struct at_elfcache *ec;
	struct at_target_links *sets;
	size_t nr_sets;
	bool off;			/* --max-overhead: between windows, nothing attached */
	struct at_closer *closer;	/* window links being closed off the event loop */
	double first_in;		/* when the window's first link went in (at_now_mono) */
	bool live_ready;		/* the live-block table's first tier is in */
};


struct at_links *at_links__new(const struct at_links_opts *opts)
{
	struct at_links *ls = at_xcalloc(1, sizeof(*ls));

	memcpy(&ls->opts, opts, opts->sz < sizeof(ls->opts) ? opts->sz : sizeof(ls->opts));
	ls->skel = ls->opts.skel;
	ls->ec = ls->opts.ec;
	ls->closer = at_closer__new();
	return ls;
}

/* The entry program of a probe, by the kind of its function; the attach cookie tells it
 * which function it is in and where the arguments are. */
static struct bpf_program *entry_prog(struct alloctop_bpf *s, const struct at_probe *p)
{
	switch (at_entry_of(p->func)->kind) {
	case AT_KIND_FREE:
	case AT_KIND_QUERY:
		return s->progs.free_entry;
	case AT_KIND_MAP:
		return p->func == AT_MMAP ? s->progs.mmap_entry : s->progs.munmap_entry;
	default:
		return s->progs.alloc_entry;
	}
}

static struct at_target_links *find_set(struct at_links *ls, int pid)
{
	for (size_t i = 0; i < ls->nr_sets; i++)
		if (ls->sets[i].pid == pid)
			return &ls->sets[i];
	return NULL;
}

static int attach_multi(struct at_links *ls, struct at_target_links *tl, struct bpf_program *prog, int pid, const char *path,
			const unsigned long *offs, const __u64 *cookies, __u32 cnt, bool ret, bool windowed)
{
	int fd;

	if (!cnt)
		return 0;
	if (tl->nr == AT_LINKS_PER_PID || tl->nr_win == AT_LINKS_PER_PID)
		return -E2BIG;
	fd = at_uprobe_multi_link(bpf_program__fd(prog), path, offs, cookies, cnt, pid, ret);
	if (fd < 0)
		return fd;
	if (windowed && !ls->first_in)
		ls->first_in = at_now_mono();
	if (windowed)
		tl->win_fds[tl->nr_win++] = fd;
	else
		tl->fds[tl->nr++] = fd;
	return 0;
}

struct alias_add {
	struct at_links *ls;
	int pid;
};

static void add_alias_slot(void *ctx, __u64 slot, enum at_func f)
{
	struct alias_add *a = ctx;
	struct at_block_key k = { .pid = a->pid, .addr = slot };
	__u32 v = f;

	bpf_map__update_elem(a->ls->skel->maps.alias_got, &k, sizeof(k), &v, sizeof(v), BPF_ANY);
}

static struct at_target_links *new_links(struct at_links *ls, int pid, __u64 dev, __u64 ino)
{
	struct at_target_links *tl;

	ls->sets = at_xrealloc(ls->sets, ls->nr_sets + 1, sizeof(*ls->sets));
	tl = &ls->sets[ls->nr_sets++];
	memset(tl, 0, sizeof(*tl));
	tl->pid = pid;
	tl->dev = dev;
	tl->ino = ino;
	for (int i = 0; i < AT_PLAN_FILES; i++)
		tl->plan.files[i].fd = -1;
	return tl;
}

static void destroy_links(struct at_links *ls, struct at_target_links *tl)
{
	at_close_parallel(tl->fds, tl->nr);
	at_close_parallel(tl->win_fds, tl->nr_win);
	at_plan__fini(&tl->plan);
	*tl = ls->sets[--ls->nr_sets];
}

static enum at_rank rank_of(const struct at_links *ls, struct bpf_program *prog, bool ret)
{
	return ret ? AT_RANK_RET : prog == ls->skel->progs.alloc_entry ? AT_RANK_ALLOC : AT_RANK_FREE;
}

/* Attaches the probes of plan that live in plan file `file` into tl: one link per
 * program, with every offset that program serves in the file. */
static int attach_file(struct at_links *ls, struct at_target_links *tl, const struct at_plan *plan, int file,
		       int bpf_pid, bool quiet, enum at_rank rank)
{
	struct bpf_program *progs[AT_MAX_PROBES + 2];
	unsigned long offs[AT_MAX_PROBES];
	__u64 cookies[AT_MAX_PROBES];
	bool rets[AT_MAX_PROBES + 2];
	int nprogs = 0, err = 0;
	char path[64];

	/* the live-block table's first tier goes in on its own thread (an RCU grace period,
	 * ~15 ms here) while the caller plans: only a probe needs it */
	if (!ls->live_ready && ls->opts.live && at_livegrow__wait(ls->opts.live))
		return -ENOMEM;
	ls->live_ready = true;	/* once: every window's attach comes through here */
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
			prog = pass == 1 ? entry_prog(ls->skel, p)
			       : p->func == AT_MMAP ? ls->skel->progs.mmap_return : ls->skel->progs.alloc_return;
			for (int k = 0; k < nprogs; k++)
				seen |= progs[k] == prog && rets[k] == (pass == 0);
			if (!seen) {
				progs[nprogs] = prog;
				rets[nprogs++] = pass == 0;
			}
		}
	for (int k = 0; k < nprogs && !err; k++) {
		__u32 cnt = 0;

		if (rank != AT_RANK_ALL && rank != rank_of(ls, progs[k], rets[k]))
			continue;
		for (int i = 0; i < plan->nr_probes; i++) {
			const struct at_probe *p = &plan->probes[i];

			if (p->file != file)
				continue;
			if (rets[k] && p->has_ret &&
			    progs[k] == (p->func == AT_MMAP ? ls->skel->progs.mmap_return : ls->skel->progs.alloc_return)) {
				cookies[cnt] = p->cookie;
				offs[cnt++] = p->ret_off;
			} else if (!rets[k] && progs[k] == entry_prog(ls->skel, p)) {
				cookies[cnt] = p->cookie;
				offs[cnt++] = p->entry_off;
			}
		}
		err = attach_multi(ls, tl, progs[k], bpf_pid, path, offs, cookies, cnt, rets[k], ls->opts.sampling);
		if (err && !quiet)
			at_err("cannot probe %s in %s for process %d: %s%s", bpf_program__name(progs[k]),
			       plan->files[file].path, plan->pid, strerror(-err),
			       err == -ESRCH ? " (the process exited)" : err == -EINVAL ?
			       " (uprobe_multi needs Linux 6.6 or later)" : "");
	}
	return err;
}

/* Per-process facts the probes need, whichever way they are attached. */
static void set_process_info(struct at_links *ls, const struct at_plan *plan)
{
	struct alias_add aa = { .ls = ls, .pid = plan->pid };
	__u32 key = plan->pid;

	if (plan->text.hi)
		bpf_map__update_elem(ls->skel->maps.alloc_text, &key, sizeof(key), &plan->text, sizeof(plan->text),
				     BPF_ANY);
	at_plan_alias_slots(ls->ec, plan, add_alias_slot, &aa);
}

/* One link set per (pid, file), holding that file's descriptor (moved out of plan), so
 * that an exec that changes some of a process's files keeps the links of the others. */
static int attach_pid_file(struct at_links *ls, struct at_plan *plan, int f, bool quiet)
{
	struct at_target_links *tl;
	struct stat st;

	if (fstat(plan->files[f].fd, &st))
		return -errno;
	tl = new_links(ls, plan->pid, st.st_dev, st.st_ino);
	tl->plan = *plan;
	for (int i = 0; i < AT_PLAN_FILES; i++)
		if (i != f)
			tl->plan.files[i].fd = -1;
	plan->files[f].fd = -1;
	tl->bpf_pid = plan->pid;
	if (ls->off)
		return 0;	/* the next window attaches it */
	return attach_file(ls, tl, &tl->plan, f, plan->pid, quiet, AT_RANK_ALL);
}

/* Closes the links of every marked link set at once (see at_close_parallel). */
static void destroy_marked(struct at_links *ls, const bool *drop)
{
	size_t n = 0, k = 0;
	int *fds;

	for (size_t i = 0; i < ls->nr_sets; i++)
		if (drop[i])
			n += ls->sets[i].nr + ls->sets[i].nr_win;
	fds = at_xcalloc(n ? n : 1, sizeof(*fds));
	n = 0;
	for (size_t i = 0; i < ls->nr_sets; i++) {
		struct at_target_links *tl = &ls->sets[i];

		if (!drop[i]) {
			ls->sets[k++] = *tl;
			continue;
		}
		for (int j = 0; j < tl->nr; j++)
			fds[n++] = tl->fds[j];
		for (int j = 0; j < tl->nr_win; j++)
			fds[n++] = tl->win_fds[j];
		at_plan__fini(&tl->plan);
	}
	ls->nr_sets = k;
	at_close_parallel(fds, (int)n);
	free(fds);
}

int at_links__attach_pid(struct at_links *ls, int pid)
{
	struct at_plan plan;
	int err = 0;

	err = at_plan__make(ls->ec, pid, ls->opts.lib, &plan);
	if (err)
		return err;
	set_process_info(ls, &plan);
	for (int f = 0; f < AT_PLAN_FILES && !err; f++)
		if (plan.files[f].fd >= 0)
			err = attach_pid_file(ls, &plan, f, false);
	at_plan__fini(&plan);
	if (err)
		at_links__detach_pid(ls, pid);
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
		if (a->probes[i].cookie != b->probes[j].cookie || a->probes[i].entry_off != b->probes[j].entry_off ||
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

int at_links__replan_pid(struct at_links *ls, int pid)
{
	bool taken[AT_PLAN_FILES] = {}, *drop;
	struct at_plan plan;
	int err;

	err = at_plan__make_quiet(ls->ec, pid, ls->opts.lib, &plan, true);
	if (err)
		return err;
	set_process_info(ls, &plan);
	/* links on files the new program maps the same way stay, so calls into them are
	 * never missed nor doubled; the others go before their replacements come */
	drop = at_xcalloc(ls->nr_sets ? ls->nr_sets : 1, sizeof(*drop));
	for (size_t i = 0; i < ls->nr_sets; i++) {
		int f;

		if (ls->sets[i].pid != pid)
			continue;
		f = kept_file(&ls->sets[i], &plan, taken);
		if (f >= 0)
			taken[f] = true;
		else
			drop[i] = true;
	}
	destroy_marked(ls, drop);
	free(drop);
	for (int f = 0; f < AT_PLAN_FILES && !err; f++)
		if (plan.files[f].fd >= 0 && !taken[f])
			err = attach_pid_file(ls, &plan, f, true);
	at_plan__fini(&plan);
	if (err)
		at_links__detach_pid(ls, pid);
	return err;
}

static struct at_target_links *find_file(struct at_links *ls, __u64 dev, __u64 ino)
{
	for (size_t i = 0; i < ls->nr_sets; i++)
		if (ls->sets[i].pid == -1 && ls->sets[i].dev == dev && ls->sets[i].ino == ino)
			return &ls->sets[i];
	return NULL;
}

int at_links__attach_global(struct at_links *ls, int pid, bool quiet)
{
	struct at_plan plan;
	int err = at_plan__make_quiet(ls->ec, pid, ls->opts.lib, &plan, quiet);

	if (err)
		return err;
	/* no unwind tables yet: its first stack flags it, and the next refresh reads its
	 * mappings, so a census only pays for the processes that allocate */
	set_process_info(ls, &plan);
	for (int f = 0; f < AT_PLAN_FILES && !err; f++) {
		struct at_target_links *tl;
		struct stat st;

		if (plan.files[f].fd < 0 || fstat(plan.files[f].fd, &st) || find_file(ls, st.st_dev, st.st_ino))
			continue;
		tl = new_links(ls, -1, st.st_dev, st.st_ino);
		tl->bpf_pid = -1;
		err = ls->off ? 0 : attach_file(ls, tl, &plan, f, -1, quiet, AT_RANK_ALL);
		if (err) {
			destroy_links(ls, tl);
			continue;
		}
		at_debug("probing %s for every process", plan.files[f].path);
		/* its probes (for the cost model) and its file, kept to attach it again in
		 * the windows of --max-overhead */
		tl->plan.pid = plan.pid;
		tl->plan.files[f] = plan.files[f];
		plan.files[f].fd = -1;
		for (int i = 0; i < plan.nr_probes; i++)
			if (plan.probes[i].file == f)
				tl->plan.probes[tl->plan.nr_probes++] = plan.probes[i];
	}
	at_plan__fini(&plan);
	return err;
}

/* How to switch probes, measured on the development VM (Linux 6.18, KVM; bench/switch.c
 * and alloctop -v): a perf-event uprobe traps from its creation whether enabled or not
 * (9.3 us a call created disabled, 9.7 enabled, 9.6 disabled again by ioctl, 1.4 ns
 * closed), so disabling saves nothing, nor would a program that returns at once. Only
 * removing the uprobe does: attaching a window's 6 uprobe_multi links (one process) or 12
 * (a census's libc) took 5 to 30 ms, closing them 40 to 310 ms of wall time, nearly all an
 * RCU grace period after the breakpoints are gone (closed in parallel: one period). */
int at_links__sample(struct at_links *ls, bool on, double *exposed_s)
{
	size_t n = 0;
	int err = 0, *fds;

	/* A call cut by the switch leaves nesting behind: a new epoch makes the probes
	 * forget it. Bumped before attaching and after detaching, so that no call can
	 * enter under the new epoch while its return probe is going away. */
	if (on)
		ls->skel->bss->at_epoch++;
	ls->off = !on;
	if (on) {
		bool *had = at_xcalloc(ls->nr_sets ? ls->nr_sets : 1, sizeof(*had));

		for (size_t i = 0; i < ls->nr_sets; i++)
			had[i] = ls->sets[i].nr_win > 0;
		double t[AT_NR_RANKS + 1];

		t[0] = at_now_mono();
		ls->first_in = 0;
		for (int r = 0; r < AT_NR_RANKS; t[++r] = at_now_mono())
			for (size_t i = 0; i < ls->nr_sets; i++) {
				struct at_target_links *tl = &ls->sets[i];

				/* a process gone since (-ESRCH) must not keep the others off */
				for (int f = 0; f < AT_PLAN_FILES; f++)
					if (!had[i] && tl->plan.files[f].fd >= 0) {
						int e = attach_file(ls, tl, &tl->plan, f, tl->bpf_pid, true, r);

						err = err ? err : e;
					}
			}
		free(had);
		/* the first link's registration waits for an RCU grace period (the uprobes'
		 * dup_mmap_sem is a percpu rwsem) before any breakpoint goes in: the targets pay
		 * only from the end of the free side's first link, about the time of the others */
		if (exposed_s)
			*exposed_s = ls->first_in > 0 ? at_now_mono() - ls->first_in : t[3] - t[0];
		at_debug("window attach: free side %.2f ms (its first link %.2f), returns %.2f ms, allocation entries "
			 "%.2f ms", (t[1] - t[0]) * 1e3, ls->first_in > 0 ? (ls->first_in - t[0]) * 1e3 : -1,
			 (t[2] - t[1]) * 1e3, (t[3] - t[2]) * 1e3);
		return err;
	}
	at_links__gate(ls, false);
	/* every link of every set at once: one grace period in all (see at_close_parallel);
	 * calls cut in the middle are what the epoch is for */
	for (size_t i = 0; i < ls->nr_sets; i++)
		n += ls->sets[i].nr_win;
	fds = at_xcalloc(n ? n : 1, sizeof(*fds));
	n = 0;
	for (size_t i = 0; i < ls->nr_sets; i++) {
		for (int k = 0; k < ls->sets[i].nr_win; k++)
			fds[n++] = ls->sets[i].win_fds[k];
		ls->sets[i].nr_win = 0;
	}
	/* off the event loop: a window that comes before the grace period is over attaches
	 * links of its own beside them (the old ones' breakpoints are gone by then) */
	at_closer__close_async(ls->closer, fds, (int)n);
	free(fds);
	ls->skel->bss->at_epoch++;
	return 0;
}

void at_links__gate(struct at_links *ls, bool open)
{
	ls->skel->bss->at_win_closing = !open;
}

size_t at_links__count(const struct at_links *ls)
{
	size_t n = 0;

	for (size_t i = 0; i < ls->nr_sets; i++)
		n += ls->sets[i].nr + ls->sets[i].nr_win;
	return n;
}

void at_links__detach_pid(struct at_links *ls, int pid)
{
	bool *drop;

	if (pid <= 0 || !find_set(ls, pid))
		return;
	drop = at_xcalloc(ls->nr_sets, sizeof(*drop));
	for (size_t i = 0; i < ls->nr_sets; i++)
		drop[i] = ls->sets[i].pid == pid;
	destroy_marked(ls, drop);
	free(drop);
}


bool at_links__has_pid(struct at_links *ls, int pid)
{
	return find_set(ls, pid) != NULL;
}

void at_links__free(struct at_links *ls)
{
	if (!ls)
		return;
	/* every link of every target at once, see at_close_parallel */
	double t0 = at_now_mono();
	size_t n = 0;
	int *all;

	for (size_t i = 0; i < ls->nr_sets; i++)
		n += ls->sets[i].nr + ls->sets[i].nr_win;
	all = at_xcalloc(n ? n : 1, sizeof(*all));
	n = 0;
	for (size_t i = 0; i < ls->nr_sets; i++) {
		for (int k = 0; k < ls->sets[i].nr; k++)
			all[n++] = ls->sets[i].fds[k];
		for (int k = 0; k < ls->sets[i].nr_win; k++)
			all[n++] = ls->sets[i].win_fds[k];
		at_plan__fini(&ls->sets[i].plan);
	}
	at_close_parallel(all, (int)n);
	at_closer__free(ls->closer, 5);
	at_debug("detached %zu uprobe links in %.3f s", n, at_now_mono() - t0);
	free(all);
	free(ls->sets);
	free(ls);
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
	for (int i = 0; i < plan->nr_aliases; i++) {
		const struct at_alias *a = &plan->aliases[i];

		if (!fp[a->func].probed && a->probe < plan->nr_probes)
			fp[a->func] = fp[plan->probes[a->probe].func];
	}
}

bool at_links__func_probes(const struct at_links *ls, int pid, struct at_func_probe fp[AT_NR_FUNCS])
{
	bool any = false;

	memset(fp, 0, AT_NR_FUNCS * sizeof(*fp));
	for (size_t i = 0; i < ls->nr_sets; i++)
		if (ls->sets[i].pid == pid || ls->sets[i].pid == -1) {
			merge_probes(&ls->sets[i].plan, fp);
			any = true;
		}
	return any;
}
