#include "export/httpc.h"
#include "lib/util.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct url {
	char host[256], port[16], path[512];
};

static int parse_url(const char *u, struct url *out, char *err, size_t errsz)
{
	const char *h, *slash, *colon;
	size_t hl;

	if (strncmp(u, "http://", 7)) {
		snprintf(err, errsz, "'%s' is not an http:// URL (https is not supported: use a local proxy)", u);
		return -1;
	}
	h = u + 7;
	slash = strchr(h, '/');
	hl = slash ? (size_t)(slash - h) : strlen(h);
	colon = memchr(h, ':', hl);
	if (*h == '[') {	/* [v6]:port */
		const char *end = memchr(h, ']', hl);

		colon = end && (size_t)(end - h) + 1 < hl && end[1] == ':' ? end + 1 : NULL;
	}
	if (!hl || hl >= sizeof(out->host)) {
		snprintf(err, errsz, "'%s' names no host", u);
		return -1;
	}
	snprintf(out->host, sizeof(out->host), "%.*s", (int)(colon ? colon - h : (long)hl), h);
	snprintf(out->port, sizeof(out->port), "%.*s", colon ? (int)(hl - (size_t)(colon - h) - 1) : 2,
		 colon ? colon + 1 : "80");
	snprintf(out->path, sizeof(out->path), "%s", slash ? slash : "");
	/* a trailing slash: the request path starts with one already */
	if (out->path[0] && out->path[strlen(out->path) - 1] == '/')
		out->path[strlen(out->path) - 1] = 0;
	if (out->host[0] == '[') {
		memmove(out->host, out->host + 1, strlen(out->host));
		out->host[strcspn(out->host, "]")] = 0;
	}
	return 0;
}

int at_http_url_ok(const char *url, char *err, size_t errsz)
{
	struct url u;

	return parse_url(url, &u, err, errsz);
}

static int connect_to(const struct url *u, int timeout_s, char *err, size_t errsz)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
	struct timeval tv = { .tv_sec = timeout_s };
	int fd = -1, rc = getaddrinfo(u->host, u->port, &hints, &ai);

	if (rc) {
		snprintf(err, errsz, "%s: %s", u->host, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		/* SO_SNDTIMEO bounds connect() too */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen)) {
			snprintf(err, errsz, "connect %s:%s: %s", u->host, u->port, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = send(fd, (const char *)p + off, n - off, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

int at_http_post(const struct at_http_req *r, char *err, size_t errsz)
{
	char head[2048], resp[512];
	struct url u;
	int fd, n, status = -1;
	ssize_t got = 0, k;

	if (parse_url(r->url, &u, err, errsz))
		return -1;
	fd = connect_to(&u, r->timeout_s, err, errsz);
	if (fd < 0)
		return -1;
	n = snprintf(head, sizeof(head),
		     "POST %s%s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: alloctop\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
		     u.path, r->path, u.host, u.port, r->content_type, r->len, r->extra_headers ? r->extra_headers : "");
	if (n >= (int)sizeof(head) || send_all(fd, head, (size_t)n) || send_all(fd, r->body, r->len)) {
		snprintf(err, errsz, "sending to %s:%s: %s", u.host, u.port, strerror(errno));
		close(fd);
		return -1;
	}
	/* the status line, or as much as the caller wants (the server closes after it) */
	while (got < (ssize_t)sizeof(resp) - 1 && !memchr(resp, '\n', (size_t)got) &&
	       (k = recv(fd, resp + got, sizeof(resp) - 1 - (size_t)got, 0)) > 0)
		got += k;
	resp[got] = 0;
	if (r->resp && r->resp_sz) {
		size_t n = (size_t)got < r->resp_sz - 1 ? (size_t)got : r->resp_sz - 1;

		memcpy(r->resp, resp, n);
		while (n < r->resp_sz - 1 && (k = recv(fd, r->resp + n, r->resp_sz - 1 - n, 0)) > 0)
			n += (size_t)k;
		r->resp[n] = 0;
		if (r->resp_len)
			*r->resp_len = n;
	}
	close(fd);
	if (sscanf(resp, "HTTP/%*d.%*d %d", &status) != 1) {
		snprintf(err, errsz, "no HTTP answer from %s:%s", u.host, u.port);
		return -1;
	}
	if (status < 200 || status > 299)
		snprintf(err, errsz, "%s:%s answered %.*s", u.host, u.port, (int)strcspn(resp, "\r\n"), resp);
	return status;
}
