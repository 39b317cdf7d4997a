/* nomalloc: a static binary without any allocator (no libc at all, -nostdlib): it
 * sleeps for at most 60 s with raw system calls. alloctop -p on it must fail with
 * "no allocator" (exit 1) and leave it running untouched. */
#include <asm/unistd.h>
#include <linux/time.h>

static long sys2(long n, long a, long b)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

__attribute__((noreturn, used)) void _start(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };

	for (int i = 0; i < 600; i++)
		sys2(__NR_nanosleep, (long)&ts, 0);
	sys2(__NR_exit_group, 0, 0);
	for (;;)
		;
}
