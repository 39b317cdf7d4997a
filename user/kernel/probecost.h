/* The cost model: what one probe hit costs the probed thread on this machine, measured
 * at start (tens of milliseconds) and cached per boot. Uprobe costs differ more than
 * 10x between machines, so nothing here is a constant. */
#ifndef AT_PROBECOST_H
#define AT_PROBECOST_H

#include <stdbool.h>
#include "alloctop.h"
#include "probe/probekind.h"

struct at_probe_cost {
	double entry_ns;	/* an entry hit on an instruction the kernel emulates */
	double stepped_ns;	/* an entry hit on one it single-steps out of line */
	double return_ns;	/* a return probe at the same site, over its entry alone */
	double sample_ns;	/* one sample of --max-overhead's window timer (kernel/ticks.h) */
	bool cached;		/* read from the per-boot cache, not measured now */
	double took_ms;		/* how long measuring took (0 when cached) */
};

/* Fills c from the cache (ALLOCTOP_CACHE_DIR, default /run/alloctop; the key is the boot,
 * the kernel release and alloctop's build), or measures it and caches it; measures
 * anyway when ALLOCTOP_RECALIBRATE is set. Needs what the tracer needs (root, BPF).
 * 0, or -errno after a one-line error. */
int at_probe_cost_get(struct at_probe_cost *c);
/* The cost of an entry hit of kind k. */
double at_probe_cost_entry(const struct at_probe_cost *c, enum at_hit_kind k);
/* What one call of each function costs with these probes on it (0 if unprobed). */
void at_probe_cost_per_call(const struct at_probe_cost *c, const struct at_func_probe fp[AT_NR_FUNCS],
			    double ns[AT_NR_FUNCS]);

#endif
