/* clone: the clone-against-borrow workload, for alloctop diff (README, tests/integration/
 * test_analyses.py). Each of N requests looks up a name; "clone" (the default) copies it
 * into a fresh block (clone_name) and frees it, "borrow" (argument "borrow") uses it in
 * place. Both keep KEEP blocks of site_common alive, so that site does not change.
 * Protocol (tests/workloads/wl.h): "ready PID", wait for "go", the measured phase, one
 * line of JSON truth, wait for "exit". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define N 1000
#define KEEP 20
#define COMMON_SZ 256

static const char name[] = "a name of thirty-one characters";	/* 32 bytes with its NUL */
static void *common[KEEP];
static volatile size_t sink;

NOIPA static char *clone_name(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c = malloc(n);

	memcpy(c, s, n);
	return c;
}

NOIPA static void *site_common(size_t n) { return malloc(n); }

NOIPA static void handle(int clone)
{
	if (clone) {
		char *c = clone_name(name);

		sink += strlen(c);
		free(c);
	} else {
		sink += strlen(name);
	}
}

static int wait_line(const char *want)
{
	char buf[64], c;
	size_t n = 0;

	while (read(0, &c, 1) == 1) {
		if (c != '\n') {
			if (n + 1 < sizeof(buf))
				buf[n++] = c;
			continue;
		}
		buf[n] = 0;
		if (!strcmp(buf, want))
			return 0;
		n = 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	int clone = !(argc > 1 && !strcmp(argv[1], "borrow"));
	char buf[512];

	snprintf(buf, sizeof(buf), "ready %d\n", getpid());
	if (write(1, buf, strlen(buf)) < 0 || wait_line("go"))
		return 1;
	for (int i = 0; i < KEEP; i++)
		common[i] = site_common(COMMON_SZ);
	for (int i = 0; i < N; i++)
		handle(clone);
	snprintf(buf, sizeof(buf), "{\"clone_name\": [%d, %d], \"site_common\": [%d, %d]}\n",
		 clone ? N : 0, clone ? N * (int)sizeof(name) : 0, KEEP, KEEP * COMMON_SZ);
	if (write(1, buf, strlen(buf)) < 0)
		return 1;
	wait_line("exit");
	for (int i = 0; i < KEEP; i++)
		free(common[i]);
	return 0;
}
