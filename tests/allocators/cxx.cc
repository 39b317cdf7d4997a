// C++ workload: sites are the functions that call new, counts exact, and the malloc and
// free inside operator new/delete are not counted again. Same protocol as mix.c.
#include <cstdio>
#include <new>
#include <unistd.h>

namespace app {
template <typename T> struct Box {
	T v[4];
};

__attribute__((noinline)) Box<int> *make_box() { return new Box<int>(); }
__attribute__((noinline)) int *make_array(int n) { return new int[n]; }
__attribute__((noinline)) void *make_nothrow() { return operator new(64, std::nothrow); }
__attribute__((noinline)) void *make_aligned() { return operator new(256, std::align_val_t(64)); }
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
	for (int i = 0; i < 30; i++)
		delete app::make_box();				// 30 new + 30 delete
	for (int i = 0; i < 12; i++)
		delete[] app::make_array(100);			// 12 new[] + 12 delete[]
	app::Box<int> *keep = app::make_box();			// 1 live
	operator delete(app::make_nothrow());			// new (nothrow) + delete
	operator delete(app::make_aligned(), std::align_val_t(64));	// aligned new + delete
	(void)keep;
	len = std::snprintf(out, sizeof(out),
			    "{\"new\": 33, \"new_array\": 12, \"delete\": 32, \"delete_array\": 12, \"allocs\": 45, "
			    "\"frees\": 44, \"sites\": {\"app::make_box()\": 31, \"app::make_array(int)\": 12, "
			    "\"app::make_nothrow()\": 1, \"app::make_aligned()\": 1}}\n");
	if (write(1, out, len) < 0)
		return 2;
	line();
	return 0;
}
