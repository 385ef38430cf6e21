/* unwind_fp.c — the frame-pointer walk the kernel made (bpf_get_stackid, or the perf call chain),
 * as far as it can be believed. */
#include "unwind_methods.h"
#include "code_facts.h"
#include "symbolize.h"

int fp_walk(struct unwinder *u, const unsigned long long *walk, int n, unsigned long long *pc, int max)
{
	int k = 0;

	for (int i = 0; i < n && k < max; i++) {
		/* Code built without frame pointers (Debian's DPDK and glibc) may leave %rbp holding
		 * data, and the walk then yields "return addresses" that point at no code. Nothing
		 * beyond such a value is a real caller: the stack ends there. */
		if (u->pid > 0 && i > 0 && !symbolizer_is_user_code(u->sym, walk[i]))
			break;
		pc[k++] = walk[i];
	}
	return k;
}

int fp_vouched(struct unwinder *u, const unsigned long long *pc, int n)
{
	int i = 0;

	while (i < n && code_has_frame_pointer(u->code, pc[i]))
		i++;
	return i;
}
