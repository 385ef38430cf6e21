/* elfsym.c — symbol → virtual address → file offset through the PT_LOAD headers, with libelf. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "elfsym.h"

static int find_symbol(Elf *elf, const char *name, unsigned long long *vaddr, unsigned long long *size)
{
	Elf_Scn *scn;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		Elf64_Word want = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;

		scn = NULL;
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			Elf_Data *data;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != want || !sh.sh_entsize)
				continue;
			data = elf_getdata(scn, NULL);
			for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym sym;
				const char *n;
				int t;

				if (!gelf_getsym(data, (int)i, &sym))
					continue;
				t = GELF_ST_TYPE(sym.st_info);
				if ((t != STT_FUNC && t != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
					continue;
				n = elf_strptr(elf, sh.sh_link, sym.st_name);
				if (n && !strcmp(n, name)) {
					*vaddr = sym.st_value;
					*size = sym.st_size;
					return 0;
				}
			}
		}
	}
	return -1;
}

int elf_locate(const char *path, const char *symbol, unsigned long long *vaddr,
	       unsigned long long *file_off, unsigned long long *size, unsigned char code[16], size_t *ncode,
	       char *err, size_t errlen)
{
	int fd, rc = -1;
	Elf *elf = NULL;
	size_t nph;
	ssize_t n;

	*ncode = 0;
	*size = 0;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(err, errlen, "%s is not an ELF file", path);
		goto out;
	}
	if (symbol && find_symbol(elf, symbol, vaddr, size)) {
		snprintf(err, errlen, "function %s not found in %s (.symtab/.dynsym); if the binary is stripped, "
			 "give its address as 0xADDR", symbol, path);
		goto out;
	}
	if (elf_getphdrnum(elf, &nph)) {
		snprintf(err, errlen, "%s: no program headers", path);
		goto out;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (*vaddr >= ph.p_vaddr && *vaddr < ph.p_vaddr + ph.p_filesz) {
			*file_off = *vaddr - ph.p_vaddr + ph.p_offset;
			if (*size > ph.p_vaddr + ph.p_filesz - *vaddr)
				*size = ph.p_vaddr + ph.p_filesz - *vaddr;
			n = pread(fd, code, 16, (off_t)*file_off);
			*ncode = n > 0 ? (size_t)n : 0;
			rc = 0;
			goto out;
		}
	}
	snprintf(err, errlen, "address 0x%llx is not in an executable segment of %s", *vaddr, path);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
}
