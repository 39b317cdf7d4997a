// C++ new and delete served by an allocator library (built once per library, see the
// Makefile: -ljemalloc, -ltcmalloc_minimal, -lmimalloc), exact truth from fam.h: plain,
// array, nothrow and over-aligned new; sized deletes (-fsized-deallocation), sized
// array deletes (a type with a destructor: the array cookie is part of the request),
// aligned sized deletes.
#include <new>
#include "fam.h"

struct Box {
	long v[3];
};
struct Node {
	long v[5];
	~Node() { BARRIER(); }	// not trivial: new[] stores the element count before the array
};
struct alignas(64) Line {
	char b[192];
};

extern "C" {
NOINLINE Box *site_box()
{
	Box *b = new Box();

	fam_alloc(SITE, "new", sizeof(Box));
	BARRIER();
	return b;
}

NOINLINE long *site_longs(int n)
{
	long *p = new long[n];

	fam_alloc(SITE, "new_array", n * sizeof(long));
	BARRIER();
	return p;
}

NOINLINE Node *site_nodes(int n)
{
	Node *p = new Node[n];

	// the Itanium ABI's array cookie: max(sizeof(size_t), alignof(Node)) bytes
	fam_alloc(SITE, "new_array", n * sizeof(Node) + sizeof(size_t));
	BARRIER();
	return p;
}

NOINLINE void *site_nothrow()
{
	void *p = operator new(88, std::nothrow);

	fam_alloc(SITE, "new", 88);
	BARRIER();
	return p;
}

NOINLINE Line *site_line()
{
	Line *l = new Line();

	fam_alloc(SITE, "new", sizeof(Line));
	BARRIER();
	return l;
}
}

static void *keep[16];

int main()
{
	int k = 0;

	delete new Box();	// the allocator's initialisation, before the measured phase
	fam_ready();
	for (int i = 0; i < 25; i++) {
		delete site_box();	// sized: operator delete(void *, size_t)
		fam_free("delete");
	}
	for (int i = 0; i < 9; i++) {
		delete[] site_longs(10 + i);	// trivial type: unsized delete[]
		fam_free("delete_array");
	}
	for (int i = 0; i < 4; i++) {
		delete[] site_nodes(3 + i);	// sized delete[] with the cookie
		fam_free("delete_array");
	}
	for (int i = 0; i < 3; i++) {
		operator delete(site_nothrow(), std::nothrow);
		fam_free("delete");
	}
	for (int i = 0; i < 5; i++) {
		delete site_line();	// sized and aligned
		fam_free("delete");
	}
	keep[k++] = site_box();
	keep[k++] = site_line();
	keep[k++] = site_nodes(2);
	fam_done();
	return 0;
}
