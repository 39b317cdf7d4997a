#include "export/server.h"
#include "lib/util.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct at_server {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;	/* guards cur and have */
	struct at_bodies cur;
	bool have;		/* something was published */
};

static void free_bodies(struct at_bodies *b)
{
	free(b->prom);
	free(b->om);
	free(b->pprof);
	memset(b, 0, sizeof(*b));
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *type,
			     const void *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned int status, const char *msg)
{
	return reply(conn, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

/* A client that lists application/openmetrics-text in Accept gets OpenMetrics (the
 * Prometheus server asks for it first, the text format as a fallback). */
static bool wants_openmetrics(struct MHD_Connection *conn)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);

	return accept && strstr(accept, "application/openmetrics-text");
}

static enum MHD_Result serve(struct at_server *s, struct MHD_Connection *conn, const char *url)
{
	bool metrics = !strcmp(url, "/metrics"), pprof = !strcmp(url, "/debug/pprof/heap");
	bool om = metrics && wants_openmetrics(conn);
	enum MHD_Result ret;

	if (!metrics && !pprof)
		return text(conn, MHD_HTTP_NOT_FOUND, "alloctop serves /metrics and /debug/pprof/heap\n");
	pthread_mutex_lock(&s->lock);
	if (!s->have)
		ret = text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "alloctop: no refresh yet, retry after one interval\n");
	else if (pprof)
		ret = reply(conn, MHD_HTTP_OK, "application/octet-stream", s->cur.pprof, s->cur.pprof_len);
	else if (om)
		ret = reply(conn, MHD_HTTP_OK, "application/openmetrics-text; version=1.0.0; charset=utf-8",
			    s->cur.om, s->cur.om_len);
	else
		ret = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", s->cur.prom,
			    s->cur.prom_len);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version, (void)upload, (void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "alloctop: GET only\n");
	if (*upload_size)
		return MHD_NO;
	return serve(cls, conn, url);
}

/* "HOST:PORT" or "[V6]:PORT" to an address; NULL with a message when it is not one. */
static struct addrinfo *resolve(const char *listen)
{
	char *host = at_xstrdup(listen), *port = strrchr(host, ':'), *h = host;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai = NULL;
	int err;

	if (!port || !port[1]) {
		at_err("--listen '%s': give ADDR:PORT, e.g. 127.0.0.1:9464 or 0.0.0.0:9464", listen);
		free(host);
		return NULL;
	}
	*port++ = 0;
	if (*h == '[' && h[strlen(h) - 1] == ']')
		h[strlen(h) - 1] = 0, h++;
	err = getaddrinfo(*h ? h : NULL, port, &hints, &ai);
	if (err)
		at_err("--listen '%s': %s; give ADDR:PORT with a local address and a port number", listen,
		       gai_strerror(err));
	free(host);
	return err ? NULL : ai;
}

struct at_server *at_server__new(const char *listen)
{
	struct addrinfo *ai = resolve(listen);
	struct at_server *s;

	if (!ai)
		return NULL;
	s = at_xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	/* one polling thread, few connections, short timeouts: bounded memory */
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, handler, s,
				MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				MHD_OPTION_CONNECTION_LIMIT, 32u,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!s->d) {
		at_err("--listen %s: cannot listen there (address in use or not local?); choose a free port "
		       "on an address of this machine", listen);
		at_server__free(s);
		return NULL;
	}
	return s;
}

void at_server__free(struct at_server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	free_bodies(&s->cur);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void at_server__publish(struct at_server *s, struct at_bodies *b)
{
	struct at_bodies old;

	pthread_mutex_lock(&s->lock);
	old = s->cur;
	s->cur = *b;
	s->have = true;
	pthread_mutex_unlock(&s->lock);
	free_bodies(&old);	/* outside the lock */
	memset(b, 0, sizeof(*b));
}
