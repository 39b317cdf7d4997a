/* forkexec: a traced process that forks and execs.
 *   ready <pid>
 *   "fork" -> the parent keeps 5 blocks of 100 bytes (site_parent), forks a child that
 *             makes 50 malloc/free pairs (site_child) and exits, and waits for it;
 *             answers "forked <child pid> allocs=5 bytes=500 child_allocs=50 child_bytes=3200"
 *   "exec" -> execs itself (same PID, same libc) with --after-exec: the new program
 *             keeps 7 blocks of 300 bytes (site_after_exec), answers
 *             "execd <pid> allocs=7 bytes=2100" and waits for "exit".
 *   "forkalias" -> forks a child that at once makes 3 memalign(64, 100) calls (kept)
 *             and frees a 1 MiB block (glibc unmaps it from inside free), then exits;
 *             answers "forkedalias <child pid> memalign=3 malloc=1 free=1 allocs=4
 *             live_allocs=3" (its truth). Its memaligns must count as such and
 *             free's munmap not as the application's, before any rescan. */
#include "rel.h"

#include <malloc.h>
#include <sys/wait.h>

#define N_PARENT 5	/* site_parent(PARENT_SZ), kept */
#define PARENT_SZ 100
#define N_CHILD 50	/* site_child(CHILD_SZ) pairs in the forked child */
#define CHILD_SZ 64
#define N_AFTER 7	/* site_after_exec(AFTER_SZ), kept */
#define AFTER_SZ 300
#define N_ALIAS 3	/* memalign(64, ALIAS_SZ) in the forkalias child, kept */
#define ALIAS_SZ 100

static void *keep[16];

NOIPA void *site_parent(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void *site_child(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void *site_after_exec(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void *site_child_memalign(size_t a, size_t n)
{
	void *p = memalign(a, n);

	REL_BARRIER();
	return p;
}

NOIPA void rel_free(void *p)
{
	free(p);
	REL_BARRIER();
}

int main(int argc, char **argv)
{
	char cmd[64];

	if (argc > 1 && !strcmp(argv[1], "--after-exec")) {
		for (int i = 0; i < N_AFTER; i++)
			keep[i] = site_after_exec(rel_opq(AFTER_SZ));
		rel_out("execd %d allocs=%d bytes=%d", (int)getpid(), N_AFTER, N_AFTER * AFTER_SZ);
		rel_expect("exit");
		return 0;
	}
	rel_free(site_parent(8));
	rel_ready();
	while (rel_line(cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "fork")) {
			pid_t c;
			int st;

			for (int i = 0; i < N_PARENT; i++)
				keep[i] = site_parent(rel_opq(PARENT_SZ));
			c = fork();
			if (c < 0)
				rel_die("fork");
			if (c == 0) {
				for (int i = 0; i < N_CHILD; i++)
					rel_free(site_child(rel_opq(CHILD_SZ)));
				_exit(0);
			}
			if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
				rel_die("child failed");
			rel_out("forked %d allocs=%d bytes=%d child_allocs=%d child_bytes=%d", (int)c, N_PARENT,
				N_PARENT * PARENT_SZ, N_CHILD, N_CHILD * CHILD_SZ);
		} else if (!strcmp(cmd, "forkalias")) {
			pid_t c = fork();
			int st;

			if (c < 0)
				rel_die("fork");
			if (c == 0) {
				for (int i = 0; i < N_ALIAS; i++)
					keep[i] = site_child_memalign(rel_opq(64), rel_opq(ALIAS_SZ));
				rel_free(site_child(rel_opq(1 << 20)));
				_exit(0);
			}
			if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
				rel_die("child failed");
			/* its truth: N_ALIAS memaligns kept, one malloc freed (glibc unmaps it) */
			rel_out("forkedalias %d memalign=%d malloc=1 free=1 allocs=%d live_allocs=%d", (int)c, N_ALIAS,
				N_ALIAS + 1, N_ALIAS);
		} else if (!strcmp(cmd, "exec")) {
			char *args[] = { argv[0], "--after-exec", NULL };

			execv("/proc/self/exe", args);
			rel_die("execv");
		} else if (!strcmp(cmd, "exit")) {
			break;
		}
	}
	return 0;
}
