#include "lib/hash.h"
#include "lib/util.h"

#include <stdlib.h>

static size_t slot(__u64 k1, __u64 k2, size_t cap)
{
	__u64 h = k1 * 0x9E3779B97F4A7C15ULL ^ (k2 + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;

	h ^= h >> 31;
	return (size_t)h & (cap - 1);
}

void *at_hash_get(const struct at_hash *h, __u64 k1, __u64 k2)
{
	if (!h->cap)
		return NULL;
	for (size_t i = slot(k1, k2, h->cap);; i = (i + 1) & (h->cap - 1)) {
		struct at_hash_ent *e = &h->slots[i];

		if (!e->val)
			return NULL;
		if (e->k1 == k1 && e->k2 == k2)
			return e->val;
	}
}

static void grow(struct at_hash *h)
{
	struct at_hash old = *h;

	h->cap = old.cap ? old.cap * 2 : 64;
	h->len = 0;
	h->slots = at_xcalloc(h->cap, sizeof(*h->slots));
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].val)
			at_hash_put(h, old.slots[i].k1, old.slots[i].k2, old.slots[i].val);
	free(old.slots);
}

void *at_hash_put(struct at_hash *h, __u64 k1, __u64 k2, void *val)
{
	if ((h->len + 1) * 4 > h->cap * 3)
		grow(h);
	for (size_t i = slot(k1, k2, h->cap);; i = (i + 1) & (h->cap - 1)) {
		struct at_hash_ent *e = &h->slots[i];

		if (!e->val) {
			*e = (struct at_hash_ent){ k1, k2, val };
			h->len++;
			return NULL;
		}
		if (e->k1 == k1 && e->k2 == k2) {
			void *old = e->val;

			e->val = val;
			return old;
		}
	}
}

void *at_hash_del(struct at_hash *h, __u64 k1, __u64 k2)
{
	size_t mask = h->cap - 1, i, j;
	void *val;

	if (!h->cap)
		return NULL;
	for (i = slot(k1, k2, h->cap);; i = (i + 1) & mask) {
		if (!h->slots[i].val)
			return NULL;
		if (h->slots[i].k1 == k1 && h->slots[i].k2 == k2)
			break;
	}
	val = h->slots[i].val;
	/* backward shift: pull later entries of the probe run into the hole, so lookups
	 * never stop early at it */
	for (j = (i + 1) & mask; h->slots[j].val; j = (j + 1) & mask) {
		size_t home = slot(h->slots[j].k1, h->slots[j].k2, h->cap);

		/* the entry may move to i only if i lies on its probe path from home to j */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			h->slots[i] = h->slots[j];
			i = j;
		}
	}
	h->slots[i].val = NULL;
	h->len--;
	return val;
}

size_t at_hash_drop_if(struct at_hash *h, bool (*keep)(const struct at_hash_ent *e, void *ctx),
		       void (*drop)(const struct at_hash_ent *e, void *ctx), void *ctx)
{
	struct at_hash kept = { 0 };
	size_t n = 0;

	for (size_t i = 0; i < h->cap; i++) {
		struct at_hash_ent *e = &h->slots[i];

		if (!e->val)
			continue;
		if (keep(e, ctx)) {
			at_hash_put(&kept, e->k1, e->k2, e->val);
		} else {
			drop(e, ctx);
			n++;
		}
	}
	if (n) {	/* rebuilt at its new size: a table that grew for churned keys shrinks */
		free(h->slots);
		*h = kept;
	} else {
		at_hash_clear(&kept);
	}
	return n;
}

static void free_val(const struct at_hash_ent *e, void *ctx)
{
	(void)ctx;
	free(e->val);
}

size_t at_hash_keep_if(struct at_hash *h, bool (*keep)(const struct at_hash_ent *e, void *ctx), void *ctx)
{
	return at_hash_drop_if(h, keep, free_val, ctx);
}

static bool other_k1(const struct at_hash_ent *e, void *k1)
{
	return e->k1 != *(const __u64 *)k1;
}

size_t at_hash_free_k1(struct at_hash *h, __u64 k1)
{
	return at_hash_keep_if(h, other_k1, &k1);
}

void at_hash_clear(struct at_hash *h)
{
	free(h->slots);
	h->slots = NULL;
	h->cap = h->len = 0;
}

void at_hash_free_all(struct at_hash *h)
{
	for (size_t i = 0; i < h->cap; i++)
		free(h->slots[i].val);
	at_hash_clear(h);
}

void at_hash_str(const char *s, __u64 *k1, __u64 *k2)
{
	__u64 h1 = 0xcbf29ce484222325ULL, h2 = 0x9e3779b97f4a7c15ULL;

	for (; *s; s++) {
		h1 = (h1 ^ (unsigned char)*s) * 0x100000001b3ULL;
		h2 = (h2 ^ (unsigned char)*s) * 0xff51afd7ed558ccdULL;
		h2 ^= h2 >> 31;
	}
	*k1 = h1;
	*k2 = h2;
}
