/* lateheap: a heap built before alloctop attaches, for the allocator-read fragmentation
 * (issue 20). Before "ready": 200,000 x 64 B and 2,000 x 3,000 B blocks, 3 mmapped
 * 512 KiB blocks, then 20 of the 64 B blocks freed (7 go to the tcache, 13 to a
 * fastbin); with --threads, 4 threads do the same in their own arenas and stay alive
 * (their tcaches too). It prints "built {mallinfo2}" and "ready PID". After "go": 100
 * more 64 B blocks, then (--free-half) every other pre-attach 64 B and 3,000 B block
 * freed; then one JSON line of truth: mallinfo2() (glibc's own figures, read at this
 * quiescent point) and the blocks it holds. Waits for "exit". Not wl.h's protocol for
 * the truth: its figures are glibc's, not alloctop's accounting rules. */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NSMALL
#define NSMALL 200000
#endif
#define NMID 2000
#define NBIG 3
#define NFREE 20		/* pre-attach frees of 64 B blocks: 7 to the tcache, 13 to a fastbin */
#define NMORE 100
#define NT 4
#define T_SMALL 20000
#define T_MID 200

/* not static: the compiler must not drop blocks it sees never read */
void *small[NSMALL], *mid[NMID], *big[NBIG], *more[NMORE];
void *tsmall[NT][T_SMALL], *tmid[NT][T_MID];
static int tready, quit;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

__attribute__((noinline)) static void *site_late(size_t n)
{
	void *p = malloc(n);

	__asm__ volatile("" ::: "memory");
	return p;
}

static void put(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		_exit(2);
}

static void wait_line(void)
{
	char buf[64];

	if (read(0, buf, sizeof(buf)) < 0)
		_exit(2);
}

static void mallinfo_json(char *out, size_t sz)
{
	struct mallinfo2 mi = mallinfo2();

	snprintf(out, sz,
		 "{\"arena\": %zu, \"ordblks\": %zu, \"smblks\": %zu, \"hblks\": %zu, \"hblkhd\": %zu, "
		 "\"fsmblks\": %zu, \"uordblks\": %zu, \"fordblks\": %zu, \"keepcost\": %zu",
		 mi.arena, mi.ordblks, mi.smblks, mi.hblks, mi.hblkhd, mi.fsmblks, mi.uordblks, mi.fordblks,
		 mi.keepcost);
}

/* A thread's own arena: blocks, NFREE of them freed, then it waits (keeping its tcache). */
static void *thread_main(void *arg)
{
	long t = (long)arg;

	for (int i = 0; i < T_SMALL; i++)
		tsmall[t][i] = malloc(64);
	for (int i = 0; i < T_MID; i++)
		tmid[t][i] = malloc(3000);
	for (int i = 0; i < NFREE; i++)
		free(tsmall[t][i]);
	pthread_mutex_lock(&mu);
	tready++;
	pthread_cond_broadcast(&cv);
	while (!quit)	/* until exit (another thread's broadcast must not end it: its tcache would go) */
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void build(int threads)
{
	pthread_t tid;

	for (int i = 0; i < NSMALL; i++)
		small[i] = malloc(64);
	for (int i = 0; i < NMID; i++)
		mid[i] = malloc(3000);
	for (int i = 0; i < NBIG; i++)
		big[i] = malloc(512 * 1024);	/* above the mmap threshold: mmapped chunks */
	__asm__ volatile("" ::"r"(big), "r"(more), "r"(tsmall), "r"(tmid) : "memory");
	for (int i = 0; i < NFREE; i++)
		free(small[i]);
	for (long t = 0; threads && t < NT; t++)
		if (pthread_create(&tid, NULL, thread_main, (void *)t))
			_exit(2);
	pthread_mutex_lock(&mu);
	while (threads && tready < NT)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

int main(int argc, char **argv)
{
	int threads = 0, free_half = 0;
	long held, freed = 0;
	char mi[512], out[1024];

	for (int i = 1; i < argc; i++) {
		threads |= !strcmp(argv[i], "--threads");
		free_half |= !strcmp(argv[i], "--free-half");
	}
	build(threads);
	mallinfo_json(mi, sizeof(mi));
	snprintf(out, sizeof(out), "built %s}\nready %d\n", mi, getpid());
	put(out);
	wait_line();
	for (int i = 0; i < NMORE; i++)
		more[i] = site_late(64);
	if (free_half) {
		for (int i = NFREE; i < NSMALL; i += 2, freed++)
			free(small[i]);
		for (int i = 0; i < NMID; i += 2, freed++)
			free(mid[i]);
	}
	held = NSMALL - NFREE + NMID + NBIG - freed + (threads ? NT * (T_SMALL - NFREE + T_MID) : 0);
	mallinfo_json(mi, sizeof(mi));
	snprintf(out, sizeof(out), "%s, \"preattach_held\": %ld, \"new_held\": %d, \"threads\": %d, \"free_half\": %d}\n", mi, held,
		 NMORE, threads ? NT : 0, free_half);
	put(out);
	wait_line();
	return 0;
}
