/* calibrate.c — what do the probes add at a site of a given class? Functions of each class live
 * in this binary (cal_sites.c); the tracer probes itself through the very programs the stages use
 * (stage slot PKTPATH_CAL_STAGE, filtered to its own pid) and times them untraced and traced
 * (cal_measure.c):
 *   inner_ns: median latency the probes record for a call that costs `untraced` on its own, minus
 *             `untraced` (what to subtract from a stage's latencies);
 *   outer_ns: wall time one probed call adds to its caller (what a parent stage, and the target,
 *             pay per call).
 * This file is the pass before counting starts, one record per calibrated stage; the background
 * thread that measures again through the recording is calibrate_bg.c. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include "calibrate.h"
#include "stream.h"

/* A real-time target runs its stages without being preempted by ordinary tasks; calibrating at an
 * ordinary priority on a busy machine would measure the neighbours (in the means above all). So the
 * calibrating thread takes the target's real-time class and priority for the calibration (a few
 * tenths of a second, bounded by the kernel's RT throttling) and gives it back afterwards.
 * Returns whether it changed anything; *old gets what to restore. */
bool cal_match_target_sched(struct tracer *t, int *old_policy, struct sched_param *old, bool quiet)
{
	struct sched_param sp;
	int pol;

	if (t->o->kernel_mode || t->o->pid <= 0)
		return false;
	pol = sched_getscheduler(t->o->pid);
	if ((pol != SCHED_FIFO && pol != SCHED_RR) || sched_getparam(t->o->pid, &sp))
		return false;
	*old_policy = sched_getscheduler(0);
	if (*old_policy < 0 || sched_getparam(0, old))
		return false;
	if (sched_setscheduler(0, pol, &sp)) {
		if (!quiet)
			stream_warningf(t->out, "calibration: cannot take the target's real-time priority (%s); calibrating at "
			     "an ordinary priority", strerror(errno));
		return false;
	}
	return true;
}

void cal_emit(struct tracer *t, struct stage_rt *s, enum cal_class c, const struct cal_result *r, bool rt, int seq,
	      int during)
{
	struct calibration_rec rec = {
		.stage = s->id, .cls = cal_names[c], .method = r->method, .sched = rt ? "target-rt" : "normal",
		.runs = r->runs, .inner_ns = r->inner, .inner_spread_ns = r->inner_sp, .outer_ns = r->outer,
		.outer_spread_ns = r->outer_sp, .has_inner_mean = r->mean_ok, .inner_mean_ns = r->inner_mean,
		.inner_mean_spread_ns = r->inner_mean_sp, .seq = seq, .during = during, .placement = r->placement,
	};
	stream_calibration(t->out, &rec);
}

void calibrate_stages(struct tracer *t)
{
	struct cal_result res[CAL_NCLASS] = {};
	char err[CAL_NCLASS][256] = {};
	struct sched_param old_sp;
	int old_pol = SCHED_OTHER;
	bool rt = cal_match_target_sched(t, &old_pol, &old_sp, false);

	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];
		enum cal_class c;

		if (!s->ok)
			continue;
		c = cal_class_of(s);
		if (c == CAL_NCLASS) {
			stream_warningf(t->out, "stage %s: %s probes are not calibrated by this tracer; its latencies "
				     "include the probes' own cost", s->sp->name, kind_name(s->sp->kind));
			continue;
		}
		if (!res[c].done)
			cal_measure(t, c, &res[c], err[c], sizeof(err[c]), CAL_MAX_BATCHES, CAL_MAX_CALLS);
		if (!res[c].ok) {
			stream_warningf(t->out, "stage %s: calibration (%s) failed: %s", s->sp->name, cal_names[c], err[c]);
			continue;
		}
		s->calibrated = true;
		s->cal_class = cal_names[c];
		s->outer_ns = res[c].outer;
		cal_emit(t, s, c, &res[c], rt, -1, -1);
	}
	if (rt && sched_setscheduler(0, old_pol, &old_sp))
		stream_warningf(t->out, "calibration: cannot give back the real-time priority: %s", strerror(errno));
	cal_bg_start(t, res);
}

/* Detaches every class's calibration probes (see cal_release_probes). */
void calibrate_release(void)
{
	cal_bg_stop();
	cal_release_probes();
}
