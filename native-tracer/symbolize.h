/* symbolize.h — addresses to {function, offset, module, build-id, ELF address}.
 * User addresses go through /proc/PID/maps to the mapped file's ELF symbols (.symtab, then .dynsym)
 * with one cache entry per module; kernel addresses through /proc/kallsyms, read and sorted once.
 * Names are returned as raw bytes (untrusted): escape them with json.h before they reach the stream. */
#ifndef PKTPATH_SYMBOLIZE_H
#define PKTPATH_SYMBOLIZE_H
#include <stdbool.h>

struct symbolizer;

/* where a frame's name came from */
enum sym_source {
	SYM_NONE = 0,
	SYM_SYMTAB = 1,   /* the module's .symtab */
	SYM_DYNSYM = 2,   /* its .dynsym (all a stripped file keeps) */
	SYM_EH_FRAME = 3, /* no symbol: "BASENAME+0xSTART" after the FDE covering it (its function's range) */
	SYM_KALLSYMS = 4, /* the kernel's symbols */
	SYM_PLT = 5,      /* a PLT stub, "NAME@plt" (plt_syms.h) */
};

struct sym_frame {
	const char *fn;             /* symbol name, or NULL when none covers the address */
	unsigned long long off;     /* address - symbol start (0 when fn is NULL) */
	enum sym_source named_by;   /* SYM_NONE when fn is NULL */
	const char *module;         /* mapped path, "[vdso]", "[anon]", "[heap]", "[kernel]", "[mod]" */
	const char *build_id;       /* lower-case hex of the GNU build-id note, or NULL */
	unsigned long long elf_addr; /* the address in the module's ELF address space */
	bool has_elf_addr;          /* false for anonymous/JIT memory and kernel frames */
};
/* The strings stay valid until symbolizer_free. */

/* pid > 0: that process's user addresses (and kernel addresses); pid <= 0: kernel only. */
struct symbolizer *symbolizer_new(int pid);
void symbolizer_free(struct symbolizer *s);

/* Allows one re-read of /proc/PID/maps at the next address that no known mapping covers
 * (called once per drain, so a stream of unmapped addresses costs one re-read, not one each). */
void symbolizer_allow_refresh(struct symbolizer *s);

/* Whether addr lies in an executable mapping of the process (re-reading the maps if allowed). */
bool symbolizer_is_user_code(struct symbolizer *s, unsigned long long addr);

/* Reads n bytes at runtime address addr from the file mapped there (never from the process's
 * memory, where uprobes replace instructions with int3); all n bytes must lie in one mapping.
 * Returns 0, or -1 for anonymous memory, unreadable files and addresses in no mapping. */
int symbolizer_read_code(struct symbolizer *s, unsigned long long addr, unsigned char *buf,
			 unsigned n);

/* Fill *f. Returns 0, or -1 when the address is in no mapping (f then names it "[unknown]"). */
int symbolize_user(struct symbolizer *s, unsigned long long addr, struct sym_frame *f);
int symbolize_kernel(struct symbolizer *s, unsigned long long addr, struct sym_frame *f);

/* Why some symbols are missing (a module that could not be read, no kallsyms addresses): one
 * message per call, NULL when none is pending; valid until the next call. A run reports at most a
 * few, so a process with many unreadable modules does not flood the stream. */
const char *symbolizer_take_warning(struct symbolizer *s);

/* One ELF file's symbols, usable without a process (the unit test compares it with nm). */
struct sym_module;
struct sym_module *sym_module_load_path(const char *path, char *err, unsigned errlen);
void sym_module_free(struct sym_module *m);
/* name/offset of the function covering ELF address a; NULL when none does */
const char *sym_module_lookup(const struct sym_module *m, unsigned long long a,
			      unsigned long long *off);
const char *sym_module_build_id(const struct sym_module *m);
/* ELF address of file offset `foff` through the PT_LOAD that maps it; false when none does */
bool sym_module_offset_to_addr(const struct sym_module *m, unsigned long long foff,
			       unsigned long long *addr);

#endif
