/* plt_syms.c — see plt_syms.h. With IBT (-fcf-protection) the stubs calls land in are in
 * .plt.sec, one 16-byte entry per relocation; without, in .plt after its 16-byte header entry. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "plt_syms.h"
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLT_ENTRY 16

static Elf_Scn *section(Elf *elf, size_t shstrndx, const char *want, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		if (!gelf_getshdr(scn, sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh->sh_name);
		if (name && !strcmp(name, want))
			return scn;
	}
	return NULL;
}

size_t plt_symbols(Elf *elf, struct plt_sym **out)
{
	GElf_Shdr rsh, psh, dsh;
	Elf_Scn *rscn, *pscn, *dscn;
	Elf_Data *rd;
	size_t shstrndx, nrel, n = 0;
	unsigned long long base;
	GElf_Ehdr eh;

	*out = NULL;
	if (!gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64 || elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	rscn = section(elf, shstrndx, ".rela.plt", &rsh);
	if (!rscn || rsh.sh_type != SHT_RELA || !rsh.sh_entsize || !(rd = elf_getdata(rscn, NULL)))
		return 0;
	if ((pscn = section(elf, shstrndx, ".plt.sec", &psh)) && psh.sh_type == SHT_PROGBITS)
		base = psh.sh_addr;
	else if ((pscn = section(elf, shstrndx, ".plt", &psh)) && psh.sh_type == SHT_PROGBITS)
		base = psh.sh_addr + PLT_ENTRY;
	else
		return 0;
	dscn = elf_getscn(elf, rsh.sh_link);
	if (!dscn || !gelf_getshdr(dscn, &dsh))
		return 0;
	nrel = rsh.sh_size / rsh.sh_entsize;
	if (base + nrel * PLT_ENTRY > psh.sh_addr + psh.sh_size)
		return 0; /* not the layout assumed here: no names rather than wrong ones */
	*out = calloc(nrel ? nrel : 1, sizeof(**out));
	if (!*out)
		return 0;
	for (size_t i = 0; i < nrel; i++) {
		GElf_Rela r;
		GElf_Sym s;
		Elf_Data *dd = elf_getdata(dscn, NULL);
		const char *name;
		if (!gelf_getrela(rd, (int)i, &r) || GELF_R_TYPE(r.r_info) != R_X86_64_JUMP_SLOT || !dd ||
		    !gelf_getsym(dd, (int)GELF_R_SYM(r.r_info), &s) ||
		    !(name = elf_strptr(elf, dsh.sh_link, s.st_name)) || !*name)
			continue;
		if (asprintf(&(*out)[n].name, "%s@plt", name) < 0)
			break;
		(*out)[n].addr = base + i * PLT_ENTRY;
		(*out)[n].size = PLT_ENTRY;
		n++;
	}
	if (!n) {
		free(*out);
		*out = NULL;
	}
	return n;
}

void plt_symbols_free(struct plt_sym *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].name);
	free(s);
}
