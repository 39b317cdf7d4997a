/* Shared by the unwind workload and its library: every function is its own frame (no
 * inlining, no cloning, no tail calls: each does work after its call). Built as C and
 * as C++, with and without frame pointers (Makefile, tests/integration/test_unwind.py). */
#ifndef UW_H
#define UW_H

#define UW_FN __attribute__((noipa))
#define UW_BARRIER() __asm__ volatile("" ::: "memory")

typedef int (*uw_cb)(int);

int uw_mid_1(uw_cb cb, int n);

#endif
