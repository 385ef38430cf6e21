/* hostcaps.h — what this host lets the tracer do, and exactly what is missing when it cannot. */
#ifndef PKTPATH_HOSTCAPS_H
#define PKTPATH_HOSTCAPS_H
#include <stdbool.h>
#include <stdio.h>

#define FEAT_MAX_MISSING 12

struct features {
	bool btf, uprobes, usdt, tracepoints, kprobes, fentry, perf_cpu_clock;
	bool bpf_allowed;  /* CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN */
	int paranoid;      /* kernel.perf_event_paranoid */
	char lockdown[32]; /* "none", "integrity", "confidentiality" or "" when unknown */
	char kernel[65];
	char *missing[FEAT_MAX_MISSING];
	int nmissing;
};

/* Everything but fentry, which needs a BPF load: the caller probes it and calls feature_missing. */
void features_detect(struct features *f);
void feature_missing(struct features *f, const char *fmt, ...);
void features_free(struct features *f);
#endif
