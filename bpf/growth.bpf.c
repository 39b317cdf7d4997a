// SPDX-License-Identifier: GPL-2.0
/* --growth: memory growth attributed to stacks, with no allocator probe at all. Its cost
 * grows with page faults and memory system calls, not with allocations.
 * - A page fault (exceptions:page_fault_user, and page_fault_kernel on user memory: a
 *   read() into fresh memory) counts the pages it made resident: the rise of the
 *   process's anonymous-page count (kmem:rss_stat, MM_ANONPAGES) on the faulting thread
 *   while the fault was handled. A read fault that maps the shared zero page, a fault another
 *   thread already resolved, a copy-on-write of a page shared since fork and a file page
 *   fault count nothing: none of them grows the process's anonymous memory.
 * - brk, and anonymous mmap, munmap and mremap (syscalls:sys_enter_*, sys_exit_*).
 * - kmem:rss_stat: each process's resident set, per member, first and last seen.
 * Each event carries the user stack at the instruction that faulted (or the system
 * call), unwound as at the allocation probes (bpf/unwind.bpf.c). */
#include "common.bpf.h"
#include "stacks.bpf.h"

#define AT_PAGE_SIZE 4096ULL
#define AT_MAP_ANON 0x20
#define AT_MAX_CPUS 512		/* CPUs whose per-CPU counters are summed */
#define AT_THP_PAGES 512	/* a PMD-sized folio: more than noise in the count */
#define AT_BIG_STEP 16		/* a rise this large in one event is a large folio */
#define AT_USER_END 0x800000000000ULL	/* x86-64: user addresses lie below */

enum at_gsys { AT_GSYS_NONE, AT_GSYS_BRK, AT_GSYS_MMAP, AT_GSYS_MUNMAP, AT_GSYS_MREMAP };

struct at_growth_thread {
	__u64 anon_before;	/* the process's exact anonymous pages at the last look */
	__u64 ip, sp, orig_ax;	/* the fault's user frame (see at_in_fault) */
	__u64 arg;		/* the pending system call's: old break, length, or bytes */
	__u32 in_fault;
	__u32 sys;		/* enum at_gsys pending between enter and exit */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct at_growth_thread);
} growth_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct at_growth_proc);
} growth_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct at_site_key);
	__type(value, struct at_growth_site);
} growth_sites SEC(".maps");

/* Another CPU's slot of a per-CPU variable lies at the variable's address plus that
 * CPU's offset. The kernel's own table of offsets has no symbol here (kallsyms lists no
 * data), so they come from a per-CPU array of our own: a CPU's value address minus the
 * array's per-CPU pointer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} growth_pcpu SEC(".maps");

/* A copy of growth_pcpu's struct bpf_array, to read its per-CPU pointer: no arithmetic on
 * a map pointer is allowed, a read of the whole object from it is. */
#define AT_ARRAY_COPY (sizeof(struct bpf_array) + 8)
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[AT_ARRAY_COPY]);
} growth_arraycopy SEC(".maps");

__u64 at_pcpu_base = 0;	/* growth_pcpu's per-CPU pointer, once read */
__u64 at_cpu_offs[AT_MAX_CPUS] = {};	/* each CPU's offset, once found (0: not yet) */

static __always_inline __u64 at_cpu_offset(__u32 cpu)
{
	__u64 addr = 0, *cached;
	__u32 k = 0;
	__u8 *copy;
	void *v;

	if (cpu >= AT_MAX_CPUS)
		return 0;
	cached = &at_cpu_offs[cpu];
	if (*cached)
		return *cached;
	if (!at_pcpu_base) {
		copy = bpf_map_lookup_elem(&growth_arraycopy, &k);
		if (!copy || bpf_probe_read_kernel(copy, AT_ARRAY_COPY, &growth_pcpu))
			return 0;
		at_pcpu_base = *(__u64 *)(copy + __builtin_offsetof(struct bpf_array, pptrs));
	}
	v = bpf_map_lookup_percpu_elem(&growth_pcpu, &k, cpu);
	/* the value's address as a number (the verifier does no arithmetic on a pointer
	 * to a map value with an unknown one): read back from the stack */
	if (!v || bpf_probe_read_kernel(&addr, sizeof(addr), &v) || !at_pcpu_base)
		return 0;
	*cached = addr - at_pcpu_base;
	return *cached;
}

/* A percpu_counter summed exactly (percpu_counter_sum), as the counter's own read may lag
 * by a batch per CPU. */
static __always_inline __s64 at_pcp_sum(struct percpu_counter *c)
{
	__s64 sum = c->count;
	__s32 *ctrs = c->counters;

	for (__u32 cpu = 0; cpu < AT_MAX_CPUS; cpu++) {
		__u64 off;
		__s32 v = 0;

		if (cpu >= site_cpus)
			break;
		off = at_cpu_offset(cpu);
		if (!off)
			break;
		bpf_probe_read_kernel(&v, sizeof(v), (void *)ctrs + off);
		sum += v;
	}
	return sum < 0 ? 0 : sum;
}

/* Member m of the process's RSS counters, in pages. Each member by a constant index: the
 * verifier allows no variable offset into a kernel object. */
static __always_inline __s64 at_rss_member(struct mm_struct *mm, __u32 m)
{
	switch (m) {
	case MM_FILEPAGES:
		return at_pcp_sum(&mm->rss_stat[MM_FILEPAGES]);
	case MM_ANONPAGES:
		return at_pcp_sum(&mm->rss_stat[MM_ANONPAGES]);
	case MM_SWAPENTS:
		return at_pcp_sum(&mm->rss_stat[MM_SWAPENTS]);
	case MM_SHMEMPAGES:
		return at_pcp_sum(&mm->rss_stat[MM_SHMEMPAGES]);
	default:
		return 0;
	}
}

/* The traced process's growth counters (made with its RSS baseline), or NULL. */
static __always_inline struct at_growth_proc *at_growth_proc_get(__u32 tgid, struct mm_struct *mm)
{
	struct at_growth_proc *g = bpf_map_lookup_elem(&growth_procs, &tgid), z = {};

	if (g)
		return g;
	for (__u32 m = 0; m < AT_RSS_MEMBERS && mm; m++)
		z.rss_base[m] = z.rss_now[m] = at_rss_member(mm, m);
	if (mm) {
		z.brk_base = z.brk_now = mm->brk;
		z.data_base = z.data_now = mm->data_vm;
	}
	bpf_map_update_elem(&growth_procs, &tgid, &z, BPF_NOEXIST);
	return bpf_map_lookup_elem(&growth_procs, &tgid);
}

/* The current task if it belongs to a traced user process. */
static __always_inline struct task_struct *at_growth_task(__u32 *tgid)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (task->flags & 0x00200000 /* PF_KTHREAD */)
		return NULL;
	*tgid = task->tgid;
	return at_skip_process(*tgid) ? NULL : task;
}

/* The user stack where the thread entered the kernel (the faulting instruction, or the
 * system call's return address): its id, 0 if unknown. */
static __always_inline __u64 at_growth_stack(struct task_struct *task, __u32 *tgid)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct at_thread *t;
	__u32 tid;

	t = at_thread_for(tgid, &tid);
	if (!t || !regs)
		return 0;
	/* a process without unwind tables yet (system-wide): userspace reads them at its
	 * next refresh; frame pointers meanwhile */
	if (!bpf_map_lookup_elem(&unwind_procs, tgid) && !bpf_map_lookup_elem(&unwind_stale, tgid)) {
		__u8 one = 1;

		bpf_map_update_elem(&unwind_stale, tgid, &one, BPF_ANY);
	}
	if (!at_unwind_regs(*tgid, regs->ip, regs->sp, regs->bp, t)) {
		at_drop(AT_DROP_STACK_FAILED);
		return 0;
	}
	return at_stack_commit(t);
}

/* A fault begins: note where (the user registers' frame) and the process's anonymous
 * pages. A kernel-mode fault on user memory (a read() into fresh memory) counts at the
 * system call, whose frame the thread's user registers are then. */
static __always_inline int at_fault_begin(__u64 address)
{
	struct at_growth_thread *gt;
	struct task_struct *task;
	struct pt_regs *regs;
	__u32 tgid;

	if (address >= AT_USER_END)
		return 0;	/* kernel memory */
	task = at_growth_task(&tgid);
	if (!task || !task->mm)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	gt = bpf_task_storage_get(&growth_threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!gt || !regs)
		return 0;
	gt->ip = regs->ip;
	gt->sp = regs->sp;
	gt->orig_ax = regs->orig_ax;
	gt->anon_before = at_rss_member(task->mm, MM_ANONPAGES);
	gt->in_fault = 1;
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(growth_fault_user, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return at_fault_begin(address);
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(growth_fault_kernel, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	return at_fault_begin(address);
}

/* Still inside the fault at_fault_begin saw? Its user frame is the thread's until the
 * thread returns to user mode: the next kernel entry has a frame of its own (a system
 * call's orig_ax is its number, an exception's -1, at another ip or sp). */
static __always_inline bool at_in_fault(struct at_growth_thread *gt, struct task_struct *task)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

	if (!gt->in_fault || !regs)
		return false;
	if (regs->ip == gt->ip && regs->sp == gt->sp && regs->orig_ax == gt->orig_ax)
		return true;
	gt->in_fault = 0;
	return false;
}

/* pages made resident by the fault the thread is in, at its stack */
static __always_inline void at_fault_count(struct task_struct *task, __u32 tgid, __u64 pages)
{
	struct at_site_delta d = { .lt_bucket = AT_LT_BUCKETS };
	struct at_growth_proc *g;
	struct at_proc_stats *p;
	__u64 stack_id;

	stack_id = at_growth_stack(task, &tgid);
	g = at_growth_proc_get(tgid, task->mm);
	if (g) {
		at_add(&g->fault_pages, pages);
		at_add(&g->fault_bytes, pages * AT_PAGE_SIZE);
	}
	p = at_proc_get(tgid);
	if (p) {
		at_add(&p->allocs, pages);
		at_add(&p->alloc_bytes, pages * AT_PAGE_SIZE);
		at_add(&p->live_allocs, pages);
		at_add(&p->live_bytes, pages * AT_PAGE_SIZE);
	}
	d.c.allocs = d.c.live_allocs = pages;
	d.c.alloc_bytes = d.c.live_bytes = pages * AT_PAGE_SIZE;
	at_site_count(tgid, stack_id, &d);
}

/* Every change of a traced process's RSS counters: its last value; and, inside a fault
 * on this thread, the anonymous pages that fault added. */
SEC("tp_btf/rss_stat")
int BPF_PROG(growth_rss, struct mm_struct *mm, int member)
{
	struct at_growth_thread *gt;
	struct at_growth_proc *g;
	struct task_struct *task;
	__u32 tgid, m = member;
	__s64 now, rise;

	task = at_growth_task(&tgid);
	if (!task || mm != task->mm || m >= AT_RSS_MEMBERS)
		return 0;	/* reclaim, or another process's memory */
	now = at_rss_member(mm, m);
	g = at_growth_proc_get(tgid, mm);
	if (g && m < AT_RSS_MEMBERS) {
		g->rss_now[m] = now;
		/* the break and the mappings, as of this event: a heap or mapping that grew
		 * shows once something in the process touches memory */
		g->brk_now = mm->brk;
		g->data_now = mm->data_vm;
	}
	if (m != MM_ANONPAGES)
		return 0;
	gt = bpf_task_storage_get(&growth_threads, task, 0, 0);
	if (!gt || !at_in_fault(gt, task))
		return 0;
	rise = now - (__s64)gt->anon_before;
	gt->anon_before = now;
	if (rise <= 0)
		return 0;
	/* other threads' faults on other CPUs may add pages meanwhile: a fault adds one
	 * page, unless the rise is a large folio's (a power of two from AT_BIG_STEP pages) */
	if (rise < AT_BIG_STEP || (rise & (rise - 1)))
		rise = 1;
	at_fault_count(task, tgid, rise > AT_THP_PAGES ? AT_THP_PAGES : rise);
	return 0;
}

/* A brk or anonymous mapping call that changed the process by bytes: per process, and
 * per site at the calling stack. */
static __always_inline void at_growth_sys(struct task_struct *task, __u32 tgid, enum at_gsys sys, __s64 bytes)
{
	struct at_site_key k = { .pid = tgid };
	struct at_growth_site *gs, z = {};
	struct at_growth_proc *g;
	struct at_proc_stats *p;

	g = at_growth_proc_get(tgid, task->mm);
	if (g && task->mm) {
		g->brk_now = task->mm->brk;
		g->data_now = task->mm->data_vm;
	}
	p = at_proc_get(tgid);
	if (p && sys != AT_GSYS_BRK) {
		at_add(&p->mmap_live_bytes, bytes);
		if (sys == AT_GSYS_MMAP)
			at_add(&p->mmaps, 1);
		else if (sys == AT_GSYS_MUNMAP)
			at_add(&p->munmaps, 1);
	}
	if (bytes <= 0)
		return;	/* shrinking: the stack that grew it is not known here */
	k.stack_id = at_growth_stack(task, &tgid);
	gs = bpf_map_lookup_elem(&growth_sites, &k);
	if (!gs) {
		bpf_map_update_elem(&growth_sites, &k, &z, BPF_NOEXIST);
		gs = bpf_map_lookup_elem(&growth_sites, &k);
		if (!gs)
			return;
	}
	if (sys == AT_GSYS_BRK) {
		at_add(&gs->brk_bytes, bytes);
		at_add(&gs->brk_calls, 1);
	} else {
		at_add(&gs->mmap_bytes, bytes);
		at_add(&gs->mmap_calls, 1);
	}
}

static __always_inline __u64 at_pages_up(__u64 len)
{
	return (len + AT_PAGE_SIZE - 1) & ~(AT_PAGE_SIZE - 1);
}

struct at_anon_range {
	__u64 lo, hi;		/* in: the range; out: the anonymous bytes of its first mapping */
	__u64 bytes;
};

static long at_anon_bytes_cb(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct at_anon_range *r = ctx;
	__u64 lo = r->lo > vma->vm_start ? r->lo : vma->vm_start;
	__u64 hi = r->hi < vma->vm_end ? r->hi : vma->vm_end;

	if (!vma->vm_file && hi > lo)
		r->bytes = hi - lo;
	return 0;
}

/* Bytes of [addr, addr + len) in the anonymous mapping that holds addr (a munmap or
 * mremap of several mappings counts the first). */
static __always_inline __u64 at_anon_bytes(struct task_struct *task, __u64 addr, __u64 len)
{
	struct at_anon_range r = { .lo = addr, .hi = addr + len };

	bpf_find_vma(task, addr, at_anon_bytes_cb, &r, 0);
	return r.bytes;
}

/* Enter: note what the call may change; exit: count it if it succeeded. */
static __always_inline int at_growth_enter(enum at_gsys sys, __u64 arg)
{
	struct at_growth_thread *gt;
	struct task_struct *task;
	__u32 tgid;

	task = at_growth_task(&tgid);
	if (!task)
		return 0;
	gt = bpf_task_storage_get(&growth_threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (gt) {
		gt->sys = sys;
		gt->arg = arg;
	}
	return 0;
}

static __always_inline int at_growth_exit(enum at_gsys sys, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct at_growth_thread *gt = bpf_task_storage_get(&growth_threads, task, 0, 0);
	__u64 arg;
	__u32 tgid;

	if (!gt || gt->sys != sys)
		return 0;
	gt->sys = AT_GSYS_NONE;
	arg = gt->arg;
	if (!at_growth_task(&tgid) || (ret < 0 && ret > -4096) || !arg)
		return 0;
	switch (sys) {
	case AT_GSYS_BRK:	/* arg: the old break; ret: the new one */
		if ((__u64)ret != arg)
			at_growth_sys(task, tgid, sys, (__s64)((__u64)ret - arg));
		break;
	case AT_GSYS_MMAP:
		at_growth_sys(task, tgid, sys, (__s64)arg);
		break;
	case AT_GSYS_MUNMAP:
		at_growth_sys(task, tgid, sys, -(__s64)arg);
		break;
	case AT_GSYS_MREMAP:	/* arg: new minus old length, biased by 2^63 */
		at_growth_sys(task, tgid, sys, (__s64)(arg - (1ULL << 63)));
		break;
	default:
		break;
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_brk")
int growth_brk_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return at_growth_enter(AT_GSYS_BRK, task->mm ? task->mm->brk : 0);
}

SEC("tracepoint/syscalls/sys_exit_brk")
int growth_brk_exit(struct trace_event_raw_sys_exit *ctx)
{
	return at_growth_exit(AT_GSYS_BRK, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int growth_mmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	/* only anonymous mappings are growth; a file's pages are its page cache's */
	return at_growth_enter(AT_GSYS_MMAP, (ctx->args[3] & AT_MAP_ANON) ? at_pages_up(ctx->args[1]) : 0);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int growth_mmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return at_growth_exit(AT_GSYS_MMAP, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_munmap")
int growth_munmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task;
	__u32 tgid;

	task = at_growth_task(&tgid);
	if (!task)
		return 0;
	return at_growth_enter(AT_GSYS_MUNMAP, at_anon_bytes(task, ctx->args[0], at_pages_up(ctx->args[1])));
}

SEC("tracepoint/syscalls/sys_exit_munmap")
int growth_munmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return at_growth_exit(AT_GSYS_MUNMAP, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_mremap")
int growth_mremap_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 old = at_pages_up(ctx->args[1]), new = at_pages_up(ctx->args[2]);
	struct task_struct *task;
	__u32 tgid;

	task = at_growth_task(&tgid);
	if (!task || old == new || !at_anon_bytes(task, ctx->args[0], old ? old : 1))
		return 0;
	return at_growth_enter(AT_GSYS_MREMAP, (new - old) + (1ULL << 63));
}

SEC("tracepoint/syscalls/sys_exit_mremap")
int growth_mremap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return at_growth_exit(AT_GSYS_MREMAP, ctx->ret);
}

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

static long at_growth_refresh_one(struct bpf_map *map, __u32 *tgid, struct at_growth_proc *g, void *ctx)
{
	struct task_struct *task = bpf_task_from_pid(*tgid);
	struct mm_struct *mm;

	if (!task)
		return 0;	/* gone */
	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		g->brk_now = BPF_CORE_READ(mm, brk);
		g->data_now = BPF_CORE_READ(mm, data_vm);
	}
	bpf_task_release(task);
	return 0;
}

/* Run by userspace before each report (BPF_PROG_TEST_RUN): every traced process's break
 * and mappings as of now, also for a process that mapped memory and touched none since. */
SEC("syscall")
int growth_refresh(void *ctx)
{
	bpf_for_each_map_elem(&growth_procs, at_growth_refresh_one, NULL, 0);
	return 0;
}

/* exec gives the process a new address space: its RSS starts again from there */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(growth_exec, struct task_struct *task)
{
	__u32 tgid = task->tgid;
	struct at_growth_proc *g = bpf_map_lookup_elem(&growth_procs, &tgid);

	if (!g || !task->mm)
		return 0;
	for (__u32 m = 0; m < AT_RSS_MEMBERS; m++)
		g->rss_base[m] = g->rss_now[m] = at_rss_member(task->mm, m);
	g->brk_base = g->brk_now = task->mm->brk;
	g->data_base = g->data_now = task->mm->data_vm;
	return 0;
}
