/* Closing uprobe links in parallel, and off the event loop (see linkclose.h). */
#include "kernel/linkclose.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Shared by the event loop and the closing threads: freed by the last one out. */
struct at_closer {
	pthread_mutex_t mu;
	pthread_cond_t done;
	int busy;	/* batches in flight */
	int refs;	/* the owner's and each batch's */
};

struct close_batch {
	struct at_closer *c;
	int n;
	int fds[];
};

static void *close_fd(void *fd)
{
	close((int)(intptr_t)fd);
	return NULL;
}

void at_close_parallel(const int *fds, int n)
{
	pthread_t th[n > 0 ? n : 1];
	bool started[n > 0 ? n : 1];

	for (int i = 0; i < n; i++)
		started[i] = !pthread_create(&th[i], NULL, close_fd, (void *)(intptr_t)fds[i]);
	for (int i = 0; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			close(fds[i]);
	}
}

struct at_closer *at_closer__new(void)
{
	struct at_closer *c = at_xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->done, NULL);
	c->refs = 1;
	return c;
}

static void closer_put(struct at_closer *c)
{
	bool last;

	pthread_mutex_lock(&c->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (last) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->done);
		free(c);
	}
}

static void *close_batch_main(void *arg)
{
	struct close_batch *b = arg;
	struct at_closer *c = b->c;

	at_close_parallel(b->fds, b->n);
	free(b);
	pthread_mutex_lock(&c->mu);
	c->busy--;
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->mu);
	closer_put(c);
	return NULL;
}

void at_closer__close_async(struct at_closer *c, const int *fds, int n)
{
	struct close_batch *b;
	pthread_t th;

	if (n <= 0)
		return;
	b = at_xcalloc(1, sizeof(*b) + (size_t)n * sizeof(int));
	b->c = c;
	b->n = n;
	memcpy(b->fds, fds, (size_t)n * sizeof(int));
	pthread_mutex_lock(&c->mu);
	c->busy++;
	c->refs++;
	pthread_mutex_unlock(&c->mu);
	if (!pthread_create(&th, NULL, close_batch_main, b)) {
		pthread_detach(th);
		return;
	}
	close_batch_main(b);
}

int at_closer__busy(struct at_closer *c)
{
	int n;

	pthread_mutex_lock(&c->mu);
	n = c->busy;
	pthread_mutex_unlock(&c->mu);
	return n;
}

void at_closer__free(struct at_closer *c, double secs)
{
	struct timespec until;

	if (!c)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)secs;
	pthread_mutex_lock(&c->mu);
	while (c->busy && pthread_cond_timedwait(&c->done, &c->mu, &until) == 0)
		;
	pthread_mutex_unlock(&c->mu);
	closer_put(c);
}
