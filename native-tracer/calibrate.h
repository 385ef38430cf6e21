/* calibrate.h — what the calibration's files share (cal_sites.c, cal_measure.c, calibrate.c,
 * calibrate_bg.c); the tracer's entry points are in tracer.h. */
#ifndef PKTPATH_CALIBRATE_H
#define PKTPATH_CALIBRATE_H
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include "tracer.h"

/* CAL_SSRIP and CAL_RELOC* report as "single_step" (the stream's class names are a contract; the
 * site is single-stepped); their methods say rip-relative / relocated-entry. */
enum cal_class { CAL_PUSH, CAL_NOP, CAL_SSTEP, CAL_USDT, CAL_TP, CAL_SSRIP, CAL_RELOC, CAL_RELOC_BR, CAL_NCLASS };

/* ---- cal_sites.c: the sites ---- */
extern const char *const cal_names[CAL_NCLASS];   /* the stream's "class" */
extern const char *const cal_methods[CAL_NCLASS]; /* the stream's "method" */
extern void (*const cal_probed[CAL_NCLASS])(void); /* the probed function (none for CAL_TP) */
extern void (*const cal_ref[CAL_NCLASS])(void);    /* its never-probed twin */
/* bytes from the probed function's start to where its entry probe goes (relocated entries) */
unsigned long cal_entry_delta(enum cal_class c);
/* the file and file offset of a function of this process (works on a stripped tracer) */
int cal_self_site(void (*fn)(void), char *path, size_t plen, unsigned long long *off);
/* the class of a stage's site; CAL_NCLASS: not calibrated by this tracer */
enum cal_class cal_class_of(struct stage_rt *s);

/* ---- cal_measure.c: one class's cost ---- */
struct cal_result {
	bool done, ok;
	double inner, inner_sp, outer, outer_sp, inner_mean, inner_mean_sp;
	bool mean_ok; /* enough batches without a preempted call for a mean */
	const char *placement; /* background batches: "target-cpu", "other-cpu", "mixed"; NULL: not said */
	unsigned runs;
	const char *method;
};

struct cal_batch {
	double inner, outer, inner_mean;
	bool mean_ok; /* no call of the batch lost the CPU to another task */
};

/* nbatch batches of ncalls (at most CAL_MAX_BATCHES, CAL_MAX_CALLS), attaching the class's probes
 * first if needed; err says why when r->ok stays false */
#define CAL_MAX_BATCHES 21
#define CAL_MAX_CALLS 500
void cal_measure(struct tracer *t, enum cal_class c, struct cal_result *r, char *err, size_t len, int nbatch,
		 int ncalls);
/* One untraced and one traced run of ncalls. 0: *o holds a measurement; 1: the probe recorded
 * nothing; -1: failed (err says why). */
int cal_one_batch(struct tracer *t, enum cal_class c, void (*probed)(void), int ncalls, struct cal_batch *o,
		  char *err, size_t len);
/* Medians and half inter-quartile ranges over nb batches; min_mean: batches without a preempted
 * call needed for a mean; by_mean: inner_mean is their mean instead of their median. */
void cal_summarize(const struct cal_batch *b, int nb, int min_mean, bool by_mean, struct cal_result *r);
/* the class's probed function while its probes are attached, else NULL */
void (*cal_held_probe(enum cal_class c))(void);
/* detaches every class's probes */
void cal_release_probes(void);

/* ---- calibrate.c: the pass before counting ---- */
/* Takes the real-time target's scheduling class for this thread; *old gets what to restore. */
bool cal_match_target_sched(struct tracer *t, int *old_policy, struct sched_param *old, bool quiet);
/* one calibration record; seq, during < 0: absent */
void cal_emit(struct tracer *t, struct stage_rt *s, enum cal_class c, const struct cal_result *r, bool rt, int seq,
	      int during);

/* ---- calibrate_bg.c: through the recording ---- */
void cal_bg_start(struct tracer *t, const struct cal_result *res);
void cal_bg_stop(void);
#endif
