/* stream.c — see stream.h. Each record is one line; members in the order docs/stream.md shows. */
#include "stream.h"
#include "hostcaps.h"
#include "json.h"
#include <stdarg.h>

static const char *B(bool v)
{
	return v ? "true" : "false";
}

/* `,"key":` (given with its comma and colon, as it appears in the record) and a string or null */
static void str_member(FILE *out, const char *key, const char *v)
{
	fputs(key, out);
	json_write_strz(out, v);
}

/* the same, written only when v is not NULL */
static void opt_str_member(FILE *out, const char *key, const char *v)
{
	if (v)
		str_member(out, key, v);
}

static void str_array(FILE *out, char *const *v, int n)
{
	fputc('[', out);
	for (int i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		json_write_strz(out, v[i]);
	}
	fputc(']', out);
}

void stream_hello(FILE *out, const struct hello_rec *h)
{
	const struct features *f = h->host;

	fprintf(out, "{\"type\":\"hello\",\"version\":%d,\"tracer\":", PKTPATH_STREAM_VERSION);
	json_write_strz(out, h->tracer);
	str_member(out, ",\"kernel\":", f->kernel);
	fputs(",\"arch\":\"x86_64\",\"pid\":", out);
	if (h->pid)
		fprintf(out, "%d", h->pid);
	else
		fputs("null", out);
	fprintf(out, ",\"kernel_mode\":%s,\"clock\":\"monotonic\",\"interval_ms\":%d,"
		"\"hist\":{\"sub_bits\":%d,\"buckets\":%d,\"max_pow\":%d},",
		B(h->kernel_mode), h->interval_ms, PKTPATH_HIST_SUB_BITS, PKTPATH_HIST_BUCKETS, PKTPATH_HIST_MAX_POW);
	fprintf(out, "\"features\":{\"btf\":%s,\"uprobes\":%s,\"usdt\":%s,\"tracepoints\":%s,\"kprobes\":%s,"
		"\"fentry\":%s,\"perf_cpu_clock\":%s,\"bpf_allowed\":%s},\"perf_event_paranoid\":%d,\"lockdown\":",
		B(f->btf), B(f->uprobes), B(f->usdt), B(f->tracepoints), B(f->kprobes), B(f->fentry),
		B(f->perf_cpu_clock), B(f->bpf_allowed), f->paranoid);
	json_write_strz(out, f->lockdown[0] ? f->lockdown : NULL);
	fputs(",\"missing\":", out);
	str_array(out, f->missing, f->nmissing);
	opt_str_member(out, ",\"unwind\":", h->unwind);
	fputs("}\n", out);
}

void stream_stage(FILE *out, const struct stage_rec *s)
{
	fprintf(out, "{\"type\":\"stage\",\"id\":%d,\"name\":", s->id);
	json_write_strz(out, s->name);
	str_member(out, ",\"kind\":", s->kind);
	str_member(out, ",\"spec\":", s->spec);
	str_member(out, ",\"packets\":", s->packets);
	fprintf(out, ",\"ok\":%s,\"error\":", B(s->ok));
	json_write_strz(out, s->error);
	str_member(out, ",\"binary\":", s->binary);
	str_member(out, ",\"symbol\":", s->symbol);
	if (s->located)
		fprintf(out, ",\"offset\":%llu,\"address\":\"0x%llx\"", s->offset, s->address);
	else
		fputs(",\"offset\":null", out);
	str_member(out, ",\"first_insn\":", s->first_insn);
	str_member(out, ",\"first_bytes\":", s->first_bytes);
	fprintf(out, ",\"single_step\":%s,\"key\":", B(s->single_step));
	json_write_strz(out, s->key);
	if (s->relocated) {
		fprintf(out, ",\"entry_offset\":%u,\"entry_insn\":", s->entry_offset);
		json_write_strz(out, s->entry_insn);
		fprintf(out, ",\"untimed_insns\":%u,\"untimed_prefix\":", s->untimed_insns);
		json_write_strz(out, s->untimed_prefix);
	} else if (s->located) {
		fputs(",\"entry_offset\":0", out);
	}
	str_member(out, ",\"warning\":", s->warning);
	opt_str_member(out, ",\"function\":", s->function);
	if (s->copies && s->copies->n) {
		int n = s->copies->n < ELF_MAX_COPIES ? s->copies->n : ELF_MAX_COPIES;

		fputs(",\"copies\":[", out);
		for (int i = 0; i < n; i++) {
			fputs(i ? ",[" : "[", out);
			json_write_strz(out, s->copies->f[i].name);
			fprintf(out, ",\"0x%llx\",%llu]", s->copies->f[i].start, s->copies->f[i].size);
		}
		fputs("]", out);
	}
	fputs("}\n", out);
}

void stream_ready(FILE *out, unsigned long long t_ns)
{
	fprintf(out, "{\"type\":\"ready\",\"t_ns\":%llu}\n", t_ns);
}

void stream_hist(FILE *out, unsigned seq, int stage, const struct pktpath_stage_totals *d,
		 const unsigned long long *delta, const struct nest_delta *in, int nin)
{
	bool first = true;

	fprintf(out, "{\"type\":\"hist\",\"seq\":%u,\"stage\":%d,\"calls\":%llu,\"packets\":%llu,\"sum_ns\":%llu,"
		"\"unmatched\":%llu,\"timed\":%llu,\"buckets\":[", seq, stage, d->calls, d->packets, d->sum_ns,
		d->unmatched, d->timed);
	for (int b = 0; delta && b < PKTPATH_HIST_BUCKETS; b++) {
		if (!delta[b])
			continue;
		fprintf(out, "%s[%d,%llu]", first ? "" : ",", b, delta[b]);
		first = false;
	}
	fprintf(out, "],\"busy_calls\":%llu,\"busy_ns\":%llu", d->busy_calls, d->busy_ns);
	if (nin > 0) {
		fputs(",\"inside\":[", out);
		for (int i = 0; i < nin; i++)
			fprintf(out, "%s[%d,%llu,%llu]", i ? "," : "", in[i].parent, in[i].calls, in[i].sum_ns);
		fputs("]", out);
	}
	fputs("}\n", out);
}

void stream_frame(FILE *out, const struct frame_rec *f)
{
	fprintf(out, "{\"type\":\"frame\",\"id\":%d,\"fn\":", f->id);
	json_write_strz(out, f->fn);
	fprintf(out, ",\"off\":%llu,\"module\":", f->off);
	json_write_strz(out, f->module);
	str_member(out, ",\"build_id\":", f->build_id);
	fprintf(out, ",\"addr\":\"0x%llx\",\"elf_addr\":", f->addr);
	if (f->has_elf_addr)
		fprintf(out, "\"0x%llx\"", f->elf_addr);
	else
		fputs("null", out);
	fprintf(out, ",\"kernel\":%s", B(f->kernel));
	if (f->named_by)
		fprintf(out, ",\"named_by\":\"%s\"", f->named_by);
	fputs("}\n", out);
}

void stream_stack(FILE *out, unsigned seq, unsigned long long count, unsigned tid, const int *ids, int n,
		  int scanned, const char *found)
{
	fprintf(out, "{\"type\":\"stack\",\"seq\":%u,\"count\":%llu,\"tid\":%u,\"frames\":[", seq, count, tid);
	for (int j = 0; j < n; j++)
		fprintf(out, j ? ",%d" : "%d", ids[j]);
	fputc(']', out);
	if (scanned)
		fprintf(out, ",\"scanned\":%d", scanned);
	if (found) {
		fputs(",\"found\":", out);
		json_write_strz(out, found);
	}
	fputs("}\n", out);
}

void stream_tick(FILE *out, const struct tick_rec *t)
{
	fprintf(out, "{\"type\":\"tick\",\"seq\":%u,\"t_ns\":%llu,\"dt_ns\":%llu,\"samples\":%llu,\"lost\":%llu",
		t->seq, t->t_ns, t->dt_ns, t->samples, t->lost);
	if (t->has_coverage)
		fprintf(out, ",\"coverage\":%.4f", t->coverage);
	if (t->has_overhead)
		fprintf(out, ",\"overhead_pct\":%.3f", t->overhead_pct);
	else if (t->has_coverage)
		fputs(",\"overhead_pct\":null", out);
	if (t->has_live)
		fprintf(out, ",\"live\":%.4f", t->live);
	if (t->has_clocks)
		fprintf(out, ",\"cpu_ns\":%llu,\"sched_ns\":%llu,\"slices\":%llu", t->cpu_ns, t->sched_ns, t->slices);
	if (t->has_timer_late)
		fprintf(out, ",\"timer_late_ns\":%llu", t->timer_late_ns);
	if (t->has_sample_run)
		fprintf(out, ",\"sample_run_ns\":%llu", t->sample_run_ns);
	fputs("}\n", out);
}

void stream_calibration(FILE *out, const struct calibration_rec *c)
{
	fprintf(out, "{\"type\":\"calibration\",\"stage\":%d", c->stage);
	str_member(out, ",\"class\":", c->cls);
	str_member(out, ",\"method\":", c->method);
	fprintf(out, ",\"runs\":%u,\"inner_ns\":%.1f,\"inner_spread_ns\":%.1f,\"outer_ns\":%.1f,"
		"\"outer_spread_ns\":%.1f,\"sched\":", c->runs, c->inner_ns, c->inner_spread_ns, c->outer_ns,
		c->outer_spread_ns);
	json_write_strz(out, c->sched);
	if (c->seq >= 0)
		fprintf(out, ",\"seq\":%d", c->seq);
	if (c->during >= 0)
		fprintf(out, ",\"during\":%d", c->during);
	opt_str_member(out, ",\"placement\":", c->placement);
	if (c->has_inner_mean)
		fprintf(out, ",\"inner_mean_ns\":%.1f,\"inner_mean_spread_ns\":%.1f}\n", c->inner_mean_ns,
			c->inner_mean_spread_ns);
	else
		fputs(",\"inner_mean_ns\":null,\"inner_mean_spread_ns\":null}\n", out);
}

void stream_drop(FILE *out, const char *what, unsigned long long n)
{
	if (!n)
		return;
	fputs("{\"type\":\"drop\",\"what\":", out);
	json_write_strz(out, what);
	fprintf(out, ",\"count\":%llu}\n", n);
}

void stream_warning(FILE *out, const char *message)
{
	fputs("{\"type\":\"warning\",\"message\":", out);
	json_write_strz(out, message);
	fputs("}\n", out);
}

void stream_warningf(FILE *out, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	stream_warning(out, buf);
}

void stream_error(FILE *out, const char *message, char *const *missing, int nmissing, bool fatal)
{
	fputs("{\"type\":\"error\",\"message\":", out);
	json_write_strz(out, message);
	fputs(",\"missing\":", out);
	str_array(out, missing, nmissing);
	fprintf(out, ",\"fatal\":%s}\n", B(fatal));
}

void stream_bye(FILE *out, const char *reason, const char *message, unsigned long long t_ns)
{
	fputs("{\"type\":\"bye\",\"reason\":", out);
	json_write_strz(out, reason);
	opt_str_member(out, ",\"message\":", message);
	fprintf(out, ",\"t_ns\":%llu,\"detached\":true}\n", t_ns);
}
