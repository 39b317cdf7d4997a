/* SPDX-License-Identifier: GPL-2.0 */
/* uprobe_multi links (Linux 6.6+), which libbpf 1.1 does not wrap: the link_create part
 * of union bpf_attr as in the kernel's uapi, and one call to make a link. Userspace only
 * (the loader and the bench tools). One link attaches a program at many offsets of one
 * file, and releasing it waits for one grace period, not one per probe. */
#ifndef AT_UPROBE_MULTI_H
#define AT_UPROBE_MULTI_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/types.h>

#define AT_TRACE_UPROBE_MULTI 48	/* enum bpf_attach_type */
#define AT_UPROBE_MULTI_RETURN 1	/* BPF_F_UPROBE_MULTI_RETURN */

struct at_link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 um_flags;
	__u32 pid;
	__u32 pad;
};
_Static_assert(sizeof(struct at_link_create_uprobe_multi) == 64, "link_create layout");

/* Attaches prog_fd at offs[0..cnt) of path (cookies may be NULL); pid 0 = every
 * process. Returns the link fd, or -errno. */
static inline int at_uprobe_multi_link(int prog_fd, const char *path, const unsigned long *offs,
				       const __u64 *cookies, __u32 cnt, int pid, bool ret)
{
	struct at_link_create_uprobe_multi a = {
		.prog_fd = (__u32)prog_fd, .attach_type = AT_TRACE_UPROBE_MULTI,
		.path = (__u64)(uintptr_t)path, .offsets = (__u64)(uintptr_t)offs,
		.cookies = (__u64)(uintptr_t)cookies, .cnt = cnt,
		.um_flags = ret ? AT_UPROBE_MULTI_RETURN : 0, .pid = pid > 0 ? (__u32)pid : 0,
	};
	int fd = (int)syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));

	return fd < 0 ? -errno : fd;
}

#endif
