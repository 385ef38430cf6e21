// Debug files from debuginfod servers (elfutils' protocol: GET $URL/buildid/BUILDID/debuginfo), as
// gdb and perf fetch them: the servers are DEBUGINFOD_URLS (space-separated), downloads go to the
// same cache libdebuginfod keeps ($DEBUGINFOD_CACHE_PATH, else $XDG_CACHE_HOME/debuginfod_client,
// else ~/.cache/debuginfod_client; BUILDID/debuginfo in it), so a file fetched once is there for all
// of them. One HTTP GET per build-id is all the protocol asks; doing it here keeps the editor's
// machine free of an elfutils install (the caller checks the file's build-id before using it).
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface DebuginfodOptions {
  env?: NodeJS.ProcessEnv;
  /** Largest file accepted (bytes); default 2 GiB. */
  maxBytes?: number;
}

export function debuginfodUrls(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.DEBUGINFOD_URLS ?? '')
    .split(/\s+/)
    .filter((u) => /^https?:\/\//i.test(u))
    .map((u) => u.replace(/\/+$/, ''));
}

export function debuginfodCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEBUGINFOD_CACHE_PATH) return env.DEBUGINFOD_CACHE_PATH;
  const xdg = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(xdg, 'debuginfod_client');
}

/** libdebuginfod's client timeout: DEBUGINFOD_TIMEOUT seconds (default 90). */
function timeoutMs(env: NodeJS.ProcessEnv): number {
  const t = Number(env.DEBUGINFOD_TIMEOUT);
  return (Number.isFinite(t) && t > 0 ? t : 90) * 1000;
}

export interface DebuginfodResult {
  path: string | null;
  /** "cache" or the server URL it came from; why not, when path is null */
  from: string;
}

/** The debug file of `buildId` from the cache or the first server that has it. */
export async function fetchDebuginfo(buildId: string, o: DebuginfodOptions = {}): Promise<DebuginfodResult> {
  const env = o.env ?? process.env;
  if (!/^[0-9a-f]{2,128}$/.test(buildId)) return { path: null, from: `not a build-id: ${buildId}` };
  const dir = join(debuginfodCacheDir(env), buildId);
  const path = join(dir, 'debuginfo');
  const cached = await stat(path).catch(() => null);
  if (cached && cached.size > 0) return { path, from: 'cache' };
  const urls = debuginfodUrls(env);
  if (urls.length === 0) return { path: null, from: 'DEBUGINFOD_URLS is not set' };
  const why: string[] = [];
  for (const url of urls) {
    const u = `${url}/buildid/${buildId}/debuginfo`;
    let res: Response;
    try {
      res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs(env)) });
    } catch (e) {
      why.push(`${url}: ${(e as Error).message}`);
      continue;
    }
    if (!res.ok || !res.body) {
      why.push(`${url}: HTTP ${res.status}`);
      await res.body?.cancel().catch(() => {});
      continue;
    }
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.debuginfo.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const fh = await open(tmp, 'w', 0o644);
      let n = 0;
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          n += chunk.length;
          if (n > (o.maxBytes ?? 2 ** 31)) throw new Error('larger than the limit');
          await fh.write(chunk);
        }
      } finally {
        await fh.close();
      }
      if (n === 0) throw new Error('empty answer');
      await rename(tmp, path);
      return { path, from: url };
    } catch (e) {
      await unlink(tmp).catch(() => {});
      why.push(`${url}: ${(e as Error).message}`);
    }
  }
  return { path: null, from: why.join('; ') };
}
