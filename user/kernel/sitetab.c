#include "kernel/sitetab.h"
#include "kernel/bpfmap.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Reading sites one by one costs about four times what a batched whole read costs a
 * site: past a quarter of the sites changed, read them all. */
#define AT_WHOLE_READ_SHARE 4

int at_site_cmp(const void *a, const void *b)
{
	const struct at_site_view *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->stack_id > y->stack_id) - (x->stack_id < y->stack_id);
}

const struct at_site_view *at_site_find(const struct at_site_view *v, size_t n, int pid, __u64 stack_id)
{
	struct at_site_view key = { .pid = pid, .stack_id = stack_id };

	return n ? bsearch(&key, v, n, sizeof(key), at_site_cmp) : NULL;
}

static int on_news(void *ctx, void *data, size_t size)
{
	struct at_sitetab *t = ctx;

	if (size < sizeof(struct at_site_key))
		return 0;
	if (t->nr_news == t->cap_news) {
		t->cap_news = t->cap_news ? t->cap_news * 2 : 256;
		t->news = at_xrealloc(t->news, t->cap_news, sizeof(*t->news));
	}
	memcpy(&t->news[t->nr_news++], data, sizeof(struct at_site_key));
	return 0;
}

int at_sitetab__init(struct at_sitetab *t, const struct at_map_fds *fds, int ncpus)
{
	memset(t, 0, sizeof(*t));
	t->fds = *fds;
	t->ncpus = ncpus;
	t->val = at_xcalloc(ncpus, sizeof(*t->val));
	t->dirty = at_xcalloc(fds->site_slots / 8, sizeof(__u64));
	t->dwords = at_xcalloc(fds->site_slots / 8, sizeof(*t->dwords));
	t->dirty_map = mmap(NULL, fds->site_slots, PROT_READ | PROT_WRITE, MAP_SHARED, fds->site_dirty, 0);
	if (t->dirty_map == MAP_FAILED) {
		t->dirty_map = NULL;
		return -errno;
	}
	t->rb = ring_buffer__new(fds->site_news, on_news, t, NULL);
	return t->rb ? 0 : -errno;
}

void at_sitetab__fini(struct at_sitetab *t)
{
	if (t->reader_state > 0)
		at_sitereader__close(&t->reader);
	ring_buffer__free(t->rb);
	if (t->dirty_map)
		munmap(t->dirty_map, t->fds.site_slots);
	free(t->v);
	free(t->idle);
	free(t->news);
	free(t->pick);
	free(t->dirty);
	free(t->dwords);
	free(t->by_slot);
	free(t->val);
	free(t->lives);
	memset(t, 0, sizeof(*t));
}

static void sum_counts(struct at_site_counts *d, const struct at_site_stats *percpu, int ncpus)
{
	memset(d, 0, sizeof(*d));
	for (int c = 0; c < ncpus; c++)
		at_site_counts_add(d, &percpu[c].c);
}

/* The site's lifetimes as read now (want_lives): from one CPU copy each, or already
 * summed (percpu NULL). */
static void keep_life(struct at_sitetab *t, int pid, __u64 stack_id, const struct at_site_stats *percpu,
		      const __u32 *summed)
{
	struct at_site_life *l;

	if (!t->want_lives)
		return;
	if (t->nr_lives == t->cap_lives) {
		t->cap_lives = t->cap_lives ? t->cap_lives * 2 : 256;
		t->lives = at_xrealloc(t->lives, t->cap_lives, sizeof(*t->lives));
	}
	l = &t->lives[t->nr_lives++];
	l->pid = pid;
	l->stack_id = stack_id;
	if (summed) {
		memcpy(l->lt, summed, sizeof(l->lt));
		return;
	}
	memset(l->lt, 0, sizeof(l->lt));
	for (int c = 0; c < t->ncpus; c++)
		for (int b = 0; b < AT_LT_BUCKETS; b++)
			l->lt[b] += percpu[c].lifetime[b];
}

/* A process's reserved unknown site stays empty unless a map filled up: not listed. */
static bool empty(const struct at_site_counts *c)
{
	return !c->allocs && !c->frees && !c->live_allocs;
}

static void push_view(struct at_sitetab *t, const struct at_site_key *k, const struct at_site_counts *c)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->v = at_xrealloc(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n++] = (struct at_site_view){ .pid = k->pid, .stack_id = k->stack_id, .s = *c };
}

static void push_idle(struct at_sitetab *t, const struct at_site_key *k)
{
	if (t->nr_idle == t->cap_idle) {
		t->cap_idle = t->cap_idle ? t->cap_idle * 2 : 16;
		t->idle = at_xrealloc(t->idle, t->cap_idle, sizeof(*t->idle));
	}
	t->idle[t->nr_idle++] = *k;
}

/* Takes the marks the BPF side left: an atomic exchange per set word, so a mark made
 * meanwhile is either taken now or stays for the next refresh. */
static void take_dirty(struct at_sitetab *t)
{
	size_t words = t->fds.site_slots / 8;

	t->nr_dwords = 0;
	for (size_t w = 0; w < words; w++) {
		t->dirty[w] = t->dirty_map[w] ? __atomic_exchange_n(&t->dirty_map[w], 0, __ATOMIC_SEQ_CST) : 0;
		if (t->dirty[w])
			t->dwords[t->nr_dwords++] = (__u32)w;
	}
}

static bool is_dirty(const struct at_sitetab *t, int pid, __u64 stack_id)
{
	return ((const __u8 *)t->dirty)[at_site_slot(pid, stack_id, t->fds.site_slots - 1)];
}

static int add_whole(void *ctx, const void *keys, const void *vals, size_t n)
{
	struct at_sitetab *t = ctx;
	const struct at_site_key *k = keys;

	for (size_t i = 0; i < n; i++) {
		struct at_site_counts c;

		const struct at_site_stats *v = (const struct at_site_stats *)vals + i * t->ncpus;

		sum_counts(&c, v, t->ncpus);
		if (empty(&c)) {
			push_idle(t, &k[i]);
		} else {
			push_view(t, &k[i], &c);
			keep_life(t, (int)k[i].pid, k[i].stack_id, v, NULL);
		}
	}
	t->reads += n;
	return 0;
}

/* Marks and announcements are taken before the read: whatever changes during it is
 * marked or announced again, and read by the next refresh. */
static int read_whole(struct at_sitetab *t)
{
	int err;

	t->lost_seen = *t->fds.site_news_lost;
	t->nr_news = t->n = t->nr_idle = t->reads = 0;
	err = at_map_read_chunks(t->fds.sites, sizeof(struct at_site_key), t->ncpus * sizeof(struct at_site_stats),
				 1024, add_whole, t);
	if (!err && t->fds.sites_more >= 0)
		err = at_map_read_chunks(t->fds.sites_more, sizeof(struct at_site_key),
					 t->ncpus * sizeof(struct at_site_stats), 1024, add_whole, t);
	if (!err && t->n)	/* t->v is NULL while the map is empty */
		qsort(t->v, t->n, sizeof(*t->v), at_site_cmp);
	t->synced = !err;
	t->whole = true;
	t->slots_stale = true;
	return err;
}

/* One site from the kernel: 1 if found (into c), 0 if gone, -errno. */
static int read_one(struct at_sitetab *t, int pid, __u64 stack_id, struct at_site_counts *c)
{
	struct at_site_key k = { .pid = pid, .stack_id = stack_id };
	int err;

	t->reads++;
	err = at_map_lookup_either(t->fds.sites, t->fds.sites_more, &k, t->val);
	if (err)
		return err == -ENOENT ? 0 : err;
	sum_counts(c, t->val, t->ncpus);
	keep_life(t, pid, stack_id, t->val, NULL);
	return 1;
}

/* The listed sites by slot, so that a refresh visits only the slots marked. */
static void index_slots(struct at_sitetab *t)
{
	if (!t->slots_stale)
		return;
	if (t->cap_slot < t->n) {
		t->cap_slot = t->n + t->n / 4;
		t->by_slot = at_xrealloc(t->by_slot, t->cap_slot, sizeof(*t->by_slot));
	}
	for (size_t i = 0; i < t->n; i++)
		t->by_slot[i] = (struct at_kv){ at_site_slot(t->v[i].pid, t->v[i].stack_id, t->fds.site_slots - 1), i };
	at_radix_sort(t->by_slot, t->n);
	t->slots_stale = false;
}

/* First entry of by_slot with key >= slot. */
static size_t slot_start(const struct at_sitetab *t, __u64 slot)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->by_slot[mid].key < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Adds the listed sites of a slot to pick[n..); returns the new n. */
static size_t pick_slot(struct at_sitetab *t, __u64 slot, size_t n)
{
	for (size_t j = slot_start(t, slot); j < t->n && t->by_slot[j].key == slot; j++)
		t->pick[n++] = t->by_slot[j].val;
	return n;
}

static size_t pick_dirty(struct at_sitetab *t)
{
	const __u8 *bytes = (const __u8 *)t->dirty;
	size_t n = 0;

	index_slots(t);
	if (t->cap_pick < t->n) {
		t->cap_pick = t->n;
		t->pick = at_xrealloc(t->pick, t->cap_pick, sizeof(*t->pick));
	}
	for (size_t d = 0; d < t->nr_dwords; d++)
		for (__u64 b = 0; b < 8; b++) {
			__u64 slot = (__u64)t->dwords[d] * 8 + b;

			if (bytes[slot])
				n = pick_slot(t, slot, n);
		}
	return n;
}

static bool reader_ready(struct at_sitetab *t)
{
	if (!t->reader_state)
		t->reader_state = at_sitereader__open(&t->reader, t->fds.sites, t->fds.sites_more, t->ncpus) ? -1 : 1;
	return t->reader_state > 0;
}

/* pick[from, from + n) through the reader: the number of sites gone, or -errno. */
static int reread_batch(struct at_sitetab *t, size_t from, size_t n)
{
	struct at_site_read *r = t->reader.reqs;
	int gone = 0, err;

	for (size_t i = 0; i < n; i++) {
		const struct at_site_view *v = &t->v[t->pick[from + i]];

		r[i].key = (struct at_site_key){ .pid = (__u32)v->pid, .stack_id = v->stack_id };
	}
	if ((err = at_sitereader_run(&t->reader, n, t->want_lives)))
		return err;
	for (size_t i = 0; i < n; i++) {
		struct at_site_view *v = &t->v[t->pick[from + i]];

		if (!r[i].found) {
			v->pid = -1;	/* gone: compacted by the caller */
			gone++;
			continue;
		}
		v->s = r[i].c;
		keep_life(t, v->pid, v->stack_id, NULL, r[i].lifetime);
	}
	t->reads += n;
	return gone;
}

/* pick[from, from + n) one lookup each: the number of sites gone, or -errno. */
static int reread_each(struct at_sitetab *t, size_t from, size_t n)
{
	int gone = 0;

	for (size_t p = from; p < from + n; p++) {
		struct at_site_view *v = &t->v[t->pick[p]];
		int rc = read_one(t, v->pid, v->stack_id, &v->s);

		if (rc < 0)
			return rc;
		if (rc == 0) {
			v->pid = -1;
			gone++;
		}
	}
	return gone;
}

/* Listed sites read again; one the kernel no longer has is dropped. */
static int reread_picked(struct at_sitetab *t, size_t npick)
{
	size_t kept = 0, gone = 0;
	int err = 0;

	for (size_t p = 0; p < npick && !err; p += AT_READ_BATCH) {
		size_t n = npick - p < AT_READ_BATCH ? npick - p : AT_READ_BATCH;
		int rc = reader_ready(t) ? reread_batch(t, p, n) : reread_each(t, p, n);

		if (rc < 0 && t->reader_state > 0) {
			/* the reader failed (it only reads): site by site from now on */
			at_sitereader__close(&t->reader);
			t->reader_state = -1;
			rc = reread_each(t, p, n);
		}
		if (rc < 0)
			err = rc;
		else
			gone += (size_t)rc;
	}
	if (!gone)
		return err;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].pid != -1)
			t->v[kept++] = t->v[i];
	t->slots_stale = true;
	t->n = kept;
	return err;
}

/* Idle sites that were written to, and new ones: listed once they count something. */
static int read_new(struct at_sitetab *t, const struct at_site_key *k, bool *added)
{
	struct at_site_counts c;
	int rc = read_one(t, k->pid, k->stack_id, &c);

	if (rc <= 0)
		return rc;
	if (empty(&c)) {
		push_idle(t, k);
	} else {
		push_view(t, k, &c);
		*added = true;
	}
	return 0;
}

/* v[0, sorted) is in key order, what this refresh appended after it is not. */
static bool known(const struct at_sitetab *t, size_t sorted, const struct at_site_key *k)
{
	if (at_site_find(t->v, sorted, k->pid, k->stack_id))
		return true;
	for (size_t i = sorted; i < t->n; i++)
		if (t->v[i].pid == (int)k->pid && t->v[i].stack_id == k->stack_id)
			return true;
	for (size_t i = 0; i < t->nr_idle; i++)
		if (t->idle[i].pid == k->pid && t->idle[i].stack_id == k->stack_id)
			return true;
	return false;
}

static int read_idle_and_news(struct at_sitetab *t)
{
	size_t nidle = t->nr_idle, listed = t->n;
	struct at_site_key *idle = t->idle;
	bool added = false;
	int err = 0;

	t->idle = NULL;
	t->nr_idle = t->cap_idle = 0;
	for (size_t i = 0; i < nidle && !err; i++) {
		if (is_dirty(t, idle[i].pid, idle[i].stack_id))
			err = read_new(t, &idle[i], &added);
		else
			push_idle(t, &idle[i]);
	}
	free(idle);
	for (size_t i = 0; i < t->nr_news && !err; i++)
		if (!known(t, listed, &t->news[i]))
			err = read_new(t, &t->news[i], &added);
	if (added)
		qsort(t->v, t->n, sizeof(*t->v), at_site_cmp);
	t->slots_stale |= added;
	return err;
}

void at_sitetab_want_lives(struct at_sitetab *t, bool on)
{
	if (on && !t->want_lives)
		t->synced = false;	/* the sites not marked since have none kept yet */
	t->want_lives = on;
}

int at_sitetab_refresh(struct at_sitetab *t)
{
	size_t npick;
	int err;

	t->nr_news = t->nr_lives = 0;
	ring_buffer__consume(t->rb);
	take_dirty(t);
	if (!t->synced || *t->fds.site_news_lost != t->lost_seen)
		return read_whole(t);
	npick = pick_dirty(t);
	if ((npick + t->nr_news) * AT_WHOLE_READ_SHARE > t->n + 64)
		return read_whole(t);
	t->reads = 0;
	t->whole = false;
	err = reread_picked(t, npick);
	if (!err)
		err = read_idle_and_news(t);
	if (err)
		t->synced = false;	/* some marks were taken but not read: read it all next */
	return err;
}

static bool in_set(int pid, const int *pids, int n)
{
	return bsearch(&pid, pids, n, sizeof(int), at_int_cmp) != NULL;
}

/* The stacks only the forgotten processes' sites used are deleted from map "stacks" (the
 * BPF side never deletes: an agent's churn of processes would fill it). A stack that a
 * listed, idle or announced site uses stays. A thread that found a stack in the map just
 * before (programs remember the ids they found) and whose site is not announced yet may
 * lose it: that site's stack then shows as not available. */
static void forget_stacks(struct at_sitetab *t, const __u64 *gone, size_t ng)
{
	struct at_hash keep = { 0 };
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		at_hash_put(&keep, t->v[i].stack_id, 0, (void *)1);
	for (size_t i = 0; i < t->nr_idle; i++)
		at_hash_put(&keep, t->idle[i].stack_id, 0, (void *)1);
	for (size_t i = 0; i < t->nr_news; i++)
		at_hash_put(&keep, t->news[i].stack_id, 0, (void *)1);
	for (size_t i = 0; i < ng; i++) {
		if (!gone[i] || at_hash_get(&keep, gone[i], 0))
			continue;
		at_hash_put(&keep, gone[i], 0, (void *)1);	/* once */
		n += !bpf_map_delete_elem(t->fds.stacks, &gone[i]) ||
		     (t->fds.stacks_more >= 0 && !bpf_map_delete_elem(t->fds.stacks_more, &gone[i]));
	}
	at_hash_clear(&keep);
	t->stacks_freed += n;
}

static void keep_gone(__u64 **gone, size_t *ng, size_t *cap, __u64 stack_id)
{
	if (*ng == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*gone = at_xrealloc(*gone, *cap, sizeof(**gone));
	}
	(*gone)[(*ng)++] = stack_id;
}

void at_sitetab_forget(struct at_sitetab *t, const int *pids, int n)
{
	size_t kept = 0, ng = 0, cap = 0;
	__u64 *gone = NULL;

	if (n <= 0)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (!in_set(t->v[i].pid, pids, n))
			t->v[kept++] = t->v[i];
		else
			keep_gone(&gone, &ng, &cap, t->v[i].stack_id);
	t->n = kept;
	t->slots_stale = true;
	kept = 0;
	for (size_t i = 0; i < t->nr_idle; i++)
		if (!in_set((int)t->idle[i].pid, pids, n))
			t->idle[kept++] = t->idle[i];
		else
			keep_gone(&gone, &ng, &cap, t->idle[i].stack_id);
	t->nr_idle = kept;
	if (ng)
		forget_stacks(t, gone, ng);
	free(gone);
}

bool at_sitetab_lifetimes(struct at_sitetab *t, int pid, __u64 stack_id, __u32 lt[AT_LT_BUCKETS])
{
	struct at_site_key k = { .pid = pid, .stack_id = stack_id };

	memset(lt, 0, AT_LT_BUCKETS * sizeof(*lt));
	if (at_map_lookup_either(t->fds.sites, t->fds.sites_more, &k, t->val))
		return false;
	for (int c = 0; c < t->ncpus; c++)
		for (int b = 0; b < AT_LT_BUCKETS; b++)
			lt[b] += t->val[c].lifetime[b];
	return true;
}
