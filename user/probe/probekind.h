/* What the kernel does when a uprobe is hit: emulate the probed instruction, or step it
 * out of line (a second trap, ~3x the cost in a VM). The cost model prices each kind. */
#ifndef AT_PROBEKIND_H
#define AT_PROBEKIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum at_hit_kind {
	AT_HIT_EMULATED,	/* push reg, jmp/call/jcc rel, the kernel's nops */
	AT_HIT_STEPPED,		/* every other instruction: single-stepped out of line */
	AT_NR_HIT_KINDS,
};

/* The probes on one function of a process, as attached. */
struct at_func_probe {
	bool probed;
	enum at_hit_kind entry;	/* the kind of its entry probe's instruction */
	bool ret;		/* it also has a return probe */
};

/* The kind of hit a uprobe at the instruction starting at code[0..len) gets, under the
 * x86-64 rules of Linux 6.18 (arch/x86/kernel/uprobes.c). Undecodable: stepped. */
enum at_hit_kind at_probe_kind(const uint8_t *code, size_t len);
const char *at_hit_kind_name(enum at_hit_kind k);

#endif
