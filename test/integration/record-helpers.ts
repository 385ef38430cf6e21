// Runs `pktpath record` as a user would (a node process on src/cli/main.ts), waits for "ready",
// and stops it with SIGINT like Ctrl-C. Shared by the record-* integration tests.
import { spawn, type ChildProcess } from 'node:child_process';

export interface RecordRun {
  child: ChildProcess;
  ready: Promise<void>;
  exit: Promise<number | null>;
  stderr(): string;
  /** Resolves once `n` intervals that carried packets have closed (their progress lines, so not
   * with -q); rejects when the recorder exits first or after timeoutMs. */
  intervalsWithPackets(n: number, timeoutMs?: number): Promise<void>;
}

// A progress line of `pktpath record` (one per closed interval) whose interval carried packets
// (packets as a stage counted them, or calls of a stage counting one packet per call).
const PROGRESS_WITH_PACKETS = /^ {2}[\d.]+ s {2}(?!0 (?:pps|calls))[\d.]+ (?:k|M)?(?:pps|calls\/s) \(/gm;

export function startRecord(args: string[], readyTimeoutMs = 60_000): RecordRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exit = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`record: no "ready" within ${readyTimeoutMs} ms\n${err}`)), readyTimeoutMs);
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (/^ready: /m.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`record exited (${code}) before ready\n${err}`));
    });
  });
  ready.catch(() => {});
  child.stdout!.resume();
  const intervalsWithPackets = (n: number, timeoutMs = 60_000): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const seen = (): boolean => (err.match(PROGRESS_WITH_PACKETS)?.length ?? 0) >= n;
      if (seen()) return resolve();
      const done = (f: () => void): void => {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        f();
      };
      const onData = (): void => {
        if (seen()) done(resolve);
      };
      const timer = setTimeout(() => done(() => reject(new Error(`record: fewer than ${n} intervals with packets within ${timeoutMs} ms\n${err}`))), timeoutMs);
      child.stderr!.on('data', onData);
      void exit.then((code) => done(() => reject(new Error(`record exited (${code}) before ${n} intervals with packets\n${err}`))));
    });
  return { child, ready, exit, stderr: () => err, intervalsWithPackets };
}

/** Ctrl-C, then a hard kill if the recorder does not finish in time (the test then fails on its output). */
export async function stopRecord(r: RecordRun, timeoutMs = 30_000): Promise<number | null> {
  if (r.child.exitCode === null) r.child.kill('SIGINT');
  const t = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
  try {
    return await r.exit;
  } finally {
    clearTimeout(t);
  }
}
