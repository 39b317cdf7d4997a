/* The classifier must say what Linux 6.18's x86 uprobe code does with an instruction:
 * emulate it (push reg, the kernel's own nops, relative jmp/call/jcc) or step it. */
#include "unit.h"
#include "probe/probekind.h"
#include "kernel/probecost.h"
#include "lib/util.h"

struct sample {
	const char *what;
	uint8_t b[16];
	size_t len;
	enum at_hit_kind kind;
};

#define E AT_HIT_EMULATED
#define S AT_HIT_STEPPED

static const struct sample samples[] = {
	{ "push %rbp", { 0x55 }, 1, E },
	{ "push %rbx", { 0x53 }, 1, E },
	{ "push %r12", { 0x41, 0x54 }, 2, E },
	{ "push %r15", { 0x41, 0x57 }, 2, E },
	{ "rex.W push %rbp", { 0x48, 0x55 }, 2, S },	/* only REX 0x41 is taken */
	{ "pushw %ax", { 0x66, 0x50 }, 2, S },
	{ "push $imm8", { 0x6a, 0x01 }, 2, S },
	{ "nop", { 0x90 }, 1, E },
	{ "xchg %ax,%ax (nop2)", { 0x66, 0x90 }, 2, E },
	{ "nopl (%rax)", { 0x0f, 0x1f, 0x00 }, 3, E },
	{ "nopl 0(%rax)", { 0x0f, 0x1f, 0x40, 0x00 }, 4, E },
	{ "nopl 0(%rax,%rax)", { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 5, E },
	{ "nopw 0(%rax,%rax)", { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 6, E },
	{ "nopl 0L(%rax)", { 0x0f, 0x1f, 0x80, 0, 0, 0, 0 }, 7, E },
	{ "nopl 0L(%rax,%rax)", { 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }, 8, E },
	{ "nopw 0L(%rax,%rax) (9 bytes)", { 0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }, 9, S },
	{ "nopl 1(%rax,%rax) (not the kernel's)", { 0x0f, 0x1f, 0x44, 0x00, 0x01 }, 5, S },
	{ "pause", { 0xf3, 0x90 }, 2, S },
	{ "jmp rel8", { 0xeb, 0x05 }, 2, E },
	{ "jmp rel32", { 0xe9, 1, 2, 3, 4 }, 5, E },
	{ "bnd jmp rel32", { 0xf2, 0xe9, 1, 2, 3, 4 }, 6, E },
	{ "call rel32", { 0xe8, 1, 2, 3, 4 }, 5, E },
	{ "je rel8", { 0x74, 0x05 }, 2, E },
	{ "jg rel8", { 0x7f, 0x05 }, 2, E },
	{ "jne rel32", { 0x0f, 0x85, 1, 2, 3, 4 }, 6, E },
	{ "jmpw rel16 (0x66: refused)", { 0x66, 0xe9, 1, 2 }, 4, S },
	{ "endbr64", { 0xf3, 0x0f, 0x1e, 0xfa }, 4, S },
	{ "mov %rdi,%rax", { 0x48, 0x89, 0xf8 }, 3, S },
	{ "sub $8,%rsp", { 0x48, 0x83, 0xec, 0x08 }, 4, S },
	{ "ret", { 0xc3 }, 1, S },
	{ "jmp *0(%rip)", { 0xff, 0x25, 0, 0, 0, 0 }, 6, S },
	{ "call *%rax", { 0xff, 0xd0 }, 2, S },
	{ "test %rdi,%rdi", { 0x48, 0x85, 0xff }, 3, S },
};

static void test_kinds(void)
{
	for (size_t i = 0; i < AT_ARRAY_SIZE(samples); i++) {
		/* followed by other code, as in a function: only the first instruction counts */
		uint8_t code[32];

		memset(code, 0xcc, sizeof(code));
		memcpy(code, samples[i].b, samples[i].len);
		if (at_probe_kind(code, sizeof(code)) != samples[i].kind) {
			fprintf(stderr, "  %s: %s, expected %s\n", samples[i].what,
				at_hit_kind_name(at_probe_kind(code, sizeof(code))), at_hit_kind_name(samples[i].kind));
			unit_cur_failed = 1;
		}
	}
}

static void test_short_or_bad_code(void)
{
	static const uint8_t jmp_cut[] = { 0xe9, 1 };	/* cut short: not an instruction */

	CHECK(at_probe_kind(jmp_cut, sizeof(jmp_cut)) == AT_HIT_STEPPED);
	CHECK(at_probe_kind(jmp_cut, 0) == AT_HIT_STEPPED);
	CHECK_STR(at_hit_kind_name(AT_HIT_EMULATED), "emulated");
	CHECK_STR(at_hit_kind_name(AT_HIT_STEPPED), "stepped");
}

/* A function's cost per call: its entry's kind, plus the return probe when it has one. */
static void test_cost_per_call(void)
{
	struct at_probe_cost c = { .entry_ns = 700, .stepped_ns = 9000, .return_ns = 600 };
	struct at_func_probe fp[AT_NR_FUNCS] = {
		[AT_MALLOC] = { true, AT_HIT_EMULATED, true },
		[AT_FREE] = { true, AT_HIT_EMULATED, false },
		[AT_MUNMAP] = { true, AT_HIT_STEPPED, false },
		[AT_REALLOCARRAY] = { true, AT_HIT_STEPPED, true },
	};
	double ns[AT_NR_FUNCS];

	at_probe_cost_per_call(&c, fp, ns);
	CHECK(ns[AT_MALLOC] == 1300);
	CHECK(ns[AT_FREE] == 700);
	CHECK(ns[AT_MUNMAP] == 9000);
	CHECK(ns[AT_REALLOCARRAY] == 9600);
	CHECK(ns[AT_CALLOC] == 0);	/* not probed: no cost */
}

int main(void)
{
	RUN(test_kinds);
	RUN(test_short_or_bad_code);
	RUN(test_cost_per_call);
	return UNIT_DONE();
}
