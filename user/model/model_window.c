/* --max-overhead in the model: the windows, each target's CPU time in and out of them
 * (the share of its work the probes saw), and the lifetimes of blocks followed across
 * the gaps between windows (bpf/alloc.bpf.c's gap events, bounded by model/censor.c). */
#include "model/model_int.h"
#include "kernel/probecost.h"
#include "kernel/ticks.h"
#include "lib/util.h"

#include <bpf/libbpf.h>
#include <math.h>
#include <stdlib.h>

/* Below this much CPU time in and out of windows, the share of time is the better
 * guess of the share of work seen. */
#define AT_MIN_CPU_S 0.02
#define AT_MIN_TICKS 20		/* own samples each side: below, the CPU split */
#define AT_MIN_READS 100	/* read calls in windows before they say the share (10%) */
#define AT_BLOCK_ERR 0.01	/* a block closes when its share's squared relative error is below */

/* Horvitz-Thompson weighting: what was seen in each block of refresh intervals counts
 * 1 / the share of work the windows saw in that block. A phased load (redis-benchmark's
 * SET, then GET, ...) meets a different duty in each phase (the feedback follows each
 * phase's cost), so one scale for the whole run would weigh the phases by their duty
 * instead of their work. A block's share comes from a server's read calls in and
 * out of windows (see share_by_reads), or else from the timer's own-work samples in and
 * out of windows (bpf/ticks.bpf.c), less what the timer's own interrupts cost
 * (calibrated: 13% of a thread's time at 10 kHz in this VM); the process's CPU clock
 * moves in whole scheduler ticks (4 ms at HZ=250), too coarse to split a block's
 * windows of a few ms. The level is the run's share (k: share_by_samples below, from
 * the clock): the samples' own time in windows is time, and probes slow the work
 * around them (nginx did 36% less work per own second in windows than out), which the
 * clock's split, for reasons not pinned down, comes closer to on the servers
 * (bench/README.md). A block closes once its share is known within about 10%; until
 * then its sightings count at the run's rate. */
struct at_win_weight {
	__u64 seen;	/* allocations seen so far */
	__u64 pending;	/* of those, in the open block */
	__u64 gen;	/* blocks of its process closed when it last counted */
	double w;	/* the closed blocks' sightings, each weighed by 1 / its share */
};

/* Own time (ns) in and out of windows, from samples: the timer's interrupts removed. */
struct own_time {
	double on, off;
	__u64 n_on, n_off;
};

enum work_src { SRC_SAMPLES, SRC_READS };

struct win_proc {
	struct at_work_split split;	/* from the sampler */
	enum work_src src;	/* what the blocks' shares are counted in */
	struct own_time mark[2];	/* as the open block began, in either unit (enum work_src) */
	struct own_time cur;	/* at this refresh */
	struct own_time samples;	/* the samples' own time when last read */
	__u64 gen;		/* blocks closed */
	bool closed_now;	/* one closed at this refresh */
	double closed_share;	/* the last closed block's share */
	double open_share;	/* the open block's, 0 while too few samples say it */
	double run_share;	/* the whole run's, likewise */
	struct at_life_est life;
};

static struct win_proc *win_proc(struct at_model *m, int pid)
{
	struct win_proc *w = at_hash_get(&m->win_procs, (__u64)pid, 0);

	if (!w) {
		w = at_xcalloc(1, sizeof(*w));
		at_hash_put(&m->win_procs, (__u64)pid, 0, w);
	}
	return w;
}

void at_model_set_max_overhead(struct at_model *m, double pct)
{
	m->max_overhead = pct;
}

double at_model_max_overhead(const struct at_model *m)
{
	return m->max_overhead;
}

void at_model_window_open(struct at_model *m, __u64 ns)
{
	at_windows_open(&m->wins, ns);
}

void at_model_window_on(struct at_model *m, __u64 ns)
{
	at_windows_on(&m->wins, ns);
}

void at_model_window_off(struct at_model *m, __u64 ns)
{
	at_windows_off(&m->wins, ns);
}

void at_model_set_work_split(struct at_model *m, int pid, const struct at_work_split *ws)
{
	win_proc(m, pid)->split = *ws;
}

static int on_gap(void *ctx, void *data, size_t len)
{
	struct at_model *m = ctx;
	const struct at_gap_event *e = data;
	struct at_life_interval iv;
	struct at_life_est *l;

	if (len < sizeof(*e))
		return 0;
	l = &win_proc(m, (int)e->pid)->life;
	at_censor(&m->wins, e->birth_ns, e->kind == AT_GAP_REUSED ? AT_FATE_REUSED : AT_FATE_FREED, e->event_ns, &iv);
	if (e->kind == AT_GAP_REUSED)
		l->reused++;
	else
		l->interval++;
	l->lo_ns_sum += (double)iv.lo_ns;
	l->hi_ns_sum += (double)iv.hi_ns;
	return 0;
}

/* Drains the gap events and sets each process's lifetime figures. */
void at_model_window_refresh(struct at_model *m, struct at_snapshot *s)
{
	if (!m->max_overhead)
		return;
	if (!m->gap_rb)
		m->gap_rb = ring_buffer__new(m->fds.gaps, on_gap, m, NULL);
	if (m->gap_rb)
		ring_buffer__consume(m->gap_rb);
	for (size_t i = 0; i < s->nr_procs; i++) {
		struct at_proc_view *p = &s->procs[i];
		const struct win_proc *w = at_hash_get(&m->win_procs, (__u64)p->pid, 0);

		if (w)
			p->life = w->life;
		p->life.open = p->s.live_allocs;
		/* frees whose block was born in their own window: exact lifetimes */
		p->life.exact = p->s.frees > p->life.interval ? p->s.frees - p->life.interval : 0;
	}
	m->gaps_lost = m->fds.gaps_lost ? *m->fds.gaps_lost : 0;
}

/* The own time the samples in u stand for: the process's work outside the allocator's
 * text, on both sides (in windows a trap resumes there). In windows both timers
 * interrupt the process (the slow one's samples are dropped there), out of them the
 * slow one alone; each interrupt costs sample_ns of its time that is no work of its
 * own. */
static struct own_time own_time(const struct at_ticks *u, double sample_ns)
{
	double f_on = 1 - sample_ns / AT_TICK_ON_NS - sample_ns / AT_TICK_OFF_NS, f_off = 1 - sample_ns / AT_TICK_OFF_NS;

	return (struct own_time){ .on = (double)u->on_n * AT_TICK_ON_NS * fmax(f_on, 0.05),
				  .off = (double)u->off_n * AT_TICK_OFF_NS * fmax(f_off, 0.05), .n_on = u->on_n,
				  .n_off = u->off_n };
}

/* The share of work the windows saw between a and b, and the square of its relative
 * error (binomial counts each side); 0 with too few samples in windows. */
static double block_share(const struct own_time *a, const struct own_time *b, double *err2)
{
	__u64 n_on = b->n_on - a->n_on, n_off = b->n_off - a->n_off;
	double on = b->on - a->on, off = b->off - a->off, s;

	*err2 = 1;
	if (n_on < AT_MIN_TICKS || on + off <= 0)
		return 0;
	s = on / (on + off);
	*err2 = (1 - s) * (1 - s) * (1.0 / (double)n_on + (n_off ? 1.0 / (double)n_off : 0));
	return s;
}

/* At each refresh, before its sites: closes pid's open block once its share is known,
 * counted in t[src]. Blocks begin in both units at once, so that a process that turns
 * out to be a server (enough calls) goes on from the block its samples had open. */
static void window_block(struct win_proc *w, const struct own_time t[2], enum work_src src)
{
	static const struct own_time zero;
	double err2, s;

	w->src = src;
	w->cur = t[src];
	w->run_share = block_share(&zero, &t[src], &err2);
	s = block_share(&w->mark[src], &t[src], &err2);
	w->closed_now = s > 0 && err2 <= AT_BLOCK_ERR;
	if (w->closed_now) {
		w->closed_share = s;
		w->gen++;
		w->mark[SRC_SAMPLES] = t[SRC_SAMPLES];
		w->mark[SRC_READS] = t[SRC_READS];
		s = 0;
	}
	w->open_share = s;
}

/* The share of pid's work the probes saw, at most the share of time (probes never make
 * a process do more work a second; one that waits for requests does as much in windows
 * as out, a busy one less). Allocations follow work, not time: a busy target runs
 * faster while unprobed. A server's work is its requests, and its read calls follow
 * them one for one whatever the probes cost it (redis: the request's read; nginx: the
 * file's), its allocations right behind: where a process makes many reads
 * (AT_READS_PER_CPU_S), the share of them made in windows is the share of work. Not
 * writes: redis writes its replies in a batch before it sleeps, apart from the
 * allocations, and a window holds a few hundred microseconds of its work (a handful
 * of requests, slowed tenfold), so reads and writes read its allocations per request
 * 31 to 54% high (four runs of SET) where reads alone came within 1%. Otherwise from
 * samples: own time in windows over all of it (what the probes cost is measured, not modelled: samples in
 * their paths are not own time), though probes slow the work around them too; with
 * few samples, from its CPU time in and out of windows less the probes' modelled cost;
 * with little of that, the share of time. All go to the reports. */
static double share_by_reads(const struct win_proc *w)
{
	const struct at_work_split *x = &w->split;
	double cpu = x->cpu_on + x->cpu_off, n = (double)(x->reads_on + x->reads_off);

	if (!x->reads_known || x->reads_on < AT_MIN_READS || cpu <= 0 || n < AT_READS_PER_CPU_S * cpu)
		return 0;
	return (double)x->reads_on / n;
}

/* Read calls as the unit of work: one each. */
static struct own_time reads_time(const struct win_proc *w)
{
	return (struct own_time){ .on = (double)w->split.reads_on, .off = (double)w->split.reads_off,
				  .n_on = w->split.reads_on, .n_off = w->split.reads_off };
}

static double share_by_samples(const struct win_proc *w, const struct at_ticks *u)
{
	double on, off;

	if (u->on_all < AT_MIN_TICKS || u->off_all < AT_MIN_TICKS || !u->on_n || !u->off_n)
		return 0;
	on = w->split.cpu_on * u->on_n / u->on_all;
	off = w->split.cpu_off * u->off_n / u->off_all;
	return on + off > 0 ? on / (on + off) : 0;
}

static double share_by_cpu(struct at_model *m, const struct win_proc *w, int pid)
{
	double own_on;

	if (!w || w->split.cpu_on + w->split.cpu_off < AT_MIN_CPU_S)
		return 0;
	own_on = w->split.cpu_on - at_model_probe_ns_of(m, pid) / 1e9;
	return own_on > 0 && own_on + w->split.cpu_off > 0 ? own_on / (own_on + w->split.cpu_off) : 0;
}

double at_model_window_share(struct at_model *m, struct at_proc_view *p, double duty)
{
	struct win_proc *w = win_proc(m, p->pid);
	struct at_ticks u = {};
	struct own_time t[2];
	bool ticks = at_ticks__read(at_tracer__ticks(m->tracer), p->pid, &u);

	if (ticks) {
		at_debug("pid %d: own samples %llu of %llu in windows, %llu of %llu out; CPU %.1f ms in, %.1f ms out; "
			 "read calls %llu in, %llu out; duty %.4f", p->pid, (unsigned long long)u.on_n,
			 (unsigned long long)u.on_all, (unsigned long long)u.off_n, (unsigned long long)u.off_all,
			 w->split.cpu_on * 1e3, w->split.cpu_off * 1e3, (unsigned long long)w->split.reads_on,
			 (unsigned long long)w->split.reads_off, duty);
		p->share_samples[0] = u.on_n;
		p->share_samples[1] = u.off_n;
	}
	p->share_reads[0] = w->split.reads_on;
	p->share_reads[1] = w->split.reads_off;
	p->share_by_reads = fmin(share_by_reads(w), duty);
	p->share_by_samples = fmin(share_by_samples(w, &u), duty);
	p->share_by_cpu = fmin(share_by_cpu(m, w, p->pid), duty);
	p->share_by_time = duty;
	t[SRC_READS] = reads_time(w);
	if (ticks)	/* else unchanged: blocks go on in what the samples last said */
		w->samples = own_time(&u, m->cost.sample_ns);
	t[SRC_SAMPLES] = w->samples;
	if (p->share_by_reads > 0) {
		window_block(w, t, SRC_READS);
		p->share_from = "reads";
		return p->share_by_reads;
	}
	if (ticks)
		window_block(w, t, SRC_SAMPLES);
	p->share_from = p->share_by_samples > 0 ? "samples" : p->share_by_cpu > 0 ? "cpu-time" : "time";
	return p->share_by_samples > 0 ? p->share_by_samples : p->share_by_cpu > 0 ? p->share_by_cpu : duty;
}

double at_model_window_weight(struct at_model *m, int pid, __u64 key, __u64 seen, double k)
{
	struct at_win_weight *x = at_hash_get(&m->win_sites, (__u64)pid, key);
	struct win_proc *w = win_proc(m, pid);
	double all, open;

	if (!x) {	/* what it saw by now is this refresh's, so in a block closed now */
		x = at_xcalloc(1, sizeof(*x));
		x->gen = w->gen - (w->closed_now ? 1 : 0);
		at_hash_put(&m->win_sites, (__u64)pid, key, x);
	}
	if (seen > x->seen) {
		x->pending += seen - x->seen;
		x->seen = seen;
	}
	if (x->gen != w->gen) {
		x->w += (double)x->pending / w->closed_share;
		x->pending = 0;
		x->gen = w->gen;
	}
	if (!x->seen || w->cur.on <= 0 || w->run_share <= 0)
		return k;
	/* the open block at its own share once samples say it, else at the run's rate of
	 * sightings per own time in windows (a block without windows, as when the duty
	 * sits at its floor, holds work the probes never saw); the whole relative to the
	 * run's, at k */
	all = (w->cur.on - w->mark[w->src].on) + (w->cur.off - w->mark[w->src].off);
	open = w->open_share > 0 ? x->pending / w->open_share : (double)x->seen / w->cur.on * all;
	return (x->w + open) / (double)x->seen * w->run_share * k;
}

void at_model_window_forget(struct at_model *m, const int *pids, int n)
{
	for (int i = 0; i < n; i++) {
		free(at_hash_del(&m->win_procs, (__u64)pids[i], 0));
		at_hash_free_k1(&m->win_sites, (__u64)pids[i]);
	}
}

void at_model_window__fini(struct at_model *m)
{
	ring_buffer__free(m->gap_rb);
	m->gap_rb = NULL;
	at_windows_free(&m->wins);
	at_hash_free_all(&m->win_procs);
	at_hash_free_all(&m->win_sites);
}
