/* test_symbolize.c — the symbolizer against nm/readelf, in this process and in a child whose
 * executable has been deleted. Run: test_symbolize (built -pie and -no-pie by test/Makefile). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../symbolize.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures, checks;

#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* A static function only .symtab knows, and one with a name no C identifier could have. */
__attribute__((noinline, used)) static int local_fn(int x)
{
	return x * 3 + 1;
}

#define HOSTILE "we\"ird\\name <img src=x onerror=alert(1)>\t$"
/* the same name as gas wants it: quoted, with '"' and '\\' escaped by a backslash */
#define HOSTILE_ASM "\"we\\\"ird\\\\name <img src=x onerror=alert(1)>\t$\""
__attribute__((noinline, used)) int hostile_fn(int x) __asm__(HOSTILE_ASM);
__attribute__((noinline, used)) int hostile_fn(int x)
{
	return x ^ 0x5a;
}
/* gas takes such a name in data (.quad) but not as an instruction operand: reach it by pointer */
int (*volatile hostile_ptr)(int) = hostile_fn;

struct nm_sym {
	unsigned long long addr, size;
	char name[512];
};

/* `nm -S --defined-only` text symbols of path */
static struct nm_sym *read_nm_flags(const char *path, size_t *n, const char *flags)
{
	char cmd[PATH_MAX + 64], line[1024];
	struct nm_sym *v = NULL;
	size_t cap = 0;
	FILE *p;

	*n = 0;
	snprintf(cmd, sizeof(cmd), "nm %s -S --defined-only '%s' 2>/dev/null", flags, path);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	while (fgets(line, sizeof(line), p)) {
		unsigned long long a, sz = 0;
		char t;
		int used = 0;
		/* "ADDR SIZE T NAME" or "ADDR T NAME" (no size) */
		if (sscanf(line, "%llx %llx %c %n", &a, &sz, &t, &used) < 3 || !used) {
			used = 0;
			sz = 0;
			if (sscanf(line, "%llx %c %n", &a, &t, &used) < 2 || !used)
				continue;
		}
		if (t != 'T' && t != 't' && t != 'i')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, cap * sizeof(*v));
		}
		v[*n].addr = a;
		v[*n].size = sz;
		snprintf(v[*n].name, sizeof(v[*n].name), "%s", line + used);
		v[*n].name[strcspn(v[*n].name, "\n")] = 0;
		if (flags[0]) /* nm -D appends the symbol version, which is not part of the name */
			v[*n].name[strcspn(v[*n].name, "@")] = 0;
		(*n)++;
	}
	pclose(p);
	return v;
}

/* .symtab, or .dynsym for a stripped file (what the symbolizer falls back to) */
static struct nm_sym *read_nm(const char *path, size_t *n)
{
	struct nm_sym *v = read_nm_flags(path, n, "");
	if (*n)
		return v;
	free(v);
	return read_nm_flags(path, n, "-D");
}

static bool nm_has(const struct nm_sym *v, size_t n, const char *name, unsigned long long addr)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].addr == addr && !strcmp(v[i].name, name))
			return true;
	return false;
}

static const struct nm_sym *nm_find(const struct nm_sym *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static void readelf_build_id(const char *path, char *out, size_t len)
{
	char cmd[PATH_MAX + 64], line[512];
	FILE *p;

	out[0] = 0;
	snprintf(cmd, sizeof(cmd), "readelf -n '%s'", path);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		char *b = strstr(line, "Build ID: ");
		if (b) {
			snprintf(out, len, "%s", b + 10);
			out[strcspn(out, "\n")] = 0;
		}
	}
	if (p)
		pclose(p);
}

/* every nm function start (and its last byte) resolves to that function or an alias at the
 * same address */
static void test_module_vs_nm(const char *path)
{
	char err[256], bid[200];
	struct sym_module *m = sym_module_load_path(path, err, sizeof(err));
	size_t n;
	struct nm_sym *v = read_nm(path, &n);
	size_t ok = 0;

	EXPECT(m != NULL, "load %s: %s", path, err);
	EXPECT(n > 5, "nm found %zu functions in %s", n, path);
	if (!m || !v)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned long long off = 99;
		const char *name = sym_module_lookup(m, v[i].addr, &off);
		EXPECT(name && off == 0 && nm_has(v, n, name, v[i].addr),
		       "%s: %s at 0x%llx resolved to %s+%llu", path, v[i].name, v[i].addr,
		       name ? name : "(none)", off);
		if (v[i].size > 1) {
			name = sym_module_lookup(m, v[i].addr + v[i].size - 1, &off);
			EXPECT(name && off == v[i].size - 1,
			       "%s: last byte of %s resolved to %s+%llu", path, v[i].name,
			       name ? name : "(none)", off);
		}
		ok++;
	}
	readelf_build_id(path, bid, sizeof(bid));
	EXPECT(bid[0] && sym_module_build_id(m) && !strcmp(bid, sym_module_build_id(m)),
	       "%s: build-id %s, readelf says %s", path,
	       sym_module_build_id(m) ? sym_module_build_id(m) : "(none)", bid);
	printf("  %s: %zu nm functions checked\n", path, ok);
	sym_module_free(m);
	free(v);
}

/* PLT stubs are named NAME@plt at the addresses objdump labels them */
static void test_plt_vs_objdump(const char *path)
{
	char cmd[PATH_MAX + 96], line[1024], err[256];
	struct sym_module *m = sym_module_load_path(path, err, sizeof(err));
	size_t ok = 0;
	FILE *p;

	if (!m)
		return;
	snprintf(cmd, sizeof(cmd), "objdump -d -j .plt -j .plt.sec '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		unsigned long long a, off = 99;
		char name[512];
		const char *got;
		size_t l;
		/* objdump labels the .plt header entry "x@plt-0x10": not a stub */
		if (sscanf(line, "%llx <%511[^>]>:", &a, name) != 2 || (l = strlen(name)) < 4 || strcmp(name + l - 4, "@plt"))
			continue;
		got = sym_module_lookup(m, a, &off);
		EXPECT(got && !strcmp(got, name) && off == 0, "%s: plt stub %s at 0x%llx resolved to %s", path, name, a,
		       got ? got : "(none)");
		ok++;
	}
	if (p)
		pclose(p);
	EXPECT(ok > 0, "%s: objdump lists no PLT stubs", path);
	printf("  %s: %zu PLT stubs checked\n", path, ok);
	sym_module_free(m);
}

/* runtime address -> name/offset/module/ELF address, through this process's maps */
static void test_live(const char *self)
{
	struct symbolizer *s = symbolizer_new(getpid());
	size_t n;
	struct nm_sym *v = read_nm(self, &n);
	const struct nm_sym *lf = nm_find(v, n, "local_fn"), *hf = nm_find(v, n, HOSTILE);
	struct sym_frame f;
	char bid[200], real[PATH_MAX];

	EXPECT(lf && hf, "nm lists local_fn and the hostile name");
	if (!lf || !hf)
		return;
	readelf_build_id(self, bid, sizeof(bid));
	realpath(self, real);
	EXPECT(symbolize_user(s, (uintptr_t)&local_fn + 2, &f) == 0, "local_fn is mapped");
	EXPECT(f.fn && !strcmp(f.fn, "local_fn") && f.off == 2, "local_fn+2 -> %s+%llu",
	       f.fn ? f.fn : "(none)", f.off);
	EXPECT(f.has_elf_addr && f.elf_addr == lf->addr + 2, "elf_addr 0x%llx, nm 0x%llx + 2",
	       f.elf_addr, lf->addr);
	EXPECT(!strcmp(f.module, real), "module %s, want %s", f.module, real);
	EXPECT(f.build_id && !strcmp(f.build_id, bid), "build-id %s want %s",
	       f.build_id ? f.build_id : "(none)", bid);

	EXPECT(symbolize_user(s, (uintptr_t)hostile_ptr, &f) == 0, "hostile_fn mapped");
	EXPECT(f.fn && !strcmp(f.fn, HOSTILE) && f.off == 0, "hostile name came back as %s",
	       f.fn ? f.fn : "(none)");

	/* a libc function through .dynsym: some alias of the same address */
	void *gp = dlsym(RTLD_DEFAULT, "getpid");
	Dl_info di;
	EXPECT(gp && dladdr(gp, &di), "dlsym(getpid)");
	if (gp && dladdr(gp, &di)) {
		struct sym_module *libc;
		char err[256], rp[PATH_MAX];
		unsigned long long off;
		EXPECT(symbolize_user(s, (uintptr_t)gp + 1, &f) == 0, "getpid mapped");
		realpath(di.dli_fname, rp);
		EXPECT(!strcmp(f.module, rp), "libc module %s want %s", f.module, rp);
		libc = sym_module_load_path(rp, err, sizeof(err));
		EXPECT(libc && f.fn && f.off == 1 &&
			       !strcmp(sym_module_lookup(libc, f.elf_addr - 1, &off), f.fn),
		       "getpid+1 -> %s+%llu", f.fn ? f.fn : "(none)", f.off);
		EXPECT(f.fn && strstr(f.fn, "getpid"), "libc name %s names getpid",
		       f.fn ? f.fn : "(none)");
		sym_module_free(libc);
	}

	/* anonymous executable memory: no file, no symbol, no ELF address */
	EXPECT(symbolize_user(s, 8, &f) == -1 && !f.fn, "address 8 is unmapped");

	/* the kernel: a kallsyms text symbol, 3 bytes in */
	FILE *k = fopen("/proc/kallsyms", "re");
	char line[512], want[256] = "";
	unsigned long long ka = 0;
	while (k && fgets(line, sizeof(line), k)) {
		char t;
		if (sscanf(line, "%llx %c %255s", &ka, &t, want) == 3 && t == 'T' && ka &&
		    !strcmp(want, "schedule"))
			break;
		want[0] = 0;
	}
	if (k)
		fclose(k);
	EXPECT(want[0], "kallsyms lists schedule with an address (run as root)");
	if (want[0]) {
		EXPECT(symbolize_kernel(s, ka + 3, &f) == 0 && f.fn && !strcmp(f.fn, "schedule") &&
			       f.off == 3 && !strcmp(f.module, "[kernel]") && f.build_id,
		       "schedule+3 -> %s+%llu in %s", f.fn ? f.fn : "(none)", f.off, f.module);
	}
	symbolizer_free(s);
	free(v);
}

/* the same through another process whose executable file no longer exists */
static void test_deleted(const char *self)
{
	char tmpl[] = "/tmp/pktpath-symtest-XXXXXX", line[128], buf[1 << 16];
	int fd = mkstemp(tmpl), src = open(self, O_RDONLY), pfd[2];
	ssize_t r;
	pid_t child;
	unsigned long long addr = 0;
	size_t n;
	struct nm_sym *v = read_nm(self, &n);
	const struct nm_sym *lf = nm_find(v, n, "local_fn");

	while ((r = read(src, buf, sizeof(buf))) > 0)
		write(fd, buf, r);
	close(src);
	fchmod(fd, 0755);
	close(fd);
	pipe(pfd);
	child = fork();
	if (child == 0) {
		dup2(pfd[1], 1);
		execl(tmpl, tmpl, "--child", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	FILE *in = fdopen(pfd[0], "r");
	if (fgets(line, sizeof(line), in))
		addr = strtoull(line, NULL, 16);
	unlink(tmpl);
	EXPECT(addr != 0, "child reported its local_fn address");
	if (addr && lf) {
		struct symbolizer *s = symbolizer_new(child);
		struct sym_frame f;
		EXPECT(symbolize_user(s, addr + 4, &f) == 0 && f.fn && !strcmp(f.fn, "local_fn") &&
			       f.off == 4 && f.elf_addr == lf->addr + 4,
		       "deleted child: local_fn+4 -> %s+%llu elf 0x%llx", f.fn ? f.fn : "(none)",
		       f.off, f.elf_addr);
		EXPECT(!strcmp(f.module, tmpl), "deleted module %s want %s", f.module, tmpl);
		symbolizer_free(s);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	fclose(in);
	free(v);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "--child")) {
		printf("%llx\n", (unsigned long long)(uintptr_t)&local_fn);
		fflush(stdout);
		pause();
		return local_fn(1) + hostile_ptr(2);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = 0;
	test_module_vs_nm(self);
	test_plt_vs_objdump(self);
	for (int i = 1; i < argc; i++)
		test_module_vs_nm(argv[i]); /* more ELF files to compare, e.g. libc */
	test_live(self);
	test_deleted(self);
	if (failures) {
		fprintf(stderr, "symbolize: %d of %d checks failed\n", failures, checks);
		return 1;
	}
	printf("symbolize (%s): %d checks ok\n", self, checks);
	return 0;
}
