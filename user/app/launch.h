/* Launch mode: start a command stopped, probe it before its first allocation, and
 * see it off (its mappings are recorded just before it exits). */
#ifndef AT_LAUNCH_H
#define AT_LAUNCH_H

#include <signal.h>
#include <stdbool.h>

struct at_launch_ops {
	/* Called while the command is stopped, each time it may have mapped an allocator:
	 * 0 = attached, -EAGAIN = not yet, other = give up. */
	int (*try_attach)(void *ctx, int pid);
	/* Called once when the command exec'd another program, before that one runs. */
	void (*exec_seen)(void *ctx, int pid);
	/* Called like try_attach after the command exec'd another program, until it gives
	 * anything but -EAGAIN; failures are not fatal. NULL: execs are not followed. */
	int (*exec_attach)(void *ctx, int pid);
	/* Called once the command is about to exit, its memory still intact. */
	void (*exiting)(void *ctx, int pid);
	void *ctx;
	/* What the command starts with: the signal mask and SIGPIPE disposition alloctop
	 * itself was started with (it blocks and ignores some for its own event loop). */
	sigset_t mask;
	bool pipe_ignored;
};

struct at_launch {
	int pid;
	bool exited;
	int status;		/* wait status once exited */
	struct at_launch_ops ops;
};

/* Starts argv[0] (searched in PATH) and runs it until try_attach succeeds. 0, or an
 * exit status after a one-line error (the command is killed then). */
int at_launch__start(struct at_launch *l, char **argv, const struct at_launch_ops *ops);
/* Handles the command's pending stops and exit without blocking (call on SIGCHLD). */
void at_launch_poll(struct at_launch *l);
/* Ends the command if it still runs: SIGTERM, then SIGKILL after grace_s seconds. Its
 * stops are passed on meanwhile (a traced process dies only once resumed). True if it
 * had to end it. */
bool at_launch_stop(struct at_launch *l, double grace_s);

#endif
