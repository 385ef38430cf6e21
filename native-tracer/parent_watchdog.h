/* parent_watchdog.h — the tracer ends when the process that started it dies (parent_watchdog.c). */
#ifndef PKTPATH_PARENT_WATCHDOG_H
#define PKTPATH_PARENT_WATCHDOG_H
#include <sys/types.h>

/* Asks for SIGTERM at the parent's death and starts a thread that exits the process (status 1)
 * 200 ms after it, wherever the main thread is blocked. The parent's pid goes to *ppid; -1: it had
 * died already. */
int parent_watchdog_start(pid_t *ppid);
#endif
