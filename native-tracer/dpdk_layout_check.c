/* dpdk_layout_check.c — compiled only where DPDK's headers are installed (Makefile: `make
 * dpdk-layout-check`, part of `all` when pkg-config finds libdpdk): fails the build when
 * dpdk_layout.h disagrees with them. Not linked into the tracer. */
#include "dpdk_layout.h"
#include <rte_version.h>
#include <rte_ethdev.h>
#include <rte_graph.h>
#include <rte_graph_worker.h>
#include <stddef.h>

#define SAME(a, b) _Static_assert((a) == (b), #a " != " #b)

_Static_assert(RTE_VER_YEAR == 22 && RTE_VER_MONTH == 11, "dpdk_layout.h describes DPDK 22.11");
SAME(RTE_GRAPH_FENCE, DPDK_GRAPH_FENCE);
SAME(RTE_NODE_NAMESIZE, DPDK_NAMESIZE);
SAME(RTE_GRAPH_NAMESIZE, DPDK_NAMESIZE);
SAME(offsetof(struct rte_node, fence), DPDK_NODE_FENCE);
SAME(offsetof(struct rte_node, id), DPDK_NODE_ID);
SAME(offsetof(struct rte_node, name), DPDK_NODE_NAME);
SAME(offsetof(struct rte_node, off), DPDK_NODE_OFF);
SAME(offsetof(struct rte_node, total_cycles), DPDK_NODE_TOTAL_CYCLES);
SAME(offsetof(struct rte_node, total_calls), DPDK_NODE_TOTAL_CALLS);
SAME(offsetof(struct rte_node, total_objs), DPDK_NODE_TOTAL_OBJS);
SAME(offsetof(struct rte_node, process), DPDK_NODE_PROCESS);
SAME(offsetof(struct rte_node, nodes), DPDK_NODE_READ);
SAME(offsetof(struct rte_graph, head), DPDK_GRAPH_HEAD);
SAME(offsetof(struct rte_graph, nb_nodes), DPDK_GRAPH_NB_NODES);
SAME(offsetof(struct rte_graph, cir_start), DPDK_GRAPH_CIR_START);
SAME(sizeof(rte_graph_off_t), 4);
SAME(RTE_NODE_SOURCE_F, 1);
SAME(offsetof(struct rte_graph, name), DPDK_GRAPH_NAME);
SAME(offsetof(struct rte_graph, fence), DPDK_GRAPH_FENCE_OFF);
SAME(RTE_MAX_ETHPORTS, DPDK_MAX_ETHPORTS);
SAME(sizeof(struct rte_eth_fp_ops), DPDK_FP_OPS_SIZE);
SAME(offsetof(struct rte_eth_fp_ops, rx_pkt_burst), DPDK_FP_RX_BURST);
SAME(offsetof(struct rte_eth_fp_ops, rxq.data), DPDK_FP_RXQ_DATA);
SAME(offsetof(struct rte_eth_fp_ops, tx_pkt_burst), DPDK_FP_TX_BURST);
SAME(offsetof(struct rte_eth_fp_ops, txq.data), DPDK_FP_TXQ_DATA);
