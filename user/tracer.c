#include "tracer.h"
#include "alloctop.skel.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AT_LINKS_PER_PID (2 * AT_NR_FUNCS)

struct at_target_links {
	int pid;
	int nr;
	struct bpf_link *links[AT_LINKS_PER_PID];
};

struct at_tracer {
	struct alloctop_bpf *skel;
	struct at_tracer_opts opts;
	struct at_elfcache *ec;
	struct at_target_links *targets;
	size_t nr_targets;
	int stats_fd;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
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

static bool check_system(void)
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

struct at_tracer *at_tracer__new(const struct at_tracer_opts *opts)
{
	struct at_tracer *t;
	int err;

	if (!check_system())
		return NULL;
	libbpf_set_print(libbpf_print);
	t = at_xcalloc(1, sizeof(*t));
	memcpy(&t->opts, opts, opts->sz < sizeof(t->opts) ? opts->sz : sizeof(t->opts));
	t->stats_fd = -1;
	t->skel = alloctop_bpf__open();
	if (!t->skel) {
		at_err("cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	t->skel->rodata->self_tgid = getpid();
	bpf_map__set_max_entries(t->skel->maps.live, opts->max_live);
	bpf_map__set_max_entries(t->skel->maps.stacks, opts->max_stacks);
	bpf_map__set_max_entries(t->skel->maps.sites, opts->max_stacks);
	bpf_map__set_max_entries(t->skel->maps.procs, opts->max_procs);
	bpf_map__set_max_entries(t->skel->maps.alloc_text, opts->max_procs);
	err = alloctop_bpf__load(t->skel);
	if (err) {
		if (err == -EPERM || err == -EACCES)
			at_err("the kernel refused to load BPF programs (%s): run as root with BPF enabled "
			       "(kernel.unprivileged_bpf_disabled does not matter for root)", strerror(-err));
		else
			at_err("loading the BPF programs failed: %s (run with -v for the verifier's log)",
			       strerror(-err));
		goto fail;
	}
	/* kernel BPF statistics show alloctop's own cost; not fatal if refused */
	t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	t->ec = at_elfcache_new();
	return t;
fail:
	at_tracer__free(t);
	return NULL;
}

static struct bpf_program *entry_prog(struct alloctop_bpf *s, enum at_func f)
{
	switch (f) {
	case AT_MALLOC: return s->progs.malloc_entry;
	case AT_CALLOC: return s->progs.calloc_entry;
	case AT_REALLOC: return s->progs.realloc_entry;
	case AT_REALLOCARRAY: return s->progs.reallocarray_entry;
	case AT_FREE: return s->progs.free_entry;
	case AT_POSIX_MEMALIGN: return s->progs.posix_memalign_entry;
	case AT_ALIGNED_ALLOC: return s->progs.aligned_alloc_entry;
	case AT_MEMALIGN: return s->progs.memalign_entry;
	case AT_VALLOC: return s->progs.valloc_entry;
	case AT_PVALLOC: return s->progs.pvalloc_entry;
	case AT_MMAP: return s->progs.mmap_entry;
	case AT_MUNMAP: return s->progs.munmap_entry;
	default: return NULL;
	}
}

static struct at_target_links *find_target(struct at_tracer *t, int pid)
{
	for (size_t i = 0; i < t->nr_targets; i++)
		if (t->targets[i].pid == pid)
			return &t->targets[i];
	return NULL;
}

static int attach_one(struct at_target_links *tl, struct bpf_program *prog, int pid, const char *path,
		      __u64 off, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, pid, path, off, &uo);

	if (!l)
		return -errno;
	tl->links[tl->nr++] = l;
	return 0;
}

struct alias_add {
	struct at_tracer *t;
	int pid;
};

static void add_alias_slot(void *ctx, __u64 slot, enum at_func f)
{
	struct alias_add *a = ctx;
	struct at_block_key k = { .pid = a->pid, .addr = slot };
	__u32 v = f;

	bpf_map__update_elem(a->t->skel->maps.alias_got, &k, sizeof(k), &v, sizeof(v), BPF_ANY);
}

int at_tracer__attach_pid(struct at_tracer *t, int pid)
{
	struct alias_add aa = { .t = t, .pid = pid };
	struct at_target_links *tl;
	struct at_plan plan;
	int err = 0;

	if (find_target(t, pid))
		return 0;
	err = at_plan_make(t->ec, pid, t->opts.lib, &plan);
	if (err)
		return err;
	t->targets = at_xrealloc(t->targets, t->nr_targets + 1, sizeof(*t->targets));
	tl = &t->targets[t->nr_targets++];
	memset(tl, 0, sizeof(*tl));
	tl->pid = pid;
	if (plan.text.hi) {
		__u32 key = pid;

		bpf_map__update_elem(t->skel->maps.alloc_text, &key, sizeof(key), &plan.text, sizeof(plan.text), BPF_ANY);
	}
	at_plan_alias_slots(t->ec, &plan, add_alias_slot, &aa);
	for (int i = 0; i < plan.nr_probes && !err; i++) {
		const struct at_probe *p = &plan.probes[i];
		char path[64];

		/* the kernel resolves the probed inode through our fd: no path race */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", plan.files[p->file].fd);
		err = attach_one(tl, entry_prog(t->skel, p->func), pid, path, p->entry_off, false);
		if (!err && p->has_ret)
			err = attach_one(tl, p->func == AT_MMAP ? t->skel->progs.mmap_return : t->skel->progs.alloc_return,
					 pid, path, p->ret_off, true);
		if (err)
			at_err("cannot probe %s in %s for process %d: %s%s", at_func_name(p->func), plan.files[p->file].path,
			       pid, strerror(-err), err == -ESRCH ? " (the process exited)" : "");
	}
	at_plan_free(&plan);
	if (err) {
		at_tracer__detach_pid(t, pid);
		return err;
	}
	return 0;
}

void at_tracer__detach_pid(struct at_tracer *t, int pid)
{
	struct at_target_links *tl = find_target(t, pid);

	if (!tl)
		return;
	for (int i = 0; i < tl->nr; i++)
		bpf_link__destroy(tl->links[i]);
	*tl = t->targets[--t->nr_targets];
}

/* Deletes every key of map fd for which match() holds. */
static void delete_matching(int fd, size_t ksz, bool (*match)(const void *key, int pid), int pid)
{
	char key[64], next[64];
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (match(next, pid) && !bpf_map_delete_elem(fd, next))
			continue;	/* deleted: restart from the same predecessor */
		memcpy(key, next, ksz);
		prev = key;
	}
}

static bool pid_first_u32(const void *key, int pid)
{
	return *(const __u32 *)key == (__u32)pid;
}

void at_tracer__forget_pid(struct at_tracer *t, int pid)
{
	__u32 key = pid;

	delete_matching(bpf_map__fd(t->skel->maps.live), sizeof(struct at_block_key), pid_first_u32, pid);
	delete_matching(bpf_map__fd(t->skel->maps.mappings), sizeof(struct at_block_key), pid_first_u32, pid);
	delete_matching(bpf_map__fd(t->skel->maps.alias_got), sizeof(struct at_block_key), pid_first_u32, pid);
	bpf_map__delete_elem(t->skel->maps.alloc_text, &key, sizeof(key), 0);
}

void at_tracer__free(struct at_tracer *t)
{
	if (!t)
		return;
	while (t->nr_targets)
		at_tracer__detach_pid(t, t->targets[0].pid);
	free(t->targets);
	alloctop_bpf__destroy(t->skel);
	at_elfcache_free(t->ec);
	if (t->stats_fd >= 0)
		close(t->stats_fd);
	free(t);
}

void at_tracer__map_fds(const struct at_tracer *t, struct at_map_fds *fds)
{
	fds->procs = bpf_map__fd(t->skel->maps.procs);
	fds->sites = bpf_map__fd(t->skel->maps.sites);
	fds->stacks = bpf_map__fd(t->skel->maps.stacks);
	fds->live = bpf_map__fd(t->skel->maps.live);
	fds->drops = bpf_map__fd(t->skel->maps.drops);
}

struct at_elfcache *at_tracer__elfcache(struct at_tracer *t)
{
	return t->ec;
}

int at_tracer__prog_stats(const struct at_tracer *t, __u64 *run_ns, __u64 *run_cnt)
{
	struct bpf_program *p;

	*run_ns = *run_cnt = 0;
	bpf_object__for_each_program(p, t->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			return -errno;
		*run_ns += info.run_time_ns;
		*run_cnt += info.run_cnt;
	}
	return 0;
}
