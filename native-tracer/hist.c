/* hist.c — see hist.h. */
#include "hist.h"
#include "pktpath.h"

/* bounds of bucket idx, the inverse of pktpath.h's idx(v) */
static void bucket_bounds(int idx, double *lo, double *hi)
{
	int g = idx / PKTPATH_HIST_SUB, sub = idx % PKTPATH_HIST_SUB, p;
	double w;

	if (idx < PKTPATH_HIST_SUB) {
		*lo = idx;
		*hi = idx + 1;
		return;
	}
	p = g + PKTPATH_HIST_SUB_BITS - 1;
	w = (double)(1ULL << (p - PKTPATH_HIST_SUB_BITS));
	*lo = (double)(1ULL << p) + sub * w;
	*hi = *lo + w;
}

double hist_median(const unsigned long long *h)
{
	unsigned long long n = 0, acc = 0;
	double lo, hi;

	for (int b = 0; b < PKTPATH_HIST_BUCKETS; b++)
		n += h[b];
	if (!n)
		return -1;
	for (int b = 0; b < PKTPATH_HIST_BUCKETS; b++) {
		if (acc + h[b] >= (n + 1) / 2) {
			bucket_bounds(b, &lo, &hi);
			return lo + (hi - lo) * (((n + 1) / 2.0 - acc) - 0.5) / h[b];
		}
		acc += h[b];
	}
	return -1;
}
