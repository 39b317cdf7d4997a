/* Big scratch arrays in mappings of their own. Freed, they go back to the system at
 * once: malloc keeps large freed blocks in its heap once its mmap threshold has grown,
 * and the heap pass's arrays (tens of MB) would stay in alloctop's RSS. Growing moves
 * page tables (mremap), not bytes. */
#ifndef AT_BIGBUF_H
#define AT_BIGBUF_H

#include <stddef.h>

struct at_bigbuf {
	void *p;
	size_t bytes;		/* mapped */
};

/* Room for at least `bytes`, the content kept; exits on failure like at_xrealloc. */
void *at_bigbuf_reserve(struct at_bigbuf *b, size_t bytes);
void at_bigbuf__fini(struct at_bigbuf *b);

#endif
