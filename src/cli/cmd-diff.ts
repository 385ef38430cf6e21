// pktpath diff A B [--json]
import { parseArgs } from 'node:util';
import { loadSession } from '../core/session-io.ts';
import { diffSessions } from '../core/diff.ts';
import { formatNs } from '../core/report.ts';
import { EXIT_OK, UsageError, type Io } from './common.ts';

export const DIFF_USAGE = 'pktpath diff A B [--json]';

export async function diffCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 2) throw new UsageError(`expected two session files: ${DIFF_USAGE}`);
  const [a, b] = await Promise.all([loadSession(positionals[0]!), loadSession(positionals[1]!)]);
  const d = diffSessions(a, b);
  if (values.json) {
    io.out(JSON.stringify(d, null, 2));
    return EXIT_OK;
  }
  const rows = [['stage', 'A ns/pkt', 'B ns/pkt', 'change', 'p50 Δ', 'p99 Δ']];
  const sign = (v: number | null) => (v === null ? '-' : `${v >= 0 ? '+' : ''}${formatNs(v)}`);
  for (const s of d.stages) {
    rows.push([
      s.name.replace(/[\u0000-\u001f\u007f]/g, '?') + (s.correction_mismatch ? ' (!)' : ''), // eslint-disable-line no-control-regex
      formatNs(s.a?.ns_per_packet ?? null),
      formatNs(s.b?.ns_per_packet ?? null),
      s.ns_per_packet_change === null ? '-' : `${s.ns_per_packet_change >= 0 ? '+' : ''}${(s.ns_per_packet_change * 100).toFixed(1)}%`,
      sign(s.p50_delta),
      sign(s.p99_delta),
    ]);
  }
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  io.out(rows.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  ')).join('\n'));
  if (d.stages.some((s) => s.correction_mismatch)) io.out('(!) corrected for probe cost in one session only: not comparable as they stand.');
  return EXIT_OK;
}
