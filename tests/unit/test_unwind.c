/* Packing compiled CFI rows for the BPF unwinder: exact or AT_CFA_NONE, never wrong. */
#include "unit.h"
#include "unwind/unwind.h"
#include "alloctop.h"

static struct at_unwind_row pack(__u8 type, __s32 cfa, __u8 rule, __s16 rbp)
{
	struct at_cfi_row r = { .pc = 0x1234, .cfa_type = type, .cfa_off = cfa, .rbp_rule = rule, .rbp_off = rbp };

	return at_unwind_pack_row(&r);
}

static void test_common_rows(void)
{
	struct at_unwind_row p = pack(AT_CFA_RSP, 8, AT_RBP_SAME, 0);	/* function entry */

	CHECK_EQ_U(p.pc, 0x1234);
	CHECK_EQ_U(p.cfa_type, AT_CFA_RSP);
	CHECK_EQ_U(p.cfa_words, 1);
	CHECK_EQ_U(p.rbp_words, 0);
	p = pack(AT_CFA_RBP, 16, AT_RBP_OFFSET, -16);	/* push %rbp; mov %rsp,%rbp */
	CHECK_EQ_U(p.cfa_type, AT_CFA_RBP);
	CHECK_EQ_U(p.cfa_words, 2);
	CHECK(p.rbp_words == -2);
	p = pack(AT_CFA_RBP_DEREF, -8, AT_RBP_OFFSET, -16);	/* gcc's stack realignment */
	CHECK_EQ_U(p.cfa_type, AT_CFA_RBP_DEREF);
	CHECK(p.cfa_words == -1);
	p = pack(AT_CFA_RSP, 8 * 32767, AT_RBP_SAME, 0);	/* the largest frame it holds */
	CHECK_EQ_U(p.cfa_type, AT_CFA_RSP);
	CHECK_EQ_U(p.cfa_words, 32767);
}

static void test_unrepresentable_rows_fall_back(void)
{
	CHECK_EQ_U(pack(AT_CFA_RSP, 12, AT_RBP_SAME, 0).cfa_type, AT_CFA_NONE);		/* not in words */
	CHECK_EQ_U(pack(AT_CFA_RSP, 8 * 32768, AT_RBP_SAME, 0).cfa_type, AT_CFA_NONE);	/* too far */
	CHECK_EQ_U(pack(AT_CFA_RSP, 16, AT_RBP_OFFSET, -20).cfa_type, AT_CFA_NONE);
	CHECK_EQ_U(pack(AT_CFA_RSP, 16, AT_RBP_OFFSET, -8 * 129).cfa_type, AT_CFA_NONE);
	/* a saved-rbp offset of 0 cannot be told from "unchanged" once packed */
	CHECK_EQ_U(pack(AT_CFA_RSP, 16, AT_RBP_OFFSET, 0).cfa_type, AT_CFA_NONE);
}

static void test_end_and_none_keep_their_type(void)
{
	CHECK_EQ_U(pack(AT_CFA_END, 0, AT_RBP_SAME, 0).cfa_type, AT_CFA_END);
	CHECK_EQ_U(pack(AT_CFA_NONE, 12345, AT_RBP_OFFSET, -3).cfa_type, AT_CFA_NONE);
	CHECK_EQ_U(pack(AT_CFA_NONE, 12345, AT_RBP_OFFSET, -3).cfa_words, 0);
}

int main(void)
{
	RUN(test_common_rows);
	RUN(test_unrepresentable_rows_fall_back);
	RUN(test_end_and_none_keep_their_type);
	return UNIT_DONE();
}
