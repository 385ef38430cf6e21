/* parent_watchdog.c — the parent's death must end us even while blocked where no signal is taken
 * (an open() of a FIFO, a write to a pipe nobody reads, the setup before the main loop unblocks
 * SIGTERM): checked here every 50 ms; the main loop, when it runs, stops first and says bye
 * (within 200 ms). */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "parent_watchdog.h"

static pid_t watched_ppid;

static void *parent_watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		usleep(50000);
		if (getppid() != watched_ppid) {
			usleep(200000);
			_exit(1); /* links are file descriptors: the kernel removes every probe */
		}
	}
	return NULL;
}

int parent_watchdog_start(pid_t *ppid)
{
	pthread_t wd;
	pthread_attr_t wa;
	sigset_t all, prev;

	*ppid = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != *ppid) /* the parent died before prctl took effect */
		return -1;
	watched_ppid = *ppid;
	/* the watchdog takes no signals: they stay the main thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &prev);
	pthread_attr_init(&wa);
	pthread_attr_setdetachstate(&wa, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&wa, 64 << 10);
	pthread_create(&wd, &wa, parent_watchdog, NULL);
	pthread_attr_destroy(&wa);
	pthread_sigmask(SIG_SETMASK, &prev, NULL);
	return 0;
}
