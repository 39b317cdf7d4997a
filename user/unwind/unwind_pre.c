#include "unwind/unwind_pre.h"
#include "binary/cfi.h"
#include "binary/dwarf.h"
#include "binary/elfcache.h"
#include "lib/hash.h"
#include "binary/procmaps.h"
#include "lib/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct pre_table {
	struct at_cfi cfi;
	double build_s;
};

struct at_unwind_pre {
	pthread_t th;
	bool joined;
	int *pids;
	int n;
	struct at_hash by_file;		/* (dev, ino) -> struct pre_table, filled by the thread */
};

/* The file's table, as the unwinder would compile it (user/unwind/unwind.c, module_get). */
static void compile_file(struct at_unwind_pre *p, struct at_elfcache *ec, int pid, const struct at_vma *v)
{
	const struct at_elf *e;
	struct at_elf *dbg = NULL;
	struct pre_table *t;
	double t0 = at_now_mono();

	if (!at_vma_is_file(v) || at_hash_get(&p->by_file, v->dev, v->ino))
		return;
	e = at_elfcache_get(ec, pid, v);
	if (!e)
		return;
	t = at_xcalloc(1, sizeof(*t));
	if (!at_elf_has_dwarf(e))
		dbg = at_debugfile_find(pid, v->path, e, v->dev, v->ino);
	if (at_cfi__build(e, dbg, &t->cfi)) {
		free(t);
	} else {
		t->build_s = at_now_mono() - t0;
		at_hash_put(&p->by_file, v->dev, v->ino, t);
	}
	at_elf__close(dbg);
}

static void *compile_all(void *arg)
{
	struct at_unwind_pre *p = arg;
	/* its own cache: the tracer's is not shared across threads */
	struct at_elfcache *ec = at_elfcache__new();

	for (int i = 0; i < p->n; i++) {
		struct at_maps maps;

		if (at_maps__read(p->pids[i], &maps))
			continue;
		for (size_t j = 0; j < maps.n; j++)
			if (maps.v[j].exec)
				compile_file(p, ec, p->pids[i], &maps.v[j]);
		at_maps__fini(&maps);
	}
	at_elfcache__free(ec);
	return NULL;
}

struct at_unwind_pre *at_unwind_pre__new(const int *pids, int n)
{
	struct at_unwind_pre *p;

	if (n <= 0)
		return NULL;
	p = at_xcalloc(1, sizeof(*p));
	p->pids = at_xcalloc(n, sizeof(*pids));
	memcpy(p->pids, pids, n * sizeof(*pids));
	p->n = n;
	if (pthread_create(&p->th, NULL, compile_all, p)) {
		free(p->pids);
		free(p);
		return NULL;
	}
	return p;
}

void at_unwind_pre__wait(struct at_unwind_pre *p)
{
	if (p && !p->joined)
		pthread_join(p->th, NULL);
	if (p)
		p->joined = true;
}

int at_unwind_pre__take(struct at_unwind_pre *p, dev_t dev, __u64 ino, struct at_cfi *out, double *build_s)
{
	struct pre_table *t;

	if (!p)
		return -ENOENT;
	at_unwind_pre__wait(p);
	t = at_hash_del(&p->by_file, dev, ino);
	if (!t)
		return -ENOENT;
	*out = t->cfi;
	*build_s = t->build_s;
	free(t);
	return 0;
}

void at_unwind_pre__free(struct at_unwind_pre *p)
{
	struct at_hash_ent *e;

	if (!p)
		return;
	at_unwind_pre__wait(p);
	at_hash_for_each(&p->by_file, e)
		at_cfi__fini(&((struct pre_table *)e->val)->cfi);
	at_hash_free_all(&p->by_file);
	free(p->pids);
	free(p);
}
