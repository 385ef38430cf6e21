/* uprobe_multi.c — every uprobe stage of one binary through two multi-uprobe links (entry and
 * return; BPF_TRACE_UPROBE_MULTI, kernel 6.6+), and detaching all links at once.
 *
 * Why: each per-site uprobe link costs 0.1-0.3 s to close here (the unregister waits for a grace
 * period), so 10 stages took 1-2.6 s to stop. A multi link unregisters all its sites and waits
 * once. Debian's libbpf 1.1 has no bpf_program__attach_uprobe_multi, so the link is made with the
 * raw bpf() syscall; where the kernel refuses it, the stages fall back to per-site links. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "tracer.h"
#include "pktpath.skel.h"

#define ATTACH_UPROBE_MULTI 48 /* enum bpf_attach_type BPF_TRACE_UPROBE_MULTI (uapi 6.6) */
#define UPROBE_MULTI_RETURN 1u /* BPF_F_UPROBE_MULTI_RETURN */
#define CMD_LINK_CREATE 28     /* BPF_LINK_CREATE */

/* bpf_attr.link_create with its uprobe_multi member, as in the 6.6+ uapi (not in libbpf 1.1's) */
struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t um_flags;
	uint32_t pid;
	uint32_t pad;
};

void uprobes_multi_prepare(struct tracer *t)
{
	bool any = false;

	for (int i = 0; i < t->nst; i++)
		any |= t->st[i].ok && t->st[i].sp->kind == PKTPATH_KIND_UPROBE;
	t->umulti = any && !getenv("PKTPATH_NO_UPROBE_MULTI");
	bpf_program__set_autoload(t->skel->progs.stage_uentry_multi, t->umulti);
	bpf_program__set_autoload(t->skel->progs.stage_ureturn_multi, t->umulti);
	bpf_program__set_expected_attach_type(t->skel->progs.stage_uentry_multi, ATTACH_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(t->skel->progs.stage_ureturn_multi, ATTACH_UPROBE_MULTI);
}

int uprobe_multi_link(struct bpf_program *p, const char *binary, const uint64_t *off, const uint64_t *cookie,
		      int n, bool ret, int pid)
{
	struct link_create_uprobe_multi a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = bpf_program__fd(p);
	a.attach_type = ATTACH_UPROBE_MULTI;
	a.path = (uint64_t)(uintptr_t)binary;
	a.offsets = (uint64_t)(uintptr_t)off;
	a.cookies = (uint64_t)(uintptr_t)cookie;
	a.cnt = n;
	a.um_flags = ret ? UPROBE_MULTI_RETURN : 0;
	a.pid = pid > 0 ? pid : 0;
	fd = syscall(__NR_bpf, CMD_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : fd;
}

/* A uprobe stage with probes of its own that no link holds yet. */
static bool unattached_uprobe(const struct stage_rt *s)
{
	return s->ok && s->sp->kind == PKTPATH_KIND_UPROBE && !s->links[0] && s->ugroup < 0 && s->shares < 0;
}

int uprobes_multi_attach(struct tracer *t)
{
	int pid = t->o->kernel_mode ? 0 : t->o->pid;

	if (!t->umulti)
		return -EOPNOTSUPP;
	for (int i = 0; i < t->nst; i++) {
		struct stage_rt *s = &t->st[i];
		uint64_t off[PKTPATH_MAX_STAGES], eoff[PKTPATH_MAX_STAGES], cookie[PKTPATH_MAX_STAGES];
		struct umulti_group *g;
		int n = 0, fd;

		if (!unattached_uprobe(s))
			continue;
		/* every stage in this binary that is not attached yet */
		for (int j = i; j < t->nst; j++) {
			struct stage_rt *o = &t->st[j];

			if (unattached_uprobe(o) && !strcmp(o->binary, s->binary)) {
				off[n] = o->file_off;
				eoff[n] = o->entry_off; /* later than off where reloc.c moved it */
				cookie[n++] = o->id;
			}
		}
		g = &t->ugrp[t->nugrp];
		/* the return link first, as for per-site links (see README: an entry consumer went silent) */
		fd = uprobe_multi_link(t->skel->progs.stage_ureturn_multi, s->binary, off, cookie, n, true, pid);
		if (fd < 0)
			goto refused;
		g->fd[1] = fd;
		fd = uprobe_multi_link(t->skel->progs.stage_uentry_multi, s->binary, eoff, cookie, n, false, pid);
		if (fd < 0) {
			close(g->fd[1]);
			goto refused;
		}
		g->fd[0] = fd;
		for (int j = i; j < t->nst; j++) {
			struct stage_rt *o = &t->st[j];

			if (unattached_uprobe(o) && !strcmp(o->binary, s->binary))
				o->ugroup = t->nugrp;
		}
		t->nugrp++;
		continue;
refused:
		/* an older kernel, or one that refuses this binary: per-site links from here on */
		t->umulti = false;
		return fd;
	}
	return 0;
}

struct closer {
	pthread_t th;
	bool started;
	struct bpf_link *link;
	int fd;
};

static void *close_one(void *arg)
{
	struct closer *c = arg;

	if (c->link)
		bpf_link__destroy(c->link);
	else
		close(c->fd);
	return NULL;
}

/* Every uprobe link waits for its own grace period on close: close them all at once, each in its
 * own thread, so the waits overlap. Inline when a thread cannot be made. */
void links_detach_all(struct tracer *t)
{
	struct closer c[PKTPATH_MAX_STAGES * 2 + PKTPATH_MAX_STAGES * 2];
	int n = 0;

	for (int g = 0; g < t->nugrp; g++)
		for (int k = 0; k < 2; k++)
			c[n++] = (struct closer){ .fd = t->ugrp[g].fd[k] };
	t->nugrp = 0;
	for (int i = 0; i < t->nst; i++) {
		t->st[i].ugroup = -1;
		for (int k = 0; k < 2; k++) {
			if (t->st[i].links[k])
				c[n++] = (struct closer){ .link = t->st[i].links[k] };
			t->st[i].links[k] = NULL;
		}
	}
	for (int i = 0; i < n; i++)
		c[i].started = pthread_create(&c[i].th, NULL, close_one, &c[i]) == 0;
	for (int i = 0; i < n; i++) {
		if (c[i].started)
			pthread_join(c[i].th, NULL);
		else
			close_one(&c[i]);
	}
}
