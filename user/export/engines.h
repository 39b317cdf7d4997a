/* How a profile is handed to each engine (one HTTP request each):
 * - Pyroscope: its HTTP ingest API, POST /ingest?name=APP{LABELS}&from&until&format=pprof
 *   &spyName=alloctop, the gzipped profile as the multipart/form-data field "profile".
 * - Parca: the RPC parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw in gRPC-web
 *   (HTTP/1.1; Parca's server takes it on its port beside gRPC and its HTTP routes), a
 *   WriteRawRequest in protobuf: one series labelled __name__ = APP and LABELS, one
 *   sample whose raw_profile is the gzipped profile. Success: grpc-status 0. */
#ifndef AT_ENGINES_H
#define AT_ENGINES_H

#include <stddef.h>
#include <stdint.h>

struct at_label {
	char *name, *value;
};

struct at_push_req {
	const char *url;
	const char *app;
	const struct at_label *labels;
	size_t nr_labels;
	double from, until;	/* Unix seconds the profile covers */
	const uint8_t *gz;
	size_t len;
	int timeout_s;
};

/* 0 when the engine accepted it, else -1 with why in err. */
int at_push_pyroscope(const struct at_push_req *r, char *err, size_t errsz);
int at_push_parca(const struct at_push_req *r, char *err, size_t errsz);

#endif
