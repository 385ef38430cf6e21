/* dpdk_query.h — the tracer's `--dpdk-query --pid PID` mode (see dpdk_query.c): a running DPDK
 * process's graph nodes and ethdev burst functions, as JSON lines on `out`. Returns the exit code. */
#ifndef PKTPATH_DPDK_QUERY_H
#define PKTPATH_DPDK_QUERY_H
#include <stdio.h>
/* nodes: NULL to scan the process's memory for every node, or "0xA,0xB": read only those. */
int dpdk_query_main(int pid, const char *nodes, FILE *out);
#endif
