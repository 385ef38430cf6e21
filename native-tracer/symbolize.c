/* symbolize.c — user addresses via /proc/PID/maps + ELF symbols, kernel addresses via kallsyms. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "symbolize.h"
#include "fde_ranges.h"
#include "plt_syms.h"
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_MODULES 512        /* distinct mapped files cached per process */
#define MAX_MAPPINGS 65536     /* executable mappings read from /proc/PID/maps */
#define MAX_VDSO_BYTES (1 << 20)

struct sym {
	unsigned long long addr, size;
	const char *name; /* points into the module's string pool */
	int rank;         /* tie-break between aliases: sized, global first */
	unsigned char table; /* SYM_SYMTAB or SYM_DYNSYM */
};

struct load_seg {
	unsigned long long offset, vaddr, filesz;
};

struct sym_module {
	char *key;           /* dev:inode or path: identifies the file across mappings */
	char *build_id;      /* hex or NULL */
	struct sym *syms;
	size_t nsyms;
	char *pool;          /* all names, NUL-separated */
	struct load_seg *segs;
	size_t nsegs;
	bool loaded;         /* false: the file could not be read (symbols unknown) */
	/* functions no symbol covers are named by their FDE's start (fde_ranges.h) */
	struct fde_span *fdes;
	size_t nfdes;
	char **fde_names;    /* "BASENAME+0xSTART", made on first use */
};

struct mapping {
	unsigned long long start, end, offset;
	char *path;          /* as in maps, " (deleted)" removed; "[anon]" when empty */
	char *key;           /* module cache key, NULL for anonymous memory */
	bool file;           /* backed by a file we can read through map_files */
	bool vdso;
	bool deleted;        /* maps said " (deleted)": the path names another file, if any */
	unsigned long long dev_major, dev_minor, inode;
	struct sym_module *mod; /* resolved lazily */
};

struct ksym {
	unsigned long long addr;
	const char *name;
	const char *module;
};

struct symbolizer {
	int pid;
	struct mapping *maps;
	size_t nmaps;
	bool refresh_allowed;
	struct sym_module *mods[MAX_MODULES];
	size_t nmods;
	/* kernel */
	bool kloaded;
	struct ksym *ksyms;
	size_t nksyms;
	char *kpool;
	char **kmodnames; /* interned "[mod]" strings */
	size_t nkmodnames;
	char *kbuild_id;
	struct sym_module empty; /* stands in for files we could not read */
	char warn[8][384];       /* reasons symbols are missing, until the caller takes them */
	int nwarn, warned;
};

#define MAX_WARNINGS 16 /* per run: one per unreadable module at most, then silence */

static void add_warning(struct symbolizer *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add_warning(struct symbolizer *s, const char *fmt, ...)
{
	va_list ap;
	if (s->warned >= MAX_WARNINGS || s->nwarn >= 8)
		return;
	va_start(ap, fmt);
	vsnprintf(s->warn[s->nwarn++], sizeof(s->warn[0]), fmt, ap);
	va_end(ap);
	s->warned++;
}

const char *symbolizer_take_warning(struct symbolizer *s)
{
	static char out[384];
	if (!s || !s->nwarn)
		return NULL;
	memcpy(out, s->warn[0], sizeof(out));
	memmove(s->warn[0], s->warn[1], (size_t)(--s->nwarn) * sizeof(s->warn[0]));
	return out;
}

/* ---- ELF ------------------------------------------------------------------------------------- */

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->rank - y->rank;
}

static char *hex(const unsigned char *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", p[i]);
	s[2 * n] = 0;
	return s;
}

static char *elf_build_id(Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz > 0 &&
			    nh.n_descsz <= 64)
				return hex((unsigned char *)d->d_buf + desc_off, nh.n_descsz);
		}
	}
	/* no section headers (e.g. a vdso copy or a stripped-to-the-bone file): try PT_NOTE */
	size_t phnum;
	if (elf_getphdrnum(elf, &phnum))
		return NULL;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		Elf_Data *d;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (!d)
			continue;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0)
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz > 0 &&
			    nh.n_descsz <= 64)
				return hex((unsigned char *)d->d_buf + desc_off, nh.n_descsz);
	}
	return NULL;
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
		const char *name;
		int t;
		if (!gelf_getsym(d, i, &s))
			continue;
		t = GELF_ST_TYPE(s.st_info);
		if ((t != STT_FUNC && t != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (name && *name)
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
		const char *name;
		size_t len;
		int t;
		if (!gelf_getsym(d, i, &s))
			continue;
		t = GELF_ST_TYPE(s.st_info);
		if ((t != STT_FUNC && t != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !*name)
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

static struct sym_module *module_from_elf(Elf *elf, char *err, unsigned errlen)
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
	m = module_from_elf(elf, err, errlen);
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

static const struct sym *lookup_sym(const struct sym_module *m, unsigned long long a)
{
	size_t lo = 0, hi = m->nsyms;
	const struct sym *s;

	/* last symbol starting at or below a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &m->syms[lo - 1];
	if (s->size && a >= s->addr + s->size)
		return NULL; /* past its end: padding or code no symbol describes */
	return s;
}

const char *sym_module_lookup(const struct sym_module *m, unsigned long long a,
			      unsigned long long *off)
{
	const struct sym *s = lookup_sym(m, a);
	if (!s)
		return NULL;
	*off = a - s->addr;
	return s->name;
}

/* The FDE range covering a, named "BASENAME+0xSTART" after the mapped path; NULL when none. */
static const char *fde_name(struct sym_module *m, const char *path, unsigned long long a,
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

/* ---- /proc/PID/maps ---------------------------------------------------------------------------- */

static void free_maps(struct symbolizer *s)
{
	for (size_t i = 0; i < s->nmaps; i++) {
		free(s->maps[i].path);
		free(s->maps[i].key);
	}
	free(s->maps);
	s->maps = NULL;
	s->nmaps = 0;
}

static int read_maps(struct symbolizer *s)
{
	char path[64], *line = NULL;
	size_t cap = 0, n = 0, lcap = 0;
	struct mapping *maps = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", s->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &lcap, f) > 0) {
		unsigned long long start, end, offset, inode;
		char perms[8], dev[32];
		int consumed = 0;
		char *p;
		size_t len;

		if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &start, &end, perms, &offset, dev,
			   &inode, &consumed) < 6)
			continue;
		if (perms[2] != 'x' || n >= MAX_MAPPINGS)
			continue;
		p = line + consumed;
		len = strlen(p);
		if (len && p[len - 1] == '\n')
			p[--len] = 0;
		bool deleted = false;
		if (len > 10 && !strcmp(p + len - 10, " (deleted)")) {
			p[len -= 10] = 0;
			deleted = true;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct mapping *nm = realloc(maps, nc * sizeof(*nm));
			if (!nm)
				break;
			maps = nm;
			cap = nc;
		}
		struct mapping *m = &maps[n];
		memset(m, 0, sizeof(*m));
		m->start = start;
		m->end = end;
		m->offset = offset;
		m->vdso = !strcmp(p, "[vdso]");
		m->deleted = deleted;
		m->inode = inode;
		sscanf(dev, "%llx:%llx", &m->dev_major, &m->dev_minor);
		m->file = inode != 0 && p[0] == '/';
		m->path = strdup(len ? p : "[anon]");
		if (m->file) {
			char key[96];
			snprintf(key, sizeof(key), "%s:%llu", dev, inode);
			m->key = strdup(key);
		} else if (m->vdso) {
			m->key = strdup("[vdso]");
		}
		if (!m->path) {
			free(m->key);
			continue;
		}
		n++;
	}
	free(line);
	fclose(f);
	free_maps(s);
	s->maps = maps;
	s->nmaps = n;
	return 0;
}

static struct mapping *find_mapping(struct symbolizer *s, unsigned long long a)
{
	size_t lo = 0, hi = s->nmaps;
	while (lo < hi) { /* maps are sorted by address */
		size_t mid = lo + (hi - lo) / 2;
		if (s->maps[mid].end <= a)
			lo = mid + 1;
		else if (s->maps[mid].start > a)
			hi = mid;
		else
			return &s->maps[mid];
	}
	return NULL;
}

static struct sym_module *load_vdso(struct symbolizer *s, struct mapping *m)
{
	unsigned long long size = m->end - m->start;
	struct sym_module *mod = NULL;
	char path[64], err[128];
	char *buf;
	int fd;

	if (size > MAX_VDSO_BYTES)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/mem", s->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(size);
	if (buf && pread(fd, buf, size, (off_t)m->start) == (ssize_t)size) {
		Elf *elf = elf_memory(buf, size);
		if (elf) {
			mod = module_from_elf(elf, err, sizeof(err));
			elf_end(elf);
		}
	}
	free(buf);
	close(fd);
	return mod;
}

static struct sym_module *module_for(struct symbolizer *s, struct mapping *m)
{
	struct sym_module *mod = NULL;
	char path[128], err[256];

	if (m->mod)
		return m->mod;
	for (size_t i = 0; i < s->nmods; i++)
		if (!strcmp(s->mods[i]->key, m->key))
			return m->mod = s->mods[i];
	if (s->nmods == MAX_MODULES)
		return m->mod = &s->empty;
	if (m->vdso) {
		mod = load_vdso(s, m);
	} else {
		/* map_files reaches the very file that is mapped: deleted, replaced or in another
		 * mount namespace */
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", s->pid, m->start, m->end);
		mod = sym_module_load_path(path, err, sizeof(err));
		/* without CAP_SYS_ADMIN map_files is closed: the path, through the process's root
		 * and then as is, serves if it is still the very file that is mapped */
		for (int i = 0; !mod && !m->deleted && i < 2; i++) {
			char *alt = NULL;
			struct stat st;
			if (i == 0 ? asprintf(&alt, "/proc/%d/root%s", s->pid, m->path) < 0
				   : !(alt = strdup(m->path)))
				break;
			if (!stat(alt, &st) && st.st_ino == m->inode && major(st.st_dev) == m->dev_major &&
			    minor(st.st_dev) == m->dev_minor)
				mod = sym_module_load_path(alt, err, sizeof(err));
			free(alt);
		}
		if (!mod)
			add_warning(s, "no symbols for %s: %s", m->path, err);
	}
	if (!mod) {
		mod = calloc(1, sizeof(*mod));
		if (!mod)
			return m->mod = &s->empty;
	}
	mod->key = strdup(m->key);
	if (!mod->key) {
		sym_module_free(mod);
		return m->mod = &s->empty;
	}
	s->mods[s->nmods++] = mod;
	return m->mod = mod;
}

bool symbolizer_is_user_code(struct symbolizer *s, unsigned long long addr)
{
	if (find_mapping(s, addr))
		return true;
	if (s->refresh_allowed && s->pid > 0) {
		s->refresh_allowed = false;
		if (!read_maps(s))
			return find_mapping(s, addr) != NULL;
	}
	return false;
}

static int pread_path(const char *path, unsigned long long off, unsigned char *buf, unsigned n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;
	if (fd < 0)
		return -1;
	r = pread(fd, buf, n, (off_t)off);
	close(fd);
	return r == (ssize_t)n ? 0 : -1;
}

int symbolizer_read_code(struct symbolizer *s, unsigned long long addr, unsigned char *buf,
			 unsigned n)
{
	struct mapping *m = find_mapping(s, addr);
	unsigned long long foff;
	char path[128];
	struct stat st;

	if (!m || !m->file || addr + n > m->end)
		return -1;
	foff = addr - m->start + m->offset;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", s->pid, m->start, m->end);
	if (!pread_path(path, foff, buf, n))
		return 0;
	/* map_files needs CAP_SYS_ADMIN: the path serves if it is still the very file mapped */
	if (m->deleted || stat(m->path, &st) || st.st_ino != m->inode ||
	    major(st.st_dev) != m->dev_major || minor(st.st_dev) != m->dev_minor)
		return -1;
	return pread_path(m->path, foff, buf, n);
}

int symbolize_user(struct symbolizer *s, unsigned long long addr, struct sym_frame *f)
{
	struct mapping *m = find_mapping(s, addr);
	struct sym_module *mod;
	unsigned long long foff, ea;

	memset(f, 0, sizeof(*f));
	if (!m && s->refresh_allowed && s->pid > 0) {
		s->refresh_allowed = false;
		if (!read_maps(s))
			m = find_mapping(s, addr);
	}
	if (!m) {
		f->module = "[unknown]";
		return -1;
	}
	f->module = m->path;
	if (!m->key)
		return 0; /* anonymous or JIT memory: the caller prints the address */
	mod = module_for(s, m);
	f->build_id = mod->build_id;
	foff = addr - m->start + m->offset;
	if (!sym_module_offset_to_addr(mod, foff, &ea))
		return 0;
	f->elf_addr = ea;
	f->has_elf_addr = true;
	{
		const struct sym *sy = lookup_sym(mod, ea);
		if (sy) {
			f->fn = sy->name;
			f->off = ea - sy->addr;
			f->named_by = sy->table;
		} else if ((f->fn = fde_name(mod, m->path, ea, &f->off))) {
			f->named_by = SYM_EH_FRAME;
		}
	}
	return 0;
}

/* ---- kernel ------------------------------------------------------------------------------------ */

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static char *kernel_build_id(void)
{
	unsigned char buf[4096];
	ssize_t n;
	size_t off = 0;
	int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	while (n > 0 && off + 12 <= (size_t)n) {
		unsigned namesz, descsz, type;
		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		size_t name_off = off + 12, desc_off = name_off + ((namesz + 3) & ~3u);
		if (desc_off + descsz > (size_t)n)
			break;
		if (type == 3 && namesz == 4 && !memcmp(buf + name_off, "GNU", 4) && descsz <= 64)
			return hex(buf + desc_off, descsz);
		off = desc_off + ((descsz + 3) & ~3u);
	}
	return NULL;
}

static const char *kmodname(struct symbolizer *s, const char *name)
{
	char **nn;
	for (size_t i = 0; i < s->nkmodnames; i++)
		if (!strcmp(s->kmodnames[i], name))
			return s->kmodnames[i];
	nn = realloc(s->kmodnames, (s->nkmodnames + 1) * sizeof(*nn));
	if (!nn)
		return "[module]";
	s->kmodnames = nn;
	nn[s->nkmodnames] = strdup(name);
	if (!nn[s->nkmodnames])
		return "[module]";
	return nn[s->nkmodnames++];
}

static void load_kallsyms(struct symbolizer *s)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char *line = NULL;
	size_t lcap = 0, cap = 0, pool_len = 0, pool_cap = 0;
	/* names go in one pool; symbols point at offsets until the pool stops moving */
	struct { unsigned long long addr; size_t name, mod; } *tmp = NULL;
	size_t n = 0;

	s->kloaded = true;
	s->kbuild_id = kernel_build_id();
	if (!f) {
		add_warning(s, "no kernel symbols: /proc/kallsyms: %s", strerror(errno));
		return;
	}
	while (getline(&line, &lcap, f) > 0) {
		unsigned long long addr;
		char type, name[512], mod[256];
		int got;

		/* "ADDR TYPE NAME [MODULE]" — split by hand: sscanf over 100k+ lines costs ~0.2 s here */
		char *p = line, *e, *nm, *md = NULL;
		addr = strtoull(p, &e, 16);
		if (e == p || *e != ' ' || !e[1] || e[2] != ' ')
			continue;
		type = e[1];
		if ((type != 't' && type != 'T') || !addr)
			continue;
		nm = e + 3;
		e = nm + strcspn(nm, " \t\n");
		if (*e == '\t' || *e == ' ') {
			*e++ = 0;
			md = e + strspn(e, " \t");
			md[strcspn(md, " \t\n")] = 0;
		} else {
			*e = 0;
		}
		got = md && md[0] == '[' ? 4 : 3;
		snprintf(name, sizeof(name), "%s", nm);
		if (got == 4)
			snprintf(mod, sizeof(mod), "%s", md);
		size_t nl = strlen(name) + 1;
		if (pool_len + nl > pool_cap) {
			size_t nc = pool_cap ? pool_cap * 2 : 1 << 20;
			char *np = realloc(s->kpool, nc);
			if (!np)
				break;
			s->kpool = np;
			pool_cap = nc;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 1 << 14;
			void *nt = realloc(tmp, nc * sizeof(*tmp));
			if (!nt)
				break;
			tmp = nt;
			cap = nc;
		}
		memcpy(s->kpool + pool_len, name, nl);
		tmp[n].addr = addr;
		tmp[n].name = pool_len;
		tmp[n].mod = got == 4 && mod[0] == '[' ? (size_t)kmodname(s, mod) : 0;
		pool_len += nl;
		n++;
	}
	free(line);
	fclose(f);
	if (!n)
		add_warning(s, "no kernel symbols: /proc/kallsyms shows no addresses (needs "
			       "CAP_SYSLOG, or kernel.kptr_restrict=0 and perf_event_paranoid <= 1)");
	s->ksyms = calloc(n ? n : 1, sizeof(*s->ksyms));
	if (!s->ksyms) {
		free(tmp);
		return;
	}
	for (size_t i = 0; i < n; i++)
		s->ksyms[i] = (struct ksym){ tmp[i].addr, s->kpool + tmp[i].name,
					     tmp[i].mod ? (const char *)tmp[i].mod : "[kernel]" };
	free(tmp);
	s->nksyms = n;
	qsort(s->ksyms, n, sizeof(*s->ksyms), ksym_cmp);
}

int symbolize_kernel(struct symbolizer *s, unsigned long long addr, struct sym_frame *f)
{
	size_t lo = 0, hi;

	memset(f, 0, sizeof(*f));
	f->module = "[kernel]";
	if (!s->kloaded)
		load_kallsyms(s);
	hi = s->nksyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ksyms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	f->fn = s->ksyms[lo - 1].name;
	f->named_by = SYM_KALLSYMS;
	f->off = addr - s->ksyms[lo - 1].addr;
	f->module = s->ksyms[lo - 1].module;
	if (!strcmp(f->module, "[kernel]"))
		f->build_id = s->kbuild_id;
	return 0;
}

/* ---- lifetime ---------------------------------------------------------------------------------- */

struct symbolizer *symbolizer_new(int pid)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	elf_version(EV_CURRENT);
	s->pid = pid;
	s->empty.loaded = false;
	if (pid > 0)
		read_maps(s); /* a failure here is retried at the first unmapped address */
	load_kallsyms(s); /* now rather than in the first drain: every mode sees kernel stacks */
	s->refresh_allowed = true;
	return s;
}

void symbolizer_allow_refresh(struct symbolizer *s)
{
	s->refresh_allowed = true;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	free_maps(s);
	for (size_t i = 0; i < s->nmods; i++)
		sym_module_free(s->mods[i]);
	free(s->ksyms);
	free(s->kpool);
	for (size_t i = 0; i < s->nkmodnames; i++)
		free(s->kmodnames[i]);
	free(s->kmodnames);
	free(s->kbuild_id);
	free(s);
}
