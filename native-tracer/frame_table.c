/* frame_table.c — see frame_table.h. Open addressing, load at most 1/2. */
#include "frame_table.h"
#include <stdlib.h>

struct frame_slot {
	unsigned long long addr;
	unsigned id; /* id + 1; 0 = empty */
};

struct frame_table {
	unsigned nslots; /* a power of two, 2 x max */
	unsigned n, max;
	struct frame_slot slot[];
};

struct frame_table *frame_table_new(unsigned max)
{
	unsigned ns = 1;
	struct frame_table *t;

	while (ns < 2 * max)
		ns <<= 1;
	t = calloc(1, sizeof(*t) + ns * sizeof(t->slot[0]));
	if (t) {
		t->nslots = ns;
		t->max = max;
	}
	return t;
}

void frame_table_free(struct frame_table *t)
{
	free(t);
}

int frame_table_id(struct frame_table *t, unsigned long long addr, bool *fresh)
{
	unsigned i = (unsigned)((addr * 0x9e3779b97f4a7c15ull) >> 40) & (t->nslots - 1);

	for (;; i = (i + 1) & (t->nslots - 1)) {
		struct frame_slot *f = &t->slot[i];
		if (!f->id) {
			if (t->n >= t->max)
				return -1;
			f->addr = addr;
			f->id = ++t->n;
			*fresh = true;
			return (int)f->id - 1;
		}
		if (f->addr == addr) {
			*fresh = false;
			return (int)f->id - 1;
		}
	}
}

bool frame_table_full(const struct frame_table *t)
{
	return t->n >= t->max;
}
