#include "lib/radix.h"

#define AT_RADIX_SMALL 32	/* buckets this small: insertion sort */

static unsigned int digit(__u64 key, int d)
{
	return (unsigned int)(key >> (8 * d)) & 0xff;
}

static void insertion_sort(struct at_kv *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct at_kv x = a[i];
		size_t j = i;

		for (; j > 0 && a[j - 1].key > x.key; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/* Moves every item into its bucket's range: each swap puts one item in place. */
static void permute(struct at_kv *a, int d, size_t *next, const size_t *end)
{
	for (unsigned int b = 0; b < 256; b++)
		while (next[b] < end[b]) {
			struct at_kv x = a[next[b]];
			unsigned int xb = digit(x.key, d);

			while (xb != b) {
				struct at_kv y = a[next[xb]];

				a[next[xb]++] = x;
				x = y;
				xb = digit(x.key, d);
			}
			a[next[b]++] = x;
		}
}

static void flag_sort(struct at_kv *a, size_t n, int d)
{
	size_t count[256] = { 0 }, next[256], end[256], sum = 0;

	for (; d >= 0 && n >= AT_RADIX_SMALL; d--) {
		for (size_t i = 0; i < n; i++)
			count[digit(a[i].key, d)]++;
		if (count[digit(a[0].key, d)] != n)
			break;	/* not every key has this byte: sort on it */
		count[digit(a[0].key, d)] = 0;
	}
	if (d < 0)
		return;
	if (n < AT_RADIX_SMALL) {
		insertion_sort(a, n);
		return;
	}
	for (int b = 0; b < 256; b++) {
		next[b] = sum;
		sum += count[b];
		end[b] = sum;
	}
	permute(a, d, next, end);
	for (size_t b = 0, lo = 0; b < 256; lo = end[b++])
		if (d > 0 && end[b] - lo > 1)
			flag_sort(a + lo, end[b] - lo, d - 1);
}

void at_radix_sort(struct at_kv *a, size_t n)
{
	flag_sort(a, n, 7);
}
