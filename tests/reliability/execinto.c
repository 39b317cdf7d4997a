/* execinto: a traced process that leaves blocks and a mapping live, then execs another
 * program (same PID), which alloctop must count on its own from there.
 *   execinto [--now] [--env NAME=VALUE] PROG [ARGS...]
 * Without --now:
 *   ready <pid>
 *   "alloc" -> the old image's work, answered "allocd {JSON}": its counts (the truth)
 *   "exec"  -> execs PROG ARGS (with NAME=VALUE added to the environment)
 * With --now (launch mode, traced from the start) it does the work, writes "allocd {JSON}"
 * on stderr (stdout is the tracer's report stream) and execs at once.
 * The work, every call known: 4 x malloc(100) kept (site_old_malloc), 1 malloc(50)
 * freed, 2 x memalign(64, 200) kept (site_old_memalign: the alias slot of the old image),
 * and one anonymous mmap of 3 pages kept. Nothing else allocates (rel.h). */
#include "rel.h"

#include <malloc.h>
#include <sys/mman.h>

extern char **environ;

#define N_KEPT 4		/* malloc(KEPT_SZ), kept */
#define KEPT_SZ 100
#define TEMP_SZ 50		/* one malloc, freed at once */
#define N_ALIGNED 2		/* memalign(64, ALIGNED_SZ), kept */
#define ALIGNED_SZ 200
#define MAP_LEN (3 * 4096)	/* one anonymous mapping, kept */

static void *keep[8];

/* The work's truth as JSON, from the constants the work uses. */
static void truth(int fd)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
		"allocd {\"allocs\": %d, \"frees\": 1, \"alloc_bytes\": %d, \"free_bytes\": %d, "
		"\"live_allocs\": %d, \"live_bytes\": %d, \"untracked_frees\": 0, \"temp_allocs\": 1, "
		"\"calls\": {\"malloc\": %d, \"free\": 1, \"memalign\": %d, \"mmap\": 1}, "
		"\"mmap\": {\"maps\": 1, \"unmaps\": 0, \"live_bytes\": %d}, "
		"\"sites\": {\"site_old_malloc\": %d, \"site_old_memalign\": %d}}\n",
		N_KEPT + 1 + N_ALIGNED, N_KEPT * KEPT_SZ + TEMP_SZ + N_ALIGNED * ALIGNED_SZ, TEMP_SZ,
		N_KEPT + N_ALIGNED, N_KEPT * KEPT_SZ + N_ALIGNED * ALIGNED_SZ, N_KEPT + 1, N_ALIGNED, MAP_LEN,
		N_KEPT + 1, N_ALIGNED);

	if (write(fd, buf, n) != n)
		_exit(3);
}

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

	for (int i = 0; i < N_KEPT; i++)
		keep[k++] = site_old_malloc(rel_opq(KEPT_SZ));
	old_free(site_old_malloc(rel_opq(TEMP_SZ)));
	for (int i = 0; i < N_ALIGNED; i++)
		keep[k++] = site_old_memalign(rel_opq(64), rel_opq(ALIGNED_SZ));
	keep[k++] = old_mmap(MAP_LEN);
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
		truth(2);
		run(argv + i, env);
	}
	rel_ready();
	while (rel_line(cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "alloc")) {
			work();
			truth(1);
		} else if (!strcmp(cmd, "exec")) {
			run(argv + i, env);
		}
	}
	return 0;
}
