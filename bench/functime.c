/* bench-functime: how long functions of a running process take, from outside.
 *
 *   bench-functime PID SYMBOL [SYMBOL...]
 *
 * Attaches an entry and a return uprobe (bench/functime.bpf.c, uprobe_multi, PID only)
 * on each SYMBOL of PID's executable (/proc/PID/exe, so a rebuilt file on disk does not
 * matter), prints "bench-functime: attached" on stderr, and on SIGUSR1 (and go on), on
 * SIGINT/SIGTERM/SIGHUP or when PID exits prints "# snapshot" and one line a symbol on
 * stdout, with the totals since attach:
 *   SYMBOL count=N total_ms=T mean_ms=M max_ms=X
 * (wall time from entry to return; at most 16 symbols). */
#include "functime.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "uprobe_multi.h"

#define MAX_FUNCS 16

struct ft_stat {
	__u64 count, total_ns, max_ns;
};



static volatile sig_atomic_t stop, dump;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
		stop = 1;
}

static void print_stats(struct functime_bpf *skel, char **names, int n)
{
	printf("# snapshot\n");
	for (int i = 0; i < n; i++) {
		struct ft_stat s = { 0 };
		__u32 k = (__u32)i;

		bpf_map__lookup_elem(skel->maps.stats, &k, sizeof(k), &s, sizeof(s), 0);
		printf("%s count=%llu total_ms=%.1f mean_ms=%.2f max_ms=%.1f\n", names[i], (unsigned long long)s.count,
		       s.total_ns / 1e6, s.count ? s.total_ns / 1e6 / (double)s.count : 0.0, s.max_ns / 1e6);
	}
	fflush(stdout);
}

/* File offset of function `name` in the ELF file fd (symtab, else dynsym), 0 if none. */
static unsigned long func_offset(int fd, const char *name)
{
	unsigned long off = 0;
	GElf_Addr addr = 0;
	Elf_Scn *scn = NULL;
	size_t nph;
	Elf *e;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return 0;
	for (int pass = 0; pass < 2 && !addr; pass++) {
		scn = NULL;
		while (!addr && (scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			Elf_Data *d;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB) || !sh.sh_entsize)
				continue;
			d = elf_getdata(scn, NULL);
			for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym s;
				const char *n;

				if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value)
					continue;
				n = elf_strptr(e, sh.sh_link, s.st_name);
				if (n && !strcmp(n, name)) {
					addr = s.st_value;
					break;
				}
			}
		}
	}
	if (addr && !elf_getphdrnum(e, &nph))
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && addr >= ph.p_vaddr &&
			    addr < ph.p_vaddr + ph.p_filesz) {
				off = addr - ph.p_vaddr + ph.p_offset;
				break;
			}
		}
	elf_end(e);
	return off;
}

static int attach_multi(int prog_fd, const char *path, const unsigned long *offs, const __u64 *cookies, __u32 cnt,
			int pid, int ret)
{
	return at_uprobe_multi_link(prog_fd, path, offs, cookies, cnt, pid, ret);
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	unsigned long offs[MAX_FUNCS];
	__u64 cookies[MAX_FUNCS];
	int pid, pidfd, exe, n, lr = -1, le = -1, rc = 1;
	struct functime_bpf *skel = NULL;
	char path[64], *end;

	if (argc < 3 || argc - 2 > MAX_FUNCS) {
		fprintf(stderr, "usage: bench-functime PID SYMBOL [SYMBOL...] (at most %d)\n", MAX_FUNCS);
		return 2;
	}
	pid = (int)strtol(argv[1], &end, 10);
	if (*end || pid <= 0) {
		fprintf(stderr, "bench-functime: bad PID %s\n", argv[1]);
		return 2;
	}
	n = argc - 2;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	exe = open(path, O_RDONLY | O_CLOEXEC);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (exe < 0 || pidfd < 0) {
		fprintf(stderr, "bench-functime: process %d: %s\n", pid, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		offs[i] = func_offset(exe, argv[i + 2]);
		cookies[i] = (__u64)i;
		if (!offs[i]) {
			fprintf(stderr, "bench-functime: no function %s in %s\n", argv[i + 2], path);
			return 1;
		}
	}
	libbpf_set_print(quiet_print);
	skel = functime_bpf__open();
	if (!skel) {
		fprintf(stderr, "bench-functime: cannot open the BPF object\n");
		return 1;
	}
	bpf_program__set_expected_attach_type(skel->progs.ft_entry, AT_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.ft_return, AT_TRACE_UPROBE_MULTI);
	if (functime_bpf__load(skel)) {
		fprintf(stderr, "bench-functime: loading the BPF programs failed: %s\n", strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", exe);
	lr = attach_multi(bpf_program__fd(skel->progs.ft_return), path, offs, cookies, (__u32)n, pid, 1);
	le = lr < 0 ? lr : attach_multi(bpf_program__fd(skel->progs.ft_entry), path, offs, cookies, (__u32)n, pid, 0);
	if (lr < 0 || le < 0) {
		fprintf(stderr, "bench-functime: attaching failed: %s\n", strerror(-(lr < 0 ? lr : le)));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGUSR1, on_signal);
	fprintf(stderr, "bench-functime: attached to %d functions of pid %d\n", n, pid);
	while (!stop) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		if (dump) {
			dump = 0;
			print_stats(skel, argv + 2, n);
		}
		if (poll(&p, 1, 100) > 0)
			break;
	}
	print_stats(skel, argv + 2, n);
	rc = 0;
out:
	if (le >= 0)
		close(le);
	if (lr >= 0)
		close(lr);
	functime_bpf__destroy(skel);
	close(exe);
	close(pidfd);
	return rc;
}
