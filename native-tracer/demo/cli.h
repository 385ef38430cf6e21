/* cli.h — what the generator and the sink share: strict number options and the stop flag. */
#ifndef PKTPATH_DEMO_CLI_H
#define PKTPATH_DEMO_CLI_H
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

static volatile sig_atomic_t quit;
static void on_signal(int sig) { (void)sig; quit = 1; }

/* A whole number in [min, max]; no sign, no trailing text (strtoul alone accepts "-1" and "5x"). */
static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (!*s || s[0] == '-' || errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
#endif
