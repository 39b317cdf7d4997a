/* The kernel tables sized to the targets (user/app/sizing.c): the first stacks are
 * preallocated for every run, a large target's room comes in the maps that grow, and
 * --max-stacks stays a cap. */
#include "unit.h"
#include "app/sizing.h"

#include <stdlib.h>
#include <unistd.h>

static struct at_tracer_opts sized(const struct at_opts *o)
{
	struct at_tracer_opts t = { .sz = sizeof(t), .max_stacks = o->max_stacks };

	at_size_for_targets(o, &t);
	return t;
}

/* A launched command, followed or not, capped or not. */
static struct at_tracer_opts launched(bool follow, __u32 max_stacks)
{
	static char *argv[] = { "true", NULL };
	struct at_opts o = { .cmd = argv, .follow = follow, .max_live = 1U << 21, .max_stacks = max_stacks };

	return sized(&o);
}

static void test_launch_is_small(void)
{
	struct at_tracer_opts t = launched(false, 0);

	CHECK_EQ_U(t.max_stacks, AT_STACKS_SMALL);
	CHECK_EQ_U(t.max_stacks_more, AT_STACKS_MORE * AT_STACKS_SMALL);
	CHECK_EQ_U(t.live_initial, AT_LIVE_START_MIN);
}

static void test_follow_is_large_but_preallocates_small(void)
{
	struct at_tracer_opts t = launched(true, 0);

	CHECK_EQ_U(t.max_stacks, AT_STACKS_SMALL);
	CHECK_EQ_U(t.max_stacks_more, AT_STACKS_MORE * AT_STACKS_LARGE);
	CHECK_EQ_U(t.live_initial, AT_LIVE_START_CENSUS);
}

static void test_max_stacks_is_a_cap(void)
{
	struct at_tracer_opts t = launched(true, 4096);

	CHECK_EQ_U(t.max_stacks, 4096);
	CHECK_EQ_U(t.max_stacks_more, 0);	/* no room past it */
}

/* -p of a process holding 300 MB of anonymous memory (this one): a large room, the live
 * table from what it holds (a slot a 512 bytes, within the cap). */
static void test_large_pid(void)
{
	size_t n = 300UL << 20;
	char *p = malloc(n);
	struct at_opts o = { .nr_pids = 1, .max_live = 1U << 21 };
	struct at_tracer_opts t;

	CHECK(p != NULL);
	if (!p)
		return;
	/* resident: volatile stores, which the compiler may not drop as dead before the
	 * free (under ASan it dropped a memset) */
	for (size_t i = 0; i < n; i += 4096)
		((volatile char *)p)[i] = 1;
	o.pids[0] = getpid();
	t = sized(&o);
	CHECK_EQ_U(t.max_stacks, AT_STACKS_SMALL);
	CHECK_EQ_U(t.max_stacks_more, AT_STACKS_MORE * AT_STACKS_LARGE);
	CHECK(t.live_initial >= n / 512 && t.live_initial <= o.max_live);
	free(p);
}

static void test_live_start(void)
{
	CHECK_EQ_U(at_live_start_for(0, 1U << 21), AT_LIVE_START_MIN);
	CHECK_EQ_U(at_live_start_for(64ULL << 10, 1U << 21), (64ULL << 20) / 512);
	CHECK_EQ_U(at_live_start_for(64ULL << 20, 1U << 21), 1U << 21);	/* the cap */
}

int main(void)
{
	RUN(test_launch_is_small);
	RUN(test_follow_is_large_but_preallocates_small);
	RUN(test_max_stacks_is_a_cap);
	RUN(test_large_pid);
	RUN(test_live_start);
	return UNIT_DONE();
}
