#include "app/session.h"
#include "app/sizing.h"
#include "app/sampling.h"
#include "app/targets.h"
#include "model/model.h"
#include "report/report.h"
#include "export/export.h"
#include "report/record.h"
#include "app/replay.h"
#include "symbolize/symbolize.h"
#include "kernel/probecost.h"
#include "kernel/tracer.h"
#include "ui/ui.h"
#include "lib/util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct at_session {
	const struct at_opts *o;
	struct at_tracer *tracer;
	struct at_model *model;
	struct at_symbolizer *sym;
	struct at_targets *targets;	/* attach, exec, exit, forget */
	struct at_sampler *smp;		/* --max-overhead: every probe on only in windows */
	int sfd, tfd;
	long reports;
	double last_report;
	struct at_ui *ui;
	struct at_export *x;		/* --listen, pushes, --agent's log */
	struct at_recorder *rec;	/* --record */
	bool ov_warned;			/* the probes' cost was said to be high, once */
	sigset_t start_mask;		/* what alloctop was started with, for a launched command */
	bool pipe_ignored;
};

static int setup_fds(struct at_session *s)
{
	struct sigaction pipe_act;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, &s->start_mask);
	sigaction(SIGPIPE, NULL, &pipe_act);
	s->pipe_ignored = pipe_act.sa_handler == SIG_IGN;
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

/* Batch outputs: text and JSON show fragmentation and leak suspects; folded stacks
 * and pprof profiles only counters. */
static bool needs_heap(const struct at_opts *o)
{
	return o->output == AT_OUT_TEXT || o->output == AT_OUT_JSON || o->listen;	/* /metrics too */
}

/* What the outputs will show, for the model to read and symbolize when it refreshes:
 * the dashboard and the profiles (folded, pprof) every site, text and JSON the top
 * sites and leak suspects. */
static void set_needs(struct at_model *m, const struct at_opts *o)
{
	struct at_model_needs *n = at_model_needs(m);

	n->prev_sites = o->output == AT_OUT_TUI;	/* the dashboard's rates */
	n->all_sites = o->output == AT_OUT_TUI || o->output == AT_OUT_PPROF || o->pprof_out || at_export_wanted(o) ||
			o->record;	/* a recording holds every site */
	n->lives = o->output == AT_OUT_TUI;	/* any row's MEDLIFE, the baseline's at z */
	n->top = o->output == AT_OUT_TEXT || o->output == AT_OUT_JSON ? (size_t)o->top : 0;
	n->sort = o->sort;
	n->growth = o->growth;
	n->growth_calls = o->growth_calls;
	n->from_start = o->cmd != NULL;	/* launched: every block is seen */
	/* profiles (folded, pprof) show no peak; the other outputs and recordings do */
	n->peak = (o->output != AT_OUT_FOLDED && o->output != AT_OUT_PPROF) || o->record;
	n->per = (const char *const *)o->per;
	n->nr_per = o->nr_per;
}

/* Refreshes the model and emits one report; -1 if the output is gone. */
static int report(struct at_session *s, bool final)
{
	struct at_report_ctx c = { .model = s->model, .opts = s->o, .final = final };
	double now = at_now_mono();
	int err;

	at_targets__update(s->targets);
	at_tracer__refresh(s->tracer);
	at_tracer__growth_refresh(s->tracer);
	if (s->smp) {
		at_sampler__before_work(s->smp);
		at_sampler__flush(s->smp);
		at_model_set_duty(s->model, at_sampler__duty(s->smp, now));
	}
	at_model_needs(s->model)->heap = (s->ui && at_ui_wants_heap(s->ui)) || needs_heap(s->o);
	/* folded stacks print once, at the end */
	at_model_needs(s->model)->all_sites |= final && s->o->output == AT_OUT_FOLDED;
	err = at_model_refresh(s->model, final);
	if (err) {
		at_err("reading the kernel maps failed: %s", strerror(-err));
		return -1;
	}
	if (!s->ui && !s->o->max_overhead)	/* the dashboard shows it; a bound holds it */
		s->ov_warned |= at_model_overhead_warn(s->model, s->ov_warned);
	c.interval_s = now - s->last_report;
	s->last_report = now;
	s->reports++;
	if (s->o->pprof_out && at_report_pprof(s->o->pprof_out, &c))
		return -1;
	if (s->x)	/* the same refresh as the report below */
		at_export__refresh(s->x, &c);
	if (s->rec && at_recorder_write(s->rec, &c))
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
	case AT_OUT_NONE:
		return 0;	/* --agent: exports and log lines only */
	default:
		return at_report_text(stdout, &c);
	}
}

static bool handle_signals(struct at_session *s, bool *final)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			at_targets__child(s->targets);
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
	int n = 0, ui_idx = -1, smp_idx = -1, nr_pidfd;

	pfd[n++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = s->tfd, .events = POLLIN };
	if (s->smp) {
		smp_idx = n;
		pfd[n++] = (struct pollfd){ .fd = at_sampler__fd(s->smp), .events = POLLIN };
	}
	if (s->ui) {
		ui_idx = n;
		pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	}
	nr_pidfd = at_targets__poll_fds(s->targets, pfd + n);
	if (poll(pfd, n + nr_pidfd, -1) < 0 && errno != EINTR)
		return false;
	if (pfd[0].revents && !handle_signals(s, final))
		return false;
	if (at_targets__polled(s->targets, pfd + n)) {
		*final = true;
		return false;
	}
	if (smp_idx >= 0 && pfd[smp_idx].revents) {
		__u64 ticks;

		if (read(at_sampler__fd(s->smp), &ticks, sizeof(ticks)) > 0)
			at_sampler__switch(s->smp);
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
		if (s->smp && !last)
			at_sampler__tick(s->smp);
		if (last)
			return false;
	}
	return true;
}

static void announce(struct at_session *s, bool tui)
{
	const char *what = s->o->growth ? " for memory growth (page faults, brk, mmap; no allocator probes)" : "";
	int n = 0;

	for (int i = 0; i < at_model_nr_targets(s->model); i++)
		n += !at_model_target_at(s->model, i)->gone;
	if (at_targets__mode(s->targets) == AT_MODE_CENSUS)
		fprintf(stderr, "alloctop: attached system-wide%s (%d processes so far); %s; %s\n", what, n,
			s->o->growth ? "growth" : s->o->max_overhead ? "estimates" : "exact counts",
			tui ? "q quits" : "Ctrl-C stops");
	else
		fprintf(stderr, "alloctop: attached to %d process%s%s%s; %s\n", n, n == 1 ? "" : "es",
			at_targets__mode(s->targets) == AT_MODE_FOLLOW ? " and their children" : "", what,
			tui ? "q quits" : "Ctrl-C stops");
}

static void cleanup(struct at_session *s)
{
	at_export__free(s->x);	/* first: its threads read nothing of the rest, but stop now */
	at_ui__free(s->ui);
	at_recorder_close(s->rec);
	at_targets__free(s->targets);
	at_symbolizer__free(s->sym);
	at_model__free(s->model);
	at_tracer__free(s->tracer);
	at_sampler__free(s->smp);
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->tfd >= 0)
		close(s->tfd);
}

/* The model over the tracer's maps, priced with the measured probe costs, with the
 * symbolizer it names the shown sites with; non-zero (said) on failure. */
static int open_model(struct at_session *s)
{
	const struct at_opts *o = s->o;
	int err = at_model__new(s->tracer, &s->model);

	if (err) {
		at_err("cannot map the BPF site maps: %s", strerror(-err));
		return err;
	}
	if (!o->growth) {	/* growth mode attaches no uprobe: nothing to price */
		struct at_probe_cost cost;

		if ((err = at_probe_cost_get(&cost)))
			return err;
		at_model_set_probe_cost(s->model, &cost);
	}
	at_model_set_min_age(s->model, o->min_age);
	at_model_set_max_overhead(s->model, o->max_overhead);
	s->sym = at_symbolizer__new(at_tracer__elfcache(s->tracer));
	at_model_set_symbolizer(s->model, s->sym);
	set_needs(s->model, o);
	return 0;
}

int at_session_run(const struct at_opts *o)
{
	struct at_session s = { .o = o, .sfd = -1, .tfd = -1 };
	enum at_mode mode = at_mode_of(o);
	struct at_tracer_opts topts = {
		.sz = sizeof(topts), .max_live = o->max_live, .max_stacks = o->max_stacks, .max_procs = o->max_procs,
		.lib = o->lib, .global = at_mode_file_probes(mode), .follow = mode == AT_MODE_FOLLOW, .comm = o->comm,
		.exclude = o->exclude, .nr_exclude = o->nr_exclude, .sampling = o->max_overhead > 0,
		.unwind_fp = o->unwind_fp, .stack_depth = o->stack_depth, .unwind_rows = o->unwind_rows,
		.bpf_stats = o->bpf_stats, .growth = o->growth,
		.growth_calls = o->growth_calls, .launch = mode == AT_MODE_LAUNCH, .per = o->per, .nr_per = o->nr_per,
	};
	bool final = false;
	int rc = AT_EXIT_OK;

	at_verbose = o->verbose;
	if (o->replay)
		return at_replay_run(o);
	/* signals go to the event loop before anything is loaded: a Ctrl-C while starting
	 * then ends the session cleanly instead of killing it */
	if (setup_fds(&s))
		return AT_EXIT_FAIL;
	at_size_for_targets(o, &topts);
	topts.pre = at_targets__compile_ahead(o);	/* while the programs load */
	/* a port in use or a bad address fails before anything is loaded */
	if (at_export_wanted(o) && !(s.x = at_export__new(o))) {
		cleanup(&s);
		return AT_EXIT_FAIL;
	}
	s.tracer = at_tracer__new(&topts);
	if (!s.tracer) {
		cleanup(&s);
		return AT_EXIT_FAIL;
	}
	if (open_model(&s)) {
		cleanup(&s);
		return AT_EXIT_FAIL;
	}
	{
		struct at_targets_opts to = { .sz = sizeof(to), .o = o, .tracer = s.tracer, .model = s.model,
					      .sym = s.sym, .start_mask = &s.start_mask,
					      .pipe_ignored = s.pipe_ignored };

		s.targets = at_targets__new(&to);
	}
	if (arm_timer(&s, o->interval) || (o->record && !(s.rec = at_recorder_open(o->record))))
		rc = AT_EXIT_FAIL;
	if (!rc)
		rc = at_targets__attach(s.targets);
	if (!rc) {
		s.last_report = at_now_mono();
		at_model_set_start(s.model, s.last_report);
		if (o->max_overhead) {
			struct at_sampler_opts so = { .sz = sizeof(so), .tracer = s.tracer, .model = s.model,
						      .max_overhead = o->max_overhead, .interval = o->interval,
						      .many = at_mode_file_probes(at_mode_of(o)) };

			s.smp = at_sampler__new(&so);
		}
		announce(&s, o->output == AT_OUT_TUI);
		if (o->max_overhead)
			fprintf(stderr, "alloctop: estimates: every probe attached only in windows, under --max-overhead "
				"%g%%%s\n", o->max_overhead, o->overhead_default ? " (a census's default; --exact for exact "
				"counts)" : "");
		at_targets__note(s.targets);
	}
	if (!rc && o->output == AT_OUT_TUI && !(s.ui = at_ui__new(o)))
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
