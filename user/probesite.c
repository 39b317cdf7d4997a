#include "probesite.h"

__u64 at_probe_site(const struct at_elf *e, const struct at_sym *s, enum at_func f)
{
	(void)e; (void)s; (void)f;
	return 0;
}
