/* Many sites' counters in one syscall: the reader program (bpf/reader/sites_read.bpf.c)
 * run with BPF_PROG_TEST_RUN over keys userspace wrote into a mapped array. A lookup
 * per site costs a syscall each, 2 to 4 us here: most of a refresh that reads the
 * 2000 sites a busy second changes. Loaded on first use (not while attaching). */
#ifndef AT_SITEREADER_H
#define AT_SITEREADER_H

#include <stdbool.h>
#include <stddef.h>
#include "alloctop.h"

struct sites_read_bpf;

struct at_sitereader {
	struct sites_read_bpf *skel;
	struct at_site_read *reqs;	/* AT_READ_BATCH requests, mapped */
};

/* 0, or -errno when the kernel cannot run it (the caller reads site by site). */
int at_sitereader__open(struct at_sitereader *r, int sites_fd, int more_fd, int ncpus);	/* more_fd: -1 if none */
/* Fills in reqs[0..n) (n <= AT_READ_BATCH) from their keys, with their lifetimes if
 * lives. 0 or -errno. */
int at_sitereader_run(struct at_sitereader *r, size_t n, bool lives);
void at_sitereader__close(struct at_sitereader *r);

#endif
