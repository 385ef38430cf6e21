/* plt_syms.h — names for PLT stubs ("puts@plt"), as binutils and perf give them: the stubs have no
 * symbol, but their order is the order of the .rela.plt jump-slot relocations (x86-64). A sample
 * that catches a call in its stub then names the function being called. */
#ifndef PKTPATH_PLT_SYMS_H
#define PKTPATH_PLT_SYMS_H
#include <libelf.h>
#include <stddef.h>

struct plt_sym {
	unsigned long long addr, size;
	char *name; /* "NAME@plt", malloc'd */
};

/* The PLT stubs of an ELF file; *out malloc'd (free the names too). 0 when it has none. */
size_t plt_symbols(Elf *elf, struct plt_sym **out);
void plt_symbols_free(struct plt_sym *s, size_t n);
#endif
