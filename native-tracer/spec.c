/* spec.c — parses NAME=SPEC stages and the options. Every part is checked here, so attach code
 * only sees well-formed values; nothing is ever handed to a shell. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "fail_msg.h"
#include "spec.h"

const char *kind_name(enum pktpath_stage_kind k)
{
	switch (k) {
	case PKTPATH_KIND_UPROBE: return "uprobe";
	case PKTPATH_KIND_USDT: return "usdt";
	case PKTPATH_KIND_TRACEPOINT: return "tracepoint";
	case PKTPATH_KIND_KPROBE: return "kprobe";
	case PKTPATH_KIND_FENTRY: return "fentry";
	}
	return "?";
}

/* C identifiers, plus '.' and '@' for versioned or local symbols (foo.cold, memcpy@GLIBC). */
static int is_ident(const char *s, int extra)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      (extra && (c == '.' || c == '@' || c == '$'))))
			return 0;
	}
	return 1;
}

static int parse_ull(const char *s, int base, unsigned long long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno || *end ? -1 : 0;
}

/* ":packets=ret|argN" at the end of a spec; removes it from `rest`. */
static int take_packets(char *rest, struct stage_spec *s, int allow_ret, char *err, size_t len)
{
	char *p = strstr(rest, ":packets=");
	unsigned long long n;

	s->packets_from = PKTPATH_PKTS_ONE;
	if (!p)
		return 0;
	*p = '\0';
	p += strlen(":packets=");
	if (!strcmp(p, "one"))
		return 0;
	if (!strcmp(p, "ret")) {
		if (!allow_ret)
			return fail_msg(err, len, "packets=ret needs a function stage (uprobe, kprobe, fentry)");
		s->packets_from = PKTPATH_PKTS_RET;
		return 0;
	}
	if (!strncmp(p, "arg", 3) && !parse_ull(p + 3, 10, &n) && n <= 4) {
		s->packets_from = PKTPATH_PKTS_ARG;
		s->packets_arg = (unsigned)n;
		return 0;
	}
	return fail_msg(err, len, "bad packets=%s: expected ret, one or arg0..arg4", p);
}

/* ":argN=0xV[,0xV...]" at the end of a uprobe spec (after any :packets=); removes it from `rest`. */
static int take_match(char *rest, struct stage_spec *s, char *err, size_t len)
{
	char *p = NULL, *c, *v;

	for (c = strstr(rest, ":arg"); c; c = strstr(c + 1, ":arg"))
		p = c;
	if (!p || p[4] < '0' || p[4] > '4' || p[5] != '=')
		return 0;
	s->match_arg = 1 + (p[4] - '0');
	*p = '\0';
	for (v = strtok_r(p + 6, ",", &c); v; v = strtok_r(NULL, ",", &c)) {
		if (s->nmatch == PKTPATH_MAX_MATCH)
			return fail_msg(err, len, "arg%u=: at most %d values", s->match_arg - 1, PKTPATH_MAX_MATCH);
		if (strncmp(v, "0x", 2) || parse_ull(v + 2, 16, &s->match_val[s->nmatch]))
			return fail_msg(err, len, "arg%u=%s: expected 0x followed by hex digits", s->match_arg - 1, v);
		s->nmatch++;
	}
	if (!s->nmatch)
		return fail_msg(err, len, "arg%u=: no value", s->match_arg - 1);
	return 0;
}

/* Splits off the text up to the next ':'; NULL when there is none. */
static char *field(char **rest)
{
	char *s = *rest, *c;

	if (!s)
		return NULL;
	c = strchr(s, ':');
	if (c) {
		*c = '\0';
		*rest = c + 1;
	} else {
		*rest = NULL;
	}
	return s;
}

int parse_stage(const char *arg, struct stage_spec *s, char *err, size_t len)
{
	const char *eq = strchr(arg, '=');
	char *buf, *rest, *kind, *a, *b;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (!eq || eq == arg)
		return fail_msg(err, len, "stage '%s': expected NAME=SPEC", arg);
	s->name = strndup(arg, eq - arg);
	s->spec = strdup(eq + 1);
	/* names are labels only: anything printable */
	if (strlen(s->name) > 64)
		return fail_msg(err, len, "stage name longer than 64 characters");
	for (const char *c = s->name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail_msg(err, len, "stage name contains control characters");
	buf = strdup(s->spec);
	rest = buf;
	kind = field(&rest);
	if (!strcmp(kind, "uprobe")) {
		s->kind = PKTPATH_KIND_UPROBE;
		if (!rest || take_match(rest, s, err, len) || take_packets(rest, s, 1, err, len))
			goto bad_uprobe;
		a = field(&rest);  /* binary */
		b = rest;          /* symbol or 0xADDR; may itself contain ':' (C++-style names) */
		if (!a || !*a || !b || !*b)
			goto bad_uprobe;
		s->binary = strdup(a);
		if (!strncmp(b, "0x", 2) || !strncmp(b, "0X", 2)) {
			if (parse_ull(b + 2, 16, &s->addr) || !s->addr) {
				fail_msg(err, len, "stage %s: bad address '%s' (expected 0x followed by hex digits)", s->name, b);
				goto out;
			}
		} else if (!is_ident(b, 1)) {
			fail_msg(err, len, "stage %s: bad symbol '%s'", s->name, b);
			goto out;
		} else {
			s->symbol = strdup(b);
		}
		rc = 0;
		goto out;
bad_uprobe:
		if (!*err)
			fail_msg(err, len, "stage %s: expected uprobe:BINARY:SYMBOL or uprobe:BINARY:0xADDR[:packets=ret|argN][:argN=0xV,...]", s->name);
		goto out;
	} else if (!strcmp(kind, "usdt")) {
		s->kind = PKTPATH_KIND_USDT;
		if (!rest || take_packets(rest, s, 0, err, len))
			goto bad_usdt;
		a = field(&rest); /* BINARY */
		b = field(&rest); /* PROVIDER; rest is NAME */
		if (!a || !*a || !b || !rest || !is_ident(b, 0) || !is_ident(rest, 0))
			goto bad_usdt;
		s->binary = strdup(a);
		s->provider = strdup(b);
		s->probe = strdup(rest);
		rc = 0;
		goto out;
bad_usdt:
		if (!*err)
			fail_msg(err, len, "stage %s: expected usdt:BINARY:PROVIDER:NAME[:packets=argN]", s->name);
		goto out;
	} else if (!strcmp(kind, "tracepoint")) {
		s->kind = PKTPATH_KIND_TRACEPOINT;
		a = field(&rest);
		if (!a || !rest || !is_ident(a, 0) || !is_ident(rest, 0)) {
			fail_msg(err, len, "stage %s: expected tracepoint:CATEGORY:NAME", s->name);
			goto out;
		}
		s->category = strdup(a);
		s->event = strdup(rest);
		rc = 0;
		goto out;
	} else if (!strcmp(kind, "kprobe") || !strcmp(kind, "fentry")) {
		s->kind = kind[0] == 'k' ? PKTPATH_KIND_KPROBE : PKTPATH_KIND_FENTRY;
		if (rest && take_packets(rest, s, 1, err, len))
			goto out;
		if (!rest || !is_ident(rest, 1)) {
			fail_msg(err, len, "stage %s: expected %s:FUNCTION[:packets=ret|argN]", s->name, kind);
			goto out;
		}
		s->symbol = strdup(rest);
		rc = 0;
		goto out;
	}
	fail_msg(err, len, "stage %s: unknown probe kind '%s' (uprobe, usdt, tracepoint, kprobe, fentry)", s->name, kind);
out:
	free(buf);
	return rc;
}

static int need(int i, int argc, const char *opt, char *err, size_t len)
{
	if (i + 1 >= argc)
		return fail_msg(err, len, "%s needs a value", opt);
	return 0;
}

static int num(const char *s, const char *opt, double lo, double hi, double *v, char *err, size_t len)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || *v < lo || *v > hi)
		return fail_msg(err, len, "%s: '%s' is not a number in [%g, %g]", opt, s, lo, hi);
	return 0;
}

/* INODE (digits), a PATH (with a '/', e.g. /proc/PID/ns/net) or a NAME under /run/netns, as
 * `ip netns` creates them: a namespace file's inode number is the namespace's ns.inum. */
static int netns_inode(const char *s, unsigned long long *ino, char *err, size_t len)
{
	char path[512];
	struct stat st;
	struct statfs fs;
	char *end;
	int fd, type;

	if (!*s)
		return fail_msg(err, len, "--netns: empty");
	if (strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		*ino = strtoull(s, &end, 10);
		if (errno || !*ino || *ino > 0xffffffffULL)
			return fail_msg(err, len, "--netns: '%s' is not a namespace inode", s);
		return 0;
	}
	if (strchr(s, '/'))
		snprintf(path, sizeof(path), "%s", s);
	else if (!strcmp(s, ".") || !strcmp(s, ".."))
		return fail_msg(err, len, "--netns: '%s' is not a namespace name", s);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", s);
	if (stat(path, &st) || statfs(path, &fs))
		return fail_msg(err, len, "--netns: %s: %s", path, strerror(errno));
	if ((unsigned long)fs.f_type != 0x6e736673UL /* NSFS_MAGIC */ || st.st_ino > 0xffffffffULL)
		return fail_msg(err, len, "--netns: %s is not a network namespace file", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	type = fd >= 0 ? ioctl(fd, NS_GET_NSTYPE) : -1;
	if (fd >= 0)
		close(fd);
	if (type >= 0 && type != CLONE_NEWNET)
		return fail_msg(err, len, "--netns: %s is another kind of namespace, not a network namespace", path);
	*ino = st.st_ino;
	return 0;
}

int parse_options(int argc, char **argv, struct options *o, char *err, size_t len)
{
	double v;

	memset(o, 0, sizeof(*o));
	o->interval_ms = 1000;
	o->stack_bytes = PKTPATH_DWARF_STACK_BYTES;
	o->calibrate = 1;
	o->recalibrate_s = 1;
	err[0] = '\0';
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--pid")) {
			if (need(i, argc, a, err, len) || num(argv[++i], a, 1, 4194304, &v, err, len))
				return -1;
			if (v != (int)v)
				return fail_msg(err, len, "--pid: not an integer");
			o->pid = (int)v;
		} else if (!strcmp(a, "--kernel")) {
			o->kernel_mode = 1;
		} else if (!strcmp(a, "--stage")) {
			if (need(i, argc, a, err, len))
				return -1;
			if (o->nstages == PKTPATH_MAX_STAGES)
				return fail_msg(err, len, "at most %d stages", PKTPATH_MAX_STAGES);
			if (parse_stage(argv[++i], &o->stages[o->nstages], err, len)) {
				o->nstages++; /* so free_options frees what was parsed */
				return -1;
			}
			for (int j = 0; j < o->nstages; j++)
				if (!strcmp(o->stages[j].name, o->stages[o->nstages].name)) {
					o->nstages++;
					return fail_msg(err, len, "stage name '%s' given twice", o->stages[j].name);
				}
			o->nstages++;
		} else if (!strcmp(a, "--sample-hz")) {
			if (need(i, argc, a, err, len) || num(argv[++i], a, 1, 100000, &v, err, len))
				return -1;
			o->sample_hz = (int)v;
		} else if (!strcmp(a, "--interval-ms")) {
			if (need(i, argc, a, err, len) || num(argv[++i], a, 10, 3600000, &v, err, len))
				return -1;
			o->interval_ms = (int)v;
		} else if (!strcmp(a, "--duration")) {
			if (need(i, argc, a, err, len) || num(argv[++i], a, 0.001, 1e7, &v, err, len))
				return -1;
			o->duration_s = v;
		} else if (!strcmp(a, "--no-calibrate")) {
			o->calibrate = 0;
		} else if (!strcmp(a, "--no-relocate")) {
			o->no_relocate = 1;
		} else if (!strcmp(a, "--force-unchecked-offsets")) {
			o->force_unchecked_offsets = 1;
		} else if (!strcmp(a, "--no-bpf")) {
			o->no_bpf = 1;
		} else if (!strcmp(a, "--recalibrate-s")) {
			if (need(i, argc, a, err, len) || num(argv[++i], a, 0, 86400, &v, err, len))
				return -1;
			o->recalibrate_s = v;
		} else if (!strcmp(a, "--max-overhead")) {
			if (need(i, argc, a, err, len) || num(argv[++i], a, 0.01, 100, &v, err, len))
				return -1;
			o->max_overhead_pct = v;
		} else if (!strcmp(a, "--netns")) {
			if (need(i, argc, a, err, len) || netns_inode(argv[++i], &o->netns_ino, err, len))
				return -1;
		} else if (!strcmp(a, "--unwind")) {
			if (need(i, argc, a, err, len))
				return -1;
			a = argv[++i];
			if (!strcmp(a, "fp"))
				o->unwind_fp = 1;
			else if (!strcmp(a, "dwarf"))
				o->unwind_fp = 0;
			else
				return fail_msg(err, len, "--unwind: '%s' is neither dwarf nor fp", a);
		} else if (!strcmp(a, "--stack-bytes")) {
			/* a sample record's size is 16 bits: the copy must leave room for the rest */
			if (need(i, argc, a, err, len) || num(argv[++i], a, 512, 60000, &v, err, len))
				return -1;
			o->stack_bytes = ((unsigned)v + 7) & ~7u;
		} else if (!strcmp(a, "--check")) {
			o->check = 1;
		} else {
			return fail_msg(err, len, "unknown argument '%s'", a);
		}
	}
	if (o->check)
		return 0;
	if (!!o->pid == !!o->kernel_mode)
		return fail_msg(err, len, "give exactly one of --pid PID or --kernel");
	if (o->max_overhead_pct > 0 && !o->calibrate)
		return fail_msg(err, len, "--max-overhead needs the calibrated probe cost: drop --no-calibrate");
	if (!o->nstages && !o->sample_hz)
		return fail_msg(err, len, "nothing to record: give --stage NAME=SPEC and/or --sample-hz N");
	if (o->no_bpf && (o->nstages || !o->sample_hz))
		return fail_msg(err, len, "--no-bpf samples stacks only (--sample-hz N): stage probes need BPF");
	return 0;
}

void free_options(struct options *o)
{
	for (int i = 0; i < o->nstages; i++) {
		struct stage_spec *s = &o->stages[i];
		free(s->name); free(s->spec); free(s->binary); free(s->symbol);
		free(s->provider); free(s->probe); free(s->category); free(s->event);
	}
	o->nstages = 0;
}
