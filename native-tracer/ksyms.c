/* ksyms.c — kernel symbols from /proc/kallsyms and the kernel's build-id (ksyms.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ksyms.h"
#include "sym_module.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
			return sym_hex(buf + desc_off, descsz);
		off = desc_off + ((descsz + 3) & ~3u);
	}
	return NULL;
}

static const char *kmodname(struct ksyms *s, const char *name)
{
	char **nn;
	for (size_t i = 0; i < s->nmodnames; i++)
		if (!strcmp(s->modnames[i], name))
			return s->modnames[i];
	nn = realloc(s->modnames, (s->nmodnames + 1) * sizeof(*nn));
	if (!nn)
		return "[module]";
	s->modnames = nn;
	nn[s->nmodnames] = strdup(name);
	if (!nn[s->nmodnames])
		return "[module]";
	return nn[s->nmodnames++];
}

void ksyms_load(struct ksyms *s, char *warn, size_t warnlen)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char *line = NULL;
	size_t lcap = 0, cap = 0, pool_len = 0, pool_cap = 0;
	/* names go in one pool; symbols point at offsets until the pool stops moving */
	struct { unsigned long long addr; size_t name, mod; } *tmp = NULL;
	size_t n = 0;

	warn[0] = 0;
	s->loaded = true;
	s->build_id = kernel_build_id();
	if (!f) {
		snprintf(warn, warnlen, "no kernel symbols: /proc/kallsyms: %s", strerror(errno));
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
			char *np = realloc(s->pool, nc);
			if (!np)
				break;
			s->pool = np;
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
		memcpy(s->pool + pool_len, name, nl);
		tmp[n].addr = addr;
		tmp[n].name = pool_len;
		tmp[n].mod = got == 4 && mod[0] == '[' ? (size_t)kmodname(s, mod) : 0;
		pool_len += nl;
		n++;
	}
	free(line);
	fclose(f);
	if (!n)
		snprintf(warn, warnlen, "no kernel symbols: /proc/kallsyms shows no addresses (needs "
			       "CAP_SYSLOG, or kernel.kptr_restrict=0 and perf_event_paranoid <= 1)");
	s->syms = calloc(n ? n : 1, sizeof(*s->syms));
	if (!s->syms) {
		free(tmp);
		return;
	}
	for (size_t i = 0; i < n; i++)
		s->syms[i] = (struct ksym){ tmp[i].addr, s->pool + tmp[i].name,
					     tmp[i].mod ? (const char *)tmp[i].mod : "[kernel]" };
	free(tmp);
	s->n = n;
	qsort(s->syms, n, sizeof(*s->syms), ksym_cmp);
}

int ksyms_lookup(const struct ksyms *s, unsigned long long addr, struct sym_frame *f)
{
	size_t k = sym_count_at_or_below(s->syms, s->n, sizeof(*s->syms), addr);

	memset(f, 0, sizeof(*f));
	f->module = "[kernel]";
	if (!k)
		return -1;
	f->fn = s->syms[k - 1].name;
	f->named_by = SYM_KALLSYMS;
	f->off = addr - s->syms[k - 1].addr;
	f->module = s->syms[k - 1].module;
	if (!strcmp(f->module, "[kernel]"))
		f->build_id = s->build_id;
	return 0;
}

void ksyms_free(struct ksyms *s)
{
	free(s->syms);
	free(s->pool);
	for (size_t i = 0; i < s->nmodnames; i++)
		free(s->modnames[i]);
	free(s->modnames);
	free(s->build_id);
	memset(s, 0, sizeof(*s));
}
