/* dwarf_mode.h — the tracer's `--dwarf FILE` mode (see dwarf_mode.c): DWARF and symbol questions about
 * one ELF file, asked on `in`, answered as JSON lines on `out`. Returns the exit code. */
#ifndef PKTPATH_DWARF_MODE_H
#define PKTPATH_DWARF_MODE_H
#include <stdio.h>
int dwarf_mode_main(const char *path, FILE *in, FILE *out);
#endif
