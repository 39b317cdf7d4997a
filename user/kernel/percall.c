#include "kernel/percall.h"
#include "alloctop.skel.h"
#include "alloctop.h"
#include "binary/elf.h"
#include "uprobe_multi.h"
#include "lib/util.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
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
	/* without --per, nothing to verify at every start */
	bpf_program__set_autoload(skel->progs.per_enter, n > 0);
	bpf_program__set_autoload(skel->progs.per_exit, n > 0);
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

/* func's file offset in the ELF file at path; false if it does not define it. */
static bool offset_in(const char *path, const char *func, unsigned long *off)
{
	struct at_elf *e = at_elf__open_path(path);
	const struct at_sym *s = e ? at_elf_func(e, func) : NULL;
	__u64 o = 0;
	bool found = s && !at_elf_vaddr_to_off(e, s->addr, &o);

	at_elf__close(e);
	*off = (unsigned long)o;
	return found;
}

/* Where pid's func is: its executable first, then the files it maps executable (through
 * /proc/PID/map_files, the very files mapped). path gets the file to probe, shown its
 * name. false if none defines it. */
static bool find_func(int pid, const char *func, char *path, size_t psz, char *shown, size_t ssz,
		      unsigned long *off)
{
	char maps[64], line[PATH_MAX + 128], range[64], perms[8], name[PATH_MAX];
	bool found = false;
	FILE *f;

	snprintf(path, psz, "/proc/%d/exe", pid);
	if (offset_in(path, func, off)) {
		ssize_t n = readlink(path, shown, ssz - 1);

		shown[n > 0 ? n : 0] = 0;
		return true;
	}
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	if (!(f = fopen(maps, "r")))
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		name[0] = 0;
		if (sscanf(line, "%63s %7s %*s %*s %*s %4095[^\n]", range, perms, name) < 3 || perms[2] != 'x' ||
		    name[0] != '/')
			continue;
		snprintf(path, psz, "/proc/%d/map_files/%s", pid, range);
		if ((found = offset_in(path, func, off)))
			snprintf(shown, ssz, "%s", name);
	}
	fclose(f);
	return found;
}

static void keep_link(struct at_percall *pc, int fd)
{
	if (pc->nr_links == pc->cap_links) {
		pc->cap_links = pc->cap_links ? 2 * pc->cap_links : 16;
		pc->links = at_xrealloc(pc->links, pc->cap_links, sizeof(*pc->links));
	}
	pc->links[pc->nr_links++] = fd;
}

/* Entry and return probes on function f at off of path, for pid only. */
static int attach_func(struct at_percall *pc, int pid, int f, const char *path, unsigned long off)
{
	__u64 cookie = (__u64)f;
	int fd[2];

	fd[0] = at_uprobe_multi_link(bpf_program__fd(pc->skel->progs.per_enter), path, &off, &cookie, 1, pid, false);
	fd[1] = at_uprobe_multi_link(bpf_program__fd(pc->skel->progs.per_exit), path, &off, &cookie, 1, pid, true);
	if (fd[0] < 0 || fd[1] < 0) {
		for (int i = 0; i < 2; i++)
			if (fd[i] >= 0)
				close(fd[i]);
		return fd[0] < 0 ? fd[0] : fd[1];
	}
	keep_link(pc, fd[0]);
	keep_link(pc, fd[1]);
	return 0;
}

int at_percall__attach_pid(struct at_percall *pc, int pid)
{
	size_t first = pc->nr_links;

	for (int f = 0; f < pc->n; f++) {
		char path[PATH_MAX], shown[PATH_MAX] = "?";
		unsigned long off;
		int err = 0;

		if (!find_func(pid, pc->funcs[f], path, sizeof(path), shown, sizeof(shown), &off)) {
			at_err("--per %s: no such function in process %d's executable or libraries: give a function "
			       "that is not inlined (nm shows it)", pc->funcs[f], pid);
			err = -ENOENT;
		} else if ((err = attach_func(pc, pid, f, path, off))) {
			at_err("--per %s: cannot probe it in %s (process %d): %s", pc->funcs[f], shown, pid,
			       strerror(-err));
		}
		if (err) {
			while (pc->nr_links > first)
				close(pc->links[--pc->nr_links]);
			return err;
		}
		at_debug("--per %s: probed in %s+0x%lx (process %d)", pc->funcs[f], shown, off, pid);
	}
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
