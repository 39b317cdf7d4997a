#include "app/sampling.h"
#include "binary/procmaps.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define AT_MIN_DUTY 0.01

struct at_sampler {
	struct at_sampler_opts o;
	struct at_model *m;
	int tfd;		/* ends the on-window */
	bool on;
	double started, on_since, on_total, period_start, on_in_period, cpu_mark;
	__u64 allocs_mark, frees_mark;
};

/* CPU seconds the live targets have used, from /proc/PID/stat. */
static double targets_cpu(struct at_sampler *s)
{
	double sum = 0, c;

	for (int i = 0; i < at_model_nr_targets(s->m); i++) {
		if (at_model_target_at(s->m, i)->exited || at_model_target_at(s->m, i)->gone)
			continue;
		if ((c = at_proc_cpu_s(at_model_target_at(s->m, i)->pid)) > 0)
			sum += c;
	}
	return sum;
}

void at_sampler__window_end(struct at_sampler *s)
{
	double now;

	if (!s->on)
		return;
	at_tracer__sample(s->o.tracer, false);
	now = at_now_mono();	/* the probes were live until the detach completed */
	s->on_total += now - s->on_since;
	s->on_in_period += now - s->on_since;
	s->on = false;
}

/* Picks the next on-share of the interval from what the last one cost: d * allocs/s *
 * cost + frees/s * cost must stay under PCT% of the targets' CPU time, the costs per
 * call from the cost model measured on this machine. */
static double next_duty(struct at_sampler *s, double now)
{
	double period = now - s->period_start, cpu = targets_cpu(s);
	double dcpu = cpu - s->cpu_mark, a, f, budget, d, a_ns, f_ns;
	__u64 allocs, frees;

	if (period <= 0 || s->on_in_period <= 0)
		return AT_MIN_DUTY;
	at_model_raw_counts(s->m, &allocs, &frees);
	a = (allocs - s->allocs_mark) / s->on_in_period;
	f = (frees - s->frees_mark) / period;
	budget = s->o.max_overhead / 100 * dcpu / period * 1e9;
	at_model_call_costs(s->m, &a_ns, &f_ns);
	d = a > 0 ? (budget - f * f_ns) / (a * a_ns) : 1;
	s->cpu_mark = cpu;
	return d < AT_MIN_DUTY ? AT_MIN_DUTY : d > 1 ? 1 : d;
}

void at_sampler__tick(struct at_sampler *s)
{
	double now = at_now_mono(), d = next_duty(s, now);
	struct itimerspec its = {};

	at_model_raw_counts(s->m, &s->allocs_mark, &s->frees_mark);
	s->period_start = now;
	s->on_in_period = 0;
	if (!s->on) {
		s->on_since = at_now_mono();	/* from the first probe attached */
		s->on = at_tracer__sample(s->o.tracer, true) == 0;
	}
	at_debug("--max-overhead: allocation probes on %.1f%% of the next interval", d * 100);
	if (d < 1) {
		its.it_value.tv_sec = (time_t)(d * s->o.interval);
		its.it_value.tv_nsec = (long)((d * s->o.interval - its.it_value.tv_sec) * 1e9) + 1;
		timerfd_settime(s->tfd, 0, &its, NULL);
	}
}

struct at_sampler *at_sampler__new(const struct at_sampler_opts *opts)
{
	struct at_sampler *s = at_xcalloc(1, sizeof(*s));

	memcpy(&s->o, opts, opts->sz < sizeof(s->o) ? opts->sz : sizeof(s->o));
	s->m = s->o.model;
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	s->started = s->on_since = s->period_start = at_now_mono();
	s->on = true;	/* attach put every probe in */
	s->cpu_mark = targets_cpu(s);
	s->on_in_period = 0;
	{
		/* a short first window until there is something to measure */
		struct itimerspec its = { .it_value = { 0, (long)(AT_MIN_DUTY * 10 * s->o.interval * 1e9) } };

		timerfd_settime(s->tfd, 0, &its, NULL);
	}
	return s;
}

int at_sampler__fd(const struct at_sampler *s)
{
	return s->tfd;
}

double at_sampler__duty(const struct at_sampler *s, double now)
{
	double on = s->on_total + (s->on ? now - s->on_since : 0), d;

	d = now > s->started ? on / (now - s->started) : 1;
	return d > 1 ? 1 : d;
}

void at_sampler__free(struct at_sampler *s)
{
	if (!s)
		return;
	if (s->tfd >= 0)
		close(s->tfd);
	free(s);
}
