/* Open-addressing hash table: two 64-bit words of key to a pointer. */
#ifndef AT_HASH_H
#define AT_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct at_hash_ent {
	__u64 k1, k2;
	void *val;		/* NULL = empty slot */
};

struct at_hash {
	struct at_hash_ent *slots;
	size_t cap, len;	/* cap is a power of two */
};

void *at_hash_get(const struct at_hash *h, __u64 k1, __u64 k2);
/* Inserts or replaces; val must not be NULL. Returns the value replaced, or NULL. */
void *at_hash_put(struct at_hash *h, __u64 k1, __u64 k2, void *val);
/* Removes a key; returns its value, or NULL if absent. */
void *at_hash_del(struct at_hash *h, __u64 k1, __u64 k2);
/* Two independent 64-bit hashes of a string, to key strings in the table (a collision
 * needs both to collide). */
void at_hash_str(const char *s, __u64 *k1, __u64 *k2);
/* Frees the values of every key whose first word is k1 (a process's entries, when it is
 * gone) and removes them; returns how many. */
size_t at_hash_free_k1(struct at_hash *h, __u64 k1);
/* Removes the keys keep() turns down, each handed to drop() first (to release its value,
 * which need not be malloc'd), the table rebuilt at its new size; returns how many. */
size_t at_hash_drop_if(struct at_hash *h, bool (*keep)(const struct at_hash_ent *e, void *ctx),
		       void (*drop)(const struct at_hash_ent *e, void *ctx), void *ctx);
/* at_hash_drop_if with the values malloc'd: frees those it removes. */
size_t at_hash_keep_if(struct at_hash *h, bool (*keep)(const struct at_hash_ent *e, void *ctx), void *ctx);
void at_hash_clear(struct at_hash *h);	/* frees the table, not the values */
void at_hash_free_all(struct at_hash *h);	/* frees the values (malloc'd) and the table */

#define at_hash_for_each(h, e) \
	for ((e) = (h)->slots; (h)->slots && (e) < (h)->slots + (h)->cap; (e)++) \
		if ((e)->val)

#endif
