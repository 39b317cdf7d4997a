/* Batch reports: the plain and JSON printers side by side, over the same model. */
#ifndef AT_REPORT_H
#define AT_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "model.h"
#include "opts.h"
#include "symbolize.h"

struct at_report_ctx {
	struct at_model *model;
	struct at_symbolizer *sym;
	const struct at_opts *opts;
	double interval_s;	/* the interval this report covers */
	bool final;
};

/* Each returns 0, or -1 when the output cannot be written (closed pipe). */
int at_report_json(FILE *out, const struct at_report_ctx *c);
int at_report_text(FILE *out, const struct at_report_ctx *c);

/* Copies s into buf as valid UTF-8 (invalid bytes become U+FFFD), for JSON output. */
const char *at_utf8_clean(const char *s, char *buf, size_t sz);

#endif
