// pktpath report FILE [--json]
import { parseArgs } from 'node:util';
import { loadSession } from '../core/session-io.ts';
import { buildReport, formatReportTable } from '../core/report.ts';
import { formatSampledReport } from '../core/sampled.ts';
import { jsonForTerminal } from '../core/sanitize.ts';
import { EXIT_OK, UsageError, type Io } from './common.ts';
import { SYMBOL_OPTIONS, SYMBOL_USAGE, symbolizeForCli } from './symbol-options.ts';

export const REPORT_USAGE = `pktpath report FILE [--json] ${SYMBOL_USAGE}`;

export async function reportCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, ...SYMBOL_OPTIONS }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError(`expected one session file: ${REPORT_USAGE}`);
  const s = await symbolizeForCli(await loadSession(positionals[0]!), values, io, { quiet: values.json === true });
  const r = buildReport(s);
  if (values.json) {
    io.out(jsonForTerminal(r, 2));
    return EXIT_OK;
  }
  let text = formatReportTable(r);
  if (r.sampled) text += '\n\n' + formatSampledReport(r.sampled);
  else if (r.sampled_error) text += `\n\nSampled mode: ${r.sampled_error}`;
  io.out(text);
  return EXIT_OK;
}
