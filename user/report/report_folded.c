#include "report/report.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct line {
	char *text;
	__u64 weight;
};

struct buf {
	char *s;
	size_t len, cap;
};

/* Appends s; a name (clean) is made valid UTF-8 and has ';' and line breaks replaced:
 * ';' separates frames and a line ends the stack. */
static void put(struct buf *b, const char *s, bool clean)
{
	char tmp[4096];
	size_t n;

	if (clean)
		s = at_utf8_clean(s, tmp, sizeof(tmp));
	n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = at_xrealloc(b->s, b->cap, 1);
	}
	for (size_t i = 0; i < n; i++)
		b->s[b->len++] = !clean ? s[i] : s[i] == ';' ? ':' : s[i] == '\n' || s[i] == '\r' ? ' ' : s[i];
	b->s[b->len] = 0;
}

static __u64 weight(const struct at_site_view *sv, enum at_weight w)
{
	switch (w) {
	case AT_WEIGHT_ALLOC_BYTES:
	case AT_WEIGHT_FAULT_BYTES:	/* --growth: a site's alloc_bytes are its fault bytes */
		return sv->s.alloc_bytes;
	case AT_WEIGHT_ALLOCS:
		return sv->s.allocs;
	default:
		return sv->s.live_bytes > 0 ? (__u64)sv->s.live_bytes : 0;
	}
}

/* "comm-pid;root;...;leaf" of one site; inlined frames carry flamegraph.pl's "_[i]". */
static void stack_text(const struct at_report_ctx *c, const struct at_site_view *sv, struct buf *b)
{
	const struct at_site_frames *sf = at_model_frames(c->model, sv->pid, sv->stack_id);
	const struct at_target *t = at_model_target(c->model, sv->pid);
	char name[1024], pid[32];

	snprintf(pid, sizeof(pid), "-%d", sv->pid);
	put(b, t && t->comm[0] ? t->comm : "?", true);
	put(b, pid, false);
	if (!sf) {
		put(b, ";[unknown stack]", false);
		return;
	}
	for (__u32 n = sf->nr; n-- > 0;) {	/* outermost first */
		put(b, ";", false);
		put(b, at_frame_name(&sf->f[n], name, sizeof(name)), true);
		if (sf->f[n].inlined)
			put(b, "_[i]", false);
	}
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

int at_report_folded(FILE *out, const struct at_report_ctx *c)
{
	const struct at_snapshot *snap = at_model_cur(c->model);
	struct at_hash seen = { 0 };
	struct line *lines = NULL;
	size_t n = snap->nr_sites, nr = 0;
	int rc = 0;

	if (!c->final)
		return 0;	/* one profile, at the end (exit, signal, or the -n'th report) */
	/* the lines are sorted by text below: the sites need no order */
	lines = at_xcalloc(n ? n : 1, sizeof(*lines));
	for (size_t i = 0; i < n; i++) {
		__u64 w = weight(&snap->sites[i], c->opts->weight), k1, k2;
		struct buf b = { 0 };
		struct line *l;

		if (!w)
			continue;
		stack_text(c, &snap->sites[i], &b);
		at_hash_str(b.s, &k1, &k2);
		l = at_hash_get(&seen, k1, k2);
		if (l) {	/* two sites can fold to one stack (same functions, other lines) */
			l->weight += w;
			free(b.s);
			continue;
		}
		l = &lines[nr++];
		l->text = b.s;
		l->weight = w;
		at_hash_put(&seen, k1, k2, l);
	}
	at_hash_clear(&seen);
	qsort(lines, nr, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < nr; i++) {
		if (rc == 0 && fprintf(out, "%s %llu\n", lines[i].text, (unsigned long long)lines[i].weight) < 0)
			rc = -1;
		free(lines[i].text);
	}
	free(lines);
	return rc || fflush(out) ? -1 : 0;
}
