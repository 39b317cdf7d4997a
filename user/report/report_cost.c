#include "report/report_cost.h"

#include <stdio.h>

json_object *at_json_probe_cost(const struct at_probe_cost *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "entry", json_object_new_double(c->entry_ns));
	json_object_object_add(o, "entry_stepped", json_object_new_double(c->stepped_ns));
	json_object_object_add(o, "return", json_object_new_double(c->return_ns));
	json_object_object_add(o, "window_timer_sample", json_object_new_double(c->sample_ns));
	return o;
}

json_object *at_json_overhead(const struct at_overhead *ov)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "probe_ns_per_s", ov->known ? json_object_new_double(ov->probe_ns_per_s) : NULL);
	json_object_object_add(o, "cpu_share", ov->cpu_known ? json_object_new_double(ov->cpu_share) : NULL);
	/* all of its CPU time in probes: no finite figure */
	json_object_object_add(o, "slowdown",
			       ov->cpu_known && ov->slowdown ? json_object_new_double(ov->slowdown) : NULL);
	json_object_object_add(o, "probe_ns", json_object_new_double(ov->probe_ns));
	return o;
}

static const char *rate(double ns_per_s, char *buf, size_t sz)
{
	if (ns_per_s >= 1e6)
		snprintf(buf, sz, "%.1f ms/s", ns_per_s / 1e6);
	else
		snprintf(buf, sz, "%.1f us/s", ns_per_s / 1e3);
	return buf;
}

const char *at_fmt_overhead(const struct at_overhead *ov, char *buf, size_t sz)
{
	char r[32];

	if (!ov->known)
		snprintf(buf, sz, "-");
	else if (!ov->cpu_known)
		snprintf(buf, sz, "%s", rate(ov->probe_ns_per_s, r, sizeof(r)));
	else if (ov->slowdown)
		snprintf(buf, sz, "%.1f%% %.2fx", ov->cpu_share * 100, ov->slowdown);
	else
		snprintf(buf, sz, "100%%");
	return buf;
}

const char *at_fmt_overhead_long(const struct at_overhead *ov, char *buf, size_t sz)
{
	char r[32];

	if (!ov->known)
		snprintf(buf, sz, "probes cost: measured from the next interval on");
	else if (!ov->cpu_known)
		snprintf(buf, sz, "probes cost %s (no CPU time used meanwhile)", rate(ov->probe_ns_per_s, r, sizeof(r)));
	else if (ov->slowdown)
		snprintf(buf, sz, "probes cost %s, %.1f%% of its CPU time: slowdown about %.2fx",
			 rate(ov->probe_ns_per_s, r, sizeof(r)), ov->cpu_share * 100, ov->slowdown);
	else
		snprintf(buf, sz, "probes cost %s, about all of its CPU time", rate(ov->probe_ns_per_s, r, sizeof(r)));
	return buf;
}
