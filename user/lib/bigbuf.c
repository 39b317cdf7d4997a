#include "lib/bigbuf.h"
#include "lib/util.h"

#include <stdlib.h>
#include <sys/mman.h>

void *at_bigbuf_reserve(struct at_bigbuf *b, size_t bytes)
{
	size_t want = b->bytes ? b->bytes : 1 << 20;
	void *p;

	if (bytes <= b->bytes)
		return b->p;
	while (want < bytes)
		want *= 2;
	p = b->p ? mremap(b->p, b->bytes, want, MREMAP_MAYMOVE)
		 : mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		at_err("out of memory (%zu bytes)", want);
		exit(AT_EXIT_FAIL);
	}
	b->p = p;
	b->bytes = want;
	return p;
}

void at_bigbuf__fini(struct at_bigbuf *b)
{
	if (b->p)
		munmap(b->p, b->bytes);
	b->p = NULL;
	b->bytes = 0;
}
