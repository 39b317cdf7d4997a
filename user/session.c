#include "session.h"
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

struct at_session {
	const struct at_opts *o;
	struct at_tracer *tracer;
	struct at_model model;
	struct at_symbolizer *sym;
	struct at_launch launch;
	bool launched;
	int sfd, tfd;
	int pidfd[AT_MAX_TARGETS];
	long reports;
	double last_report;
	double interval;
	struct at_ui *ui;
};

static int try_attach(void *ctx, int pid)
{
	struct at_session *s = ctx;
	int err = at_tracer__attach_pid(s->tracer, pid);

	if (!err)
		at_model_add_target(&s->model, pid);
	return err;
}

static void exiting(void *ctx, int pid)
{
	struct at_session *s = ctx;

	at_symbolizer_note_pid(s->sym, pid);
}

static int attach_targets(struct at_session *s)
{
	const struct at_opts *o = s->o;

	if (o->cmd) {
		struct at_launch_ops ops = { .try_attach = try_attach, .exiting = exiting, .ctx = s };
		int rc = at_launch_start(&s->launch, o->cmd, &ops);

		if (rc)
			return rc;
		s->launched = true;
		s->pidfd[0] = syscall(SYS_pidfd_open, s->launch.pid, 0);
		at_symbolizer_note_pid(s->sym, s->launch.pid);
		return 0;
	}
	for (int i = 0; i < o->nr_pids; i++) {
		int pid = o->pids[i], err;

		if (pid == getpid()) {
			at_err("-p %d is alloctop itself: give the PID of another process", pid);
			return AT_EXIT_FAIL;
		}
		s->pidfd[i] = syscall(SYS_pidfd_open, pid, 0);
		if (s->pidfd[i] < 0) {
			at_err("no process with PID %d (%s): check the PID, e.g. with pgrep", pid, strerror(errno));
			return AT_EXIT_FAIL;
		}
		err = at_tracer__attach_pid(s->tracer, pid);
		if (err == -EAGAIN)
			at_err("process %d maps no allocator alloctop can probe (no malloc/free in it or its "
			       "libraries): use --lib PATH", pid);
		if (err)
			return AT_EXIT_FAIL;
		at_model_add_target(&s->model, pid);
		at_symbolizer_note_pid(s->sym, pid);
	}
	return 0;
}

static int setup_fds(struct at_session *s)
{
	sigset_t mask;
	struct itimerspec its = {};

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
	its.it_value.tv_sec = (time_t)s->interval;
	its.it_value.tv_nsec = (long)((s->interval - (time_t)s->interval) * 1e9);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	its.it_interval = its.it_value;
	return timerfd_settime(s->tfd, 0, &its, NULL);
}

/* Refreshes the model and emits one report; -1 if the output is gone. */
static int report(struct at_session *s, bool final)
{
	struct at_report_ctx c = { .model = &s->model, .sym = s->sym, .opts = s->o, .final = final };
	double now = at_now_mono();
	int err;

	err = at_model_refresh(&s->model);
	if (err) {
		at_err("reading the kernel maps failed: %s", strerror(-err));
		return -1;
	}
	c.interval_s = now - s->last_report;
	s->last_report = now;
	s->reports++;
	if (s->ui)
		return at_ui_draw(s->ui, &c);
	return s->o->output == AT_OUT_JSON ? at_report_json(stdout, &c) : at_report_text(stdout, &c);
}

static void target_exited(struct at_session *s, int i)
{
	int pid = s->model.targets[i].pid;

	s->model.targets[i].exited = true;
	close(s->pidfd[i]);
	s->pidfd[i] = -1;
	at_tracer__detach_pid(s->tracer, pid);
}

static bool all_exited(struct at_session *s)
{
	for (int i = 0; i < s->model.nr_targets; i++)
		if (!s->model.targets[i].exited)
			return false;
	return s->model.nr_targets > 0;
}

/* Waits for the next event; returns false when the session should end. */
static bool step(struct at_session *s, bool *final)
{
	struct pollfd pfd[2 + AT_MAX_TARGETS];
	int n = 0, nt = s->model.nr_targets;

	pfd[n++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = s->tfd, .events = POLLIN };
	if (s->ui)
		pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	for (int i = 0; i < nt; i++)
		pfd[n + i] = (struct pollfd){ .fd = s->pidfd[i], .events = POLLIN };
	if (poll(pfd, n + nt, -1) < 0 && errno != EINTR)
		return false;
	if (pfd[0].revents) {
		struct signalfd_siginfo si;

		while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGCHLD && s->launched)
				at_launch_poll(&s->launch);
			else if (si.ssi_signo == SIGWINCH && s->ui)
				at_ui_resize(s->ui);
			else if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH)
				return *final = true, false;
		}
	}
	for (int i = 0; i < nt; i++)
		if (pfd[n + i].revents && s->pidfd[i] >= 0)
			target_exited(s, i);
	if (s->launched && s->launch.exited && !s->model.targets[0].exited)
		target_exited(s, 0);
	if (all_exited(s))
		return *final = true, false;
	if (s->ui && pfd[2].revents) {
		enum at_ui_action a = at_ui_key(s->ui);

		if (a == AT_UI_QUIT)
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
		if (report(s, false))
			return false;	/* stdout closed: stop quietly */
		if (s->o->count && s->reports >= s->o->count)
			return false;
	}
	return true;
}

int at_session_run(const struct at_opts *o)
{
	struct at_tracer_opts topts = { .sz = sizeof(topts), .max_live = o->max_live, .max_stacks = o->max_stacks,
					.max_procs = o->max_procs, .lib = o->lib };
	struct at_session s = { .o = o, .sfd = -1, .tfd = -1, .interval = o->interval };
	bool final = false;
	int rc = AT_EXIT_OK;

	for (int i = 0; i < AT_MAX_TARGETS; i++)
		s.pidfd[i] = -1;
	at_verbose = o->verbose;
	s.tracer = at_tracer__new(&topts);
	if (!s.tracer)
		return AT_EXIT_FAIL;
	at_model_init(&s.model, s.tracer);
	s.sym = at_symbolizer_new(at_tracer__elfcache(s.tracer));
	if (setup_fds(&s)) {
		rc = AT_EXIT_FAIL;
		goto out;
	}
	rc = attach_targets(&s);
	if (rc)
		goto out;
	s.model.start_mono = s.last_report = at_now_mono();
	fprintf(stderr, "alloctop: attached to %d process%s; %s\n", s.model.nr_targets,
		s.model.nr_targets == 1 ? "" : "es", o->output == AT_OUT_TUI ? "q quits" : "Ctrl-C stops");
	if (o->output == AT_OUT_TUI && !(s.ui = at_ui_new(o))) {
		rc = AT_EXIT_FAIL;
		goto out;
	}
	while (step(&s, &final))
		;
	if (final && !s.ui)
		report(&s, true);
out:
	at_ui_free(s.ui);
	for (int i = 0; i < AT_MAX_TARGETS; i++)
		if (s.pidfd[i] >= 0)
			close(s.pidfd[i]);
	if (s.launched && s.launch.exited && WIFEXITED(s.launch.status) && WEXITSTATUS(s.launch.status))
		at_warn("the command exited with status %d", WEXITSTATUS(s.launch.status));
	at_symbolizer_free(s.sym);
	at_model_fini(&s.model);
	at_tracer__free(s.tracer);
	if (s.sfd >= 0)
		close(s.sfd);
	if (s.tfd >= 0)
		close(s.tfd);
	return rc;
}
