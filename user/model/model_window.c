/* --max-overhead in the model: the windows, each target's CPU time in and out of them
 * (the share of its work the probes saw), and the lifetimes of blocks followed across
 * the gaps between windows (bpf/alloc.bpf.c's gap events, bounded by model/censor.c). */
#include "model/model_int.h"
#include "kernel/ticks.h"
#include "lib/util.h"

#include <bpf/libbpf.h>
#include <math.h>
#include <stdlib.h>

/* Below this much CPU time in and out of windows, the share of time is the better
 * guess of the share of work seen. */
#define AT_MIN_CPU_S 0.02
#define AT_MIN_TICKS 20		/* user-mode samples each side: below, the CPU split */

/* Horvitz-Thompson weighting: each interval's sightings count 1 / that interval's duty.
 * A phased load (redis-benchmark's SET, then GET, ...) meets a different duty in each
 * phase (the feedback follows each phase's cost), so one scale for the whole run would
 * weigh the phases by their duty instead of their work. */
struct at_win_weight {
	__u64 seen;	/* allocations seen so far */
	double w;	/* the same, each weighed by 1 / the duty of its interval */
};

struct win_proc {
	double cpu_on, cpu_off;	/* seconds, from the sampler */
	double cpu_mark;	/* cpu_on + cpu_off at the last refresh */
	double duty_cpu, cpu;	/* sum of each interval's duty x its CPU time; that CPU time */
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

void at_model_set_cpu_split(struct at_model *m, int pid, double on_s, double off_s)
{
	struct win_proc *w = win_proc(m, pid);

	w->cpu_on = on_s;
	w->cpu_off = off_s;
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

/* The share of pid's work the probes saw, at most the share of time (probes never make
 * a process do more work a second; one that waits for requests does as much in windows
 * as out, a busy one less). Allocations follow work, not time: a busy target runs
 * faster while unprobed. From samples: each side's CPU time (its clock) times its share
 * of own-work samples (kernel/ticks.h: what the probes cost is measured, not modelled);
 * with few samples, from its CPU time in and out of windows less the probes' modelled
 * cost; with little of that, the share of time. All three go to the reports. */
static double share_by_samples(const struct win_proc *w, const struct at_user_time *u)
{
	double on, off;

	if (!w || u->on_all < AT_MIN_TICKS || u->off_all < AT_MIN_TICKS || !u->on_n || !u->off_n)
		return 0;
	on = w->cpu_on * u->on_n / u->on_all;
	off = w->cpu_off * u->off_n / u->off_all;
	return on + off > 0 ? on / (on + off) : 0;
}

static double share_by_cpu(struct at_model *m, const struct win_proc *w, int pid)
{
	double own_on;

	if (!w || w->cpu_on + w->cpu_off < AT_MIN_CPU_S)
		return 0;
	own_on = w->cpu_on - at_model_probe_ns_of(m, pid) / 1e9;
	return own_on > 0 && own_on + w->cpu_off > 0 ? own_on / (own_on + w->cpu_off) : 0;
}

double at_model_window_share(struct at_model *m, struct at_proc_view *p, double duty)
{
	const struct win_proc *w = at_hash_get(&m->win_procs, (__u64)p->pid, 0);
	struct at_user_time u = {};

	if (at_ticks__read(at_tracer__ticks(m->tracer), p->pid, &u)) {
		at_debug("pid %d: own samples %llu of %llu in windows, %llu of %llu out; CPU %.1f ms in, %.1f ms out; "
			 "duty %.4f", p->pid, (unsigned long long)u.on_n, (unsigned long long)u.on_all,
			 (unsigned long long)u.off_n, (unsigned long long)u.off_all, w ? w->cpu_on * 1e3 : -1,
			 w ? w->cpu_off * 1e3 : -1, duty);
		p->share_samples[0] = u.on_n;
		p->share_samples[1] = u.off_n;
	}
	p->share_by_samples = fmin(share_by_samples(w, &u), duty);
	p->share_by_cpu = fmin(share_by_cpu(m, w, p->pid), duty);
	p->share_by_time = duty;
	p->share_from = p->share_by_samples > 0 ? "samples" : p->share_by_cpu > 0 ? "cpu-time" : "time";
	return p->share_by_samples > 0 ? p->share_by_samples : p->share_by_cpu > 0 ? p->share_by_cpu : duty;
}

void at_model_set_window_times(struct at_model *m, double on_s, double total_s)
{
	m->win_on_s = on_s;
	m->win_total_s = total_s;
}

double at_model_window_interval_duty(struct at_model *m)
{
	double dt = m->win_total_s - m->win_prev_total_s, d = m->duty;

	if (dt > 0) {
		d = (m->win_on_s - m->win_prev_on_s) / dt;
		m->win_prev_on_s = m->win_on_s;
		m->win_prev_total_s = m->win_total_s;
	}
	return d < 1e-4 ? 1e-4 : d > 1 ? 1 : d;
}

double at_model_window_work_duty(struct at_model *m, int pid, double duty_i)
{
	struct win_proc *w = win_proc(m, pid);
	double dc = w->cpu_on + w->cpu_off - w->cpu_mark;

	if (dc > 0) {
		w->duty_cpu += duty_i * dc;
		w->cpu += dc;
		w->cpu_mark += dc;
	}
	return w->cpu > 0 ? w->duty_cpu / w->cpu : m->duty;
}

double at_model_window_weight(struct at_model *m, int pid, __u64 key, __u64 seen, double duty_i, double duty_w,
			      double k)
{
	struct at_win_weight *x = at_hash_get(&m->win_sites, (__u64)pid, key);

	if (!x) {
		x = at_xcalloc(1, sizeof(*x));
		at_hash_put(&m->win_sites, (__u64)pid, key, x);
	}
	/* an interval's duty is at least an eighth of the run's: sightings in an interval
	 * whose windows were nearly all cut off (a window open across the refresh) would
	 * otherwise weigh thousands of times their number */
	duty_i = fmax(duty_i, duty_w / 8);
	if (seen > x->seen) {
		x->w += (double)(seen - x->seen) / duty_i;
		x->seen = seen;
	}
	/* with one duty all along, w / seen = 1 / duty: k unchanged */
	return x->seen && duty_w > 0 ? x->w / (double)x->seen * duty_w * k : k;
}

void at_model_window__fini(struct at_model *m)
{
	ring_buffer__free(m->gap_rb);
	m->gap_rb = NULL;
	at_windows_free(&m->wins);
	at_hash_free_all(&m->win_procs);
	at_hash_free_all(&m->win_sites);
}
