/* ksyms.h — kernel addresses to names through /proc/kallsyms (read and sorted once), and the
 * kernel's build-id from /sys/kernel/notes. */
#ifndef PKTPATH_KSYMS_H
#define PKTPATH_KSYMS_H
#include <stdbool.h>
#include <stddef.h>
#include "symbolize.h"

struct ksym {
	unsigned long long addr;
	const char *name;
	const char *module;
};

struct ksyms {
	bool loaded;
	struct ksym *syms;
	size_t n;
	char *pool;
	char **modnames; /* interned "[mod]" strings */
	size_t nmodnames;
	char *build_id;
};

/* Reads kallsyms; a reason symbols are missing goes to warn (empty when none). */
void ksyms_load(struct ksyms *k, char *warn, size_t warnlen);
/* Fills f (module "[kernel]" or "[mod]"); -1 when no symbol is at or below addr. */
int ksyms_lookup(const struct ksyms *k, unsigned long long addr, struct sym_frame *f);
void ksyms_free(struct ksyms *k);
#endif
