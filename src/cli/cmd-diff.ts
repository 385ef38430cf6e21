// pktpath diff A B [--json] [--fail-if-slower PCT]
import { parseArgs } from 'node:util';
import { loadSession } from '../core/session-io.ts';
import { diffSessions, slowerThan } from '../core/diff.ts';
import { formatNs } from '../core/report.ts';
import { jsonForTerminal, sanitizeTerminal } from '../core/sanitize.ts';
import { EXIT_OK, numFlag, UsageError, type Io } from './common.ts';

export const DIFF_USAGE = 'pktpath diff A B [--json] [--fail-if-slower PCT]';
/** A stage got significantly slower by more than --fail-if-slower: a regression, not a failure to run. */
export const EXIT_SLOWER = 3;

const printable = (s: string): string => sanitizeTerminal(s).replace(/[\n\t]/g, ' ');

export async function diffCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, options: { json: { type: 'boolean' }, 'fail-if-slower': { type: 'string' } }, allowPositionals: true, strict: true,
  });
  if (positionals.length !== 2) throw new UsageError(`expected two session files: ${DIFF_USAGE}`);
  const gate = numFlag('--fail-if-slower', values['fail-if-slower']);
  if (gate !== undefined && gate < 0) throw new UsageError(`--fail-if-slower expects a percentage ≥ 0, got ${gate}`);
  const [a, b] = await Promise.all([loadSession(positionals[0]!), loadSession(positionals[1]!)]);
  const d = diffSessions(a, b);
  const slower = gate !== undefined ? slowerThan(d, gate) : [];
  if (values.json) {
    io.out(jsonForTerminal(gate !== undefined ? { ...d, fail_if_slower_pct: gate, slower: slower.map((s) => s.name) } : d, 2));
  } else {
    const rows = [['stage', 'A ns/pkt', 'B ns/pkt', 'change', `beyond noise (p<${d.alpha})`, 'p50 Δ', 'p99 Δ']];
    const sign = (v: number | null) => (v === null ? '-' : `${v >= 0 ? '+' : ''}${formatNs(v)}`);
    for (const s of d.stages) {
      const name = printable(s.name) + (s.b_name ? ` (B: ${printable(s.b_name)})` : '') + (s.correction_mismatch ? ' (!)' : '');
      rows.push([
        name,
        formatNs(s.a_ns_per_packet),
        formatNs(s.b_ns_per_packet),
        s.delta_pct === null ? '-' : `${s.delta_pct >= 0 ? '+' : ''}${s.delta_pct.toFixed(1)}%`,
        s.p_value === null ? '-' : s.significant ? `yes (p=${s.p_value.toExponential(1)})` : `no (p=${s.p_value.toFixed(2)})`,
        sign(s.p50_delta),
        sign(s.p99_delta),
      ]);
    }
    const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...r[c]!].length)));
    io.out(rows.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  ')).join('\n'));
    if (d.stages.some((s) => s.correction_mismatch)) io.out('(!) corrected for probe cost in one session only: not comparable as they stand.');
    if (d.mode === 'mixed') io.out('One session is sampled, the other probed: deltas are shown, but not tested against noise.');
    if (gate !== undefined) {
      io.out(slower.length
        ? `SLOWER: ${slower.map((s) => `${printable(s.name)} +${s.delta_pct!.toFixed(1)}%`).join(', ')} (beyond noise, more than ${gate}%)`
        : `no stage is slower by more than ${gate}% beyond noise`);
    }
  }
  return slower.length ? EXIT_SLOWER : EXIT_OK;
}
