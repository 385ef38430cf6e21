// pktpath export FILE --format folded|speedscope|pprof -o OUT [--modules]
import { parseArgs } from 'node:util';
import { writeFile, rename } from 'node:fs/promises';
import { loadSession } from '../core/session-io.ts';
import { exportFolded } from '../core/export-folded.ts';
import { exportSpeedscope } from '../core/export-speedscope.ts';
import { exportPprof } from '../core/export-pprof.ts';
import { EXIT_OK, UsageError, type Io } from './common.ts';
import { SYMBOL_OPTIONS, SYMBOL_USAGE, symbolizeForCli } from './symbol-options.ts';

export const EXPORT_USAGE = `pktpath export FILE --format folded|speedscope|pprof -o OUT [--modules] ${SYMBOL_USAGE}`;

export async function exportCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { format: { type: 'string', short: 'f' }, output: { type: 'string', short: 'o' }, modules: { type: 'boolean' }, ...SYMBOL_OPTIONS },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError(`expected one session file: ${EXPORT_USAGE}`);
  if (!values.output) throw new UsageError(`-o OUT is required: ${EXPORT_USAGE}`);
  const fmt = values.format;
  if (fmt !== 'folded' && fmt !== 'speedscope' && fmt !== 'pprof') {
    throw new UsageError(`--format must be folded, speedscope or pprof${fmt ? `, not ${JSON.stringify(fmt)}` : ''}`);
  }
  const s = await symbolizeForCli(await loadSession(positionals[0]!), values, io);
  let data: string | Buffer;
  if (fmt === 'folded') data = exportFolded(s, { modules: values.modules === true });
  else if (fmt === 'speedscope') data = JSON.stringify(exportSpeedscope(s));
  else data = exportPprof(s);
  const tmp = `${values.output}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, values.output);
  io.err(`wrote ${fmt} (${s.stacks.length} distinct stacks, ${s.samples} samples) to ${values.output}`);
  return EXIT_OK;
}
