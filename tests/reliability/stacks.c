/* stacks N: N distinct allocation stacks (recursion depth 1..N above one malloc site),
 * K allocations each.
 *   ready <pid>; "go" -> for depth 1..N: K x (malloc(16 + depth) at the leaf, then free);
 *   answers "done <allocs> <bytes>"; "exit" -> exits 0.
 * With alloctop --max-stacks far below N, the stack and site maps fill: the losses are
 * counted (drops.stack_map_full) and every allocation must still be in the totals. */
#include "rel.h"

static int K = 4;

NOIPA void *site_leaf(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void leaf_free(void *p)
{
	free(p);
	REL_BARRIER();
}

static unsigned long long total_bytes;

NOIPA int rec(int depth, size_t n)
{
	if (depth > 1)
		return rec(depth - 1, n) + 1;	/* not a tail call: one frame per level */
	for (int k = 0; k < K; k++) {
		void *p = site_leaf(rel_opq(n));

		if (!p)
			rel_die("malloc failed");
		total_bytes += n;
		leaf_free(p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	char cmd[64];

	if (argc > 2)
		K = atoi(argv[2]);
	if (n < 1 || n > 2000 || K < 1)
		rel_die("stacks: N must be 1..2000, K >= 1");
	leaf_free(site_leaf(8));
	rel_ready();
	while (rel_line(cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "go")) {
			total_bytes = 0;
			for (int d = 1; d <= n; d++)
				rec(d, 16 + (size_t)d);
			rel_out("done %d %llu", n * K, total_bytes);
		} else if (!strcmp(cmd, "exit")) {
			break;
		}
	}
	return 0;
}
