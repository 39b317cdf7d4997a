/* The live dashboard: terminal lifecycle and keys. Drawing is in ui_views.c and
 * ui_detail.c, the numbers in ui_rows.c. */
#include "ui/ui_int.h"
#include "lib/util.h"

#include <curses.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static SCREEN *g_screen;
static bool g_active;		/* curses owns the terminal */
static struct at_ui *g_ui;
static int g_stderr = -1;	/* the real stderr while curses runs */
static int g_log = -1;		/* where stderr goes meanwhile, replayed on exit */

/* Messages written while the dashboard is up would scribble over it: keep them and
 * print them once the terminal is restored. */
static void capture_stderr(void)
{
	g_log = memfd_create("alloctop-stderr", MFD_CLOEXEC);
	if (g_log < 0)
		return;
	g_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (g_stderr < 0 || dup2(g_log, STDERR_FILENO) < 0) {
		close(g_log);
		g_log = -1;
	}
}

static void replay_stderr(void)
{
	char buf[4096];
	off_t off = 0;
	ssize_t n;

	if (g_stderr < 0)
		return;
	dup2(g_stderr, STDERR_FILENO);
	close(g_stderr);
	g_stderr = -1;
	while (g_log >= 0 && (n = pread(g_log, buf, sizeof(buf), off)) > 0 && write(STDERR_FILENO, buf, n) == n)
		off += n;
	if (g_log >= 0)
		close(g_log);
	g_log = -1;
}

/* Idempotent; also the atexit handler, for exits that skip at_ui__free. */
static void restore_terminal(void)
{
	if (!g_active)
		return;
	g_active = false;
	endwin();
	fflush(stdout);
	replay_stderr();
}

/* Sanitizer builds only (a weak reference, NULL otherwise). A sanitizer report ends the
 * process without atexit handlers, and GCC's combined ASan + UBSan runtime writes UBSan
 * reports to stderr whatever log_path says: that is the captured stderr, so without
 * this hook the report vanished and the dashboard just exited 1. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

/* A crash must not leave the terminal raw and on the alternate screen. */
static void fatal_signal(int sig)
{
	restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int render(struct at_ui *ui)
{
	erase();
	if (!ui->m)
		ui_put(LINES / 2, 2, -1, A_BOLD, "alloctop: attached; the first numbers come in %.1fs", ui->interval);
	else if (LINES < 24 || COLS < 80)
		ui_put(0, 0, -1, A_BOLD, "alloctop needs at least 80x24 (this is %dx%d); q quits", COLS, LINES);
	else
		ui_draw_frame(ui);
	if (ui->m && ui->help && LINES >= 24 && COLS >= 80)
		ui_draw_help(ui);
	wnoutrefresh(stdscr);
	return doupdate() == ERR ? -1 : 0;
}

static void init_colors(struct at_ui *ui)
{
	const char *nc = getenv("NO_COLOR");

	ui->color = !(nc && *nc) && has_colors() && start_color() == OK;
	if (!ui->color)
		return;
	use_default_colors();
	init_pair(UA_TITLE, COLOR_CYAN, -1);
	init_pair(UA_LABEL, COLOR_CYAN, -1);
	init_pair(UA_WARN, COLOR_RED, -1);
	init_pair(UA_BAR, COLOR_GREEN, -1);
	init_pair(UA_BAR2, COLOR_YELLOW, -1);
	init_pair(UA_HEAD, COLOR_BLACK, COLOR_GREEN);
	init_pair(UA_SEL, COLOR_BLACK, COLOR_CYAN);
	init_pair(UA_TAB, COLOR_BLACK, COLOR_CYAN);
}

/* Keys come from the terminal even when stdin was redirected. */
static bool keyboard(void)
{
	int fd;

	if (isatty(STDIN_FILENO))
		return true;
	fd = open("/dev/tty", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	dup2(fd, STDIN_FILENO);
	close(fd);
	return true;
}

static void sample_cpu(struct at_ui *ui, bool update)
{
	struct rusage ru;
	struct timeval t, d;
	double now = at_now_mono();

	getrusage(RUSAGE_SELF, &ru);
	timeradd(&ru.ru_utime, &ru.ru_stime, &t);
	timersub(&t, &ui->ru_cpu, &d);
	if (update && now > ui->ru_mono)
		ui->cpu_pct = 100.0 * (d.tv_sec + d.tv_usec / 1e6) / (now - ui->ru_mono);
	ui->ru_cpu = t;
	ui->ru_mono = now;
}

static const enum ui_key site_keys[] = { UK_PID, UK_SITE, UK_MODULE, UK_ALLOCS, UK_BYTES, UK_COUNT,
					 UK_LIVE_N, UK_LIVE_B, UK_AVG, UK_LIFE };
static const enum ui_key proc_keys[] = { UK_PID, UK_COMM, UK_ALLOCS, UK_FREES, UK_BYTES, UK_LIVE_B, UK_LIVE_N,
					 UK_FRAG, UK_PROBE };

static enum ui_key sort_key(enum at_sort s)
{
	switch (s) {
	case AT_SORT_ALLOCS: return UK_ALLOCS;
	case AT_SORT_LIVE_BYTES: return UK_LIVE_B;
	case AT_SORT_LIVE_ALLOCS: return UK_LIVE_N;
	default: return UK_BYTES;
	}
}

struct at_ui *at_ui__new(const struct at_opts *o)
{
	static bool registered;
	struct at_ui *ui;

	if (!keyboard()) {
		at_err("the dashboard needs a terminal to read keys from: use -b for batch output");
		return NULL;
	}
	ui = at_xcalloc(1, sizeof(*ui));
	ui->o = o;
	ui->interval = o->interval;
	ui->tab[UT_SITES] = (struct ui_table){ .keys = site_keys, .nr_keys = AT_ARRAY_SIZE(site_keys),
					       .sort = sort_key(o->sort) };
	ui->tab[UT_PROCS] = (struct ui_table){ .keys = proc_keys, .nr_keys = AT_ARRAY_SIZE(proc_keys),
					       .sort = sort_key(o->sort) };
	setlocale(LC_ALL, "");
	ui->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	if (!registered) {
		static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

		registered = !atexit(restore_terminal);
		if (__sanitizer_set_death_callback)
			__sanitizer_set_death_callback(restore_terminal);
		for (size_t i = 0; i < AT_ARRAY_SIZE(fatal); i++)
			signal(fatal[i], fatal_signal);
	}
	g_screen = newterm(NULL, stdout, stdin);
	if (!g_screen) {
		at_err("cannot drive this terminal (TERM=%s): use -b for batch output",
		       getenv("TERM") ? getenv("TERM") : "unset");
		free(ui);
		return NULL;
	}
	g_active = true;
	g_ui = ui;
	capture_stderr();
	set_escdelay(25);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	init_colors(ui);
	sample_cpu(ui, false);
	render(ui);
	return ui;
}

void at_ui__free(struct at_ui *ui)
{
	restore_terminal();
	if (!ui || ui != g_ui)
		return;
	g_ui = NULL;
	if (g_screen)
		delscreen(g_screen);
	g_screen = NULL;
	for (int t = 0; t < UT_NR; t++)
		free(ui->buf[t].rows);
	free(ui->cand);
	ui_base_free(ui);
	free(ui);
}

int at_ui_draw(struct at_ui *ui, const struct at_report_ctx *c)
{
	int rc;

	ui->m = c->model;
	sample_cpu(ui, true);
	rc = render(ui);
	ui->note[0] = 0;	/* shown for one interval */
	return rc;
}

void at_ui_resize(struct at_ui *ui)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col)
		return;
	resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);	/* once per resize: the terminal may have reflowed */
	render(ui);
}

bool at_ui_paused(const struct at_ui *ui)
{
	return ui && ui->paused;
}

double at_ui_interval(const struct at_ui *ui)
{
	return ui->interval;
}

/* ---- keys ---- */

static enum ui_table_id view_table(const struct at_ui *ui)
{
	return ui->view == UV_PROCS ? UT_PROCS : ui->view == UV_HOTSPOTS ? UT_SITES : UT_NR;
}

static void note(struct at_ui *ui, const char *msg)
{
	snprintf(ui->note, sizeof(ui->note), "%s", msg);
}

static void open_stack(struct at_ui *ui)
{
	const struct ui_row *r = ui_selected(ui, UT_SITES);

	if (!ui->focus && !r) {
		note(ui, "no site to show yet");
		return;
	}
	if (!ui->focus) {
		ui->focus = true;
		ui->focus_pid = r->pid;
		ui->focus_stack = r->stack_id;
	}
	ui->view = UV_STACK;
	ui->scroll = 0;
}

static void go_view(struct at_ui *ui, enum ui_view v)
{
	if (v == UV_STACK)
		return open_stack(ui);
	ui->view = v;
	ui->scroll = 0;
}

static bool view_available(const struct at_ui *ui, enum ui_view v)
{
	if (v == UV_PROCS)
		return ui->m && at_model_cur(ui->m)->nr_procs > 1;
	if (v == UV_STACK)
		return ui->focus || ui->buf[UT_SITES].n;
	return true;
}

static void next_view(struct at_ui *ui, int dir)
{
	enum ui_view v = ui->view;

	do
		v = (enum ui_view)((v + UV_NR + dir) % UV_NR);
	while (v != ui->view && !view_available(ui, v));
	go_view(ui, v);
}

static void enter(struct at_ui *ui)
{
	const struct ui_row *r;

	if (ui->view == UV_HOTSPOTS) {
		ui->focus = false;
		open_stack(ui);
	} else if (ui->view == UV_PROCS && (r = ui_selected(ui, UT_PROCS))) {
		ui->scope = r->pid;
		ui->focus = false;
		ui->view = UV_HOTSPOTS;
		ui->tab[UT_SITES].have_sel = false;
		ui->tab[UT_SITES].sel = ui->tab[UT_SITES].top = 0;
	}
}

/* Esc: out of the site, then out of the process, then quit. */
static enum at_ui_action back(struct at_ui *ui)
{
	if (ui->focus || ui->view == UV_STACK) {
		ui->focus = false;
		if (ui->view == UV_STACK)
			ui->view = UV_HOTSPOTS;
		ui->scroll = 0;
	} else if (ui->scope) {
		ui->scope = 0;
	} else {
		return AT_UI_QUIT;
	}
	return AT_UI_NONE;
}

static void change_sort(struct at_ui *ui, int dir)
{
	enum ui_table_id t = view_table(ui);
	struct ui_table *tb;
	int i = 0;

	if (t == UT_NR) {
		note(ui, "sorting applies to the hotspot and process tables (1, 2)");
		return;
	}
	tb = &ui->tab[t];
	while (i < tb->nr_keys && tb->keys[i] != tb->sort)
		i++;
	for (int tries = 0; tries < tb->nr_keys; tries++) {
		i = (i + tb->nr_keys + dir) % tb->nr_keys;
		if (tb->shown[tb->keys[i]])
			break;
	}
	tb->sort = tb->keys[i];
	tb->rev = false;
}

static enum at_ui_action change_interval(struct at_ui *ui, int dir)
{
	static const double steps[] = { 0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 30, 60 };
	double v = ui->interval;
	char msg[48];

	for (size_t i = 0; i < AT_ARRAY_SIZE(steps); i++) {
		const double s = steps[dir > 0 ? i : AT_ARRAY_SIZE(steps) - 1 - i];

		if (dir > 0 ? s > v * 1.001 : s < v * 0.999) {
			v = s;
			break;
		}
	}
	if (v == ui->interval)
		return AT_UI_NONE;
	ui->interval = v;
	snprintf(msg, sizeof(msg), "refreshing every %gs", v);
	note(ui, msg);
	return AT_UI_INTERVAL;
}

static enum at_ui_action reset(struct at_ui *ui)
{
	if (!ui->m)
		return AT_UI_NONE;
	ui_base_set(ui);
	note(ui, "counters reset: totals count from now");
	return ui->paused ? AT_UI_NONE : AT_UI_REDRAW;
}

static void move_key(struct at_ui *ui, long d)
{
	enum ui_table_id t = view_table(ui);
	long s = (long)ui->scroll + d;

	if (t != UT_NR) {
		ui_move(ui, t, d);
		return;
	}
	ui->scroll = s < 0 ? 0 : s > ui->scroll_max ? ui->scroll_max : (int)s;
}

static enum at_ui_action key(struct at_ui *ui, int ch)
{
	long page = ui->page > 2 ? ui->page - 1 : 1;

	if (ui->help && ch != 'q') {
		ui->help = false;
		return AT_UI_NONE;
	}
	switch (ch) {
	case 'q': case 'Q': return AT_UI_QUIT;
	case 27: return back(ui);
	case 'h': case '?': ui->help = true; break;
	case ' ': ui->paused = !ui->paused; break;
	case 'c': ui->cum = !ui->cum; break;
	case 'z': return reset(ui);
	case '+': case '=': return change_interval(ui, 1);
	case '-': case '_': return change_interval(ui, -1);
	case '\t': next_view(ui, 1); break;
	case KEY_BTAB: next_view(ui, -1); break;
	case '1': case '2': case '3': case '4': go_view(ui, (enum ui_view)(ch - '1')); break;
	case '\n': case '\r': case KEY_ENTER: enter(ui); break;
	case 's': case '>': case '.': change_sort(ui, 1); break;
	case '<': case ',': change_sort(ui, -1); break;
	case 'r': if (view_table(ui) != UT_NR) ui->tab[view_table(ui)].rev ^= 1; break;
	case KEY_UP: case 'k': move_key(ui, -1); break;
	case KEY_DOWN: case 'j': move_key(ui, 1); break;
	case KEY_PPAGE: case 'b': move_key(ui, -page); break;
	case KEY_NPAGE: case 'f': move_key(ui, page); break;
	case KEY_HOME: case 'g': move_key(ui, INT_MIN / 2); break;
	case KEY_END: case 'G': move_key(ui, INT_MAX / 2); break;
	case KEY_RESIZE: break;
	default: return AT_UI_NONE;
	}
	return AT_UI_NONE;
}

static int rank(enum at_ui_action a)
{
	return a == AT_UI_QUIT ? 3 : a == AT_UI_REDRAW ? 2 : a == AT_UI_INTERVAL ? 1 : 0;
}

enum at_ui_action at_ui_key(struct at_ui *ui)
{
	enum at_ui_action res = AT_UI_NONE, a;
	int ch;

	while ((ch = getch()) != ERR) {
		a = key(ui, ch);
		if (rank(a) > rank(res))
			res = a;
		if (res == AT_UI_QUIT)
			return res;
	}
	/* the session refreshes and redraws after AT_UI_REDRAW; anything else is ours */
	if (res != AT_UI_REDRAW && render(ui))
		return AT_UI_QUIT;
	return res;
}
