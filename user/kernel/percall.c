#include "kernel/percall.h"
#include "alloctop.skel.h"
#include "alloctop.h"
#include "binary/elf.h"
#include "uprobe_multi.h"
#include "lib/util.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct at_percall {
	struct alloctop_bpf *skel;
	const char *const *funcs;
	int n;
	int *links;		/* uprobe_multi link fds: entries and returns, per process */
	size_t nr_links, cap_links;
};

void at_percall__prepare(struct alloctop_bpf *skel, int n, int max_procs)
{
	bpf_map__set_max_entries(skel->maps.per_calls, n ? (__u32)(n * max_procs) : 1);
}

struct at_percall *at_percall__new(struct alloctop_bpf *skel, const char *const *funcs, int n)
{
	struct at_percall *pc;

	if (!n)
		return NULL;
	pc = at_xcalloc(1, sizeof(*pc));
	pc->skel = skel;
	pc->funcs = funcs;
	pc->n = n;
	return pc;
}

/* The file offsets of the functions in the executable; -errno after a message. */
static int offsets(struct at_percall *pc, const char *path, const char *exe, int pid, unsigned long *offs)
{
	struct at_elf *e = at_elf_open_path(path);
	int err = 0;

	if (!e) {
		at_err("--per: cannot read the executable of process %d (%s)", pid, exe);
		return -ENOEXEC;
	}
	for (int f = 0; f < pc->n && !err; f++) {
		const struct at_sym *s = at_elf_func(e, pc->funcs[f]);
		__u64 off = 0;

		if (!s || at_elf_vaddr_to_off(e, s->addr, &off)) {
			at_err("--per %s: no such function in %s (process %d): give a function of the executable "
			       "that is not inlined (nm shows it)", pc->funcs[f], exe, pid);
			err = -ENOENT;
		}
		offs[f] = (unsigned long)off;
	}
	at_elf_free(e);
	return err;
}

static void keep_link(struct at_percall *pc, int fd)
{
	if (pc->nr_links == pc->cap_links) {
		pc->cap_links = pc->cap_links ? 2 * pc->cap_links : 16;
		pc->links = at_xrealloc(pc->links, pc->cap_links, sizeof(*pc->links));
	}
	pc->links[pc->nr_links++] = fd;
}

int at_percall__attach_pid(struct at_percall *pc, int pid)
{
	char path[64], exe[PATH_MAX] = "?";
	unsigned long offs[AT_MAX_PER];
	__u64 cookies[AT_MAX_PER];
	ssize_t len;
	int err, fd[2];

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len > 0)
		exe[len] = 0;
	if ((err = offsets(pc, path, exe, pid, offs)))
		return err;
	for (int f = 0; f < pc->n; f++)
		cookies[f] = f;
	fd[0] = at_uprobe_multi_link(bpf_program__fd(pc->skel->progs.per_enter), path, offs, cookies, pc->n, pid, false);
	fd[1] = at_uprobe_multi_link(bpf_program__fd(pc->skel->progs.per_exit), path, offs, cookies, pc->n, pid, true);
	if (fd[0] < 0 || fd[1] < 0) {
		err = fd[0] < 0 ? fd[0] : fd[1];
		at_err("--per: cannot probe the functions in %s (process %d): %s", exe, pid, strerror(-err));
		for (int i = 0; i < 2; i++)
			if (fd[i] >= 0)
				close(fd[i]);
		return err;
	}
	keep_link(pc, fd[0]);
	keep_link(pc, fd[1]);
	at_debug("--per: %d function(s) probed in %s (process %d)", pc->n, exe, pid);
	return 0;
}

void at_percall__free(struct at_percall *pc)
{
	if (!pc)
		return;
	for (size_t i = 0; i < pc->nr_links; i++)
		close(pc->links[i]);
	free(pc->links);
	free(pc);
}
