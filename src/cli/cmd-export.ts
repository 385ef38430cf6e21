// pktpath export FILE --format folded|speedscope|pprof -o OUT [--modules]
// Streams: the session's stacks are read and the output written one stack at a time
// (src/core/session-stream.ts, export-stream.ts), so memory does not grow with the stacks. When
// frames are symbolized here, a first pass over the stacks collects the distinct (frame, role)
// pairs, which give the debug-file questions and the whole new frame table (inline frames
// included); a second pass maps and writes each stack (src/symbols/symbolize-session.ts).
import { parseArgs } from 'node:util';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { openSessionStreaming, type StreamedSession } from '../core/session-stream.ts';
import { foldedChunks, pprofChunks, speedscopeChunks } from '../core/export-stream.ts';
import { EXIT_OK, UsageError, type Io } from './common.ts';
import { SYMBOL_OPTIONS, SYMBOL_USAGE, symbolizeStreamedForCli } from './symbol-options.ts';

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
  const src = await symbolizeStreamedForCli(await openSessionStreaming(positionals[0]!), values, io);
  const stacks = await writeExport(src, fmt, values.output, { modules: values.modules === true });
  io.err(`wrote ${fmt} (${stacks} distinct stacks, ${src.session.samples} samples) to ${values.output}`);
  return EXIT_OK;
}

/** Writes the export through a temporary file renamed into place; returns how many stacks were read. */
export async function writeExport(src: StreamedSession, fmt: 'folded' | 'speedscope' | 'pprof', output: string, o: { modules?: boolean } = {}): Promise<number> {
  const s = src.session;
  let stacks = 0;
  const counted = function* () {
    for (const st of src.stacks()) {
      stacks++;
      yield st;
    }
  };
  const chunks: Iterable<string | Uint8Array> =
    fmt === 'folded' ? foldedChunks(s, counted(), { modules: o.modules === true }) : fmt === 'speedscope' ? speedscopeChunks(s, counted()) : pprofChunks(s, counted());
  const tmp = `${output}.${process.pid}.tmp`;
  try {
    const stages: Array<Readable | Transform | NodeJS.WritableStream> = [Readable.from(chunks, { objectMode: false })];
    if (fmt === 'pprof') stages.push(createGzip());
    stages.push(createWriteStream(tmp));
    await (pipeline as (...s: Array<Readable | Transform | NodeJS.WritableStream>) => Promise<void>)(...stages);
    await rename(tmp, output);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  return stacks;
}
