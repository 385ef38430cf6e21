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
#endif
