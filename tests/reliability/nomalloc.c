/* nomalloc [TENTHS]: a static binary without any allocator (no libc at all, -nostdlib):
 * it sleeps TENTHS tenths of a second (default 600: one minute) with raw system calls,
 * then exits 0. alloctop -p on it must fail with "no allocator" (exit 1) and leave it
 * running untouched; alloctop -- nomalloc runs it to its end, then fails the same way. */
#include <asm/unistd.h>
#include <linux/time.h>

static long sys2(long n, long a, long b)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

__attribute__((noreturn, used)) void start_c(long *sp)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
	long argc = sp[0], tenths = 600;
	const char *a = argc > 1 ? (const char *)sp[2] : 0;

	if (a) {
		tenths = 0;
		for (; *a >= '0' && *a <= '9'; a++)
			tenths = tenths * 10 + (*a - '0');
	}
	for (long i = 0; i < tenths; i++)
		sys2(__NR_nanosleep, (long)&ts, 0);
	sys2(__NR_exit_group, 0, 0);
	for (;;)
		;
}

/* the kernel starts us with argc at (%rsp); keep the stack 16-byte aligned for C */
__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n"
	"	hlt\n");
