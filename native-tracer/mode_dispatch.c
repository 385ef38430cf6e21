/* mode_dispatch.c — which mode the command line asks for: `--dwarf` and `--dpdk-query` are modes
 * of their own with fixed argument lists; anything else is a recording (spec.c parses it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dpdk_query.h"
#include "dwarf_mode.h"
#include "mode_dispatch.h"

bool mode_dispatch(int argc, char **argv, int *rc)
{
	/* a mode of its own, run where the debug files are: no tracing, no privileges */
	if (argc == 3 && !strcmp(argv[1], "--dwarf")) {
		*rc = dwarf_mode_main(argv[2], stdin, stdout);
		return true;
	}
	/* reads a DPDK process's memory: needs root (or ptrace rights), no BPF */
	if ((argc == 4 || (argc == 6 && !strcmp(argv[4], "--nodes"))) && !strcmp(argv[1], "--dpdk-query") &&
	    !strcmp(argv[2], "--pid")) {
		*rc = dpdk_query_main(atoi(argv[3]), argc == 6 ? argv[5] : NULL, stdout);
		return true;
	}
	return false;
}
