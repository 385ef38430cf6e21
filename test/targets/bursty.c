/* bursty.c — a thread that runs in bursts and sleeps, like an interrupt-driven or poll-with-sleep
 * forwarder, for the sampler's accuracy on such threads. One worker thread spins for
 * BURST_US of wall time, then sleeps SLEEP_US (nanosleep), over and over; the main thread only
 * reports. Usage: bursty SECONDS BURST_US SLEEP_US; prints "ready PID TID" (TID: the worker), then
 * every 20 ms "cpu MONO_NS IN_BURST_NS": the worker's CPU time (its own CLOCK_THREAD_CPUTIME_ID)
 * spent inside burst() so far, against CLOCK_MONOTONIC (what the tracer's ticks carry). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double secs;
static long burst_ns, sleep_ns;
static volatile int worker_tid;
static volatile long long in_burst_ns, in_burst_at;
volatile unsigned long long sink;

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Mostly arithmetic between clock reads: a sample that lands in the vDSO's clock_gettime (no
 * frame pointer) may lose this frame to the walk. */
__attribute__((noinline)) void burst(long ns)
{
	long long end = mono_ns() + ns;
	unsigned long long x = sink;
	while (mono_ns() < end)
		for (int i = 0; i < 1024; i++)
			x = x * 6364136223846793005ull + i;
	sink = x;
}

static void *worker(void *arg)
{
	struct timespec nap = {sleep_ns / 1000000000L, sleep_ns % 1000000000L};
	long long end = mono_ns() + (long long)(secs * 1e9);
	(void)arg;
	worker_tid = (int)syscall(SYS_gettid);
	while (mono_ns() < end) {
		long long c0 = thread_cpu_ns();
		burst(burst_ns);
		in_burst_ns += thread_cpu_ns() - c0;
		in_burst_at = mono_ns();
		if (sleep_ns)
			nanosleep(&nap, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	if (argc < 4) {
		fprintf(stderr, "usage: bursty SECONDS BURST_US SLEEP_US\n");
		return 2;
	}
	secs = atof(argv[1]);
	burst_ns = atol(argv[2]) * 1000L;
	sleep_ns = atol(argv[3]) * 1000L;
	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	while (!worker_tid)
		usleep(1000);
	printf("ready %d %d\n", (int)getpid(), worker_tid);
	fflush(stdout);
	for (long long end = mono_ns() + (long long)(secs * 1e9); mono_ns() < end;) {
		struct timespec nap = {0, 20000000};
		nanosleep(&nap, NULL);
		/* as of the worker's last burst: at most one burst and sleep old */
		printf("cpu %lld %lld\n", in_burst_at, in_burst_ns);
		fflush(stdout);
	}
	pthread_join(t, NULL);
	return 0;
}
