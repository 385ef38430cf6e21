// A short CPU sample of a target (no probes) to see which of its functions run: the editor's Attach
// pre-selects them, `pktpath record --auto-stages` adds the ones on a DPDK poller's rx→tx path.
// One length and rate for both, stated wherever the result is shown.
import type { Transport } from '../remote/transport.ts';
import type { Session } from '../core/session.ts';
import { recordSession } from './record-session.ts';

/** Seconds and Hz of the pre-sample. */
export const PRESAMPLE_S = 1;
export const PRESAMPLE_HZ = 999;

/** Samples the process for PRESAMPLE_S at PRESAMPLE_HZ; `tracer` is a local tracer binary (default: located). */
export function presample(t: Transport, pid: number, tracer?: string): Promise<Session> {
  return recordSession(t, { pid, stages: [], sampleHz: PRESAMPLE_HZ, durationS: PRESAMPLE_S, intervalMs: 500, ...(tracer ? { tracer } : {}) });
}
