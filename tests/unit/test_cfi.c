/* Unwind tables (user/binary/cfi.c): every row of libc, of this binary and of a program with
 * only .debug_frame against `readelf --debug-dump=frames-interp`; a real unwind of this
 * very process with at_cfi_step against glibc's backtrace(); empty, stripped, truncated
 * and corrupted input; the step's semantics on a hand-made table; sizes and times. */
#include "unit.h"
#include "../fuzz/fuzz_cfi.h"
#include "binary/cfi.h"
#include "binary/elf.h"
#include "binary/procmaps.h"
#include "lib/util.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBSTDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"

/* at_cfi__build on a file (and its debug file); false if a file cannot be read. */
static bool build_path(const char *path, const char *debug, struct at_cfi *c)
{
	struct at_elf *e = at_elf__open_path(path), *d = debug ? at_elf__open_path(debug) : NULL;
	bool ok = e && (!debug || d) && at_cfi__build(e, d, c) == 0;

	if (!ok)
		fprintf(stderr, "  cannot build the table of %s\n", path);
	at_elf__close(d);
	at_elf__close(e);
	return ok;
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "  command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* A file next to this test's binary: build/tests/test_cfi -> build/<rel>. */
static void build_file(char *out, size_t sz, const char *rel)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = 0;
	snprintf(out, sz, "%s/../%s", dirname(self), rel);
}

/* ---- readelf --debug-dump=frames-interp, as expected rows ---- */

#define MAX_COLS 40

/* One table row as readelf prints it: LOC, then the columns of the header before it. */
struct rd_state {
	char cols[MAX_COLS][16];	/* header: "CFA", "rbx", "rbp", ..., "ra" */
	char vals[MAX_COLS][16];
	int ncols;
};

struct rd_cie {
	unsigned long off;
	bool signal;		/* "S" in the augmentation */
	struct rd_state last;	/* the CIE's initial state */
};

struct rd_row {
	__u64 loc;
	struct at_cfi_row want;
	bool exp;		/* CFA "exp": RBP_DEREF or NONE are both right */
};

struct rd_fde {
	__u64 lo, hi;
	size_t first, nr;	/* rows */
};

struct rd {
	struct rd_cie *cies;
	size_t nr_cies;
	struct rd_row *rows;
	size_t nr_rows;
	struct rd_fde *fdes;
	size_t nr_fdes;
};

static const char *rd_val(const struct rd_state *s, const char *col)
{
	for (int i = 0; i < s->ncols; i++)
		if (!strcmp(s->cols[i], col))
			return s->vals[i];
	return NULL;
}

/* What our row must be, from readelf's columns (see at_cfi_row's rules). */
static struct rd_row rd_expect(const struct rd_state *s, bool signal)
{
	struct rd_row r = { 0 };
	const char *cfa = rd_val(s, "CFA"), *ra = rd_val(s, "ra"), *rbp = rd_val(s, "rbp"), *rsp = rd_val(s, "rsp");
	int off;

	if (!cfa || !ra || signal || (rsp && strcmp(rsp, "u")))
		return r;
	if (!strcmp(ra, "u")) {
		r.want.cfa_type = AT_CFA_END;
		return r;
	}
	if (strcmp(ra, "c-8"))
		return r;
	if (rbp && strcmp(rbp, "u") && strcmp(rbp, "s")) {
		if (sscanf(rbp, "c%d", &off) != 1)
			return r;	/* an rbp rule we do not express: the row is NONE */
		r.want.rbp_rule = AT_RBP_OFFSET;
		r.want.rbp_off = (__s16)off;
	}
	if (!strcmp(cfa, "exp")) {
		r.exp = true;
		return r;
	}
	if (sscanf(cfa, "rsp%d", &off) == 1) {
		r.want.cfa_type = AT_CFA_RSP;
	} else if (sscanf(cfa, "rbp%d", &off) == 1) {
		r.want.cfa_type = AT_CFA_RBP;
	} else {	/* another register: NONE */
		r.want.rbp_rule = 0;
		r.want.rbp_off = 0;
		return r;
	}
	r.want.cfa_off = off;
	return r;
}

struct rd_parse {
	struct rd *rd;
	size_t cap_rows, cap_fdes, cap_cies;
	const char *section;	/* the one to read: ".eh_frame" or ".debug_frame" */
	bool in_section;
	int what;		/* 0 between entries, 'C' in a CIE, 'F' in an FDE */
	struct rd_state st;	/* the header and the last row */
	bool signal;
	unsigned long cie_off;
	size_t cie;		/* index of the current CIE / the FDE's CIE */
};

static void rd_add_row(struct rd_parse *p, __u64 loc)
{
	struct rd *rd = p->rd;

	if (rd->nr_rows == p->cap_rows) {
		p->cap_rows = p->cap_rows ? p->cap_rows * 2 : 4096;
		rd->rows = at_xrealloc(rd->rows, p->cap_rows, sizeof(*rd->rows));
	}
	rd->rows[rd->nr_rows] = rd_expect(&p->st, p->signal);
	rd->rows[rd->nr_rows++].loc = loc;
	rd->fdes[rd->nr_fdes - 1].nr++;
}

/* The end of an entry: a CIE keeps its state for its FDEs, an FDE without rows of its
 * own gets its CIE's. */
static void rd_close(struct rd_parse *p)
{
	struct rd *rd = p->rd;

	if (p->what == 'C' && p->cie < rd->nr_cies)
		rd->cies[p->cie].last = p->st;
	if (p->what == 'F' && !rd->fdes[rd->nr_fdes - 1].nr && p->cie < rd->nr_cies) {
		p->st = rd->cies[p->cie].last;
		rd_add_row(p, rd->fdes[rd->nr_fdes - 1].lo);
	}
	p->what = 0;
}

static void rd_entry(struct rd_parse *p, const char *line)
{
	struct rd *rd = p->rd;
	unsigned long off, lo, hi;
	const char *q;

	rd_close(p);
	memset(&p->st, 0, sizeof(p->st));
	if ((q = strstr(line, " CIE \"")) && sscanf(line, "%lx", &off) == 1) {
		if (rd->nr_cies == p->cap_cies) {
			p->cap_cies = p->cap_cies ? p->cap_cies * 2 : 16;
			rd->cies = at_xrealloc(rd->cies, p->cap_cies, sizeof(*rd->cies));
		}
		q += 6;
		rd->cies[rd->nr_cies] = (struct rd_cie){ .off = off, .signal = memchr(q, 'S', strcspn(q, "\"")) != NULL };
		p->cie = rd->nr_cies++;
		p->signal = rd->cies[p->cie].signal;
		p->what = 'C';
	} else if ((q = strstr(line, " FDE cie=")) && sscanf(q, " FDE cie=%lx pc=%lx..%lx", &off, &lo, &hi) == 3) {
		p->cie = SIZE_MAX;
		for (size_t i = 0; i < rd->nr_cies; i++)
			if (rd->cies[i].off == off)
				p->cie = i;
		p->signal = p->cie < rd->nr_cies && rd->cies[p->cie].signal;
		if (rd->nr_fdes == p->cap_fdes) {
			p->cap_fdes = p->cap_fdes ? p->cap_fdes * 2 : 1024;
			rd->fdes = at_xrealloc(rd->fdes, p->cap_fdes, sizeof(*rd->fdes));
		}
		rd->fdes[rd->nr_fdes++] = (struct rd_fde){ .lo = lo, .hi = hi, .first = rd->nr_rows };
		p->what = 'F';
	}
}

/* A header ("LOC CFA rbx ra") or a row ("0000000000026000 rsp+16 u c-8"). */
static void rd_table_line(struct rd_parse *p, char *line)
{
	bool header = !strncmp(line, "   LOC", 6);
	char *save = NULL, *tok = strtok_r(line, " \n", &save);
	unsigned long loc = strtoul(tok, NULL, 16);
	int n = 0;

	while ((tok = strtok_r(NULL, " \n", &save)) && n < MAX_COLS) {
		if (tok[0] == '(')
			continue;	/* "r10 (r10)": the register's name again */
		snprintf(header ? p->st.cols[n++] : p->st.vals[n++], 16, "%s", tok);
	}
	if (header)
		p->st.ncols = n;
	else if (p->what == 'F')
		rd_add_row(p, loc);
}

static void rd_line(struct rd_parse *p, char *line)
{
	char name[64];

	if (sscanf(line, "Contents of the %63s section", name) == 1) {
		rd_close(p);
		p->in_section = !strcmp(name, p->section);
		return;
	}
	if (!p->in_section)
		return;
	if (strstr(line, " CIE \"") || strstr(line, " FDE cie="))
		rd_entry(p, line);
	else if (!strncmp(line, "   LOC", 6) || (strspn(line, "0123456789abcdef") == 16 && line[16] == ' '))
		rd_table_line(p, line);
	else if (line[0] == '\n' || strstr(line, "ZERO terminator"))
		rd_close(p);
}

/* The expected rows of section (".eh_frame" or ".debug_frame") of path. */
static bool rd_read(const char *path, const char *section, struct rd *rd)
{
	struct rd_parse p = { .rd = rd, .section = section };
	char cmd[PATH_MAX + 64], line[1024];
	FILE *f;

	memset(rd, 0, sizeof(*rd));
	snprintf(cmd, sizeof(cmd), "readelf -W --debug-dump=frames-interp '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		rd_line(&p, line);
	rd_close(&p);
	pclose(f);	/* its status: 1 for libc.so.6 although the dump is complete */
	return rd->nr_fdes > 0;
}

static void rd_free(struct rd *rd)
{
	free(rd->cies);
	free(rd->rows);
	free(rd->fdes);
}


/* ---- tables against readelf ---- */

static bool row_ok(const struct at_cfi_row *got, const struct rd_row *w)
{
	int t = got ? got->cfa_type : AT_CFA_NONE;

	if (w->exp)
		return t == AT_CFA_NONE || (t == AT_CFA_RBP_DEREF && got->rbp_rule == w->want.rbp_rule &&
					    got->rbp_off == w->want.rbp_off);
	if (t != w->want.cfa_type)
		return false;
	if (t == AT_CFA_NONE || t == AT_CFA_END)
		return true;
	return got->cfa_off == w->want.cfa_off && got->rbp_rule == w->want.rbp_rule &&
	       got->rbp_off == w->want.rbp_off;
}

static void check_at(const struct at_cfi *c, __u64 pc, const struct rd_row *w, size_t *n, size_t *bad)
{
	const struct at_cfi_row *got = at_cfi_find(c, (__u32)pc);

	(*n)++;
	if (row_ok(got, w))
		return;
	if ((*bad)++ < 10)
		fprintf(stderr, "  %#llx: got type %d cfa %+d rbp %d/%+d, readelf wants type %d%s cfa %+d rbp %d/%+d\n",
			(unsigned long long)pc, got ? got->cfa_type : -1, got ? got->cfa_off : 0,
			got ? got->rbp_rule : 0, got ? got->rbp_off : 0, w->want.cfa_type, w->exp ? " (exp)" : "",
			w->want.cfa_off, w->want.rbp_rule, w->want.rbp_off);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static bool overlaps(const struct rd *rd, __u64 lo, __u64 hi)
{
	for (size_t i = 0; rd && i < rd->nr_fdes; i++)
		if (rd->fdes[i].lo < hi && rd->fdes[i].hi > lo)
			return true;
	return false;
}

/* Checks c at the first and last address of every readelf row of rd's FDEs (those that
 * do not overlap an FDE of before, an earlier source), and NONE just past each FDE that
 * no FDE of rd or before follows. Returns the number of addresses checked. */
static size_t rd_check(const struct at_cfi *c, const struct rd *rd, const struct rd *before, size_t *bad)
{
	size_t n = 0, nr_lo = 0, nb = before ? before->nr_fdes : 0;
	__u64 *los = at_xcalloc(rd->nr_fdes + nb + 1, sizeof(*los));
	struct rd_row none = { 0 };

	for (size_t i = 0; i < rd->nr_fdes; i++)
		los[nr_lo++] = rd->fdes[i].lo;
	for (size_t i = 0; i < nb; i++)
		los[nr_lo++] = before->fdes[i].lo;
	qsort(los, nr_lo, sizeof(*los), cmp_u64);
	for (size_t i = 0; i < rd->nr_fdes; i++) {
		const struct rd_fde *f = &rd->fdes[i];

		if (f->hi <= f->lo || f->hi > UINT32_MAX || overlaps(before, f->lo, f->hi))
			continue;
		for (size_t j = 0; j < f->nr; j++) {
			const struct rd_row *w = &rd->rows[f->first + j];
			__u64 end = j + 1 < f->nr ? w[1].loc : f->hi;

			if (end <= w->loc)
				continue;
			check_at(c, w->loc, w, &n, bad);
			check_at(c, end - 1, w, &n, bad);
		}
		if (!bsearch(&f->hi, los, nr_lo, sizeof(*los), cmp_u64))
			check_at(c, f->hi, &none, &n, bad);
	}
	free(los);
	return n;
}

/* The whole table of path (and its debug file) against readelf's view of path. */
static void check_against_readelf(const char *path, const char *debug, bool want_debug_frame)
{
	struct rd eh = { 0 }, df = { 0 };
	size_t n = 0, bad = 0;
	struct at_cfi c;

	if (!build_path(path, debug, &c)) {
		unit_cur_failed = 1;
		return;
	}
	CHECK(rd_read(path, ".eh_frame", &eh));
	n += rd_check(&c, &eh, NULL, &bad);
	if (want_debug_frame) {
		CHECK(rd_read(debug ? debug : path, ".debug_frame", &df));
		n += rd_check(&c, &df, &eh, &bad);
		CHECK(c.source == (AT_CFI_SRC_EH_FRAME | AT_CFI_SRC_DEBUG_FRAME));
	} else {
		CHECK(c.source == AT_CFI_SRC_EH_FRAME);
	}
	printf("  %s: %zu addresses of %zu FDEs checked against readelf, %zu disagree\n", path, n,
	       eh.nr_fdes + df.nr_fdes, bad);
	CHECK(n > 0);
	CHECK_EQ_U(bad, 0);
	rd_free(&eh);
	rd_free(&df);
	at_cfi__fini(&c);
}

static void test_readelf_libc(void)
{
	check_against_readelf(LIBC, NULL, false);
}

static void test_readelf_self(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = 0;	/* readelf's /proc/self/exe would be readelf */
	check_against_readelf(self, NULL, false);
}

/* A program with unwind tables only for the C runtime: its own functions are in
 * .debug_frame, of the file itself, then of its separate debug file. */
static void test_readelf_debug_frame(void)
{
	char prog[PATH_MAX], dir[] = "/tmp/at-unit-cfi-XXXXXX", cmd[2 * PATH_MAX + 256], stripped[64], dbg[64];
	struct at_cfi full, split;

	build_file(prog, sizeof(prog), "cfi/nounwind");
	check_against_readelf(prog, NULL, true);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(stripped, sizeof(stripped), "%s/prog", dir);
	snprintf(dbg, sizeof(dbg), "%s/prog.debug", dir);
	snprintf(cmd, sizeof(cmd), "objcopy --only-keep-debug --compress-debug-sections %s %s && "
		 "objcopy --strip-debug %s %s", prog, dbg, prog, stripped);
	if (sh(cmd)) {
		unit_cur_failed = 1;
		return;
	}
	check_against_readelf(stripped, dbg, true);
	/* the same table either way */
	if (build_path(prog, NULL, &full) && build_path(stripped, dbg, &split)) {
		CHECK(full.nr == split.nr && !memcmp(full.rows, split.rows, full.nr * sizeof(*full.rows)));
		at_cfi__fini(&split);
	}
	/* the stripped file alone: only the C runtime's .eh_frame */
	if (build_path(stripped, NULL, &split)) {
		CHECK(split.source == AT_CFI_SRC_EH_FRAME);
		CHECK(split.nr > 0 && split.nr < full.nr);
		at_cfi__fini(&split);
	}
	at_cfi__fini(&full);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd);
}

/* ---- a real unwind of this process ---- */

struct modules;

/* Registers at a point of chain_leaf, glibc's backtrace() from there, and what then()
 * found: it runs inside chain_leaf, while the frames it unwinds are still live. */
struct capture {
	__u64 pc, rsp, rbp;
	void *bt[64];
	int nbt;
	void (*then)(struct capture *c);
	struct modules *ms;
	__u64 ras[64];
	int nras, last, types[AT_CFA_END + 1];
};

#define NOINL __attribute__((noinline))
#define KEEP() __asm__ volatile("" ::: "memory")

NOINL static void chain_leaf(struct capture *c)
{
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=r"(c->pc), "=r"(c->rsp), "=r"(c->rbp));
	c->nbt = backtrace(c->bt, 64);
	c->then(c);
	KEEP();	/* no tail call: chain_leaf's frame stays */
}

/* Hand-written CFI for a realigned frame whose CFA is *(rbp + 0) and whose caller's rbp
 * is at CFA - 16: an AT_CFA_RBP_DEREF row. (gcc's own realignment, see chain_drap, also
 * describes rbp with an expression, which rows cannot hold.) Calls fn(arg). */
void chain_deref(void (*fn)(void *), void *arg);
__asm__(".text\n"
	".type chain_deref, @function\n"
	"chain_deref:\n"
	".cfi_startproc\n"
	"	push %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"	lea 16(%rsp), %r10\n"		/* r10 = CFA */
	".cfi_def_cfa %r10, 0\n"
	"	and $-64, %rsp\n"
	"	push %r10\n"
	"	push %r10\n"
	"	mov %rsp, %rbp\n"		/* [rbp] = CFA */
	".cfi_escape 0x0f, 0x03, 0x76, 0x00, 0x06\n"	/* def_cfa_expression: breg6 0; deref */
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	call *%rax\n"
	".globl chain_deref_ret\n"
	"chain_deref_ret:\n"
	"	mov (%rbp), %rsp\n"
	".cfi_def_cfa %rsp, 0\n"
	"	mov -16(%rsp), %rbp\n"
	".cfi_restore %rbp\n"
	"	lea -8(%rsp), %rsp\n"
	".cfi_def_cfa_offset 8\n"
	"	ret\n"
	".cfi_endproc\n"
	".size chain_deref, .-chain_deref\n");
extern const char chain_deref_ret[];

static void chain_leaf_cb(void *c)
{
	chain_leaf(c);
}

/* realigned by gcc without DRAP: push rbp; mov rbp, rsp; and rsp, -64 -> CFA rbp+16 */
NOINL static int chain_realign(struct capture *c)
{
	char buf[64] __attribute__((aligned(64)));

	memset(buf, 1, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
	chain_deref(chain_leaf_cb, c);
	KEEP();
	return buf[3];
}

/* alloca: gcc keeps a frame pointer, CFA rbp+16 */
NOINL static int chain_alloca(struct capture *c, size_t n)
{
	char *p = __builtin_alloca(n);

	memset(p, 2, n);
	__asm__ volatile("" : : "r"(p) : "memory");
	return chain_realign(c) + p[n - 1];
}

/* plain -O2: no frame pointer, CFA rsp+N */
NOINL static int chain_plain(struct capture *c, int depth)
{
	int r = depth > 0 ? chain_plain(c, depth - 1) : chain_alloca(c, 100);

	KEEP();
	return r + 1;
}

static int read_self(void *ctx, __u64 addr, __u64 *val)
{
	struct iovec local = { val, sizeof(*val) }, remote = { (void *)(uintptr_t)addr, sizeof(*val) };

	(void)ctx;
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == sizeof(*val) ? 0 : -EFAULT;
}

/* The tables of the modules this process runs code from, by path, with their biases. */
struct module {
	char *path;
	struct at_elf *elf;
	struct at_cfi cfi;
	__u64 bias;
};

struct modules {
	struct at_maps maps;
	struct module m[16];
	int n;
};

static struct module *module_of(struct modules *ms, __u64 pc)
{
	const struct at_vma *v = at_maps_find(&ms->maps, pc);
	struct module *m;
	__u64 vaddr;

	if (!v || !v->exec || !v->path)
		return NULL;
	for (int i = 0; i < ms->n; i++)
		if (!strcmp(ms->m[i].path, v->path))
			return &ms->m[i];
	if (ms->n == 16)
		return NULL;
	m = &ms->m[ms->n];
	m->elf = at_elf__open_path(v->path);
	if (!m->elf || at_elf_off_to_vaddr(m->elf, v->pgoff, &vaddr) || at_cfi__build(m->elf, NULL, &m->cfi)) {
		at_elf__close(m->elf);
		return NULL;
	}
	m->path = v->path;
	m->bias = v->start - vaddr;
	ms->n++;
	return m;
}

static void modules_free(struct modules *ms)
{
	for (int i = 0; i < ms->n; i++) {
		at_cfi__fini(&ms->m[i].cfi);
		at_elf__close(ms->m[i].elf);
	}
	at_maps__fini(&ms->maps);
}

/* Unwinds from r with the tables; the return addresses go to ras. Returns how many, or
 * -1 when a step fails; *last gets the last step's result. */
static int unwind(struct modules *ms, struct at_regs r, __u64 *ras, int max, int *last, int *types)
{
	int n = 0;

	*last = -ENOENT;
	while (n < max) {
		struct module *m = module_of(ms, r.pc - r.caller);
		const struct at_cfi_row *row;

		if (!m) {
			fprintf(stderr, "  no table for %#llx\n", (unsigned long long)r.pc);
			return -1;
		}
		row = at_cfi_find(&m->cfi, (__u32)(r.pc - r.caller - m->bias));
		if (row && row->cfa_type <= AT_CFA_END)
			types[row->cfa_type]++;
		*last = at_cfi_step(&m->cfi, m->bias, &r, read_self, NULL);
		if (*last <= 0)
			return *last == 0 ? n : -1;
		ras[n++] = r.pc;
	}
	return n;
}

static const char *sym_of(struct modules *ms, __u64 pc, char *buf, size_t sz)
{
	struct module *m = module_of(ms, pc);
	const struct at_sym *s = m ? at_elf_lookup(m->elf, pc - m->bias, &(__u64){ 0 }) : NULL;

	snprintf(buf, sz, "%s (%s)", s ? s->name : "?", m ? basename(m->path) : "?");
	return buf;
}

static void unwind_capture(struct capture *c)
{
	struct at_regs r = { .pc = c->pc, .rsp = c->rsp, .rbp = c->rbp };

	c->nras = unwind(c->ms, r, c->ras, 64, &c->last, c->types);
}

/* Where our return addresses start in backtrace()'s: after chain_leaf's own entry, and
 * after the sanitizer's backtrace interceptor in an ASan build. */
static int bt_start(const struct capture *c)
{
	for (int k = 1; k < 3 && k < c->nbt; k++)
		if (c->nras && (__u64)(uintptr_t)c->bt[k] == c->ras[0])
			return k;
	return 1;
}

/* test -> chain_plain x3 (rsp rows) -> chain_alloca (rbp) -> chain_realign (rbp, aligned)
 * -> chain_deref (*rbp) -> chain_leaf: unwound with at_cfi_step from chain_leaf's own
 * registers, the return addresses must be backtrace()'s, up to main,
 * __libc_start_call_main and _start. */
static void test_unwind_self(void)
{
	struct modules ms = { 0 };
	struct capture c = { .then = unwind_capture, .ms = &ms };
	int main_at = -1, k;
	char buf[256];

	CHECK(at_maps__read(getpid(), &ms.maps) == 0);
	CHECK(chain_plain(&c, 3) > 0);
	CHECK_EQ_U(c.last, 0);		/* stopped at the outermost frame, not on an error */
	k = bt_start(&c);
	CHECK_EQ_U(c.nras, c.nbt - k);
	for (int i = 0; i < c.nras && i + k < c.nbt; i++) {
		bool same = c.ras[i] == (__u64)(uintptr_t)c.bt[i + k];

		printf("  %2d %#llx %s%s\n", i, (unsigned long long)c.ras[i],
		       sym_of(&ms, c.ras[i] - 1, buf, sizeof(buf)), same ? "" : "  <- backtrace() differs");
		CHECK(same);
		if (strstr(buf, "main (") == buf)
			main_at = i;
	}
	CHECK(main_at >= 0 && main_at + 1 < c.nras);	/* main's caller: __libc_start_call_main */
	if (main_at >= 0 && main_at + 1 < c.nras)
		CHECK(strstr(sym_of(&ms, c.ras[main_at + 1] - 1, buf, sizeof(buf)), "libc.so.6") != NULL);
	CHECK(c.ras[0] == (__u64)(uintptr_t)chain_deref_ret);	/* chain_leaf_cb: a tail call */
	/* every kind of row was used: rsp, rbp, *rbp, and the end at _start */
	CHECK(c.types[AT_CFA_RSP] > 0 && c.types[AT_CFA_RBP] >= 2 && c.types[AT_CFA_RBP_DEREF] == 1 &&
	      c.types[AT_CFA_END] == 1);
	modules_free(&ms);
}

/* gcc's own realignment with a DRAP (an over-aligned local plus alloca): CFA is
 * *(rbp - 8) but rbp is saved at *rbp, which no row can say: NONE, step gives -ENOENT.
 * gcc's code generation only: clang (the sanitizer build) realigns through rbx. */
#ifndef __clang__
__attribute__((noipa)) static int chain_drap(struct capture *c, size_t n)
{
	char buf[64] __attribute__((aligned(64)));
	char *p = __builtin_alloca(n);

	memset(buf, 3, sizeof(buf));
	memset(p, 4, n);
	__asm__ volatile("" : : "r"(buf), "r"(p) : "memory");
	chain_leaf(c);
	KEEP();
	return buf[3] + p[0];
}

static void step_twice(struct capture *c)
{
	struct at_regs r = { .pc = c->pc, .rsp = c->rsp, .rbp = c->rbp };
	struct module *m = module_of(c->ms, r.pc);

	c->nras = 0;
	if (!m || (c->last = at_cfi_step(&m->cfi, m->bias, &r, read_self, NULL)) != 1)
		return;
	c->ras[c->nras++] = r.pc;
	c->last = at_cfi_step(&m->cfi, m->bias, &r, read_self, NULL);
}

static void test_unwind_drap(void)
{
	struct modules ms = { 0 };
	struct capture c = { .then = step_twice, .ms = &ms };

	CHECK(at_maps__read(getpid(), &ms.maps) == 0);
	CHECK(chain_drap(&c, 100) == 7);
	CHECK_EQ_U(c.nras, 1);
	CHECK(c.ras[0] == (__u64)(uintptr_t)c.bt[bt_start(&c)]);	/* into chain_drap */
	CHECK_EQ_U(c.last, -ENOENT);
	modules_free(&ms);
}
#endif

/* ---- edge cases and hostile input ---- */

static struct at_elf *elf_of_fd(int fd)
{
	struct at_elf *e = fd >= 0 ? at_elf__open(fd, "memfd") : NULL;

	if (fd >= 0)
		close(fd);
	return e;
}

/* A table that must be empty: built without error, source NONE, nothing found. */
static void check_empty(struct at_elf *e)
{
	struct at_cfi c;
	struct at_regs r = { .pc = 0x1234 };

	CHECK(e != NULL);
	if (!e)
		return;
	CHECK(at_cfi__build(e, NULL, &c) == 0);
	CHECK(c.source == AT_CFI_SRC_NONE && c.nr == 0 && c.rows == NULL);
	CHECK(at_cfi_find(&c, 0x1234) == NULL);
	CHECK(at_cfi_step(&c, 0, &r, read_self, NULL) == -ENOENT);
	at_cfi__fini(&c);
	at_elf__close(e);
}

static void test_no_cfi(void)
{
	Elf64_Ehdr eh = { .e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_ehsize = sizeof(eh) };
	char self[PATH_MAX], dir[] = "/tmp/at-unit-cfi-XXXXXX", cmd[PATH_MAX + 128], out[64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct at_cfi c;
	int fd;

	/* a bare ELF header: no sections, no segments */
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	fd = memfd_create("cfi", MFD_CLOEXEC);
	CHECK(fd >= 0 && write(fd, &eh, sizeof(eh)) == sizeof(eh));
	check_empty(elf_of_fd(fd));
	/* sections, but no CFI */
	fd = memfd_create("cfi", MFD_CLOEXEC);
	CHECK(fd >= 0 && fuzz_cfi_synth(fd, NULL, 0) == 0);
	check_empty(elf_of_fd(fd));
	/* this binary without .eh_frame (and without .debug_frame: -g keeps CFI in .eh_frame) */
	self[n > 0 ? n : 0] = 0;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(out, sizeof(out), "%s/prog", dir);
	snprintf(cmd, sizeof(cmd), "objcopy -R .eh_frame -R .eh_frame_hdr %s %s 2>/dev/null", self, out);
	if (!sh(cmd))
		check_empty(at_elf__open_path(out));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd);
	CHECK(at_cfi__build(NULL, NULL, &c) == -EINVAL);
}

/* An .eh_frame at 0x3000: one CIE (version ver, return address column ra, def_cfa rsp 8
 * and ra at cfa-8), one FDE for [0x1000, 0x1100) with instructions insn. */
static size_t mk_eh_frame(uint8_t *b, int ver, unsigned int ra, const uint8_t *insn, size_t len)
{
	static const uint8_t cie_tail[] = { 0x01, 0x1b, 0x0c, 0x07, 0x08, 0x90, 0x01 };
	size_t n = 8, fde, pad;
	__s32 loc;

	memset(b, 0, 8);
	b[n++] = (uint8_t)ver;
	memcpy(b + n, "zR\0\x01\x78", 5);	/* augmentation, code 1, data -8 */
	n += 5;
	do {	/* the return address column, ULEB (a single byte in version 1) */
		b[n++] = (uint8_t)((ra & 0x7f) | (ra > 0x7f ? 0x80 : 0));
		ra >>= 7;
	} while (ra);
	memcpy(b + n, cie_tail, sizeof(cie_tail));
	n += sizeof(cie_tail);
	n = (n + 7) & ~(size_t)7;
	b[0] = (uint8_t)(n - 4);
	fde = n;
	loc = 0x1000 - (0x3000 + (__s32)fde + 8);	/* pcrel sdata4 from the field */
	memcpy(b + fde + 4, &(__u32){ (__u32)(fde + 4) }, 4);	/* back to the CIE */
	memcpy(b + fde + 8, &loc, 4);
	memcpy(b + fde + 12, &(__u32){ 0x100 }, 4);
	b[fde + 16] = 0;	/* no augmentation data */
	memcpy(b + fde + 17, insn, len);
	n = fde + 17 + len;
	pad = (8 - (n - fde) % 8) % 8;
	memset(b + n, 0, pad + 4);	/* nops, then the terminator */
	n += pad;
	memcpy(b + fde, &(__u32){ (__u32)(n - fde - 4) }, 4);
	return n + 4;
}

static void build_eh_frame(const uint8_t *frame, size_t len, struct at_cfi *c)
{
	struct fuzz_cfi_scn scn = { 25, frame, len, 0x3000 };	/* .eh_frame */
	int fd = memfd_create("cfi", MFD_CLOEXEC);
	struct at_elf *e;

	memset(c, 0, sizeof(*c));
	CHECK(fd >= 0 && fuzz_cfi_synth(fd, &scn, 1) == 0);
	e = elf_of_fd(fd);
	CHECK(e && at_cfi__build(e, NULL, c) == 0 && fuzz_cfi_valid(c));
	at_elf__close(e);
}
/* Hand-made CFI: a good FDE, then ones that would make libdw allocate and clear a
 * frame state of 2^26 registers (1 GB) per row or nest remember_state without end. */
static void test_hostile_cfi(void)
{
	static const uint8_t good[] = { 0x41, 0x0e, 0x10 };	/* advance 1; def_cfa_offset 16 */
	static const uint8_t bigreg[] = { 0x41, 0x0e, 0x10, 0x05, 0x80, 0x80, 0x80, 0x20, 0x02 };
	uint8_t b[512] = { 0 }, deep[80];
	double t0 = at_now_mono();
	struct at_cfi c;

	build_eh_frame(b, mk_eh_frame(b, 1, 16, good, sizeof(good)), &c);
	CHECK_EQ_U(c.nr, 3);
	if (c.nr == 3) {
		CHECK(c.rows[0].pc == 0x1000 && c.rows[0].cfa_type == AT_CFA_RSP && c.rows[0].cfa_off == 8);
		CHECK(c.rows[1].pc == 0x1001 && c.rows[1].cfa_type == AT_CFA_RSP && c.rows[1].cfa_off == 16);
		CHECK(c.rows[2].pc == 0x1100 && c.rows[2].cfa_type == AT_CFA_NONE);
	}
	at_cfi__fini(&c);
	/* offset_extended for register 2^26 */
	build_eh_frame(b, mk_eh_frame(b, 1, 16, bigreg, sizeof(bigreg)), &c);
	CHECK(c.nr == 0 && c.source == AT_CFI_SRC_NONE);
	at_cfi__fini(&c);
	/* 65 nested remember_state */
	deep[0] = 0x41;
	memset(deep + 1, 0x0a, 65);
	build_eh_frame(b, mk_eh_frame(b, 1, 16, deep, 66), &c);
	CHECK(c.nr == 0);
	at_cfi__fini(&c);
	/* a CIE whose return address column is register 2^26 */
	build_eh_frame(b, mk_eh_frame(b, 3, 1u << 26, good, sizeof(good)), &c);
	CHECK(c.nr == 0);
	at_cfi__fini(&c);
	CHECK(at_now_mono() - t0 < 5);
}

static const Elf64_Shdr *shdr_named(const unsigned char *img, size_t size, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff), *str;

	if (eh->e_shoff + (__u64)eh->e_shnum * sizeof(*sh) > size || eh->e_shstrndx >= eh->e_shnum)
		return NULL;
	str = &sh[eh->e_shstrndx];
	for (int i = 0; i < eh->e_shnum; i++)
		if (str->sh_offset + sh[i].sh_name < size &&
		    !strcmp((const char *)img + str->sh_offset + sh[i].sh_name, name))
			return &sh[i];
	return NULL;
}

/* Builds a table from a modified copy of libc; false if the table breaks its promises. */
static bool build_mutant(const unsigned char *img, size_t size)
{
	int fd = memfd_create("cfi", MFD_CLOEXEC);
	struct at_elf *e;
	struct at_cfi c;
	bool ok = false;

	if (fd < 0 || pwrite(fd, img, size, 0) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	e = elf_of_fd(fd);
	if (e && at_cfi__build(e, NULL, &c) == 0) {
		ok = fuzz_cfi_valid(&c);
		at_cfi__fini(&c);
	}
	at_elf__close(e);
	return ok || !e;
}

/* libc with .eh_frame cut short at every kind of place, and with bytes of .eh_frame and
 * .eh_frame_hdr overwritten: no crash, and every table sorted and well-formed. */
static void test_corrupt_libc(void)
{
	struct at_elf *orig = at_elf__open_path(LIBC);
	size_t size = 0, bad = 0, runs = 0;
	const unsigned char *img = orig ? at_elf_image(orig, &size) : NULL;
	unsigned char *copy = img ? at_xcalloc(1, size) : NULL;
	const Elf64_Shdr *eh = img ? shdr_named(img, size, ".eh_frame") : NULL;
	const Elf64_Shdr *hdr = img ? shdr_named(img, size, ".eh_frame_hdr") : NULL;
	__u64 x = 0x9e3779b97f4a7c15ULL;

	CHECK(eh && hdr);
	for (int i = 0; eh && hdr && i < 48; i++, runs++) {
		Elf64_Shdr *ceh = (Elf64_Shdr *)(copy + ((const unsigned char *)eh - img));
		const Elf64_Shdr *target = i % 3 == 2 ? hdr : eh;

		memcpy(copy, img, size);
		if (i < 16) {	/* truncated: inside the first entries, then anywhere */
			ceh->sh_size = i < 8 ? (__u64)i * 5 : eh->sh_size * (__u64)(i - 7) / 9;
		} else {
			for (int k = 0; k < 1 + i % 32; k++) {	/* xorshift */
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				copy[target->sh_offset + x % target->sh_size] = (unsigned char)(x >> 32);
			}
		}
		bad += !build_mutant(copy, size);
	}
	printf("  %zu damaged copies of libc, %zu bad tables\n", runs, bad);
	CHECK_EQ_U(bad, 0);
	free(copy);
	at_elf__close(orig);
}

/* The fuzz target's synthetic shape (fuzz_cfi.h) on the first 4 KB of libc's .eh_frame
 * and .eh_frame_hdr with seeded mutations: what `make fuzz` does, briefly, in every run. */
static void test_fuzz_shapes(void)
{
	struct at_elf *orig = at_elf__open_path(LIBC);
	size_t size = 0;
	const unsigned char *img = orig ? at_elf_image(orig, &size) : NULL;
	const Elf64_Shdr *eh = img ? shdr_named(img, size, ".eh_frame") : NULL;
	const Elf64_Shdr *hdr = img ? shdr_named(img, size, ".eh_frame_hdr") : NULL;
	uint8_t in[1 + 2 + 1024 + 2 + 4096];
	int fd = memfd_create("cfi", MFD_CLOEXEC);
	__u64 x = 0x2545f4914f6cdd1dULL;

	CHECK(eh && hdr && eh->sh_size >= 4096 && hdr->sh_size >= 1024 && fd >= 0);
	for (int i = 0; eh && hdr && eh->sh_size >= 4096 && hdr->sh_size >= 1024 && i < 300; i++) {
		in[0] = i % 2 ? 3 : 1;	/* with and without .eh_frame_hdr */
		in[1] = 0, in[2] = 4;	/* 1024 bytes */
		memcpy(in + 3, img + hdr->sh_offset, 1024);
		in[1027] = 0, in[1028] = 16;	/* 4096 */
		memcpy(in + 1029, img + eh->sh_offset, 4096);
		for (int k = 0; k < i % 16; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			in[3 + x % (sizeof(in) - 3)] = (uint8_t)(x >> 40);
		}
		fuzz_cfi_one(fd, in, sizeof(in));	/* aborts on a broken table */
	}
	if (fd >= 0)
		close(fd);
	at_elf__close(orig);
}

/* ---- at_cfi_step on a hand-made table ---- */

struct fake_mem {
	__u64 base;
	__u64 w[32];
};

static int read_fake(void *ctx, __u64 addr, __u64 *val)
{
	struct fake_mem *m = ctx;

	if (addr < m->base || addr >= m->base + sizeof(m->w) || (addr - m->base) % 8)
		return -EFAULT;
	*val = m->w[(addr - m->base) / 8];
	return 0;
}

static int step(const struct at_cfi *c, struct at_regs *r, __u64 pc, __u64 rsp, __u64 rbp, bool caller,
		struct fake_mem *m)
{
	*r = (struct at_regs){ .pc = 0x400000 + pc, .rsp = rsp, .rbp = rbp, .caller = caller };
	return at_cfi_step(c, 0x400000, r, read_fake, m);
}

static void test_step_rules(void)
{
	struct at_cfi_row rows[] = {
		{ .pc = 0x1000, .cfa_type = AT_CFA_RSP, .cfa_off = 16 },
		{ .pc = 0x1010, .cfa_type = AT_CFA_RBP, .cfa_off = 16, .rbp_rule = AT_RBP_OFFSET, .rbp_off = -16 },
		{ .pc = 0x1020, .cfa_type = AT_CFA_RBP_DEREF, .cfa_off = -8, .rbp_rule = AT_RBP_OFFSET, .rbp_off = -16 },
		{ .pc = 0x1030, .cfa_type = AT_CFA_END },
		{ .pc = 0x1040, .cfa_type = AT_CFA_NONE },
	};
	struct at_cfi c = { .rows = rows, .nr = AT_ARRAY_SIZE(rows), .source = AT_CFI_SRC_EH_FRAME };
	struct fake_mem m = { .base = 0x7000 };
	struct at_regs r;

	m.w[1] = 0xa1;			/* ra at 0x7008 */
	m.w[4] = 0xbb, m.w[5] = 0xa2;	/* rbp 0x7020: saved rbp, ra */
	m.w[7] = 0x70a0;		/* *(rbp - 8) for rbp 0x7040: the CFA */
	m.w[18] = 0xcc, m.w[19] = 0xa3;
	CHECK(step(&c, &r, 0x1008, 0x7000, 0x55, false, &m) == 1);
	CHECK(r.pc == 0xa1 && r.rsp == 0x7010 && r.rbp == 0x55 && r.caller);
	/* a return address: the row of pc - 1 (0x100f: rsp), not of pc (0x1010: rbp) */
	CHECK(step(&c, &r, 0x1010, 0x7000, 0x55, true, &m) == 1 && r.pc == 0xa1);
	CHECK(step(&c, &r, 0x1015, 0x9000, 0x7020, false, &m) == 1);
	CHECK(r.pc == 0xa2 && r.rsp == 0x7030 && r.rbp == 0xbb);
	CHECK(step(&c, &r, 0x1025, 0x9000, 0x7040, false, &m) == 1);
	CHECK(r.pc == 0xa3 && r.rsp == 0x70a0 && r.rbp == 0xcc);
	CHECK(step(&c, &r, 0x1035, 0x7000, 0, false, &m) == 0);		/* END */
	CHECK(step(&c, &r, 0x1045, 0x7000, 0, false, &m) == -ENOENT);	/* NONE */
	CHECK(step(&c, &r, 0x0fff, 0x7000, 0, false, &m) == -ENOENT);	/* before the first row */
	CHECK(step(&c, &r, 0x1008, 0x9000, 0, false, &m) == -EFAULT);	/* unreadable */
	m.w[1] = 0;
	CHECK(step(&c, &r, 0x1008, 0x7000, 0, false, &m) == 0);		/* return address 0 */
	r = (struct at_regs){ .pc = 0x3ff000 };
	CHECK(at_cfi_step(&c, 0x400000, &r, read_fake, &m) == -ENOENT);	/* below the module */
	r = (struct at_regs){ .pc = 0x400000 + 0x100001000ULL };
	CHECK(at_cfi_step(&c, 0x400000, &r, read_fake, &m) == -ENOENT);	/* beyond 32 bits */
	CHECK(at_cfi_find(&c, 0xfff) == NULL && at_cfi_find(&c, 0x1000) == &rows[0]);
	CHECK(at_cfi_find(&c, 0x102f) == &rows[2] && at_cfi_find(&c, UINT32_MAX) == &rows[4]);
}

/* ---- sizes and times ---- */

static void report_size(const char *path)
{
	struct at_cfi c;
	size_t none = 0;
	double t0 = at_now_mono(), t;

	if (!build_path(path, NULL, &c))
		return;
	t = at_now_mono() - t0;
	for (size_t i = 0; i < c.nr; i++)
		none += c.rows[i].cfa_type == AT_CFA_NONE;
	printf("  %s: %zu FDEs, %zu libdw rows -> %zu rows (%zu NONE: gaps, rules rows cannot hold) = %zu bytes, "
	       "%.1f ms\n", path, c.nr_fdes, c.nr_raw, c.nr, none, c.nr * sizeof(*c.rows), t * 1e3);
	CHECK(c.nr > 1000 && c.source == AT_CFI_SRC_EH_FRAME && fuzz_cfi_valid(&c));
	at_cfi__fini(&c);
}

static void test_sizes(void)
{
	report_size(LIBC);
	if (!access(LIBSTDCXX, R_OK))
		report_size(LIBSTDCXX);
}

int main(void)
{
	RUN(test_readelf_libc);
	RUN(test_readelf_self);
	RUN(test_readelf_debug_frame);
	RUN(test_unwind_self);
#ifndef __clang__
	RUN(test_unwind_drap);
#endif
	RUN(test_no_cfi);
	RUN(test_hostile_cfi);
	RUN(test_corrupt_libc);
	RUN(test_fuzz_shapes);
	RUN(test_step_rules);
	RUN(test_sizes);
	return UNIT_DONE();
}
