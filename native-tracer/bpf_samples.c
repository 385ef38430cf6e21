/* bpf_samples.c — see bpf_samples.h. */
#include "bpf_samples.h"
#include "unwind.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.skel.h"
/* the skeleton's name depends on how the Makefile ran `bpftool gen skeleton` */
#if defined(__SAMPLE_BPF_SKEL_H__)
#define SKEL sample_bpf
#define SK(f) sample_bpf__##f
#else
#define SKEL sample
#define SK(f) sample__##f
#endif

#define MAX_KEYS 16384             /* = max_entries of the counts maps */
#define SC_SLOTS (4 * MAX_KEYS)    /* stack ids read per drain: at most 2 per key */

/* One stack id read during this drain: its addresses sit in ipbuf[start..start+len). */
struct stack_slot {
	int id;
	unsigned gen; /* drain that filled it; other values mean empty */
	unsigned start;
	unsigned short len;
	bool ok;
};

struct bpf_samples {
	struct SKEL *skel;
	struct bpf_program *prog; /* the one loaded: pktpath_sample[_pass][_late] */
	unsigned active;          /* which of the two map sets the program writes to */
	int counts_fd, stacks_fd; /* of the set the last flip left */
	unsigned sc_gen;
	unsigned nip;
	int nused;
	struct pktpath_sample_key keys[MAX_KEYS];
	unsigned long long vals[MAX_KEYS];
	struct stack_slot sc[SC_SLOTS];
	int used[2 * MAX_KEYS]; /* stack ids read this drain */
	unsigned long long ipbuf[2 * MAX_KEYS * PKTPATH_MAX_STACK];
	int ncpu;
	struct pktpath_sample_stats percpu[]; /* one per possible CPU */
};

/* The load-time constants: the target, and its executable's text for the stack scan. */
static void configure(struct SKEL *skel, int pid, const struct text_ranges *tr)
{
	skel->rodata->target_tgid = pid > 0 ? pid : 0;
	if (pid <= 0)
		return;
	for (int i = 0; i < tr->n; i++) {
		skel->rodata->text_lo[i] = tr->lo[i];
		skel->rodata->text_hi[i] = tr->hi[i];
		if (!i || tr->lo[i] < skel->rodata->text_min)
			skel->rodata->text_min = tr->lo[i];
		if (tr->hi[i] > skel->rodata->text_max)
			skel->rodata->text_max = tr->hi[i];
	}
	skel->rodata->text_ranges = tr->n;
}

struct bpf_samples *bpf_samples_open(int pid, const struct text_ranges *tr, bool pass, char *err, size_t errlen)
{
	int ncpu = libbpf_num_possible_cpus();
	/* ~17 MiB, mostly the stack buffer, whose pages are touched only as stacks fill them */
	struct bpf_samples *b = ncpu > 0 ? calloc(1, sizeof(*b) + ncpu * sizeof(b->percpu[0])) : NULL;
	int e = -1;

	if (!b) {
		snprintf(err, errlen, ncpu > 0 ? "out of memory" : "cannot count the possible CPUs");
		return NULL;
	}
	b->ncpu = ncpu;
	/* the program that also measures the timer's lateness needs a kfunc (kernel 6.2+): without it,
	 * the plain one */
	for (int late = 1; late >= 0 && e; late--) {
		if (b->skel)
			SK(destroy)(b->skel);
		b->skel = SK(open)();
		if (!b->skel) {
			snprintf(err, errlen, "sampler BPF object: open failed: %s", strerror(errno));
			break;
		}
		configure(b->skel, pid, tr);
		bpf_program__set_autoload(b->skel->progs.pktpath_sample_late, !pass && late);
		bpf_program__set_autoload(b->skel->progs.pktpath_sample, !pass && !late);
		bpf_program__set_autoload(b->skel->progs.pktpath_sample_pass_late, pass && late);
		bpf_program__set_autoload(b->skel->progs.pktpath_sample_pass, pass && !late);
		{
			/* the first attempt's failure is expected on older kernels: not worth a message */
			libbpf_print_fn_t prev = late ? libbpf_set_print(NULL) : NULL;
			e = SK(load)(b->skel);
			if (late)
				libbpf_set_print(prev);
		}
		if (pass)
			b->prog = late ? b->skel->progs.pktpath_sample_pass_late : b->skel->progs.pktpath_sample_pass;
		else
			b->prog = late ? b->skel->progs.pktpath_sample_late : b->skel->progs.pktpath_sample;
	}
	if (!e)
		return b;
	if (b->skel) /* else opening it failed, and err says so */
		snprintf(err, errlen, "sampler BPF program: load failed: %s%s", strerror(-e),
			 e == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, or root)" : "");
	bpf_samples_close(b);
	return NULL;
}

void bpf_samples_close(struct bpf_samples *b)
{
	if (b && b->skel)
		SK(destroy)(b->skel);
	free(b);
}

int bpf_samples_chains_fd(struct bpf_samples *b)
{
	if (!b || b->prog != b->skel->progs.pktpath_sample_pass_late)
		return -1;
	return bpf_map__fd(b->skel->maps.uret_chains);
}

struct bpf_program *bpf_samples_program(struct bpf_samples *b)
{
	return b->prog;
}

void bpf_samples_flip(struct bpf_samples *b, struct pktpath_sample_stats *sum)
{
	unsigned old = b->active, zero = 0;

	b->active ^= 1;
	b->skel->bss->active = b->active;
	__sync_synchronize();
	b->counts_fd = bpf_map__fd(old ? b->skel->maps.counts1 : b->skel->maps.counts0);
	b->stacks_fd = bpf_map__fd(old ? b->skel->maps.stacks1 : b->skel->maps.stacks0);
	b->sc_gen++;
	b->nip = 0;
	b->nused = 0;

	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.stats), &zero, b->percpu))
		return;
	for (int i = 0; i < b->ncpu; i++) {
		sum->samples += b->percpu[i].samples;
		sum->lost_stacks += b->percpu[i].lost_stacks;
		sum->lost_entries += b->percpu[i].lost_entries;
		sum->late_ns += b->percpu[i].late_ns;
		sum->late_n += b->percpu[i].late_n;
		sum->run_ns += b->percpu[i].run_ns;
		sum->run_n += b->percpu[i].run_n;
	}
}

int bpf_samples_take(struct bpf_samples *b, const struct pktpath_sample_key **keys,
		     const unsigned long long **vals)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct pktpath_sample_key next;
	void *prev = NULL;
	__u32 batch = 0;
	int n = 0, k = 0, fd = b->counts_fd;
	bool first = true;

	*keys = b->keys;
	*vals = b->vals;
	while (n < MAX_KEYS) {
		__u32 cnt = MAX_KEYS - n;
		int err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &batch, &batch, b->keys + n,
							  b->vals + n, &cnt, &opts);
		int e = errno;
		n += cnt;
		first = false;
		if (!err)
			continue;
		if (e == ENOENT)
			return n; /* all read */
		if (n)
			break; /* e.g. ENOSPC near the end of the buffer: the rest waits for next time */
		goto one_by_one; /* no batch support */
	}
	return n;
one_by_one:
	while (k < MAX_KEYS && !bpf_map_get_next_key(fd, prev, &next)) {
		b->keys[k] = next;
		prev = &b->keys[k++];
	}
	n = 0;
	for (int i = 0; i < k; i++) {
		if (bpf_map_lookup_and_delete_elem(fd, &b->keys[i], &b->vals[n])) {
			if (bpf_map_lookup_elem(fd, &b->keys[i], &b->vals[n]))
				continue;
			bpf_map_delete_elem(fd, &b->keys[i]);
		}
		b->keys[n++] = b->keys[i];
	}
	return n;
}

int bpf_samples_stack(struct bpf_samples *b, int id, const unsigned long long **ips)
{
	unsigned h = ((unsigned)id * 2654435761u) & (SC_SLOTS - 1);
	unsigned long long *p;
	struct stack_slot *c;

	if (id < 0)
		return 0;
	for (;; h = (h + 1) & (SC_SLOTS - 1)) {
		c = &b->sc[h];
		if (c->gen != b->sc_gen || c->id == id)
			break;
	}
	if (c->gen == b->sc_gen) {
		*ips = b->ipbuf + c->start;
		return c->ok ? c->len : -1;
	}
	c->gen = b->sc_gen;
	c->id = id;
	c->ok = false;
	c->start = b->nip;
	c->len = 0;
	b->used[b->nused++] = id;
	p = b->ipbuf + b->nip;
	memset(p, 0, PKTPATH_MAX_STACK * sizeof(*p));
	if (bpf_map_lookup_elem(b->stacks_fd, &id, p))
		return -1;
	while (c->len < PKTPATH_MAX_STACK && p[c->len])
		c->len++;
	b->nip += c->len;
	c->ok = true;
	*ips = p;
	return c->len;
}

void bpf_samples_clear(struct bpf_samples *b)
{
	unsigned id, nid;
	bool first = true;

	/* the stacks read this drain, then whatever no count referred to (its count was lost) */
	for (int i = 0; i < b->nused; i++)
		bpf_map_delete_elem(b->stacks_fd, &b->used[i]);
	while (!bpf_map_get_next_key(b->stacks_fd, first ? NULL : &id, &nid)) {
		bpf_map_delete_elem(b->stacks_fd, &nid);
		id = nid;
		first = false;
	}
}
