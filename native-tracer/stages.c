/* stages.c — turns parsed stage specs into attached BPF links, and reads their counts back. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elfsym.h"
#include "tracer.h"
#include "insn_walk.h"
#include "pktpath.skel.h"

static void set_err(struct stage_rt *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->ok = false;
}

static struct bpf_program *prog(struct tracer *t, const char *fmt, int n)
{
	char name[32];

	snprintf(name, sizeof(name), fmt, n);
	return bpf_object__find_program_by_name(t->skel->obj, name);
}

static const struct btf_type *skip_mods(const struct btf *btf, const struct btf_type *t)
{
	while (t && (btf_is_typedef(t) || btf_is_const(t) || btf_is_volatile(t)))
		t = btf__type_by_id(btf, t->type);
	return t;
}

/* Is parameter type `id` a pointer to struct `name` (const or not)? */
static bool is_struct_ptr(const struct btf *btf, __u32 id, const char *name)
{
	const struct btf_type *t = skip_mods(btf, btf__type_by_id(btf, id));

	if (!t || !btf_is_ptr(t))
		return false;
	t = skip_mods(btf, btf__type_by_id(btf, t->type));
	return t && btf_is_struct(t) && !strcmp(btf__name_by_offset(btf, t->name_off), name);
}

/* btf_trace_<name> is `void (*)(void *data, <tracepoint args>...)`: is the first real argument
 * a struct sk_buff *? Returns 1/0, or -1 when the kernel has no such tracepoint. *dev_arg is
 * 1 + the index of the first struct net_device * argument (0: none): after a transmit the skb may
 * already belong to the peer device or be freed, so its own ->dev no longer says where it was. */
static int tp_first_arg_is_skb(const struct btf *btf, const char *event, unsigned int *dev_arg)
{
	char tname[160];
	const struct btf_type *t;
	const struct btf_param *p;
	int id;

	*dev_arg = 0;
	snprintf(tname, sizeof(tname), "btf_trace_%s", event);
	id = btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF);
	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, id);
	t = btf__type_by_id(btf, t->type); /* pointer */
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t))
		return -1;
	if (btf_vlen(t) < 2)
		return 0;
	p = btf_params(t);
	for (int i = 1; i < btf_vlen(t) && i <= 5; i++)
		if (is_struct_ptr(btf, p[i].type, "net_device")) {
			*dev_arg = i; /* raw_tp args[i - 1] */
			break;
		}
	return is_struct_ptr(btf, p[1].type, "sk_buff");
}

/* The whole function, for reloc.c: at most 256 KiB (larger functions are not relocated). */
static size_t read_function(const struct stage_rt *s, unsigned char **buf)
{
	size_t n = s->size < (256u << 10) ? (size_t)s->size : 0;
	FILE *f;

	*buf = n ? malloc(n) : NULL;
	if (!*buf)
		return 0;
	f = fopen(s->binary, "re");
	if (!f || fseeko(f, (off_t)s->file_off, SEEK_SET) || fread(*buf, 1, n, f) != n)
		n = 0;
	if (f)
		fclose(f);
	return n;
}

static void prepare_uprobe(struct tracer *t, struct stage_rt *s)
{
	const char *where = s->sp->symbol ? s->sp->symbol : "the address";
	char err[1536];
	unsigned char *fn;
	size_t n;

	if (!realpath(s->sp->binary, s->binary)) {
		set_err(s, "binary %s: %s", s->sp->binary, strerror(errno));
		return;
	}
	s->vaddr = s->sp->addr;
	if (!s->sp->symbol) {
		int rc = offset_check(s->binary, s->vaddr, err, sizeof(err));

		if (rc == -1 || (rc == -2 && !t->o->force_unchecked_offsets)) {
			set_err(s, "%s", err);
			return;
		}
	}
	if (elf_locate(s->binary, s->sp->symbol, &s->vaddr, &s->file_off, &s->size, s->code, &s->ncode, &s->copies, err,
		       sizeof(err))) {
		set_err(s, "%s", err);
		return;
	}
	s->located = true;
	s->entry_off = s->file_off;
	insn_decode(s->code, s->ncode, &s->insn);
	if (!insn_single_stepped(s->insn.cls))
		return;
	if (!t->o->no_relocate) {
		n = read_function(s, &fn);
		s->relocated = n && entry_relocate(fn, n, s->vaddr,
						   s->sp->packets_from == PKTPATH_PKTS_ARG ? (int)s->sp->packets_arg : -1,
						   &s->reloc) == 0;
		if (!n)
			snprintf(s->reloc.why, sizeof(s->reloc.why), "%s",
				 s->size ? "its code could not be read" : "its size is unknown (no ELF symbol size)");
		free(fn);
	}
	if (s->relocated) {
		s->entry_off = s->file_off + s->reloc.off;
		snprintf(s->warning, sizeof(s->warning),
			 "the first instruction at %s (%s) is not emulated by the kernel's uprobe code: every hit is "
			 "single-stepped, which costs the target 10-20 us per call here. The entry timestamp is taken at "
			 "+0x%x (%s, emulated) instead, so the single-step is not in the measured latency; %u "
			 "instruction(s) before it (%s) run untimed. Cheaper for the target: a USDT probe, or rebuilding "
			 "with -fno-omit-frame-pointer -fno-shrink-wrap so the function starts with push",
			 where, s->insn.text, s->reloc.off, s->reloc.insn.text, s->reloc.skipped, s->reloc.prefix);
		return;
	}
	snprintf(s->warning, sizeof(s->warning),
		 "the first instruction at %s (%s) is not emulated by the kernel's uprobe code: every hit is "
		 "single-stepped, which costs 10-20 us here against under 1 us for a push- or nop-first site, and "
		 "its cost drifts by more than a short stage takes%s%s. Prefer a USDT probe, or rebuild with "
		 "-fno-omit-frame-pointer -fno-shrink-wrap so the function starts with push",
		 where, s->insn.text, s->reloc.why[0] ? "; the entry timestamp could not move past it: " : "",
		 s->reloc.why);
}

/* libbpf opens a USDT binary blocking: a FIFO there would hang us, so it is checked first */
static bool usdt_binary_regular(struct stage_rt *s)
{
	char err[512];
	int fd = open_regular(s->binary, err, sizeof(err));

	if (fd < 0) {
		set_err(s, "%s", err);
		return false;
	}
	close(fd);
	return true;
}

/* Stages told apart by the same argument at the same site share the first one's probes: one
 * probe pair per call whatever the number of stages (rte_graph nodes sharing a process function),
 * and match_of picks the stage. */
static void share_sites(struct tracer *t)
{
	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];

		if (!s->ok || s->sp->kind != PKTPATH_KIND_UPROBE || !s->sp->match_arg)
			continue;
		for (int j = 0; j < i; j++) {
			struct stage_rt *o = &t->st[j];

			if (o->ok && o->shares < 0 && o->sp->kind == PKTPATH_KIND_UPROBE && o->sp->match_arg == s->sp->match_arg &&
			    o->file_off == s->file_off && !strcmp(o->binary, s->binary)) {
				s->shares = j;
				break;
			}
		}
	}
}

int stages_match_fill(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.match_of);

	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];
		struct pktpath_match_key k = { .site = s->shares >= 0 ? (unsigned)s->shares : (unsigned)i };
		__u32 id = i;

		if (!s->ok || !s->sp->match_arg)
			continue;
		for (unsigned v = 0; v < s->sp->nmatch; v++) {
			k.val = s->sp->match_val[v];
			if (bpf_map_update_elem(fd, &k, &id, BPF_NOEXIST))
				return -errno;
		}
	}
	return 0;
}

void stages_prepare(struct tracer *t)
{
	struct pktpath_bpf *k = t->skel;
	struct btf *btf = NULL;
	int nfentry = 0, first_tp = -1, first_usdt = -1, last_skb = -1;
	struct bpf_program *p;

	bpf_object__for_each_program(p, k->obj)
		bpf_program__set_autoload(p, false);
	/* the calibration functions use these three whatever the stages are */
	bpf_program__set_autoload(k->progs.stage_uentry, true);
	bpf_program__set_autoload(k->progs.stage_ureturn, true);
	bpf_program__set_autoload(k->progs.stage_usdt, true);
	k->rodata->self_tgid = getpid();
	k->rodata->targ_tgid = t->o->kernel_mode ? 0 : t->o->pid;
	k->rodata->netns_ino = (__u32)t->o->netns_ino;

	for (int i = 0; i < t->o->nstages; i++) {
		struct stage_rt *s = &t->st[i];
		struct pktpath_stage_cfg *cfg = (struct pktpath_stage_cfg *)&k->rodata->stage_cfg[i];

		memset(s, 0, sizeof(*s));
		s->id = i;
		s->sp = &t->o->stages[i];
		s->ok = true;
		s->fentry_slot = -1;
		s->ugroup = -1;
		s->shares = -1;
		s->key = "call";
		cfg->kind = s->sp->kind;
		cfg->match_arg = s->sp->match_arg;
		cfg->packets_from = s->sp->packets_from;
		cfg->packets_arg = s->sp->packets_arg;
		switch (s->sp->kind) {
		case PKTPATH_KIND_UPROBE:
			if (!t->feat.uprobes)
				set_err(s, "uprobes are not available on this kernel");
			else
				prepare_uprobe(t, s);
			break;
		case PKTPATH_KIND_USDT:
			s->key = "thread";
			if (!realpath(s->sp->binary, s->binary))
				set_err(s, "binary %s: %s", s->sp->binary, strerror(errno));
			else if (!usdt_binary_regular(s))
				;
			else if (!t->feat.usdt)
				set_err(s, "USDT needs uprobes, which this kernel lacks");
			if (s->ok && first_usdt < 0)
				first_usdt = i;
			break;
		case PKTPATH_KIND_TRACEPOINT: {
			char dir[512];
			unsigned int dev_arg = 0;
			int skb;

			if (!btf)
				btf = btf__load_vmlinux_btf();
			skb = btf ? tp_first_arg_is_skb(btf, s->sp->event, &dev_arg) : -1;
			snprintf(dir, sizeof(dir), "/sys/kernel/tracing/events/%s/%s", s->sp->category, s->sp->event);
			if (skb < 0) {
				set_err(s, "no tracepoint %s:%s in this kernel (no btf_trace_%s in its BTF)",
					s->sp->category, s->sp->event, s->sp->event);
				break;
			}
			if (access("/sys/kernel/tracing/events", F_OK) == 0 && access(dir, F_OK) != 0) {
				set_err(s, "tracepoint %s is not in category %s (no %s)", s->sp->event, s->sp->category, dir);
				break;
			}
			cfg->key_skb = skb;
			cfg->dev_arg = dev_arg;
			s->key = skb ? "skb" : "cpu";
			bpf_program__set_autoload(prog(t, "tp_slot%d", i), true);
			if (first_tp < 0)
				first_tp = i;
			if (skb)
				last_skb = i;
			break;
		}
		case PKTPATH_KIND_KPROBE:
			if (!t->feat.kprobes) {
				set_err(s, "kprobes are not available on this kernel (no kprobe PMU, no kprobe_events; "
					   "CONFIG_KPROBES off): use a tracepoint: stage instead");
				break;
			}
			bpf_program__set_autoload(k->progs.stage_kentry, true);
			bpf_program__set_autoload(k->progs.stage_kreturn, true);
			break;
		case PKTPATH_KIND_FENTRY:
			if (!t->feat.fentry) {
				set_err(s, "fentry/fexit are not available on this kernel (loading an fentry program fails "
					   "here): use a tracepoint: or kprobe: stage instead");
				break;
			}
			if (nfentry == PKTPATH_FENTRY_SLOTS) {
				set_err(s, "at most %d fentry stages", PKTPATH_FENTRY_SLOTS);
				break;
			}
			s->fentry_slot = nfentry++;
			((__u32 *)k->rodata->fentry_stage)[s->fentry_slot] = i;
			if (bpf_program__set_attach_target(prog(t, "fentry_slot%d", s->fentry_slot), 0, s->sp->symbol) ||
			    bpf_program__set_attach_target(prog(t, "fexit_slot%d", s->fentry_slot), 0, s->sp->symbol)) {
				set_err(s, "kernel function %s not found in BTF", s->sp->symbol);
				break;
			}
			bpf_program__set_autoload(prog(t, "fentry_slot%d", s->fentry_slot), true);
			bpf_program__set_autoload(prog(t, "fexit_slot%d", s->fentry_slot), true);
			break;
		}
	}
	if (first_tp >= 0) {
		((struct pktpath_stage_cfg *)&k->rodata->stage_cfg[first_tp])->first_point = 1;
		bpf_program__set_autoload(prog(t, "tp_slot%d", PKTPATH_CAL_STAGE), true);
	}
	if (first_usdt >= 0)
		((struct pktpath_stage_cfg *)&k->rodata->stage_cfg[first_usdt])->first_point = 1;
	/* one skb-keyed stage alone is both the start and the end of its path: nothing to end */
	if (last_skb >= 0 && last_skb != first_tp)
		((struct pktpath_stage_cfg *)&k->rodata->stage_cfg[last_skb])->last_point = 1;
	t->skb_free = last_skb >= 0;
	bpf_program__set_autoload(k->progs.skb_freed, t->skb_free);
	bpf_program__set_autoload(k->progs.skb_consumed, t->skb_free);
	bpf_program__set_autoload(k->progs.skb_read, t->skb_free);
	t->nst = t->o->nstages;
	share_sites(t);
	uprobes_multi_prepare(t);
	btf__free(btf);
}

static const char *libbpf_errstr(int err, char *buf, size_t len)
{
	libbpf_strerror(err, buf, len);
	return buf;
}

int stage_attach(struct tracer *t, struct stage_rt *s)
{
	struct pktpath_bpf *k = t->skel;
	pid_t pid = t->o->kernel_mode ? -1 : t->o->pid;
	char eb[128];
	int err;

	if (!s->ok)
		return -1;
	switch (s->sp->kind) {
	case PKTPATH_KIND_UPROBE: {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = s->id);

		uo.retprobe = true;
		s->links[1] = bpf_program__attach_uprobe_opts(k->progs.stage_ureturn, pid, s->binary, s->file_off, &uo);
		if (!s->links[1])
			goto fail;
		uo.retprobe = false;
		s->links[0] = bpf_program__attach_uprobe_opts(k->progs.stage_uentry, pid, s->binary, s->entry_off, &uo);
		if (!s->links[0])
			goto fail;
		return 0;
	}
	case PKTPATH_KIND_USDT: {
		LIBBPF_OPTS(bpf_usdt_opts, uo, .usdt_cookie = s->id);

		s->links[0] = bpf_program__attach_usdt(k->progs.stage_usdt, pid, s->binary, s->sp->provider,
						       s->sp->probe, &uo);
		if (!s->links[0])
			goto fail;
		return 0;
	}
	case PKTPATH_KIND_TRACEPOINT:
		s->links[0] = bpf_program__attach_raw_tracepoint(prog(t, "tp_slot%d", s->id), s->sp->event);
		if (!s->links[0])
			goto fail;
		return 0;
	case PKTPATH_KIND_KPROBE: {
		LIBBPF_OPTS(bpf_kprobe_opts, ko, .bpf_cookie = s->id);

		s->links[0] = bpf_program__attach_kprobe_opts(k->progs.stage_kentry, s->sp->symbol, &ko);
		if (!s->links[0])
			goto fail;
		ko.retprobe = true;
		s->links[1] = bpf_program__attach_kprobe_opts(k->progs.stage_kreturn, s->sp->symbol, &ko);
		if (!s->links[1])
			goto fail;
		return 0;
	}
	case PKTPATH_KIND_FENTRY:
		s->links[0] = bpf_program__attach(prog(t, "fentry_slot%d", s->fentry_slot));
		if (!s->links[0])
			goto fail;
		s->links[1] = bpf_program__attach(prog(t, "fexit_slot%d", s->fentry_slot));
		if (!s->links[1])
			goto fail;
		return 0;
	}
	set_err(s, "unknown stage kind");
	return -1;
fail:
	err = -errno;
	stage_detach(s);
	if (s->sp->kind == PKTPATH_KIND_USDT && err == -ENOENT)
		set_err(s, "no USDT probe %s:%s in %s", s->sp->provider, s->sp->probe, s->binary);
	else if (err == -ESRCH)
		set_err(s, "attach failed: process %d does not exist", t->o->pid);
	else
		set_err(s, "attach failed: %s", libbpf_errstr(err, eb, sizeof(eb)));
	return -1;
}

void stage_detach(struct stage_rt *s)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(s->links[i]);
		s->links[i] = NULL;
	}
}

/* After the stages, so that a stage on kfree_skb/consume_skb itself still sees the skb's entry.
 * Without them an skb address reused by the slab would carry an old packet's time. */
int skb_free_attach(struct tracer *t)
{
	if (!t->skb_free)
		return 0;
	t->free_links[0] = bpf_program__attach_raw_tracepoint(t->skel->progs.skb_freed, "kfree_skb");
	t->free_links[1] = bpf_program__attach_raw_tracepoint(t->skel->progs.skb_consumed, "consume_skb");
	t->free_links[2] = bpf_program__attach_raw_tracepoint(t->skel->progs.skb_read, "skb_copy_datagram_iovec");
	return t->free_links[0] && t->free_links[1] && t->free_links[2] ? 0 : -1;
}

void skb_free_detach(struct tracer *t)
{
	for (int i = 0; i < 3; i++) {
		bpf_link__destroy(t->free_links[i]);
		t->free_links[i] = NULL;
	}
}

int slot_read(struct tracer *t, int slot, struct pktpath_stage_totals *tot, unsigned long long *hist)
{
	struct pktpath_stage_totals per[t->ncpu];
	unsigned long long v[t->ncpu];
	__u32 key = slot;

	memset(tot, 0, sizeof(*tot));
	if (bpf_map__lookup_elem(t->skel->maps.totals, &key, sizeof(key), per, sizeof(per), 0))
		return -1;
	for (int c = 0; c < t->ncpu; c++) {
		tot->calls += per[c].calls;
		tot->packets += per[c].packets;
		tot->sum_ns += per[c].sum_ns;
		tot->unmatched += per[c].unmatched;
		tot->timed += per[c].timed;
		tot->busy_calls += per[c].busy_calls;
		tot->busy_ns += per[c].busy_ns;
	}
	if (!hist)
		return 0;
	for (int b = 0; b < PKTPATH_HIST_BUCKETS; b++) {
		key = slot * PKTPATH_HIST_BUCKETS + b;
		hist[b] = 0;
		if (bpf_map__lookup_elem(t->skel->maps.hist, &key, sizeof(key), v, sizeof(v), 0))
			return -1;
		for (int c = 0; c < t->ncpu; c++)
			hist[b] += v[c];
	}
	return 0;
}

int nest_read(struct tracer *t, int parent, int child, struct pktpath_nest_totals *tot)
{
	struct pktpath_nest_totals per[t->ncpu];
	__u32 key = (__u32)(parent * PKTPATH_MAX_STAGES + child);

	memset(tot, 0, sizeof(*tot));
	if (bpf_map__lookup_elem(t->skel->maps.nest, &key, sizeof(key), per, sizeof(per), 0))
		return -1;
	for (int c = 0; c < t->ncpu; c++) {
		tot->calls += per[c].calls;
		tot->sum_ns += per[c].sum_ns;
	}
	return 0;
}

void entries_clear(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.entries);
	unsigned long long next; /* struct pp_entry_key: two __u32 */

	unsigned int tid;

	while (bpf_map_get_next_key(fd, NULL, &next) == 0)
		if (bpf_map_delete_elem(fd, &next))
			break;
	fd = bpf_map__fd(t->skel->maps.thread_stage);
	while (bpf_map_get_next_key(fd, NULL, &tid) == 0)
		if (bpf_map_delete_elem(fd, &tid))
			break;
}
