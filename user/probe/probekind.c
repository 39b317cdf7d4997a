/* The x86-64 uprobe emulation rules of Linux 6.18 (arch/x86/kernel/uprobes.c,
 * arch_uprobe_analyze_insn): branch_setup_xol_ops emulates the kernel's own nops
 * (x86_nops[len], len <= 8, byte for byte), jmp rel8/rel32, call rel32 and jcc rel8/rel32
 * unless a 0x66 prefix is present; push_setup_xol_ops emulates push reg, one byte or
 * with the single REX prefix 0x41 (push %r8..%r15). Anything else is single-stepped.
 * (A nop5 site may further be optimized into a call by 6.18; priced as emulated.) */
#include "probe/probekind.h"

#include <capstone/capstone.h>
#include <string.h>

#define AT_NOP_MAX 8

/* arch/x86/include/asm/nops.h, BYTES_NOP1..8 */
static const uint8_t kernel_nops[AT_NOP_MAX + 1][AT_NOP_MAX] = {
	[1] = { 0x90 },
	[2] = { 0x66, 0x90 },
	[3] = { 0x0f, 0x1f, 0x00 },
	[4] = { 0x0f, 0x1f, 0x40, 0x00 },
	[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[6] = { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[7] = { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
	[8] = { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
};

static bool is_legacy_prefix(uint8_t b)
{
	return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 ||
	       b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65;
}

static bool is_branch(const uint8_t *b, size_t len)
{
	size_t i = 0;
	bool opsize = false;

	while (i < len && is_legacy_prefix(b[i]))
		opsize |= b[i++] == 0x66;
	if (i < len && (b[i] & 0xf0) == 0x40)
		i++;	/* REX */
	if (opsize || i >= len)
		return false;	/* the kernel refuses 16-bit branches */
	if (b[i] == 0xeb || b[i] == 0xe9 || b[i] == 0xe8 || (b[i] >= 0x70 && b[i] <= 0x7f))
		return true;
	return b[i] == 0x0f && i + 1 < len && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f;
}

static bool is_push(const uint8_t *b, size_t len)
{
	if (len == 1)
		return b[0] >= 0x50 && b[0] <= 0x57;
	return len == 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57;
}

/* The length of the instruction at code (capstone's decoder), 0 if undecodable. */
static size_t insn_len(const uint8_t *code, size_t len)
{
	size_t n = 0;
	cs_insn *in;
	csh h;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return 0;
	if (cs_disasm(h, code, len, 0, 1, &in) == 1) {
		n = in->size;
		cs_free(in, 1);
	}
	cs_close(&h);
	return n;
}

enum at_hit_kind at_probe_kind(const uint8_t *code, size_t len)
{
	size_t n = insn_len(code, len);

	if (!n)
		return AT_HIT_STEPPED;
	if (n <= AT_NOP_MAX && !memcmp(code, kernel_nops[n], n))
		return AT_HIT_EMULATED;
	return is_branch(code, n) || is_push(code, n) ? AT_HIT_EMULATED : AT_HIT_STEPPED;
}

const char *at_hit_kind_name(enum at_hit_kind k)
{
	return k == AT_HIT_EMULATED ? "emulated" : k == AT_HIT_STEPPED ? "stepped" : "?";
}
