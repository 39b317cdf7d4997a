/* execinto: a traced process that leaves blocks and a mapping live, then execs another
 * program (same PID), which alloctop must count on its own from there.
 *   execinto [--now] [--env NAME=VALUE] PROG [ARGS...]
 * Without --now:
 *   ready <pid>
 *   "alloc" -> the old image's work, answered "allocd" with its counts (OLD_* below)
 *   "exec"  -> execs PROG ARGS (with NAME=VALUE added to the environment)
 * With --now (launch mode, traced from the start) it does the work and execs at once.
 * The work, every call known: 4 x malloc(100) kept (site_old_malloc), 1 malloc(50)
 * freed, 2 x memalign(64, 200) kept (site_old_memalign: the alias slot of the old image),
 * and one anonymous mmap of 3 pages kept. Nothing else allocates (rel.h). */
#include "rel.h"

#include <malloc.h>
#include <sys/mman.h>

extern char **environ;

static void *keep[8];

NOIPA void *site_old_malloc(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void *site_old_memalign(size_t a, size_t n)
{
	void *p = memalign(a, n);

	REL_BARRIER();
	return p;
}

NOIPA void old_free(void *p)
{
	free(p);
	REL_BARRIER();
}

NOIPA void *old_mmap(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	REL_BARRIER();
	return p;
}

static void work(void)
{
	int k = 0;

	for (int i = 0; i < 4; i++)
		keep[k++] = site_old_malloc(rel_opq(100));
	old_free(site_old_malloc(rel_opq(50)));
	for (int i = 0; i < 2; i++)
		keep[k++] = site_old_memalign(rel_opq(64), rel_opq(200));
	keep[k++] = old_mmap(3 * 4096);
	if (keep[k - 1] == MAP_FAILED)
		rel_die("mmap");
}

static void run(char **argv, const char *env)
{
	static char *envp[512];
	int n = 0;

	for (char **e = environ; *e && n < 510; e++)
		envp[n++] = *e;
	if (env)
		envp[n++] = (char *)env;
	envp[n] = NULL;
	execve(argv[0], argv, envp);
	rel_die("execve");
}

int main(int argc, char **argv)
{
	const char *env = NULL;
	int now = 0, i = 1;
	char cmd[64];

	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strcmp(argv[i], "--now"))
			now = 1;
		else if (!strcmp(argv[i], "--env") && i + 1 < argc)
			env = argv[++i];
		else
			rel_die("usage: execinto [--now] [--env NAME=VALUE] PROG [ARGS...]");
	}
	if (i >= argc)
		rel_die("usage: execinto [--now] [--env NAME=VALUE] PROG [ARGS...]");
	if (now) {
		work();
		run(argv + i, env);
	}
	rel_ready();
	while (rel_line(cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "alloc")) {
			work();
			rel_out("allocd allocs=7 frees=1 alloc_bytes=850 live_allocs=6 live_bytes=800 mmap_live=12288");
		} else if (!strcmp(cmd, "exec")) {
			run(argv + i, env);
		}
	}
	return 0;
}
