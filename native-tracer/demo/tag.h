/* tag.h — the payload the generator writes and the sink recognises, so stray packets are not
 * counted as the generator's. */
#ifndef PKTPATH_DEMO_TAG_H
#define PKTPATH_DEMO_TAG_H

#include <stdint.h>

#define DEMO_MAGIC "PKTPATH1"

struct demo_payload {
	char magic[8];   /* DEMO_MAGIC, no terminator */
	uint32_t tag;    /* chosen per run by whoever starts generator and sink */
	uint32_t zero;
	uint64_t seq;    /* 0, 1, 2, ... per generator run */
} __attribute__((packed));

#endif
