/* What tracing needs from the system before anything is loaded: the capabilities and
 * the kernel's BTF; and libbpf's messages, shown only with -v. */
#include "kernel/system.h"
#include "lib/util.h"

#include <linux/capability.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int at_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!at_verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool has_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};
	__u64 eff;

	if (syscall(SYS_capget, &h, d))
		return geteuid() == 0;
	eff = d[0].effective | (__u64)d[1].effective << 32;
#define CAP(n) (eff & (1ULL << (n)))
	return CAP(CAP_SYS_ADMIN) || (CAP(CAP_BPF) && CAP(CAP_PERFMON));
#undef CAP
}

bool at_system_check(void)
{
	if (!has_caps()) {
		at_err("permission denied: tracing needs root (or CAP_BPF and CAP_PERFMON): run with sudo");
		return false;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		at_err("kernel BTF not readable at /sys/kernel/btf/vmlinux: alloctop needs a kernel built with "
		       "CONFIG_DEBUG_INFO_BTF=y");
		return false;
	}
	return true;
}
