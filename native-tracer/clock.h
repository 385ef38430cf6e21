/* clock.h — the tracer's one clock: CLOCK_MONOTONIC in ns, what every t_ns in the stream uses
 * (and what BPF's bpf_ktime_get_ns reads). */
#ifndef PKTPATH_CLOCK_H
#define PKTPATH_CLOCK_H
unsigned long long now_ns(void);
#endif
