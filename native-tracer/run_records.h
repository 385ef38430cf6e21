/* run_records.h — the run's own records: hello, error, bye (run_records.c). Each is flushed at
 * once: the reader acts on them while the tracer starts or stops. */
#ifndef PKTPATH_RUN_RECORDS_H
#define PKTPATH_RUN_RECORDS_H
#include <stdbool.h>
#include <stdio.h>

struct features;
struct tracer;

/* who we are, the options that shape the stream and what the host allows (t->feat) */
void emit_hello(struct tracer *t);
/* f: the host's missing features go with the message (NULL: none); a fatal one goes to stderr too */
void emit_error(FILE *out, bool fatal, const struct features *f, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void emit_bye(FILE *out, const char *reason, const char *message);
#endif
