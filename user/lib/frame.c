#include "lib/frame.h"

#include <stdio.h>
#include <string.h>

static const char *base_name(const char *path)
{
	const char *m = strrchr(path, '/');

	return m ? m + 1 : path;
}

const char *at_frame_str(const struct at_frame *f, char *buf, unsigned int sz)
{
	if (f->symbol && f->inlined)
		snprintf(buf, sz, "%s [inlined]", f->symbol);
	else if (f->symbol)
		snprintf(buf, sz, "%s+0x%llx", f->symbol, (unsigned long long)f->offset);
	else
		snprintf(buf, sz, "%s+0x%llx", base_name(f->module), (unsigned long long)f->offset);
	return buf;
}

const char *at_frame_name(const struct at_frame *f, char *buf, unsigned int sz)
{
	if (f->symbol)
		snprintf(buf, sz, "%s", f->symbol);
	else if (f->module[0] == '[')
		snprintf(buf, sz, "%s", f->module);
	else
		snprintf(buf, sz, "%s+0x%llx", base_name(f->module), (unsigned long long)f->offset);
	return buf;
}
