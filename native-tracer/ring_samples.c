/* ring_samples.c — see ring_samples.h. */
#include "ring_samples.h"
#include "sample_events.h"
#include "unwind.h"
#include "unwind_cfi.h"
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_POLL_MS 10
#define TABLE_CHAINS 16384
/* in a chain counted by the stack table, what follows this are the scanned stack words (no
 * context marker perf writes has this value) */
#define SCAN_MARK (~0ull)
/* ... or the letters saying how each user frame was found, 8 to a word */
#define FOUND_MARK (~0ull - 1)
/* uretprobe chains received and not yet paired with their sample: more than the samples one
 * read of the rings can hold back */
#define CHAINS 256

struct ring_samples {
	struct sample_events *ev;
	const struct text_ranges *tr; /* the stack scan's: words copied with each sample are kept when inside */
	struct cfi_unwinder *cfi;     /* stack copies: the reader unwinds them */
	struct ring_buffer *chains;   /* the BPF program's uretprobe chains, or NULL */
	struct pktpath_uret_chain pending[CHAINS]; /* tid 0: free */
	unsigned next_pending;
	pthread_t reader;
	volatile int stop;
	pthread_mutex_t mu; /* guards ev against the reader, the tables, cur and the counts */
	struct stack_table *tabs[2];
	unsigned cur; /* the table the reader fills */
	unsigned long long samples, lost, full, cut, no_info;
	unsigned long long prev_samples, prev_lost, prev_full, prev_cut, prev_no_info;
};

void ring_samples_configure(struct sample_events *ev, const struct text_ranges *tr, unsigned copy_bytes)
{
	ev->rings = true;
	ev->max_chain = RING_MAX_CHAIN;
	ev->stack_bytes = copy_bytes ? copy_bytes : tr->n > 0 ? PKTPATH_SCAN_BYTES : 0;
	ev->kernel_chain_only = copy_bytes > 0;
	ev->regs_user = copy_bytes ? UNWIND_REGS_MASK : 0;
}

static int on_chain(void *ctx, void *data, size_t size)
{
	struct ring_samples *r = ctx;

	if (size < sizeof(struct pktpath_uret_chain))
		return 0;
	/* the oldest goes: its sample was lost, or it is that far behind */
	memcpy(&r->pending[r->next_pending], data, sizeof(r->pending[0]));
	r->next_pending = (r->next_pending + 1) % CHAINS;
	return 0;
}

/* The uretprobe chain the BPF program sent with the sample of thread tid at time t, or NULL. A
 * chain is paired only with the sample whose thread and kernel time it carries: a lost sample's
 * chain pairs with nothing, and a sample without its chain keeps its trampoline frames. The chain
 * was written before the sample, so it is in the ring buffer by the time the sample is read. */
static const struct pktpath_uret_chain *take_chain(struct ring_samples *r, unsigned tid, unsigned long long t)
{
	if (!r->chains)
		return NULL;
	ring_buffer__consume(r->chains);
	for (unsigned i = 0; i < CHAINS; i++) {
		struct pktpath_uret_chain *c = &r->pending[i];
		if (c->tid == tid && c->time == t) {
			c->tid = 0;
			return c;
		}
	}
	return NULL;
}

/* The PERF_SAMPLE_REGS_USER and _STACK_USER parts of a sample at q (u64 abi; regs; u64 size; size
 * bytes; u64 dyn_size), unwound (with uret's return addresses, when not NULL): appends PERF_CONTEXT_USER, the user frames and FOUND_MARK with
 * their letters to out. Returns how many values it wrote (0 when the sample has no user regs). */
static unsigned unwind_copy(struct ring_samples *r, const struct perf_event_header *h, unsigned tid,
			    const struct pktpath_uret_chain *uret, const unsigned char *q, unsigned long long *out)
{
	const unsigned char *end = (const unsigned char *)h + h->size;
	unsigned long long abi, regs[UNWIND_NREGS], size = 0, dyn = 0, pcs[PKTPATH_MAX_STACK];
	char how[PKTPATH_MAX_STACK];
	const unsigned char *stack;
	enum cfi_end why;
	unsigned n, w = 0;

	if (q + 8 > end)
		return 0;
	memcpy(&abi, q, 8);
	q += 8;
	if (!abi || q + sizeof(regs) + 8 > end)
		return 0;
	memcpy(regs, q, sizeof(regs));
	q += sizeof(regs);
	memcpy(&size, q, 8);
	stack = q + 8;
	if (size && stack + size + 8 <= end) {
		memcpy(&dyn, stack + size, 8);
		if (dyn > size)
			dyn = size;
	}
	cfi_unwinder_set_uret(r->cfi, uret);
	n = (unsigned)cfi_unwind(r->cfi, (int)tid, regs, stack, dyn, pcs, how, PKTPATH_MAX_STACK, &why);
	r->cut += why == CFI_END_COPY;
	r->no_info += why == CFI_END_NO_INFO;
	out[w++] = (unsigned long long)PERF_CONTEXT_USER;
	memcpy(out + w, pcs, n * 8ull);
	w += n;
	out[w++] = FOUND_MARK;
	for (unsigned i = 0; i < n; i += 8) {
		unsigned long long word = 0;
		for (unsigned j = 0; j < 8 && i + j < n; j++)
			word |= (unsigned long long)(unsigned char)how[i + j] << (8 * j);
		out[w++] = word;
	}
	return w;
}

/* The PERF_SAMPLE_STACK_USER part of a sample at q (u64 size; size bytes; u64 dyn_size): writes
 * SCAN_MARK and the words that lie in the executable's text to out. Returns how many values it
 * wrote (0 without a stack copy or a candidate). */
static unsigned scan_words(const struct ring_samples *r, const struct perf_event_header *h, const unsigned char *q,
			   unsigned long long *out)
{
	const unsigned char *end = (const unsigned char *)h + h->size;
	unsigned long long size, dyn;
	unsigned n;

	if (!r->tr->n || q + 8 > end)
		return 0;
	memcpy(&size, q, 8);
	if (!size || q + 16 + size > end)
		return 0;
	memcpy(&dyn, q + 8 + size, 8);
	if (dyn > size)
		dyn = size;
	n = scan_stack_copy(r->tr, q + 8, dyn, out + 1);
	if (!n)
		return 0;
	out[0] = SCAN_MARK;
	return n + 1;
}

/* One record from an event's ring (the reader thread, with mu held). */
static void on_record(void *ctx, const struct perf_event_header *h)
{
	struct ring_samples *r = ctx;

	if (h->type == PERF_RECORD_SAMPLE) {
		/* sample_type TID | CALLCHAIN: u32 pid, tid; u64 nr; u64 ips[nr]; with stack copies
		 * TID | TIME | CALLCHAIN: u32 pid, tid; u64 time; u64 nr; ... */
		const unsigned char *p = (const unsigned char *)(h + 1);
		const unsigned hd = r->cfi ? 16 : 8; /* pid, tid and time before nr */
		unsigned pid, tid;
		unsigned long long nr, t = 0;

		if (h->size < sizeof(*h) + hd + 8)
			return;
		memcpy(&pid, p, 4);
		memcpy(&tid, p + 4, 4);
		if (r->cfi)
			memcpy(&t, p + 8, 8);
		memcpy(&nr, p + hd, 8);
		if (nr > (h->size - sizeof(*h) - hd - 8) / 8)
			return; /* malformed: a chain longer than its record */
		if (r->ev->pid > 0 && (int)pid != r->ev->pid)
			return;
		r->samples++;
		/* the chain (+ context markers), then SCAN_MARK and the scanned words, or the user
		 * frames the unwinder found and FOUND_MARK with their letters */
		unsigned long long ips[RING_MAX_CHAIN + 8 + 2 + PKTPATH_MAX_STACK + PKTPATH_MAX_STACK / 8];
		const unsigned cap = RING_MAX_CHAIN + 8;
		unsigned n = nr < cap ? (unsigned)nr : cap;
		memcpy(ips, p + hd + 8, n * 8ull);
		if (r->cfi)
			n += unwind_copy(r, h, tid, take_chain(r, tid, t), p + hd + 8 + nr * 8, ips + n);
		else
			n += scan_words(r, h, p + hd + 8 + nr * 8, ips + n);
		if (!stack_table_add(r->tabs[r->cur], tid, ips, n))
			r->full++;
	} else if (h->type == PERF_RECORD_LOST && h->size >= sizeof(*h) + 16) {
		unsigned long long lost;
		memcpy(&lost, (const unsigned char *)(h + 1) + 8, 8);
		r->lost += lost;
	}
}

static void read_rings(struct ring_samples *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->cfi)
		cfi_unwinder_allow_refresh(r->cfi); /* a library loaded since: its mappings are read once */
	for (int i = 0; i < r->ev->n; i++)
		perf_ring_read(&r->ev->ev[i].ring, on_record, r);
	pthread_mutex_unlock(&r->mu);
}

static void *reader_main(void *arg)
{
	struct ring_samples *r = arg;
	while (!r->stop) {
		poll(NULL, 0, RING_POLL_MS);
		read_rings(r);
	}
	return NULL;
}

static void free_samples(struct ring_samples *r)
{
	ring_buffer__free(r->chains);
	stack_table_free(r->tabs[0]);
	stack_table_free(r->tabs[1]);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

struct ring_samples *ring_samples_start(struct sample_events *ev, const struct text_ranges *tr,
					struct cfi_unwinder *cfi, int chains_fd, char *err, size_t errlen)
{
	struct ring_samples *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->ev = ev;
	r->tr = tr;
	r->cfi = cfi;
	pthread_mutex_init(&r->mu, NULL);
	r->tabs[0] = stack_table_new(TABLE_CHAINS, (unsigned long long)TABLE_CHAINS * 32);
	r->tabs[1] = stack_table_new(TABLE_CHAINS, (unsigned long long)TABLE_CHAINS * 32);
	if (!r->tabs[0] || !r->tabs[1]) {
		snprintf(err, errlen, "out of memory");
		free_samples(r);
		return NULL;
	}
	/* without it, samples inside a function with a pending uretprobe keep the trampoline frame */
	if (cfi && chains_fd >= 0)
		r->chains = ring_buffer__new(chains_fd, on_chain, r, NULL);
	if (pthread_create(&r->reader, NULL, reader_main, r)) {
		snprintf(err, errlen, "cannot start the ring reader thread");
		free_samples(r);
		return NULL;
	}
	return r;
}

struct stack_table *ring_samples_swap(struct ring_samples *r, void (*locked)(void *ctx), void *ctx,
				      struct ring_interval *iv)
{
	struct stack_table *done;

	read_rings(r);
	pthread_mutex_lock(&r->mu);
	if (locked)
		locked(ctx);
	done = r->tabs[r->cur];
	r->cur ^= 1;
	iv->samples = r->samples - r->prev_samples;
	iv->lost = r->lost - r->prev_lost;
	iv->full = r->full - r->prev_full;
	iv->cut = r->cut - r->prev_cut;
	iv->no_info = r->no_info - r->prev_no_info;
	r->prev_samples = r->samples;
	r->prev_lost = r->lost;
	r->prev_full = r->full;
	r->prev_cut = r->cut;
	r->prev_no_info = r->no_info;
	pthread_mutex_unlock(&r->mu);
	return done;
}

void ring_chain_split(const struct stack_entry *e, bool kernel_mode, struct ring_chain *out)
{
	bool kernel = kernel_mode;
	unsigned i;

	out->nkernel = out->nuser = 0;
	out->has_found = false;
	memset(out->scan, 0, sizeof(out->scan));
	for (i = 0; i < e->n; i++) {
		unsigned long long ip = e->ips[i];

		if (ip == SCAN_MARK)
			break;
		if (ip == FOUND_MARK) {
			out->has_found = true;
			for (int k = 0; k < out->nuser; k++)
				out->found[k] = i + 1 + k / 8 < e->n ? (char)(e->ips[i + 1 + k / 8] >> (8 * (k % 8))) : '?';
			return;
		}
		if (ip >= (unsigned long long)PERF_CONTEXT_MAX) {
			/* context markers say whose frames follow */
			if (ip == (unsigned long long)PERF_CONTEXT_KERNEL)
				kernel = true;
			else if (ip == (unsigned long long)PERF_CONTEXT_USER)
				kernel = false;
			continue;
		}
		if (kernel && out->nkernel < PKTPATH_MAX_STACK)
			out->kernel[out->nkernel++] = ip;
		else if (!kernel && out->nuser < PKTPATH_MAX_STACK)
			out->user[out->nuser++] = ip;
	}
	for (unsigned c = 0, j = i + 1; i < e->n && j < e->n && c < PKTPATH_SCAN_MAX; j++)
		out->scan[c++] = e->ips[j];
}

void ring_samples_stop(struct ring_samples *r)
{
	if (!r)
		return;
	r->stop = 1;
	pthread_join(r->reader, NULL);
	free_samples(r);
}
