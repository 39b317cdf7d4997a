/* Per-process probe cost. A process's probe time in an interval is the sum over its
 * probed functions of calls seen x (entry cost of the kind of its entry instruction +
 * return cost when it has a return probe). The kernel charges that time to the process
 * (the trap runs in its context), so it is part of the CPU time /proc/PID/stat reports:
 * share = probe / cpu, and a process whose work is CPU-bound takes cpu / (cpu - probe)
 * times as long. Calls the allocator makes to itself (realloc -> malloc) hit probes
 * without being counted, so this is a lower bound for such calls. Under --max-overhead
 * the timers that split its time in and out of windows add their samples of it, priced
 * at calibration (a timer interrupt is microseconds in a VM). */
#include "model/model_int.h"
#include "kernel/ticks.h"
#include "binary/procmaps.h"
#include "lib/family.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AT_OVERHEAD_WARN 1.5	/* a slowdown worth saying on stderr */

/* Where a process's probe cost stood when last seen. */
struct ov_mark {
	double mono;
	double cpu_s;		/* < 0: unknown */
	double probe_ns;	/* probe time so far (cumulative hits x costs) */
	__u64 gen;
	double exit_cpu_s;	/* > 0: its CPU time as it exited (/proc has none after) */
	double exit_clock_s;	/* > 0: the same from its CPU clock (ns, not ticks) */
	bool priced;		/* ns holds its functions' costs per call */
	double ns[AT_NR_FUNCS];
};

void at_model_set_probe_cost(struct at_model *m, const struct at_probe_cost *c)
{
	m->cost = *c;
}

const struct at_probe_cost *at_model_probe_cost(const struct at_model *m)
{
	return &m->cost;
}

static struct ov_mark *mark_of(struct at_model *m, int pid)
{
	struct ov_mark *k = at_hash_get(&m->ov_marks, (__u64)pid, 0);

	if (!k) {
		k = at_xcalloc(1, sizeof(*k));
		k->cpu_s = -1;
		at_hash_put(&m->ov_marks, (__u64)pid, 0, k);
	}
	return k;
}

double at_model_probe_ns_of(const struct at_model *m, int pid)
{
	const struct ov_mark *k = at_hash_get(&m->ov_marks, (__u64)pid, 0);

	return k ? k->probe_ns : 0;
}

/* Prices pid's probed functions from the probes attached now (kept: by a final report
 * an exited process's probes are gone). */
static void price(struct at_model *m, struct ov_mark *k, int pid)
{
	struct at_func_probe fp[AT_NR_FUNCS];

	if (at_tracer__func_probes(m->tracer, pid, fp)) {
		at_probe_cost_per_call(&m->cost, fp, k->ns);
		k->priced = true;
	}
}

void at_model_overhead_seed(struct at_model *m, int pid)
{
	struct ov_mark *k = mark_of(m, pid);

	price(m, k, pid);
	k->mono = at_now_mono();
	k->cpu_s = at_proc_cpu_s(pid);
	k->probe_ns = 0;
	k->gen = m->ov_gen + 1;	/* counts as seen by the next update */
}

void at_model_overhead_exiting(struct at_model *m, int pid)
{
	struct ov_mark *k = at_hash_get(&m->ov_marks, (__u64)pid, 0);

	clockid_t clk;
	struct timespec ts;

	if (!k)
		return;
	k->exit_cpu_s = at_proc_cpu_s(pid);
	if (!clock_getcpuclockid(pid, &clk) && !clock_gettime(clk, &ts))
		k->exit_clock_s = ts.tv_sec + ts.tv_nsec / 1e9;
}

double at_model_exit_cpu(const struct at_model *m, int pid)
{
	const struct ov_mark *k = at_hash_get(&m->ov_marks, (__u64)pid, 0);

	return k && k->exit_clock_s > 0 ? k->exit_clock_s : -1;
}

static void figures(struct at_overhead *ov, const struct ov_mark *k, double now, double cpu, double pns)
{
	double dt = now - k->mono, dcpu = cpu - k->cpu_s, dp = pns - k->probe_ns;

	memset(ov, 0, sizeof(*ov));
	if (dt <= 0 || dp < 0)
		return;		/* a new process under a reused pid: next time */
	ov->known = true;
	ov->probe_ns_per_s = dp / dt;
	if (cpu < 0 || k->cpu_s < 0 || dcpu <= 0)
		return;
	ov->cpu_known = true;
	ov->cpu_share = dp / 1e9 / dcpu;
	if (ov->cpu_share > 1)
		ov->cpu_share = 1;	/* CPU time is counted in ticks; the probes cannot take more */
	ov->slowdown = ov->cpu_share < 1 ? 1 / (1 - ov->cpu_share) : 0;
}

static void forget_unseen(struct at_model *m)
{
	struct at_hash_ent *e;

	/* gone from the snapshot: its pid may come back as a new process */
	while (true) {
		int gone = -1;

		at_hash_for_each(&m->ov_marks, e)
			if (((struct ov_mark *)e->val)->gen < m->ov_gen)
				gone = (int)e->k1;
		if (gone < 0)
			break;
		free(at_hash_del(&m->ov_marks, (__u64)gone, 0));
	}
}

/* What --max-overhead's timers have cost pid so far (ns): their samples of it, priced. */
static double timer_ns(struct at_model *m, int pid)
{
	struct at_ticks u;

	if (!m->max_overhead || !at_ticks__read(at_tracer__ticks(m->tracer), pid, &u))
		return 0;
	/* in windows both timers interrupt it, out of them the slow one */
	return m->cost.sample_ns * ((double)u.on_all * (1 + (double)AT_TICK_ON_NS / AT_TICK_OFF_NS) + (double)u.off_all);
}

void at_model_overhead_update(struct at_model *m)
{
	double now = at_now_mono();

	m->ov_gen++;
	for (size_t i = 0; i < m->cur.nr_procs; i++) {
		struct at_proc_view *p = &m->cur.procs[i];
		struct ov_mark *k = mark_of(m, p->pid);
		double cpu = at_proc_cpu_s(p->pid), pns = 0;

		price(m, k, p->pid);
		for (int f = 0; f < AT_NR_FUNCS && k->priced; f++)
			pns += k->ns[f] * p->hits[f];
		pns += timer_ns(m, p->pid);
		if (cpu < 0 && k->exit_cpu_s > 0)
			cpu = k->exit_cpu_s;
		if (k->gen && k->gen + 1 >= m->ov_gen)
			figures(&p->ov, k, now, cpu, pns);
		else
			memset(&p->ov, 0, sizeof(p->ov));
		p->ov.probe_ns = pns;
		k->mono = now;
		k->cpu_s = cpu;
		k->probe_ns = pns;
		k->gen = m->ov_gen;
	}
	forget_unseen(m);
}

void at_model_overhead__fini(struct at_model *m)
{
	at_hash_free_all(&m->ov_marks);
}

bool at_model_overhead_warn(const struct at_model *m, bool warned)
{
	for (size_t i = 0; i < m->cur.nr_procs && !warned; i++) {
		const struct at_proc_view *p = &m->cur.procs[i];
		char x[32];

		if (!p->ov.cpu_known || (p->ov.slowdown && p->ov.slowdown < AT_OVERHEAD_WARN))
			continue;
		if (p->ov.slowdown)
			snprintf(x, sizeof(x), "about %.1fx", p->ov.slowdown);
		else
			snprintf(x, sizeof(x), "many times over");	/* probes took all its CPU time */
		at_warn("%s (pid %d) slowed %s by probes; --max-overhead PCT bounds it",
			p->target ? p->target->comm : "?", p->pid, x);
		return true;
	}
	return false;
}

void at_model_call_costs(const struct at_model *m, double *alloc_ns, double *free_ns)
{
	struct at_func_probe fp[AT_NR_FUNCS];
	double ns[AT_NR_FUNCS];

	*alloc_ns = m->cost.entry_ns + m->cost.return_ns;
	*free_ns = m->cost.entry_ns;
	for (int i = 0; i < m->nr_targets; i++) {
		if (!at_tracer__func_probes(m->tracer, m->targets[i]->pid, fp))
			continue;
		at_probe_cost_per_call(&m->cost, fp, ns);
		for (int f = 0; f < AT_NR_FUNCS; f++) {
			enum at_call_kind k = at_entry_of(f)->kind;
			double *d = k == AT_KIND_FREE || k == AT_KIND_QUERY ? free_ns : alloc_ns;

			if (k != AT_KIND_MAP && ns[f] > *d)
				*d = ns[f];
		}
	}
}
