/* calibrate_bg.c — the probe cost measured again all through the recording, by a thread of its own. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "calibrate.h"
#include "stream.h"

/* the most calls in one background batch (fewer where that would take over ~0.3 ms) */
#define RECAL_CALLS 200

/* Background calibration. The probe cost is not steady here: it sits at one level for tens of ms
 * to seconds, then at another 100-200 ns higher, and the single-step cost drifts by hundreds of ns.
 * A stage's mean is a time average over the recording, so the calibration has to be one too: a
 * thread runs one short batch per class every >= 20 ms all through the recording (it sleeps 50
 * times as long as its batches took), and each recalibration record is the mean of the batches of
 * one interval. Measuring in a burst once per interval caught whichever level the burst fell in.
 *
 * And on the target's CPU: the levels are per CPU. An empty push-first function in the target
 * against calibration batches of the same seconds, per 1 s interval: -33...+55 ns with the batches
 * on the target's CPU, -178...+167 ns on the other CPU of this 2-CPU VM. So each batch runs on the
 * CPU the target's busiest thread last ran on, kept short (<= ~0.3 ms) because it takes that CPU
 * from the target: at a real-time target's priority + 1 (it preempts the target instead of waiting
 * behind a busy-polling thread forever), as an ordinary thread beside an ordinary target. That is
 * at most ~1.5% of the target's CPU; "placement" in the record says where batches ran. */
#define BG_MAX_BATCHES 512
#define BG_MIN_SLEEP_NS 20000000ull
#define BG_BATCH_NS 300000.0
#define BG_MAX_THREADS 256

static struct {
	pthread_t th;
	bool started;
	volatile bool stop;
	bool rt;
	bool want[CAL_NCLASS];
	int calls[CAL_NCLASS];     /* per batch: <= BG_BATCH_NS of calls */
	pthread_mutex_t mu;
	struct cal_batch b[CAL_NCLASS][BG_MAX_BATCHES];
	int n[CAL_NCLASS];
	int on_target[CAL_NCLASS]; /* of those, how many ran on the target's CPU */
	unsigned from[CAL_NCLASS]; /* the interval the batches in b[c] began in */
	struct { int tid; unsigned long long ns; } seen[BG_MAX_THREADS];
	int nseen;
} bg = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* The CPU the target thread that ran most since the last call is on (field 39 of its stat; its
 * time on CPU from schedstat), or -1. */
static int target_cpu(int pid)
{
	char path[96], buf[1024];
	static struct { int tid; unsigned long long ns; } now[BG_MAX_THREADS];
	unsigned long long best_d = 0;
	int best_cpu = -1, n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) && n < BG_MAX_THREADS) {
		int tid = atoi(e->d_name), cpu = -1, k;
		unsigned long long ns = 0, prev = 0;
		FILE *f;
		char *p;

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
		if (!(f = fopen(path, "re")))
			continue;
		k = fscanf(f, "%llu", &ns);
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
		if (k != 1 || !(f = fopen(path, "re")))
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* after the comm: state is field 3, processor field 39 */
		for (k = 3; p && k <= 39; k++)
			p = strchr(p + 1, ' ');
		if (!p || sscanf(p, " %d", &cpu) != 1)
			continue;
		for (int i = 0; i < bg.nseen; i++)
			if (bg.seen[i].tid == tid)
				prev = bg.seen[i].ns;
		if (ns - prev >= best_d) {
			best_d = ns - prev;
			best_cpu = cpu;
		}
		now[n].tid = tid;
		now[n++].ns = ns;
	}
	memcpy(bg.seen, now, n * sizeof(now[0]));
	bg.nseen = n;
	closedir(d);
	return best_cpu;
}

static void *bg_main(void *arg)
{
	struct tracer *t = arg;
	struct sched_param old_sp, sp;
	int old_pol, pol = SCHED_OTHER;
	cpu_set_t all, one;
	char err[256];

	bool may_pin;

	/* this thread only: it keeps the target's class (one above its priority) all recording */
	bg.rt = cal_match_target_sched(t, &old_pol, &old_sp, true);
	may_pin = !bg.rt;
	if (bg.rt && sched_getparam(0, &sp) == 0 && sp.sched_priority < sched_get_priority_max(pol = sched_getscheduler(0))) {
		sp.sched_priority++;
		/* at the target's own priority a batch on its CPU would wait behind a busy-polling thread
		 * for ever: pin only when above it */
		may_pin = sched_setscheduler(0, pol, &sp) == 0;
	}
	if (!may_pin || sched_getaffinity(0, sizeof(all), &all))
		CPU_ZERO(&all);
	while (!bg.stop) {
		unsigned long long t0 = now_ns(), busy, until;
		int cpu = t->o->kernel_mode ? -1 : target_cpu(t->o->pid);
		bool pinned = false;

		if (cpu >= 0 && CPU_ISSET(cpu, &all)) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pinned = sched_setaffinity(0, sizeof(one), &one) == 0;
		}
		for (int c = 0; c < CAL_NCLASS && !bg.stop; c++) {
			struct cal_batch x;

			if (!bg.want[c] || cal_one_batch(t, c, cal_held_probe(c), bg.calls[c], &x, err, sizeof(err)))
				continue;
			if (getenv("PKTPATH_DEBUG_CAL"))
				fprintf(stderr, "bg batch cpu %d target cpu %d pinned %d inner_mean %.0f\n", sched_getcpu(), cpu, pinned, x.inner_mean);
			pthread_mutex_lock(&bg.mu);
			if (bg.n[c] < BG_MAX_BATCHES) {
				bg.b[c][bg.n[c]++] = x;
				bg.on_target[c] += pinned;
			}
			pthread_mutex_unlock(&bg.mu);
		}
		busy = now_ns() - t0;
		if (pinned)
			sched_setaffinity(0, sizeof(all), &all); /* sleep anywhere */
		until = now_ns() + (50 * busy > BG_MIN_SLEEP_NS ? 50 * busy : BG_MIN_SLEEP_NS);
		while (!bg.stop && now_ns() < until)
			usleep(5000);
	}
	return NULL;
}

/* after the first calibration: the classes in use, all but the tracepoint class (its calibration
 * makes syscalls, which a tracepoint stage counting every process would take for the target's) */
void cal_bg_start(struct tracer *t, const struct cal_result *res)
{
	bool any = false;

	if (t->o->recalibrate_s <= 0 || t->o->max_overhead_pct > 0 || bg.started)
		return;
	for (int i = 0; i < t->nst; i++) {
		enum cal_class c = t->st[i].ok && t->st[i].calibrated ? cal_class_of(&t->st[i]) : CAL_NCLASS;

		if (c != CAL_NCLASS && c != CAL_TP && cal_held_probe(c)) {
			/* a traced and an untraced call per pair; at least 20 pairs for a median */
			double per = res[c].outer + 500;
			int n = (int)(BG_BATCH_NS / per);

			bg.calls[c] = n < 20 ? 20 : n > RECAL_CALLS ? RECAL_CALLS : n;
			any = bg.want[c] = true;
		}
	}
	bg.stop = false;
	bg.started = any && pthread_create(&bg.th, NULL, bg_main, t) == 0;
	if (any && !bg.started)
		stream_warningf(t->out, "calibration: no background thread (%s): the probe cost is measured at start only",
			     strerror(errno));
}

void cal_bg_stop(void)
{
	struct timespec until;

	if (!bg.started)
		return;
	bg.stop = true;
	/* a batch waiting for a CPU that a higher real-time task never gives up must not keep the
	 * tracer (and its probes) alive: after 2 s the thread is left to the process's exit */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_timedjoin_np(bg.th, NULL, &until))
		pthread_detach(bg.th);
	bg.started = false;
}

/* Emits, for each class with at least 3 background batches since the last call, their summary with
 * "seq" (the interval it precedes); the session weighs these by the calls of the intervals around
 * them. A class with fewer keeps collecting. */
void recalibrate_stages(struct tracer *t, unsigned seq)
{
	static struct cal_batch b[BG_MAX_BATCHES];
	struct cal_result res[CAL_NCLASS] = {};
	int during[CAL_NCLASS], on_target[CAL_NCLASS] = {};

	if (!bg.started)
		return;
	for (int c = 0; c < CAL_NCLASS; c++) {
		int n;

		pthread_mutex_lock(&bg.mu);
		n = bg.n[c] >= 3 ? bg.n[c] : 0;
		memcpy(b, bg.b[c], n * sizeof(b[0]));
		/* exactly the interval that just ended, or several (then readers bracket as before) */
		during[c] = bg.from[c] + 1 == seq ? (int)bg.from[c] : -1;
		on_target[c] = bg.on_target[c];
		if (n) {
			bg.n[c] = 0;
			bg.on_target[c] = 0;
			bg.from[c] = seq;
		}
		pthread_mutex_unlock(&bg.mu);
		if (!n)
			continue;
		cal_summarize(b, n, 3, true, &res[c]);
		res[c].runs = n * bg.calls[c];
		res[c].placement = on_target[c] == n ? "target-cpu" : on_target[c] ? "mixed" : "other-cpu";
		res[c].method = cal_methods[c];
	}
	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];
		enum cal_class c;

		if (!s->ok || !s->calibrated)
			continue;
		c = cal_class_of(s);
		if (c == CAL_NCLASS || !res[c].ok)
			continue;
		s->outer_ns = res[c].outer;
		cal_emit(t, s, c, &res[c], bg.rt, (int)seq, during[c]);
	}
}
