/* sym_module.h — one ELF file's function symbols (.symtab, .dynsym, PLT stubs) and FDE ranges,
 * looked up by ELF address. Private to the tracer: symbolize.c (per process) and ksyms.c use it;
 * the public part is declared in symbolize.h. */
#ifndef PKTPATH_SYM_MODULE_H
#define PKTPATH_SYM_MODULE_H
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include "fde_ranges.h"
#include "symbolize.h"

struct sym {
	unsigned long long addr, size;
	const char *name; /* points into the module's string pool */
	int rank;         /* tie-break between aliases: sized, global first */
	unsigned char table; /* SYM_SYMTAB or SYM_DYNSYM */
};

struct load_seg {
	unsigned long long offset, vaddr, filesz;
};

struct sym_module {
	char *key;           /* dev:inode or path: identifies the file across mappings */
	char *build_id;      /* hex or NULL */
	struct sym *syms;
	size_t nsyms;
	char *pool;          /* all names, NUL-separated */
	struct load_seg *segs;
	size_t nsegs;
	bool loaded;         /* false: the file could not be read (symbols unknown) */
	/* functions no symbol covers are named by their FDE's start (fde_ranges.h) */
	struct fde_span *fdes;
	size_t nfdes;
	char **fde_names;    /* "BASENAME+0xSTART", made on first use */
};

/* the module of an open ELF file; NULL with a reason in err */
struct sym_module *sym_module_from_elf(Elf *elf, char *err, unsigned errlen);
/* the symbol covering ELF address a, or NULL */
const struct sym *sym_module_find(const struct sym_module *m, unsigned long long a);
/* the FDE range covering a, named "BASENAME+0xSTART" after the mapped path; NULL when none */
const char *sym_module_fde_name(struct sym_module *m, const char *path, unsigned long long a,
				unsigned long long *off);
/* lower-case hex of n bytes (malloc'ed) */
char *sym_hex(const unsigned char *p, size_t n);
/* how many of n records (stride size, an unsigned long long address first) start at or below a,
 * the records sorted by address */
size_t sym_count_at_or_below(const void *base, size_t n, size_t size, unsigned long long a);
#endif
