/* stream.c — see stream.h. */
#include "stream.h"
#include "json.h"
#include <stdarg.h>

void stream_frame(FILE *out, const struct frame_rec *f)
{
	fprintf(out, "{\"type\":\"frame\",\"id\":%d,\"fn\":", f->id);
	json_write_strz(out, f->fn);
	fprintf(out, ",\"off\":%llu,\"module\":", f->off);
	json_write_strz(out, f->module);
	fputs(",\"build_id\":", out);
	json_write_strz(out, f->build_id);
	fprintf(out, ",\"addr\":\"0x%llx\",\"elf_addr\":", f->addr);
	if (f->has_elf_addr)
		fprintf(out, "\"0x%llx\"", f->elf_addr);
	else
		fputs("null", out);
	fprintf(out, ",\"kernel\":%s}\n", f->kernel ? "true" : "false");
}

void stream_stack(FILE *out, unsigned seq, unsigned long long count, unsigned tid, const int *ids, int n,
		  int scanned)
{
	fprintf(out, "{\"type\":\"stack\",\"seq\":%u,\"count\":%llu,\"tid\":%u,\"frames\":[", seq, count, tid);
	for (int j = 0; j < n; j++)
		fprintf(out, j ? ",%d" : "%d", ids[j]);
	if (scanned)
		fprintf(out, "],\"scanned\":%d}\n", scanned);
	else
		fputs("]}\n", out);
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
