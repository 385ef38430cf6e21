/* tracer.h — the loader's run-time state, shared by pktpath.c (the run's outline), stages.c
 * (attach, detach, map reads), attach_all.c, drain.c, windows.c and calibrate.c. */
#ifndef PKTPATH_TRACER_H
#define PKTPATH_TRACER_H
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "clock.h"
#include "elfsym.h"
#include "hostcaps.h"
#include "insn.h"
#include "reloc.h"
#include "spec.h"
#include "tracer_bpf.h"

struct pktpath_bpf;
struct bpf_link;

struct stage_rt {
	int id;
	struct stage_spec *sp;
	bool ok;
	char error[1536];
	char warning[512];
	char binary[4096]; /* resolved path */
	unsigned long long vaddr, file_off;
	unsigned char code[16];
	size_t ncode;
	struct insn_info insn;
	bool located;      /* vaddr/file_off/code valid */
	unsigned long long size; /* the function's ELF symbol size (0: unknown) */
	struct elf_copies copies; /* the symbol's copies, and the function the site is in */
	/* the entry probe's file offset: file_off, or later when a single-stepped first instruction
	 * made the entry timestamp move to an emulated one (reloc.c); the return probe stays at
	 * file_off */
	unsigned long long entry_off;
	bool relocated;
	struct reloc reloc;
	const char *key;   /* "call", "skb", "cpu", "thread" */
	int fentry_slot;   /* -1 unless fentry */
	struct bpf_link *links[2];
	int ugroup;        /* attached through multi-uprobe group t->ugrp[ugroup]; -1: not */
	/* another stage whose probes at the same site serve this one too (calls told apart by
	 * sp->match_arg); -1: its own probes */
	int shares;
	/* cumulative totals and histogram at the previous drain, for deltas */
	struct pktpath_stage_totals prev;
	struct pktpath_nest_totals prev_nest[PKTPATH_MAX_STAGES]; /* by parent */
	unsigned long long prev_hist[PKTPATH_HIST_BUCKETS];
	/* calibration */
	bool calibrated;
	const char *cal_class;
	double outer_ns;
};

/* one binary's uprobe stages behind two multi-uprobe links */
struct umulti_group {
	int fd[2]; /* entry, return */
};

struct tracer {
	struct options *o;
	struct features feat;
	struct pktpath_bpf *skel;
	int ncpu;
	struct stage_rt st[PKTPATH_MAX_STAGES];
	int nst;
	FILE *out;
	bool umulti;                  /* multi-uprobe links are loaded and not refused so far */
	struct umulti_group ugrp[PKTPATH_MAX_STAGES];
	int nugrp;
	bool skb_free;                /* some stage is skb-keyed: forget freed skbs */
	struct bpf_link *free_links[3];
};

/* before load: pick programs, fill .rodata, resolve addresses and tracepoint argument types */
void stages_prepare(struct tracer *t);
/* after load: the argument values that pick a shared site's stage, into match_of (0, or -errno) */
int stages_match_fill(struct tracer *t);
/* after load */
int stage_attach(struct tracer *t, struct stage_rt *s);
void stage_detach(struct stage_rt *s);
/* uprobe_multi.c: before load, pick the multi-uprobe programs; after load, attach every uprobe
 * stage not yet attached through one pair of links per binary (0, or -errno: then per-site) */
void uprobes_multi_prepare(struct tracer *t);
int uprobes_multi_attach(struct tracer *t);
/* one multi-uprobe link of program p (stage_uentry_multi / stage_ureturn_multi, loaded when
 * t->umulti) over n sites of binary, cookie[i] for site i: an fd, or -errno */
struct bpf_program;
int uprobe_multi_link(struct bpf_program *p, const char *binary, const uint64_t *off,
		      const uint64_t *cookie, int n, bool ret, int pid);
/* detaches every stage (multi and per-site links), closing all links concurrently */
void links_detach_all(struct tracer *t);
/* kfree_skb/consume_skb: drop a freed skb's last-stage time (an error record when it fails) */
int skb_free_attach(struct tracer *t);
void skb_free_detach(struct tracer *t);
/* cumulative per-slot totals and (optionally) histogram, summed over CPUs */
int slot_read(struct tracer *t, int slot, struct pktpath_stage_totals *tot, unsigned long long *hist);
/* cumulative totals of child's calls made inside parent, summed over CPUs */
int nest_read(struct tracer *t, int parent, int child, struct pktpath_nest_totals *tot);
/* forgets entry timestamps left by calls that were in flight when probes were detached */
void entries_clear(struct tracer *t);

/* attach_all.c: every stage at start, writing each stage's record (and an error record for a
 * stage that failed); returns how many are attached */
int attach_at_start(struct tracer *t);
/* every stage not attached yet, again (a --max-overhead window); how many are attached */
int attach_all(struct tracer *t);
/* drain.c: one interval's hist records (seq); *overhead_ns: the calls' calibrated probe cost */
void drain(struct tracer *t, unsigned seq, double *overhead_ns);

/* per-site probe cost, measured in this process through the same programs */
void calibrate_stages(struct tracer *t);
void recalibrate_stages(struct tracer *t, unsigned seq);
void calibrate_release(void);


/* windows.c: --max-overhead. The main loop hands over how to attach, detach, count and
 * wait; a window's whole live time (attach to last probe hit) is charged at the rate measured
 * while counting. */
struct window_ops {
	void *ctx;
	int (*attach)(void *ctx); /* how many stages are attached */
	/* every stage; forgets calls cut off in flight; returns probes_last_hit_ns() read before */
	unsigned long long (*detach)(void *ctx);
	void (*count)(void *ctx, bool on);
	bool (*wait)(void *ctx, unsigned long long until); /* false: stop */
};
struct windows {
	double budget;     /* share of one CPU */
	double rate;       /* probes' cost while attached, CPU-ns per ns; < 0: not measured yet */
	double attach_ns;  /* attach + settle (running means, like the next two) */
	double detach_paid_ns, detach_wall_ns; /* until the last probe hit; until the detach returned */
	unsigned ndetach;
	double balance_ns; /* cost the budget still allows; negative: overspent, windows wait */
	double last_count_ns;
	bool attached, debug;
	unsigned long long on_ns, live_ns; /* the last interval: counted, probes attached */
};
void windows_init(struct windows *w, double budget_pct);
void windows_start(struct windows *w, const struct window_ops *op);
bool windows_interval(struct windows *w, const struct window_ops *op, unsigned long long tick_start,
		      unsigned long long tick_end);
/* charges the last interval; returns its estimated probe cost (ns of CPU) */
double windows_account(struct windows *w, double counted_cost_ns, unsigned long long dt_ns);
/* The window ops of a recording (ctx: r): attach_all, every stage detached with the calls cut off
 * forgotten, the BPF side's counting switch, and waits as the main loop waits (stops.h). */
struct stops;
struct window_run {
	struct tracer *t;
	struct stops *stop;
	const sigset_t *mask;
};
struct window_ops window_run_ops(struct window_run *r);
/* the newest entry timestamp of any call-keyed stage (monotonic ns); 0 when some stage is not
 * call-keyed (no evidence) */
unsigned long long probes_last_hit_ns(struct tracer *t);
#endif
