/* dwarf_mode.c — `pktpath-tracer --dwarf FILE`: answers questions about one ELF file's symbols and
 * DWARF (dwarf_query.h) for the editor and the CLI, which run it on the machine where the debug
 * files are. One request per line on stdin, one JSON object per line on stdout, in order:
 *   info                    {"build_id":"..."|null,"debuglink":"x.debug"|null,"dwarf":true,"symtab":true,"code":true}
 *   addr 0xELF_ADDR         {"addr":"0x..","sym":"f"|null,"sym_lo":"0x..","sym_hi":"0x..","fde_lo":"0x..","fde_hi":"0x..",
 *                            "frames":[{"fn":"inlined","file":"a.h","line":12},...,{"fn":"f",...}],"truncated":false}
 *   inline NAME             {"inline":"NAME","inlined":3,"out_of_line":1,"ranges":[["0x..","0x.."],...]}
 *   lines FIRST LAST FILE   {"lines":"FILE","first":10,"last":20,"files":["/src/a.c"],"ranges":[...]}
 * A request it cannot answer gets {"error":"..."}; a file it cannot open, one error line and exit 1. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "dwarf_mode.h"
#include "elfsym.h"
#include "dwarf_query.h"
#include "json.h"
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_ranges(FILE *out, const struct dq_ranges *r)
{
	fputs(",\"ranges\":[", out);
	for (size_t i = 0; i < r->n; i++)
		fprintf(out, "%s[\"0x%llx\",\"0x%llx\"]", i ? "," : "", r->r[i].lo, r->r[i].hi);
	fputs("]}\n", out);
}

static void write_error(FILE *out, const char *msg)
{
	fputs("{\"error\":", out);
	json_write_strz(out, msg);
	fputs("}\n", out);
}

static void answer_addr(struct dq *q, const char *arg, FILE *out)
{
	struct dq_addr a;
	char *end;
	unsigned long long addr = strtoull(arg, &end, 16);

	if (strncmp(arg, "0x", 2) || end == arg + 2 || *end) {
		write_error(out, "addr wants a hex address (0x...)");
		return;
	}
	dq_addr(q, addr, &a);
	fprintf(out, "{\"addr\":\"0x%llx\",\"sym\":", addr);
	json_write_strz(out, a.sym);
	fprintf(out, ",\"sym_lo\":\"0x%llx\",\"sym_hi\":\"0x%llx\",\"fde_lo\":\"0x%llx\",\"fde_hi\":\"0x%llx\",\"frames\":[",
		a.sym_lo, a.sym_hi, a.fde_lo, a.fde_hi);
	for (int i = 0; i < a.nframes; i++) {
		fputs(i ? ",{\"fn\":" : "{\"fn\":", out);
		json_write_strz(out, a.frames[i].fn);
		fputs(",\"file\":", out);
		json_write_strz(out, a.frames[i].file);
		fprintf(out, ",\"line\":%d}", a.frames[i].line);
	}
	fprintf(out, "],\"truncated\":%s}\n", a.truncated ? "true" : "false");
}

static void answer_inline(struct dq *q, const char *name, FILE *out)
{
	struct dq_ranges r;
	if (!*name) {
		write_error(out, "inline wants a function name");
		return;
	}
	if (dq_inline_ranges(q, name, &r)) {
		write_error(out, "no DWARF in this file (build with -g, or give its debug file)");
		dq_ranges_free(&r);
		return;
	}
	fputs("{\"inline\":", out);
	json_write_strz(out, name);
	fprintf(out, ",\"inlined\":%u,\"out_of_line\":%u", r.inlined, r.out_of_line);
	write_ranges(out, &r);
	dq_ranges_free(&r);
}

static void answer_lines(struct dq *q, const char *arg, FILE *out)
{
	struct dq_ranges r;
	int first, last, used = 0;

	if (sscanf(arg, "%d %d %n", &first, &last, &used) < 2 || !used || !arg[used] || first < 1 || last < first) {
		write_error(out, "lines wants FIRST LAST FILE (1 <= FIRST <= LAST)");
		return;
	}
	if (dq_line_ranges(q, arg + used, first, last, &r)) {
		write_error(out, "no DWARF line table in this file (build with -g, or give its debug file)");
		dq_ranges_free(&r);
		return;
	}
	fputs("{\"lines\":", out);
	json_write_strz(out, arg + used);
	fprintf(out, ",\"first\":%d,\"last\":%d,\"files\":[", first, last);
	for (size_t i = 0; i < r.nfiles; i++) {
		if (i)
			fputc(',', out);
		json_write_strz(out, r.files[i]);
	}
	fputc(']', out);
	write_ranges(out, &r);
	dq_ranges_free(&r);
}

static void answer_info(struct dq *q, FILE *out)
{
	struct dq_info i;
	dq_info(q, &i);
	fputs("{\"build_id\":", out);
	json_write_strz(out, i.build_id);
	fputs(",\"debuglink\":", out);
	json_write_strz(out, i.debuglink);
	fprintf(out, ",\"dwarf\":%s,\"symtab\":%s,\"code\":%s}\n", i.dwarf ? "true" : "false",
		i.symtab ? "true" : "false", i.code ? "true" : "false");
}

int dwarf_mode_main(const char *path, FILE *in, FILE *out)
{
	char err[512], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int fd = open_regular(path, err, sizeof(err)); /* a FIFO would block libdwfl's open() */
	struct dq *q = fd < 0 ? NULL : dq_open(path, err, sizeof(err));

	if (fd >= 0)
		close(fd);
	if (!q) {
		write_error(out, err);
		return 1;
	}
	while ((len = getline(&line, &cap, in)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (!strcmp(line, "info"))
			answer_info(q, out);
		else if (!strncmp(line, "addr ", 5))
			answer_addr(q, line + 5, out);
		else if (!strncmp(line, "inline ", 7))
			answer_inline(q, line + 7, out);
		else if (!strncmp(line, "lines ", 6))
			answer_lines(q, line + 6, out);
		else
			write_error(out, "unknown request (info, addr, inline, lines)");
	}
	free(line);
	dq_close(q);
	fflush(out);
	return 0;
}
