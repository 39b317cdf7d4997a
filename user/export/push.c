#include "export/push.h"
#include "lib/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct item {
	uint8_t *gz;
	size_t len;
	double from, until;
};

struct at_pusher {
	struct at_pusher_opts o;
	struct at_label *labels;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t cv;		/* an item queued, or stop */
	struct item *q;			/* ring of o.queue */
	int head, n;
	bool stop;
	struct at_push_stats st;
	char err[256];
};

/* Waits up to s seconds or until stop; returns whether to stop. Called locked. */
static bool nap(struct at_pusher *p, double s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)s;
	ts.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_sec++, ts.tv_nsec -= 1000000000L;
	while (!p->stop && pthread_cond_timedwait(&p->cv, &p->lock, &ts) != ETIMEDOUT)
		;
	return p->stop;
}

/* Sends one item with retries; called locked, unlocks around each request. */
static void send_item(struct at_pusher *p, struct item *it)
{
	struct at_push_req r = { .url = p->o.url, .app = p->o.app, .labels = p->labels, .nr_labels = p->o.nr_labels,
				 .from = it->from, .until = it->until, .gz = it->gz, .len = it->len,
				 .timeout_s = p->o.timeout_s };
	double backoff = p->o.backoff_s;
	int attempts = p->stop ? 1 : p->o.attempts;	/* draining at exit: once each */

	for (int a = 0; a < attempts; a++) {
		char err[256] = "";
		int rc;

		pthread_mutex_unlock(&p->lock);
		rc = p->o.engine == AT_ENGINE_PARCA ? at_push_parca(&r, err, sizeof(err))
						      : at_push_pyroscope(&r, err, sizeof(err));
		pthread_mutex_lock(&p->lock);
		snprintf(p->err, sizeof(p->err), "%s", rc ? err : "");
		if (!rc) {
			p->st.sent++;
			return;
		}
		p->st.failed++;
		if (a + 1 < attempts && nap(p, backoff))
			break;
		backoff *= 2;
	}
	p->st.dropped++;	/* given up */
}

static void *run(void *arg)
{
	struct at_pusher *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct item it;

		while (!p->stop && !p->n)
			pthread_cond_wait(&p->cv, &p->lock);
		if (!p->n)	/* stopped, and what was queued is sent */
			break;
		it = p->q[p->head];
		p->head = (p->head + 1) % p->o.queue;
		p->n--;
		send_item(p, &it);
		free(it.gz);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct at_pusher *at_pusher__new(const struct at_pusher_opts *o)
{
	struct at_pusher *p = at_xcalloc(1, sizeof(*p));

	p->o = *o;
	p->o.queue = o->queue > 0 ? o->queue : 4;
	p->o.attempts = o->attempts > 0 ? o->attempts : 4;
	p->o.backoff_s = o->backoff_s > 0 ? o->backoff_s : 1;
	p->o.timeout_s = o->timeout_s > 0 ? o->timeout_s : 10;
	p->labels = at_xcalloc(o->nr_labels + 1, sizeof(*p->labels));
	for (size_t i = 0; i < o->nr_labels; i++) {
		p->labels[i].name = at_xstrdup(o->labels[i].name);
		p->labels[i].value = at_xstrdup(o->labels[i].value);
	}
	p->q = at_xcalloc((size_t)p->o.queue, sizeof(*p->q));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->started = !pthread_create(&p->thread, NULL, run, p);
	if (!p->started) {
		at_err("cannot start the %s push thread: %s", at_engine_name(o->engine), strerror(errno));
		at_pusher__free(p);
		return NULL;
	}
	return p;
}

void at_pusher__free(struct at_pusher *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	for (int i = 0; i < p->n; i++)
		free(p->q[(p->head + i) % p->o.queue].gz);
	for (size_t i = 0; i < p->o.nr_labels; i++) {
		free(p->labels[i].name);
		free(p->labels[i].value);
	}
	free(p->labels);
	free(p->q);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cv);
	free(p);
}

void at_pusher__submit(struct at_pusher *p, const uint8_t *gz, size_t len, double from, double until)
{
	struct item it = { .gz = at_xcalloc(len ? len : 1, 1), .len = len, .from = from, .until = until };

	memcpy(it.gz, gz, len);
	pthread_mutex_lock(&p->lock);
	if (p->n == p->o.queue) {	/* full: the oldest goes */
		free(p->q[p->head].gz);
		p->head = (p->head + 1) % p->o.queue;
		p->n--;
		p->st.dropped++;
	}
	p->q[(p->head + p->n) % p->o.queue] = it;
	p->n++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

void at_pusher__stats(struct at_pusher *p, struct at_push_stats *st, char *last_err, size_t errsz)
{
	pthread_mutex_lock(&p->lock);
	*st = p->st;
	if (last_err)
		snprintf(last_err, errsz, "%s", p->err);
	pthread_mutex_unlock(&p->lock);
}
