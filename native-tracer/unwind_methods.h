/* unwind_methods.h — what the unwinding methods (unwind_*.c) share; not for their callers. */
#ifndef PKTPATH_UNWIND_METHODS_H
#define PKTPATH_UNWIND_METHODS_H
#include "unwind.h"

struct code_facts;

struct unwinder {
	struct symbolizer *sym;
	struct code_facts *code;
	int pid;
};

/* unwind_fp.c: copies the walk to pc[] up to where it leaves the process's code (at most max);
 * returns how many */
int fp_walk(struct unwinder *u, const unsigned long long *walk, int n, unsigned long long *pc, int max);
/* unwind_fp.c: the index of the first frame whose caller the walk cannot vouch for (its function
 * keeps no frame pointer, or the sample is inside its prologue); n when it vouches for all */
int fp_vouched(struct unwinder *u, const unsigned long long *pc, int n);

/* unwind_scan.c: replaces the frames after pc[broken] with the scanned words that are return
 * addresses, until one of them is a frame the walk found too (the walk continues from there).
 * Returns the new frame count with how[] filled, or 0 when the scan found nothing to add (pc[]
 * and how[] untouched). */
int scan_splice(struct unwinder *u, unsigned long long *pc, unsigned char *how, int n, int broken,
		const unsigned long long *scan);
#endif
