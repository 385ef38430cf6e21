/* routes.c — the forwarder's routing table: the sink's subnet plus many random prefixes shaped
 * like an Internet table (mostly /24s, some shorter), so rte_lpm does real work. */
#include <stdbool.h>

#include "fwd.h"

static uint64_t next_rand(uint64_t *s) /* xorshift64*: reproducible for a given seed */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint8_t random_len(uint64_t r)
{
	unsigned pct = (unsigned)(r % 100);
	if (pct < 60)
		return 24;
	if (pct < 90)
		return (uint8_t)(17 + (r >> 8) % 7); /* /17../23 */
	return (uint8_t)(8 + (r >> 8) % 9);         /* /8../16 */
}

static uint32_t mask_of(uint8_t len)
{
	return len == 0 ? 0 : ~(0xffffffffu >> len);
}

/* A random prefix must not take the sink's traffic: no prefix as long or longer inside it. */
static bool steals_sink(uint32_t net, uint8_t len, const struct fwd_options *opt)
{
	if (len < opt->sink_len)
		return false;
	return (net & mask_of(opt->sink_len)) == opt->sink_net;
}

int fwd_fill_routes(struct rte_lpm *lpm, const struct fwd_options *opt, struct fwd_next_hop *hops,
		    unsigned *nb_hops)
{
	uint64_t s = opt->seed ? opt->seed : 0x9e3779b97f4a7c15ULL;
	hops[0].mac = opt->next_hop_mac;
	/* Other routers on the uplink: locally administered MACs, never seen by our traffic. */
	for (unsigned i = 1; i < FWD_MAX_HOPS; i++) {
		struct rte_ether_addr a = { { 0x02, 0x00, 0x5e, 0x10, 0x00, (uint8_t)i } };
		hops[i].mac = a;
	}
	*nb_hops = FWD_MAX_HOPS;

	int rc = rte_lpm_add(lpm, opt->sink_net, opt->sink_len, 0);
	if (rc < 0)
		return rc;
	unsigned added = 0, tries = 0;
	while (added < opt->routes && tries++ < opt->routes * 20u + 100) {
		uint64_t r = next_rand(&s);
		uint8_t first = (uint8_t)(1 + (r >> 40) % 223); /* 1..223: unicast space */
		if (first == 10 || first == 127)
			continue;
		uint8_t len = random_len(r);
		uint32_t net = (((uint32_t)first << 24) | ((uint32_t)(r >> 8) & 0x00ffffffu)) & mask_of(len);
		if (steals_sink(net, len, opt))
			continue;
		uint32_t old;
		if (rte_lpm_is_rule_present(lpm, net, len, &old) == 1)
			continue;
		uint32_t hop = 1 + (uint32_t)((r >> 32) % (FWD_MAX_HOPS - 1));
		if ((rc = rte_lpm_add(lpm, net, len, hop)) < 0)
			return rc;
		added++;
	}
	return (int)added + 1;
}
