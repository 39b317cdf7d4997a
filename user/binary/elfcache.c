#include "binary/elfcache.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct at_elfcache {
	struct at_hash files;	/* (dev, ino) -> struct entry */
};

struct entry {
	struct at_elf *elf;	/* NULL: not readable, do not retry */
};

struct at_elfcache *at_elfcache__new(void)
{
	return at_xcalloc(1, sizeof(struct at_elfcache));
}

void at_elfcache__free(struct at_elfcache *c)
{
	struct at_hash_ent *e;

	if (!c)
		return;
	at_hash_for_each(&c->files, e) {
		struct entry *en = e->val;

		at_elf__close(en->elf);
		free(en);
	}
	at_hash_clear(&c->files);
	free(c);
}

static const struct at_elf *load(struct at_elfcache *c, __u64 dev, __u64 ino, int fd, const char *label)
{
	struct entry *en = at_xcalloc(1, sizeof(*en));

	en->elf = fd >= 0 ? at_elf__open(fd, label) : NULL;
	if (fd >= 0)
		close(fd);
	at_hash_put(&c->files, dev, ino, en);
	return en->elf;
}

/* The file v maps, through the process; once it has exited, the same path on the host
 * if it is still the very file mapped (same device and inode). */
static int open_mapped(int pid, const struct at_vma *v)
{
	int fd = at_open_mapped(pid, v);
	struct stat st;

	if (fd >= 0)
		return fd;
	fd = open(v->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) || st.st_dev != v->dev || st.st_ino != v->ino)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

const struct at_elf *at_elfcache_get(struct at_elfcache *c, int pid, const struct at_vma *v)
{
	struct entry *en = at_hash_get(&c->files, v->dev, v->ino);

	if (en)
		return en->elf;
	if (!at_vma_is_file(v))
		return NULL;
	return load(c, v->dev, v->ino, open_mapped(pid, v), v->path);
}

const struct at_elf *at_elfcache_get_path(struct at_elfcache *c, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct entry *en;
	struct stat st;

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	en = at_hash_get(&c->files, st.st_dev, st.st_ino);
	if (en) {
		close(fd);
		return en->elf;
	}
	return load(c, st.st_dev, st.st_ino, fd, path);
}
