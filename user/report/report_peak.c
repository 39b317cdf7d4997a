#include "report/report_peak.h"
#include "lib/hist.h"
#include "lib/util.h"

#include <string.h>

#define AT_PEAK_TEXT_SITES 5	/* sites listed under a process's peak line */

#define ADD(o, k, v) json_object_object_add((o), (k), (v))

json_object *at_peak_json(const struct at_report_ctx *c, int pid, at_peak_frames_fn frames)
{
	const struct at_peak_info *pk = at_model_peak(c->model, pid);
	json_object *o, *sites;

	if (!pk)
		return NULL;
	o = json_object_new_object();
	sites = json_object_new_array();
	ADD(o, "live_bytes", json_object_new_uint64(pk->live_bytes));
	ADD(o, "live_allocs", json_object_new_uint64(pk->live_allocs));
	ADD(o, "t", json_object_new_double(pk->t));
	ADD(o, "exact", json_object_new_boolean(pk->exact));
	for (size_t i = 0; i < pk->nr_sites && i < (size_t)c->opts->top; i++) {
		struct at_site_view sv = { .pid = pid, .stack_id = pk->sites[i].stack_id };
		json_object *s = json_object_new_object();
		char id[24];

		snprintf(id, sizeof(id), "%016llx", (unsigned long long)sv.stack_id);
		ADD(s, "stack_id", json_object_new_string(id));
		ADD(s, "frames", frames(c, &sv));
		ADD(s, "live_bytes", json_object_new_int64(pk->sites[i].live_bytes));
		ADD(s, "live_allocs", json_object_new_int64(pk->sites[i].live_allocs));
		json_object_array_add(sites, s);
	}
	ADD(o, "sites", sites);
	return o;
}

void at_peak_text(FILE *out, const struct at_report_ctx *c, int pid)
{
	const struct at_peak_info *pk = at_model_peak(c->model, pid);
	char b[16], name[512], clean[512];

	if (!pk)
		return;
	fprintf(out, "  peak live %s (%llu blocks) at %.2fs, %zu sites%s\n", at_fmt_bytes(pk->live_bytes, b, sizeof(b)),
		(unsigned long long)pk->live_allocs, pk->t, pk->nr_sites, pk->exact ? "" : " (sites read as it moved)");
	for (size_t i = 0; i < pk->nr_sites && i < AT_PEAK_TEXT_SITES; i++) {
		const struct at_site_frames *sf = at_model_frames(c->model, pid, pk->sites[i].stack_id);
		const struct at_frame *f = sf ? at_site_frame_at(sf, 0) : NULL;

		snprintf(name, sizeof(name), "[unknown stack]");
		if (f)
			at_frame_str(f, name, sizeof(name));
		at_utf8_clean(name, clean, sizeof(clean));
		for (char *p = clean; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		fprintf(out, "    %10s %8lld blocks  %s\n", at_fmt_bytes(pk->sites[i].live_bytes, b, sizeof(b)),
			(long long)pk->sites[i].live_allocs, clean);
	}
}
