/* frame_table.h — frame ids: each distinct code address gets one the first time a stack uses it
 * (the stream defines a frame once, then stacks refer to it by id). */
#ifndef PKTPATH_FRAME_TABLE_H
#define PKTPATH_FRAME_TABLE_H
#include <stdbool.h>

struct frame_table;

/* Room for max ids over the whole run. NULL when out of memory. */
struct frame_table *frame_table_new(unsigned max);
void frame_table_free(struct frame_table *t);

/* The id of addr (user and kernel addresses never coincide on x86-64); *fresh says it is new, so
 * its frame record is due. -1 when the table is full. */
int frame_table_id(struct frame_table *t, unsigned long long addr, bool *fresh);

bool frame_table_full(const struct frame_table *t);
#endif
