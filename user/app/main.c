/* alloctop: exact allocation tracing of running processes with eBPF uprobes. */
#include "lib/opts.h"
#include "app/session.h"
#include "app/diff.h"

#include <string.h>

int main(int argc, char **argv)
{
	struct at_opts o;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "diff"))
		return at_diff_main(argc - 1, argv + 1);
	rc = at_opts_parse(&o, argc, argv);

	if (rc >= 0)
		return rc;
	return at_session_run(&o);
}
