/* stops.h — what ends a recording and how the main loop waits for it (stops.c): a signal, the
 * parent's death, the target's exit, the end of stdin, --duration. */
#ifndef PKTPATH_STOPS_H
#define PKTPATH_STOPS_H
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct stops {
	int pidfd;       /* the target's; -1: none, or pidfd_open was refused */
	int pid;         /* the target, watched through /proc where pidfd_open is refused */
	char comm[64];   /* the target's name, for the messages about it */
	bool watch_stdin;
	pid_t ppid;
	unsigned long long end_ns; /* --duration deadline, 0: none */
	const char *reason;        /* why it stopped: the bye's reason; NULL: not stopped */
};

/* Blocks SIGINT, SIGTERM and SIGHUP outside waits and installs their handler; *orig: the mask
 * to wait with (they are taken only then). */
void stops_take_signals(sigset_t *orig);
/* whether stdin is a pipe or socket: then a controlling program holds it, and its end means stop */
bool stdin_watchable(void);
/* Waits until `until` (monotonic ns) or a stop condition; returns false when stopping, with
 * L->reason set. */
bool wait_until(struct stops *L, unsigned long long until, const sigset_t *mask);
/* the bye record for L->reason (a target's exit names the target) */
void stops_bye(FILE *out, const struct stops *L);
#endif
