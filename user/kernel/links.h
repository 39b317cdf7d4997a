/* Link sets: the uprobe links of each per-PID target (one set per file it maps) or of
 * each file probed for every process, planned, attached, re-planned after an exec,
 * switched on and off by --max-overhead's windows and detached here. The tracer owns one. */
#ifndef AT_LINKS_H
#define AT_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include "probe/attach.h"

struct alloctop_bpf;

struct at_links_opts {
	size_t sz;			/* sizeof(struct at_links_opts), for compatibility */
	struct alloctop_bpf *skel;	/* loaded: the programs to attach, per-process maps */
	struct at_elfcache *ec;
	const char *lib;		/* force this allocator file */
	bool sampling;			/* --max-overhead: every link comes and goes in windows */
	struct at_livegrow *live;	/* the live-block table, waited for before the first link */
};

struct at_links;
struct at_livegrow;

struct at_links *at_links__new(const struct at_links_opts *opts);
bool at_links__has_pid(struct at_links *ls, int pid);
/* Attaches every probe for one process. 0, -EAGAIN (no allocator mapped yet), or
 * another -errno after a one-line error; nothing stays attached on failure. */
int at_links__attach_pid(struct at_links *ls, int pid);
void at_links__detach_pid(struct at_links *ls, int pid);
/* After an exec: keeps the sets on files mapped the same way, replaces the others.
 * 0, -EAGAIN, or another -errno (quietly; nothing stays attached to pid then). */
int at_links__replan_pid(struct at_links *ls, int pid);
/* Probes pid's allocator files for every process (once per file); records pid's
 * allocator text and alias slots. 0, -EAGAIN or -errno (quiet: no message). */
int at_links__attach_global(struct at_links *ls, int pid, bool quiet);
/* --max-overhead: attaches (on) or detaches (off) every probe of every set, per-PID and
 * file-wide: free side first on, all at once off (closed off the caller's thread). Sets
 * added while off wait for on. exposed_s (on, may be NULL): how long probes have been in,
 * from the first link's breakpoints to the end of the attach. */
int at_links__sample(struct at_links *ls, bool on, double *exposed_s);
/* --max-overhead: whether probes count what they see (closed from a detach until opened
 * after the next attach: calls entering while links go away count in no window). */
void at_links__gate(struct at_links *ls, bool open);
size_t at_links__count(const struct at_links *ls);	/* uprobe links attached now */
/* The probes on pid's functions (its own sets; for file probes, every probed file's):
 * their entry kinds and return probes, for the cost model. false if none. */
bool at_links__func_probes(const struct at_links *ls, int pid, struct at_func_probe fp[AT_NR_FUNCS]);
/* Closes every link at once. NULL is fine. */
void at_links__free(struct at_links *ls);

#endif
