/* --growth's counters as the outputs read them (kernel/growth.h): per process, per site,
 * and the brk/mmap calls by stack. Read from the kernel when the model refreshes (for
 * cur's processes, the sites the outputs show and, with --growth-calls, every calling
 * stack); the outputs read the copies. */
#include "model/model_int.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

void at_model_growth_read(struct at_model *m, const struct at_site_view **sites, size_t n)
{
	if (!sites) {
		for (size_t i = 0; i < m->cur.nr_procs; i++) {
			struct at_growth_proc *g = at_xcalloc(1, sizeof(*g));

			if (at_growth_proc_read(m->fds.growth_procs, m->cur.procs[i].pid, g))
				free(at_hash_put(&m->gprocs, m->cur.procs[i].pid, 0, g));
			else
				free(g);
		}
		free(m->gcalls);
		m->gcalls = NULL;
		m->nr_gcalls = m->needs.growth_calls ? at_growth_calls_read(m->fds.growth_sites, &m->gcalls) : 0;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct at_growth_site *g = at_xcalloc(1, sizeof(*g));

		if (at_growth_site_read(m->fds.growth_sites, sites[i]->pid, sites[i]->stack_id, g))
			free(at_hash_put(&m->gsites, sites[i]->pid, sites[i]->stack_id, g));
		else
			free(g);
	}
}

bool at_model_growth_proc(const struct at_model *m, int pid, struct at_growth_proc *g)
{
	const struct at_growth_proc *r = at_hash_get(&m->gprocs, pid, 0);

	if (!r) {
		memset(g, 0, sizeof(*g));
		return false;
	}
	*g = *r;
	return true;
}

bool at_model_growth_site(const struct at_model *m, int pid, __u64 stack_id, struct at_growth_site *g)
{
	const struct at_growth_site *r = at_hash_get(&m->gsites, pid, stack_id);

	if (!r) {
		memset(g, 0, sizeof(*g));
		return false;
	}
	*g = *r;
	return true;
}

size_t at_model_growth_calls(const struct at_model *m, struct at_growth_call **out)
{
	*out = at_xcalloc(m->nr_gcalls ? m->nr_gcalls : 1, sizeof(**out));
	if (m->nr_gcalls)
		memcpy(*out, m->gcalls, m->nr_gcalls * sizeof(**out));
	return m->nr_gcalls;
}

void at_model_growth__fini(struct at_model *m)
{
	at_hash_free_all(&m->gprocs);
	at_hash_free_all(&m->gsites);
	free(m->gcalls);
}
