/* --record FILE: the run as its JSON documents, every site in each, gzip-compressed, one
 * document a line (the format alloctop --replay and alloctop diff read). */
#ifndef AT_RECORD_H
#define AT_RECORD_H

#include "report/report.h"

struct at_recorder;

/* NULL after a one-line error naming the file. */
struct at_recorder *at_recorder_open(const char *path);
/* Appends the document of this report, flushed so that the file is readable so far.
 * 0, or -1 after a one-line error. */
int at_recorder_write(struct at_recorder *r, const struct at_report_ctx *c);
/* Ends the file; -1 after a one-line error if it could not be completed. NULL is fine. */
int at_recorder_close(struct at_recorder *r);

#endif
