#include "export/engines.h"
#include "export/httpc.h"
#include "lib/util.h"

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

/* Protocol buffers' wire format, the little WriteRawRequest needs: a varint, and a
 * length-delimited field (strings, bytes, nested messages). */
static void pb_varint(FILE *f, uint64_t v)
{
	for (; v >= 0x80; v >>= 7)
		fputc((int)(v & 0x7f) | 0x80, f);
	fputc((int)v, f);
}

static void pb_bytes(FILE *f, unsigned int field, const void *p, size_t n)
{
	pb_varint(f, (uint64_t)field << 3 | 2);
	pb_varint(f, n);
	fwrite(p, 1, n, f);
}

/* parca.profilestore.v1alpha1.Label { string name = 1; string value = 2; } inside
 * LabelSet { repeated Label labels = 1; } */
static void pb_label(FILE *set, const char *name, const char *value)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	pb_bytes(f, 1, name, strlen(name));
	pb_bytes(f, 2, value, strlen(value));
	fclose(f);
	pb_bytes(set, 1, buf, len);
	free(buf);
}

/* WriteRawRequest { repeated RawProfileSeries series = 2; bool normalized = 3; } with
 * RawProfileSeries { LabelSet labels = 1; repeated RawSample samples = 2; } and
 * RawSample { bytes raw_profile = 1; }; normalized stays false (left out): the
 * addresses are the processes' own, with their mappings. Framed for gRPC-web: flag 0,
 * then the length (big-endian u32). */
static char *write_raw_request(const struct at_push_req *r, size_t *len)
{
	char *set = NULL, *smp = NULL, *ser = NULL, *msg = NULL;
	size_t set_len = 0, smp_len = 0, ser_len = 0, msg_len = 0;
	FILE *f = open_memstream(&set, &set_len);

	pb_label(f, "__name__", r->app);
	for (size_t i = 0; i < r->nr_labels; i++)
		pb_label(f, r->labels[i].name, r->labels[i].value);
	fclose(f);
	f = open_memstream(&smp, &smp_len);
	pb_bytes(f, 1, r->gz, r->len);
	fclose(f);
	f = open_memstream(&ser, &ser_len);
	pb_bytes(f, 1, set, set_len);
	pb_bytes(f, 2, smp, smp_len);
	fclose(f);
	f = open_memstream(&msg, &msg_len);
	fwrite("\0\0\0\0\0", 1, 5, f);	/* the frame's flag, and room for its length */
	pb_bytes(f, 2, ser, ser_len);
	fclose(f);
	for (int i = 0; i < 4; i++)	/* the frame's length, now known */
		msg[1 + i] = (char)((msg_len - 5) >> (24 - 8 * i) & 0xff);
	free(set);
	free(smp);
	free(ser);
	*len = msg_len;
	return msg;
}

/* The call's outcome: grpc-status in the headers (an error without a message) or in the
 * trailer frame the body ends with. -1 when there is none. */
static int grpc_status(const char *resp, size_t len)
{
	static const char key[] = "grpc-status:";
	const char *p = memmem(resp, len, key, sizeof(key) - 1);

	if (!p)
		return -1;
	p += sizeof(key) - 1;
	while (p < resp + len && *p == ' ')
		p++;
	return p < resp + len && *p >= '0' && *p <= '9' ? atoi(p) : -1;
}

int at_push_parca(const struct at_push_req *r, char *err, size_t errsz)
{
	size_t len, got = 0;
	char *body = write_raw_request(r, &len), *resp = at_xcalloc(4096, 1);
	int status, gs;

	status = at_http_post(&(struct at_http_req){
		.url = r->url, .path = "/parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw",
		.content_type = "application/grpc-web+proto", .extra_headers = "X-Grpc-Web: 1\r\n",
		.body = body, .len = len, .timeout_s = r->timeout_s, .resp = resp, .resp_sz = 4096,
		.resp_len = &got }, err, errsz);
	gs = status == 200 ? grpc_status(resp, got) : -1;
	if (status == 200 && gs != 0)
		snprintf(err, errsz, "WriteRaw answered grpc-status %d", gs);
	free(body);
	free(resp);
	return gs == 0 ? 0 : -1;
}
