#include "app/sampling.h"
#include "kernel/ticks.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define AT_MIN_DUTY 0.001	/* a 5x-slowed target at 1% needs 0.25%: leave room below */
#define AT_CYCLE_S 0.12		/* mean window + gap (60 to 180 ms), jittered by +-50% */
#define AT_MIN_ON_S 0.001	/* shortest window proper, after the attach */
#define AT_FIRST_ON_S 0.05	/* the first window, before anything was measured */

/* A target's CPU time and its read system calls, split by whether the probes were on
 * while it ran. A server's reads follow its requests whatever the probes cost it, where
 * its CPU time does not (model/model_window.c). */
struct cpu_split {
	clockid_t clk;
	bool ok;
	double last, on, off;
	int io_fd;		/* /proc/PID/io, -1 if unreadable or gone */
	bool io_known;		/* it was readable: the counts stand after it is gone */
	__u64 io_last, io_on, io_off;
	bool io_seen;		/* io_last is set */
	bool io_pre;		/* read before the gate moved */
	bool reader;		/* reads often enough to be counted at each switch */
	__u64 io_flush;		/* its reads at the last report, counted or not */
	double cpu_flush;	/* and its CPU time then */
	__u64 pass;		/* the sampler's pass that last found it listed */
};

static void cpu_split_free(void *v)
{
	struct cpu_split *c = v;

	if (c && c->io_fd >= 0)
		close(c->io_fd);
	free(c);
}

/* syscr of /proc/PID/io (read, pread, readv, sendfile: not recv), read through an open
 * descriptor, closed once the process is gone (a census is not told of every exit): false
 * then. */
static bool read_io(struct cpu_split *c, __u64 *n)
{
	char buf[512], *r;
	ssize_t len = c->io_fd >= 0 ? pread(c->io_fd, buf, sizeof(buf) - 1, 0) : -1;

	if (len <= 0) {
		if (c->io_fd >= 0)
			close(c->io_fd);
		c->io_fd = -1;
		return false;
	}
	buf[len] = 0;
	r = strstr(buf, "syscr:");
	if (!r)
		return false;
	*n = strtoull(r + 6, NULL, 10);
	return true;
}

/* Charges the calls since the last reading (n) to one side. */
static void charge_io(struct cpu_split *c, __u64 n, bool on)
{
	if (c->io_seen && n >= c->io_last)
		*(on ? &c->io_on : &c->io_off) += n - c->io_last;
	c->io_last = n;
	c->io_seen = true;
}

static struct cpu_split *cpu_split_new(int pid)
{
	struct cpu_split *c = at_xcalloc(1, sizeof(*c));
	char path[64];

	c->ok = !clock_getcpuclockid(pid, &c->clk);
	c->last = -1;
	snprintf(path, sizeof(path), "/proc/%d/io", pid);
	c->io_fd = open(path, O_RDONLY | O_CLOEXEC);
	c->io_known = c->io_seen = read_io(c, &c->io_last);
	c->io_flush = c->io_last;
	c->reader = true;	/* until its first report says otherwise */
	return c;
}

struct at_sampler {
	struct at_sampler_opts o;
	struct at_model *m;
	int tfd;		/* the next switch */
	bool on;
	double d;		/* duty for the windows to come */
	double attach_s;	/* how long a window's attach takes (moving average) */
	double exposed_s;	/* how much of it the targets pay: from the first link in */
	double started, on_since, on_total, period_start, on_in_period, cpu_mark, cpu_on_mark;
	__u64 allocs_mark, frees_mark, rng;
	__u64 pass;		/* split_cpu's passes over the targets */
	struct at_hash cpu;	/* pid -> struct cpu_split */
};

static double now_ns(void)
{
	return at_now_mono() * 1e9;
}

/* Uniform in [0.5, 1.5): windows that do not alias with periodic work. */
static double jitter(struct at_sampler *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return 0.5 + (double)(s->rng >> 11) / (double)(1ULL << 53);
}

static bool marked_now(const struct at_hash_ent *e, void *s)
{
	return ((const struct cpu_split *)e->val)->pass == ((const struct at_sampler *)s)->pass;
}

static void split_free(const struct at_hash_ent *e, void *ctx)
{
	(void)ctx;
	cpu_split_free(e->val);
}

/* Targets this pass did not mark (gone and reported, or no longer listed, as a census
 * forgets them): their splits go, and their /proc/PID/io with them; the model keeps
 * their last split. */
static void drop_unlisted(struct at_sampler *s)
{
	at_hash_drop_if(&s->cpu, marked_now, split_free, s);
}

/* Charges each live target's CPU time since the last switch to the state that ends. */
static void split_cpu(struct at_sampler *s)
{
	s->pass++;
	for (int i = 0; i < at_model_nr_targets(s->m); i++) {
		const struct at_target *t = at_model_target_at(s->m, i);
		struct cpu_split *c = at_hash_get(&s->cpu, (__u64)t->pid, 0);
		struct timespec ts;
		double v;

		if (t->exited || t->gone) {
			/* a launched command's CPU time as it exited, since the last switch */
			if (c && c->ok && c->last >= 0 && (v = at_model_exit_cpu(s->m, t->pid)) > c->last)
				*(s->on ? &c->on : &c->off) += v - c->last;
			if (c && !t->gone) {	/* a gone one is reported: drop_unlisted frees its split */
				c->ok = false;
				c->pass = s->pass;
			}
			continue;
		}
		if (!c) {
			c = cpu_split_new(t->pid);
			at_hash_put(&s->cpu, (__u64)t->pid, 0, c);
		}
		c->pass = s->pass;
		if (!c->ok || clock_gettime(c->clk, &ts))
			continue;
		v = ts.tv_sec + ts.tv_nsec / 1e9;
		if (c->last >= 0 && v >= c->last)
			*(s->on ? &c->on : &c->off) += v - c->last;
		c->last = v;
	}
	drop_unlisted(s);
}

/* The targets' CPU time so far, and the part of it in windows. */
static double targets_cpu(struct at_sampler *s, double *on)
{
	struct at_hash_ent *e;
	double sum = 0;

	*on = 0;
	at_hash_for_each(&s->cpu, e) {
		const struct cpu_split *c = e->val;

		sum += c->on + c->off;
		*on += c->on;
	}
	return sum;
}

static void arm(struct at_sampler *s, double secs)
{
	struct itimerspec its = {};

	its.it_value.tv_sec = (time_t)secs;
	its.it_value.tv_nsec = (long)((secs - (double)its.it_value.tv_sec) * 1e9) + 1;
	timerfd_settime(s->tfd, 0, &its, NULL);
}

/* The next window and the gap after it: a jittered cycle whose share d is the probes'
 * exposure. Most of an attach (a grace period before the first breakpoint goes in, see
 * kernel/links.c) costs the targets nothing; from the first link in to the end (free
 * side first, allocation entries last) counts in full. Short windows (down to
 * AT_MIN_ON_S) keep the cycle short, so a phase of a few seconds holds many of them; the
 * cycle stretches only where even that would exceed d. */
static void lengths(struct at_sampler *s, double *on, double *off)
{
	double cycle = AT_CYCLE_S * jitter(s);
	double least = s->exposed_s + AT_MIN_ON_S;

	if (cycle * s->d < least)
		cycle = least / s->d * jitter(s);
	*on = fmax(cycle * s->d - s->exposed_s, AT_MIN_ON_S);
	*off = cycle - *on - s->attach_s;
	if (*off < 0)
		*off = 0;
}

/* Opens (on) or closes the gate the probes count behind, reading each target's calls on
 * both sides of it: those made between the two readings count half to each side. The
 * gate and the readings sit together because windows are short: a window in which redis
 * makes a few requests (slowed tenfold) is a few hundred microseconds of its work, and
 * reading the calls 50 us off the gate (at the end of the attach) read redis's
 * allocations per call 40% high. */
static void gate(struct at_sampler *s, bool on)
{
	struct at_hash_ent *e;
	__u64 n;

	at_hash_for_each(&s->cpu, e) {
		struct cpu_split *c = e->val;

		/* one that hardly reads is not measured by its reads: a census's others cost
		 * nothing here, where the probes are in and counting has not begun. Not "did
		 * not run": another process's CPU clock moves in scheduler ticks (4 ms), and
		 * skipping the reads of a window the clock missed charged them to the gap
		 * (nginx's allocations per request +21%) */
		c->io_pre = c->reader && read_io(c, &n);
		if (c->io_pre)
			charge_io(c, n, !on);
	}
	at_tracer__gate(s->o.tracer, on);
	at_hash_for_each(&s->cpu, e) {
		struct cpu_split *c = e->val;
		__u64 before = c->io_last;

		if (!c->io_pre || !read_io(c, &n) || n < before)
			continue;
		c->io_on += (n - before) / 2;
		c->io_off += n - before - (n - before) / 2;
		c->io_last = n;
	}
}

static void window_off(struct at_sampler *s)
{
	double now = now_ns();

	split_cpu(s);
	gate(s, false);
	at_ticks__window(at_tracer__ticks(s->o.tracer), false);
	at_model_window_off(s->m, (__u64)now);	/* frees surely seen until here */
	at_tracer__sample(s->o.tracer, false, NULL);
	at_debug("window off: closing handed off in %.2f ms", (now_ns() - now) / 1e6);
	s->on_total += now / 1e9 - s->on_since;
	s->on_in_period += now / 1e9 - s->on_since;
	s->on = false;
}

static void window_on(struct at_sampler *s)
{
	__u64 open = (__u64)now_ns(), on;
	double exposed = 0;

	/* blocks born from here on are this window's (bpf/alloc.bpf.c) */
	at_ticks__window_start(at_tracer__ticks(s->o.tracer), open);
	at_model_window_open(s->m, open);
	at_tracer__sample(s->o.tracer, true, &exposed);
	on = (__u64)now_ns();
	s->attach_s = s->attach_s ? 0.8 * s->attach_s + 0.2 * (on - open) / 1e9 : (on - open) / 1e9;
	s->exposed_s = s->exposed_s ? 0.8 * s->exposed_s + 0.2 * exposed : exposed;
	/* the attach (milliseconds) counts as off: allocation entries come in last */
	split_cpu(s);
	gate(s, true);
	at_ticks__window(at_tracer__ticks(s->o.tracer), true);
	s->on = true;
	s->on_since = on / 1e9;
	at_model_window_on(s->m, on);
	at_debug("window on: %zu links attached in %.2f ms", at_tracer__nr_links(s->o.tracer), (now_ns() - open) / 1e6);
}

void at_sampler__switch(struct at_sampler *s)
{
	double on, off;

	if (s->on && s->d >= 1)
		return;
	lengths(s, &on, &off);
	if (s->on) {
		window_off(s);
		arm(s, off);
	} else {
		window_on(s);
		if (s->d < 1)
			arm(s, on);
	}
}

void at_sampler__before_work(struct at_sampler *s)
{
	if (s->on && s->d < 1)
		at_sampler__switch(s);
}

/* The feedback loop: while on, the probes cost (allocs x alloc cost + frees x free
 * cost + the window timer's samples) per second of window, the costs measured on this
 * machine; the targets' own
 * work is their CPU time less that. The next duty keeps the cost under PCT% of the own
 * work, and rises at most twofold an interval (a burst then meets a small duty). */
static double next_duty(struct at_sampler *s, double now)
{
	double cpu_on, period = now - s->period_start, cpu = targets_cpu(s, &cpu_on), dcpu = cpu - s->cpu_mark;
	double don = cpu_on - s->cpu_on_mark, a_ns, f_ns, c_ns, cost_ns, fixed_ns, own, d;
	__u64 allocs, frees;

	s->cpu_mark = cpu;
	s->cpu_on_mark = cpu_on;
	if (period <= 0 || s->on_in_period <= 0)
		return s->d;
	at_model_raw_counts(s->m, &allocs, &frees);
	at_model_call_costs(s->m, &a_ns, &f_ns);
	cost_ns = (allocs - s->allocs_mark) * a_ns + (frees - s->frees_mark) * f_ns;
	/* the window timer's interrupts cost the targets too (kernel/probecost.c); the
	 * always-on timer's are a fixed part of the budget, whatever the duty */
	c_ns = at_model_probe_cost(s->m)->sample_ns;
	cost_ns += don > 0 ? c_ns * don * 1e9 / AT_TICK_ON_NS : 0;
	fixed_ns = c_ns * dcpu * 1e9 / AT_TICK_OFF_NS;
	/* the probes cost at most the CPU time the targets spent in windows: a model that
	 * prices them higher (redis: about 1.25x) would leave no own work, and the duty
	 * would collapse to its floor */
	if (don > 0 && cost_ns > don * 1e9)
		cost_ns = don * 1e9;
	if (cost_ns <= 0)
		return fmin(1, 2 * s->d);
	/* ns of own work per second; at least a tenth of the CPU time: probes always on
	 * (d = 1) leave no CPU time outside windows, and a model pricing them at all of it
	 * would send the duty to its floor for seconds (phases then go unseen) */
	own = fmax(dcpu * 1e9 - cost_ns, 0.1 * dcpu * 1e9) / period;
	d = (s->o.max_overhead / 100 * own - fixed_ns / period) / (cost_ns / s->on_in_period);
	d = fmin(d, 2 * s->d);
	return d < AT_MIN_DUTY ? AT_MIN_DUTY : d > 1 ? 1 : d;
}

/* At a report: charges a reader's calls since the last switch, and, among many targets,
 * decides from the last interval whether it is one (half the model's rate): the others'
 * reads, not counted, cost nothing at the switches. Every process starts as one, so a
 * server is counted from its first window; one that becomes one again is counted from
 * here on, what it read between left out, and its sightings from before are weighed by
 * the later reads' share (redis attached idle, then loaded: 0 to 13% high in three runs
 * when -p demoted too, so -p and a command never demote). */
static void report_io(struct cpu_split *c, __u64 n, bool on, bool many)
{
	double cpu = c->on + c->off, dcpu = cpu - c->cpu_flush;
	bool reader = !many || (dcpu > 0 ? (double)(n - c->io_flush) >= AT_READS_PER_CPU_S / 2.0 * dcpu : c->reader);

	if (c->reader)
		charge_io(c, n, on);
	else if (reader)
		c->io_last = n;
	c->reader = reader;
	c->io_flush = n;
	c->cpu_flush = cpu;
}

void at_sampler__flush(struct at_sampler *s)
{
	struct at_hash_ent *e;

	split_cpu(s);
	at_hash_for_each(&s->cpu, e) {
		struct cpu_split *c = e->val;
		__u64 n;

		if (read_io(c, &n))
			report_io(c, n, s->on, s->o.many);
		struct at_work_split w = { .cpu_on = c->on, .cpu_off = c->off, .reads_on = c->io_on,
					   .reads_off = c->io_off, .reads_known = c->io_known };

		at_model_set_work_split(s->m, (int)e->k1, &w);
	}
}

void at_sampler__tick(struct at_sampler *s)
{
	double now = at_now_mono(), d;

	if (s->on) {	/* the window so far counts in this period */
		s->on_in_period += now - s->on_since;
		s->on_total += now - s->on_since;
		s->on_since = now;
	}
	d = next_duty(s, now);
	at_model_raw_counts(s->m, &s->allocs_mark, &s->frees_mark);
	s->period_start = now;
	s->on_in_period = 0;
	at_debug("--max-overhead: probes on %.2f%% of the time next", d * 100);
	if (s->d >= 1 && d < 1 && s->on) {	/* was always on: start switching */
		s->d = d;
		arm(s, AT_MIN_ON_S);
	} else if (s->d < 1 && d >= 1 && !s->on) {
		s->d = d;
		window_on(s);
	}
	s->d = d;
}

struct at_sampler *at_sampler__new(const struct at_sampler_opts *opts)
{
	struct at_sampler *s = at_xcalloc(1, sizeof(*s));

	memcpy(&s->o, opts, opts->sz < sizeof(s->o) ? opts->sz : sizeof(s->o));
	s->m = s->o.model;
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	s->started = s->on_since = s->period_start = at_now_mono();
	s->rng = (__u64)(s->started * 1e9) | 1;
	s->d = AT_MIN_DUTY * 10;
	s->on = true;	/* attach put every probe in: the first window, open since boot */
	at_ticks__window_start(at_tracer__ticks(s->o.tracer), 1);
	at_model_window_open(s->m, 1);
	at_model_window_on(s->m, (__u64)now_ns());
	split_cpu(s);
	arm(s, fmin(AT_FIRST_ON_S, s->o.interval / 4));
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
	struct at_hash_ent *e;

	if (!s)
		return;
	if (s->tfd >= 0)
		close(s->tfd);
	at_hash_for_each(&s->cpu, e)
		cpu_split_free(e->val);
	at_hash_clear(&s->cpu);
	free(s);
}
