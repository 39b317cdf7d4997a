#include "session.h"
#include "census.h"
#include "launch.h"
#include "model.h"
#include "report.h"
#include "symbolize.h"
#include "tracer.h"
#include "ui.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define AT_MAX_EXITS 4096	/* exits handled per refresh */
#define AT_MAX_EXECS 4096	/* execs handled per refresh */

enum at_mode {
	AT_MODE_PIDS,		/* -p: probes per PID */
	AT_MODE_LAUNCH,		/* -- CMD: probes for the child's PID */
	AT_MODE_CENSUS,		/* no target: probes on every allocator file */
	AT_MODE_FOLLOW,		/* --follow: file probes, only the followed tree counts */
};

struct at_session {
	const struct at_opts *o;
	enum at_mode mode;
	struct at_tracer *tracer;
	struct at_model model;
	struct at_symbolizer *sym;
	struct at_census census;
	struct at_launch launch;
	bool launched;
	int sfd, tfd;
	int pidfd[AT_MAX_TARGETS];	/* -p targets, or the launched command in [0] */
	int nr_pidfd;
	int *dropped;			/* census: exited, reported once, to forget next */
	int nr_dropped;
	int *replan;			/* exec'd, their new program not probed yet */
	int nr_replan;
	long reports;
	double last_report;
	struct at_ui *ui;
	struct {			/* --max-overhead: allocation probes on part of each interval */
		int tfd;		/* ends the on-window */
		bool on;
		double started, on_since, on_total, period_start, on_in_period, cpu_mark;
		__u64 allocs_mark, frees_mark;
	} smp;
};

/* Costs per probed call behind the duty cycle, as measured on this machine kind
 * (bench/README.md: exact mode 3860 ns/pair, free side alone about 1260): an allocation
 * is an entry and a return probe, a free one entry. */
#define AT_COST_ALLOC_NS 2600.0
#define AT_COST_FREE_NS 1260.0
#define AT_MIN_DUTY 0.01

static bool file_probes(const struct at_session *s)
{
	return s->mode == AT_MODE_CENSUS || s->mode == AT_MODE_FOLLOW;
}

static int attach_one_pid(struct at_session *s, int pid)
{
	int err;

	if (file_probes(s)) {
		err = at_tracer__follow(s->tracer, pid);
		if (!err)
			err = at_tracer__attach_global(s->tracer, pid, false);
	} else {
		err = at_tracer__attach_pid(s->tracer, pid);
	}
	if (!err) {
		at_tracer__seed_proc(s->tracer, pid);	/* listed even if it never allocates */
		at_model_add_target(&s->model, pid);
		/* a -p target's files are loaded once all probes are in (see note_targets); its
		 * maps are read now, before it can exec away from them */
		if (s->mode != AT_MODE_PIDS)
			at_symbolizer_note_pid(s->sym, pid);
		else
			at_symbolizer_note_maps(s->sym, pid);
	}
	return err;
}

/* Loading a -p target's files for symbolization waits until its probes are live: the
 * `attached` line comes that much sooner. */
static void note_targets(struct at_session *s)
{
	for (int i = 0; i < s->o->nr_pids && s->mode == AT_MODE_PIDS; i++)
		at_symbolizer_load_files(s->sym, s->o->pids[i]);
}

static int try_attach(void *ctx, int pid)
{
	return attach_one_pid(ctx, pid);
}

/* Launch mode sees every exec of its command at the exec stop, before the new program
 * runs: the last moment the symbolizer's maps are still all the old program's. */
static void exec_seen(void *ctx, int pid)
{
	struct at_session *s = ctx;

	at_symbolizer_exec(s->sym, pid);
}

/* Probes for the program a traced process exec'd (it keeps its pid and entry). */
static int attach_exec(void *ctx, int pid)
{
	struct at_session *s = ctx;

	return file_probes(s) ? at_tracer__attach_global(s->tracer, pid, true) : at_tracer__replan_pid(s->tracer, pid);
}

static void exiting(void *ctx, int pid)
{
	struct at_session *s = ctx;

	at_symbolizer_note_pid(s->sym, pid);
}

/* The process a thread belongs to (Tgid in /proc/ID/status), or -1. */
static int thread_group(int tid)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (at_read_small(path, buf, sizeof(buf)) || !(p = strstr(buf, "\nTgid:")))
		return -1;
	return atoi(p + 6);
}

static int attach_pids(struct at_session *s)
{
	for (int i = 0; i < s->o->nr_pids; i++) {
		int pid = s->o->pids[i], err;

		if (pid == getpid()) {
			at_err("-p %d is alloctop itself: give the PID of another process", pid);
			return AT_EXIT_FAIL;
		}
		s->pidfd[s->nr_pidfd] = syscall(SYS_pidfd_open, pid, 0);
		if (s->pidfd[s->nr_pidfd] < 0) {
			int tgid = thread_group(pid);

			if (tgid > 0 && tgid != pid)
				at_err("%d is a thread of process %d: give -p %d", pid, tgid, tgid);
			else
				at_err("no process with PID %d (%s): check the PID, e.g. with pgrep", pid, strerror(errno));
			return AT_EXIT_FAIL;
		}
		s->nr_pidfd++;
		err = attach_one_pid(s, pid);
		if (err == -EAGAIN)
			at_err("process %d maps no allocator alloctop can probe (no malloc/free in it or its "
			       "libraries): use --lib PATH", pid);
		if (err)
			return AT_EXIT_FAIL;
	}
	return 0;
}

static int attach_targets(struct at_session *s)
{
	if (s->mode == AT_MODE_CENSUS) {
		at_census_scan(&s->census, s->tracer, &s->model);
		return 0;
	}
	if (s->o->cmd) {
		struct at_launch_ops ops = { .try_attach = try_attach, .exec_seen = exec_seen,
					     .exec_attach = attach_exec, .exiting = exiting, .ctx = s };
		int rc = at_launch_start(&s->launch, s->o->cmd, &ops);

		if (rc)
			return rc;
		s->launched = true;
		s->pidfd[s->nr_pidfd++] = syscall(SYS_pidfd_open, s->launch.pid, 0);
		return 0;
	}
	return attach_pids(s);
}

static int setup_fds(struct at_session *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a closed stdout shows up as a write error */
	s->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->sfd < 0 || s->tfd < 0) {
		at_err("cannot create signal or timer descriptors: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int arm_timer(struct at_session *s, double interval)
{
	struct itimerspec its = {};

	its.it_value.tv_sec = (time_t)interval;
	its.it_value.tv_nsec = (long)((interval - (time_t)interval) * 1e9);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	its.it_interval = its.it_value;
	return timerfd_settime(s->tfd, 0, &its, NULL);
}

/* Processes reported once as exited in a census: drop their counters now. */
static void forget_dropped(struct at_session *s)
{
	if (!s->nr_dropped)
		return;	/* s->dropped may be NULL: qsort must not see it */
	at_tracer__forget(s->tracer, s->dropped, s->nr_dropped, true);
	qsort(s->dropped, s->nr_dropped, sizeof(int), at_int_cmp);
	at_model_forget_sites(&s->model, s->dropped, s->nr_dropped);
	for (int i = 0; i < s->nr_dropped; i++) {
		at_model_drop_target(&s->model, s->dropped[i]);
		at_census_forget(&s->census, s->dropped[i]);
		at_symbolizer_forget_pid(s->sym, s->dropped[i]);	/* the pid may come back */
	}
	s->nr_dropped = 0;
}

/* Re-plans the processes whose new program had no allocator mapped yet, or was just
 * exec'd; keeps those that still have none. */
static void replan_execs(struct at_session *s)
{
	int k = 0;

	for (int i = 0; i < s->nr_replan; i++) {
		int pid = s->replan[i], err = attach_exec(s, pid);

		if (err == -EAGAIN)
			s->replan[k++] = pid;
		else if (!err)
			at_debug("process %d exec'd: probes moved to its new program", pid);
		else if (s->mode != AT_MODE_CENSUS && !kill(pid, 0))	/* a census skips quietly */
			at_warn("process %d exec'd a program alloctop cannot probe (%s): it is no longer traced", pid,
				strerror(-err));
	}
	s->nr_replan = k;
}

/* Execs the kernel saw: the old program's blocks and mappings leave the live figures,
 * the new program gets its name, its probes and its symbols. (Launch mode probed it
 * already, at its exec stop: re-planning it again finds nothing to change.) */
static void handle_execs(struct at_session *s)
{
	static struct at_exec_rec info[AT_MAX_EXECS];
	int pids[AT_MAX_EXECS], n = at_tracer__drain_execs(s->tracer, pids, info, AT_MAX_EXECS);
	int err = at_tracer__drop_old_images(s->tracer, pids, info, n);

	if (err)
		at_warn("cannot drop the blocks of programs replaced by exec: %s", strerror(-err));
	for (int i = 0; i < n; i++) {
		struct at_target *t = at_model_target(&s->model, pids[i]);
		bool pending = false;

		if (t)
			memcpy(t->comm, info[i].comm, sizeof(t->comm));
		if (!s->launched || pids[i] != s->launch.pid)	/* else done by exec_seen */
			at_symbolizer_exec(s->sym, pids[i]);
		for (int j = 0; j < s->nr_replan; j++)
			pending |= s->replan[j] == pids[i];
		if (!pending) {
			s->replan = at_xrealloc(s->replan, s->nr_replan + 1, sizeof(int));
			s->replan[s->nr_replan++] = pids[i];
		}
	}
	replan_execs(s);
}

/* Exits the kernel saw: mark them; free their kernel state. Census drops them from the
 * listing after this report; -p and launch keep their final numbers. */
static void handle_exits(struct at_session *s)
{
	static struct at_exit_rec info[AT_MAX_EXITS];
	int pids[AT_MAX_EXITS], n = at_tracer__drain_exited(s->tracer, pids, info, AT_MAX_EXITS);

	forget_dropped(s);
	for (int i = 0; i < n; i++) {
		struct at_target *t = at_model_add_target(&s->model, pids[i]);

		t->exited = true;
		if (!strcmp(t->comm, "?"))
			memcpy(t->comm, info[i].comm, sizeof(t->comm));
		if (s->mode == AT_MODE_CENSUS || (s->mode == AT_MODE_FOLLOW && !t)) {
			s->dropped = at_xrealloc(s->dropped, s->nr_dropped + 1, sizeof(int));
			s->dropped[s->nr_dropped++] = pids[i];
		}
	}
	at_tracer__forget(s->tracer, pids, n, false);
}

/* CPU seconds the live targets have used, from /proc/PID/stat. */
static double targets_cpu(struct at_session *s)
{
	double ticks = sysconf(_SC_CLK_TCK), sum = 0;

	for (int i = 0; i < s->model.nr_targets; i++) {
		unsigned long long ut, st;
		char path[64], buf[1024], *p;

		if (s->model.targets[i]->exited || s->model.targets[i]->gone)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", s->model.targets[i]->pid);
		if (at_read_small(path, buf, sizeof(buf)) || !(p = strrchr(buf, ')')))
			continue;
		/* after the comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt
		 * cmajflt utime stime */
		if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
			sum += (ut + st) / ticks;
	}
	return sum;
}

static void sampling_window_end(struct at_session *s)
{
	double now;

	if (!s->smp.on)
		return;
	at_tracer__sample(s->tracer, false);
	now = at_now_mono();	/* the probes were live until the detach completed */
	s->smp.on_total += now - s->smp.on_since;
	s->smp.on_in_period += now - s->smp.on_since;
	s->smp.on = false;
}

/* Picks the next on-share of the interval from what the last one cost: d * allocs/s *
 * cost + frees/s * cost must stay under PCT% of the targets' CPU time. */
static double next_duty(struct at_session *s, double now)
{
	double period = now - s->smp.period_start, cpu = targets_cpu(s);
	double dcpu = cpu - s->smp.cpu_mark, a, f, budget, d;

	if (period <= 0 || s->smp.on_in_period <= 0)
		return AT_MIN_DUTY;
	a = (s->model.raw_allocs - s->smp.allocs_mark) / s->smp.on_in_period;
	f = (s->model.raw_frees - s->smp.frees_mark) / period;
	budget = s->o->max_overhead / 100 * dcpu / period * 1e9;
	d = a > 0 ? (budget - f * AT_COST_FREE_NS) / (a * AT_COST_ALLOC_NS) : 1;
	s->smp.cpu_mark = cpu;
	return d < AT_MIN_DUTY ? AT_MIN_DUTY : d > 1 ? 1 : d;
}

/* At each report: close the interval's books and open the next on-window. */
static void sampling_tick(struct at_session *s)
{
	double now = at_now_mono(), d = next_duty(s, now);
	struct itimerspec its = {};

	s->smp.allocs_mark = s->model.raw_allocs;
	s->smp.frees_mark = s->model.raw_frees;
	s->smp.period_start = now;
	s->smp.on_in_period = 0;
	if (!s->smp.on) {
		s->smp.on_since = at_now_mono();	/* from the first probe attached */
		s->smp.on = at_tracer__sample(s->tracer, true) == 0;
	}
	at_debug("--max-overhead: allocation probes on %.1f%% of the next interval", d * 100);
	if (d < 1) {
		its.it_value.tv_sec = (time_t)(d * s->o->interval);
		its.it_value.tv_nsec = (long)((d * s->o->interval - its.it_value.tv_sec) * 1e9) + 1;
		timerfd_settime(s->smp.tfd, 0, &its, NULL);
	}
}

static void sampling_start(struct at_session *s)
{
	s->smp.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	s->smp.started = s->smp.on_since = s->smp.period_start = at_now_mono();
	s->smp.on = true;	/* attach put every probe in */
	s->smp.cpu_mark = targets_cpu(s);
	s->smp.on_in_period = 0;
	{
		/* a short first window until there is something to measure */
		struct itimerspec its = { .it_value = { 0, (long)(AT_MIN_DUTY * 10 * s->o->interval * 1e9) } };

		timerfd_settime(s->smp.tfd, 0, &its, NULL);
	}
}

/* Batch outputs: text and JSON show fragmentation and leak suspects; folded stacks
 * and pprof profiles only counters. */
static bool needs_heap(const struct at_opts *o)
{
	return o->output == AT_OUT_TEXT || o->output == AT_OUT_JSON;
}

/* Refreshes the model and emits one report; -1 if the output is gone. */
static int report(struct at_session *s, bool final)
{
	struct at_report_ctx c = { .model = &s->model, .sym = s->sym, .opts = s->o, .final = final };
	double now = at_now_mono();
	int err;

	if (file_probes(s))
		at_census_scan(&s->census, s->tracer, &s->model);
	handle_execs(s);	/* before exits: a process that exec'd, then exited, ends with its last image */
	handle_exits(s);
	at_tracer__unwind_refresh(s->tracer);
	if (s->o->max_overhead) {
		double on = s->smp.on_total + (s->smp.on ? now - s->smp.on_since : 0);

		s->model.duty = now > s->smp.started ? on / (now - s->smp.started) : 1;
		if (s->model.duty > 1)
			s->model.duty = 1;
	}
	s->model.needs.heap = s->ui ? at_ui_wants_heap(s->ui) : needs_heap(s->o);
	err = at_model_refresh(&s->model, final);
	if (err) {
		at_err("reading the kernel maps failed: %s", strerror(-err));
		return -1;
	}
	c.interval_s = now - s->last_report;
	s->last_report = now;
	s->reports++;
	if (s->o->pprof_out && at_report_pprof(s->o->pprof_out, &c))
		return -1;
	if (s->ui)
		return at_ui_draw(s->ui, &c);
	switch (s->o->output) {
	case AT_OUT_JSON:
		return at_report_json(stdout, &c);
	case AT_OUT_FOLDED:
		return at_report_folded(stdout, &c);
	case AT_OUT_PPROF:
		return 0;	/* the --pprof-out file only */
	default:
		return at_report_text(stdout, &c);
	}
}

static void pidfd_exited(struct at_session *s, int i)
{
	int pid = s->o->cmd ? s->launch.pid : s->o->pids[i];
	struct at_target *t = at_model_target(&s->model, pid);

	if (t)
		t->exited = true;
	close(s->pidfd[i]);
	s->pidfd[i] = -1;
	at_tracer__detach_pid(s->tracer, pid);
}

/* -p and launch end when their processes are gone; with --follow, the whole tree. */
static bool all_exited(struct at_session *s)
{
	int pids[1];

	if (s->mode == AT_MODE_CENSUS)
		return false;
	for (int i = 0; i < s->nr_pidfd; i++)
		if (s->pidfd[i] >= 0)
			return false;
	return s->mode != AT_MODE_FOLLOW || at_tracer__followed(s->tracer, pids, 1) == 0;
}

static bool handle_signals(struct at_session *s, bool *final)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			if (s->launched)
				at_launch_poll(&s->launch);
		} else if (si.ssi_signo == SIGWINCH) {
			if (s->ui)
				at_ui_resize(s->ui);
		} else {
			*final = true;
			return false;
		}
	}
	return true;
}

/* Waits for the next event; returns false when the session should end. */
static bool step(struct at_session *s, bool *final)
{
	struct pollfd pfd[4 + AT_MAX_TARGETS];
	int n = 0, ui_idx = -1, smp_idx = -1;

	pfd[n++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = s->tfd, .events = POLLIN };
	if (s->o->max_overhead) {
		smp_idx = n;
		pfd[n++] = (struct pollfd){ .fd = s->smp.tfd, .events = POLLIN };
	}
	if (s->ui) {
		ui_idx = n;
		pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	}
	for (int i = 0; i < s->nr_pidfd; i++)
		pfd[n + i] = (struct pollfd){ .fd = s->pidfd[i], .events = POLLIN };
	if (poll(pfd, n + s->nr_pidfd, -1) < 0 && errno != EINTR)
		return false;
	if (pfd[0].revents && !handle_signals(s, final))
		return false;
	for (int i = 0; i < s->nr_pidfd; i++)
		if (pfd[n + i].revents && s->pidfd[i] >= 0)
			pidfd_exited(s, i);
	if (all_exited(s)) {
		*final = true;
		return false;
	}
	if (smp_idx >= 0 && pfd[smp_idx].revents) {
		__u64 ticks;

		if (read(s->smp.tfd, &ticks, sizeof(ticks)) > 0)
			sampling_window_end(s);
	}
	if (ui_idx >= 0 && pfd[ui_idx].revents) {
		enum at_ui_action a = at_ui_key(s->ui);

		if (a == AT_UI_QUIT)
			return false;
		if ((a == AT_UI_INTERVAL || a == AT_UI_REDRAW) && arm_timer(s, at_ui_interval(s->ui)))
			return false;
		if (a == AT_UI_REDRAW && report(s, false))
			return false;
	}
	if (pfd[1].revents) {
		__u64 ticks;

		if (read(s->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			return false;
		if (s->ui && at_ui_paused(s->ui))
			return true;
		/* with -n, the last report is the final one */
		bool last = s->o->count && s->reports + 1 >= s->o->count;

		if (report(s, last))
			return false;	/* stdout closed: stop quietly */
		if (s->o->max_overhead && !last)
			sampling_tick(s);
		if (last)
			return false;
	}
	return true;
}

static enum at_mode pick_mode(const struct at_opts *o)
{
	if (o->follow)
		return AT_MODE_FOLLOW;
	if (o->cmd)
		return AT_MODE_LAUNCH;
	return o->nr_pids ? AT_MODE_PIDS : AT_MODE_CENSUS;
}

static void announce(struct at_session *s, bool tui)
{
	int n = 0;

	for (int i = 0; i < s->model.nr_targets; i++)
		n += !s->model.targets[i]->gone;
	if (s->mode == AT_MODE_CENSUS)
		fprintf(stderr, "alloctop: attached system-wide (%d processes so far); %s\n", n,
			tui ? "q quits" : "Ctrl-C stops");
	else
		fprintf(stderr, "alloctop: attached to %d process%s%s; %s\n", n, n == 1 ? "" : "es",
			s->mode == AT_MODE_FOLLOW ? " and their children" : "", tui ? "q quits" : "Ctrl-C stops");
}

static void cleanup(struct at_session *s)
{
	at_ui_free(s->ui);
	for (int i = 0; i < s->nr_pidfd; i++)
		if (s->pidfd[i] >= 0)
			close(s->pidfd[i]);
	if (s->launched && s->launch.exited && WIFEXITED(s->launch.status) && WEXITSTATUS(s->launch.status))
		at_warn("the command exited with status %d", WEXITSTATUS(s->launch.status));
	if (s->launched && s->launch.exited && WIFSIGNALED(s->launch.status))
		at_warn("the command was killed by signal %d (%s)", WTERMSIG(s->launch.status),
			strsignal(WTERMSIG(s->launch.status)));
	at_census_fini(&s->census);
	at_symbolizer_free(s->sym);
	at_model_fini(&s->model);
	at_tracer__free(s->tracer);
	free(s->dropped);
	free(s->replan);
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->tfd >= 0)
		close(s->tfd);
	if (s->smp.tfd >= 0)
		close(s->smp.tfd);
}

int at_session_run(const struct at_opts *o)
{
	struct at_session s = { .o = o, .sfd = -1, .tfd = -1, .mode = pick_mode(o), .smp.tfd = -1 };
	struct at_tracer_opts topts = {
		.sz = sizeof(topts), .max_live = o->max_live, .max_stacks = o->max_stacks, .max_procs = o->max_procs,
		.lib = o->lib, .global = file_probes(&s), .follow = s.mode == AT_MODE_FOLLOW, .comm = o->comm,
		.exclude = o->exclude, .nr_exclude = o->nr_exclude, .sampling = o->max_overhead > 0,
		.unwind_fp = o->unwind_fp, .stack_depth = o->stack_depth, .unwind_rows = o->unwind_rows,
		.bpf_stats = o->bpf_stats, .pids = o->pids, .nr_pids = s.mode == AT_MODE_PIDS ? o->nr_pids : 0,
	};
	bool final = false;
	int rc = AT_EXIT_OK;

	at_verbose = o->verbose;
	s.census.follow = s.mode == AT_MODE_FOLLOW;
	/* signals go to the event loop before anything is loaded: a Ctrl-C while starting
	 * then ends the session cleanly instead of killing it */
	if (setup_fds(&s))
		return AT_EXIT_FAIL;
	s.tracer = at_tracer__new(&topts);
	if (!s.tracer) {
		cleanup(&s);
		return AT_EXIT_FAIL;
	}
	if ((rc = at_model_init(&s.model, s.tracer))) {
		at_err("cannot map the BPF site maps: %s", strerror(-rc));
		cleanup(&s);
		return AT_EXIT_FAIL;
	}
	s.model.min_age_ns = (__u64)(o->min_age * 1e9);
	s.model.needs.prev_sites = o->output == AT_OUT_TUI;	/* the dashboard's rates */
	s.sym = at_symbolizer_new(at_tracer__elfcache(s.tracer));
	if (arm_timer(&s, o->interval))
		rc = AT_EXIT_FAIL;
	if (!rc)
		rc = attach_targets(&s);
	if (!rc) {
		s.model.start_mono = s.last_report = at_now_mono();
		if (o->max_overhead)
			sampling_start(&s);
		announce(&s, o->output == AT_OUT_TUI);
		note_targets(&s);
	}
	if (!rc && o->output == AT_OUT_TUI && !(s.ui = at_ui_new(o)))
		rc = AT_EXIT_FAIL;
	if (!rc) {
		while (step(&s, &final))
			;
		if (final && !s.ui)
			report(&s, true);
	}
	cleanup(&s);
	return rc;
}
