/* Closing uprobe links: each close waits out an RCU grace period (40 to 310 ms here) after
 * its breakpoints are gone, so links are closed in parallel (the waits overlap), and
 * --max-overhead's window links off the event loop, by a detached thread. */
#ifndef AT_LINKCLOSE_H
#define AT_LINKCLOSE_H

struct at_closer;

/* Closes every fd now, from parallel threads: about one grace period in all. */
void at_close_parallel(const int *fds, int n);

struct at_closer *at_closer__new(void);
/* Hands fds to a detached thread that closes them in parallel; the caller is done with
 * them at once (without a thread, closes them here). */
void at_closer__close_async(struct at_closer *c, const int *fds, int n);
/* Batches handed over and not yet closed. */
int at_closer__busy(struct at_closer *c);
/* Waits at most secs for the batches in flight (alloctop leaves no uprobe behind when it
 * exits), then lets go; threads still closing free it when they end. NULL is fine. */
void at_closer__free(struct at_closer *c, double secs);

#endif
