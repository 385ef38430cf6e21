// pktpath report FILE [--json]
import { parseArgs } from 'node:util';
import { openSessionStreaming } from '../core/session-stream.ts';
import { buildReport, formatReportTable } from '../core/report.ts';
import { formatSampledReport } from '../core/sampled.ts';
import { sampledVerdict, verdictDetails, verdictHeadline } from '../core/verdict.ts';
import { jsonForTerminal } from '../core/sanitize.ts';
import { EXIT_OK, UsageError, type Io } from './common.ts';
import { SYMBOL_OPTIONS, SYMBOL_USAGE, symbolizeForCli } from './symbol-options.ts';

export const REPORT_USAGE = `pktpath report FILE [--json] ${SYMBOL_USAGE}`;

export async function reportCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, ...SYMBOL_OPTIONS }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError(`expected one session file: ${REPORT_USAGE}`);
  // the report reads no stacks: they are checked one at a time and never held
  const src = await openSessionStreaming(positionals[0]!);
  for (const _ of src.stacks());
  const s = await symbolizeForCli(src.session, values, io, { quiet: values.json === true });
  const r = buildReport(s);
  if (values.json) {
    io.out(jsonForTerminal(r, 2));
    return EXIT_OK;
  }
  let text = formatReportTable(r);
  if (r.sampled) {
    // the exact table marks its weakest link; a sampled one says it here, with what it left out (poll stages)
    const v = sampledVerdict(r.sampled);
    text += '\n\n' + formatSampledReport(r.sampled) + '\n\n' + [verdictHeadline(v), ...verdictDetails(v).map((d) => `  ${d}`)].join('\n');
  }
  else if (r.sampled_error) text += `\n\nSampled mode: ${r.sampled_error}`;
  io.out(text);
  return EXIT_OK;
}
