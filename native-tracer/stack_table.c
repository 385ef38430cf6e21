/* stack_table.c — see stack_table.h. Open addressing on a hash of the chain; the entries are kept
 * densely too, so listing them does not walk the empty slots. */
#include "stack_table.h"
#include <stdlib.h>
#include <string.h>

struct stack_table {
	unsigned nslots;  /* a power of two, twice the entries at most */
	int *slot;        /* index into entry + 1; 0 = empty */
	struct stack_entry *entry;
	unsigned nentries, maxentries;
	unsigned long long *pool;
	unsigned long long pooled, poolcap;
};

struct stack_table *stack_table_new(unsigned slots, unsigned long long pool)
{
	unsigned ns = 1;
	struct stack_table *t;

	while (ns < 2 * slots)
		ns <<= 1;
	/* one block: the table, then the pool, the entries and the slots (in falling alignment) */
	t = calloc(1, sizeof(*t) + pool * sizeof(*t->pool) + slots * sizeof(*t->entry) + ns * sizeof(*t->slot));
	if (!t)
		return NULL;
	t->pool = (unsigned long long *)(t + 1);
	t->entry = (struct stack_entry *)(t->pool + pool);
	t->slot = (int *)(t->entry + slots);
	t->nslots = ns;
	t->maxentries = slots;
	t->poolcap = pool;
	return t;
}

void stack_table_free(struct stack_table *t)
{
	free(t);
}

static unsigned long long chain_hash(unsigned tid, const unsigned long long *ips, unsigned n)
{
	unsigned long long h = 0x9e3779b97f4a7c15ull ^ tid ^ ((unsigned long long)n << 32);
	for (unsigned i = 0; i < n; i++) {
		h ^= ips[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h;
}

bool stack_table_add(struct stack_table *t, unsigned tid, const unsigned long long *ips, unsigned n)
{
	unsigned i = (unsigned)chain_hash(tid, ips, n) & (t->nslots - 1);

	for (;; i = (i + 1) & (t->nslots - 1)) {
		struct stack_entry *e;
		if (!t->slot[i])
			break;
		e = &t->entry[t->slot[i] - 1];
		if (e->tid == tid && e->n == n && !memcmp(e->ips, ips, n * sizeof(*ips))) {
			e->count++;
			return true;
		}
	}
	if (t->nentries == t->maxentries || t->pooled + n > t->poolcap)
		return false;
	struct stack_entry *e = &t->entry[t->nentries];
	e->tid = tid;
	e->n = n;
	e->ips = t->pool + t->pooled;
	memcpy(e->ips, ips, n * sizeof(*ips));
	e->count = 1;
	t->pooled += n;
	t->slot[i] = (int)++t->nentries;
	return true;
}

const struct stack_entry *stack_table_entries(const struct stack_table *t, unsigned *n)
{
	*n = t->nentries;
	return t->entry;
}

void stack_table_clear(struct stack_table *t)
{
	memset(t->slot, 0, t->nslots * sizeof(*t->slot));
	t->nentries = 0;
	t->pooled = 0;
}
