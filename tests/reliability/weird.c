/* weird: hostile strings for alloctop's output. Its comm (prctl PR_SET_NAME) holds a
 * quote, a backslash, control bytes and invalid UTF-8; after linking, the Makefile
 * renames its allocation sites (objcopy --redefine-sym, see mkweird.sh) to names with
 * quotes, backslashes, control characters (an ANSI escape too), bytes > 0x7f that are not UTF-8, a valid
 * multi-byte character, and one name of 3000 bytes.
 *   ready <pid>; "go" -> 3 x malloc(40) from site_weird, 2 x malloc(50) from site_long,
 *   all kept; answers "done allocs=5 bytes=220 weird=3 long=2" (its truth); "exit" -> exits 0. */
#include "rel.h"

#include <sys/prctl.h>

#define N_WEIRD 3	/* malloc(WEIRD_SZ) from site_weird, kept */
#define WEIRD_SZ 40
#define N_LONG 2	/* malloc(LONG_SZ) from site_long, kept */
#define LONG_SZ 50

static void *keep[8];

NOIPA void *site_weird(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

NOIPA void *site_long(size_t n)
{
	void *p = malloc(n);

	REL_BARRIER();
	return p;
}

int main(void)
{
	/* 15 bytes: " \ ctrl-A newline tab 0xff 0xfe 0xc3 ( DEL and a valid é */
	static const char comm[] = "q\"\\\x01\n\t\xff\xfe\xc3(\x7f\xc3\xa9Z";
	char cmd[64];

	if (prctl(PR_SET_NAME, comm, 0, 0, 0))
		rel_die("prctl");
	free(site_weird(8));
	rel_ready();
	while (rel_line(cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "go")) {
			for (int i = 0; i < N_WEIRD; i++)
				keep[i] = site_weird(rel_opq(WEIRD_SZ));
			for (int i = N_WEIRD; i < N_WEIRD + N_LONG; i++)
				keep[i] = site_long(rel_opq(LONG_SZ));
			rel_out("done allocs=%d bytes=%d weird=%d long=%d", N_WEIRD + N_LONG,
				N_WEIRD * WEIRD_SZ + N_LONG * LONG_SZ, N_WEIRD, N_LONG);
		} else if (!strcmp(cmd, "exit")) {
			break;
		}
	}
	return 0;
}
