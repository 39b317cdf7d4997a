/* storm THREADS: THREADS threads allocating as fast as they can, with exact counts.
 *   ready <pid>  (every thread exists and has allocated once: tcache set up)
 *   "go"    -> all threads run malloc/free (sizes 1..512, every 8th block kept in a
 *              per-thread ring of 32, the rest freed at once)
 *   "stop"  -> threads stop and wait; answers one JSON line of truth:
 *              {"allocs", "frees", "alloc_bytes", "free_bytes", "live_allocs", "live_bytes"}
 *              counted from go to stop (the rings are still live)
 *   "exit"  -> frees the rings, joins, exits 0 */
#include "rel.h"

#include <pthread.h>
#include <stdatomic.h>

#define MAXT 256
#define RING 32

struct worker {
	pthread_t th;
	uint64_t seed;
	unsigned long long allocs, frees, abytes, fbytes;
	void *ring[RING];
	size_t rsize[RING];
	char pad[64];
};

static struct worker w[MAXT];
static atomic_int phase;	/* 0 wait, 1 run, 2 stop, 3 exit */
static atomic_int parked;
static pthread_barrier_t ready;

NOIPA void *site_storm(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void storm_free(void *p)
{
	free(p);
	REL_BARRIER();
}

static void *run(void *arg)
{
	struct worker *me = arg;
	unsigned long i = 0;

	storm_free(site_storm(64));	/* before attach */
	pthread_barrier_wait(&ready);
	while (atomic_load(&phase) == 0)
		usleep(1000);
	while (atomic_load_explicit(&phase, memory_order_relaxed) == 1) {
		size_t n = 1 + rel_rand(&me->seed) % 512;
		void *p = site_storm(rel_opq(n));

		if (!p)
			rel_die("malloc failed");
		me->allocs++;
		me->abytes += n;
		if ((++i & 7) == 0) {
			unsigned r = (unsigned)(i >> 3) % RING;

			if (me->ring[r]) {
				storm_free(me->ring[r]);
				me->frees++;
				me->fbytes += me->rsize[r];
			}
			me->ring[r] = p;
			me->rsize[r] = n;
			continue;
		}
		storm_free(p);
		me->frees++;
		me->fbytes += n;
	}
	atomic_fetch_add(&parked, 1);
	while (atomic_load(&phase) != 3)
		usleep(1000);
	for (int r = 0; r < RING; r++)
		storm_free(me->ring[r]);
	return NULL;
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 64;
	char cmd[64];

	if (nt < 1 || nt > MAXT)
		rel_die("storm: THREADS must be 1..256");
	pthread_barrier_init(&ready, NULL, nt + 1);
	for (int i = 0; i < nt; i++) {
		w[i].seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
		if (pthread_create(&w[i].th, NULL, run, &w[i]))
			rel_die("pthread_create");
	}
	pthread_barrier_wait(&ready);
	rel_ready();
	while (rel_line(cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "go")) {
			atomic_store(&phase, 1);
		} else if (!strcmp(cmd, "stop")) {
			unsigned long long a = 0, f = 0, ab = 0, fb = 0, la = 0, lb = 0;

			atomic_store(&phase, 2);
			while (atomic_load(&parked) < nt)
				usleep(1000);
			for (int i = 0; i < nt; i++) {
				a += w[i].allocs;
				f += w[i].frees;
				ab += w[i].abytes;
				fb += w[i].fbytes;
				for (int r = 0; r < RING; r++)
					if (w[i].ring[r]) {
						la++;
						lb += w[i].rsize[r];
					}
			}
			rel_out("{\"allocs\": %llu, \"frees\": %llu, \"alloc_bytes\": %llu, \"free_bytes\": %llu, "
				"\"live_allocs\": %llu, \"live_bytes\": %llu, \"threads\": %d}", a, f, ab, fb, la, lb, nt);
		} else if (!strcmp(cmd, "exit")) {
			break;
		}
	}
	if (atomic_load(&phase) != 2) {	/* EOF or exit before stop: stop the workers first */
		atomic_store(&phase, 2);
		while (atomic_load(&parked) < nt)
			usleep(1000);
	}
	atomic_store(&phase, 3);
	for (int i = 0; i < nt; i++)
		pthread_join(w[i].th, NULL);
	return 0;
}
