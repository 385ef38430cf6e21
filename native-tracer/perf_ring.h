/* perf_ring.h — a perf_event mmap ring buffer, read from user space (the sampler without BPF). */
#ifndef PKTPATH_PERF_RING_H
#define PKTPATH_PERF_RING_H
#include <linux/perf_event.h>
#include <stddef.h>

struct perf_ring {
	void *base;       /* the metadata page, then data_size bytes of ring */
	size_t data_size; /* a power of two */
	/* a record that wraps around the end of the ring is copied here to be read whole */
	unsigned char *scratch;
};

/* Maps fd's ring with 2^order data pages. 0, or -errno (EPERM: over perf_event_mlock_kb). */
int perf_ring_map(int fd, unsigned order, struct perf_ring *r);
void perf_ring_unmap(struct perf_ring *r);

typedef void (*perf_record_fn)(void *ctx, const struct perf_event_header *h);

/* Hands every record the kernel has written since the last call to fn, then frees their space.
 * Returns how many. */
unsigned long perf_ring_read(struct perf_ring *r, perf_record_fn fn, void *ctx);
#endif
