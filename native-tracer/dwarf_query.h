/* dwarf_query.h — what one ELF file's symbols and DWARF say about its code, through elfutils
 * (libdwfl/libdw): the function and inline chain at an address, where a function was inlined,
 * which code came from some source lines. The file is taken as it is: no separate debug file is
 * searched for here (the caller chooses the file: src/symbols/). Strings stay valid until dq_close. */
#ifndef PKTPATH_DWARF_QUERY_H
#define PKTPATH_DWARF_QUERY_H
#include <stdbool.h>
#include <stddef.h>

struct dq;

struct dq_info {
	const char *build_id;  /* lower-case hex, or NULL */
	const char *debuglink; /* .gnu_debuglink file name, or NULL */
	unsigned debuglink_crc;
	bool dwarf;            /* has .debug_info */
	bool symtab;           /* has .symtab */
	bool code;             /* .text has bytes (false for a file made by objcopy --only-keep-debug) */
};

#define DQ_MAX_INLINE 16

/* One function at an address, innermost first: the inlined ones, then the one compiled out of
 * line. file/line: where the address is (innermost) or where the next inner one was inlined. */
struct dq_frame {
	const char *fn;   /* NULL when DWARF has no name for it */
	const char *file; /* NULL when unknown */
	int line;         /* 0 when unknown */
};

struct dq_addr {
	const char *sym;             /* the symbol covering the address (.symtab, else .dynsym), or NULL */
	unsigned long long sym_lo, sym_hi; /* its range [lo, hi); hi == lo when unsized */
	unsigned long long fde_lo, fde_hi; /* the .eh_frame FDE covering it (its function's code); 0, 0: none */
	int nframes;                 /* 0 without DWARF for the address */
	struct dq_frame frames[DQ_MAX_INLINE];
	bool truncated;              /* more inline levels than DQ_MAX_INLINE */
};

struct dq_range {
	unsigned long long lo, hi;
};

/* Ranges found for a query, merged and sorted; `files` lists the distinct DWARF file names a
 * lines query matched. */
struct dq_ranges {
	struct dq_range *r;
	size_t n, cap;
	unsigned inlined, out_of_line; /* inline query: instances of each kind */
	const char **files;
	size_t nfiles;
};

struct dq *dq_open(const char *path, char *err, size_t errlen);
void dq_close(struct dq *q);
void dq_info(struct dq *q, struct dq_info *out);
/* false when no symbol and no DWARF covers the address */
bool dq_addr(struct dq *q, unsigned long long addr, struct dq_addr *out);
/* Code inlined from function `name` (DW_TAG_inlined_subroutine) and its out-of-line copies
 * (DW_TAG_subprogram with code, GCC's .isra/.constprop/.part clones included). */
int dq_inline_ranges(struct dq *q, const char *name, struct dq_ranges *out);
/* Code the line table attributes to lines first..last of a source file whose DWARF path is
 * `file` or ends with "/" + file. */
int dq_line_ranges(struct dq *q, const char *file, int first, int last, struct dq_ranges *out);
void dq_ranges_free(struct dq_ranges *r);

#endif
