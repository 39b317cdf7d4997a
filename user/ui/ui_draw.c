/* The dashboard's drawing primitives, shared by every view (only ui*.c see curses). */
#include "ui/ui_int.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

unsigned int ui_attr(const struct at_ui *ui, enum ui_role r)
{
	unsigned int pair = ui->color ? (unsigned int)COLOR_PAIR(r) : 0;

	switch (r) {
	case UA_TITLE: return A_BOLD | pair;
	case UA_LABEL: return ui->color ? pair : A_BOLD;
	case UA_WARN: return A_BOLD | (ui->color ? pair : A_REVERSE);
	case UA_BAR: case UA_BAR2: return pair;
	case UA_HEAD: return ui->color ? pair | A_BOLD : A_REVERSE;
	case UA_SEL: case UA_TAB: return A_BOLD | (ui->color ? pair : A_REVERSE);
	case UA_DIM: return A_DIM;
	default: return A_NORMAL;
	}
}

int ui_put(int y, int x, int w, unsigned int attr, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (w < 0)
		w = COLS - x;
	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (n = 0; buf[n]; n++)
		if ((unsigned char)buf[n] < 32 || (unsigned char)buf[n] >= 127)
			buf[n] = '?';	/* one column per byte, always */
	if (n > w)
		n = w;
	attrset((int)attr);
	mvaddnstr(y, x, buf, n);
	attrset(A_NORMAL);
	return n;
}

void ui_fill(int y, unsigned int attr)
{
	mvhline(y, 0, ' ' | attr, COLS);
}

const char *ui_window(const struct at_ui *ui, char *buf, size_t sz)
{
	if (ui->cum)
		snprintf(buf, sz, ui->base_mono ? "since reset" : "since attach");
	else
		snprintf(buf, sz, "last %.1fs", ui_dt(ui));
	return buf;
}
