#include "app/targets.h"
#include "app/census.h"
#include "app/launch.h"
#include "unwind/unwind_pre.h"
#include "lib/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define AT_MAX_EXITS 4096	/* exits handled per refresh */
#define AT_MAX_EXECS 4096	/* execs handled per refresh */

struct at_targets {
	const struct at_opts *o;
	enum at_mode mode;
	struct at_tracer *tracer;
	struct at_model *model;
	struct at_symbolizer *sym;
	sigset_t start_mask;
	bool pipe_ignored;
	struct at_census census;
	struct at_launch launch;
	bool launched;
	int pidfd[AT_MAX_TARGETS];	/* -p targets, or the launched command in [0] */
	int nr_pidfd;
	int *dropped;			/* census: exited, reported once, to forget next */
	int nr_dropped;
	int *replan;			/* exec'd, their new program not probed yet */
	int nr_replan;
};

bool at_mode_file_probes(enum at_mode m)
{
	return m == AT_MODE_CENSUS || m == AT_MODE_FOLLOW;
}

static bool file_probes(const struct at_targets *ts)
{
	return at_mode_file_probes(ts->mode);
}

static int attach_one_pid(struct at_targets *ts, int pid)
{
	int err;

	if (file_probes(ts)) {
		err = at_tracer__follow(ts->tracer, pid);
		if (!err)
			err = at_tracer__attach_global(ts->tracer, pid, false);
	} else {
		err = at_tracer__attach_pid(ts->tracer, pid);
	}
	if (!err) {
		at_tracer__seed_proc(ts->tracer, pid);	/* listed even if it never allocates */
		at_model_add_target(ts->model, pid);
		at_model_overhead_seed(ts->model, pid);
		/* a -p target's files are loaded once all probes are in (at_targets__note); its
		 * maps are read now, before it can exec away from them */
		if (ts->mode != AT_MODE_PIDS)
			at_symbolizer_note_pid(ts->sym, pid);
		else
			at_symbolizer_note_maps(ts->sym, pid);
	}
	return err;
}

/* Loading a -p target's files for symbolization waits until its probes are live: the
 * `attached` line comes that much sooner. */
void at_targets__note(struct at_targets *ts)
{
	for (int i = 0; i < ts->o->nr_pids && ts->mode == AT_MODE_PIDS; i++)
		at_symbolizer_load_files(ts->sym, ts->o->pids[i]);
}

static int try_attach(void *ctx, int pid)
{
	return attach_one_pid(ctx, pid);
}

/* Launch mode sees every exec of its command at the exec stop, before the new program
 * runs: the last moment the symbolizer's maps are still all the old program's. */
static void exec_seen(void *ctx, int pid)
{
	struct at_targets *ts = ctx;

	at_symbolizer_exec(ts->sym, pid);
}

/* Probes for the program a traced process exec'd (it keeps its pid and entry). */
static int attach_exec(void *ctx, int pid)
{
	struct at_targets *ts = ctx;

	return file_probes(ts) ? at_tracer__attach_global(ts->tracer, pid, true) : at_tracer__replan_pid(ts->tracer, pid);
}

static void exiting(void *ctx, int pid)
{
	struct at_targets *ts = ctx;

	at_symbolizer_note_pid(ts->sym, pid);
	at_model_overhead_exiting(ts->model, pid);
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

static int attach_pids(struct at_targets *ts)
{
	for (int i = 0; i < ts->o->nr_pids; i++) {
		int pid = ts->o->pids[i], err;

		if (pid == getpid()) {
			at_err("-p %d is alloctop itself: give the PID of another process", pid);
			return AT_EXIT_FAIL;
		}
		ts->pidfd[ts->nr_pidfd] = syscall(SYS_pidfd_open, pid, 0);
		if (ts->pidfd[ts->nr_pidfd] < 0) {
			int tgid = thread_group(pid);

			if (tgid > 0 && tgid != pid)
				at_err("%d is a thread of process %d: give -p %d", pid, tgid, tgid);
			else
				at_err("no process with PID %d (%s): check the PID, e.g. with pgrep", pid, strerror(errno));
			return AT_EXIT_FAIL;
		}
		ts->nr_pidfd++;
		err = attach_one_pid(ts, pid);
		if (err == -EAGAIN)
			at_err("process %d maps no allocator alloctop can probe (no malloc/free, jemalloc, mimalloc "
			       "or tcmalloc names in it or its libraries; a stripped static binary?): use --lib PATH",
			       pid);
		if (err)
			return AT_EXIT_FAIL;
	}
	return 0;
}

int at_targets__attach(struct at_targets *ts)
{
	if (ts->mode == AT_MODE_CENSUS) {
		at_census_scan(&ts->census, ts->tracer, ts->model);
		return 0;
	}
	if (ts->o->cmd) {
		struct at_launch_ops ops = { .try_attach = try_attach, .exec_seen = exec_seen,
					     .exec_attach = attach_exec, .exiting = exiting, .ctx = ts,
					     .mask = ts->start_mask, .pipe_ignored = ts->pipe_ignored };
		int rc = at_launch__start(&ts->launch, ts->o->cmd, &ops);

		if (rc)
			return rc;
		ts->launched = true;
		ts->pidfd[ts->nr_pidfd++] = syscall(SYS_pidfd_open, ts->launch.pid, 0);
		return 0;
	}
	return attach_pids(ts);
}

/* Processes reported once as exited in a census: drop their counters now. */
static void forget_dropped(struct at_targets *ts)
{
	if (!ts->nr_dropped)
		return;	/* ts->dropped may be NULL: qsort must not see it */
	at_tracer__forget(ts->tracer, ts->dropped, ts->nr_dropped, true);
	qsort(ts->dropped, ts->nr_dropped, sizeof(int), at_int_cmp);
	at_model_forget_sites(ts->model, ts->dropped, ts->nr_dropped);
	for (int i = 0; i < ts->nr_dropped; i++) {
		at_model_drop_target(ts->model, ts->dropped[i]);
		at_census_forget(&ts->census, ts->dropped[i]);
		at_symbolizer_forget_pid(ts->sym, ts->dropped[i]);	/* the pid may come back */
	}
	ts->nr_dropped = 0;
}

/* Re-plans the processes whose new program had no allocator mapped yet, or was just
 * exec'd; keeps those that still have none. */
static void replan_execs(struct at_targets *ts)
{
	int k = 0;

	for (int i = 0; i < ts->nr_replan; i++) {
		int pid = ts->replan[i], err = attach_exec(ts, pid);

		if (err == -EAGAIN)
			ts->replan[k++] = pid;
		else if (!err)
			at_debug("process %d exec'd: probes moved to its new program", pid);
		else if (ts->mode != AT_MODE_CENSUS && !kill(pid, 0))	/* a census skips quietly */
			at_warn("process %d exec'd a program alloctop cannot probe (%s): it is no longer traced", pid,
				strerror(-err));
	}
	ts->nr_replan = k;
}

/* Execs the kernel saw: the old program's blocks and mappings leave the live figures,
 * the new program gets its name, its probes and its symbols. (Launch mode probed it
 * already, at its exec stop: re-planning it again finds nothing to change.) */
static void handle_execs(struct at_targets *ts)
{
	static struct at_exec_rec info[AT_MAX_EXECS];
	int pids[AT_MAX_EXECS], n = at_tracer__drain_execs(ts->tracer, pids, info, AT_MAX_EXECS);
	int err = at_tracer__drop_old_images(ts->tracer, pids, info, n);

	if (err)
		at_warn("cannot drop the blocks of programs replaced by exec: %s", strerror(-err));
	for (int i = 0; i < n; i++) {
		struct at_target *t = at_model_target(ts->model, pids[i]);
		bool pending = false;

		if (t)
			memcpy(t->comm, info[i].comm, sizeof(t->comm));
		if (!ts->launched || pids[i] != ts->launch.pid)	/* else done by exec_seen */
			at_symbolizer_exec(ts->sym, pids[i]);
		for (int j = 0; j < ts->nr_replan; j++)
			pending |= ts->replan[j] == pids[i];
		if (!pending) {
			ts->replan = at_xrealloc(ts->replan, ts->nr_replan + 1, sizeof(int));
			ts->replan[ts->nr_replan++] = pids[i];
		}
	}
	replan_execs(ts);
}

/* Census targets gone without an exit report (they never allocated in a window): ended
 * like the others, so that a long census does not keep every short-lived process. */
static void vanished(struct at_targets *ts)
{
	for (int i = 0; ts->mode == AT_MODE_CENSUS && i < ts->census.nr_vanished; i++) {
		int pid = ts->census.vanished[i];
		struct at_target *t = at_model_target(ts->model, pid);

		if (!t || t->exited)
			continue;
		t->exited = true;
		ts->dropped = at_xrealloc(ts->dropped, ts->nr_dropped + 1, sizeof(int));
		ts->dropped[ts->nr_dropped++] = pid;
	}
	ts->census.nr_vanished = 0;
}

/* Exits the kernel saw: mark them; free their kernel state. Census drops them from the
 * listing after this report; -p and launch keep their final numbers. */
static void handle_exits(struct at_targets *ts)
{
	static struct at_exit_rec info[AT_MAX_EXITS];
	int pids[AT_MAX_EXITS], n = at_tracer__drain_exited(ts->tracer, pids, info, AT_MAX_EXITS);

	forget_dropped(ts);
	for (int i = 0; i < n; i++) {
		struct at_target *t = at_model_add_target(ts->model, pids[i]);

		t->exited = true;
		if (!strcmp(t->comm, "?"))
			memcpy(t->comm, info[i].comm, sizeof(t->comm));
		if (ts->mode == AT_MODE_CENSUS || (ts->mode == AT_MODE_FOLLOW && !t)) {
			ts->dropped = at_xrealloc(ts->dropped, ts->nr_dropped + 1, sizeof(int));
			ts->dropped[ts->nr_dropped++] = pids[i];
		}
	}
	at_tracer__forget(ts->tracer, pids, n, false);
	vanished(ts);
}

static void pidfd_exited(struct at_targets *ts, int i)
{
	int pid = ts->o->cmd ? ts->launch.pid : ts->o->pids[i];
	struct at_target *t = at_model_target(ts->model, pid);

	if (t)
		t->exited = true;
	close(ts->pidfd[i]);
	ts->pidfd[i] = -1;
	at_tracer__detach_pid(ts->tracer, pid);
}

/* -p and launch end when their processes are gone; with --follow, the whole tree. */
static bool all_exited(struct at_targets *ts)
{
	int pids[1];

	if (ts->mode == AT_MODE_CENSUS)
		return false;
	for (int i = 0; i < ts->nr_pidfd; i++)
		if (ts->pidfd[i] >= 0)
			return false;
	return ts->mode != AT_MODE_FOLLOW || at_tracer__followed(ts->tracer, pids, 1) == 0;
}

enum at_mode at_mode_of(const struct at_opts *o)
{
	if (o->follow)
		return AT_MODE_FOLLOW;
	if (o->cmd)
		return AT_MODE_LAUNCH;
	return o->nr_pids ? AT_MODE_PIDS : AT_MODE_CENSUS;
}

struct at_unwind_pre *at_targets__compile_ahead(const struct at_opts *o)
{
	/* not a census: compiling every process's files took longer than the load (the
	 * census's start 210 ms with it, 162 without, bench/startup.sh) */
	if (o->unwind_fp || at_mode_of(o) != AT_MODE_PIDS)
		return NULL;
	return at_unwind_pre__new(o->pids, o->nr_pids);
}

struct at_targets *at_targets__new(const struct at_targets_opts *opts)
{
	struct at_targets *ts = at_xcalloc(1, sizeof(*ts));

	ts->o = opts->o;
	ts->tracer = opts->tracer;
	ts->model = opts->model;
	ts->sym = opts->sym;
	if (opts->start_mask)
		ts->start_mask = *opts->start_mask;
	else
		sigemptyset(&ts->start_mask);
	ts->pipe_ignored = opts->pipe_ignored;
	ts->mode = at_mode_of(ts->o);
	ts->census.follow = ts->mode == AT_MODE_FOLLOW;
	return ts;
}

void at_targets__update(struct at_targets *ts)
{
	if (file_probes(ts))
		at_census_scan(&ts->census, ts->tracer, ts->model);
	handle_execs(ts);	/* before exits: a process that exec'd, then exited, ends with its last image */
	handle_exits(ts);
}

void at_targets__child(struct at_targets *ts)
{
	if (ts->launched)
		at_launch_poll(&ts->launch);
}

int at_targets__poll_fds(const struct at_targets *ts, struct pollfd *pfd)
{
	for (int i = 0; i < ts->nr_pidfd; i++)
		pfd[i] = (struct pollfd){ .fd = ts->pidfd[i], .events = POLLIN };
	return ts->nr_pidfd;
}

bool at_targets__polled(struct at_targets *ts, const struct pollfd *pfd)
{
	for (int i = 0; i < ts->nr_pidfd; i++)
		if (pfd[i].revents && ts->pidfd[i] >= 0)
			pidfd_exited(ts, i);
	return all_exited(ts);
}

enum at_mode at_targets__mode(const struct at_targets *ts)
{
	return ts->mode;
}

void at_targets__free(struct at_targets *ts)
{
	bool ended = false;

	if (!ts)
		return;
	for (int i = 0; i < ts->nr_pidfd; i++)
		if (ts->pidfd[i] >= 0)
			close(ts->pidfd[i]);
	if (ts->launched && !ts->launch.exited && ts->o->keep)
		at_warn("left the command (PID %d) running (--keep)", ts->launch.pid);
	else if (ts->launched && !ts->launch.exited)
		ended = at_launch_stop(&ts->launch, AT_LAUNCH_GRACE_S);
	if (ended)
		fprintf(stderr, "alloctop: ended the command (PID %d) it started\n", ts->launch.pid);
	else if (ts->launched && ts->launch.exited && WIFEXITED(ts->launch.status) && WEXITSTATUS(ts->launch.status))
		at_warn("the command exited with status %d", WEXITSTATUS(ts->launch.status));
	if (!ended && ts->launched && ts->launch.exited && WIFSIGNALED(ts->launch.status))
		at_warn("the command was killed by signal %d (%s)", WTERMSIG(ts->launch.status),
			strsignal(WTERMSIG(ts->launch.status)));
	at_census__fini(&ts->census);
	free(ts->dropped);
	free(ts->replan);
	free(ts);
}
