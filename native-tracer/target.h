/* target.h — the process --pid names (target.c). */
#ifndef PKTPATH_TARGET_H
#define PKTPATH_TARGET_H

struct stops;

/* Refuses pid before anything attaches unless it is a live user process (a probe on it would
 * never fire), and watches it: L->pid, L->pidfd, L->comm. 0, or the exit code after an error and
 * a bye record on stdout. */
int target_open(struct stops *L, int pid);
#endif
