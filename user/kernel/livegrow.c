#include "kernel/livegrow.h"
#include "alloctop.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct at_livegrow {
	struct at_livegrow_opts o;
	struct ring_buffer *rb;
	pthread_t thread;
	bool running;
	int stop;		/* atomic */
	int tiers;		/* made so far; the thread's after __new */
	int fds[AT_LIVE_TIERS];	/* kept open: their memlock shows in /proc/self/fdinfo */
	__u64 slots;		/* atomic */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int first;		/* under mu: 1 when tier 0 is in, -errno when it failed */
};

__u32 at_live_tier_buckets(__u32 initial, __u32 max_live, __u64 used, int tier)
{
	__u64 left = used < max_live ? (max_live - used) / AT_LIVE_WAYS : 0;
	__u64 nb = (initial < max_live ? initial : max_live) / AT_LIVE_WAYS;

	if (tier >= AT_LIVE_TIERS)
		return 0;
	if (!tier)	/* at least one bucket, even for --max-live below a bucket's slots */
		return nb ? nb : 1;
	for (int i = 0; i < tier; i++)
		nb *= 4;
	/* the last tier takes what the cap leaves */
	return tier == AT_LIVE_TIERS - 1 || nb > left ? left : nb;
}

/* Creates tier t and puts it in the table; its buckets first, the BPF side reads them
 * once it finds the tier. 0, or -errno (-ENOSPC: the cap leaves none). */
static int add_tier(struct at_livegrow *g)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	int t = g->tiers, fd, err = 0;
	__u32 nb = at_live_tier_buckets(g->o.initial, g->o.max_live, __atomic_load_n(&g->slots, __ATOMIC_RELAXED), t);
	__u32 key = t;

	if (!nb)
		return -ENOSPC;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "live_tier", sizeof(__u32), sizeof(struct at_live_bucket), nb, &mo);
	if (fd < 0)
		return -errno;
	g->o.nb[t] = nb;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(g->o.outer_fd, &key, &fd, BPF_ANY))
		err = -errno;
	if (err) {
		close(fd);
		g->o.nb[t] = 0;
		return err;
	}
	g->fds[g->tiers++] = fd;
	__atomic_add_fetch(&g->slots, (__u64)nb * AT_LIVE_WAYS, __ATOMIC_RELAXED);
	at_debug("live-block table: tier %d of %u slots, %llu in all", t, nb * AT_LIVE_WAYS,
		 (unsigned long long)__atomic_load_n(&g->slots, __ATOMIC_RELAXED));
	return 0;
}

static int on_crowded(void *ctx, void *data, size_t len)
{
	struct at_livegrow *g = ctx;
	int err;

	(void)data;
	(void)len;
	err = add_tier(g);
	if (!err)
		*g->o.wanted = 0;	/* the next tier may ask in its turn */
	else if (err != -ENOSPC)
		at_debug("live-block table: tier %d not made: %s", g->tiers, strerror(-err));
	/* at the cap (or out of memory) "wanted" stays set: inserts that find no room are
	 * counted as live_map_full drops */
	return 0;
}

static void *grow_thread(void *arg)
{
	struct at_livegrow *g = arg;
	int err = add_tier(g);

	/* an update of a map of maps waits for an RCU grace period (~20 ms on a VM): off
	 * the start-up's path, which waits only before the first probe is attached */
	pthread_mutex_lock(&g->mu);
	g->first = err ? err : 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (err)
		return NULL;
	while (!__atomic_load_n(&g->stop, __ATOMIC_RELAXED))
		ring_buffer__poll(g->rb, 50);
	return NULL;
}

struct at_livegrow *at_livegrow__new(const struct at_livegrow_opts *opts)
{
	struct at_livegrow *g = at_xcalloc(1, sizeof(*g));

	memcpy(&g->o, opts, opts->sz < sizeof(g->o) ? opts->sz : sizeof(g->o));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->rb = ring_buffer__new(g->o.ring_fd, on_crowded, g, NULL);
	if (!g->rb || pthread_create(&g->thread, NULL, grow_thread, g)) {
		at_err("cannot start the live-block table's grower: %s", strerror(errno));
		at_livegrow__free(g);
		return NULL;
	}
	g->running = true;
	return g;
}

int at_livegrow__wait(struct at_livegrow *g)
{
	int err;

	pthread_mutex_lock(&g->mu);
	while (!g->first)
		pthread_cond_wait(&g->cv, &g->mu);
	err = g->first < 0 ? g->first : 0;
	pthread_mutex_unlock(&g->mu);
	if (err)
		at_err("cannot create the live-block table (%u slots): %s; try a smaller --max-live",
		       g->o.initial, strerror(-err));
	return err;
}

__u64 at_livegrow__slots(const struct at_livegrow *g)
{
	return g ? __atomic_load_n(&g->slots, __ATOMIC_RELAXED) : 0;
}

void at_livegrow__free(struct at_livegrow *g)
{
	if (!g)
		return;
	if (g->running) {
		__atomic_store_n(&g->stop, 1, __ATOMIC_RELAXED);
		pthread_join(g->thread, NULL);
	}
	ring_buffer__free(g->rb);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	for (int i = 0; i < g->tiers; i++)
		close(g->fds[i]);
	free(g);
}
