/* unwind.c — see unwind.h: runs the methods in turn over one sample. */
#include "unwind_methods.h"
#include "code_facts.h"
#include "unwind_cfi.h"
#include <stdlib.h>
#include <string.h>

struct unwinder *unwinder_new(struct symbolizer *sym, int pid)
{
	struct code_facts *code = code_facts_new(sym);
	struct unwinder *u = code ? malloc(sizeof(*u)) : NULL;

	if (u)
		*u = (struct unwinder){ .sym = sym, .code = code, .pid = pid };
	else
		code_facts_free(code);
	return u;
}

void unwinder_free(struct unwinder *u)
{
	code_facts_free(u ? u->code : NULL);
	free(u);
}

char frame_how_letter(unsigned char how)
{
	switch (how) {
	case FRAME_WALK: return FOUND_FP;
	case FRAME_SCAN: return FOUND_SCAN;
	case FRAME_PC: return FOUND_REGS;
	case FRAME_CFI: return FOUND_CFI;
	default: return '?';
	}
}

/* frames the CFI unwinder found, as they are */
static int found_frames(const struct user_sample *in, unsigned long long *pc, unsigned char *how)
{
	int n = in->nwalk < PKTPATH_MAX_STACK ? in->nwalk : PKTPATH_MAX_STACK;

	for (int i = 0; i < n; i++) {
		pc[i] = in->walk[i];
		how[i] = in->found[i] == FOUND_CFI ? FRAME_CFI : in->found[i] == FOUND_SCAN ? FRAME_SCAN
			 : in->found[i] == FOUND_REGS ? FRAME_PC : FRAME_WALK;
	}
	return n;
}

int unwind_user(struct unwinder *u, const struct user_sample *in, unsigned long long *pc, unsigned char *how)
{
	int n;

	if (in->found)
		return found_frames(in, pc, how);
	n = fp_walk(u, in->walk, in->nwalk, pc, PKTPATH_MAX_STACK);
	memset(how, FRAME_WALK, n);
	if (n)
		how[0] = FRAME_PC;
	if (n && in->scan && in->scan[0]) {
		int broken = fp_vouched(u, pc, n);
		int spliced = broken < n ? scan_splice(u, pc, how, n, broken, in->scan) : 0;
		if (spliced)
			n = spliced;
	}
	return n;
}
