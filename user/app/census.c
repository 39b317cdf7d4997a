#include "app/census.h"
#include "lib/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static int try_pid(struct at_census *c, struct at_tracer *t, struct at_model *m, int pid)
{
	int err;

	if (pid == getpid())
		return 0;
	if (at_hash_get(&c->seen, pid, 0)) {
		at_hash_put(&c->seen, pid, 0, (void *)(uintptr_t)c->scans);
		return 0;
	}
	err = at_tracer__attach_global(t, pid, true);
	/* no allocator mapped yet (a process still loading): try again next time */
	if (err == -EAGAIN)
		return 0;
	at_hash_put(&c->seen, pid, 0, (void *)(uintptr_t)c->scans);
	if (err)
		return 0;
	at_model_add_target(m, pid);
	return 1;
}

static bool found_now(const struct at_hash_ent *e, void *c)
{
	return (uintptr_t)e->val == ((const struct at_census *)c)->scans;
}

static void add_vanished(const struct at_hash_ent *e, void *ctx)
{
	struct at_census *c = ctx;

	c->vanished = at_xrealloc(c->vanished, (size_t)c->nr_vanished + 1, sizeof(int));
	c->vanished[c->nr_vanished++] = (int)e->k1;
}

/* Pids tried before that this scan did not find: gone. */
static void collect_vanished(struct at_census *c)
{
	c->nr_vanished = 0;
	at_hash_drop_if(&c->seen, found_now, add_vanished, c);
}

int at_census_scan(struct at_census *c, struct at_tracer *t, struct at_model *m)
{
	struct dirent *d;
	int n = 0, pids[256];
	DIR *dir;

	if (c->follow) {
		int k = at_tracer__followed(t, pids, AT_ARRAY_SIZE(pids));

		for (int i = 0; i < k; i++)
			n += try_pid(c, t, m, pids[i]);
		return n;
	}
	dir = opendir("/proc");
	if (!dir)
		return 0;
	c->scans++;
	while ((d = readdir(dir)))
		if (isdigit((unsigned char)d->d_name[0]))
			n += try_pid(c, t, m, atoi(d->d_name));
	closedir(dir);
	collect_vanished(c);
	return n;
}

void at_census_forget(struct at_census *c, int pid)
{
	at_hash_del(&c->seen, pid, 0);
}

void at_census__fini(struct at_census *c)
{
	free(c->vanished);
	c->vanished = NULL;
	c->nr_vanished = 0;
	at_hash_clear(&c->seen);
}
