/* stops.c — the main loop's waits: a ppoll on stdin and the target's pidfd that takes the stop
 * signals, re-checking the parent at least 5 times a second. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "clock.h"
#include "run_records.h"
#include "stops.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

void stops_take_signals(sigset_t *orig)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, orig);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

bool stdin_watchable(void)
{
	struct stat st;

	/* a pipe or socket means a controlling program: its end of stdin means stop. A TTY, /dev/null
	 * or a file says nothing about our lifetime, so it is not watched. */
	return fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* whether the target (watched through /proc) is gone: no such process, or a zombie */
static bool target_gone(int pid)
{
	char path[64], st = 0;
	FILE *f;
	bool gone;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	gone = fscanf(f, "%*d (%*[^)]) %c", &st) != 1 || st == 'Z' || st == 'X';
	fclose(f);
	return gone;
}

bool wait_until(struct stops *L, unsigned long long until, const sigset_t *mask)
{
	for (;;) {
		struct pollfd fds[2];
		int n = 0, rc;
		unsigned long long now = now_ns(), dl = until;
		struct timespec ts;

		if (got_signal) {
			L->reason = getppid() != L->ppid ? "parent" : "signal";
			return false;
		}
		if (getppid() != L->ppid) {
			L->reason = "parent";
			return false;
		}
		if (L->pidfd < 0 && L->pid && target_gone(L->pid)) {
			L->reason = "target_exit";
			return false;
		}
		if (L->end_ns && now >= L->end_ns) {
			L->reason = "duration";
			return false;
		}
		if (now >= until)
			return true;
		if (L->end_ns && L->end_ns < dl)
			dl = L->end_ns;
		if (dl - now > 200000000ULL) /* re-check the parent at least 5 times a second */
			dl = now + 200000000ULL;
		ts.tv_sec = (dl - now) / 1000000000ULL;
		ts.tv_nsec = (dl - now) % 1000000000ULL;
		if (L->watch_stdin)
			fds[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		if (L->pidfd >= 0)
			fds[n++] = (struct pollfd){ .fd = L->pidfd, .events = POLLIN };
		rc = ppoll(fds, n, &ts, mask);
		if (rc <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!fds[i].revents)
				continue;
			if (fds[i].fd == L->pidfd) {
				L->reason = "target_exit";
				return false;
			}
			char buf[4096];
			ssize_t r = read(0, buf, sizeof(buf)); /* input is ignored; only its end matters */
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
				L->reason = "stdin";
				return false;
			}
		}
	}
}

void stops_bye(FILE *out, const struct stops *L)
{
	if (L->reason && !strcmp(L->reason, "target_exit")) {
		char why[512];

		snprintf(why, sizeof(why), "process %d (%s) exited during the recording", L->pid, L->comm);
		emit_bye(out, L->reason, why);
	} else {
		emit_bye(out, L->reason ? L->reason : "signal", NULL);
	}
}
