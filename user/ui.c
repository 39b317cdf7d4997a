/* Placeholder until the dashboard lands (issue 3): batch text on the terminal. */
#include "ui.h"
#include "util.h"

#include <stdlib.h>
#include <unistd.h>

struct at_ui {
	int unused;
};

struct at_ui *at_ui_new(const struct at_opts *o)
{
	(void)o;
	return at_xcalloc(1, sizeof(struct at_ui));
}

void at_ui_free(struct at_ui *ui) { free(ui); }
int at_ui_draw(struct at_ui *ui, const struct at_report_ctx *c) { (void)ui; return at_report_text(stdout, c); }
enum at_ui_action at_ui_key(struct at_ui *ui)
{
	char buf[16];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	(void)ui;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 'q')
			return AT_UI_QUIT;
	return n == 0 ? AT_UI_QUIT : AT_UI_NONE;
}
void at_ui_resize(struct at_ui *ui) { (void)ui; }
bool at_ui_paused(const struct at_ui *ui) { (void)ui; return false; }
