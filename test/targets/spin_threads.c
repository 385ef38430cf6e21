/* spin_threads.c — a target whose busy threads start late: the main thread waits DELAY seconds,
 * then starts two threads that spin in worker_hot until the end. A sampler attached before they
 * exist must still sample them. Usage: spin_threads [SECONDS] [DELAY]; prints "ready PID". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double end_time;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void worker_hot(volatile unsigned long long *x)
{
	for (int i = 0; i < 1000000; i++)
		*x = *x * 6364136223846793005ull + i;
}

static void *worker(void *arg)
{
	volatile unsigned long long x = (unsigned long long)(size_t)arg;
	while (now() < end_time)
		worker_hot(&x);
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 30, delay = argc > 2 ? atof(argv[2]) : 1.5;
	pthread_t t[2];

	end_time = now() + secs;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	usleep((useconds_t)(delay * 1e6));
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, (void *)(size_t)(i + 1));
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return 0;
}
