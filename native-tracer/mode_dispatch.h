/* mode_dispatch.h — the tracer's modes besides recording (mode_dispatch.c). */
#ifndef PKTPATH_MODE_DISPATCH_H
#define PKTPATH_MODE_DISPATCH_H
#include <stdbool.h>

/* Runs `--dwarf FILE` or `--dpdk-query --pid PID [--nodes ADDRS]` when argv is one of them and
 * returns true with its exit code in *rc; false: argv asks for a recording. */
bool mode_dispatch(int argc, char **argv, int *rc);
#endif
