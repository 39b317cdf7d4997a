#include "binary/demangle.h"

#include <libiberty/demangle.h>
#include <stdlib.h>

char *at_demangle(const char *name)
{
	/* only the prefixes of the manglings handled: no attempt on C names */
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	/* DMGL_AUTO tries Rust first (legacy Rust names are valid Itanium names too, whose
	 * Itanium reading keeps the hash), then Itanium C++. */
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
