// A short CPU sample of a target (no probes) to see which of its functions run: the editor's Attach
// pre-selects them, `pktpath record --auto-stages` adds the ones on a DPDK poller's rx→tx path.
// One length for both; each rate is one constant, stated wherever the result is shown.
import type { Transport } from '../remote/transport.ts';
import type { Session } from '../core/session.ts';
import { recordSession } from './record-session.ts';

/** Seconds of the pre-sample. */
export const PRESAMPLE_S = 1;
/** --auto-stages' rate: the default sampling rate, gentle on a poller already paying its probes. */
export const PRESAMPLE_HZ = 999;
/** Attach's rate: it picks stages of a few hundred ns at low packet rates (KNOWN_ISSUES.md), so it samples denser. */
export const ATTACH_PRESAMPLE_HZ = 4999;

/** Samples the process for PRESAMPLE_S at `hz`; `tracer` is a local tracer binary (default: located). */
export function presample(t: Transport, pid: number, tracer?: string, hz = PRESAMPLE_HZ): Promise<Session> {
  return recordSession(t, { pid, stages: [], sampleHz: hz, durationS: PRESAMPLE_S, intervalMs: 500, ...(tracer ? { tracer } : {}) });
}
