/* SPDX-License-Identifier: GPL-2.0 */
/* The ABI shared by the BPF programs and userspace: map keys, values and constants.
 * Fixed-width fields only; every struct's size is pinned so both sides agree. */
#ifndef ALLOCTOP_H
#define ALLOCTOP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define AT_MAX_FRAMES     64	/* frames kept per stack, frames[0] = direct caller */
#define AT_SIZE_BUCKETS   64	/* log2 request-size buckets */
#define AT_LT_BUCKETS     48	/* log2 lifetime buckets, ns; the last one is open-ended (~39 h) */

/* Allocator functions, in the order of the "calls" JSON object. */
enum at_func {
	AT_MALLOC,
	AT_CALLOC,
	AT_REALLOC,
	AT_REALLOCARRAY,
	AT_FREE,
	AT_POSIX_MEMALIGN,
	AT_ALIGNED_ALLOC,
	AT_MEMALIGN,
	AT_VALLOC,
	AT_PVALLOC,
	AT_MMAP,
	AT_MUNMAP,
	AT_NEW,			/* C++ operator new, every variant (sized, aligned, nothrow) */
	AT_NEW_ARRAY,		/* operator new[] */
	AT_DELETE,		/* operator delete */
	AT_DELETE_ARRAY,	/* operator delete[] */
	AT_NR_BASE_FUNCS,	/* the keys JSON "calls" always has; the rest appear when called */
	/* jemalloc's own API (any prefix: je_, _rjem_, ...) */
	AT_MALLOCX = AT_NR_BASE_FUNCS, AT_RALLOCX, AT_XALLOCX, AT_DALLOCX, AT_SDALLOCX, AT_SALLOCX, AT_NALLOCX,
	/* mimalloc */
	AT_MI_MALLOC, AT_MI_CALLOC, AT_MI_ZALLOC, AT_MI_MALLOCN, AT_MI_MALLOC_SMALL, AT_MI_ZALLOC_SMALL,
	AT_MI_REALLOC, AT_MI_REALLOCN, AT_MI_REALLOCF, AT_MI_EXPAND,
	AT_MI_MALLOC_ALIGNED, AT_MI_MALLOC_ALIGNED_AT, AT_MI_ZALLOC_ALIGNED, AT_MI_ZALLOC_ALIGNED_AT,
	AT_MI_CALLOC_ALIGNED, AT_MI_CALLOC_ALIGNED_AT, AT_MI_REALLOC_ALIGNED, AT_MI_REALLOC_ALIGNED_AT,
	AT_MI_POSIX_MEMALIGN, AT_MI_MEMALIGN, AT_MI_ALIGNED_ALLOC,
	AT_MI_FREE, AT_MI_FREE_SIZE, AT_MI_FREE_ALIGNED, AT_MI_FREE_SIZE_ALIGNED,
	AT_MI_NEW, AT_MI_NEW_NOTHROW, AT_MI_NEW_ALIGNED, AT_MI_NEW_ALIGNED_NOTHROW, AT_MI_NEW_N,
	AT_MI_NEW_REALLOC, AT_MI_NEW_REALLOCN, AT_MI_USABLE_SIZE,
	/* tcmalloc (gperftools) */
	AT_TC_MALLOC, AT_TC_CALLOC, AT_TC_REALLOC, AT_TC_FREE, AT_TC_CFREE, AT_TC_FREE_SIZED,
	AT_TC_MEMALIGN, AT_TC_POSIX_MEMALIGN, AT_TC_VALLOC, AT_TC_PVALLOC, AT_TC_MALLOC_SKIP_NEW_HANDLER,
	AT_TC_NEW, AT_TC_NEWARRAY, AT_TC_NEW_NOTHROW, AT_TC_NEWARRAY_NOTHROW, AT_TC_NEW_ALIGNED,
	AT_TC_NEWARRAY_ALIGNED, AT_TC_NEW_ALIGNED_NOTHROW, AT_TC_NEWARRAY_ALIGNED_NOTHROW,
	AT_TC_DELETE, AT_TC_DELETEARRAY, AT_TC_DELETE_SIZED, AT_TC_DELETEARRAY_SIZED, AT_TC_DELETE_NOTHROW,
	AT_TC_DELETEARRAY_NOTHROW, AT_TC_DELETE_ALIGNED, AT_TC_DELETEARRAY_ALIGNED, AT_TC_DELETE_SIZED_ALIGNED,
	AT_TC_DELETEARRAY_SIZED_ALIGNED, AT_TC_DELETE_ALIGNED_NOTHROW, AT_TC_DELETEARRAY_ALIGNED_NOTHROW,
	AT_TC_MALLOC_SIZE, AT_TC_NALLOCX,
	AT_NR_FUNCS,
};
_Static_assert(AT_NR_FUNCS <= 256, "a function fits the cookie's 8 bits");

/* The attach cookie of an allocator probe: the function and the roles of its arguments,
 * packed by userspace from the family tables (user/lib/family.c), read by the one entry
 * program that serves every function (bpf/alloc.bpf.c). Argument numbers are 0..5 (the
 * x86-64 integer registers), AT_ARG_NONE if the function has no such argument. */
enum at_call_kind {
	AT_KIND_ALLOC,		/* returns a new block of size (x count) bytes */
	AT_KIND_FREE,		/* frees the block at argument ptr */
	AT_KIND_RESIZE,		/* block at ptr to size bytes: moved (free + alloc) or in place */
	AT_KIND_QUERY,		/* allocates nothing (sallocx, nallocx): counted in calls only */
	AT_KIND_MAP,		/* mmap and munmap: their own programs (bpf/mmap.bpf.c) */
};
enum at_call_result {
	AT_RES_PTR,		/* the block, NULL on failure */
	AT_RES_RC_OUT,		/* 0 on success, the block stored through argument ptr */
	AT_RES_USABLE,		/* xallocx: the block's usable size, in place; < size: not resized */
};
#define AT_ARG_NONE		7
#define AT_CK_FUNC(c)		((__u32)((c) & 0xff))
#define AT_CK_KIND(c)		((__u32)((c) >> 8 & 7))
#define AT_CK_SIZE(c)		((__u32)((c) >> 11 & 7))
#define AT_CK_COUNT(c)		((__u32)((c) >> 14 & 7))	/* size is count x size */
#define AT_CK_PTR(c)		((__u32)((c) >> 17 & 7))	/* old or freed block; RC_OUT: the out-pointer */
#define AT_CK_EXTRA(c)		((__u32)((c) >> 20 & 7))	/* xallocx's extra bytes */
#define AT_CK_RESULT(c)		((__u32)((c) >> 23 & 3))
#define AT_CK_ZERO_FREES	(1ULL << 25)	/* resize to 0 bytes returning NULL freed the block */
#define AT_CK_FAIL_FREES	(1ULL << 26)	/* a failed resize freed the block (reallocf) */
#define AT_CK_ALIASED		(1ULL << 27)	/* other names share the code: ask the caller's GOT slot */
#define AT_CK_PACK(func, kind, size, count, ptr, extra, result) \
	((__u64)(func) | (__u64)(kind) << 8 | (__u64)(size) << 11 | (__u64)(count) << 14 | \
	 (__u64)(ptr) << 17 | (__u64)(extra) << 20 | (__u64)(result) << 23)

/* Losses, one counter each, summed over CPUs (map "drops"). */
enum at_drop {
	AT_DROP_LIVE_FULL,	/* live-block map full: the block is counted but not tracked */
	AT_DROP_STACK_FAILED,	/* the user stack could not be read: the site is "unknown" */
	AT_DROP_STACKS_FULL,	/* stack or site map full: counted under the unknown site */
	AT_DROP_MISSED_RETURN,	/* a return probe never fired (longjmp, killed thread) */
	AT_DROP_PROCS_FULL,	/* per-process map full: the process's counters are lost */
	AT_DROP_MMAP_FULL,	/* mapping map full: an application mmap is not tracked */
	AT_DROP_STACK_TRUNCATED, /* a stack had more frames than --stack-depth (not lost: cut) */
	AT_NR_DROPS,
};

/* Per-process counters; a PERCPU_HASH keyed by tgid. Userspace sums CPUs. */
struct at_proc_stats {
	__u64 allocs;
	__u64 frees;
	__u64 alloc_bytes;
	__u64 free_bytes;
	__s64 live_allocs;	/* signed: a free on one CPU may undo an alloc on another */
	__s64 live_bytes;
	__u64 untracked_frees;	/* frees of blocks not allocated while traced */
	__u64 temp_allocs;	/* freed before the same thread allocated again */
	__u64 calls[AT_NR_FUNCS];
	__u64 mmaps;
	__u64 munmaps;
	__s64 mmap_live_bytes;
	__u64 size_count[AT_SIZE_BUCKETS];
	__u64 size_bytes[AT_SIZE_BUCKETS];
	__u64 lifetime[AT_LT_BUCKETS];
};
_Static_assert(sizeof(struct at_proc_stats) == 8 * (11 + AT_NR_FUNCS + 2 * AT_SIZE_BUCKETS + AT_LT_BUCKETS),
	       "at_proc_stats layout");

/* Per-site key: a process and the hash of its stack (frames in map "stacks"). */
struct at_site_key {
	__u32 pid;
	__u32 pad;
	__u64 stack_id;		/* 0 = unknown stack */
};
_Static_assert(sizeof(struct at_site_key) == 16, "at_site_key layout");

/* A site's counters: one CPU's (in struct at_site_stats), an event's change to them
 * (the BPF side's struct at_site_delta), or summed over CPUs (userspace). */
struct at_site_counts {
	__u64 allocs;
	__u64 alloc_bytes;
	__u64 frees;
	__u64 free_bytes;
	__s64 live_allocs;
	__s64 live_bytes;
	__u64 temp_allocs;
};
_Static_assert(sizeof(struct at_site_counts) == 7 * 8, "at_site_counts layout");

/* d += s: one CPU's counters into a sum (the reader program and userspace alike). */
static inline void at_site_counts_add(struct at_site_counts *d, const struct at_site_counts *s)
{
	d->allocs += s->allocs;
	d->alloc_bytes += s->alloc_bytes;
	d->frees += s->frees;
	d->free_bytes += s->free_bytes;
	d->live_allocs += s->live_allocs;
	d->live_bytes += s->live_bytes;
	d->temp_allocs += s->temp_allocs;
}

/* Per-site counters: map "sites" (a hash keyed by at_site_key) holds one per possible
 * CPU in each value, each CPU adding to its own (bpf/common.bpf.h). snap_*: this CPU's
 * live figures at the process's peak number snap_epoch, saved lazily (see at_peak). */
struct at_site_stats {
	struct at_site_counts c;
	__u32 lifetime[AT_LT_BUCKETS];
	__u64 snap_epoch;
	__s64 snap_live_allocs;
	__s64 snap_live_bytes;
};
_Static_assert(sizeof(struct at_site_stats) == 10 * 8 + 4 * AT_LT_BUCKETS, "at_site_stats layout");

/* A process's peak of live bytes (map "peaks", keyed by tgid): its live figures, one
 * copy for all CPUs, and the highest live_bytes seen after an allocation, with the live
 * blocks and time (bpf_ktime_get_ns) then. Each new peak increments epoch. The sites
 * live at the peak cost nothing when it is crossed: a site's CPU copy that is about to
 * change while its snap_epoch is not the current epoch first saves its live figures as
 * they were (unchanged since that peak) under the current epoch. A copy's figures at
 * peak number epoch are then its snap_* if its snap_epoch is epoch, else its current
 * ones. Exact when no two threads change live figures at the same moment. */
struct at_peak {
	__s64 live_allocs;
	__s64 live_bytes;
	__u64 peak_allocs;
	__u64 peak_bytes;
	__u64 peak_ts_ns;
	__u64 epoch;		/* peaks so far (0: none) */
};
_Static_assert(sizeof(struct at_peak) == 48, "at_peak layout");

/* Which slot of the "site_dirty" map a site marks when its counters change (a byte
 * per slot, slots a power of two): the BPF side sets it, userspace clears it and reads
 * only the sites whose slot was set. The same mix on both sides. */
static inline __u32 at_site_slot(__u32 pid, __u64 stack_id, __u32 mask)
{
	__u64 h = (stack_id ^ ((__u64)pid << 32 | pid)) * 0x9E3779B97F4A7C15ULL;

	return (__u32)(h >> 40) & mask;
}

/* One site for the reader program (bpf/reader/sites_read.bpf.c), in its mmapped
 * "reqs" array: the key in, the counters summed over CPUs out. */
struct at_site_read {
	struct at_site_key key;
	__u64 found;		/* 0: no such site */
	struct at_site_counts c;
	__u32 lifetime[AT_LT_BUCKETS];	/* summed too when at_read_args.lives */
};
_Static_assert(sizeof(struct at_site_read) == 16 + 8 * 8 + 4 * AT_LT_BUCKETS, "at_site_read layout");

#define AT_READ_BATCH 4096	/* sites per run of the reader */

struct at_read_args {		/* the reader's context (BPF_PROG_TEST_RUN ctx_in) */
	__u32 n;		/* requests filled in */
	__u32 lives;		/* 1: the lifetime histograms too */
};
_Static_assert(sizeof(struct at_read_args) == 8, "at_read_args layout");

/* A stack, keyed by the hash of its frames. */
#define AT_STACK_TRUNCATED 1	/* at_stack.flags: more frames beyond --stack-depth */
struct at_stack {
	__u32 nr;		/* valid frames */
	__u32 flags;
	__u64 ips[AT_MAX_FRAMES];
};
_Static_assert(sizeof(struct at_stack) == 8 + 8 * AT_MAX_FRAMES, "at_stack layout");

/* Live block, keyed by (pid, image, address): the table's slots as userspace reads
 * them (user/kernel/livemap.h). */
struct at_block_key {
	__u32 pid;
	__u32 pad;
	__u64 addr;
};
_Static_assert(sizeof(struct at_block_key) == 16, "at_block_key layout");

struct at_block {
	__u64 size;		/* requested size */
	__u64 ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) at allocation */
	__u64 stack_id;
	__u32 tid;
	__u32 pad;
};
_Static_assert(sizeof(struct at_block) == 32, "at_block layout");

/* The live-block table (map "live"): an array of buckets, no locks. Block (pid, image
 * generation, addr) lives in one of two buckets chosen by a hash of pid and addr
 * (bpf/live.bpf.c), in a slot claimed with a compare-and-swap on addr[]. Fields are
 * arrays, so that a search reads one cache line of addresses per bucket. gen[] is the
 * program image, as in the pad of block keys (see below). Userspace reads it through
 * mmap (user/kernel/livemap.h). */
#define AT_LIVE_WAYS	8
#define AT_LIVE_TIERS	8	/* tables a live-block table grows through (power of 2) */
#define AT_LIVE_FREE	0	/* addr[] of an unused slot */
#define AT_LIVE_BUSY	1	/* addr[] of a slot being written: not a block yet */

struct at_live_bucket {
	__u64 addr[AT_LIVE_WAYS];
	__u32 pid[AT_LIVE_WAYS];
	__u32 gen[AT_LIVE_WAYS];
	__u32 tid[AT_LIVE_WAYS];
	__u64 size[AT_LIVE_WAYS];
	__u64 ts_ns[AT_LIVE_WAYS];
	__u64 stack_id[AT_LIVE_WAYS];
};
_Static_assert(sizeof(struct at_live_bucket) == 44 * AT_LIVE_WAYS, "at_live_bucket layout");

/* --max-overhead: a block born in an earlier window (birth_ns < the window's start)
 * whose free a later window saw, or whose address the allocator handed out again (so it
 * was freed in a gap). Userspace turns it into a lifetime interval (model/censor.h). */
enum at_gap_kind { AT_GAP_FREED = 1, AT_GAP_REUSED = 2 };
struct at_gap_event {
	__u32 pid;
	__u32 kind;		/* enum at_gap_kind */
	__u64 stack_id;
	__u64 size;
	__u64 birth_ns;
	__u64 event_ns;		/* when the free or the new allocation was seen */
};
_Static_assert(sizeof(struct at_gap_event) == 40, "at_gap_event layout");

/* --max-overhead: a traced process's timer samples in and out of windows
 * (bpf/ticks.bpf.c), map user_ticks. Own samples are neither the probes' kernel paths
 * nor the allocator's text (where a trap resumes in windows; left out of windows too, so
 * that both sides measure the same work). */
struct at_ticks {
	__u64 on_n, off_n;	/* own samples */
	__u64 on_all, off_all;	/* every sample of the process */
};
_Static_assert(sizeof(struct at_ticks) == 32, "at_ticks layout");

/* Application mapping, keyed by (pid, address) like blocks. */
struct at_mapping {
	__u64 len;
	__u64 ts_ns;		/* when mapped, as at_block.ts_ns */
};
_Static_assert(sizeof(struct at_mapping) == 16, "at_mapping layout");

/* Keys of live blocks and mappings carry, in pad, the program image that made them: the
 * low 32 bits of the task's self_exec_id, which exec increments ("generation"). Blocks
 * of an image an exec replaced can then be dropped later without racing the new image's
 * blocks at the same addresses. */

/* A traced process that exec'd, keyed by tgid (map "execd", drained by userspace). */
struct at_exec_rec {
	__u64 ts_ns;		/* when it exec'd: older blocks and mappings are the old image's */
	__u32 gen;		/* the new image's generation (see above) */
	__u32 pad;
	char comm[16];		/* the new program's */
};
_Static_assert(sizeof(struct at_exec_rec) == 32, "at_exec_rec layout");

/* A traced process that exited, keyed by tgid; comm kept for short-lived processes. */
struct at_exit_rec {
	__u64 ts_ns;
	char comm[16];
};
_Static_assert(sizeof(struct at_exit_rec) == 24, "at_exit layout");

/* Text range of the allocator module per process: calls from inside it (malloc's
 * own mmaps, free's munmaps) are not application calls. */
struct at_range {
	__u64 lo;
	__u64 hi;
};
_Static_assert(sizeof(struct at_range) == 16, "at_range layout");

/* One row of a module's compiled unwind table (from .eh_frame / .debug_frame CFI, x86-64):
 * from pc up to the next row's pc, how to find the caller's frame. Rows are sorted by
 * pc; pc is the module's link-time address (< 4 GiB). The return address is always at
 * CFA - 8 in a usable row. */
enum at_cfa_type {
	AT_CFA_NONE = 0,	/* no CFI covers pc: fall back to the frame pointer */
	AT_CFA_RSP,		/* CFA = rsp + cfa_off */
	AT_CFA_RBP,		/* CFA = rbp + cfa_off */
	AT_CFA_RBP_DEREF,	/* CFA = *(rbp + cfa_off): realigned stack (main, AVX code) */
	AT_CFA_END,		/* return address undefined: the outermost frame (_start) */
};

enum at_rbp_rule {
	AT_RBP_SAME = 0,	/* rbp still holds the caller's value */
	AT_RBP_OFFSET,		/* the caller's rbp is saved at CFA + rbp_off */
};

struct at_cfi_row {
	__u32 pc;
	__s32 cfa_off;
	__s16 rbp_off;
	__u8 cfa_type;		/* enum at_cfa_type */
	__u8 rbp_rule;		/* enum at_rbp_rule */
};
_Static_assert(sizeof(struct at_cfi_row) == 12, "at_cfi_row layout");

/* A CFI row as the BPF unwinder reads it: struct at_cfi_row packed into 8 bytes (an
 * array map stores values at 8-byte strides). Offsets are in 8-byte words, which every
 * x86-64 frame layout is; rbp_words == 0 means rbp holds the caller's value. */
struct at_unwind_row {
	__u32 pc;
	__s16 cfa_words;	/* CFA = reg + 8 * cfa_words (or *(rbp + 8 * cfa_words)) */
	__s8 rbp_words;		/* the caller's rbp is saved at CFA + 8 * rbp_words */
	__u8 cfa_type;		/* enum at_cfa_type */
};
_Static_assert(sizeof(struct at_unwind_row) == 8, "at_unwind_row layout");

/* What the BPF unwinder knows of a process: its executable mappings, sorted by start,
 * each with the load bias (runtime address - link-time address) and the module whose
 * unwind rows apply (0: none, walk frame pointers there). */
#define AT_UNWIND_MAPS 256
struct at_unwind_map {
	__u64 start;
	__u64 end;
	__u64 bias;
	__u32 module;
	__u32 pad;
};
_Static_assert(sizeof(struct at_unwind_map) == 32, "at_unwind_map layout");

struct at_unwind_proc {
	__u32 nr;
	__u32 gen;	/* new with every write of a table (userspace copies it to at_unwind_gen) */
	struct at_unwind_map m[AT_UNWIND_MAPS];
};
_Static_assert(sizeof(struct at_unwind_proc) == 8 + 32 * AT_UNWIND_MAPS, "at_unwind_proc layout");

/* A module's rows in the shared row array: [first, first + nr). */
struct at_unwind_module {
	__u32 first;
	__u32 nr;
};
_Static_assert(sizeof(struct at_unwind_module) == 8, "at_unwind_module layout");

/* --growth (bpf/growth.bpf.c): memory growth without allocator probes. Per process, map
 * "growth_procs" keyed by tgid. fault_pages: pages a page fault made resident (the
 * process's anonymous-page count rose while the kernel handled it). The rest are the
 * process's own figures as first seen (_base) and at its last event (_now): its program
 * break (mm->brk), its private writable mappings (mm->data_vm, pages) and its RSS
 * counters per member (file, anon, swap entries, shmem; pages, from kmem:rss_stat). */
#define AT_RSS_MEMBERS 4
struct at_growth_proc {
	__u64 fault_pages;
	__u64 fault_bytes;
	__u64 brk_base, brk_now;
	__u64 data_base, data_now;
	__s64 rss_base[AT_RSS_MEMBERS];
	__s64 rss_now[AT_RSS_MEMBERS];
};
_Static_assert(sizeof(struct at_growth_proc) == 8 * (6 + 2 * AT_RSS_MEMBERS), "at_growth_proc layout");

/* Per site (map "growth_sites", keyed like "sites"), with --growth-calls: what brk and
 * anonymous mmap calls from that stack added (bytes; mremap growth counts as mmap). Faults count in "sites"
 * itself: allocs = pages, alloc_bytes = bytes. */
struct at_growth_site {
	__s64 brk_bytes;
	__s64 mmap_bytes;
	__u64 brk_calls;
	__u64 mmap_calls;
};
_Static_assert(sizeof(struct at_growth_site) == 32, "at_growth_site layout");

/* --per FUNC (bpf/percall.bpf.c): a probe on each function's entry and return marks the
 * thread's scope; allocations inside it count for the function (map "per_calls", keyed
 * by (tgid, the function's index in --per)). Nested and recursive calls count once. */
#define AT_MAX_PER 8
struct at_per_key {
	__u32 pid;
	__u32 func;
};
_Static_assert(sizeof(struct at_per_key) == 8, "at_per_key layout");

struct at_per_stats {
	__u64 calls;		/* outermost calls entered */
	__u64 allocs;		/* allocations while a call was in progress on the thread */
	__u64 alloc_bytes;
	__u64 pad;
};
_Static_assert(sizeof(struct at_per_stats) == 32, "at_per_stats layout");

#endif /* ALLOCTOP_H */
