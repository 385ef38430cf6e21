/* perf_ring.c — see perf_ring.h. The protocol is the kernel's (include/uapi/linux/perf_event.h):
 * read data_head with acquire order, consume records up to it, then store data_tail with release
 * order so the kernel may reuse the space. */
#include "perf_ring.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int perf_ring_map(int fd, unsigned order, struct perf_ring *r)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), data = page << order;
	void *p = mmap(NULL, page + data, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	memset(r, 0, sizeof(*r));
	if (p == MAP_FAILED)
		return -errno;
	/* a record is at most 64 KiB (its size field is 16 bits) */
	r->scratch = malloc(65536);
	if (!r->scratch) {
		munmap(p, page + data);
		return -ENOMEM;
	}
	r->base = p;
	r->data_size = data;
	return 0;
}

void perf_ring_unmap(struct perf_ring *r)
{
	if (r->base)
		munmap(r->base, (size_t)sysconf(_SC_PAGESIZE) + r->data_size);
	free(r->scratch);
	memset(r, 0, sizeof(*r));
}

unsigned long perf_ring_read(struct perf_ring *r, perf_record_fn fn, void *ctx)
{
	struct perf_event_mmap_page *meta = r->base;
	unsigned char *data;
	unsigned long long head, tail;
	unsigned long n = 0;
	size_t mask;

	if (!meta)
		return 0;
	data = (unsigned char *)r->base + meta->data_offset;
	mask = r->data_size - 1;
	head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	tail = meta->data_tail;
	while (tail < head) {
		size_t off = (size_t)(tail & mask);
		const struct perf_event_header *h = (const void *)(data + off);
		unsigned short size = h->size;

		if (size < sizeof(*h) || tail + size > head)
			break; /* torn or corrupt: drop the rest rather than loop */
		if (off + size > r->data_size) {
			size_t first = r->data_size - off;
			memcpy(r->scratch, data + off, first);
			memcpy(r->scratch + first, data, size - first);
			h = (const void *)r->scratch;
		}
		fn(ctx, h);
		tail += size;
		n++;
	}
	if (tail < head)
		tail = head;
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
	return n;
}
