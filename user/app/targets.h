/* The traced processes' lifecycle: attach (-p, launch, census), exec (re-plan the
 * probes), exit (mark, free kernel state, forget). The session hands it its events. */
#ifndef AT_TARGETS_H
#define AT_TARGETS_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include "lib/opts.h"
#include "kernel/tracer.h"
#include "model/model.h"
#include "symbolize/symbolize.h"

#define AT_LAUNCH_GRACE_S 3.0

enum at_mode {
	AT_MODE_PIDS,		/* -p: probes per PID */
	AT_MODE_LAUNCH,		/* -- CMD: probes for the child's PID */
	AT_MODE_CENSUS,		/* no target: probes on every allocator file */
	AT_MODE_FOLLOW,		/* --follow: file probes, only the followed tree counts */
};

enum at_mode at_mode_of(const struct at_opts *o);
bool at_mode_file_probes(enum at_mode m);	/* census and --follow probe whole files */

struct at_targets_opts {
	size_t sz;		/* sizeof(struct at_targets_opts), for compatibility */
	const struct at_opts *o;
	struct at_tracer *tracer;
	struct at_model *model;
	struct at_symbolizer *sym;
	/* launch mode: the signal state alloctop was started with, for the command */
	const sigset_t *start_mask;
	bool pipe_ignored;
};

struct at_targets;
struct at_unwind_pre;

/* Before the tracer loads: starts compiling the -p targets' unwind tables on a thread
 * (the kernel verifies the programs meanwhile), for at_tracer_opts.pre; NULL when there
 * is nothing to compile (other modes, --unwind fp). */
struct at_unwind_pre *at_targets__compile_ahead(const struct at_opts *o);

struct at_targets *at_targets__new(const struct at_targets_opts *opts);
/* Attaches to the -p targets, launches the command, or takes the first census. 0, or
 * an exit status after a one-line error. */
int at_targets__attach(struct at_targets *ts);
/* Once every probe is in: the -p targets' mappings and files, for symbols. */
void at_targets__note(struct at_targets *ts);
/* Before each refresh: new census processes, then the execs and exits the kernel saw. */
void at_targets__update(struct at_targets *ts);
void at_targets__child(struct at_targets *ts);	/* SIGCHLD: the launched command */
/* The descriptors that tell a -p or launched target's exit: fills pfd, returns how many. */
int at_targets__poll_fds(const struct at_targets *ts, struct pollfd *pfd);
/* After poll: handles the exits pfd shows; true when every target is gone. */
bool at_targets__polled(struct at_targets *ts, const struct pollfd *pfd);
enum at_mode at_targets__mode(const struct at_targets *ts);
/* Closes what it holds; ends the launched command if it still runs (SIGTERM, SIGKILL
 * after AT_LAUNCH_GRACE_S; --keep leaves it); says how it ended. NULL is fine. */
void at_targets__free(struct at_targets *ts);

#endif
