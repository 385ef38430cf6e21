// A real elfutils debuginfod server for tests: serves the ELF/DWARF files of one directory
// (`debuginfod -F DIR`) on a free local port, with its database in a temporary directory.
// stop() ends it and removes what it wrote.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Debuginfod {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts the server and waits (bounded) until it serves `buildId`'s debuginfo. */
export async function startDebuginfod(dir: string, buildId: string, timeoutMs = 60000): Promise<Debuginfod> {
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const work = mkdtempSync(join(tmpdir(), 'pktpath-debuginfod-'));
    const port = await freePort();
    const proc = spawn('debuginfod', ['-F', dir, '-p', String(port), '-d', join(work, 'db.sqlite'), '-t', '0', '-g', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < 20000) stderr += b.toString();
    });
    let exited = false;
    proc.on('exit', () => (exited = true));
    const url = `http://127.0.0.1:${port}`;
    const stop = async (): Promise<void> => {
      if (!exited) {
        proc.kill('SIGTERM');
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            proc.kill('SIGKILL');
            r();
          }, 5000);
          proc.on('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(work, { recursive: true, force: true });
    };
    const deadline = Date.now() + timeoutMs;
    while (!exited && Date.now() < deadline) {
      try {
        // debuginfod answers GET only
        const r = await fetch(`${url}/buildid/${buildId}/debuginfo`, { signal: AbortSignal.timeout(2000) });
        await r.body?.cancel().catch(() => {});
        if (r.ok) return { url, proc, stop };
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    lastErr = exited ? `debuginfod exited: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : `debuginfod did not serve ${buildId} within ${timeoutMs} ms`;
    await stop();
    if (!exited) break;
  }
  throw new Error(lastErr);
}
