/* Shared protocol of the stack workloads (tests/integration/test_stacks.py):
 *   --nowait   run the allocations and exit (launch mode)
 *   otherwise  print "ready <pid>", wait for a line on stdin, allocate, print "done",
 *              then wait for end of input before exiting (attach mode).
 * Every workload keeps some blocks live until it exits and frees others, and after its
 * allocations writes its truth on stderr (stdout is the tracer's in launch mode):
 *   truth NAME=ALLOCS,ALLOC_BYTES,LIVE_BYTES ...   one entry per allocation site. */
#ifndef WL_STACKS_H
#define WL_STACKS_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int wls_wait(int argc, char **argv)
{
	char line[64];

	if (argc > 1 && !strcmp(argv[1], "--nowait"))
		return 0;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return -1;
	return 1;
}

static void wls_done(int waited)
{
	char line[64];

	if (!waited)
		return;
	printf("done\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
}

#endif
