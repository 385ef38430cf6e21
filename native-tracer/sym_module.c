/* sym_module.c — one ELF file's function symbols, PLT stubs and FDE ranges (sym_module.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sym_module.h"
#include "plt_syms.h"
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->rank - y->rank;
}

char *sym_hex(const unsigned char *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", p[i]);
	s[2 * n] = 0;
	return s;
}

/* the GNU build-id among the notes in d, as hex; NULL: none */
static char *build_id_note(Elf_Data *d)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0)
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp((char *)d->d_buf + name_off, "GNU", 4) &&
		    nh.n_descsz > 0 && nh.n_descsz <= 64)
			return sym_hex((unsigned char *)d->d_buf + desc_off, nh.n_descsz);
	return NULL;
}

static char *elf_build_id(Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf_Data *d;
	size_t phnum;
	char *id;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (d && (id = build_id_note(d)))
			return id;
	}
	/* no section headers (e.g. a vdso copy or a stripped-to-the-bone file): try PT_NOTE */
	if (elf_getphdrnum(elf, &phnum))
		return NULL;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (d && (id = build_id_note(d)))
			return id;
	}
	return NULL;
}

/* The name of symbol i of table d when it is a defined function with a name; NULL otherwise. */
static const char *function_name(Elf *elf, Elf_Data *d, const GElf_Shdr *sh, size_t i, GElf_Sym *s)
{
	const char *name;
	int t;

	if (!gelf_getsym(d, (int)i, s))
		return NULL;
	t = GELF_ST_TYPE(s->st_info);
	if ((t != STT_FUNC && t != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF || !s->st_value)
		return NULL;
	name = elf_strptr(elf, sh->sh_link, s->st_name);
	return name && *name ? name : NULL;
}

/* Reads function symbols of one symbol table section into m (names copied to a pool chunk). */
static int read_symtab(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, struct sym **syms, size_t *n,
		       size_t *cap, char ***pools, size_t *npools, unsigned char table)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t count, pool_len = 0, pos = 0;
	char *pool, **np;

	if (!d || sh->sh_entsize == 0)
		return 0;
	count = sh->sh_size / sh->sh_entsize;
	/* first pass: size the name pool */
	for (size_t i = 0; i < count; i++) {
		GElf_Sym s;
		const char *name = function_name(elf, d, sh, i, &s);
		if (name)
			pool_len += strlen(name) + 1;
	}
	if (!pool_len)
		return 0;
	pool = malloc(pool_len);
	np = realloc(*pools, (*npools + 1) * sizeof(**pools));
	if (!pool || !np) {
		free(pool);
		if (np)
			*pools = np;
		return -ENOMEM;
	}
	*pools = np;
	np[(*npools)++] = pool;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym s;
		const char *name = function_name(elf, d, sh, i, &s);
		size_t len;
		if (!name)
			continue;
		len = strlen(name) + 1;
		if (pos + len > pool_len)
			break;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 256;
			struct sym *ns = realloc(*syms, nc * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			*syms = ns;
			*cap = nc;
		}
		memcpy(pool + pos, name, len);
		unsigned long long size = s.st_size;
		if (!size && s.st_shndx < SHN_LORESERVE) {
			/* unsized (assembly labels such as _start, _fini): it covers at most the rest of
			 * its section, not whatever lies beyond */
			GElf_Shdr ss;
			Elf_Scn *sec = elf_getscn(elf, s.st_shndx);
			if (sec && gelf_getshdr(sec, &ss) && s.st_value >= ss.sh_addr &&
			    s.st_value < ss.sh_addr + ss.sh_size)
				size = ss.sh_addr + ss.sh_size - s.st_value;
		}
		(*syms)[*n] = (struct sym){
			.addr = s.st_value,
			.size = size,
			.name = pool + pos,
			.rank = (s.st_size ? 0 : 2) + (GELF_ST_BIND(s.st_info) == STB_GLOBAL ? 0 : 1),
			.table = table,
		};
		(*n)++;
		pos += len;
	}
	return 0;
}

/* PLT stubs as symbols "NAME@plt" (plt_syms.h), their names in a pool chunk of their own. */
static void add_plt_symbols(Elf *elf, struct sym **syms, size_t *n, size_t *cap, char ***pools, size_t *npools)
{
	struct plt_sym *p;
	size_t np = plt_symbols(elf, &p), len = 0, pos = 0;
	char *pool, **nps;

	for (size_t i = 0; i < np; i++)
		len += strlen(p[i].name) + 1;
	if (!np || !(pool = malloc(len)))
		goto out;
	if (!(nps = realloc(*pools, (*npools + 1) * sizeof(**pools)))) {
		free(pool);
		goto out;
	}
	*pools = nps;
	nps[(*npools)++] = pool;
	for (size_t i = 0; i < np; i++) {
		size_t l = strlen(p[i].name) + 1;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 256;
			struct sym *ns = realloc(*syms, nc * sizeof(*ns));
			if (!ns)
				break;
			*syms = ns;
			*cap = nc;
		}
		memcpy(pool + pos, p[i].name, l);
		(*syms)[(*n)++] = (struct sym){ .addr = p[i].addr, .size = p[i].size, .name = pool + pos, .rank = 3,
						.table = SYM_PLT };
		pos += l;
	}
out:
	plt_symbols_free(p, np);
}

struct sym_module *sym_module_from_elf(Elf *elf, char *err, unsigned errlen)
{
	struct sym_module *m = calloc(1, sizeof(*m));
	size_t cap = 0, npools = 0, phnum, total = 0;
	char **pools = NULL;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	bool have_symtab = false;
	int pass;

	if (!m)
		return NULL;
	if (elf_kind(elf) != ELF_K_ELF) {
		snprintf(err, errlen, "not an ELF file");
		free(m);
		return NULL;
	}
	m->build_id = elf_build_id(elf);
	if (!elf_getphdrnum(elf, &phnum)) {
		m->segs = calloc(phnum ? phnum : 1, sizeof(*m->segs));
		for (size_t i = 0; m->segs && i < phnum; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD)
				m->segs[m->nsegs++] = (struct load_seg){ ph.p_offset, ph.p_vaddr, ph.p_filesz };
		}
	}
	/* .symtab has the static functions too; .dynsym adds nothing when .symtab exists but is all
	 * a stripped file has. Both are read in that order and duplicates fall out after sorting. */
	for (pass = 0; pass < 2; pass++) {
		scn = NULL;
		while ((scn = elf_nextscn(elf, scn))) {
			if (!gelf_getshdr(scn, &sh))
				continue;
			if ((pass == 0 && sh.sh_type == SHT_SYMTAB) ||
			    (pass == 1 && sh.sh_type == SHT_DYNSYM)) {
				if (pass == 0)
					have_symtab = true;
				read_symtab(elf, scn, &sh, &m->syms, &m->nsyms, &cap, &pools, &npools,
					    pass == 0 ? SYM_SYMTAB : SYM_DYNSYM);
			}
		}
	}
	(void)have_symtab;
	add_plt_symbols(elf, &m->syms, &m->nsyms, &cap, &pools, &npools);
	/* merge the pools into one so the module frees a single block */
	for (size_t i = 0; i < m->nsyms; i++)
		total += strlen(m->syms[i].name) + 1;
	m->pool = malloc(total ? total : 1);
	if (m->pool) {
		size_t pos = 0;
		for (size_t i = 0; i < m->nsyms; i++) {
			size_t len = strlen(m->syms[i].name) + 1;
			memcpy(m->pool + pos, m->syms[i].name, len);
			m->syms[i].name = m->pool + pos;
			pos += len;
		}
	} else {
		m->nsyms = 0;
	}
	for (size_t i = 0; i < npools; i++)
		free(pools[i]);
	free(pools);
	qsort(m->syms, m->nsyms, sizeof(*m->syms), sym_cmp);
	/* keep the best-ranked symbol per address (aliases such as __libc_malloc/malloc) */
	size_t w = 0;
	for (size_t i = 0; i < m->nsyms; i++)
		if (!w || m->syms[w - 1].addr != m->syms[i].addr)
			m->syms[w++] = m->syms[i];
	m->nsyms = w;
	m->nfdes = fde_ranges_read(elf, &m->fdes);
	m->loaded = true;
	return m;
}

struct sym_module *sym_module_load_path(const char *path, char *err, unsigned errlen)
{
	struct sym_module *m;
	Elf *elf;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		snprintf(err, errlen, "%s: %s", path, elf_errmsg(-1));
		close(fd);
		return NULL;
	}
	m = sym_module_from_elf(elf, err, errlen);
	elf_end(elf);
	close(fd);
	return m;
}

void sym_module_free(struct sym_module *m)
{
	if (!m)
		return;
	free(m->key);
	free(m->build_id);
	free(m->syms);
	free(m->pool);
	free(m->segs);
	for (size_t i = 0; m->fde_names && i < m->nfdes; i++)
		free(m->fde_names[i]);
	free(m->fde_names);
	free(m->fdes);
	free(m);
}

size_t sym_count_at_or_below(const void *base, size_t n, size_t size, unsigned long long a)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		unsigned long long at;
		memcpy(&at, (const char *)base + mid * size, sizeof(at));
		if (at <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct sym *sym_module_find(const struct sym_module *m, unsigned long long a)
{
	size_t k = sym_count_at_or_below(m->syms, m->nsyms, sizeof(*m->syms), a);
	const struct sym *s;

	if (!k)
		return NULL;
	s = &m->syms[k - 1];
	if (s->size && a >= s->addr + s->size)
		return NULL; /* past its end: padding or code no symbol describes */
	return s;
}

const char *sym_module_lookup(const struct sym_module *m, unsigned long long a,
			      unsigned long long *off)
{
	const struct sym *s = sym_module_find(m, a);
	if (!s)
		return NULL;
	*off = a - s->addr;
	return s->name;
}

const char *sym_module_fde_name(struct sym_module *m, const char *path, unsigned long long a,
				unsigned long long *off)
{
	const struct fde_span *r = fde_ranges_find(m->fdes, m->nfdes, a);
	const char *base;
	size_t i;

	if (!r)
		return NULL;
	i = (size_t)(r - m->fdes);
	if (!m->fde_names && !(m->fde_names = calloc(m->nfdes, sizeof(*m->fde_names))))
		return NULL;
	base = strrchr(path, '/');
	if (!m->fde_names[i] && asprintf(&m->fde_names[i], "%s+0x%llx", base ? base + 1 : path, r->start) < 0) {
		m->fde_names[i] = NULL;
		return NULL;
	}
	*off = a - r->start;
	return m->fde_names[i];
}

const char *sym_module_build_id(const struct sym_module *m)
{
	return m->build_id;
}

bool sym_module_offset_to_addr(const struct sym_module *m, unsigned long long foff,
			       unsigned long long *addr)
{
	for (size_t i = 0; i < m->nsegs; i++) {
		const struct load_seg *g = &m->segs[i];
		if (foff >= g->offset && foff < g->offset + g->filesz) {
			*addr = foff - g->offset + g->vaddr;
			return true;
		}
	}
	return false;
}
