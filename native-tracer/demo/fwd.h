/* fwd.h — what the demo forwarder's pieces share: options, counters and the routing table. */
#ifndef PKTPATH_DEMO_FWD_H
#define PKTPATH_DEMO_FWD_H

#include <stdint.h>
#include <rte_ether.h>
#include <rte_lpm.h>

#define FWD_MAX_HOPS 16

struct fwd_options {
	unsigned burst;          /* 1..32 */
	unsigned routes;         /* random prefixes besides the sink's */
	uint64_t seed;           /* for the random prefixes: same seed, same table */
	uint32_t sink_net;       /* host order */
	uint8_t sink_len;
	struct rte_ether_addr next_hop_mac; /* the sink's MAC */
	unsigned poll_sleep_us;  /* sleep after an empty poll; 0 = busy poll */
};

struct fwd_next_hop {
	struct rte_ether_addr mac;
};

struct fwd_counters {
	uint64_t rx, tx, drop_parse, drop_route, drop_tx, bursts, empty_polls;
};

/* Parses the application's arguments (after EAL's). Returns 0, or -1 with a message in err. */
int fwd_parse_options(int argc, char **argv, struct fwd_options *opt, char *err, size_t errlen);

/* Adds the sink route (next hop 0) and opt->routes distinct random prefixes; fills hops.
 * Returns how many routes the table holds, or a negative rte_lpm error. */
int fwd_fill_routes(struct rte_lpm *lpm, const struct fwd_options *opt, struct fwd_next_hop *hops,
		    unsigned *nb_hops);

#endif
