/* fwd.c — the demo DPDK forwarder that pktpath profiles.
 *
 * One direction, port 0 (from the generator) → port 1 (towards the sink), in five stages that are
 * each a noinline, externally visible function taking a burst and returning how many packets it
 * passed on, so a uprobe/uretprobe pair can count packets=ret:
 *   fwd_rx → fwd_parse → fwd_route_lookup → fwd_rewrite → fwd_tx
 * USDT probes pktpath_demo:burst_start(n) / burst_end(n_in, n_sent) bracket each burst.
 *
 * Output (stdout, one JSON object per line, among EAL's own log lines):
 *   {"event":"ready",...}  once both ports are started
 *   {"event":"stats",...}  on SIGUSR1
 *   {"event":"exit",...}   on SIGINT/SIGTERM, then the process exits 0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lpm.h>
#include <rte_mbuf.h>
#include <rte_udp.h>
#include <sys/sdt.h>

#include "fwd.h"

#define FWD_MAX_BURST 32
#define FWD_NB_MBUF 8191
#define FWD_RING_SIZE 1024

/* Counters are only touched by the one forwarding thread. */
struct fwd_counters fwd_stats;

static struct rte_lpm *fwd_lpm;
static struct fwd_next_hop fwd_hops[FWD_MAX_HOPS];
static unsigned fwd_nb_hops;
static struct rte_ether_addr fwd_tx_src_mac;
static uint16_t fwd_in_port = 0, fwd_out_port = 1;

static volatile sig_atomic_t fwd_quit;
static volatile sig_atomic_t fwd_want_stats;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		fwd_want_stats = 1;
	else
		fwd_quit = 1;
}

/* ---- the five stages --------------------------------------------------------------------------- */

__attribute__((noinline)) uint16_t fwd_rx(uint16_t port, struct rte_mbuf **pkts, uint16_t burst)
{
	uint16_t n = rte_eth_rx_burst(port, 0, pkts, burst);
	fwd_stats.rx += n;
	return n;
}

/* Keeps well-formed Ethernet/IPv4/UDP packets with a valid header checksum and TTL > 1, in order,
 * at the front of pkts; frees the rest. */
__attribute__((noinline)) uint16_t fwd_parse(struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t kept = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_data_len(m);
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
		bool ok = len >= sizeof(*eth) + sizeof(*ip) + sizeof(struct rte_udp_hdr) &&
			  eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
			  ip->version_ihl == RTE_IPV4_VHL_DEF && /* version 4, no options */
			  rte_be_to_cpu_16(ip->total_length) <= len - sizeof(*eth) &&
			  ip->next_proto_id == IPPROTO_UDP && ip->time_to_live > 1 &&
			  (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) == 0 &&
			  rte_ipv4_cksum(ip) == 0; /* a correct header sums to 0xffff, i.e. 0 after inversion */
		if (ok) {
			pkts[kept++] = m;
		} else {
			rte_pktmbuf_free(m);
			fwd_stats.drop_parse++;
		}
	}
	return kept;
}

/* Looks every destination up in the LPM table; packets without a route are freed. hop[i] is the
 * next-hop index of the i-th kept packet. */
__attribute__((noinline)) uint16_t fwd_route_lookup(struct rte_mbuf **pkts, uint32_t *hop, uint16_t n)
{
	uint32_t dst[FWD_MAX_BURST];
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod_offset(pkts[i], const struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
		dst[i] = rte_be_to_cpu_32(ip->dst_addr);
	}
	rte_lpm_lookup_bulk(fwd_lpm, dst, hop, n);
	uint16_t kept = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (hop[i] & RTE_LPM_LOOKUP_SUCCESS) {
			hop[kept] = hop[i] & 0x00ffffff;
			pkts[kept++] = pkts[i];
		} else {
			rte_pktmbuf_free(pkts[i]);
			fwd_stats.drop_route++;
		}
	}
	return kept;
}

/* MACs from the next hop, TTL - 1 and the header checksum updated incrementally (RFC 1624):
 * the TTL is the high byte of its 16-bit word, so the word drops by 0x0100. */
__attribute__((noinline)) uint16_t fwd_rewrite(struct rte_mbuf **pkts, const uint32_t *hop, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		const struct fwd_next_hop *nh = &fwd_hops[hop[i] < fwd_nb_hops ? hop[i] : 0];
		rte_ether_addr_copy(&nh->mac, &eth->dst_addr);
		rte_ether_addr_copy(&fwd_tx_src_mac, &eth->src_addr);
		uint32_t sum = ip->hdr_checksum;
		sum += rte_cpu_to_be_16(0x0100);
		ip->hdr_checksum = (uint16_t)(sum + (sum >= 0xffff));
		ip->time_to_live--;
	}
	return n;
}

/* Sends the burst; what the port did not take is freed and counted as dropped. */
__attribute__((noinline)) uint16_t fwd_tx(uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = rte_eth_tx_burst(port, 0, pkts, n);
	for (uint16_t i = sent; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
	fwd_stats.tx += sent;
	fwd_stats.drop_tx += n - sent;
	return sent;
}

/* ---- setup ------------------------------------------------------------------------------------- */

static void print_counters(const char *event)
{
	const struct fwd_counters *c = &fwd_stats;
	printf("{\"event\":\"%s\",\"rx\":%" PRIu64 ",\"tx\":%" PRIu64 ",\"drop\":%" PRIu64
	       ",\"drop_parse\":%" PRIu64 ",\"drop_route\":%" PRIu64 ",\"drop_tx\":%" PRIu64
	       ",\"bursts\":%" PRIu64 ",\"empty_polls\":%" PRIu64 "}\n",
	       event, c->rx, c->tx, c->drop_parse + c->drop_route + c->drop_tx, c->drop_parse, c->drop_route,
	       c->drop_tx, c->bursts, c->empty_polls);
	fflush(stdout);
}

static int port_init(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf)); /* offloads = 0: af_packet refuses checksum offloads */
	int rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc < 0)
		return rc;
	uint16_t nb_rxd = FWD_RING_SIZE, nb_txd = FWD_RING_SIZE;
	if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd)) < 0)
		return rc;
	int socket = rte_eth_dev_socket_id(port);
	if ((rc = rte_eth_rx_queue_setup(port, 0, nb_rxd, socket < 0 ? 0 : socket, NULL, pool)) < 0)
		return rc;
	if ((rc = rte_eth_tx_queue_setup(port, 0, nb_txd, socket < 0 ? 0 : socket, NULL)) < 0)
		return rc;
	if ((rc = rte_eth_dev_start(port)) < 0)
		return rc;
	rte_eth_promiscuous_enable(port); /* best effort: veths deliver every frame anyway */
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fwd [EAL args] -- --next-hop-mac MAC [--burst N] [--routes N] [--seed N]\n"
		"           [--sink-net A.B.C.D/LEN] [--poll-sleep-us N | --busy-poll]\n"
		"  EAL: --no-huge -m 256 --no-pci --file-prefix P --vdev net_af_packet0,iface=IN --vdev net_af_packet1,iface=OUT\n");
}

int main(int argc, char **argv)
{
	int used = rte_eal_init(argc, argv);
	if (used < 0) {
		fprintf(stderr, "fwd: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	argc -= used;
	argv += used;

	struct fwd_options opt;
	char err[256];
	if (fwd_parse_options(argc, argv, &opt, err, sizeof(err)) != 0) {
		fprintf(stderr, "fwd: %s\n", err);
		usage();
		rte_eal_cleanup();
		return 2;
	}
	if (rte_eth_dev_count_avail() < 2) {
		fprintf(stderr, "fwd: need 2 ports (two --vdev net_af_packetN,iface=...), have %u\n",
			rte_eth_dev_count_avail());
		rte_eal_cleanup();
		return 2;
	}

	/* Fine-grained sleeps on empty polls instead of spinning a core on a shared machine. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

	struct rte_mempool *pool =
		rte_pktmbuf_pool_create("fwd_pool", FWD_NB_MBUF, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (!pool) {
		fprintf(stderr, "fwd: mbuf pool: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}

	struct rte_lpm_config lc = { .max_rules = opt.routes + 16, .number_tbl8s = 1 << 12, .flags = 0 };
	fwd_lpm = rte_lpm_create("fwd_lpm", rte_socket_id(), &lc);
	if (!fwd_lpm) {
		fprintf(stderr, "fwd: lpm: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	int nroutes = fwd_fill_routes(fwd_lpm, &opt, fwd_hops, &fwd_nb_hops);
	if (nroutes < 0) {
		fprintf(stderr, "fwd: adding routes failed: %d\n", nroutes);
		rte_eal_cleanup();
		return 1;
	}

	for (uint16_t p = 0; p < 2; p++) {
		int rc = port_init(p, pool);
		if (rc < 0) {
			fprintf(stderr, "fwd: port %u: %s\n", p, rte_strerror(-rc));
			rte_eal_cleanup();
			return 1;
		}
	}
	rte_eth_macaddr_get(fwd_out_port, &fwd_tx_src_mac);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);

	char names[2][RTE_ETH_NAME_MAX_LEN];
	char macs[2][RTE_ETHER_ADDR_FMT_SIZE];
	for (uint16_t p = 0; p < 2; p++) {
		struct rte_ether_addr a;
		rte_eth_dev_get_name_by_port(p, names[p]);
		rte_eth_macaddr_get(p, &a);
		rte_ether_format_addr(macs[p], sizeof(macs[p]), &a);
	}
	printf("{\"event\":\"ready\",\"pid\":%d,\"burst\":%u,\"routes\":%d,\"poll_sleep_us\":%u,"
	       "\"ports\":[{\"port\":0,\"name\":\"%s\",\"mac\":\"%s\"},{\"port\":1,\"name\":\"%s\",\"mac\":\"%s\"}]}\n",
	       (int)getpid(), opt.burst, nroutes, opt.poll_sleep_us, names[0], macs[0], names[1], macs[1]);
	fflush(stdout);

	struct rte_mbuf *pkts[FWD_MAX_BURST];
	uint32_t hop[FWD_MAX_BURST];
	const struct timespec nap = { 0, (long)opt.poll_sleep_us * 1000L };
	while (!fwd_quit) {
		if (fwd_want_stats) {
			fwd_want_stats = 0;
			print_counters("stats");
		}
		uint16_t n = fwd_rx(fwd_in_port, pkts, opt.burst);
		if (n == 0) {
			fwd_stats.empty_polls++;
			if (opt.poll_sleep_us)
				nanosleep(&nap, NULL);
			continue;
		}
		fwd_stats.bursts++;
		DTRACE_PROBE1(pktpath_demo, burst_start, n);
		uint16_t k = fwd_parse(pkts, n);
		k = fwd_route_lookup(pkts, hop, k);
		k = fwd_rewrite(pkts, hop, k);
		uint16_t sent = fwd_tx(fwd_out_port, pkts, k);
		DTRACE_PROBE2(pktpath_demo, burst_end, n, sent);
	}

	for (uint16_t p = 0; p < 2; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	print_counters("exit");
	rte_lpm_free(fwd_lpm);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}
