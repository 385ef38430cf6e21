// Running the `pktpath` command line in tests: in this process through main() with its output
// captured (fast), or as the real `node` process a shell would start (exit codes, stdout/stderr).
import { spawnSync } from 'node:child_process';
import { main } from '../../src/cli/main.ts';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runCli(...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const line = (t: string): string => (t.endsWith('\n') ? t : `${t}\n`);
  const code = await main(args, { out: (t) => (stdout += line(t)), err: (t) => (stderr += line(t)) });
  return { code, stdout, stderr };
}

export function runCliProcess(...args: string[]): CliRun {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
