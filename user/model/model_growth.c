/* --growth's counters as the outputs read them (kernel/growth.h): per process, per site,
 * and the brk/mmap calls by stack. Read from the kernel when asked: only what is shown. */
#include "model/model_int.h"
#include "kernel/growth.h"

bool at_model_growth_proc(const struct at_model *m, int pid, struct at_growth_proc *g)
{
	return at_growth_proc_read(m->fds.growth_procs, pid, g);
}

bool at_model_growth_site(const struct at_model *m, int pid, __u64 stack_id, struct at_growth_site *g)
{
	return at_growth_site_read(m->fds.growth_sites, pid, stack_id, g);
}

size_t at_model_growth_calls(const struct at_model *m, struct at_growth_call **out)
{
	return at_growth_calls_read(m->fds.growth_sites, out);
}
