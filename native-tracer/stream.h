/* stream.h — the tracer's stream (docs/stream.md): one function per record type, and the only
 * place its JSON member names are written (test/unit/stream-schema-tidy.test.ts holds them to
 * src/tracer/stream-schema.ts). Outside strings (symbols, paths, messages) go through json.h. */
#ifndef PKTPATH_STREAM_H
#define PKTPATH_STREAM_H
#include <stdbool.h>
#include <stdio.h>
#include "elfsym.h"
#include "pktpath.h"

struct features;

/* hello: who writes the stream and what the host allows */
struct hello_rec {
	const char *tracer; /* the tracer's version */
	int pid;            /* 0: none (kernel mode) */
	bool kernel_mode;
	int interval_ms;
	const struct features *host;
	const char *unwind; /* --pid sampling: "dwarf" or "fp"; NULL: absent */
};
void stream_hello(FILE *out, const struct hello_rec *h);

/* stage: one per stage of the command line, attached or not */
struct stage_rec {
	int id;
	const char *name, *kind, *spec;
	const char *packets;          /* "one", "ret", "argN" */
	bool ok;
	const char *error;            /* NULL when ok */
	const char *binary, *symbol;  /* NULL: none */
	bool located;                 /* offset and address known */
	unsigned long long offset, address;
	const char *first_insn, *first_bytes;
	bool single_step;
	const char *key;              /* how latencies are formed: "call", "skb", "cpu", "thread" */
	bool relocated;               /* the entry probe moved past the first instruction */
	unsigned entry_offset, untimed_insns;
	const char *entry_insn, *untimed_prefix;
	const char *warning;          /* NULL: none */
	const char *function;         /* the ELF function the site is in (a copy's name, NAME+0xOFF); NULL: unknown */
	const struct elf_copies *copies; /* the symbol's copies; NULL or n == 0: not written */
};
void stream_stage(FILE *out, const struct stage_rec *s);

void stream_ready(FILE *out, unsigned long long t_ns);

/* calls of a stage made while another stage was the innermost one running on the thread */
struct nest_delta {
	int parent;
	unsigned long long calls, sum_ns;
};
/* hist: a stage's deltas over interval seq; delta[PKTPATH_HIST_BUCKETS] or NULL (no buckets);
 * in[nin]: its calls inside other stages */
void stream_hist(FILE *out, unsigned seq, int stage, const struct pktpath_stage_totals *d,
		 const unsigned long long *delta, const struct nest_delta *in, int nin);

/* frame: a code address, defined once before the first stack that uses it */
struct frame_rec {
	int id;
	unsigned long long addr;      /* runtime address (a caller's: its return address) */
	const char *fn;               /* never NULL: a symbol, or what stands in for one */
	unsigned long long off;       /* addr - the symbol's start; 0 without a symbol */
	const char *module;
	const char *build_id;         /* NULL: none */
	bool has_elf_addr;
	unsigned long long elf_addr;  /* the address in the module's ELF address space */
	bool kernel;
	const char *named_by;         /* where fn came from: "symtab", "dynsym", "eh_frame", "kallsyms"; NULL: absent */
};
void stream_frame(FILE *out, const struct frame_rec *f);

/* stack: frame ids leaf first, counted `count` times in interval seq; scanned > 0: how many of
 * the frames the stack scan found; found (NULL: absent): one letter per frame saying how it was found */
void stream_stack(FILE *out, unsigned seq, unsigned long long count, unsigned tid, const int *ids, int n,
		  int scanned, const char *found);

/* tick: closes interval seq; the has_* flags say which optional members it carries */
struct tick_rec {
	unsigned seq;
	unsigned long long t_ns, dt_ns, samples, lost;
	bool has_coverage;
	double coverage;
	bool has_overhead;            /* false: "overhead_pct":null (uncalibrated) */
	double overhead_pct;
	bool has_live;
	double live;
	bool has_clocks;              /* the sampled threads' clocks (--pid with sampling) */
	unsigned long long cpu_ns, sched_ns, slices;
	bool has_timer_late, has_sample_run;
	unsigned long long timer_late_ns, sample_run_ns;
};
void stream_tick(FILE *out, const struct tick_rec *t);

/* calibration: a stage's probe cost, before counting (seq < 0) or through the recording */
struct calibration_rec {
	int stage;
	const char *cls, *method, *sched;
	unsigned runs;
	double inner_ns, inner_spread_ns, outer_ns, outer_spread_ns;
	bool has_inner_mean;          /* false: the means are null */
	double inner_mean_ns, inner_mean_spread_ns;
	int seq, during;              /* < 0: absent */
	const char *placement;        /* NULL: absent */
};
void stream_calibration(FILE *out, const struct calibration_rec *c);

/* drop: `what` is "stacks", "entries" or "frames"; nothing is written for n == 0 */
void stream_drop(FILE *out, const char *what, unsigned long long n);

void stream_warning(FILE *out, const char *message);
void stream_warningf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* error: missing[0..nmissing) names what the host lacks */
void stream_error(FILE *out, const char *message, char *const *missing, int nmissing, bool fatal);

/* bye: the last record; reason is one of docs/stream.md's, message (NULL: none) says it in words */
void stream_bye(FILE *out, const char *reason, const char *message, unsigned long long t_ns);
#endif
