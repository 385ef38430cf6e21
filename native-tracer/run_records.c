/* run_records.c — the hello, error and bye records of a run, filled from its state (the JSON is
 * stream.c's). */
#include <stdarg.h>
#include <stdio.h>
#include "run_records.h"
#include "stream.h"
#include "tracer.h"

#define TRACER_VERSION "0.1.0"

void emit_hello(struct tracer *t)
{
	struct hello_rec h = { .tracer = TRACER_VERSION, .pid = t->o->pid, .kernel_mode = t->o->kernel_mode,
			       .interval_ms = t->o->interval_ms, .host = &t->feat,
			       .unwind = t->o->pid && t->o->sample_hz ? (t->o->unwind_fp ? "fp" : "dwarf") : NULL };

	stream_hello(t->out, &h);
	fflush(t->out);
}

void emit_error(FILE *out, bool fatal, const struct features *f, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	stream_error(out, buf, f ? f->missing : NULL, f ? f->nmissing : 0, fatal);
	fflush(out);
	if (fatal)
		fprintf(stderr, "pktpath-tracer: %s\n", buf);
}

void emit_bye(FILE *out, const char *reason, const char *message)
{
	stream_bye(out, reason, message, now_ns());
	fflush(out);
}
