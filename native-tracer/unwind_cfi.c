/* unwind_cfi.c — see unwind_cfi.h. One libdwfl session per target process: its modules are reported once
 * from /proc/PID/maps (again after a dlopen), and each sample is a "thread" whose registers and
 * memory are the sample's (perf's util/unwind-libdw.c works the same way). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "unwind_cfi.h"
#include "code_facts.h"
#include "symbolize.h"
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cfi_unwinder {
	Dwfl *dwfl;
	int pid;
	bool refresh_allowed;
	struct symbolizer *sym; /* for the scan's return-address test */
	struct code_facts *code;
	/* the sample being unwound */
	int tid;
	const unsigned long long *regs;
	const unsigned char *stack;
	size_t len;
	unsigned long long sp0;
	unsigned long long *pcs;
	char *how;
	int n, max;
	unsigned long long last_sp; /* SP of the outermost frame unwound so far */
	const struct pktpath_uret_chain *uret; /* the sample's pending uretprobes, or NULL */
	bool beyond_copy;           /* a read past the copy stopped the unwind */
};

/* No separate debug files on the traced host: .eh_frame, or .debug_frame in the mapped file itself,
 * is what unwinding uses. Searching /usr/lib/debug or a debuginfod server here would load large
 * files (or wait on the network) in the middle of sampling. */
static int no_debuginfo(Dwfl_Module *m, void **u, const char *n, Dwarf_Addr b, const char *f,
			const char *l, GElf_Word c, char **dn)
{
	(void)m, (void)u, (void)n, (void)b, (void)f, (void)l, (void)c, (void)dn;
	return -1;
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = no_debuginfo,
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct cfi_unwinder *u = arg;
	(void)dwfl;
	/* one "thread": the sample's; dwfl_getthread_frames asks get_thread instead */
	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return u->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl, (void)tid;
	*thread_argp = arg;
	return true;
}

/* The word of the copy at addr (inside it), with a return address a pending uretprobe replaced
 * by its trampoline's put back: unwinding then goes on through the real caller's CFI. */
static unsigned long long copy_word(const struct cfi_unwinder *u, unsigned long long addr)
{
	unsigned long long w;

	memcpy(&w, u->stack + (addr - u->sp0), sizeof(w));
	for (unsigned i = 0; u->uret && i < u->uret->n && i < PKTPATH_URET_MAX; i++)
		if (addr == u->uret->stack[i] && w == u->uret->tramp)
			return u->uret->orig[i];
	return w;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct cfi_unwinder *u = arg;
	(void)dwfl;
	if (addr >= u->sp0 && addr + sizeof(*result) <= u->sp0 + u->len && addr + sizeof(*result) > addr) {
		*result = copy_word(u, addr);
		return true;
	}
	/* above the copy: the stack goes on, the copy does not */
	if (addr >= u->sp0 + u->len && addr < u->sp0 + u->len + (1u << 20))
		u->beyond_copy = true;
	return false;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct cfi_unwinder *u = arg;
	const unsigned long long *r = u->regs;
	/* DWARF numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip; perf's: AX BX CX DX SI DI BP SP IP R8..R15 */
	Dwarf_Word d[17] = { r[0], r[3], r[2], r[1], r[4], r[5], r[6], r[7],
			     r[9], r[10], r[11], r[12], r[13], r[14], r[15], r[16], r[8] };
	return dwfl_thread_state_registers(thread, 0, 17, d);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static int report(struct cfi_unwinder *u)
{
	int rc;
	dwfl_report_begin(u->dwfl);
	rc = dwfl_linux_proc_report(u->dwfl, u->pid);
	if (dwfl_report_end(u->dwfl, NULL, NULL))
		return -1;
	return rc;
}

struct cfi_unwinder *cfi_unwinder_new(int pid, char *err, size_t errlen)
{
	struct cfi_unwinder *u = calloc(1, sizeof(*u));
	int rc;

	if (!u || !(u->sym = symbolizer_new(pid)) || !(u->code = code_facts_new(u->sym))) {
		snprintf(err, errlen, "out of memory");
		cfi_unwinder_free(u);
		return NULL;
	}
	u->pid = pid;
	u->dwfl = dwfl_begin(&proc_callbacks);
	if (!u->dwfl) {
		snprintf(err, errlen, "libdwfl: %s", dwfl_errmsg(-1));
		cfi_unwinder_free(u);
		return NULL;
	}
	rc = report(u);
	if (rc) {
		snprintf(err, errlen, "reading the mappings of process %d: %s", pid,
			 rc > 0 ? strerror(rc) : dwfl_errmsg(-1));
		cfi_unwinder_free(u);
		return NULL;
	}
	if (!dwfl_attach_state(u->dwfl, NULL, pid, &thread_callbacks, u)) {
		snprintf(err, errlen, "libdwfl cannot unwind process %d: %s", pid, dwfl_errmsg(-1));
		cfi_unwinder_free(u);
		return NULL;
	}
	return u;
}

void cfi_unwinder_free(struct cfi_unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	code_facts_free(u->code);
	symbolizer_free(u->sym);
	free(u);
}

void cfi_unwinder_allow_refresh(struct cfi_unwinder *u)
{
	u->refresh_allowed = true;
	symbolizer_allow_refresh(u->sym);
}

/* Whether the code at pc (an address inside a call or the sampled instruction) has CFI. */
static bool has_cfi(struct cfi_unwinder *u, Dwarf_Addr pc)
{
	Dwfl_Module *m = dwfl_addrmodule(u->dwfl, pc);
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;
	Dwarf_Frame *fr = NULL;

	if (!m)
		return false;
	for (int i = 0; i < 2; i++) {
		cfi = i ? dwfl_module_dwarf_cfi(m, &bias) : dwfl_module_eh_cfi(m, &bias);
		if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &fr) == 0) {
			free(fr);
			return true;
		}
	}
	return false;
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct cfi_unwinder *u = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (u->n >= u->max)
		return DWARF_CB_ABORT;
	if (u->n == 0) {
		u->how[0] = FOUND_REGS;
	} else {
		/* a frame the fallback made up from a stale %rbp points at no code: stop there */
		if (!dwfl_addrmodule(u->dwfl, pc - 1))
			return DWARF_CB_ABORT;
		/* the frame below was unwound by its own CFI, or by the frame pointer when it had none;
		 * its code is the sampled instruction, or the call before its return address */
		Dwarf_Addr callee = u->pcs[u->n - 1] - (u->n > 1 ? 1 : 0);
		u->how[u->n] = has_cfi(u, callee) ? FOUND_CFI : FOUND_FP;
	}
	u->pcs[u->n++] = pc;
	if (dwfl_frame_reg(state, 7, &sp) == 0)
		u->last_sp = sp;
	return DWARF_CB_OK;
}

/* Where unwinding stopped early: words of the rest of the copy that are return addresses. */
static void scan_rest(struct cfi_unwinder *u)
{
	unsigned long long from = u->last_sp > u->sp0 ? u->last_sp : u->sp0;
	for (unsigned long long a = (from + 7) & ~7ull; a + 8 <= u->sp0 + u->len && u->n < u->max; a += 8) {
		unsigned long long w = copy_word(u, a);
		if (w < 4096 || !code_is_return_address(u->code, w))
			continue;
		if (u->n && w == u->pcs[u->n - 1])
			continue;
		u->how[u->n] = FOUND_SCAN;
		u->pcs[u->n++] = w;
	}
}

int cfi_unwind(struct cfi_unwinder *u, int tid, const unsigned long long *regs, const unsigned char *stack,
		size_t len, unsigned long long *pcs, char *how, int max, enum cfi_end *end)
{
	int rc;

	u->tid = tid;
	u->regs = regs;
	u->stack = stack;
	u->len = len;
	u->sp0 = regs[7];
	u->pcs = pcs;
	u->how = how;
	u->n = 0;
	u->max = max;
	u->last_sp = u->sp0;
	u->beyond_copy = false;
	if (u->refresh_allowed && !dwfl_addrmodule(u->dwfl, regs[8])) {
		u->refresh_allowed = false;
		report(u);
	}
	rc = dwfl_getthread_frames(u->dwfl, tid, frame_cb, u);
	if (u->n == 0) {
		/* not even the sampled IP (no module there: JIT, anonymous code) */
		pcs[0] = regs[8];
		how[0] = FOUND_REGS;
		u->n = 1;
	}
	if (rc == 0)
		*end = CFI_END_OUTERMOST;
	else if (u->n >= max)
		*end = CFI_END_MAX;
	else if (u->beyond_copy)
		*end = CFI_END_COPY;
	else {
		*end = CFI_END_NO_INFO;
		scan_rest(u);
	}
	u->uret = NULL; /* one sample's */
	return u->n;
}

void cfi_unwinder_set_uret(struct cfi_unwinder *u, const struct pktpath_uret_chain *c)
{
	u->uret = c && c->n ? c : NULL;
}
