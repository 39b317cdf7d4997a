#include "model/heapglibc.h"
#include "binary/allocator.h"
#include "binary/dwarf.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct layout_ent {
	bool ok;
	struct at_glibc_layout l;
	char why[AT_WHY_LEN];
};

/* Where the build-id debug file would be, for the message naming what is missing. */
static void debug_path(const struct at_elf *e, char *buf, size_t sz)
{
	const unsigned char *bid;
	size_t len, o;

	bid = at_elf_build_id(e, &len);
	if (!bid || len < 2) {
		snprintf(buf, sz, "a debug file (libc has no build-id)");
		return;
	}
	o = (size_t)snprintf(buf, sz, "%s/.build-id/%02x/", at_debug_dir(), bid[0]);
	for (size_t i = 1; i < len && o < sz; i++)
		o += (size_t)snprintf(buf + o, sz - o, "%02x", bid[i]);
	if (o < sz)
		snprintf(buf + o, sz - o, ".debug");
}

/* The layout of the libc file v maps, read once per file; the first miss says what is
 * missing, in one line. */
static struct layout_ent *layout_for(struct at_glibc_cache *c, int pid, const struct at_vma *v, const struct at_elf *e)
{
	struct layout_ent *ent = at_hash_get(&c->by_file, v->dev, v->ino);
	struct at_elf *dbg = NULL;
	char path[256], why[160];

	if (ent)
		return ent;
	ent = at_xcalloc(1, sizeof(*ent));
	if (!at_elf_has_dwarf(e))
		dbg = at_debugfile_find(pid, v->path, e, v->dev, v->ino);
	if (!dbg && !at_elf_has_dwarf(e)) {
		debug_path(e, path, sizeof(path));
		snprintf(ent->why, sizeof(ent->why), "no debug info for %s (%s): install libc6-dbg", v->path, path);
	} else if (at_glibc_layout_read(dbg ? dbg : e, &ent->l, why, sizeof(why))) {
		snprintf(ent->why, sizeof(ent->why), "%s (%s)", why, v->path);
	} else {
		ent->ok = true;
	}
	if (!ent->ok)
		at_warn("heap: %s; glibc's heap state is unknown, fragmentation counts only blocks seen since attach",
			ent->why);
	at_elf__close(dbg);
	at_hash_put(&c->by_file, v->dev, v->ino, ent);
	return ent;
}

/* Live chunks of every age, and which of them the live-block map does not hold: the
 * blocks from before the attach. Both lists are sorted by address. */
static void count_live(const struct at_gheap *g, __u64 hdr, const struct at_kv *b, size_t n, struct at_heap_proc *hp)
{
	__u64 matched = 0, matched_bytes = 0;
	size_t j = 0;

	for (size_t i = 0; i < g->nr_live; i++) {
		__u64 sz = g->live[i].end - g->live[i].start;

		hp->live_allocs_all++;
		hp->live_bytes_all += sz;
		hp->live_hist[at_hist_bucket(sz, AT_HOLE_BUCKETS)]++;
	}
	for (size_t i = 0; i < n; i++) {
		__u64 c = b[i].key - hdr;

		while (j < g->nr_live && g->live[j].start < c)
			j++;
		if (j < g->nr_live && g->live[j].start == c) {
			matched++;
			matched_bytes += g->live[j].end - g->live[j].start;
			j++;
		}
	}
	hp->preattach_allocs = hp->live_allocs_all - matched;
	hp->preattach_bytes = hp->live_bytes_all - matched_bytes;
}

bool at_heap_glibc(struct at_glibc_cache *c, struct at_elfcache *ec, int pid, const struct at_maps *m,
		   const struct at_kv *blocks, size_t n, struct at_heap_proc *hp, struct at_gheap *g)
{
	const struct at_elf *e;
	const struct at_vma *v = at_allocator_pick(ec, pid, m, &e);
	struct layout_ent *ent;
	__u64 bias;
	double t0;

	if (!v || !e || !v->path) {
		snprintf(hp->why, sizeof(hp->why), "libc's file is not readable");
		return false;
	}
	ent = layout_for(c, pid, v, e);
	if (!ent->ok) {
		snprintf(hp->why, sizeof(hp->why), "%s", ent->why);
		return false;
	}
	if (at_elf_map_bias(e, v->pgoff, v->end - v->start, v->start, &bias)) {
		snprintf(hp->why, sizeof(hp->why), "libc's load address is unknown (%s)", v->path);
		return false;
	}
	t0 = at_now_mono();
	if (at_gheap_read(pid, &ent->l, bias, g, hp->why, sizeof(hp->why))) {
		at_debug("heap: pid %d: %s", pid, hp->why);
		hp->read_failed = true;
		return false;
	}
	at_debug("heap: pid %d: glibc's heap read: %llu arenas, %zu live chunks, %.3f s", pid,
		 (unsigned long long)g->mi.arenas, g->nr_live, at_now_mono() - t0);
	hp->allocator = true;
	hp->why[0] = 0;
	hp->mi = g->mi;
	hp->mmapped_found = g->mmapped_found;
	count_live(g, ent->l.mc_fd.off, blocks, n, hp);
	return true;
}

void at_glibc_cache_fini(struct at_glibc_cache *c)
{
	at_hash_free_all(&c->by_file);
}
