#include "kernel/sitereader.h"
#include "sites_read.skel.h"
#include "lib/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define REQS_BYTES (AT_READ_BATCH * sizeof(struct at_site_read))

int at_sitereader__open(struct at_sitereader *r, int sites_fd, int more_fd, int ncpus)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->skel = sites_read_bpf__open();
	if (!r->skel)
		return -errno;
	r->skel->rodata->nr_cpus = (__u32)ncpus;
	r->skel->rodata->more_room = more_fd >= 0;
	err = bpf_map__reuse_fd(r->skel->maps.sites, sites_fd);
	if (!err && more_fd >= 0)
		err = bpf_map__reuse_fd(r->skel->maps.sites_more, more_fd);
	if (!err)
		err = sites_read_bpf__load(r->skel);
	if (!err) {
		r->reqs = mmap(NULL, REQS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(r->skel->maps.reqs), 0);
		err = r->reqs == MAP_FAILED ? -errno : 0;
	}
	if (err) {
		if (r->reqs == MAP_FAILED)
			r->reqs = NULL;
		at_sitereader__close(r);
		at_debug("site reader unavailable (%s): reading sites one by one", strerror(-err));
	}
	return err;
}

int at_sitereader_run(struct at_sitereader *r, size_t n, bool lives)
{
	struct at_read_args args = { .n = (__u32)n, .lives = lives };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &args, .ctx_size_in = sizeof(args));

	if (bpf_prog_test_run_opts(bpf_program__fd(r->skel->progs.read_sites), &o))
		return -errno;
	return 0;
}

void at_sitereader__close(struct at_sitereader *r)
{
	if (r->reqs)
		munmap(r->reqs, REQS_BYTES);
	sites_read_bpf__destroy(r->skel);
	memset(r, 0, sizeof(*r));
}
