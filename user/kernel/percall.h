/* --per FUNC: probes on user functions' entries and returns (bpf/percall.bpf.c) in the
 * traced processes' executables. */
#ifndef AT_PERCALL_H
#define AT_PERCALL_H

struct alloctop_bpf;
struct at_percall;

/* funcs[0..n) by name (kept, not copied). NULL when n is 0. */
struct at_percall *at_percall__new(struct alloctop_bpf *skel, const char *const *funcs, int n);
/* Sizes the skeleton's map before load (n functions, max_procs processes). */
void at_percall__prepare(struct alloctop_bpf *skel, int n, int max_procs);
/* Probes every function in pid's executable: 0, or -errno after a one-line error
 * naming the function (nothing stays attached for pid then). */
int at_percall__attach_pid(struct at_percall *pc, int pid);
void at_percall__free(struct at_percall *pc);	/* NULL is fine */

#endif
