/* code_facts.c — see code_facts.h. Verdicts sit in an open-addressing table keyed by address and
 * kind; when it is half full new verdicts are computed each time instead of stored. */
#include "code_facts.h"
#include "symbolize.h"
#include "x86_call.h"
#include <stdlib.h>
#include <string.h>

#define VERDICT_SLOTS (1u << 16)
enum { V_RET = 1, V_FP = 2 };

struct verdict_slot {
	unsigned long long key; /* addr << 2 | kind; 0 = empty */
	unsigned char val;      /* V_RET: 1 = yes; V_FP: prologue length, 0 = none */
};

struct code_facts {
	struct symbolizer *sym;
	unsigned n;
	struct verdict_slot slot[VERDICT_SLOTS];
};

struct code_facts *code_facts_new(struct symbolizer *sym)
{
	struct code_facts *c = calloc(1, sizeof(*c));

	if (c)
		c->sym = sym;
	return c;
}

void code_facts_free(struct code_facts *c)
{
	free(c);
}

/* The slot of key (filled or the empty one to fill), or NULL when the table takes no more. */
static struct verdict_slot *verdict(struct code_facts *c, unsigned long long key)
{
	unsigned i = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 40) & (VERDICT_SLOTS - 1);

	if (c->n >= VERDICT_SLOTS / 2)
		return NULL;
	for (unsigned probes = 0; probes < VERDICT_SLOTS; probes++, i = (i + 1) & (VERDICT_SLOTS - 1))
		if (!c->slot[i].key || c->slot[i].key == key)
			return &c->slot[i];
	return NULL;
}

static void remember(struct code_facts *c, struct verdict_slot *v, unsigned long long key, unsigned char val)
{
	if (!v)
		return;
	v->key = key;
	v->val = val;
	c->n++;
}

static bool check_return_address(struct code_facts *c, unsigned long long addr)
{
	unsigned char b[8];
	int rel;

	if (addr < 8 || symbolizer_read_code(c->sym, addr - 8, b, 8))
		return false;
	if (x86_direct_call(b + 3, &rel) && symbolizer_is_user_code(c->sym, addr + (long long)rel))
		return true;
	return x86_ends_in_indirect_call(b);
}

bool code_is_return_address(struct code_facts *c, unsigned long long addr)
{
	unsigned long long key = addr << 2 | V_RET;
	struct verdict_slot *v = verdict(c, key);
	bool yes;

	if (v && v->key)
		return v->val;
	yes = check_return_address(c, addr);
	remember(c, v, key, yes);
	return yes;
}

unsigned code_fp_prologue_len(struct code_facts *c, unsigned long long fn)
{
	unsigned long long key = fn << 2 | V_FP;
	struct verdict_slot *v = verdict(c, key);
	unsigned char b[8];
	unsigned len = 0;

	if (v && v->key)
		return v->val;
	if (!symbolizer_read_code(c->sym, fn, b, 8))
		len = x86_fp_prologue_len(b);
	remember(c, v, key, (unsigned char)len);
	return len;
}

bool code_has_frame_pointer(struct code_facts *c, unsigned long long addr)
{
	struct sym_frame f;
	unsigned plen;

	if (symbolize_user(c->sym, addr, &f) || !f.fn)
		return false;
	plen = code_fp_prologue_len(c, addr - f.off);
	/* before the prologue completes %rbp is still the caller's: its caller would be skipped */
	return plen && f.off >= plen;
}

unsigned long long code_direct_call_target(struct code_facts *c, unsigned long long addr)
{
	unsigned char b[5];
	int rel;

	if (addr < 5 || symbolizer_read_code(c->sym, addr - 5, b, 5) || !x86_direct_call(b, &rel))
		return 0;
	return addr + (long long)rel;
}

unsigned long long code_function_start(struct code_facts *c, unsigned long long addr)
{
	struct sym_frame f;

	if (symbolize_user(c->sym, addr, &f) || !f.fn)
		return 0;
	return addr - f.off;
}
