/* Unwind tables compiled ahead: a thread compiles the CFI of every executable file the
 * -p targets map while the BPF programs load (kernel work on the main thread), so that
 * describing the targets to the unwinder after attaching no longer waits for libdw
 * (~30 ms for a process using glibc, all of it before the `attached` line). */
#ifndef AT_UNWIND_PRE_H
#define AT_UNWIND_PRE_H

#include <sys/types.h>
#include <linux/types.h>

struct at_cfi;
struct at_unwind_pre;

/* Starts compiling for these processes; NULL when there are none or no thread. */
struct at_unwind_pre *at_unwind_pre__new(const int *pids, int n);
/* Waits for the thread to finish: from then on only the caller's thread is in libelf
 * and libdw (built without thread safety; until then each thread has its own handles). */
void at_unwind_pre__wait(struct at_unwind_pre *p);
/* Waits for the thread, then moves the table compiled for file (dev, ino) to *out.
 * 0, or -ENOENT when none was (the caller compiles it itself). */
int at_unwind_pre__take(struct at_unwind_pre *p, dev_t dev, __u64 ino, struct at_cfi *out, double *build_s);
void at_unwind_pre__free(struct at_unwind_pre *p);

#endif
