/* tracer_bpf.h — configuration the loader hands to pktpath.bpf.c before load (not part of the
 * stream; the stream's shared definitions are in pktpath.h). */
#ifndef PKTPATH_TRACER_BPF_H
#define PKTPATH_TRACER_BPF_H
#include "pktpath.h"

/* Slot PKTPATH_MAX_STAGES is the tracer's own calibration stage; its counts never reach the stream
 * as a stage, only as "calibration" records. */
#define PKTPATH_CAL_STAGE PKTPATH_MAX_STAGES
#define PKTPATH_SLOTS (PKTPATH_MAX_STAGES + 1)
#define PKTPATH_FENTRY_SLOTS 8

struct pktpath_stage_cfg {
	unsigned int kind;         /* enum pktpath_stage_kind */
	unsigned int packets_from; /* enum pktpath_packets_from */
	unsigned int packets_arg;  /* 0-based argument index for PKTPATH_PKTS_ARG */
	unsigned int key_skb;      /* tracepoints: first argument is a struct sk_buff * */
	unsigned int first_point;  /* the first point-event stage: starts each packet's timeline */
	unsigned int dev_arg;      /* tracepoints: 1 + index of a struct net_device * argument, 0: none */
	unsigned int last_point;   /* the last skb-keyed stage: ends it (the skb's entry is deleted) */
	unsigned int match_arg;    /* uprobes: 1 + the argument whose value picks the stage of a call
				    * (match_of: this site's stage and the others sharing its probes); 0: none */
};

/* match_of's key: the stage whose probes fire (the attach cookie) and an argument value. */
struct pktpath_match_key {
	unsigned int site;
	unsigned int pad;
	unsigned long long val;
};
#endif
