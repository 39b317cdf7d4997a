/* burst N: holds N live blocks at once, then frees them all.
 *   ready <pid>
 *   "alloc" -> N malloc calls from site_burst (sizes 1..64), all kept;
 *              answers "allocated <count> <bytes>"
 *   "free"  -> frees the N blocks; answers "freed <count> <bytes>"
 *   "exit"  -> exits 0
 * With alloctop --max-live smaller than N, the blocks past the map's capacity are
 * counted as allocations but not tracked: drops.live_map_full, then untracked_frees. */
#include "rel.h"

#define MAXN 500000

static void *blocks[MAXN];
static size_t sizes[MAXN];

NOIPA void *site_burst(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void site_burst_free(void *p)
{
	free(p);
	REL_BARRIER();
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	unsigned long long bytes = 0;
	char cmd[64];

	if (n < 1 || n > MAXN)
		rel_die("burst: N must be 1..500000");
	for (long i = 0; i < n; i++)
		sizes[i] = 1 + (size_t)i % 64;
	site_burst_free(site_burst(32));	/* warm up the allocator before attach */
	rel_ready();
	while (rel_line(cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "alloc")) {
			bytes = 0;
			for (long i = 0; i < n; i++) {
				blocks[i] = site_burst(rel_opq(sizes[i]));
				if (!blocks[i])
					rel_die("malloc failed");
				bytes += sizes[i];
			}
			rel_out("allocated %ld %llu", n, bytes);
		} else if (!strcmp(cmd, "free")) {
			for (long i = 0; i < n; i++)
				site_burst_free(blocks[i]);
			rel_out("freed %ld %llu", n, bytes);
		} else if (!strcmp(cmd, "exit")) {
			break;
		}
	}
	return 0;
}
