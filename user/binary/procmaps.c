#include "binary/procmaps.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int at_maps__read(int pid, struct at_maps *m)
{
	char path[64], *line = NULL, perms[8];
	size_t cap = 0, len = 0;
	unsigned long long s, e, off, ino;
	unsigned int maj, min;
	int pos, err = 0;
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &len, f) > 0) {
		struct at_vma *v;
		char *p;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &min, &ino, &pos) < 7)
			continue;
		if (m->n == cap) {
			cap = cap ? cap * 2 : 64;
			m->v = at_xrealloc(m->v, cap, sizeof(*m->v));
		}
		v = &m->v[m->n++];
		memset(v, 0, sizeof(*v));
		v->start = s;
		v->end = e;
		v->pgoff = off;
		v->ino = ino;
		v->dev = makedev(maj, min);
		v->exec = perms[2] == 'x';
		v->writable = perms[1] == 'w';
		v->shared = perms[3] == 's';
		p = line + pos;
		p[strcspn(p, "\n")] = 0;
		if (*p)
			v->path = at_xstrdup(p);
	}
	if (ferror(f))
		err = -EIO;
	free(line);
	fclose(f);
	if (!m->n && !err)
		err = -ESRCH;	/* a zombie or kernel thread has no mappings */
	if (err)
		at_maps__fini(m);	/* a process gone mid-read: callers keep nothing on failure */
	return err;
}

void at_maps__fini(struct at_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

const struct at_vma *at_maps_find(const struct at_maps *m, __u64 addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {	/* maps are sorted by address */
		size_t mid = (lo + hi) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

bool at_vma_is_file(const struct at_vma *v)
{
	return v->path && v->path[0] == '/' && v->ino;
}

static bool is_mapped_file(int fd, const struct at_vma *v)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_ino == v->ino && st.st_dev == v->dev;
}

int at_open_mapped(int pid, const struct at_vma *v)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	char root[64];
	struct stat st;
	int dfd, fd;

	if (!at_vma_is_file(v))
		return -ENOENT;
	/* map_files names the very inode mapped, even if deleted or replaced since */
	snprintf(root, sizeof(root), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	fd = open(root, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !fstat(fd, &st) && st.st_ino == v->ino)
		return fd;
	if (fd >= 0)
		close(fd);
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = syscall(SYS_openat2, dfd, v->path, &how, sizeof(how));
	close(dfd);
	if (fd >= 0 && is_mapped_file(fd, v))
		return fd;
	if (fd >= 0)
		close(fd);
	/* maps prints paths as seen from our root: a chrooted process's files show their
	 * host path, which resolves only from here (and may name another file inside the
	 * jail). Whatever opens, only the mapped inode is accepted. */
	fd = open(v->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && is_mapped_file(fd, v))
		return fd;
	if (fd >= 0)
		close(fd);
	/* replaced since it was mapped (package upgrade, deleted file), or not reachable */
	return -ESTALE;
}

double at_proc_cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (at_read_small(path, buf, sizeof(buf)) || !(p = strrchr(buf, ')')))
		return -1;
	/* after the comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}
