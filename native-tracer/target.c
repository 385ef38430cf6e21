/* target.c — the --pid target: refused when it is no process to trace, else watched through a
 * pidfd (or /proc where pidfd_open is refused) so that its exit ends the recording. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "run_records.h"
#include "stops.h"
#include "target.h"

/* Why --pid PID is no process to trace (NULL: a live user process): it does not exist, is a kernel
 * thread (its probes would never fire; /proc/PID/stat's flags have PF_KTHREAD) or a zombie. Its
 * name goes to comm. */
static const char *target_refusal(int pid, char *comm, size_t commlen, char *why, size_t len)
{
	char path[64], buf[1024], *open_p, *close_p, state;
	unsigned long flags = 0;
	FILE *f;
	size_t n;

	snprintf(comm, commlen, "?");
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f) {
		snprintf(why, len, "process %d does not exist", pid);
		return why;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p ||
	    sscanf(close_p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2) {
		snprintf(why, len, "process %d: cannot read %s", pid, path);
		return why;
	}
	snprintf(comm, commlen, "%.*s", (int)(close_p - open_p - 1), open_p + 1);
	if (flags & 0x00200000UL /* PF_KTHREAD */) {
		snprintf(why, len, "process %d (%s) is a kernel thread, not a user process: nothing of it can be "
			 "probed by uprobes or sampled as a program (kernel functions: --kernel)", pid, comm);
		return why;
	}
	if (state == 'Z' || state == 'X') {
		snprintf(why, len, "process %d (%s) has exited (%s): there is nothing left to trace", pid, comm,
			 state == 'Z' ? "a zombie its parent has not reaped" : "dead");
		return why;
	}
	return NULL;
}

int target_open(struct stops *L, int pid)
{
	char why[512];

	if (target_refusal(pid, L->comm, sizeof(L->comm), why, sizeof(why))) {
		emit_error(stdout, true, NULL, "%s", why);
		emit_bye(stdout, "target_invalid", why);
		return 3;
	}
	L->pid = pid;
	L->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (L->pidfd < 0 && errno == ESRCH) {
		snprintf(why, sizeof(why), "process %d (%s) exited before the recording started", pid, L->comm);
		emit_error(stdout, true, NULL, "%s", why);
		emit_bye(stdout, "target_invalid", why);
		return 3;
	}
	return 0;
}
