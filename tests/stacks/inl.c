/* C workload built -O2 -g with frame pointers: malloc is called from a function that
 * is always inlined into its caller, so a single return address stands for two
 * source frames (fill_node inlined into build_chain). The markers after the calls
 * are looked up by the test to learn the expected line numbers. */
#include <stdlib.h>
#include "wl_stacks.h"

#ifndef VARIANT
#define VARIANT "plain"
#endif

/* each build variant differs in its data, hence in its build-id */
__attribute__((used)) static const char variant[] = VARIANT;

#define N_CHAIN 100
#define N_SCRATCH 10
#define SCRATCH_SZ 1000

struct node {
	struct node *next;
	char payload[48];
};

static inline __attribute__((always_inline)) struct node *fill_node(struct node *next, int i)
{
	struct node *n = malloc(sizeof(*n)); /* @malloc-line */

	if (!n)
		abort();
	n->next = next;
	memset(n->payload, i, sizeof(n->payload));
	return n;
}

__attribute__((noinline)) struct node *build_chain(int len)
{
	struct node *head = NULL;

	for (int i = 0; i < len; i++) {
		head = fill_node(head, i); /* @inline-call-line */
		__asm__ volatile("" ::: "memory");
	}
	return head;
}

__attribute__((noinline)) void *scratch_buffer(size_t n)
{
	char *p = malloc(n); /* @scratch-line */

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

int main(int argc, char **argv)
{
	int waited = wls_wait(argc, argv);
	struct node *chain;

	if (waited < 0)
		return 1;
	chain = build_chain(N_CHAIN);	/* 100 x 56 bytes, live until exit */
	for (int i = 0; i < N_SCRATCH; i++)
		free(scratch_buffer(SCRATCH_SZ));	/* 10 x 1000 bytes, freed */
	__asm__ volatile("" : : "r"(chain) : "memory");
	/* stderr is unbuffered: no allocation */
	fprintf(stderr, "truth chain=%d,%d,%d scratch=%d,%d,0\n", N_CHAIN, (int)(N_CHAIN * sizeof(struct node)),
		(int)(N_CHAIN * sizeof(struct node)), N_SCRATCH, N_SCRATCH * SCRATCH_SZ);
	wls_done(waited);
	return 0;
}
