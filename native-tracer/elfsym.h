/* elfsym.h — where a function lives in an ELF file, and the bytes found there. */
#ifndef PKTPATH_ELFSYM_H
#define PKTPATH_ELFSYM_H
#include <stdbool.h>
#include <stddef.h>

/* A function symbol of an ELF file. */
struct elf_func {
	char name[256];
	unsigned long long start; /* ELF virtual address (st_value) */
	unsigned long long size;  /* st_size; 0: unknown */
};

#define ELF_MAX_COPIES 16
/* What a function name stands for in the file: itself and GCC's local copies (NAME.isra.N,
 * .constprop.N, .part.N, .cold), with every same-named local symbol, one per address. */
struct elf_copies {
	int n;                           /* copies found (more than ELF_MAX_COPIES: the first ones) */
	struct elf_func f[ELF_MAX_COPIES];
	bool entry[ELF_MAX_COPIES];      /* false for .cold parts: split-off code, not a function entry */
	char bound[300];                 /* the function the site is in: the copy bound, or NAME+0xOFF */
};

/* symbol != NULL: look it up (.symtab, then .dynsym) with its copies: bound when exactly one copy
 * is an entry, refused (the list in err) when several are; else vaddr as given, and the function
 * symbol holding it gives the size (to its end) and name. On success fills *vaddr, the file offset
 * uprobes attach at, the size (0: unknown), up to 16 bytes of code there and *c. */
int elf_locate(const char *path, const char *symbol, unsigned long long *vaddr,
	       unsigned long long *file_off, unsigned long long *size, unsigned char code[16], size_t *ncode,
	       struct elf_copies *c, char *err, size_t errlen);

/* The function symbol (.symtab, else .dynsym) that covers vaddr: start <= vaddr < start + size, or
 * a sizeless symbol starting exactly at vaddr. Of several, the one starting closest below vaddr; of
 * aliases, a global one. 0: found; 1: no function symbol covers vaddr; -1: error, in err. */
int elf_containing_function(const char *path, unsigned long long vaddr, struct elf_func *f, char *err,
			    size_t errlen);

/* Opens path for reading without blocking (a FIFO or device would hang open() or read()) and only
 * if it is a regular file. An fd, or -1 with a one-line message in err. */
int open_regular(const char *path, char *err, size_t errlen);

/* The ELF file at path for reading (open_regular), *fd open until the caller closes it after
 * elf_end; NULL with err set (not a regular file, not ELF). */
struct Elf;
struct Elf *elf_open(const char *path, int *fd, char *err, size_t errlen);
#endif
