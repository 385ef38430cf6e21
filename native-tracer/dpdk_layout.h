/* dpdk_layout.h — where DPDK 22.11 (ABI 23) keeps the fields pktpath reads from a live process.
 * Offsets from rte_graph_worker.h (struct rte_node, struct rte_graph) and rte_ethdev_core.h
 * (struct rte_eth_fp_ops), x86-64. dpdk_layout_check.c asserts them against the installed headers
 * when they are there (the Makefile builds it when pkg-config finds libdpdk); at run time the query
 * refuses libraries of another ABI and an rte_eth_fp_ops whose size disagrees. */
#ifndef PKTPATH_DPDK_LAYOUT_H
#define PKTPATH_DPDK_LAYOUT_H

#define DPDK_ABI "23" /* librte_*.so.23: DPDK 22.11 */

#define DPDK_GRAPH_FENCE 0xdeadbeef12345678ULL
#define DPDK_NAMESIZE 64

/* struct rte_node (cache aligned: nodes start at 64-byte boundaries) */
#define DPDK_NODE_FENCE 0
#define DPDK_NODE_ID 12
#define DPDK_NODE_NAME 92
#define DPDK_NODE_OFF 212 /* offset of the node in its graph's reel: graph = node - off */
#define DPDK_NODE_TOTAL_CYCLES 216
#define DPDK_NODE_TOTAL_CALLS 224
#define DPDK_NODE_TOTAL_OBJS 232
#define DPDK_NODE_PROCESS 248
#define DPDK_NODE_READ 256 /* bytes read per node: up to the end of `process` */

/* struct rte_graph. Its source nodes (RTE_NODE_SOURCE_F) are listed just below cir_start: graph_populate.c
 * writes their `off` to cir_start[-1], cir_start[-2], ... and sets head to minus their count (the walk starts
 * there; head itself is never written again). */
#define DPDK_GRAPH_HEAD 4
#define DPDK_GRAPH_NB_NODES 12
#define DPDK_GRAPH_CIR_START 16
#define DPDK_GRAPH_NAME 36
#define DPDK_GRAPH_FENCE_OFF 104

/* struct rte_eth_fp_ops[RTE_MAX_ETHPORTS] */
#define DPDK_MAX_ETHPORTS 32
#define DPDK_FP_OPS_SIZE 128
#define DPDK_FP_RX_BURST 0
#define DPDK_FP_RXQ_DATA 24
#define DPDK_FP_TX_BURST 64
#define DPDK_FP_TXQ_DATA 88

#endif
