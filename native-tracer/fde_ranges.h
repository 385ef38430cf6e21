/* fde_ranges.h — where functions begin and end in code that has no symbols: every function the
 * compiler emitted unwind information for has one FDE in .eh_frame covering [start, start+size),
 * and .eh_frame_hdr lists them sorted. Stripped binaries keep both (they are needed to unwind).
 * libdw reads FDEs for unwinding but does not expose their bounds, hence this small reader. */
#ifndef PKTPATH_FDE_RANGES_H
#define PKTPATH_FDE_RANGES_H
#include <libelf.h>
#include <stddef.h>

struct fde_span {
	unsigned long long start, size; /* ELF virtual addresses */
};

/* The FDE ranges of an ELF image (its PT_GNU_EH_FRAME search table), sorted by start. Returns how
 * many (0 when the file has no table or it is malformed: nothing is guessed); *out is malloc'd. */
size_t fde_ranges_read(Elf *elf, struct fde_span **out);

/* The range covering ELF address a, or NULL. */
const struct fde_span *fde_ranges_find(const struct fde_span *r, size_t n, unsigned long long a);

#endif
