// The local machine as a Transport: child processes, no shell.
import { spawn } from 'node:child_process';
import { copyFile, chmod, readFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { userInfo, arch as nodeArch, release, type as osType } from 'node:os';
import type { ExecResult, ExitStatus, HostFacts, RunOptions, RunningCommand, Transport } from './transport.ts';
import { collect } from './transport.ts';

const UNAME_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i686' };

export class LocalTransport implements Transport {
  readonly host = 'localhost';
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  constructor() {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  run(argv: readonly string[], opts: RunOptions = {}): RunningCommand {
    if (argv.length === 0) throw new Error('run: empty argv');
    const needSudo = opts.root === true && process.getuid?.() !== 0;
    const full = needSudo ? ['sudo', '-n', '--', ...argv] : [...argv];
    const child = spawn(full[0]!, full.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    const exit = new Promise<ExitStatus>((resolve) => {
      child.on('error', (e) => {
        child.stderr.push(`${e.message}\n`);
        resolve({ code: 127, signal: null });
      });
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    // A closed pipe on our side must not crash the host process.
    child.stdin.on('error', () => {});
    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      exit,
      kill: (signal: NodeJS.Signals = 'SIGTERM') => {
        child.kill(signal);
      },
    };
  }

  exec(argv: readonly string[], opts?: RunOptions): Promise<ExecResult> {
    return collect(this.run(argv, opts));
  }

  async upload(localPath: string, remotePath: string, mode?: number): Promise<void> {
    await mkdir(dirname(remotePath), { recursive: true });
    await copyFile(localPath, remotePath);
    if (mode !== undefined) await chmod(remotePath, mode);
  }

  readFile(remotePath: string): Promise<Buffer> {
    return readFile(remotePath);
  }

  async facts(): Promise<HostFacts> {
    const u = userInfo();
    return { arch: UNAME_ARCH[nodeArch()] ?? nodeArch(), kernel: release(), os: osType(), uid: u.uid, user: u.username };
  }

  async close(): Promise<void> {
    this.markClosed();
  }
}
