/* Names of the ABI's enums (include/alloctop.h), as messages and every printer show them. */
#ifndef AT_NAMES_H
#define AT_NAMES_H

#include <stdbool.h>
#include "alloctop.h"

const char *at_func_name(enum at_func f);	/* "malloc", "new_array", ...; "?" if out of range */
const char *at_drop_name(enum at_drop d);	/* "live_map_full", ...; "?" if out of range */
/* Whether the counter counts events lost (in "dropped"); stack_truncated does not. */
bool at_drop_is_loss(enum at_drop d);

#endif
