/* Probe-site selection. The kernel emulates a few x86 instructions when a uprobe hits
 * them (push reg, jmp/jcc/call rel, nops: probekind.c) and single-steps every other one
 * out of line, which costs several times more. So the probe goes on the first emulated
 * instruction, provided every instruction before it leaves the argument registers and
 * rsp untouched (then the BPF program sees the call exactly as at entry, and a return
 * probe there still finds the return address at *rsp), none of them branches, and
 * nothing jumps to the site (the probe must fire once per call). Otherwise the entry
 * it is. */
#include "probe/probesite.h"
#include "probe/probekind.h"
#include "lib/util.h"

#include <capstone/capstone.h>
#include <string.h>

#define AT_SCAN_INSNS 8		/* how far into the function a site may be */
#define AT_SCAN_BYTES 4096	/* how much of the function is checked for jumps to it */

static bool writes_args_or_sp(csh h, const cs_insn *in)
{
	static const x86_reg guarded[] = {
		X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL,
		X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH, X86_REG_RCX, X86_REG_ECX, X86_REG_CX,
		X86_REG_CL, X86_REG_CH, X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, X86_REG_R9, X86_REG_R9D,
		X86_REG_R9W, X86_REG_R9B, X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL,
	};
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	if (cs_regs_access(h, in, rd, &nrd, wr, &nwr))
		return true;	/* unknown: assume the worst */
	for (int i = 0; i < nwr; i++)
		for (size_t g = 0; g < AT_ARRAY_SIZE(guarded); g++)
			if (wr[i] == guarded[g])
				return true;
	return false;
}

static bool changes_flow(csh h, const cs_insn *in)
{
	return cs_insn_group(h, in, CS_GRP_JUMP) || cs_insn_group(h, in, CS_GRP_CALL) ||
	       cs_insn_group(h, in, CS_GRP_RET) || cs_insn_group(h, in, CS_GRP_INT) ||
	       cs_insn_group(h, in, CS_GRP_IRET) || in->id == X86_INS_SYSCALL || in->id == X86_INS_SYSENTER;
}

/* Is any direct jump or call inside the function aimed at target? */
static bool jumped_to(csh h, const uint8_t *code, size_t size, uint64_t addr, uint64_t target)
{
	cs_insn *in = cs_malloc(h);
	bool hit = false;

	while (!hit && cs_disasm_iter(h, &code, &size, &addr, in)) {
		const cs_x86 *x = &in->detail->x86;

		if (!cs_insn_group(h, in, CS_GRP_JUMP) && !cs_insn_group(h, in, CS_GRP_CALL))
			continue;
		for (int i = 0; i < x->op_count; i++)
			if (x->operands[i].type == X86_OP_IMM && (uint64_t)x->operands[i].imm == target)
				hit = true;
	}
	cs_free(in, 1);
	return hit;
}

__u64 at_probe_site(const struct at_elf *e, const struct at_sym *s, enum at_func f)
{
	size_t avail, size, n = 0;
	const uint8_t *code = at_elf_code(e, s->addr, &avail), *p;
	uint64_t addr = s->addr, site = 0;
	cs_insn *in;
	csh h;

	(void)f;
	if (!code)
		return 0;
	size = s->size ? s->size : 64;
	if (size > avail)
		size = avail;
	if (size > AT_SCAN_BYTES)
		size = AT_SCAN_BYTES;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return 0;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	in = cs_malloc(h);
	p = code;
	{
		size_t left = size;

		while (n++ < AT_SCAN_INSNS && cs_disasm_iter(h, &p, &left, &addr, in)) {
			if (at_probe_kind(in->bytes, in->size) == AT_HIT_EMULATED) {
				site = in->address;
				break;
			}
			if (changes_flow(h, in) || writes_args_or_sp(h, in))
				break;
		}
	}
	cs_free(in, 1);
	if (site && site != s->addr && jumped_to(h, code, size, s->addr, site))
		site = 0;
	cs_close(&h);
	return site ? site - s->addr : 0;
}
