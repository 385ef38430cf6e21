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
	size_t len;
	struct elf_copies *c;
};

/* Whether s is empty or only GCC's clone suffixes, each maybe numbered (".isra.0",
 * ".constprop.1.cold"): "f.body", a label of its own, is another function. */
static bool clone_suffixes(const char *s)
{
	static const char *const kinds[] = { "isra", "constprop", "part", "cold", "lto_priv", "localalias", "clone" };

	while (*s) {
		size_t k, n = 0;
		if (*s++ != '.')
			return false;
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			n = strlen(kinds[k]);
			if (!strncmp(s, kinds[k], n) && (s[n] == '.' || !s[n]))
				break;
		}
		if (k == sizeof(kinds) / sizeof(kinds[0]))
			return false;
		s += n;
		if (s[0] == '.' && s[1] >= '0' && s[1] <= '9')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
	}
	return true;
}

/* NAME itself, or NAME followed by GCC's clone suffixes (".isra.0", ".constprop.1.cold", ...) */
static int match_copy(void *ctx, const char *name, const GElf_Sym *sym)
{
	struct by_name *q = ctx;
	struct elf_copies *c = q->c;

	if (strncmp(name, q->name, q->len) || !clone_suffixes(name + q->len))
		return 0;
	for (int i = 0; i < c->n && i < ELF_MAX_COPIES; i++)
		if (c->f[i].start == sym->st_value)
			return 0; /* an alias of one already found */
	if (c->n < ELF_MAX_COPIES) {
		struct elf_func *f = &c->f[c->n];

		snprintf(f->name, sizeof(f->name), "%s", name);
		f->start = sym->st_value;
		f->size = sym->st_size;
		c->entry[c->n] = !strstr(name + q->len, ".cold");
	}
	c->n++;
	return 0;
}

/* The copies of name in .symtab, else in .dynsym; 0 when one entry copy holds the name. */
static int find_symbol(Elf *elf, const char *path, const char *name, unsigned long long *vaddr,
		       unsigned long long *size, struct elf_copies *c, char *err, size_t errlen)
{
	struct by_name q = { name, strlen(name), c };
	int entries = 0, pick = -1, n;
	size_t o;

	c->n = 0;
	each_function(elf, SHT_SYMTAB, match_copy, &q);
	if (!c->n)
		each_function(elf, SHT_DYNSYM, match_copy, &q);
	n = c->n < ELF_MAX_COPIES ? c->n : ELF_MAX_COPIES;
	for (int i = 0; i < n; i++)
		if (c->entry[i]) {
			entries++;
			if (pick < 0 || (!strcmp(c->f[i].name, name) && strcmp(c->f[pick].name, name)))
				pick = i; /* the first entry, the name itself before a copy */
		}
	if (!c->n) {
		snprintf(err, errlen, "function %s not found in %s (.symtab/.dynsym); if the binary is stripped, "
			 "give its address as 0xADDR", name, path);
		return -1;
	}
	if (entries == 1 && c->n <= ELF_MAX_COPIES) {
		*vaddr = c->f[pick].start;
		*size = c->f[pick].size;
		snprintf(c->bound, sizeof(c->bound), "%s", c->f[pick].name);
		return 0;
	}
	if (entries)
		o = (size_t)snprintf(err, errlen, "function %s has %d copies in %s, each called on its own: ", name,
				     entries, path);
	else
		o = (size_t)snprintf(err, errlen, "function %s has no entry in %s, only split-off parts: ", name, path);
	for (int i = 0; i < n && o < errlen; i++)
		o += (size_t)snprintf(err + o, errlen - o, "%s%s at 0x%llx%s", i ? ", " : "", c->f[i].name, c->f[i].start,
				      c->entry[i] ? "" : " (.cold: split-off code, not an entry)");
	if (c->n > ELF_MAX_COPIES && o < errlen)
		o += (size_t)snprintf(err + o, errlen - o, " and %d more", c->n - ELF_MAX_COPIES);
	if (entries && o < errlen)
		snprintf(err + o, errlen - o, ". Give each copy a stage of its own by its full name (uprobe:BINARY:%s); "
			 "sampled mode counts every copy under one name", c->f[pick].name);
	return -1;
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

Elf *elf_open(const char *path, int *fd, char *err, size_t errlen)
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
	elf = elf_open(path, &fd, err, errlen);
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
	       struct elf_copies *c, char *err, size_t errlen)
{
	int fd, rc = -1;
	Elf *elf = NULL;
	size_t nph;
	ssize_t n;

	*ncode = 0;
	*size = 0;
	elf = elf_open(path, &fd, err, errlen);
	if (!elf)
		return -1;
	memset(c, 0, sizeof(*c));
	if (symbol && find_symbol(elf, path, symbol, vaddr, size, c, err, errlen))
		goto out;
	if (!symbol) {
		struct covering q = { .vaddr = *vaddr, .f = &c->f[0] };

		each_function(elf, SHT_SYMTAB, match_cover, &q);
		if (!q.found)
			each_function(elf, SHT_DYNSYM, match_cover, &q);
		if (q.found && c->f[0].size) { /* the code from the address to its function's end */
			*size = c->f[0].start + c->f[0].size - *vaddr;
			if (*vaddr == c->f[0].start)
				snprintf(c->bound, sizeof(c->bound), "%s", c->f[0].name);
			else
				snprintf(c->bound, sizeof(c->bound), "%s+0x%llx", c->f[0].name, *vaddr - c->f[0].start);
		}
		memset(&c->f[0], 0, sizeof(c->f[0]));
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
