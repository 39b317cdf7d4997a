/* /proc/PID/maps, a process's CPU time, and opening a mapped file safely inside the process's root. */
#ifndef AT_PROCMAPS_H
#define AT_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct at_vma {
	__u64 start, end, pgoff;
	__u64 ino;
	dev_t dev;
	bool exec;
	bool writable;
	bool shared;
	char *path;		/* NULL for anonymous; "[vdso]", "[stack]", ... kept as is */
};

struct at_maps {
	struct at_vma *v;
	size_t n;
};

int at_maps__read(int pid, struct at_maps *m);	/* 0 or -errno */
void at_maps__fini(struct at_maps *m);
const struct at_vma *at_maps_find(const struct at_maps *m, __u64 addr);
bool at_vma_is_file(const struct at_vma *v);

/* Opens a path the process sees, resolved inside /proc/PID/root (symlinks cannot
 * escape it), and checks it is the file mapped (device and inode). Returns fd or -errno. */
int at_open_mapped(int pid, const struct at_vma *v);

/* CPU seconds process pid has used (utime + stime of /proc/PID/stat), or -1. */
double at_proc_cpu_s(int pid);

#endif
