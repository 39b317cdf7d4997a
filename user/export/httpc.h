/* A minimal HTTP/1.1 client for the pushes: one POST per connection, plain http://
 * only (put a TLS-terminating proxy in front of an https engine). */
#ifndef AT_HTTPC_H
#define AT_HTTPC_H

#include <stddef.h>

struct at_http_req {
	const char *url;	/* "http://host[:port][/base]" */
	const char *path;	/* appended to the URL's path, with its query ("/ingest?name=...") */
	const char *content_type;
	const char *extra_headers;	/* "Name: value\r\n"..., or NULL */
	const void *body;
	size_t len;
	int timeout_s;		/* for each of connect, send, receive */
	char *resp;		/* NULL, or where the response (headers and body) goes, */
	size_t resp_sz;		/* NUL-terminated, cut at resp_sz - 1 bytes; */
	size_t *resp_len;	/* set to how many bytes (it may hold NULs) */
};

/* The response's status code, or -1 with why in err. */
int at_http_post(const struct at_http_req *r, char *err, size_t errsz);
/* Whether url is one at_http_post takes; else a message in err. */
int at_http_url_ok(const char *url, char *err, size_t errsz);

#endif
