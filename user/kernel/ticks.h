/* --max-overhead's windows in the BPF programs: user-mode samples of each traced process in and out of windows
 * (bpf/ticks.bpf.c), the share of its own work the windows saw, and each window's start. */
#ifndef AT_TICKS_H
#define AT_TICKS_H

#include <stdbool.h>
#include <linux/types.h>
#include "alloctop.h"

struct alloctop_bpf;
struct at_ticks_set;

/* Two cpu-clock timers: one always on at 499 Hz (odd: no aliasing with 100 Hz or 1 kHz
 * periodic work), whose samples count between windows; one at 10 kHz, on in windows
 * only, whose samples count in windows (1 to 10 ms each). On the targets' own threads
 * with -p and a command (other processes never see them); on every CPU in a census. A
 * sample costs the thread it interrupts about 12 us in this VM (a timer interrupt exits
 * to the host): 13% of its time at 10 kHz, calibrated (kernel/probecost.c) and counted
 * in the share of work seen and in the budget. At 2 kHz redis under redis-benchmark
 * (about 90% of its window time in the probes) left about 20 own samples in windows a
 * run, too few to say its share (runs 1.5x to 2.5x high); 10 kHz gives 100 to 200. */
#define AT_TICK_OFF_NS 2003000ULL
#define AT_TICK_ON_NS 100000ULL


/* Before the load: the kernel text of the uprobe paths (from /proc/kallsyms), so that
 * kernel-mode samples count too; returns how many functions (0: user mode only). */
int at_ticks__prepare(struct alloctop_bpf *skel);
/* Starts the timers, running the skeleton's user_tick: per_task, on the threads of each
 * pid added; else on every CPU now. NULL after a one-line error. */
struct at_ticks_set *at_ticks__new(struct alloctop_bpf *skel, bool per_task);
int at_ticks__add_pid(struct at_ticks_set *t, int pid);	/* 0, or -1 after a one-line error */
void at_ticks__forget(struct at_ticks_set *t, int pid);
/* At each report: timers for the targets' threads born since, none for those gone. */
void at_ticks__refresh(struct at_ticks_set *t);
void at_ticks__window(struct at_ticks_set *t, bool on);	/* every probe in / going out */
/* A window begins attaching at ns (CLOCK_MONOTONIC): blocks born before it whose fate
 * the window sees are sent to map "gaps" (struct at_gap_event, bpf/alloc.bpf.c). */
void at_ticks__window_start(struct at_ticks_set *t, __u64 ns);
bool at_ticks__read(const struct at_ticks_set *t, int pid, struct at_ticks *u);	/* false: none */
void at_ticks__free(struct at_ticks_set *t);	/* NULL is fine */

#endif
