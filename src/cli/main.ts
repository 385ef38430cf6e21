// The `pktpath` command line: record | report | export | diff.
import { recordCommand, RECORD_USAGE } from './cmd-record.ts';
import { reportCommand, REPORT_USAGE } from './cmd-report.ts';
import { exportCommand, EXPORT_USAGE } from './cmd-export.ts';
import { diffCommand, DIFF_USAGE } from './cmd-diff.ts';
import { psCommand, PS_USAGE } from './ps.ts';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError, sanitizingIo, stdio, type Io } from './common.ts';
import { SessionFileError } from '../core/session-io.ts';

const USAGE = `pktpath — find the weakest link on a packet path

usage:
  ${RECORD_USAGE.split('\n').join('\n  ')}
  ${REPORT_USAGE}
  ${EXPORT_USAGE}
  ${DIFF_USAGE}
  ${PS_USAGE.split('\n').join('\n  ')}
`;

const COMMANDS: Record<string, (argv: string[], io: Io) => Promise<number>> = {
  record: recordCommand,
  report: reportCommand,
  export: exportCommand,
  diff: diffCommand,
  ps: psCommand,
};

export async function main(argv: string[], rawIo: Io = stdio): Promise<number> {
  const io = sanitizingIo(rawIo);
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    (cmd === undefined ? io.err : io.out)(USAGE);
    return cmd === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const run = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined; // never an Object.prototype member
  if (!run) {
    io.err(`pktpath: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(USAGE);
    return EXIT_OK;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    // parseArgs reports unknown and malformed options as TypeErrors with an ERR_PARSE_ARGS_* code.
    const code = (e as { code?: string }).code ?? '';
    if (e instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`pktpath ${cmd}: ${(e as Error).message}\n(run \`pktpath ${cmd} --help\` for usage)`);
      return EXIT_USAGE;
    }
    if (e instanceof SessionFileError) {
      io.err(`pktpath ${cmd}: ${e.message}`);
      return EXIT_FAIL;
    }
    io.err(`pktpath ${cmd}: ${(e as Error).message ?? String(e)}`);
    return EXIT_FAIL;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = process.exitCode || code;
  });
}
