/* cfi-stat FILE [DEBUGFILE]: compiles a module's unwind table (user/binary/cfi.c) and prints
 * its size, what it is made of and how long it took; -d also dumps the rows.
 * Not under build/tests: tests/run.sh runs everything there as a unit test. */
#include "binary/cfi.h"
#include "binary/elf.h"
#include "lib/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void dump(const struct at_cfi *c)
{
	static const char *const types[] = { "none", "rsp", "rbp", "*rbp", "end" };

	for (size_t i = 0; i < c->nr; i++) {
		const struct at_cfi_row *r = &c->rows[i];

		printf("%08x %-4s %+6d rbp %s%+d\n", r->pc, r->cfa_type < 5 ? types[r->cfa_type] : "?", r->cfa_off,
		       r->rbp_rule == AT_RBP_OFFSET ? "c" : "same", r->rbp_rule == AT_RBP_OFFSET ? r->rbp_off : 0);
	}
}

int main(int argc, char **argv)
{
	bool d = argc > 1 && !strcmp(argv[1], "-d");
	struct at_elf *e, *dbg = NULL;
	size_t types[6] = { 0 };
	struct at_cfi c;
	double t0, t;
	int rc;

	if (argc < 2 + d) {
		fprintf(stderr, "usage: cfi-stat [-d] FILE [DEBUGFILE]\n");
		return AT_EXIT_USAGE;
	}
	e = at_elf__open_path(argv[1 + d]);
	if (!e || (argc > 2 + d && !(dbg = at_elf__open_path(argv[2 + d])))) {
		fprintf(stderr, "cfi-stat: cannot read %s\n", e ? argv[2 + d] : argv[1 + d]);
		return AT_EXIT_FAIL;
	}
	t0 = at_now_mono();
	rc = at_cfi__build(e, dbg, &c);
	t = at_now_mono() - t0;
	if (rc) {
		fprintf(stderr, "cfi-stat: %s: %s\n", argv[1 + d], strerror(-rc));
		return AT_EXIT_FAIL;
	}
	for (size_t i = 0; i < c.nr; i++)
		types[c.rows[i].cfa_type < 5 ? c.rows[i].cfa_type : 5]++;
	printf("%s: source %s%s, %zu FDEs, %zu rows before merging, %zu rows = %zu bytes, %.1f ms "
	       "(none %zu, rsp %zu, rbp %zu, *rbp %zu, end %zu)\n", argv[1 + d],
	       c.source & AT_CFI_SRC_EH_FRAME ? "eh_frame " : "", c.source & AT_CFI_SRC_DEBUG_FRAME ? "debug_frame" : "",
	       c.nr_fdes, c.nr_raw, c.nr, c.nr * sizeof(*c.rows), t * 1e3, types[0], types[1], types[2], types[3],
	       types[4]);
	if (d)
		dump(&c);
	at_cfi__fini(&c);
	at_elf__close(dbg);
	at_elf__close(e);
	return 0;
}
