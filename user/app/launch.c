#include "app/launch.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define AT_MAX_LOADER_SYSCALLS 100000	/* give up waiting for an allocator after this many */
/* After an exec, less: a program that maps no allocator must not run stepped for long
 * (a later allocator is still found at a refresh, by the exec record). */
#define AT_MAX_EXEC_SYSCALLS 10000

/* The command gets the signal state alloctop was started with, as it would untraced:
 * blocked and ignored signals are inherited across exec. */
static void child_signals(const struct at_launch_ops *ops)
{
	signal(SIGPIPE, ops->pipe_ignored ? SIG_IGN : SIG_DFL);
	sigprocmask(SIG_SETMASK, &ops->mask, NULL);
}

static void child(int go_fd, int err_fd, char **argv, const struct at_launch_ops *ops)
{
	char c;
	int e;

	/* wait until the parent has seized us, so the exec is seen */
	if (read(go_fd, &c, 1) != 1)
		_exit(127);
	child_signals(ops);
	execvp(argv[0], argv);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int fail(struct at_launch *l, const char *msg)
{
	at_err("%s", msg);
	if (l->pid > 0 && !l->exited) {
		kill(l->pid, SIGKILL);
		waitpid(l->pid, NULL, __WALL);
	}
	return AT_EXIT_FAIL;
}

/* Resumes a stopped tracee, passing on a signal that was meant for it. */
static void resume(int pid, int status, enum __ptrace_request how)
{
	int sig = WSTOPSIG(status), event = status >> 16;

	if (event == PTRACE_EVENT_STOP) {
		/* group-stop (SIGSTOP, ^Z): stay stopped, but let SIGCONT wake it */
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			ptrace(PTRACE_LISTEN, pid, 0, 0);
			return;
		}
		sig = 0;
	} else if (event || sig == (SIGTRAP | 0x80) || sig == SIGTRAP) {
		sig = 0;	/* our own stops carry no signal */
	}
	ptrace(how, pid, 0, (void *)(long)sig);
}

/* Runs the tracee system call by system call while its loader works, calling attach
 * after its exec and each mmap, until attach says anything but -EAGAIN: then the tracee
 * runs freely and that is returned. status is the stop it is in (0: wait for the next).
 * 1: it exited meanwhile (l->exited). -EAGAIN: still nothing after max system calls,
 * the tracee left in a stop. -ECHILD: lost it. */
static int step_loader(struct at_launch *l, int (*attach)(void *ctx, int pid), int status, int max)
{
	long last_nr = -1;

	for (int n = 0; n < max; n++) {
		struct __ptrace_syscall_info info;
		bool try = n == 0;	/* the stop it starts in (its exec) */
		int err;

		if (!status && waitpid(l->pid, &status, __WALL) < 0)
			return -ECHILD;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			l->exited = true;
			l->status = status;
			return 1;
		}
		if (WSTOPSIG(status) == (SIGTRAP | 0x80) &&
		    ptrace(PTRACE_GET_SYSCALL_INFO, l->pid, sizeof(info), &info) > 0) {
			if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
				last_nr = info.entry.nr;
			else if (info.op == PTRACE_SYSCALL_INFO_EXIT)
				try = last_nr == SYS_mmap;
		} else if (status >> 16 == PTRACE_EVENT_EXEC) {
			try = true;
		} else if (status >> 16 == PTRACE_EVENT_EXIT && l->ops.exiting) {
			l->ops.exiting(l->ops.ctx, l->pid);
		}
		if (try && (err = attach(l->ops.ctx, l->pid)) != -EAGAIN) {
			resume(l->pid, status, PTRACE_CONT);
			return err;
		}
		resume(l->pid, status, PTRACE_SYSCALL);
		status = 0;
	}
	return -EAGAIN;
}

static int run_to_allocator(struct at_launch *l)
{
	int err = step_loader(l, l->ops.try_attach, 0, AT_MAX_LOADER_SYSCALLS);

	if (err == 1)
		return fail(l, "the command exited before it mapped an allocator alloctop can probe (use --lib PATH)");
	if (err == -ECHILD)
		return fail(l, "lost the launched command while waiting for it to start");
	if (err == -EAGAIN)
		return fail(l, "the command mapped no allocator alloctop can probe (use --lib PATH)");
	if (err)
		return fail(l, "cannot trace the launched command (see above)");
	return 0;
}

/* The command exec'd another program (status: its exec stop): probe that one before it
 * runs, as at the start. Never fatal: a program without an allocator just runs. */
static void follow_exec(struct at_launch *l, int status)
{
	if (l->ops.exec_seen)
		l->ops.exec_seen(l->ops.ctx, l->pid);
	if (step_loader(l, l->ops.exec_attach, status, AT_MAX_EXEC_SYSCALLS) == -EAGAIN)
		ptrace(PTRACE_CONT, l->pid, 0, 0);
}

int at_launch__start(struct at_launch *l, char **argv, const struct at_launch_ops *ops)
{
	int go[2], errp[2], e = 0, status;
	char msg[512];

	memset(l, 0, sizeof(*l));
	l->ops = *ops;
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return fail(l, "cannot create pipes to start the command");
	l->pid = fork();
	if (l->pid < 0)
		return fail(l, "cannot fork to start the command");
	if (l->pid == 0)
		child(go[0], errp[1], argv, ops);
	close(go[0]);
	close(errp[1]);
	if (ptrace(PTRACE_SEIZE, l->pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT)) {
		snprintf(msg, sizeof(msg), "cannot trace the command (ptrace: %s): run as root", strerror(errno));
		close(go[1]);
		close(errp[0]);
		return fail(l, msg);
	}
	if (write(go[1], "g", 1) != 1)
		e = EPIPE;
	close(go[1]);
	if (!e && read(errp[0], &e, sizeof(e)) != sizeof(e))
		e = 0;	/* closed on exec: it started */
	close(errp[0]);
	if (e) {
		waitpid(l->pid, &status, __WALL);
		l->exited = true;
		snprintf(msg, sizeof(msg), "cannot run '%s': %s (check the command and PATH)", argv[0], strerror(e));
		return fail(l, msg);
	}
	return run_to_allocator(l);
}

void at_launch_poll(struct at_launch *l)
{
	int status;

	while (!l->exited) {
		int r = waitpid(l->pid, &status, WNOHANG | __WALL);

		if (r <= 0)
			return;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			l->exited = true;
			l->status = status;
			return;
		}
		if (status >> 16 == PTRACE_EVENT_EXEC && l->ops.exec_attach) {
			follow_exec(l, status);
			continue;
		}
		if (status >> 16 == PTRACE_EVENT_EXIT && l->ops.exiting)
			l->ops.exiting(l->ops.ctx, l->pid);
		resume(l->pid, status, PTRACE_CONT);
	}
}

/* Waits for the command's exit until deadline (0: for good), resuming its stops with
 * their signals; true once it is gone. */
static bool reap_until(struct at_launch *l, double deadline)
{
	int status;

	while (!l->exited) {
		int r = waitpid(l->pid, &status, __WALL | (deadline ? WNOHANG : 0));

		if (r < 0)
			return true;	/* not ours any more */
		if (!r) {
			if (at_now_mono() >= deadline)
				return false;
			usleep(10000);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			l->exited = true;
			l->status = status;
		} else {
			resume(l->pid, status, PTRACE_CONT);
		}
	}
	return true;
}

bool at_launch_stop(struct at_launch *l, double grace_s)
{
	if (l->pid <= 0 || l->exited)
		return false;
	kill(l->pid, SIGTERM);
	kill(l->pid, SIGCONT);	/* a stopped command ends too */
	if (reap_until(l, at_now_mono() + grace_s))
		return true;
	at_warn("the command (PID %d) ignored SIGTERM for %.0f s: killing it", l->pid, grace_s);
	kill(l->pid, SIGKILL);
	reap_until(l, 0);
	return true;
}
