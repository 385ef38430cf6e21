/* attach_all.c — every stage attached: once at start, where each stage's record says where and
 * how it was probed (or why not), and again for each --max-overhead window (windows.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "run_records.h"
#include "stream.h"
#include "tracer.h"

/* What the stage record says about a stage: its spec, where it was probed, how. */
static void emit_stage(struct tracer *t, struct stage_rt *s)
{
	char pk[16], hex[64] = "", name[256];
	struct stage_rec r = {
		.id = s->id, .name = s->sp->name, .kind = kind_name(s->sp->kind), .spec = s->sp->spec, .packets = pk,
		.ok = s->ok, .error = s->ok ? NULL : s->error, .binary = s->binary[0] ? s->binary : NULL,
		.symbol = s->sp->symbol, .located = s->located, .offset = s->file_off, .address = s->vaddr,
		.single_step = s->located && insn_single_stepped(s->insn.cls), .key = s->key,
		.relocated = s->relocated, .entry_offset = s->reloc.off, .entry_insn = s->reloc.insn.text,
		.untimed_insns = s->reloc.skipped, .untimed_prefix = s->reloc.prefix,
		.warning = s->warning[0] ? s->warning : NULL,
		.function = s->copies.bound[0] ? s->copies.bound : NULL,
		/* only when the name stands for more than itself: copies, or a copy instead of the name */
		.copies = s->copies.n > 1 || (s->copies.n == 1 && s->sp->symbol && strcmp(s->copies.f[0].name, s->sp->symbol))
				  ? &s->copies : NULL,
	};

	if (s->sp->packets_from == PKTPATH_PKTS_RET)
		snprintf(pk, sizeof(pk), "ret");
	else if (s->sp->packets_from == PKTPATH_PKTS_ARG)
		snprintf(pk, sizeof(pk), "arg%u", s->sp->packets_arg);
	else
		snprintf(pk, sizeof(pk), "one");
	if (s->sp->kind == PKTPATH_KIND_USDT) {
		snprintf(name, sizeof(name), "%s:%s", s->sp->provider, s->sp->probe);
		r.symbol = name;
	} else if (s->sp->kind == PKTPATH_KIND_TRACEPOINT) {
		snprintf(name, sizeof(name), "%s:%s", s->sp->category, s->sp->event);
		r.symbol = name;
	}
	if (s->located) {
		r.first_insn = s->insn.text;
		for (size_t i = 0; i < s->ncode && i < 8; i++)
			snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), "%s%02x", i ? " " : "", s->code[i]);
		r.first_bytes = hex[0] ? hex : NULL;
	} else {
		r.first_insn = s->sp->kind == PKTPATH_KIND_USDT && s->ok ? "nop (USDT site)" : NULL;
	}
	stream_stage(t->out, &r);
}

int attach_at_start(struct tracer *t)
{
	int err, nok = 0;

	err = uprobes_multi_attach(t);
	if (err && err != -EOPNOTSUPP && getenv("PKTPATH_DEBUG"))
		fprintf(stderr, "multi-uprobe links refused (%s): per-site links\n", strerror(-err));
	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];
		/* a stage sharing another's site is probed by that one's probes */
		if (s->ok && (s->shares >= 0 || s->ugroup >= 0 || stage_attach(t, s) == 0))
			nok++;
		emit_stage(t, s);
		if (!s->ok)
			emit_error(t->out, false, NULL, "stage %s: %s", s->sp->name, s->error);
	}
	if (nok && skb_free_attach(t))
		emit_error(t->out, false, NULL, "cannot attach to skb:kfree_skb/consume_skb/skb_copy_datagram_iovec (%s): a reused skb address "
			   "may carry an old packet's time", strerror(errno));
	fflush(t->out);
	return nok;
}

int attach_all(struct tracer *t)
{
	int n = 0;

	uprobes_multi_attach(t);
	for (int i = 0; i < t->nst; i++)
		if (t->st[i].ok && (t->st[i].shares >= 0 || t->st[i].ugroup >= 0 || (!t->st[i].links[0] && stage_attach(t, &t->st[i]) == 0)))
			n++;
	return n;
}
