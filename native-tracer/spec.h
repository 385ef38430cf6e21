/* spec.h — the tracer's command line: stages (NAME=SPEC) and options, parsed without a shell. */
#ifndef PKTPATH_SPEC_H
#define PKTPATH_SPEC_H
#include <stddef.h>
#include "pktpath.h"

struct stage_spec {
	char *name;
	char *spec;   /* as given, for the stage record */
	enum pktpath_stage_kind kind;
	char *binary; /* uprobe, usdt */
	char *symbol; /* uprobe (NULL when by address), kprobe/fentry: kernel function */
	unsigned long long addr; /* uprobe by address: ELF virtual address, as nm/objdump print it */
	char *provider, *probe;  /* usdt */
	char *category, *event;  /* tracepoint */
	enum pktpath_packets_from packets_from;
	unsigned int packets_arg;
	/* uprobe ":argN=V[,V...]": only calls whose argument N is one of the values count (an rte_graph
	 * node's process function serves several nodes; the node pointer tells them apart). match_arg
	 * is 1 + N, 0: every call */
	unsigned int match_arg;
	unsigned int nmatch;
	unsigned long long match_val[PKTPATH_MAX_MATCH];
};

struct options {
	int pid;          /* 0 with kernel_mode */
	int kernel_mode;
	struct stage_spec stages[PKTPATH_MAX_STAGES];
	int nstages;
	int sample_hz;
	int interval_ms;
	double duration_s; /* 0: until stopped */
	int calibrate;
	double max_overhead_pct; /* 0: no budget */
	/* --recalibrate-s: measure the probe cost again every this many seconds while recording
	 * (default 1; 0: at start only). The calibration probes stay attached meanwhile. */
	double recalibrate_s;
	int check;
	/* --no-relocate: keep a single-stepped site's entry timestamp at its first byte (reloc.c) */
	int no_relocate;
	/* --force-unchecked-offsets: probe a uprobe:BIN:0xADDR that cannot be checked (no function symbol
	 * covers it, its code does not decode, no CFI). One known to be inside an instruction, or past the
	 * function's pushes, is refused even so: the probes there break the target. */
	int force_unchecked_offsets;
	/* --no-bpf: sample without BPF (perf rings read by the tracer; sampler.h), as the tracer does
	 * by itself where BPF is not permitted. Stage probes need BPF: not with --stage. */
	int no_bpf;
	/* --unwind fp: user stacks by the kernel's frame-pointer walk (and the stack scan), counted in
	 * the kernel; default with --pid: dwarf, a copy of stack_bytes (--stack-bytes) of user stack with
	 * each sample, unwound by DWARF CFI in the tracer (unwind_cfi.h) */
	int unwind_fp;
	unsigned stack_bytes;
	/* --netns: only skbs whose device (or socket) is in this network namespace are traced by
	 * skb-keyed tracepoint stages; 0: every namespace */
	unsigned long long netns_ino;
};

/* Returns 0, or -1 with a one-line message in err. */
int parse_options(int argc, char **argv, struct options *o, char *err, size_t errlen);
int parse_stage(const char *arg, struct stage_spec *s, char *err, size_t errlen);
void free_options(struct options *o);
const char *kind_name(enum pktpath_stage_kind k);
#endif
