/* bpf_load.c — loading pktpath.bpf.c: once to learn whether fentry works here, then for the run.
 * libbpf's own messages go to stderr only with PKTPATH_DEBUG set; its last warning is kept for
 * the error record of a failed load. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bpf_load.h"
#include "run_records.h"
#include "tracer.h"
#include "pktpath.skel.h"

static char libbpf_last[512];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list ap2;

	if (level == LIBBPF_DEBUG && !getenv("PKTPATH_DEBUG"))
		return 0;
	va_copy(ap2, ap);
	if (level == LIBBPF_WARN) {
		vsnprintf(libbpf_last, sizeof(libbpf_last), fmt, ap2);
		libbpf_last[strcspn(libbpf_last, "\n")] = '\0';
	}
	va_end(ap2);
	if (getenv("PKTPATH_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* fentry works only where the kernel lets us load a tracing program: try it. */
static void probe_fentry(struct features *f, const struct options *o)
{
	struct pktpath_bpf *k;
	struct bpf_program *p;
	const char *target = "bpf_fentry_test1";
	int err;

	for (int i = 0; i < o->nstages; i++)
		if (o->stages[i].kind == PKTPATH_KIND_FENTRY) {
			target = o->stages[i].symbol;
			break;
		}
	k = pktpath_bpf__open();
	if (!k) {
		feature_missing(f, "fentry: cannot open the BPF object");
		return;
	}
	bpf_object__for_each_program(p, k->obj)
		bpf_program__set_autoload(p, false);
	bpf_program__set_autoload(k->progs.fentry_slot0, true);
	if (bpf_program__set_attach_target(k->progs.fentry_slot0, 0, target)) {
		/* the stage names a function the kernel lacks; the stage will say so */
		bpf_program__set_attach_target(k->progs.fentry_slot0, 0, "bpf_fentry_test1");
	}
	err = pktpath_bpf__load(k);
	pktpath_bpf__destroy(k);
	if (!err) {
		f->fentry = true;
		return;
	}
	feature_missing(f, "fentry: loading an fentry program failed here (%s): no BPF trampolines on this kernel",
			strerror(-err));
}

void host_features(struct tracer *t)
{
	libbpf_set_print(libbpf_print);
	features_detect(&t->feat);
	if (t->feat.bpf_allowed && t->feat.btf)
		probe_fentry(&t->feat, t->o);
	else
		feature_missing(&t->feat, "fentry: not tried (needs BTF and CAP_BPF)");
}

int stages_load(struct tracer *t)
{
	int err;

	t->skel = pktpath_bpf__open();
	if (!t->skel) {
		emit_error(t->out, true, NULL, "cannot open the BPF object: %s", strerror(errno));
		return 1;
	}
	stages_prepare(t);
	err = pktpath_bpf__load(t->skel);
	if (err) {
		emit_error(t->out, true, &t->feat, "loading the BPF programs failed: %s%s%s", strerror(-err),
			   libbpf_last[0] ? ": " : "", libbpf_last);
		emit_bye(t->out, "error", NULL);
		return 1;
	}
	err = stages_match_fill(t);
	if (err) {
		emit_error(t->out, true, NULL, "%s", err == -EEXIST
			   ? "two stages at one site match the same argument value: each call can be one stage only"
			   : "cannot fill the stages' argument values");
		emit_bye(t->out, "error", NULL);
		return 1;
	}
	return 0;
}
