#ifndef AT_KERNEL_SYSTEM_H
#define AT_KERNEL_SYSTEM_H
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdbool.h>

/* Root or CAP_BPF + CAP_PERFMON, and BTF; false after saying what is missing. */
bool at_system_check(void);
/* libbpf's print callback: warnings with -v, never its debug chatter. */
int at_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif
