/* stream.h — the tracer's stream (docs/stream.md): one function per record type, and the only
 * place its JSON member names are written. Strings that reach it from outside (symbols, paths,
 * messages) are escaped by json.h. */
#ifndef PKTPATH_STREAM_H
#define PKTPATH_STREAM_H
#include <stdbool.h>
#include <stdio.h>

/* frame: a code address, defined once before the first stack that uses it */
struct frame_rec {
	int id;
	unsigned long long addr;      /* runtime address (a caller's: its return address) */
	const char *fn;               /* never NULL: a symbol, or what stands in for one */
	unsigned long long off;       /* addr - the symbol's start; 0 without a symbol */
	const char *module;
	const char *build_id;         /* NULL: none */
	bool has_elf_addr;
	unsigned long long elf_addr;  /* the address in the module's ELF address space */
	bool kernel;
};
void stream_frame(FILE *out, const struct frame_rec *f);

/* stack: frame ids leaf first, counted `count` times in interval seq; scanned > 0: how many of
 * the frames the stack scan found */
void stream_stack(FILE *out, unsigned seq, unsigned long long count, unsigned tid, const int *ids, int n,
		  int scanned);

/* drop: `what` is "stacks", "entries" or "frames"; nothing is written for n == 0 */
void stream_drop(FILE *out, const char *what, unsigned long long n);

void stream_warning(FILE *out, const char *message);
void stream_warningf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
