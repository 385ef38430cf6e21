/* stack_table.h — counts of identical {thread, call chain} samples, for the sampler without BPF
 * (what the BPF program's count map does in the kernel, done in user space). */
#ifndef PKTPATH_STACK_TABLE_H
#define PKTPATH_STACK_TABLE_H
#include <stdbool.h>

struct stack_entry {
	unsigned tid;
	unsigned n;              /* ips in the chain */
	unsigned long long *ips; /* into the table's pool */
	unsigned long long count;
};

struct stack_table;

/* Room for `slots` distinct chains of `pool` ips in all. NULL when out of memory. */
struct stack_table *stack_table_new(unsigned slots, unsigned long long pool);
void stack_table_free(struct stack_table *t);

/* Counts one sample. false when the table is full (the sample is lost). */
bool stack_table_add(struct stack_table *t, unsigned tid, const unsigned long long *ips, unsigned n);

/* The distinct chains counted since the last clear, in no order; *n is set to how many. */
const struct stack_entry *stack_table_entries(const struct stack_table *t, unsigned *n);
void stack_table_clear(struct stack_table *t);
#endif
