#include "app/sizing.h"
#include "app/targets.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#define LARGE_KB	(256ULL << 10)

/* RssAnon of pid in kB, 0 when unreadable (gone, or a kernel thread). */
static __u64 rss_anon_kb(int pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

__u32 at_live_start_for(__u64 rss_anon_kb, __u32 max_live)
{
	/* only blocks from attach on are tracked: what the target holds is a hint of its
	 * pace, not a count (a slot per 512 bytes); the table grows from there */
	__u64 slots = rss_anon_kb * 1024 / 512;

	if (slots < AT_LIVE_START_MIN)
		slots = AT_LIVE_START_MIN;
	return slots < max_live ? (__u32)slots : max_live;
}

/* A census's targets are every process: their anonymous memory now, summed. */
static __u64 all_anon_kb(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	__u64 kb = 0;

	while (d && (e = readdir(d)))
		if (isdigit((unsigned char)e->d_name[0]))
			kb += rss_anon_kb(atoi(e->d_name));
	if (d)
		closedir(d);
	return kb;
}

void at_size_for_targets(const struct at_opts *o, struct at_tracer_opts *t)
{
	enum at_mode m = at_mode_of(o);
	__u64 kb = m == AT_MODE_CENSUS ? all_anon_kb() : 0;
	/* a launched tree's size is unknown at the start */
	bool large = m == AT_MODE_FOLLOW;

	for (int i = 0; i < o->nr_pids && m == AT_MODE_PIDS; i++)
		kb += rss_anon_kb(o->pids[i]);
	t->live_initial = large || m == AT_MODE_CENSUS ? (AT_LIVE_START_CENSUS < o->max_live ? AT_LIVE_START_CENSUS
									   : o->max_live)
						      : at_live_start_for(kb, o->max_live);
	/* --max-stacks is a cap; without it the first stacks and sites are preallocated
	 * (every run's first burst: at the start a census meets every process's first
	 * allocations) and the rest come into the maps that grow, up to a room sized to the
	 * targets: preallocating a large target's room cost 118 MB of kernel memory and
	 * ~25 ms of every start whether it came or not */
	if (!o->max_stacks) {
		t->max_stacks = AT_STACKS_SMALL;
		t->max_stacks_more = AT_STACKS_MORE * (large || kb >= LARGE_KB ? AT_STACKS_LARGE : AT_STACKS_SMALL);
	}
}
