/* Command line: what the user asked for, validated. */
#ifndef AT_OPTS_H
#define AT_OPTS_H

#include <stdbool.h>
#include <linux/types.h>
#include "alloctop.h"

#define AT_MAX_TARGETS 64
#define AT_MAX_LABELS 16	/* --labels */

/* AT_OUT_NONE: --agent, no report (log lines only) */
enum at_output { AT_OUT_TUI, AT_OUT_TEXT, AT_OUT_JSON, AT_OUT_FOLDED, AT_OUT_PPROF, AT_OUT_NONE };

/* Hotspot order, shared by batch outputs and the dashboard. */
enum at_sort {
	AT_SORT_ALLOC_BYTES,
	AT_SORT_ALLOCS,
	AT_SORT_LIVE_BYTES,
	AT_SORT_LIVE_ALLOCS,
	AT_SORT_OLD_BYTES,	/* leak suspects: bytes in blocks older than --min-age */
	AT_NR_SORTS,
};

/* What one line of folded stacks weighs (and the default pprof sample type). */
enum at_weight {
	AT_WEIGHT_LIVE_BYTES,
	AT_WEIGHT_ALLOC_BYTES,
	AT_WEIGHT_ALLOCS,
	AT_WEIGHT_FAULT_BYTES,	/* --growth: bytes page faults made resident */
	AT_NR_WEIGHTS,
};

struct at_opts {
	int pids[AT_MAX_TARGETS];
	int nr_pids;
	char **cmd;		/* launch mode: argv after "--" */
	enum at_output output;
	enum at_sort sort;
	double interval;	/* seconds */
	long count;		/* reports before exiting, 0 = unlimited */
	int top;
	const char *lib;
	const char *comm;	/* census: only processes of this name */
	int exclude[AT_MAX_TARGETS];	/* census: never these */
	int nr_exclude;
	bool follow;		/* trace children and exec'd programs too */
	double min_age;		/* seconds: older live blocks are leak suspects */
	double max_overhead;	/* percent; 0 = exact mode (every allocation probed) */
	bool exact;		/* --exact: a census probes every call (it defaults to --max-overhead 1) */
	bool overhead_default;	/* max_overhead is the census default, not asked for */
	__u32 max_live, max_stacks, max_procs;
	bool unwind_fp;		/* --unwind fp: frame pointers only, no CFI tables */
	__u32 stack_depth;	/* frames kept per stack, 1..AT_MAX_FRAMES */
	__u32 unwind_rows;	/* capacity of the shared CFI row map */
	bool verbose;
	bool bpf_stats;		/* --bpf-stats: kernel run-time statistics of the BPF programs */
	enum at_weight weight;	/* --weight, for -o folded */
	const char *pprof_out;	/* --pprof-out: a pprof profile written at each report */
	bool growth;		/* --growth: page faults, brk and mmap by stack, no allocator probe */
	bool keep;		/* --keep: a launched command outlives alloctop */
	const char *record;	/* --record FILE: the documents, gzipped */
	const char *replay;	/* --replay FILE: show a recording instead of tracing */
	const char *per[AT_MAX_PER];	/* --per: functions whose calls scope allocations */
	int nr_per;
	bool growth_calls;	/* --growth-calls: also brk and mmap calls by stack (implies growth) */
	const char *listen;	/* --listen ADDR:PORT: /metrics and /debug/pprof/heap */
	const char *push_pyroscope, *push_parca;	/* engines' base URLs (http://) */
	const char *app;	/* --app: the pushed profiles' name (default "alloctop") */
	const char *labels;	/* --labels k=v,...: added to the pushed profiles, checked */
	int site_series;	/* --site-series: named (caller, module) series in /metrics */
	bool agent;		/* --agent: no report, exports and one log line per event */
};

/* Fills o from argv. Returns -1 to go on, or an exit status (0 after -h/--version). */
int at_opts_parse(struct at_opts *o, int argc, char **argv);
const char *at_sort_name(enum at_sort s);
const char *at_weight_name(enum at_weight w);

#endif
