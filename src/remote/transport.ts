// A Transport runs the tracer and its helpers on the host that runs the forwarder: this machine
// (local.ts, child processes) or another one over SSH (ssh.ts). Everything above it — deploy,
// discovery, recording — is written once against this interface.
import type { Readable, Writable } from 'node:stream';

export interface ExitStatus {
  code: number | null; // null when ended by a signal
  signal: string | null;
}

/** A command started on the host, its stdio streamed. */
export interface RunningCommand {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exit: Promise<ExitStatus>;
  /** Ask the command to stop (SIGTERM by default). Closing stdin is the polite way for the tracer. */
  kill(signal?: NodeJS.Signals): void;
}

export interface ExecResult extends ExitStatus {
  stdout: string;
  stderr: string;
}

export interface HostFacts {
  arch: string; // `uname -m`: x86_64, aarch64, ...
  kernel: string; // `uname -r`
  os: string; // `uname -s`
  uid: number;
  user: string;
}

export interface RunOptions {
  /** Run as root: directly when already root, else through `sudo -n` (never prompts). */
  root?: boolean;
  env?: Record<string, string>;
}

export interface Transport {
  /** How the user named the host ("localhost", an ssh alias, user@host:port). */
  readonly host: string;
  /** argv is never joined by a shell on the local side; remote transports quote it with one function. */
  run(argv: readonly string[], opts?: RunOptions): RunningCommand;
  /** run() to completion, collecting output. */
  exec(argv: readonly string[], opts?: RunOptions): Promise<ExecResult>;
  upload(localPath: string, remotePath: string, mode?: number): Promise<void>;
  readFile(remotePath: string): Promise<Buffer>;
  facts(): Promise<HostFacts>;
  /** Resolves when the connection is lost or closed (never for the local machine until close()). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** Collects a RunningCommand's output; shared by the transports. */
export async function collect(cmd: RunningCommand): Promise<ExecResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  cmd.stdout.on('data', (b: Buffer) => out.push(b));
  cmd.stderr.on('data', (b: Buffer) => err.push(b));
  cmd.stdin.end();
  const st = await cmd.exit;
  return { ...st, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
