/* hist.h — pktpath.h's log-linear latency histogram read back in user space. */
#ifndef PKTPATH_HIST_H
#define PKTPATH_HIST_H

/* The median of h[0..PKTPATH_HIST_BUCKETS), interpolated inside its bucket; -1 when h is empty. */
double hist_median(const unsigned long long *h);
#endif
