/* bpf_load.h — the stage probes' BPF object (pktpath.bpf.c): what the host allows of it, and its
 * load (bpf_load.c). */
#ifndef PKTPATH_BPF_LOAD_H
#define PKTPATH_BPF_LOAD_H

struct tracer;

/* t->feat: the host's features (hostcaps.c), fentry among them by loading an fentry program of a
 * stage's target where BTF and CAP_BPF allow it. Routes libbpf's messages first. */
void host_features(struct tracer *t);
/* Opens the object, prepares the stages (stages_prepare) and loads it into t->skel. 0, or the exit
 * code after an error record. */
int stages_load(struct tracer *t);
#endif
