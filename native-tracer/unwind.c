/* unwind.c — see unwind.h: runs the methods in turn over one sample. */
#include "unwind_methods.h"
#include "code_facts.h"
#include <stdlib.h>
#include <string.h>

struct unwinder *unwinder_new(struct symbolizer *sym, int pid)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->sym = sym;
	u->pid = pid;
	u->code = code_facts_new(sym);
	if (!u->code) {
		free(u);
		return NULL;
	}
	return u;
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	code_facts_free(u->code);
	free(u);
}

int unwind_user(struct unwinder *u, const struct user_sample *in, unsigned long long *pc, unsigned char *how)
{
	int n = fp_walk(u, in->walk, in->nwalk, pc, PKTPATH_MAX_STACK);

	memset(how, FRAME_WALK, n);
	if (n && in->scan && in->scan[0]) {
		int broken = fp_vouched(u, pc, n);
		int spliced = broken < n ? scan_splice(u, pc, how, n, broken, in->scan) : 0;
		if (spliced)
			n = spliced;
	}
	return n;
}
