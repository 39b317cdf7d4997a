/* Calibration: alloctop's own tiny functions (below, in assembly, so that their first
 * instruction is known) are called in a loop with and without the empty programs of
 * bpf/calib attached, for this process only. One probe hit costs the difference per
 * call. The probed and bare functions run interleaved in several short rounds and each
 * cost is the median over rounds; time is the thread's CPU time, which counts the
 * kernel's work for the trap and not the time other tasks ran (the machine may be busy). */
#include "kernel/probecost.h"
#include "kernel/ticks.h"
#include "calib.skel.h"
#include "lib/util.h"
#include "uprobe_multi.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define AT_CALIB_ROUNDS 7
#define AT_CALIB_ROUND_NS 1e6	/* each stepped run takes about this long */
#define AT_CALIB_MIN_CALLS 16
#define AT_CALIB_MAX_CALLS 4096
#define AT_CALIB_TRIES 3		/* a noisy machine may need another go */
#define AT_CALIB_SPIN_NS 1e7		/* each sampler round: 10 ms of spinning each way */

/* push %rbp is emulated, mov %rdi,%rax single-stepped (probekind.c); the _bare twins
 * have the same bodies and are never probed. */
#define AT_CALIB_FN(name, body)                                                                  \
	".p2align 4\n.globl " #name "\n.hidden " #name "\n.type " #name ",@function\n" #name ":\n" \
	body ".size " #name ",.-" #name "\n"
#define AT_PUSH_BODY "\tpush %rbp\n\tpop %rbp\n\tret\n"
#define AT_MOV_BODY "\tmov %rdi,%rax\n\tret\n"
asm(".pushsection .text\n"
    AT_CALIB_FN(at_calib_push, AT_PUSH_BODY) AT_CALIB_FN(at_calib_push_bare, AT_PUSH_BODY)
    AT_CALIB_FN(at_calib_push_ret, AT_PUSH_BODY) AT_CALIB_FN(at_calib_mov, AT_MOV_BODY)
    AT_CALIB_FN(at_calib_mov_bare, AT_MOV_BODY) ".popsection\n");
void at_calib_push(void), at_calib_push_bare(void), at_calib_push_ret(void), at_calib_mov(void),
	at_calib_mov_bare(void);

enum { F_PUSH_BARE, F_PUSH, F_MOV_BARE, F_MOV, F_PUSH_RET, NR_F };
static void (*const calib_fns[NR_F])(void) = {
	at_calib_push_bare, at_calib_push, at_calib_mov_bare, at_calib_mov, at_calib_push_ret,
};

double at_probe_cost_entry(const struct at_probe_cost *c, enum at_hit_kind k)
{
	return k == AT_HIT_EMULATED ? c->entry_ns : c->stepped_ns;
}

void at_probe_cost_per_call(const struct at_probe_cost *c, const struct at_func_probe fp[AT_NR_FUNCS],
			    double ns[AT_NR_FUNCS])
{
	for (int f = 0; f < AT_NR_FUNCS; f++)
		ns[f] = fp[f].probed ? at_probe_cost_entry(c, fp[f].entry) + (fp[f].ret ? c->return_ns : 0) : 0;
}

/* The file and file offset of one of our own functions, from /proc/self/maps. The file
 * is named by its mapping (map_files): the very file we run, even if replaced since.
 * map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE; without them the functions
 * are ours, in the executable, which /proc/self/exe names. */
static int self_offset(const void *fn, char *path, size_t sz, unsigned long *off)
{
	unsigned long lo, hi, pgoff, addr = (unsigned long)fn;
	char line[4096 + 128];
	FILE *f = fopen("/proc/self/maps", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &pgoff) == 3 && addr >= lo && addr < hi) {
			snprintf(path, sz, "/proc/self/map_files/%lx-%lx", lo, hi);
			if (access(path, R_OK))
				snprintf(path, sz, "/proc/self/exe");
			*off = addr - lo + pgoff;
			err = 0;
		}
	fclose(f);
	return err;
}

static double thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* CPU time per call of fn over n calls. */
static double per_call(void (*fn)(void), int n)
{
	double t0 = thread_ns();

	for (int i = 0; i < n; i++)
		fn();
	return (thread_ns() - t0) / n;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The rounds, with every probe attached. */
static void measure_rounds(struct at_probe_cost *c)
{
	double entry[AT_CALIB_ROUNDS], stepped[AT_CALIB_ROUNDS], ret[AT_CALIB_ROUNDS], t[NR_F];
	int n;

	for (int k = 0; k < NR_F; k++)
		per_call(calib_fns[k], AT_CALIB_MIN_CALLS);	/* first hits set up the thread's state */
	n = (int)(AT_CALIB_ROUND_NS / per_call(at_calib_mov, AT_CALIB_MIN_CALLS));
	n = n < AT_CALIB_MIN_CALLS ? AT_CALIB_MIN_CALLS : n > AT_CALIB_MAX_CALLS ? AT_CALIB_MAX_CALLS : n;
	for (int r = 0; r < AT_CALIB_ROUNDS; r++) {
		for (int i = 0; i < NR_F; i++)	/* a different order each round */
			t[(i + r) % NR_F] = per_call(calib_fns[(i + r) % NR_F], n);
		entry[r] = t[F_PUSH] - t[F_PUSH_BARE];
		stepped[r] = t[F_MOV] - t[F_MOV_BARE];
		ret[r] = t[F_PUSH_RET] - t[F_PUSH];
	}
	c->entry_ns = median(entry, AT_CALIB_ROUNDS);
	c->stepped_ns = median(stepped, AT_CALIB_ROUNDS);
	c->return_ns = median(ret, AT_CALIB_ROUNDS);
	at_debug("probe cost: %d rounds of %d calls per function", AT_CALIB_ROUNDS, n);
}

/* The asm makes each call real work: a pure function's second call would be reused. */
static __attribute__((noinline)) unsigned long spin(unsigned long n)
{
	unsigned long x = 1;

	for (unsigned long i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

/* What one sample of --max-overhead's window timer (a cpu-clock perf event of period
 * AT_TICK_ON_NS) costs the thread it interrupts: a spin loop with the timer on this
 * thread and without, interleaved. In a VM each timer interrupt exits to the host:
 * about 12 us a sample here, 13% of a thread's time at 10 kHz; the window share and
 * the budget must both count it. 0 if no perf event can be opened. */
static void measure_sampler(struct at_probe_cost *c)
{
	struct perf_event_attr a = { .size = sizeof(a), .type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_CPU_CLOCK,
				     .sample_period = AT_TICK_ON_NS, .disabled = 1 };
	int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	double v[AT_CALIB_ROUNDS], t0, off, on;
	unsigned long n, sink = 0;

	if (fd < 0) {
		at_debug("probe cost: no cpu-clock timer for the sampler's cost: %s", strerror(errno));
		return;
	}
	t0 = thread_ns();
	sink += spin(100000);
	n = (unsigned long)(AT_CALIB_SPIN_NS / ((thread_ns() - t0) / 100000 + 0.01));
	for (int r = 0; r < AT_CALIB_ROUNDS; r++) {
		t0 = thread_ns();
		sink += spin(n);
		off = thread_ns() - t0;
		ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
		t0 = thread_ns();
		sink += spin(n);
		on = thread_ns() - t0;
		ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
		v[r] = (on - off) / (on / AT_TICK_ON_NS);
	}
	close(fd);
	c->sample_ns = median(v, AT_CALIB_ROUNDS);
	if (c->sample_ns < 0 || sink == 42)
		c->sample_ns = 0;
}

static void *close_links(void *arg)
{
	int *fds = arg;

	close(fds[0]);
	close(fds[1]);
	free(fds);
	return NULL;
}

/* Releasing a uprobe link waits for an RCU grace period: done aside, not on the way
 * to attaching the targets. */
static void release_links(int entry_fd, int ret_fd)
{
	int *fds = malloc(2 * sizeof(int));
	pthread_t th;

	if (fds) {
		fds[0] = entry_fd;
		fds[1] = ret_fd;
		if (!pthread_create(&th, NULL, close_links, fds)) {
			pthread_detach(th);
			return;
		}
		free(fds);
	}
	if (entry_fd >= 0)
		close(entry_fd);
	if (ret_fd >= 0)
		close(ret_fd);
}

static int attach_and_measure(struct calib_bpf *skel, struct at_probe_cost *c)
{
	unsigned long eoff[3], roff[1];
	char path[4096];
	int err = 0, efd = -1, rfd = -1;

	if (self_offset((void *)at_calib_push, path, sizeof(path), &eoff[0]) ||
	    self_offset((void *)at_calib_mov, path, sizeof(path), &eoff[1]) ||
	    self_offset((void *)at_calib_push_ret, path, sizeof(path), &eoff[2]))
		return -ENOENT;
	roff[0] = eoff[2];
	rfd = at_uprobe_multi_link(bpf_program__fd(skel->progs.calib_return), path, roff, NULL, 1, getpid(), true);
	if (rfd >= 0)
		efd = at_uprobe_multi_link(bpf_program__fd(skel->progs.calib_entry), path, eoff, NULL, 3, getpid(),
					   false);
	if (rfd < 0 || efd < 0)
		err = rfd < 0 ? rfd : efd;
	else
		measure_rounds(c);
	release_links(efd, rfd);
	measure_sampler(c);
	return err;
}

static int measure(struct at_probe_cost *c)
{
	double t0 = at_now_mono();
	struct calib_bpf *skel;
	int err;

	if (at_probe_kind((const uint8_t *)at_calib_push, 16) != AT_HIT_EMULATED ||
	    at_probe_kind((const uint8_t *)at_calib_mov, 16) != AT_HIT_STEPPED) {
		at_err("the calibration functions are not the kinds the cost model expects: report this bug");
		return -EINVAL;
	}
	skel = calib_bpf__open();
	if (!skel)
		return -errno;
	bpf_program__set_expected_attach_type(skel->progs.calib_entry, AT_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.calib_return, AT_TRACE_UPROBE_MULTI);
	err = calib_bpf__load(skel);
	if (!err)
		err = attach_and_measure(skel, c);
	calib_bpf__destroy(skel);
	c->cached = false;
	c->took_ms = (at_now_mono() - t0) * 1e3;
	return err;
}

/* The cache key: this boot, this kernel, this build of alloctop. */
static void cache_key(char *key, size_t sz)
{
	char boot[64] = "?", rel[128] = "?", exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st = {};

	at_read_small("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
	at_read_small("/proc/sys/kernel/osrelease", rel, sizeof(rel));
	exe[n > 0 ? n : 0] = 0;
	stat("/proc/self/exe", &st);
	snprintf(key, sz, "%s %s %s:%lld:%lld.%09ld", boot, rel, exe, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static bool cache_read(const char *path, const char *key, struct at_probe_cost *c)
{
	char line[4608], k[4608];
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(line, sizeof(line), f) && sscanf(line, "key %4600[^\n]", k) == 1 && !strcmp(k, key) &&
	     fscanf(f, "entry %lf\nentry_stepped %lf\nreturn %lf\nsample %lf\n", &c->entry_ns, &c->stepped_ns,
		    &c->return_ns, &c->sample_ns) == 4 && c->entry_ns > 0 && c->stepped_ns > 0 && c->return_ns > 0;
	fclose(f);
	return ok;
}

static void cache_write(const char *dir, const char *path, const char *key, const struct at_probe_cost *c)
{
	char tmp[4224];
	FILE *f;

	mkdir(dir, 0755);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, getpid());
	f = fopen(tmp, "we");
	if (!f) {
		at_debug("probe cost: cannot cache it in %s: %s", dir, strerror(errno));
		return;
	}
	fprintf(f, "key %s\nentry %.17g\nentry_stepped %.17g\nreturn %.17g\nsample %.17g\n", key, c->entry_ns,
		c->stepped_ns, c->return_ns, c->sample_ns);
	if (fclose(f) || rename(tmp, path)) {
		at_debug("probe cost: cannot cache it in %s: %s", dir, strerror(errno));
		unlink(tmp);
	}
}

int at_probe_cost_get(struct at_probe_cost *c)
{
	const char *dir = at_cache_dir(), *force = getenv("ALLOCTOP_RECALIBRATE");
	char key[4400], path[4200];
	int err;

	cache_key(key, sizeof(key));
	snprintf(path, sizeof(path), "%s/probe-cost", dir);
	memset(c, 0, sizeof(*c));
	if (!(force && *force && strcmp(force, "0")) && cache_read(path, key, c)) {
		c->cached = true;
		at_debug("probe cost (cached in %s): entry %.0f ns, entry_stepped %.0f ns, return %.0f ns, "
			 "a window timer sample %.0f ns", path, c->entry_ns, c->stepped_ns, c->return_ns, c->sample_ns);
		return 0;
	}
	for (int tries = 0; tries < AT_CALIB_TRIES; tries++)
		if ((err = measure(c)) || (c->entry_ns > 0 && c->stepped_ns > 0 && c->return_ns > 0))
			break;
	if (err) {
		at_err("cannot measure what a probe costs on this machine: %s (run with -v for details)",
		       strerror(-err));
		return err;
	}
	if (c->entry_ns <= 0 || c->stepped_ns <= 0 || c->return_ns <= 0) {
		at_warn("probe costs measured too small to tell apart (entry %.0f, stepped %.0f, return %.0f ns): "
			"the overhead shown is a lower bound", c->entry_ns, c->stepped_ns, c->return_ns);
		c->entry_ns = c->entry_ns > 1 ? c->entry_ns : 1;
		c->stepped_ns = c->stepped_ns > 1 ? c->stepped_ns : 1;
		c->return_ns = c->return_ns > 1 ? c->return_ns : 1;
		return 0;	/* not cached: the next run measures again */
	}
	at_debug("probe cost (measured in %.0f ms): entry %.0f ns, entry_stepped %.0f ns, return %.0f ns, a window "
		 "timer sample %.0f ns", c->took_ms, c->entry_ns, c->stepped_ns, c->return_ns, c->sample_ns);
	cache_write(dir, path, key, c);
	return 0;
}
