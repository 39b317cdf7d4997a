// C++ workload: sites are the functions that call new, counts exact, and the malloc and
// free inside operator new/delete are not counted again. Same protocol as mix.c.
#include <cstdio>
#include <new>
#include <unistd.h>

// The truth is counted as the calls are made (each maker and each delete counts itself).
static int n_box, n_array, n_nothrow, n_aligned, n_delete, n_delete_array;

namespace app {
template <typename T> struct Box {
	T v[4];
};

__attribute__((noinline)) Box<int> *make_box() { n_box++; return new Box<int>(); }
__attribute__((noinline)) int *make_array(int n) { n_array++; return new int[n]; }
__attribute__((noinline)) void *make_nothrow() { n_nothrow++; return operator new(64, std::nothrow); }
__attribute__((noinline)) void *make_aligned() { n_aligned++; return operator new(256, std::align_val_t(64)); }
} // namespace app

static void line()
{
	char b[64];

	if (read(0, b, sizeof(b)) < 0)
		_exit(2);
}

int main()
{
	char out[512];
	int len = std::snprintf(out, sizeof(out), "ready %d\n", getpid());

	if (write(1, out, len) < 0)
		return 2;
	line();
	for (int i = 0; i < 30; i++, n_delete++)
		delete app::make_box();				// 30 new + 30 delete
	for (int i = 0; i < 12; i++, n_delete_array++)
		delete[] app::make_array(100);			// 12 new[] + 12 delete[]
	app::Box<int> *keep = app::make_box();			// 1 live
	operator delete(app::make_nothrow());			// new (nothrow) + delete
	n_delete++;
	operator delete(app::make_aligned(), std::align_val_t(64));	// aligned new + delete
	n_delete++;
	(void)keep;
	len = std::snprintf(out, sizeof(out),
			    "{\"new\": %d, \"new_array\": %d, \"delete\": %d, \"delete_array\": %d, \"allocs\": %d, "
			    "\"frees\": %d, \"sites\": {\"app::make_box()\": %d, \"app::make_array(int)\": %d, "
			    "\"app::make_nothrow()\": %d, \"app::make_aligned()\": %d}}\n",
			    n_box + n_nothrow + n_aligned, n_array, n_delete, n_delete_array,
			    n_box + n_array + n_nothrow + n_aligned, n_delete + n_delete_array, n_box, n_array, n_nothrow,
			    n_aligned);
	if (write(1, out, len) < 0)
		return 2;
	line();
	return 0;
}
