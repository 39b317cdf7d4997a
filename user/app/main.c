/* alloctop: exact allocation tracing of running processes with eBPF uprobes. */
#include "lib/opts.h"
#include "app/session.h"

int main(int argc, char **argv)
{
	struct at_opts o;
	int rc = at_opts_parse(&o, argc, argv);

	if (rc >= 0)
		return rc;
	return at_session_run(&o);
}
