/* --max-overhead's windows in the BPF programs: user-mode samples of each traced process in and out of windows
 * (bpf/ticks.bpf.c), the share of its own work the windows saw, and each window's start. */
#ifndef AT_TICKS_H
#define AT_TICKS_H

#include <stdbool.h>
#include <linux/types.h>

struct alloctop_bpf;
struct at_ticks_set;

/* Starts a cpu-clock sampler at hz on every CPU, running the skeleton's user_tick.
 * NULL after a one-line error. */
struct at_ticks_set *at_ticks__new(struct alloctop_bpf *skel, int hz);
void at_ticks__window(struct at_ticks_set *t, bool on);	/* every probe in / going out */
/* A window begins attaching at ns (CLOCK_MONOTONIC): blocks born before it whose fate
 * the window sees are sent to map "gaps" (struct at_gap_event, bpf/alloc.bpf.c). */
void at_ticks__window_start(struct at_ticks_set *t, __u64 ns);
/* pid's user-mode samples in windows and out; false if none. */
bool at_ticks__read(const struct at_ticks_set *t, int pid, __u64 *on, __u64 *off);
void at_ticks__free(struct at_ticks_set *t);	/* NULL is fine */

#endif
