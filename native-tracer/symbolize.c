/* symbolize.c — user addresses via /proc/PID/maps to the mapped files' symbols (sym_module.c),
 * kernel addresses via kallsyms (ksyms.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "symbolize.h"
#include "ksyms.h"
#include "sym_module.h"
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

struct symbolizer {
	int pid;
	struct mapping *maps;
	size_t nmaps;
	bool refresh_allowed;
	struct sym_module *mods[MAX_MODULES];
	size_t nmods;
	struct ksyms k;
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
			mod = sym_module_from_elf(elf, err, sizeof(err));
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
		const struct sym *sy = sym_module_find(mod, ea);
		if (sy) {
			f->fn = sy->name;
			f->off = ea - sy->addr;
			f->named_by = sy->table;
		} else if ((f->fn = sym_module_fde_name(mod, m->path, ea, &f->off))) {
			f->named_by = SYM_EH_FRAME;
		}
	}
	return 0;
}

/* ---- kernel ------------------------------------------------------------------------------------ */

static void load_kernel(struct symbolizer *s)
{
	char w[384];
	ksyms_load(&s->k, w, sizeof(w));
	if (w[0])
		add_warning(s, "%s", w);
}

int symbolize_kernel(struct symbolizer *s, unsigned long long addr, struct sym_frame *f)
{
	if (!s->k.loaded)
		load_kernel(s);
	return ksyms_lookup(&s->k, addr, f);
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
	load_kernel(s); /* now rather than in the first drain: every mode sees kernel stacks */
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
	ksyms_free(&s->k);
	free(s);
}
