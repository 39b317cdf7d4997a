/* Per-process peaks of live bytes and the sites live at them (struct at_peak in
 * alloctop.h says how the kernel keeps them without a copy at each new peak). */
#include "model/model_int.h"
#include "kernel/bpfmap.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <stdlib.h>
#include <string.h>

#define AT_PEAK_TRIES 3		/* reads of the sites at the final refresh while the peak moves on */

static int by_bytes(const void *a, const void *b)
{
	const struct at_peak_site *x = a, *y = b;

	if (x->live_bytes != y->live_bytes)
		return x->live_bytes < y->live_bytes ? 1 : -1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

/* One site's live figures at peak number epoch, summed over its CPU copies. */
static bool site_at_peak(struct at_model *m, int pid, __u64 stack_id, __u64 epoch, struct at_peak_site *out)
{
	struct at_site_key k = { .pid = pid, .stack_id = stack_id };
	const struct at_site_stats *v = m->peak_val;

	if (at_map_lookup_either(m->fds.sites, m->fds.sites_more, &k, m->peak_val))
		return false;
	memset(out, 0, sizeof(*out));
	out->stack_id = stack_id;
	for (int c = 0; c < m->ncpus; c++) {
		bool saved = v[c].snap_epoch == epoch;

		out->live_allocs += saved ? v[c].snap_live_allocs : v[c].c.live_allocs;
		out->live_bytes += saved ? v[c].snap_live_bytes : v[c].c.live_bytes;
	}
	return out->live_allocs > 0 || out->live_bytes > 0;
}

/* The sites of pid live at peak number epoch, from the listed sites (sorted by pid). */
static void read_sites(struct at_model *m, int pid, __u64 epoch, struct at_peak_info *pi)
{
	size_t lo = 0, hi = m->tab.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->tab.v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	pi->nr_sites = 0;
	for (size_t i = lo; i < m->tab.n && m->tab.v[i].pid == pid; i++) {
		if (pi->nr_sites == pi->cap_sites) {
			pi->cap_sites = pi->cap_sites ? 2 * pi->cap_sites : 16;
			pi->sites = at_xrealloc(pi->sites, pi->cap_sites, sizeof(*pi->sites));
		}
		if (site_at_peak(m, pid, m->tab.v[i].stack_id, epoch, &pi->sites[pi->nr_sites]))
			pi->nr_sites++;
	}
	if (pi->nr_sites)	/* pi->sites may be NULL: qsort must not see it */
		qsort(pi->sites, pi->nr_sites, sizeof(*pi->sites), by_bytes);
}

static struct at_peak_info *peak_of(struct at_model *m, int pid)
{
	struct at_peak_info *pi = at_hash_get(&m->peaks, pid, 0);

	if (!pi) {
		pi = at_xcalloc(1, sizeof(*pi));
		at_hash_put(&m->peaks, pid, 0, pi);
	}
	return pi;
}

/* The sites are read again only when a new peak came since the last read. They are
 * consistent if the peak stayed the same while they were read (always once the process
 * has stopped allocating); else marked inexact, and at the final refresh tried again up
 * to AT_PEAK_TRIES times (a rising process would make every try fail: one per refresh
 * bounds the cost to a read of its sites). */
static void update_one(struct at_model *m, int pid, int tries)
{
	struct at_peak k, again;
	struct at_peak_info *pi;
	__u32 key = pid;

	if (bpf_map_lookup_elem(m->fds.peaks, &key, &k) || !k.epoch)
		return;
	pi = peak_of(m, pid);
	if (pi->known && pi->epoch == k.epoch && pi->exact)
		return;
	for (int i = 0; i < tries; i++) {
		read_sites(m, pid, k.epoch, pi);
		if (bpf_map_lookup_elem(m->fds.peaks, &key, &again))
			again = k;
		pi->exact = again.epoch == k.epoch;
		pi->known = true;
		pi->epoch = k.epoch;
		pi->live_bytes = k.peak_bytes;
		pi->live_allocs = k.peak_allocs;
		pi->t = k.peak_ts_ns / 1e9 - m->start_mono;
		if (pi->exact)
			break;
		k = again;
	}
}

void at_model_peak_update(struct at_model *m, bool final)
{
	if (!m->peak_val)
		m->peak_val = at_xcalloc(m->ncpus, sizeof(struct at_site_stats));
	for (size_t i = 0; i < m->cur.nr_procs; i++)
		update_one(m, m->cur.procs[i].pid, final ? AT_PEAK_TRIES : 1);
}

const struct at_peak_info *at_model_peak(const struct at_model *m, int pid)
{
	const struct at_peak_info *pi = at_hash_get(&m->peaks, pid, 0);

	return pi && pi->known ? pi : NULL;
}

void at_model_peak_forget(struct at_model *m, const int *pids, int n)
{
	for (int i = 0; i < n; i++) {
		struct at_peak_info *pi = at_hash_del(&m->peaks, pids[i], 0);

		if (pi)
			free(pi->sites);
		free(pi);
	}
}

void at_model_peak__fini(struct at_model *m)
{
	struct at_hash_ent *e;

	at_hash_for_each(&m->peaks, e)
		free(((struct at_peak_info *)e->val)->sites);
	at_hash_free_all(&m->peaks);
	free(m->peak_val);
}
