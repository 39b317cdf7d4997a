// C++ workload: allocations from a class template in a namespace, a lambda and a
// member function template, so frames need demangling. Same protocol as wl_stacks.h.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "wl_stacks.h"

#define NOINLINE __attribute__((noinline))

namespace shapes {

struct Point {
	double x, y;
};

template <typename T>
class Pool {
public:
	NOINLINE T *grab(std::size_t count)
	{
		T *p = static_cast<T *>(std::malloc(count * sizeof(T)));  // @grab-line
		__asm__ volatile("" : : "r"(p) : "memory");
		blocks_.push_back(p);
		return p;
	}
	std::vector<T *> blocks_;
};

namespace detail {
template <typename F>
NOINLINE int apply_n(int n, F f)
{
	int sum = 0;
	for (int i = 0; i < n; i++)
		sum += f(i);  // @apply-line
	return sum;
}
}  // namespace detail

constexpr int N_GRAB = 25, GRAB_COUNT = 4, N_LAMBDA = 8, LAMBDA_SZ = 200;

NOINLINE std::vector<Point *> build(Pool<Point> &pool)
{
	std::vector<Point *> out;
	for (int i = 0; i < N_GRAB; i++)
		out.push_back(pool.grab(GRAB_COUNT));	// 25 x 64 bytes, live  @build-grab-line
	int total = detail::apply_n(N_LAMBDA, [](int i) NOINLINE {
		void *p = std::malloc(LAMBDA_SZ + i);	// 8 blocks, freed  @lambda-line
		__asm__ volatile("" : : "r"(p) : "memory");
		std::free(p);
		return i;
	});
	__asm__ volatile("" : : "r"(total) : "memory");
	return out;
}

}  // namespace shapes

int main(int argc, char **argv)
{
	int waited = wls_wait(argc, argv);

	if (waited < 0)
		return 1;
	shapes::Pool<shapes::Point> pool;
	std::vector<shapes::Point *> v = shapes::build(pool);
	__asm__ volatile("" : : "r"(v.data()) : "memory");
	using namespace shapes;
	const int grab_bytes = N_GRAB * GRAB_COUNT * (int)sizeof(Point);
	// the lambda's sizes: LAMBDA_SZ + i for i < N_LAMBDA
	std::fprintf(stderr, "truth grab=%d,%d,%d lambda=%d,%d,0\n", N_GRAB, grab_bytes, grab_bytes, N_LAMBDA,
		     N_LAMBDA * LAMBDA_SZ + N_LAMBDA * (N_LAMBDA - 1) / 2);
	wls_done(waited);
	return 0;
}
