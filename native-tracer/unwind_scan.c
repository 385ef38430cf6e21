/* unwind_scan.c — the stack scan: callers through code without frame pointers, found among the
 * words of the user stack above %rsp. The source keeps the words that lie in the executable's
 * text (sample.bpf.c in the kernel, or scan_stack_copy here over the ring's stack copy); a word
 * is taken as a caller when the bytes before it (in the ELF file) decode as a call. */
#include "unwind_methods.h"
#include "code_facts.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void text_ranges_read(int pid, struct text_ranges *tr)
{
	char path[64], exe[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	tr->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len <= 0)
		return;
	exe[len] = 0;
	if (len > 10 && !strcmp(exe + len - 10, " (deleted)"))
		exe[len - 10] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (tr->n < PKTPATH_SCAN_RANGES && getline(&line, &cap, f) > 0) {
		unsigned long long a, b, off, ino;
		char perms[8], dev[32];
		int used = 0;
		char *p;
		size_t l;

		if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &a, &b, perms, &off, dev, &ino,
			   &used) < 6 || perms[0] != 'r' || perms[2] != 'x')
			continue;
		p = line + used;
		l = strlen(p);
		if (l && p[l - 1] == '\n')
			p[--l] = 0;
		if (l > 10 && !strcmp(p + l - 10, " (deleted)"))
			p[l - 10] = 0;
		if (strcmp(p, exe))
			continue;
		tr->lo[tr->n] = a;
		tr->hi[tr->n] = b;
		tr->n++;
	}
	free(line);
	fclose(f);
}

unsigned scan_stack_copy(const struct text_ranges *tr, const unsigned char *stack, unsigned long long len,
			 unsigned long long *out)
{
	unsigned n = 0;

	for (unsigned long long off = 0; off + 8 <= len && n < PKTPATH_SCAN_MAX; off += 8) {
		unsigned long long w;
		memcpy(&w, stack + off, 8);
		for (int r = 0; r < tr->n; r++)
			if (w >= tr->lo[r] && w < tr->hi[r]) {
				out[n++] = w;
				break;
			}
	}
	return n;
}

/* A scanned word can be a stale return address left in a slot that no live frame overwrote. One
 * kind is caught here: a direct call to a function that keeps a frame pointer, when the frame
 * below (the callee) is not that function — had that function been running, the walk would have
 * its frame. Indirect calls and calls into PLT stubs or code without frame pointers stay unchecked. */
static bool inconsistent_call(struct unwinder *u, unsigned long long ret, unsigned long long callee_pc)
{
	unsigned long long t = code_direct_call_target(u->code, ret), start;

	if (!t || !code_fp_prologue_len(u->code, t))
		return false;
	start = code_function_start(u->code, callee_pc);
	return !start || start != t;
}

int scan_splice(struct unwinder *u, unsigned long long *pc, unsigned char *how, int n, int broken,
		const unsigned long long *scan)
{
	unsigned long long out[PKTPATH_MAX_STACK];
	unsigned char oh[PKTPATH_MAX_STACK];
	int no = 0, k0 = 0, scanned = 0;
	bool joined = false;

	/* frames the walk vouches for were found on the stack too: only the scan's words after the
	 * deepest of them can be callers of pc[broken] */
	for (int c = 0; c < PKTPATH_SCAN_MAX && scan[c]; c++)
		for (int j = 1; j <= broken; j++)
			if (scan[c] == pc[j])
				k0 = c + 1;
	for (int j = 0; j <= broken; j++) {
		oh[no] = how[j];
		out[no++] = pc[j];
	}
	for (int c = k0; c < PKTPATH_SCAN_MAX && scan[c] && no < PKTPATH_MAX_STACK && !joined; c++) {
		bool dup = false;
		if (!code_is_return_address(u->code, scan[c]) || inconsistent_call(u, scan[c], out[no - 1]))
			continue;
		for (int j = broken + 1; j < n; j++)
			if (pc[j] == scan[c]) {
				for (; j < n && no < PKTPATH_MAX_STACK; j++) {
					oh[no] = how[j];
					out[no++] = pc[j];
				}
				joined = true;
				break;
			}
		if (joined)
			break;
		for (int j = 0; j < no && !dup; j++)
			dup = out[j] == scan[c];
		if (dup)
			continue;
		oh[no] = FRAME_SCAN;
		out[no++] = scan[c];
		scanned++;
	}
	if (!scanned)
		return 0;
	memcpy(pc, out, no * sizeof(*pc));
	memcpy(how, oh, no);
	return no;
}
