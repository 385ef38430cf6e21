/* resolve.h — the tracer's `--resolve FILE` mode (see resolve.c): DWARF and symbol questions about
 * one ELF file, asked on `in`, answered as JSON lines on `out`. Returns the exit code. */
#ifndef PKTPATH_RESOLVE_H
#define PKTPATH_RESOLVE_H
#include <stdio.h>
int resolve_main(const char *path, FILE *in, FILE *out);
#endif
