/* Fragmentation workload with ground truth from glibc itself: after "go" it builds a
 * heap (MODE=fragmented: many small blocks, every other one freed; MODE=compact: the
 * same blocks, none freed; plus a few large mmapped blocks), then prints mallinfo2()
 * as one JSON line and waits for "exit". */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 20000

static void *blocks[N];
static void *big[3];

__attribute__((noinline)) static void *site_small(size_t n)
{
	void *p = malloc(n);

	__asm__ volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) static void *site_big(size_t n)
{
	void *p = malloc(n);

	__asm__ volatile("" ::: "memory");
	return p;
}

static void wait_line(void)
{
	char buf[64];

	if (read(0, buf, sizeof(buf)) < 0)
		_exit(2);
}

int main(int argc, char **argv)
{
	int fragmented = argc > 1 && !strcmp(argv[1], "fragmented");
	struct mallinfo2 mi;
	char out[256];
	int len;

	/* no stdio buffer allocations later: everything goes through write */
	len = snprintf(out, sizeof(out), "ready %d\n", getpid());
	if (write(1, out, len) < 0)
		return 2;
	wait_line();
	for (int i = 0; i < N; i++)
		blocks[i] = site_small(40 + (i % 7) * 16);
	for (int i = 0; i < 3; i++)
		big[i] = site_big(512 * 1024);
	if (fragmented)
		for (int i = 0; i < N; i += 2)
			free(blocks[i]);
	mi = mallinfo2();
	len = snprintf(out, sizeof(out), "{\"arena\": %zu, \"hblkhd\": %zu, \"fordblks\": %zu, \"uordblks\": %zu}\n",
		       mi.arena, mi.hblkhd, mi.fordblks, mi.uordblks);
	if (write(1, out, len) < 0)
		return 2;
	wait_line();
	return 0;
}
