/* dpdk_query.c — `pktpath-tracer --dpdk-query --pid PID`: what a running DPDK 22.11 process is made
 * of, read from its memory (no probes, nothing written): its rte_graph nodes and its ethdev ports'
 * burst functions, each as the function the process really calls, with its module, ELF address
 * and range (symbol, else the .eh_frame FDE). One JSON object per line on stdout:
 *   {"type":"dpdk","pid":P,"tsc":N,"mono_ns":N,"graph_lib":"/..so.23"|null,"ethdev_lib":...|null}
 *   {"type":"node","graph":"worker_0","name":"ip4_lookup","id":3,"process":"0x..","module":"/..",
 *    "elf_addr":"0x..","fn":"name"|null,"lo":"0x..","hi":"0x..","calls":N,"objs":N,"cycles":N,
 *    "source":true|false|null}
 *   "source": the node is one of its graph's source nodes (registered with RTE_NODE_SOURCE_F: polled on every
 *   walk whether or not it has packets, like ethdev_rx-*), from the graph's source list below cir_start;
 *   null when that list cannot be read. Older tracers do not write it.
 *   {"type":"port","port":0,"dir":"rx"|"tx","burst":"0x..","module":..,"elf_addr":..,"fn":..,"lo":..,"hi":..}
 *   {"type":"warning","message":"..."}
 *   {"type":"error","message":"..."}   (then exit 1)
 * With `--nodes 0xADDR,...` (node addresses, "addr" of an earlier answer) only those nodes are read
 * (no scan, no ports, and the process function's address only: no module is opened): how counters are read
 * during a recording.
 * `tsc`/`mono_ns` are read together, so two queries give the TSC rate rte_graph's cycles count in.
 * Layout: dpdk_layout.h. */
#include "dpdk_query.h"
#include "dpdk_layout.h"
#include "dwarf_query.h"
#include "json.h"
#include "symbolize.h"
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

struct mapping {
	unsigned long long lo, hi, off;
	char perms[5];
	char path[512];
};

struct maps {
	struct mapping *m;
	size_t n;
};

static int maps_read(int pid, struct maps *out)
{
	char path[64], line[1024];
	size_t cap = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	out->m = NULL;
	out->n = 0;
	while (fgets(line, sizeof(line), f)) {
		struct mapping m = { 0 };
		int used = 0;
		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %n", &m.lo, &m.hi, m.perms, &m.off, &used) < 4)
			continue;
		if (used) {
			snprintf(m.path, sizeof(m.path), "%s", line + used);
			m.path[strcspn(m.path, "\n")] = 0;
		}
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct mapping *nm = realloc(out->m, cap * sizeof(*nm));
			if (!nm) {
				fclose(f);
				return -1;
			}
			out->m = nm;
		}
		out->m[out->n++] = m;
	}
	fclose(f);
	return 0;
}

/* The mapped file whose name contains `stem` (e.g. "librte_graph.so."), or NULL. */
static const struct mapping *maps_find_lib(const struct maps *mp, const char *stem)
{
	for (size_t i = 0; i < mp->n; i++) {
		const char *b = strrchr(mp->m[i].path, '/');
		if (b && !strncmp(b + 1, stem, strlen(stem)))
			return &mp->m[i];
	}
	return NULL;
}

static bool lib_abi_ok(const char *path, const char *stem)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return !strncmp(b + strlen(stem), DPDK_ABI, strlen(DPDK_ABI)) &&
	       (b[strlen(stem) + strlen(DPDK_ABI)] == 0 || b[strlen(stem) + strlen(DPDK_ABI)] == '.');
}

static void emit_msg(FILE *out, const char *type, const char *msg)
{
	fprintf(out, "{\"type\":\"%s\",\"message\":", type);
	json_write_strz(out, msg);
	fputs("}\n", out);
}

/* A small cache of opened modules for function ranges. */
struct dq_cache {
	char path[8][512];
	struct dq *q[8];
	int n;
};

static struct dq *dq_for(struct dq_cache *c, const char *path)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->path[i], path))
			return c->q[i];
	char err[256];
	struct dq *q = dq_open(path, err, sizeof(err));
	if (c->n < 8) {
		snprintf(c->path[c->n], sizeof(c->path[0]), "%s", path);
		c->q[c->n++] = q;
	}
	return q;
}

/* Writes ,"process"/"burst":..,"module","elf_addr","fn","lo","hi" for a code address of the process.
 * false when the address is in no file-backed mapping (nothing written but the address). */
static bool write_function(FILE *out, struct symbolizer *s, struct dq_cache *c, const char *key,
			   unsigned long long addr)
{
	struct sym_frame f;
	fprintf(out, ",\"%s\":\"0x%llx\"", key, addr);
	if (!s || symbolize_user(s, addr, &f) || !f.has_elf_addr || !f.module || f.module[0] != '/') {
		fputs(",\"module\":null,\"elf_addr\":null,\"fn\":null,\"lo\":null,\"hi\":null", out);
		return false;
	}
	fputs(",\"module\":", out);
	json_write_strz(out, f.module);
	fprintf(out, ",\"elf_addr\":\"0x%llx\"", f.elf_addr);
	struct dq *q = c ? dq_for(c, f.module) : NULL; /* no cache: counters only, ranges not wanted */
	struct dq_addr a;
	unsigned long long lo = 0, hi = 0;
	const char *name = NULL;
	memset(&a, 0, sizeof(a));
	if (q) {
		dq_addr(q, f.elf_addr, &a); /* false without symbol or DWARF: the FDE may still be there */
		if (a.sym && a.sym_hi > a.sym_lo) {
			lo = a.sym_lo, hi = a.sym_hi, name = a.sym;
		} else if (a.fde_hi > a.fde_lo) {
			lo = a.fde_lo, hi = a.fde_hi;
		}
	}
	fputs(",\"fn\":", out);
	json_write_strz(out, name);
	if (hi > lo)
		fprintf(out, ",\"lo\":\"0x%llx\",\"hi\":\"0x%llx\"", lo, hi);
	else
		fputs(",\"lo\":null,\"hi\":null", out);
	return true;
}

static bool printable_name(const char *n, size_t cap)
{
	size_t i = 0;
	for (; i < cap && n[i]; i++)
		if (n[i] < 0x20 || n[i] > 0x7e)
			return false;
	return i > 0 && i < cap;
}

/* Whether the node at offset `off` of `graph` is one of its source nodes: their offsets sit at cir_start[-1..-n],
 * n = -head (dpdk_layout.h). -1 when the list cannot be read or does not look like one. */
static int node_is_source(int memfd, unsigned long long graph, uint32_t off)
{
	uint32_t head, nb_nodes, srcs[256];
	uint64_t cir_start;
	if (pread(memfd, &head, 4, (off_t)(graph + DPDK_GRAPH_HEAD)) != 4 ||
	    pread(memfd, &nb_nodes, 4, (off_t)(graph + DPDK_GRAPH_NB_NODES)) != 4 ||
	    pread(memfd, &cir_start, 8, (off_t)(graph + DPDK_GRAPH_CIR_START)) != 8)
		return -1;
	int32_t n = -(int32_t)head;
	/* the source list lies between the graph header and cir_start */
	if (n < 0 || (uint32_t)n > nb_nodes || n > (int32_t)(sizeof(srcs) / 4) ||
	    cir_start < graph + DPDK_GRAPH_FENCE_OFF + 8 + 4ULL * (uint32_t)n)
		return -1;
	if (n == 0)
		return 0;
	if (pread(memfd, srcs, 4 * (size_t)n, (off_t)(cir_start - 4ULL * (uint32_t)n)) != (ssize_t)(4 * (size_t)n))
		return -1;
	for (int32_t i = 0; i < n; i++)
		if (srcs[i] == off)
			return 1;
	return 0;
}

/* The node at `node` (DPDK_NODE_READ bytes of it in n), written as a "node" line when it is one. */
static bool emit_node(int memfd, unsigned long long node, const unsigned char *n, struct symbolizer *s,
		      struct dq_cache *c, FILE *out)
{
	uint64_t fence, cycles, calls, objs, process, gfence = 0;
	uint32_t id, off;
	char name[DPDK_NAMESIZE], gname[DPDK_NAMESIZE];

	memcpy(&fence, n + DPDK_NODE_FENCE, 8);
	if (fence != DPDK_GRAPH_FENCE)
		return false;
	memcpy(name, n + DPDK_NODE_NAME, sizeof(name));
	memcpy(&process, n + DPDK_NODE_PROCESS, 8);
	if (!printable_name(name, sizeof(name)) || !process)
		return false;
	memcpy(&id, n + DPDK_NODE_ID, 4);
	memcpy(&off, n + DPDK_NODE_OFF, 4);
	memcpy(&cycles, n + DPDK_NODE_TOTAL_CYCLES, 8);
	memcpy(&calls, n + DPDK_NODE_TOTAL_CALLS, 8);
	memcpy(&objs, n + DPDK_NODE_TOTAL_OBJS, 8);
	/* the graph this node belongs to: its header is `off` bytes before it, with a fence of its own;
	 * a fence word elsewhere is not a node */
	unsigned long long graph = node - off;
	if (!off || pread(memfd, &gfence, 8, (off_t)(graph + DPDK_GRAPH_FENCE_OFF)) != 8 || gfence != DPDK_GRAPH_FENCE ||
	    pread(memfd, gname, sizeof(gname), (off_t)(graph + DPDK_GRAPH_NAME)) != sizeof(gname))
		return false;
	if (!printable_name(gname, sizeof(gname)))
		gname[0] = 0;
	fputs("{\"type\":\"node\",\"graph\":", out);
	json_write_strz(out, gname);
	fputs(",\"name\":", out);
	json_write_strz(out, name);
	fprintf(out, ",\"id\":%u,\"addr\":\"0x%llx\"", id, node);
	write_function(out, s, c, "process", process);
	int source = node_is_source(memfd, graph, off);
	fprintf(out, ",\"calls\":%llu,\"objs\":%llu,\"cycles\":%llu,\"source\":%s}\n", (unsigned long long)calls,
		(unsigned long long)objs, (unsigned long long)cycles, source < 0 ? "null" : source ? "true" : "false");
	return true;
}

/* Every node in the process's writable memory: rte_node is cache aligned, so only 64-byte
 * boundaries are looked at. */
static int scan_nodes(int memfd, const struct maps *mp, struct symbolizer *s, struct dq_cache *c, FILE *out)
{
	const size_t chunk = 1 << 20;
	unsigned char *buf = malloc(chunk + DPDK_NODE_READ);
	int found = 0;
	if (!buf)
		return -1;
	for (size_t i = 0; i < mp->n; i++) {
		const struct mapping *m = &mp->m[i];
		if (m->perms[0] != 'r' || m->perms[1] != 'w')
			continue;
		if (!strcmp(m->path, "[vvar]") || !strcmp(m->path, "[vsyscall]") || !strcmp(m->path, "[stack]"))
			continue;
		for (unsigned long long a = m->lo; a < m->hi; a += chunk) {
			size_t len = m->hi - a < chunk + DPDK_NODE_READ ? m->hi - a : chunk + DPDK_NODE_READ;
			ssize_t got = pread(memfd, buf, len, (off_t)a);
			if (got < DPDK_NODE_READ)
				continue;
			for (size_t o = 0; o + DPDK_NODE_READ <= (size_t)got && o < chunk; o += 64) {
				uint64_t fence;
				memcpy(&fence, buf + o, 8);
				if (fence == DPDK_GRAPH_FENCE && emit_node(memfd, a + o, buf + o, s, c, out))
					found++;
			}
		}
	}
	free(buf);
	return found;
}

/* Only the nodes at the given addresses (from an earlier answer): a counter read costs microseconds
 * instead of a scan of the process's memory. */
static int read_nodes(int memfd, const char *list, FILE *out)
{
	unsigned char n[DPDK_NODE_READ];
	int found = 0;
	for (const char *p = list; *p;) {
		char *end;
		unsigned long long a = strtoull(p, &end, 16);
		if (end == p)
			break;
		if (pread(memfd, n, sizeof(n), (off_t)a) == (ssize_t)sizeof(n) && emit_node(memfd, a, n, NULL, NULL, out))
			found++;
		p = *end == ',' ? end + 1 : end;
	}
	return found;
}

/* The address of a .dynsym object symbol in the running process: its ELF value plus the load bias
 * of the mapped library. 0 when not found. */
static unsigned long long dynsym_object(const struct maps *mp, const char *lib, const char *sym,
					unsigned long long *size)
{
	unsigned long long value = 0, bias = 0, first_vaddr = ~0ULL;
	int fd = open(lib, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t nph = 0;
	if (e && !elf_getphdrnum(e, &nph))
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < first_vaddr)
				first_vaddr = ph.p_vaddr & ~0xfffULL;
		}
	for (Elf_Scn *scn = NULL; e && (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym st;
			const char *n;
			if (gelf_getsym(d, (int)i, &st) && st.st_shndx != SHN_UNDEF &&
			    GELF_ST_TYPE(st.st_info) == STT_OBJECT && (n = elf_strptr(e, sh.sh_link, st.st_name)) &&
			    !strcmp(n, sym)) {
				value = st.st_value;
				*size = st.st_size;
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	if (!value || first_vaddr == ~0ULL)
		return 0;
	for (size_t i = 0; i < mp->n; i++)
		if (!strcmp(mp->m[i].path, lib) && mp->m[i].off == 0) {
			bias = mp->m[i].lo - first_vaddr;
			return bias + value;
		}
	return 0;
}

static int scan_ports(int memfd, const char *exe_link, const struct maps *mp, const struct mapping *ethdev,
		      struct symbolizer *s, struct dq_cache *c, FILE *out)
{
	unsigned long long size = 0, at = 0;
	char exe[512];
	/* An executable that reads rte_eth_fp_ops itself (rte_eth_rx_burst inlined, as in l3fwd) has a
	 * copy relocation: the array lives in its .bss and librte_ethdev uses that copy. */
	ssize_t n = readlink(exe_link, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		at = dynsym_object(mp, exe, "rte_eth_fp_ops", &size);
	}
	if (!at)
		at = dynsym_object(mp, ethdev->path, "rte_eth_fp_ops", &size);
	unsigned char ops[DPDK_MAX_ETHPORTS * DPDK_FP_OPS_SIZE];
	char msg[768];
	int found = 0;

	if (!at) {
		snprintf(msg, sizeof(msg), "rte_eth_fp_ops not found in %s's .dynsym", ethdev->path);
		emit_msg(out, "warning", msg);
		return 0;
	}
	if (size != sizeof(ops)) {
		snprintf(msg, sizeof(msg), "rte_eth_fp_ops in %s is %llu bytes, not the %zu of DPDK 22.11: not read",
			 ethdev->path, size, sizeof(ops));
		emit_msg(out, "warning", msg);
		return 0;
	}
	if (pread(memfd, ops, sizeof(ops), (off_t)at) != (ssize_t)sizeof(ops)) {
		emit_msg(out, "warning", "cannot read rte_eth_fp_ops from the process's memory");
		return 0;
	}
	for (int p = 0; p < DPDK_MAX_ETHPORTS; p++) {
		static const struct {
			const char *dir;
			int fn, data;
		} dirs[] = { { "rx", DPDK_FP_RX_BURST, DPDK_FP_RXQ_DATA }, { "tx", DPDK_FP_TX_BURST, DPDK_FP_TXQ_DATA } };
		for (int d = 0; d < 2; d++) {
			uint64_t fn, data;
			memcpy(&fn, ops + p * DPDK_FP_OPS_SIZE + dirs[d].fn, 8);
			memcpy(&data, ops + p * DPDK_FP_OPS_SIZE + dirs[d].data, 8);
			/* a port not started keeps ethdev's dummy functions (inside librte_ethdev itself) */
			if (!fn || !data)
				continue;
			struct sym_frame f;
			if (!symbolize_user(s, fn, &f) && f.module && !strcmp(f.module, ethdev->path))
				continue;
			fprintf(out, "{\"type\":\"port\",\"port\":%d,\"dir\":\"%s\"", p, dirs[d].dir);
			write_function(out, s, c, "burst", fn);
			fputs("}\n", out);
			found++;
		}
	}
	return found;
}

int dpdk_query_main(int pid, const char *nodes, FILE *out)
{
	struct maps mp;
	char path[64], msg[768];
	struct timespec ts;
	struct dq_cache cache = { .n = 0 };
	int rc = 0;

	if (pid <= 0 || maps_read(pid, &mp)) {
		snprintf(msg, sizeof(msg), "cannot read /proc/%d/maps (no such process, or not permitted)", pid);
		emit_msg(out, "error", msg);
		return 1;
	}
	const struct mapping *graph = maps_find_lib(&mp, "librte_graph.so.");
	const struct mapping *ethdev = maps_find_lib(&mp, "librte_ethdev.so.");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long tsc = __rdtsc();
	fprintf(out, "{\"type\":\"dpdk\",\"pid\":%d,\"tsc\":%llu,\"mono_ns\":%llu,\"graph_lib\":", pid, tsc,
		(unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
	json_write_strz(out, graph ? graph->path : NULL);
	fputs(",\"ethdev_lib\":", out);
	json_write_strz(out, ethdev ? ethdev->path : NULL);
	fputs("}\n", out);
	if (!ethdev) {
		emit_msg(out, "error", "the process has no librte_ethdev.so mapped: not a DPDK process linked with "
				       "DPDK's shared libraries (a static DPDK build keeps its structure where this "
				       "query does not look)");
		rc = 1;
		goto done;
	}
	if (!lib_abi_ok(ethdev->path, "librte_ethdev.so.") || (graph && !lib_abi_ok(graph->path, "librte_graph.so."))) {
		snprintf(msg, sizeof(msg), "%s: only DPDK 22.11 (ABI " DPDK_ABI ") is known to this tracer; the layout of "
			 "its structures differs in other versions", graph && !lib_abi_ok(graph->path, "librte_graph.so.") ? graph->path : ethdev->path);
		emit_msg(out, "error", msg);
		rc = 1;
		goto done;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	int memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (memfd < 0) {
		snprintf(msg, sizeof(msg), "cannot open /proc/%d/mem (reading another process's memory needs root "
			 "or ptrace permission)", pid);
		emit_msg(out, "error", msg);
		rc = 1;
		goto done;
	}
	struct symbolizer *s = nodes ? NULL : symbolizer_new(pid);
	if (nodes) {
		if (read_nodes(memfd, nodes, out) == 0)
			emit_msg(out, "warning", "no rte_graph node at the addresses given (the graph was destroyed?)");
	} else {
		if (graph && scan_nodes(memfd, &mp, s, &cache, out) == 0)
			emit_msg(out, "warning", "librte_graph is loaded but no rte_graph node was found in the process's "
						 "memory (no graph created yet?)");
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		scan_ports(memfd, path, &mp, ethdev, s, &cache, out);
	}
	if (s)
		symbolizer_free(s);
	close(memfd);
	for (int i = 0; i < cache.n; i++)
		if (cache.q[i])
			dq_close(cache.q[i]);
done:
	free(mp.m);
	fflush(out);
	return rc;
}
