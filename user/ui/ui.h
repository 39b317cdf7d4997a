/* The live dashboard (ncurses). Only ui*.c include curses; it reads the same model
 * as the batch writers. Keys that only change the view redraw from the current model
 * inside at_ui_key (which then returns AT_UI_NONE); the model is refreshed only by the
 * session (each interval, or after AT_UI_REDRAW). */
#ifndef AT_UI_H
#define AT_UI_H

#include <stdbool.h>
#include "lib/opts.h"
#include "report/report.h"

enum at_ui_action {
	AT_UI_NONE,	/* key handled, nothing else to do */
	AT_UI_REDRAW,	/* refresh the model and redraw now (e.g. after z) */
	AT_UI_INTERVAL,	/* the refresh interval changed: re-arm the timer (at_ui_interval) */
	AT_UI_QUIT,
};

struct at_ui;

struct at_ui *at_ui__new(const struct at_opts *o);	/* NULL after a one-line error */
void at_ui__free(struct at_ui *ui);			/* restores the terminal; NULL is fine */
int at_ui_draw(struct at_ui *ui, const struct at_report_ctx *c);	/* 0, or -1 on failure */
enum at_ui_action at_ui_key(struct at_ui *ui);		/* reads pending keys from stdin */
void at_ui_resize(struct at_ui *ui);
bool at_ui_paused(const struct at_ui *ui);
double at_ui_interval(const struct at_ui *ui);		/* seconds, as + and - set it */
/* Whether the view shown needs the heap pass (FRAG%, fragmentation): the others leave
 * the live blocks unread. */
bool at_ui_wants_heap(const struct at_ui *ui);

#endif
