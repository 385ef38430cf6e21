/* elfsym.c — symbol → virtual address → file offset through the PT_LOAD headers, with libelf. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elfsym.h"

int open_regular(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	/* stat first: opening a device can have effects of its own, even without blocking */
	if (stat(path, &st)) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		goto not_regular;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (!fstat(fd, &st) && S_ISREG(st.st_mode)) /* it may have been replaced meanwhile */
		return fd;
	close(fd);
not_regular:
	snprintf(err, errlen, "%s is not a regular file (%s)", path,
		 S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" :
		 S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : S_ISSOCK(st.st_mode) ? "a socket" : "not a file");
	return -1;
}

/* Calls visit for each defined function symbol of the symbol table of type `want` until it
 * returns nonzero; returns that value, or 0. */
static int each_function(Elf *elf, Elf64_Word want, int (*visit)(void *ctx, const char *name, const GElf_Sym *sym),
			 void *ctx)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != want || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;
			int t, rc;

			if (!gelf_getsym(data, (int)i, &sym))
				continue;
			t = GELF_ST_TYPE(sym.st_info);
			if ((t != STT_FUNC && t != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (n && (rc = visit(ctx, n, &sym)))
				return rc;
		}
	}
	return 0;
}

struct by_name {
	const char *name;
	unsigned long long *vaddr, *size;
};

static int match_name(void *ctx, const char *name, const GElf_Sym *sym)
{
	struct by_name *q = ctx;

	if (strcmp(name, q->name))
		return 0;
	*q->vaddr = sym->st_value;
	*q->size = sym->st_size;
	return 1;
}

static int find_symbol(Elf *elf, const char *name, unsigned long long *vaddr, unsigned long long *size)
{
	struct by_name q = { name, vaddr, size };

	return each_function(elf, SHT_SYMTAB, match_name, &q) || each_function(elf, SHT_DYNSYM, match_name, &q) ? 0 : -1;
}

struct covering {
	unsigned long long vaddr;
	struct elf_func *f;
	int found, global;
};

static int match_cover(void *ctx, const char *name, const GElf_Sym *sym)
{
	struct covering *q = ctx;
	int global = GELF_ST_BIND(sym->st_info) != STB_LOCAL;

	if (sym->st_value > q->vaddr ||
	    (sym->st_size ? q->vaddr - sym->st_value >= sym->st_size : sym->st_value != q->vaddr))
		return 0;
	/* innermost first (the start closest below), then a global alias before a local one */
	if (q->found && (sym->st_value < q->f->start || (sym->st_value == q->f->start && (q->global || !global))))
		return 0;
	snprintf(q->f->name, sizeof(q->f->name), "%s", name);
	q->f->start = sym->st_value;
	q->f->size = sym->st_size;
	q->found = 1;
	q->global = global;
	return 0;
}

/* The ELF file at path for reading (*fd open until the caller closes it); NULL with err set. */
static Elf *open_elf(const char *path, int *fd, char *err, size_t errlen)
{
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		return NULL;
	}
	*fd = open_regular(path, err, errlen);
	if (*fd < 0)
		return NULL;
	elf = elf_begin(*fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		return elf;
	snprintf(err, errlen, "%s is not an ELF file", path);
	elf_end(elf);
	close(*fd);
	return NULL;
}

int elf_containing_function(const char *path, unsigned long long vaddr, struct elf_func *f, char *err, size_t errlen)
{
	struct covering q = { .vaddr = vaddr, .f = f };
	Elf *elf;
	int fd;

	memset(f, 0, sizeof(*f));
	elf = open_elf(path, &fd, err, errlen);
	if (!elf)
		return -1;
	each_function(elf, SHT_SYMTAB, match_cover, &q);
	if (!q.found)
		each_function(elf, SHT_DYNSYM, match_cover, &q);
	elf_end(elf);
	close(fd);
	return q.found ? 0 : 1;
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
	elf = open_elf(path, &fd, err, errlen);
	if (!elf)
		return -1;
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
	elf_end(elf);
	close(fd);
	return rc;
}
