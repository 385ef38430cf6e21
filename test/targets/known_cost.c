/* known_cost.c — a test target whose stages cost a known time per call.
 *
 * Each stage function does a fixed amount of work: a dependent chain of multiply-adds, inline (no
 * calls, so a stack sample inside a stage has the stage as its leaf frame), its length set at start
 * from the measured cost of one step. Fixed work, not a deadline, because that is what real code
 * does: an interrupt inside a stage (a sampling tick) lengthens the stage it hits. A deadline spin
 * would absorb it in long stages only, and a periodic sampler would then phase-lock onto the short
 * ones. Two kinds of first instruction:
 *   kc_push_*  built with frame pointers and -fno-shrink-wrap: the first instruction is `push %rbp`,
 *              which the kernel emulates when a uprobe hits it (cheap probe);
 *   kc_ss_*    built without a frame pointer: the first instruction is a `mov` the kernel must
 *              single-step (expensive probe);
 *   kc_nop_1us a 5-byte nop first (emulated, like push), then a jump to its body.
 * `make -C test/targets check` verifies the first instructions with objdump.
 *
 * Modes (all output is JSON lines on stdout):
 *   known_cost truth [--batches B] [--only a,b] [--rt PRIO]
 *       times B short batches (~0.5 ms) of back-to-back calls of each stage with clock_gettime,
 *       untraced (run it with no probe attached): true_ns, the median batch's cost per call.
 *   known_cost run [--seconds S] [--only a,b] [--udp-port P] [--sleep-us U] [--report-ms M]
 *                  [--duty PCT] [--period-ms P] [--rt PRIO] [--jitter-ns N]
 *       the steady loop to trace: each iteration calls every selected stage once, then (with
 *       --udp-port) sends one UDP datagram to 127.0.0.1:P, so interface counters count iterations.
 *       Prints {"ready":...} at start, with --report-ms M a {"rate":...} line every M ms (throughput
 *       over time, so one process can be compared untraced and traced), and a summary at the end.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t tsc_per_us_x1024; /* TSC ticks per microsecond, fixed point (x1024) */

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Timing a call: a plain rdtsc does not wait for the work before it, and the CPU runs it up to a
 * reorder buffer ahead of a dependent chain (~100 ns here), by an amount that depends on what came
 * before (a syscall drains the pipeline, a work loop does not). The probes' breakpoints serialize
 * the CPU at the stage's entry and return, so the latency they see is the serialized one: measure
 * the truth that way too (lfence is dispatch-serializing on AMD Zen and on Intel). */
static inline uint64_t tsc_begin(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t tsc_end(void)
{
	uint32_t lo, hi, aux;
	__asm__ __volatile__("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Work steps per stage; set once at start from the measured cost of a step. Globals so the
 * single-stepped stages start by loading one (a rip-relative mov). */
volatile uint64_t kc_iters_0ns, kc_iters_200ns, kc_iters_1us, kc_iters_5us, kc_iters_20us;
volatile uint64_t kc_sink;
static double ns_per_step;

/* n dependent multiply-adds (an LCG step): the compiler can neither vectorize nor skip them. */
#define WORK(n)                                                                                    \
	do {                                                                                       \
		uint64_t n_ = (n), x_ = n_;                                                        \
		for (uint64_t i_ = 0; i_ < n_; i_++) {                                             \
			x_ = x_ * 6364136223846793005ull + 1442695040888963407ull;                 \
			__asm__ __volatile__("" : "+r"(x_));                                       \
		}                                                                                  \
		kc_sink = x_;                                                                      \
	} while (0)


uint64_t kc_empty(uint64_t x);

/* Push-first stages: the Makefile builds this file with -fno-omit-frame-pointer -fno-shrink-wrap,
 * but GCC still drops the frame of a leaf function; the call of kc_empty makes it a non-leaf. */
#define PUSH_STAGE(name, iters)                                                                    \
	__attribute__((noinline, used)) uint64_t name(uint64_t x)                                  \
	{                                                                                          \
		WORK(iters);                                                                       \
		return kc_empty(x) + 1;                                                            \
	}
/* Single-stepped stages: leaf functions without a frame pointer, so the first instruction is the
 * load of the step count (a rip-relative mov). */
#define SS_STAGE(name, iters)                                                                      \
	__attribute__((noinline, used, optimize("omit-frame-pointer"))) uint64_t name(uint64_t x)  \
	{                                                                                          \
		WORK(iters);                                                                       \
		return x + 1;                                                                      \
	}

PUSH_STAGE(kc_push_0ns, kc_iters_0ns) /* no work: what a real site's probes cost, alone */
PUSH_STAGE(kc_push_200ns, kc_iters_200ns)
PUSH_STAGE(kc_push_1us, kc_iters_1us)
PUSH_STAGE(kc_push_5us, kc_iters_5us)
PUSH_STAGE(kc_push_20us, kc_iters_20us)
SS_STAGE(kc_ss_1us, kc_iters_1us)
SS_STAGE(kc_ss_5us, kc_iters_5us)
SS_STAGE(kc_ss_20us, kc_iters_20us)

/* A nop-first stage: a 5-byte nop (what -mfentry -mnop-mcount or patchable entries put first),
 * then a tail jump to a push-first body. The kernel emulates the nop, like push. The body's symbol
 * is `kc_nop_1us.body`, a part of the same function by the naming GCC uses for split parts
 * (`f.cold`, `f.part.0`), so stack samples in it count for kc_nop_1us. */
__attribute__((noinline, used)) uint64_t kc_nop_1us_body(uint64_t x) __asm__("kc_nop_1us.body");
PUSH_STAGE(kc_nop_1us_body, kc_iters_1us)
__asm__(".text\n"
	".globl kc_nop_1us\n.type kc_nop_1us,@function\n"
	"kc_nop_1us:\n\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\tjmp kc_nop_1us.body\n"
	".size kc_nop_1us,.-kc_nop_1us\n");
uint64_t kc_nop_1us(uint64_t x);

/* An empty call, to state what the call itself costs in the truth loop. */
__attribute__((noinline, used)) uint64_t kc_empty(uint64_t x)
{
	__asm__ __volatile__("" ::: "memory");
	return x + 1;
}

struct stage {
	const char *name;
	uint64_t (*fn)(uint64_t);
	unsigned nominal_ns;
};

static const struct stage stages[] = {
	{"kc_push_0ns", kc_push_0ns, 2},       {"kc_push_200ns", kc_push_200ns, 200},
	{"kc_push_1us", kc_push_1us, 1000},
	{"kc_push_5us", kc_push_5us, 5000},    {"kc_push_20us", kc_push_20us, 20000},
	{"kc_ss_1us", kc_ss_1us, 1000},        {"kc_ss_5us", kc_ss_5us, 5000},
	{"kc_ss_20us", kc_ss_20us, 20000},      {"kc_nop_1us", kc_nop_1us, 1000},
};
#define NSTAGES (sizeof(stages) / sizeof(stages[0]))

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Measures the TSC rate against CLOCK_MONOTONIC over ~50 ms (the loop times each call in ticks). */
static void calibrate_tsc(void)
{
	uint64_t t0 = now_ns(), c0 = rdtsc();
	while (now_ns() - t0 < 50000000ull)
		;
	uint64_t t1 = now_ns(), c1 = rdtsc();
	tsc_per_us_x1024 = (c1 - c0) * 1000ull * 1024ull / (t1 - t0);
}

/* The cost of one work step: the fastest of several 1 ms-ish runs (a run that was interrupted or
 * preempted is only slower). The truth mode measures what the stages really cost anyway. */
static void calibrate_work(void)
{
	const uint64_t n = 500000;
	uint64_t best = UINT64_MAX;
	for (int r = 0; r < 15; r++) {
		uint64_t t0 = now_ns();
		WORK(n);
		uint64_t d = now_ns() - t0;
		if (d < best)
			best = d;
	}
	ns_per_step = (double)best / (double)n;
	kc_iters_200ns = (uint64_t)(200 / ns_per_step);
	kc_iters_1us = (uint64_t)(1000 / ns_per_step);
	kc_iters_5us = (uint64_t)(5000 / ns_per_step);
	kc_iters_20us = (uint64_t)(20000 / ns_per_step);
}

/* Median cost of a back-to-back tsc_begin/tsc_end (ticks): what timing a call adds to it. */
static uint64_t tsc_pair_cost(void)
{
	uint64_t best[64];
	for (int i = 0; i < 64; i++) {
		uint64_t a = tsc_begin();
		best[i] = tsc_end() - a;
	}
	for (int i = 1; i < 64; i++)
		for (int j = i; j > 0 && best[j - 1] > best[j]; j--) {
			uint64_t x = best[j];
			best[j] = best[j - 1];
			best[j - 1] = x;
		}
	return best[32];
}

static int selected(const char *only, const char *name)
{
	if (!only)
		return 1;
	size_t n = strlen(name);
	for (const char *p = only; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Short batches (~0.5 ms) with a pause between them: a batch is rarely cut by a preemption, and the
 * median batch is the cost of the code, not of the machine's other tenants. */
static void truth(unsigned batches, const char *only)
{
	double *per = calloc(batches, sizeof(double));
	if (!per) {
		perror("calloc");
		exit(1);
	}
	uint64_t sink = 0;
	for (size_t s = 0; s <= NSTAGES; s++) {
		const char *name = s < NSTAGES ? stages[s].name : "kc_empty";
		uint64_t (*fn)(uint64_t) = s < NSTAGES ? stages[s].fn : kc_empty;
		if (s < NSTAGES && !selected(only, name))
			continue;
		unsigned nominal = s < NSTAGES ? stages[s].nominal_ns : 2;
		unsigned long n = 500000ul / nominal;
		if (n < 20)
			n = 20;
		double sum = 0;
		for (unsigned b = 0; b < batches; b++) {
			uint64_t t0 = now_ns();
			for (unsigned long i = 0; i < n; i++)
				sink = fn(sink);
			uint64_t t1 = now_ns();
			per[b] = (double)(t1 - t0) / (double)n;
			sum += per[b];
			usleep(200);
		}
		qsort(per, batches, sizeof(double), cmp_double);
		printf("{\"truth\":\"%s\",\"nominal_ns\":%u,\"true_ns\":%.1f,\"mean_ns\":%.1f,"
		       "\"p10_ns\":%.1f,\"p90_ns\":%.1f,\"min_ns\":%.1f,\"max_ns\":%.1f,\"calls\":%lu,"
		       "\"batches\":%u}\n",
		       name, s < NSTAGES ? nominal : 0, per[batches / 2], sum / batches, per[batches / 10],
		       per[batches * 9 / 10], per[0], per[batches - 1], n, batches);
		fflush(stdout);
	}
	free(per);
	if (sink == 42)
		puts("");
}

static void run(double seconds, const char *only, int udp_port, unsigned sleep_us, unsigned report_ms,
		unsigned duty, unsigned period_ms, unsigned jitter_ns)
{
	int fd = -1, rx = -1;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (udp_port > 0) {
		/* A bound receiver that is never read: datagrams pass the interface (and its counters)
		 * and are dropped at the full socket, without ICMP replies adding packets. */
		rx = socket(AF_INET, SOCK_DGRAM, 0);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		to.sin_port = htons((uint16_t)udp_port);
		int small = 4096;
		if (rx < 0 || fd < 0 || setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) < 0 ||
		    bind(rx, (struct sockaddr *)&to, sizeof to) < 0) {
			fprintf(stderr, "known_cost: udp port %d: %s\n", udp_port, strerror(errno));
			exit(1);
		}
	}
	uint64_t (*fns[NSTAGES])(uint64_t);
	const char *names[NSTAGES];
	size_t nf = 0;
	for (size_t s = 0; s < NSTAGES; s++)
		if (selected(only, stages[s].name)) {
			names[nf] = stages[s].name;
			fns[nf++] = stages[s].fn;
		}
	/* Each call is also timed in the loop with the TSC: untraced, that is the stage's true cost in
	 * this very context (caches, the syscall before it); traced, it is that plus everything the
	 * probes cost the caller. The cost of the timing itself (two rdtsc) is measured and removed. */
	uint64_t cyc[NSTAGES] = {0}, ncalls = 0, pair = tsc_pair_cost();
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid(), jitter_steps = (uint64_t)(jitter_ns / ns_per_step);
	if (nf == 0) {
		fprintf(stderr, "known_cost: --only selects no stage\n");
		exit(2);
	}
	printf("{\"ready\":true,\"pid\":%d,\"stages\":%zu}\n", getpid(), nf);
	fflush(stdout);
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), iters = 0, sent = 0, sink = 0;
	char payload[32] = "known_cost";
	uint64_t next_report = report_ms ? t0 + report_ms * 1000000ull : UINT64_MAX, last_t = t0, last_iters = 0;
	/* --duty: busy for duty% of each --period-ms period (2 ms by default), asleep for the rest (gentle
	 * on shared machines). The first probe hits after each sleep run the kernel's probe path cold and
	 * cost more than the calibration's warm ones: longer periods make that a smaller share. */
	const uint64_t period = period_ms * 1000000ull, busy = period * duty / 100;
	uint64_t period_start = t0;
	while (!stop) {
		for (size_t i = 0; i < nf; i++) {
			uint64_t c0 = tsc_begin();
			sink = fns[i](sink);
			cyc[i] += tsc_end() - c0;
			if (jitter_steps) {
				/* A random gap after each stage (xorshift64), outside every stage: a strictly
				 * periodic loop would alias with a periodic sampler. */
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				WORK(rng % jitter_steps);
			}
		}
		ncalls++;
		if (fd >= 0 && sendto(fd, payload, sizeof payload, 0, (struct sockaddr *)&to, sizeof to) ==
				       (ssize_t)sizeof payload)
			sent++;
		iters++;
		if (sleep_us)
			usleep(sleep_us);
		if (duty < 100 || (iters & 15) == 0) {
			uint64_t t = now_ns();
			if (t >= next_report) {
				struct timespec rt;
				clock_gettime(CLOCK_REALTIME, &rt);
				printf("{\"rate\":%.1f,\"iterations\":%llu,\"t_ms\":%.3f,\"in_loop_ns\":{",
				       (double)(iters - last_iters) * 1e9 / (double)(t - last_t),
				       (unsigned long long)iters, (double)rt.tv_sec * 1e3 + (double)rt.tv_nsec / 1e6);
				for (size_t i = 0; i < nf; i++) {
					double c = ncalls ? (double)cyc[i] / (double)ncalls - (double)pair : 0;
					printf("%s\"%s\":%.1f", i ? "," : "", names[i], c * 1024000.0 / (double)tsc_per_us_x1024);
					cyc[i] = 0;
				}
				ncalls = 0;
				printf("}}\n");
				fflush(stdout);
				last_t = t;
				last_iters = iters;
				next_report = t + report_ms * 1000000ull;
			}
			if (seconds > 0 && t >= end)
				break;
			if (duty < 100 && t - period_start >= busy) {
				uint64_t left = period_start + period > t ? period_start + period - t : 0;
				if (left)
					usleep((useconds_t)(left / 1000));
				period_start = now_ns();
			}
		}
	}
	uint64_t t1 = now_ns();
	double el = (double)(t1 - t0) / 1e9;
	printf("{\"done\":true,\"iterations\":%llu,\"sent\":%llu,\"seconds\":%.3f,\"per_second\":%.1f}\n",
	       (unsigned long long)iters, (unsigned long long)sent, el, (double)iters / el);
	fflush(stdout);
	if (fd >= 0)
		close(fd);
	if (rx >= 0)
		close(rx);
	if (sink == 42)
		puts("");
}

static void usage(void)
{
	fprintf(stderr, "usage: known_cost truth [--batches B] [--only a,b] [--rt PRIO]\n"
			"       known_cost run [--seconds S] [--only a,b] [--udp-port P] [--sleep-us U] [--report-ms M]\n"
			"                      [--duty PCT] [--period-ms P] [--rt PRIO] [--jitter-ns N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	unsigned batches = 101, sleep_us = 0, report_ms = 0, duty = 100, period_ms = 2, jitter_ns = 0;
	int rt = 0;
	double seconds = 0;
	int udp_port = 0;
	const char *only = NULL;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		if (!strcmp(a, "--rt"))
			rt = atoi(v);
		else if (!strcmp(a, "--jitter-ns"))
			jitter_ns = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--duty"))
			duty = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--period-ms"))
			period_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--batches"))
			batches = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--seconds"))
			seconds = strtod(v, NULL);
		else if (!strcmp(a, "--only"))
			only = v;
		else if (!strcmp(a, "--udp-port"))
			udp_port = atoi(v);
		else if (!strcmp(a, "--report-ms"))
			report_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--sleep-us"))
			sleep_us = (unsigned)strtoul(v, NULL, 10);
		else
			usage();
		i++;
	}
	if (batches == 0 || udp_port < 0 || udp_port > 65535 || duty < 1 || duty > 100 || period_ms < 1 || period_ms > 1000 || rt < 0 || rt > 99)
		usage();
	if (rt > 0) {
		/* Real-time FIFO: the machine's other tasks cannot preempt a stage mid-call, so what is
		 * measured is the code (and the probes), not the neighbours. Use with --duty < 100. */
		struct sched_param sp = {.sched_priority = rt};
		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
			fprintf(stderr, "known_cost: SCHED_FIFO %d: %s\n", rt, strerror(errno));
			exit(1);
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	calibrate_tsc();
	calibrate_work();
	if (!strcmp(argv[1], "truth"))
		truth(batches, only);
	else if (!strcmp(argv[1], "run"))
		run(seconds, only, udp_port, sleep_us, report_ms, duty, period_ms, jitter_ns);
	else
		usage();
	return 0;
}
