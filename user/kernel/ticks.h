/* --max-overhead's windows in the BPF programs: user-mode samples of each traced process in and out of windows
 * (bpf/ticks.bpf.c), the share of its own work the windows saw, and each window's start. */
#ifndef AT_TICKS_H
#define AT_TICKS_H

#include <stdbool.h>
#include <linux/types.h>

struct alloctop_bpf;
struct at_ticks_set;

/* Two cpu-clock timers per CPU: one always on at 499 Hz (odd: no aliasing with 100 Hz or
 * 1 kHz periodic work), whose samples count between windows; one at 10 kHz, on in windows
 * only, whose samples count in windows (1 to 10 ms each). A few us a sample here: under
 * 0.5% of each CPU, about 3% in windows. The own share of each side's samples is applied
 * to the process's CPU time there (its CPU clock), so the timers' own interrupts weigh
 * little. At 2 kHz redis under redis-benchmark (about 90% of its window time in the
 * probes) left about 20 own samples in windows a run, too few to say its share (runs 1.5x
 * to 2.5x high); 10 kHz gives 100 to 200. */
#define AT_TICK_OFF_NS 2003000ULL
#define AT_TICK_ON_NS 100000ULL

/* pid's own time (ns, estimated from samples), own samples and all its samples, in and
 * out of windows; as struct at_ticks in bpf/ticks.bpf.c. */
struct at_user_time {
	__u64 on_ns, off_ns;
	__u64 on_n, off_n;
	__u64 on_all, off_all;
};

/* Before the load: the kernel text of the uprobe paths (from /proc/kallsyms), so that
 * kernel-mode samples count too; returns how many functions (0: user mode only). */
int at_ticks__prepare(struct alloctop_bpf *skel);
/* Starts the timers, running the skeleton's user_tick. NULL after a one-line error. */
struct at_ticks_set *at_ticks__new(struct alloctop_bpf *skel);
void at_ticks__window(struct at_ticks_set *t, bool on);	/* every probe in / going out */
/* A window begins attaching at ns (CLOCK_MONOTONIC): blocks born before it whose fate
 * the window sees are sent to map "gaps" (struct at_gap_event, bpf/alloc.bpf.c). */
void at_ticks__window_start(struct at_ticks_set *t, __u64 ns);
bool at_ticks__read(const struct at_ticks_set *t, int pid, struct at_user_time *u);	/* false: none */
void at_ticks__free(struct at_ticks_set *t);	/* NULL is fine */

#endif
