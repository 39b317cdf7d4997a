/* --listen: an HTTP server (libmicrohttpd, its own thread) serving what the session
 * last published. It never reads the kernel nor the model: each refresh the session
 * publishes finished bodies, and a request copies the current one under a lock. */
#ifndef AT_SERVER_H
#define AT_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct at_server;

/* Listens on "ADDR:PORT" ("[::1]:9464" for IPv6, "0.0.0.0:9464", "localhost:9464");
 * NULL with a one-line message naming the cause and the fix. */
struct at_server *at_server__new(const char *listen);
void at_server__free(struct at_server *s);	/* NULL is fine; stops the thread */

struct at_bodies {
	char *prom;		/* /metrics, Prometheus text format 0.0.4 */
	size_t prom_len;
	char *om;		/* /metrics, OpenMetrics 1.0 (Accept: application/openmetrics-text) */
	size_t om_len;
	uint8_t *pprof;		/* /debug/pprof/heap, gzipped */
	size_t pprof_len;
};

/* Replaces what is served; takes the buffers (malloc'd), frees the previous ones. */
void at_server__publish(struct at_server *s, struct at_bodies *b);

#endif
