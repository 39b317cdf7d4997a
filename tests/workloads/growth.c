/* growth: makes memory resident at known sites, for alloctop --growth
 * (tests/integration/test_growth.py). Each site writes one byte to each page it touches,
 * every page fresh (never touched before, no transparent huge pages: MADV_NOHUGEPAGE),
 * so each write is one page fault that makes exactly one page resident:
 *   touch_brk      BRK_PAGES pages of heap grown with sbrk (grow_brk);
 *   touch_mmap     every page of an anonymous mapping (map_touched);
 *   touch_partial  PARTIAL_PAGES pages of a large malloc'd block (big_malloc), whose
 *                  first page glibc's malloc already wrote (its chunk header);
 *   touch_huge     every page of a 2 MiB-aligned anonymous region asking for a
 *                  transparent huge page (MADV_HUGEPAGE): one fault makes all 512 pages
 *                  resident if the kernel gives one, else 512 faults one each;
 *   map_never      an anonymous mapping never touched: no fault.
 * Protocol as the other workloads (tests/workloads/wl.h): "ready PID", wait for "go",
 * the measured phase, one line of JSON truth, wait for "exit". --nowait: no handshake
 * (launch mode); --truth FILE: the truth into FILE instead of stdout. The truth counts what the code did, and the RSS before and after from
 * /proc/self/statm. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define PAGE 4096UL
#define BRK_PAGES 300
#define MMAP_PAGES 500
#define BIG_BYTES (64UL << 20)
#define PARTIAL_PAGES 700
#define NEVER_PAGES 2000
#define HUGE_PAGES 512		/* 2 MiB */

static void die(const char *what)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "growth: %s: %s\n", what, strerror(errno));

	if (write(2, buf, n) < 0)
		_exit(2);
	_exit(1);
}

static void say(const char *s)
{
	size_t n = strlen(s);

	if (write(1, s, n) != (ssize_t)n)
		die("write");
}

static int read_line(char *buf, size_t cap)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(0, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
	}
	buf[n] = 0;
	return n > 0 || c == '\n';
}

/* resident pages, /proc/self/statm's second field */
static long rss_pages(void)
{
	char buf[256];
	long size, res;
	int fd = open("/proc/self/statm", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		die("/proc/self/statm");
	buf[n] = 0;
	if (sscanf(buf, "%ld %ld", &size, &res) != 2)
		die("statm format");
	return res;
}

static char *page_up(char *p)
{
	return (char *)(((unsigned long)p + PAGE - 1) & ~(PAGE - 1));
}

static void no_thp(char *p, size_t len)
{
	if (madvise(p, len, MADV_NOHUGEPAGE))
		die("madvise");
}

/* one write per page: the first to each is the page's fault */
#define TOUCH_FN(name)                                          \
	NOIPA void name(char *p, size_t pages)                  \
	{                                                       \
		for (size_t i = 0; i < pages; i++)              \
			((volatile char *)p)[i * PAGE] = 1;     \
	}

TOUCH_FN(touch_brk)
TOUCH_FN(touch_mmap)
TOUCH_FN(touch_partial)
TOUCH_FN(touch_huge)

/* heap grown with brk: BRK_PAGES whole fresh pages above the old break */
NOIPA char *grow_brk(size_t *grown)
{
	char *old = sbrk(0), *p;

	*grown = (BRK_PAGES + 1) * PAGE;
	p = sbrk(*grown);
	if (p == (void *)-1)
		die("sbrk");
	p = page_up(old);
	no_thp(p, BRK_PAGES * PAGE);
	return p;
}

NOIPA char *map_anon(size_t pages)
{
	char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

NOIPA char *map_touched(void)
{
	char *p = map_anon(MMAP_PAGES);

	no_thp(p, MMAP_PAGES * PAGE);
	return p;
}

NOIPA char *map_never(void)
{
	char *p = map_anon(NEVER_PAGES);

	__asm__ volatile("" : "+r"(p));	/* no tail call: map_never stays on the stack */
	return p;
}

/* a 2 MiB-aligned region inside a mapping twice its size, THP asked for */
NOIPA char *map_huge(void)
{
	char *p = map_anon(2 * HUGE_PAGES);
	unsigned long huge = HUGE_PAGES * PAGE;

	p = (char *)(((unsigned long)p + huge - 1) & ~(huge - 1));
	madvise(p, huge, MADV_HUGEPAGE);	/* may fail (THP off): then 512 faults */
	return p;
}

/* a block glibc serves with its own mmap; the pages after its first (which holds the
 * chunk header malloc wrote) are fresh */
NOIPA char *big_malloc(void)
{
	char *p = malloc(BIG_BYTES);

	if (!p)
		die("malloc");
	no_thp(page_up(p), BIG_BYTES - PAGE);
	return p;
}

int main(int argc, char **argv)
{
	int nowait = argc > 1 && !strcmp(argv[1], "--nowait");
	const char *truth_file = argc > 3 && !strcmp(argv[2], "--truth") ? argv[3] : NULL;
	char line[64], truth[1024];
	char *brk_p, *map_p, *big, *never, *huge;
	long rss0, rss1;
	size_t brk_grown;

	if (!nowait) {
		snprintf(line, sizeof(line), "ready %d\n", getpid());
		say(line);
		if (!read_line(line, sizeof(line)) || strcmp(line, "go"))
			die("expected 'go'");
	}
	rss0 = rss_pages();
	brk_p = grow_brk(&brk_grown);
	touch_brk(brk_p, BRK_PAGES);
	map_p = map_touched();
	touch_mmap(map_p, MMAP_PAGES);
	big = malloc(1) ? big_malloc() : NULL;	/* malloc(1): glibc's heap set up before */
	if (!big)
		die("malloc");
	touch_partial(page_up(big), PARTIAL_PAGES);
	huge = map_huge();
	touch_huge(huge, HUGE_PAGES);
	never = map_never();
	rss1 = rss_pages();
	snprintf(truth, sizeof(truth),
		 "{\"pid\": %d, \"page\": %lu, \"fault_pages\": {\"touch_brk\": %d, \"touch_mmap\": %d, "
		 "\"touch_partial\": %d, \"touch_huge\": %d}, \"brk_bytes\": %zu, \"mmap_bytes\": {\"map_touched\": %lu, "
		 "\"map_never\": %lu}, \"big_bytes\": %lu, \"rss_before_pages\": %ld, \"rss_after_pages\": %ld, "
		 "\"never_addr\": \"%p\"}\n",
		 getpid(), PAGE, BRK_PAGES, MMAP_PAGES, PARTIAL_PAGES, HUGE_PAGES, brk_grown, MMAP_PAGES * PAGE,
		 NEVER_PAGES * PAGE, BIG_BYTES, rss0, rss1, (void *)never);
	if (truth_file) {
		int fd = open(truth_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, truth, strlen(truth)) != (ssize_t)strlen(truth) || close(fd))
			die(truth_file);
	} else {
		say(truth);
	}
	if (!nowait)
		while (read_line(line, sizeof(line)) && strcmp(line, "exit"))
			;
	return 0;
}
