/* elfsym.h — where a function lives in an ELF file, and the bytes found there. */
#ifndef PKTPATH_ELFSYM_H
#define PKTPATH_ELFSYM_H
#include <stddef.h>

/* symbol != NULL: look it up (.symtab, then .dynsym); else use vaddr as given. On success fills
 * *vaddr, the file offset uprobes attach at, the symbol's size (0 when given by address or unknown)
 * and up to 16 bytes of code there. */
int elf_locate(const char *path, const char *symbol, unsigned long long *vaddr,
	       unsigned long long *file_off, unsigned long long *size, unsigned char code[16], size_t *ncode,
	       char *err, size_t errlen);

/* A function symbol of an ELF file. */
struct elf_func {
	char name[256];
	unsigned long long start; /* ELF virtual address (st_value) */
	unsigned long long size;  /* st_size; 0: unknown */
};

/* The function symbol (.symtab, else .dynsym) that covers vaddr: start <= vaddr < start + size, or
 * a sizeless symbol starting exactly at vaddr. Of several, the one starting closest below vaddr; of
 * aliases, a global one. 0: found; 1: no function symbol covers vaddr; -1: error, in err. */
int elf_containing_function(const char *path, unsigned long long vaddr, struct elf_func *f, char *err,
			    size_t errlen);

/* Opens path for reading without blocking (a FIFO or device would hang open() or read()) and only
 * if it is a regular file. An fd, or -1 with a one-line message in err. */
int open_regular(const char *path, char *err, size_t errlen);
#endif
