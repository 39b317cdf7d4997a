#include "export/engines.h"
#include "export/httpc.h"
#include "lib/util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s appended to out, percent-encoded for a query value. */
static void url_encode(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.~", ch))
			fputc(ch, out);
		else
			fprintf(out, "%%%02X", ch);
	}
}

int at_push_pyroscope(const struct at_push_req *r, char *err, size_t errsz)
{
	static const char boundary[] = "alloctop-profile-8b1f0c2e";
	char *path = NULL, *body = NULL, *name = NULL, ct[96];
	size_t plen = 0, blen = 0, nlen = 0;
	FILE *f;
	int status;

	/* name: APP{k=v,...} */
	f = open_memstream(&name, &nlen);
	fprintf(f, "%s{", r->app);
	for (size_t i = 0; i < r->nr_labels; i++)
		fprintf(f, "%s%s=%s", i ? "," : "", r->labels[i].name, r->labels[i].value);
	fputc('}', f);
	fclose(f);
	f = open_memstream(&path, &plen);
	fputs("/ingest?name=", f);
	url_encode(f, name);
	fprintf(f, "&from=%lld&until=%lld&format=pprof&spyName=alloctop", (long long)r->from, (long long)r->until);
	fclose(f);
	f = open_memstream(&body, &blen);
	fprintf(f, "--%s\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"profile.pprof\"\r\n"
		"Content-Type: application/octet-stream\r\n\r\n", boundary);
	fwrite(r->gz, 1, r->len, f);
	fprintf(f, "\r\n--%s--\r\n", boundary);
	fclose(f);
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", boundary);
	status = at_http_post(&(struct at_http_req){ .url = r->url, .path = path, .content_type = ct, .body = body,
						    .len = blen, .timeout_s = r->timeout_s }, err, errsz);
	free(name);
	free(path);
	free(body);
	return status >= 200 && status <= 299 ? 0 : -1;
}

static char *base64(const uint8_t *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = at_xcalloc(4 * ((n + 2) / 3) + 1, 1), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		__uint32_t v = (__uint32_t)p[i] << 16 | (i + 1 < n ? (__uint32_t)p[i + 1] << 8 : 0) |
			       (i + 2 < n ? p[i + 2] : 0);

		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	return out;
}

static json_object *label(const char *name, const char *value)
{
	json_object *l = json_object_new_object();

	json_object_object_add(l, "name", json_object_new_string(name));
	json_object_object_add(l, "value", json_object_new_string(value));
	return l;
}

int at_push_parca(const struct at_push_req *r, char *err, size_t errsz)
{
	json_object *req = json_object_new_object(), *series = json_object_new_array(), *one = json_object_new_object();
	json_object *ls = json_object_new_object(), *labels = json_object_new_array();
	json_object *samples = json_object_new_array(), *sample = json_object_new_object();
	char *b64 = base64(r->gz, r->len);
	const char *body;
	int status;

	json_object_array_add(labels, label("__name__", r->app));
	for (size_t i = 0; i < r->nr_labels; i++)
		json_object_array_add(labels, label(r->labels[i].name, r->labels[i].value));
	json_object_object_add(ls, "labels", labels);
	json_object_object_add(one, "labels", ls);
	json_object_object_add(sample, "rawProfile", json_object_new_string(b64));
	json_object_array_add(samples, sample);
	json_object_object_add(one, "samples", samples);
	json_object_array_add(series, one);
	json_object_object_add(req, "series", series);
	/* addresses are the processes' own, with their mappings: not normalized */
	json_object_object_add(req, "normalized", json_object_new_boolean(0));
	body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	status = at_http_post(&(struct at_http_req){ .url = r->url, .path = "/profiles/writeraw",
						    .content_type = "application/json", .body = body,
						    .len = strlen(body), .timeout_s = r->timeout_s }, err, errsz);
	json_object_put(req);
	free(b64);
	return status >= 200 && status <= 299 ? 0 : -1;
}
