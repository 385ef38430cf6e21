/* dwarf_query.c — symbols, inline chains and line ranges of one ELF file through libdwfl/libdw
 * (see dwarf_query.h). The inline chain is formed as elfutils' eu-addr2line -i forms it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "dwarf_query.h"
#include "fde_ranges.h"
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dq {
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf *dw;
	Dwarf_Addr bias;  /* DWARF address + bias = module address */
	Dwarf_Addr ebias; /* ELF address + ebias = module address (0 unless libdwfl moved the file) */
	char *build_id;
	struct fde_span *fdes;
	size_t nfdes;
};

/* The file is what it is: never look for another one (the caller already chose this file). */
static int no_debuginfo(Dwfl_Module *m, void **u, const char *n, Dwarf_Addr b, const char *f,
			const char *l, GElf_Word c, char **dn)
{
	(void)m, (void)u, (void)n, (void)b, (void)f, (void)l, (void)c, (void)dn;
	return -1;
}

static const Dwfl_Callbacks offline = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = no_debuginfo,
	.section_address = dwfl_offline_section_address,
};

struct dq *dq_open(const char *path, char *err, size_t errlen)
{
	struct dq *q = calloc(1, sizeof(*q));
	const unsigned char *id;
	GElf_Addr idva;
	int n;

	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->dwfl = dwfl_begin(&offline);
	if (!q->dwfl) {
		snprintf(err, errlen, "%s", dwfl_errmsg(-1));
		free(q);
		return NULL;
	}
	q->mod = dwfl_report_offline(q->dwfl, "", path, -1);
	dwfl_report_end(q->dwfl, NULL, NULL);
	if (!q->mod) {
		snprintf(err, errlen, "%s: %s", path, dwfl_errmsg(-1));
		dq_close(q);
		return NULL;
	}
	if (!dwfl_module_getelf(q->mod, &q->ebias)) {
		snprintf(err, errlen, "%s: %s", path, dwfl_errmsg(-1));
		dq_close(q);
		return NULL;
	}
	q->dw = dwfl_module_getdwarf(q->mod, &q->bias);
	{
		GElf_Addr b;
		Elf *elf = dwfl_module_getelf(q->mod, &b);
		if (elf)
			q->nfdes = fde_ranges_read(elf, &q->fdes);
	}
	n = dwfl_module_build_id(q->mod, &id, &idva);
	if (n > 0 && (q->build_id = malloc(2 * (size_t)n + 1)))
		for (int i = 0; i < n; i++)
			sprintf(q->build_id + 2 * i, "%02x", id[i]);
	return q;
}

void dq_close(struct dq *q)
{
	if (!q)
		return;
	dwfl_end(q->dwfl);
	free(q->fdes);
	free(q->build_id);
	free(q);
}

void dq_info(struct dq *q, struct dq_info *out)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(q->mod, &bias);
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	memset(out, 0, sizeof(*out));
	out->build_id = q->build_id;
	out->dwarf = q->dw != NULL;
	if (!elf)
		return;
	out->debuglink = dwelf_elf_gnu_debuglink(elf, &out->debuglink_crc);
	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			out->symtab = true;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".text") && sh.sh_type == SHT_PROGBITS)
			out->code = true;
	}
}

static const char *die_name(Dwarf_Die *d)
{
	Dwarf_Attribute a;
	/* the linkage name where there is one (C++), else DW_AT_name, through abstract_origin */
	const char *n = dwarf_formstring(dwarf_attr_integrate(d, DW_AT_linkage_name, &a));
	return n ? n : dwarf_diename(d);
}

bool dq_addr(struct dq *q, unsigned long long elf_addr, struct dq_addr *out)
{
	Dwarf_Addr addr = elf_addr + q->ebias;
	GElf_Off off;
	GElf_Sym sym;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cudie, *scopes = NULL, sub;
	Dwfl_Line *line;
	Dwarf_Files *files = NULL;
	int n;

	memset(out, 0, sizeof(*out));
	out->sym = dwfl_module_addrinfo(q->mod, addr, &off, &sym, NULL, NULL, NULL);
	if (out->sym) {
		out->sym_lo = elf_addr - off;
		out->sym_hi = out->sym_lo + sym.st_size;
	}
	{
		const struct fde_span *r = fde_ranges_find(q->fdes, q->nfdes, elf_addr);
		if (r) {
			out->fde_lo = r->start;
			out->fde_hi = r->start + r->size;
		}
	}
	cudie = dwfl_module_addrdie(q->mod, addr, &bias);
	if (!cudie)
		return out->sym != NULL;
	line = dwfl_module_getsrc(q->mod, addr);
	if (line) {
		out->frames[0].file = dwfl_lineinfo(line, NULL, &out->frames[0].line, NULL, NULL, NULL);
	}
	n = dwarf_getscopes(cudie, addr - bias, &scopes);
	if (n <= 0) {
		free(scopes);
		return out->sym != NULL || line != NULL;
	}
	/* the scopes above an inlined instance are its abstract definition's: walk the concrete
	 * tree from the innermost scope instead (as eu-addr2line -i does) */
	if (!dwarf_offdie(dwarf_cu_getdwarf(cudie->cu), dwarf_dieoffset(&scopes[0]), &sub)) {
		free(scopes);
		return out->sym != NULL;
	}
	free(scopes);
	scopes = NULL;
	n = dwarf_getscopes_die(&sub, &scopes);
	dwarf_getsrcfiles(cudie, &files, NULL);
	for (int i = 0; i < n; i++) {
		int tag = dwarf_tag(&scopes[i]);
		struct dq_frame *f;
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		if (out->nframes == DQ_MAX_INLINE) {
			out->truncated = true;
			break;
		}
		f = &out->frames[out->nframes++];
		f->fn = die_name(&scopes[i]);
		if (tag == DW_TAG_subprogram)
			break;
		/* the next function out continues at this one's call site */
		if (out->nframes < DQ_MAX_INLINE) {
			struct dq_frame *caller = &out->frames[out->nframes];
			Dwarf_Attribute a;
			Dwarf_Word v;
			caller->file = NULL;
			caller->line = 0;
			if (files && !dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a), &v))
				caller->file = dwarf_filesrc(files, v, NULL, NULL);
			if (!dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a), &v))
				caller->line = (int)v;
		}
	}
	free(scopes);
	return true;
}

static int add_range(struct dq_ranges *r, unsigned long long lo, unsigned long long hi)
{
	if (hi <= lo)
		return 0;
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		struct dq_range *nr = realloc(r->r, nc * sizeof(*nr));
		if (!nr)
			return -1;
		r->r = nr;
		r->cap = nc;
	}
	r->r[r->n++] = (struct dq_range){ lo, hi };
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct dq_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* sorts, and merges ranges that overlap or touch */
static void merge_ranges(struct dq_ranges *r)
{
	size_t w = 0;
	qsort(r->r, r->n, sizeof(*r->r), range_cmp);
	for (size_t i = 0; i < r->n; i++) {
		if (w && r->r[i].lo <= r->r[w - 1].hi) {
			if (r->r[i].hi > r->r[w - 1].hi)
				r->r[w - 1].hi = r->r[i].hi;
		} else {
			r->r[w++] = r->r[i];
		}
	}
	r->n = w;
}

static int die_ranges(struct dq *q, Dwarf_Die *d, struct dq_ranges *out, bool *any)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t o = 0;
	*any = false;
	while ((o = dwarf_ranges(d, o, &base, &lo, &hi)) > 0) {
		if (add_range(out, lo + q->bias - q->ebias, hi + q->bias - q->ebias))
			return -1;
		*any = true;
	}
	return 0;
}

static int walk_inline(struct dq *q, Dwarf_Die *parent, const char *name, struct dq_ranges *out)
{
	Dwarf_Die c;
	if (dwarf_child(parent, &c))
		return 0;
	do {
		int tag = dwarf_tag(&c);
		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
			const char *n = dwarf_diename(&c);
			if (n && !strcmp(n, name)) {
				bool any;
				if (die_ranges(q, &c, out, &any))
					return -1;
				if (any && tag == DW_TAG_inlined_subroutine)
					out->inlined++;
				else if (any)
					out->out_of_line++;
				continue; /* its own body is inside the ranges already */
			}
		}
		if (dwarf_haschildren(&c) && walk_inline(q, &c, name, out))
			return -1;
	} while (dwarf_siblingof(&c, &c) == 0);
	return 0;
}

/* out (emptied first): what collect adds for each compile unit, merged. 0, or -1 (no DWARF, or
 * collect failed). */
typedef int unit_collect(struct dq *q, Dwarf_Die *cu, const void *arg, struct dq_ranges *out);
static int ranges_of_units(struct dq *q, unit_collect *collect, const void *arg, struct dq_ranges *out)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;

	memset(out, 0, sizeof(*out));
	if (!q->dw)
		return -1;
	while (dwarf_get_units(q->dw, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0)
		if (collect(q, &cudie, arg, out))
			return -1;
	merge_ranges(out);
	return 0;
}

static int unit_inlines(struct dq *q, Dwarf_Die *cu, const void *name, struct dq_ranges *out)
{
	return walk_inline(q, cu, name, out);
}

int dq_inline_ranges(struct dq *q, const char *name, struct dq_ranges *out)
{
	return ranges_of_units(q, unit_inlines, name, out);
}

/* whether a DWARF file path is `want` or ends with "/" + want */
static bool file_matches(const char *path, const char *want)
{
	size_t lp = strlen(path), lw = strlen(want);
	if (lp < lw || strcmp(path + lp - lw, want))
		return false;
	return lp == lw || path[lp - lw - 1] == '/' || want[0] == '/';
}

static int note_file(struct dq_ranges *out, const char *f)
{
	const char **nf;
	for (size_t i = 0; i < out->nfiles; i++)
		if (!strcmp(out->files[i], f))
			return 0;
	nf = realloc(out->files, (out->nfiles + 1) * sizeof(*nf));
	if (!nf)
		return -1;
	out->files = nf;
	out->files[out->nfiles++] = f;
	return 0;
}

struct line_span {
	const char *file;
	int first, last;
};

static int unit_lines(struct dq *q, Dwarf_Die *cu, const void *arg, struct dq_ranges *out)
{
	const struct line_span *w = arg;
	Dwarf_Lines *lines;
	size_t nl;

	if (dwarf_getsrclines(cu, &lines, &nl))
		return 0;
	for (size_t i = 0; i + 1 < nl; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i), *next = dwarf_onesrcline(lines, i + 1);
		Dwarf_Addr a, b;
		const char *src;
		bool end = false;
		int ln;
		if (!l || !next || dwarf_lineendsequence(l, &end) || end || dwarf_lineno(l, &ln) ||
		    ln < w->first || ln > w->last || !(src = dwarf_linesrc(l, NULL, NULL)) ||
		    !file_matches(src, w->file) || dwarf_lineaddr(l, &a) || dwarf_lineaddr(next, &b))
			continue;
		if (add_range(out, a + q->bias - q->ebias, b + q->bias - q->ebias) || note_file(out, src))
			return -1;
	}
	return 0;
}

int dq_line_ranges(struct dq *q, const char *file, int first, int last, struct dq_ranges *out)
{
	const struct line_span w = { file, first, last };

	return ranges_of_units(q, unit_lines, &w, out);
}

void dq_ranges_free(struct dq_ranges *r)
{
	free(r->r);
	free(r->files);
	memset(r, 0, sizeof(*r));
}
