/* SPDX-License-Identifier: GPL-2.0 */
/* Maps and helpers shared by every alloctop BPF program. Maps are __weak so that
 * each .bpf.c can include this header and the static linker keeps one copy. */
#ifndef AT_COMMON_BPF_H
#define AT_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "alloctop.h"

#define AT_STACK_WINDOW (64ULL << 20)	/* frame pointers must stay this close to sp */

/* Per-thread state: nesting of allocator calls and the outer call's arguments. */
/* A copy of the user stack from lo, for the unwinder: one bpf_probe_read_user of up
 * to AT_WIN_BYTES serves every frame inside it, where a read per frame cost ~80 ns. */
#define AT_WIN_BYTES 2048	/* a power of two */
struct at_stack_win {
	__u64 lo, len;		/* user addresses [lo, lo + len) are in buf */
	__u64 stack_lo, stack_hi;	/* the thread's stack mapping (0, 0: not known) */
	__u8 buf[AT_WIN_BYTES];
};

/* A frame's unwind rule as found for a return address (cfa_type AT_CFA_NONE: walk the
 * frame pointer there), cached per thread: a program calls malloc from few places, and
 * the two binary searches per frame cost more than the rest of the step. Valid while no
 * unwind table was written since (at_unwind_gen is still gen). */
#define AT_UW_CACHE 64		/* a power of two */
struct at_uw_rule {
	__u64 pc;
	__u32 gen;
	__s16 cfa_words;
	__s8 rbp_words;
	__u8 cfa_type;
};

#define AT_KNOWN_STACKS 16	/* a power of two */
struct at_thread {
	__u32 depth;		/* allocator calls in progress on this thread */
	__u32 func;		/* outer call */
	__u64 cookie;		/* its probe's attach cookie: the roles of its arguments */
	__u64 size;
	__u64 ptr;		/* realloc: old block; posix_memalign: memptr */
	__u64 extra;		/* xallocx: the extra bytes */
	__u64 sp;		/* stack pointer at the outer call's entry */
	__u64 stack_id;
	__u64 last_alloc;	/* for temporary allocations */
	__u64 skip_free;	/* freed by operator delete already: its inner free is nested */
	__u32 epoch;		/* at_epoch when the outer call entered */
	__u32 image;		/* the task's program image (at_image_gen), set by at_thread_for */
	__u64 mmap_len;		/* application mmap in progress (0 = none) */
	__u64 mmap_flags;
	struct at_stack scratch;
	struct at_stack_win win;
	struct at_uw_rule rules[AT_UW_CACHE];
	/* stack ids this thread found in map "stacks" (never deleted from): a program
	 * allocates from few stacks, and the lookup is a hash of 8 bytes and a bucket walk */
	__u64 known_stacks[AT_KNOWN_STACKS];
	__u8 per_depth[AT_MAX_PER];	/* --per: calls of each function in progress */
	__u32 per_active;		/* bit f: per_depth[f] > 0 */
	__u32 per_pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct at_thread);
} threads SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct at_proc_stats);
} procs SEC(".maps") __weak;

#include "sitemaps.bpf.h"

const volatile bool at_more_room __weak = false;
#define AT_E2BIG 7	/* errno.h's: a full map's insert */

/* A site's value, in either map. */
static __always_inline void *at_site_lookup(const struct at_site_key *k)
{
	void *v = bpf_map_lookup_elem(&sites, k);

	if (!v && at_more_room)
		v = bpf_map_lookup_elem(&sites_more, k);
	return v;
}

/* --per's counters (struct at_per_stats); userspace sizes it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct at_per_key);
	__type(value, struct at_per_stats);
} per_calls SEC(".maps") __weak;

/* Per-process peak (struct at_peak); userspace sizes it like procs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct at_peak);
} peaks SEC(".maps") __weak;

/* Sites changed since userspace last looked: one byte per slot (at_site_slot), packed
 * in u64 words that userspace maps and clears with an atomic exchange. Set after the
 * counters change, so a cleared slot never hides an update. Sized by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 15);
	__type(key, __u32);
	__type(value, __u64);
} site_dirty SEC(".maps") __weak;

/* Keys of new sites, so userspace learns them without reading the whole site map. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} site_news SEC(".maps") __weak;

/* --max-overhead: blocks born in an earlier window whose fate a window saw (struct
 * at_gap_event), for userspace to bound their lifetimes. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} gaps SEC(".maps") __weak;

/* Live blocks: the buckets of a lock-free table (bpf/live.bpf.c) in tiers, each an
 * array userspace creates, sizes and reads through mmap (user/kernel/livegrow.h). Tier 0
 * is sized to the targets at attach; a tier that gets crowded asks for the next, bigger
 * one (at_live_grow), so memory follows what the targets hold and no block moves. */
struct at_live_tier {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);	/* tiers differ in size */
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct at_live_bucket));	/* sizes: not every object has its BTF */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, AT_LIVE_TIERS);
	__type(key, __u32);
	__array(values, struct at_live_tier);
} live SEC(".maps") __weak;

/* Buckets of each tier, written by userspace before it puts the tier in "live". */
volatile __u32 at_live_nb[AT_LIVE_TIERS] __weak = {};
/* 1 from the first crowded insert into the last tier until userspace added the next */
volatile __u64 at_live_grow_wanted __weak = 0;

/* Wakes userspace's grower (the tier that asked, a __u32). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} live_grow SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct at_block_key);
	__type(value, struct at_mapping);
} mappings SEC(".maps") __weak;

/* Allocator text per process, written by userspace at attach. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct at_range);
} alloc_text SEC(".maps") __weak;

/* GOT slots through which a process calls an allocator function known under several
 * names (glibc's memalign is aligned_alloc, tcmalloc's free is tc_free and operator
 * delete): (pid, slot address) -> enum at_func. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct at_block_key);
	__type(value, __u32);
} alias_got SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AT_NR_DROPS);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps") __weak;

/* One zeroed value to initialise new per-process entries (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct at_proc_stats);
} zero_proc SEC(".maps") __weak;

/* A zeroed sites value (userspace sizes it as sites'), to insert new sites from. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct at_site_stats));
} zero_site SEC(".maps") __weak;

/* Processes that exited while traced; userspace drains it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct at_exit_rec);
} exited SEC(".maps") __weak;

/* Census filters and --follow: tgids to leave out, or the only tgids to trace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} excluded SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} followed SEC(".maps") __weak;

/* Unwinding: per-process executable mappings, per-module row ranges, the rows of every
 * module (shared by all processes mapping it), and processes whose mappings changed
 * (a pc outside every known mapping) for userspace to re-read. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct at_unwind_proc);
} unwind_procs SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct at_unwind_module);
} unwind_modules SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);	/* userspace writes rows in place */
	__uint(max_entries, 1 << 20);
	__type(key, __u32);
	__type(value, struct at_unwind_row);
} unwind_rows SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} unwind_stale SEC(".maps") __weak;

const volatile __u32 self_tgid __weak = 0;	/* never trace alloctop itself */
/* Bumped by userspace each time --max-overhead re-attaches the allocation probes: a
 * call cut by the detach left its nesting behind, which is no missed return. */
volatile __u32 at_epoch __weak = 0;
/* --max-overhead: 1 from the moment a window's links are handed to be closed until the
 * next window's attach, so that calls entering while the links go away (their
 * breakpoints may stay in for a grace period) are not counted in a window. */
volatile __u32 at_win_closing __weak = 0;
/* --max-overhead: CLOCK_MONOTONIC ns when the current window began to attach (0: exact
 * mode, no windows). A block born before it crossed a gap with every probe off. */
volatile __u64 at_win_start_ns __weak = 0;
volatile __u64 at_gaps_lost __weak = 0;	/* gap events that found "gaps" full */
/* The generation of the last unwind table written, for any process (never 0 once one
 * is): threads' cached rules are valid while it stays the same, so a rule found in the
 * cache needs no lookup of the process's table. */
volatile __u32 at_unwind_gen __weak = 0;
/* New sites that found site_news full: userspace then reads the whole site map. */
volatile __u64 at_site_news_lost __weak = 0;
const volatile __u32 at_site_slot_mask __weak = 0;	/* slots in site_dirty - 1 */
const volatile __u32 site_cpus __weak = 1;	/* struct at_site_stats in a sites value */
const volatile bool filter_excluded __weak = false;
const volatile bool filter_followed __weak = false;
const volatile bool filter_comm __weak = false;
const volatile char comm_filter[16] __weak = {};
const volatile bool unwind_cfi __weak = true;	/* false: frame pointers only */
const volatile __u32 stack_depth __weak = AT_MAX_FRAMES;

/* Preemption is possible in uprobe context, so even per-CPU counters use atomic adds. */
#define at_add(p, v) __sync_fetch_and_add((p), (v))

static __always_inline void at_drop(enum at_drop d)
{
	__u32 k = d;
	__u64 *v = bpf_map_lookup_elem(&drops, &k);

	if (v)
		at_add(v, 1);
}

static __always_inline __u32 at_log2(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xFFFFFFFFULL) << 5; v >>= s; r |= s;
	s = (v > 0xFFFF) << 4; v >>= s; r |= s;
	s = (v > 0xFF) << 3; v >>= s; r |= s;
	s = (v > 0xF) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (v >> 1);
	return r;
}

/* Bucket 0 holds 0; bucket k >= 1 holds [2^(k-1), 2^k). Same rule as user/lib/hist.c. */
static __always_inline __u32 at_bucket(__u64 v, __u32 nr)
{
	__u32 b = v ? at_log2(v) + 1 : 0;

	return b < nr ? b : nr - 1;
}

/* Index checks the verifier can see: the barrier stops the compiler from proving them
 * redundant and dropping them. */
static __always_inline void at_hist_add64(__u64 *arr, __u32 idx, __u32 nr, __u64 v)
{
	asm volatile("" : "+r"(idx));
	if (idx < nr)
		at_add(&arr[idx], v);
}

static __always_inline void at_hist_add32(__u32 *arr, __u32 idx, __u32 nr)
{
	asm volatile("" : "+r"(idx));
	if (idx < nr)
		at_add(&arr[idx], 1);
}


/* The calling thread's program image, for live-block and mapping keys (alloctop.h). */
static __always_inline __u32 at_image_gen(const struct at_thread *t)
{
	return t->image;
}

/* Probes attached to a whole file (census, --follow) fire in every process that maps
 * it: these checks keep the others out. Per-PID probes need none of them. */
static __always_inline bool at_skip_process(__u32 tgid)
{
	if (tgid == self_tgid)
		return true;
	if (filter_followed && !bpf_map_lookup_elem(&followed, &tgid))
		return true;
	if (filter_excluded && bpf_map_lookup_elem(&excluded, &tgid))
		return true;
	if (filter_comm) {
		char c[16];

		bpf_get_current_comm(c, sizeof(c));
		for (int i = 0; i < 16; i++) {
			if (c[i] != comm_filter[i])
				return true;
			if (!c[i])
				break;
		}
	}
	return false;
}

/* The calling thread's state, or NULL when this process is not traced; its process and
 * thread ids in *tgid and *tid. Everything comes from the task: each helper call costs
 * tens of ns in a probe that runs on every allocation. */
static __always_inline struct at_thread *at_thread_for(__u32 *tgid, __u32 *tid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct at_thread *t;

	*tgid = task->tgid;
	*tid = task->pid;
	if (at_skip_process(*tgid))
		return NULL;
	t = bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (t)
		t->image = (__u32)task->self_exec_id;
	return t;
}

/* Adds site (tgid, stack_id), zeroed, if missing, and tells userspace of it
 * (bpf/site.bpf.c). 0 when it exists now; else the site map is full, a drop was
 * counted and the process's unknown site (stack_id 0) was made instead. A global
 * subprogram: verified once, not on every path of every caller. */
int at_site_new(__u32 tgid, __u64 stack_id);

static __always_inline struct at_proc_stats *at_proc_get(__u32 tgid)
{
	struct at_proc_stats *p = bpf_map_lookup_elem(&procs, &tgid);
	__u32 zk = 0;

	if (p)
		return p;
	p = bpf_map_lookup_elem(&zero_proc, &zk);
	if (!p)
		return 0;
	if (bpf_map_update_elem(&procs, &tgid, p, BPF_NOEXIST) && !bpf_map_lookup_elem(&procs, &tgid)) {
		at_drop(AT_DROP_PROCS_FULL);
		return 0;
	}
	/* the process's unknown site, where allocations go when the site map is full: made
	 * now, in the slot the site map keeps per process (max_stacks + max_procs) */
	at_site_new(tgid, 0);
	return bpf_map_lookup_elem(&procs, &tgid);
}

/* This CPU's counters in a sites value (NULL stays NULL). Every update is atomic, so a
 * CPU beyond the copies (a sparse possible-CPU mask) may share copy 0. */
static __always_inline struct at_site_stats *at_site_mine(void *v)
{
	__u64 cpu = bpf_get_smp_processor_id();

	/* the verifier must see the very register it bounds here used as the index: no
	 * zero-extended copy compared in its stead, no multiply hoisted above the check */
	asm volatile("" : "+r"(cpu));
	if (!v)
		return NULL;
	if (cpu >= site_cpus)
		cpu = 0;
	asm volatile("" : "+r"(cpu));
	return v + cpu * sizeof(struct at_site_stats);
}

/* After a site's counters changed: its dirty slot, for userspace's next read. A plain
 * byte store (idempotent, so no atomic needed); skipped when already set. */
static __always_inline void at_site_touched(const struct at_site_key *k)
{
	__u32 slot = at_site_slot(k->pid, k->stack_id, at_site_slot_mask), w = slot >> 3;
	__u8 *word = bpf_map_lookup_elem(&site_dirty, &w);

	if (word && !word[slot & 7])
		word[slot & 7] = 1;
}

/* Before a site's CPU copy s changes its live figures: the process's peak record (made
 * if new), and s's figures saved if a peak came since s last changed (struct at_peak). */
static __always_inline struct at_peak *at_peak_before(__u32 tgid, struct at_site_stats *s)
{
	struct at_peak *pk = bpf_map_lookup_elem(&peaks, &tgid);
	struct at_peak zero = {};
	__u64 epoch;

	if (!pk) {
		bpf_map_update_elem(&peaks, &tgid, &zero, BPF_NOEXIST);
		pk = bpf_map_lookup_elem(&peaks, &tgid);
		if (!pk)
			return NULL;
	}
	epoch = *(volatile __u64 *)&pk->epoch;
	if (s->snap_epoch != epoch) {
		s->snap_live_allocs = s->c.live_allocs;
		s->snap_live_bytes = s->c.live_bytes;
		s->snap_epoch = epoch;
	}
	return pk;
}

/* After: the process's live figures move by (allocs, bytes); a new high is a new peak. */
static __always_inline void at_peak_after(struct at_peak *pk, __s64 allocs, __s64 bytes)
{
	__s64 na, nb;

	if (!pk)
		return;
	na = __sync_fetch_and_add(&pk->live_allocs, allocs) + allocs;
	nb = __sync_fetch_and_add(&pk->live_bytes, bytes) + bytes;
	if (bytes > 0 && nb > (__s64)pk->peak_bytes) {
		pk->peak_bytes = nb;
		pk->peak_allocs = na;
		pk->peak_ts_ns = bpf_ktime_get_ns();
		__sync_fetch_and_add(&pk->epoch, 1);
	}
}

/* What one event changes in a site's counters (at_site_count). */
struct at_site_delta {
	struct at_site_counts c;
	__u32 lt_bucket;	/* lifetime bucket to count a free in; AT_LT_BUCKETS: none */
	__u32 pad;
};

/* Adds d to this CPU's counters of site (tgid, stack_id), made if new (its process's
 * unknown site when the map is full), and marks it for userspace (bpf/site.bpf.c). A
 * global subprogram: verified once, not on every path through the probes. */
int at_site_count(__u32 tgid, __u64 stack_id, const struct at_site_delta *d);

/* --per: counts an allocation for each function whose call is in progress on the
 * thread (bit f of active; bpf/percall.bpf.c). */
int at_per_count(__u32 tgid, __u32 active, __u64 size);

/* Return address at a function's entry (before it pushed anything). */
static __always_inline __u64 at_return_address(__u64 sp)
{
	__u64 ra = 0;

	bpf_probe_read_user(&ra, sizeof(ra), (void *)sp);
	return ra;
}

/* Where the kernel sends hijacked returns: the uretprobe trampoline at the start of the
 * process's xol area. */
static __always_inline __u64 at_uretprobe_trampoline(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
}

/* Outer-call bookkeeping. A thread whose stack pointer is back above the outer call's
 * entry has left that call without its return probe firing (longjmp, ...). At the same
 * stack pointer it is either a tail call from the outer function (glibc's
 * realloc(NULL, n) jumps to malloc), whose return slot then holds the uretprobe
 * trampoline, or a new call after a missed return, whose slot holds a real return
 * address. */
static __always_inline void at_check_missed_return(struct at_thread *t, __u64 sp)
{
	if (t->depth && t->epoch != at_epoch) {
		t->depth = 0;
		return;
	}
	if (t->depth && (sp > t->sp || (sp == t->sp && at_return_address(sp) != at_uretprobe_trampoline()))) {
		at_drop(AT_DROP_MISSED_RETURN);
		t->depth = 0;
	}
}

#endif /* AT_COMMON_BPF_H */
