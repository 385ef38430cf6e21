// Finds the tracer binary on this machine, in order: --tracer, $PKTPATH_TRACER, the development
// build (native-tracer/build/pktpath-tracer) and the packaged one (dist/bin/<arch>/pktpath-tracer),
// both relative to the package root. A remote host gets this file deployed (src/remote/deploy.ts).
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const TRACER_BINARY = 'pktpath-tracer';

const NODE_TO_UNAME: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

/** The directory holding pktpath's package.json: src/tracer/ from source, dist/ when bundled. */
export function packageRoot(start: string = __dirname): string | undefined {
  let d = start;
  for (let i = 0; i < 6; i++) {
    const p = join(d, 'package.json');
    if (existsSync(p)) {
      try {
        if ((JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'pktpath') return d;
      } catch {
        /* someone else's package.json */
      }
    }
    d = dirname(d);
  }
  return undefined;
}

function usable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface LocateOptions {
  explicit?: string;
  env?: NodeJS.ProcessEnv;
  arch?: string; // uname -m of the host the tracer runs on
}

export function tracerCandidates(o: LocateOptions = {}): Array<{ path: string; from: string }> {
  const env = o.env ?? process.env;
  const arch = o.arch ?? NODE_TO_UNAME[process.arch] ?? process.arch;
  const out: Array<{ path: string; from: string }> = [];
  if (o.explicit) return [{ path: resolve(o.explicit), from: '--tracer' }];
  if (env.PKTPATH_TRACER) return [{ path: resolve(env.PKTPATH_TRACER), from: 'PKTPATH_TRACER' }];
  const root = packageRoot();
  if (root) {
    if (arch === (NODE_TO_UNAME[process.arch] ?? process.arch)) {
      out.push({ path: join(root, 'native-tracer', 'build', TRACER_BINARY), from: 'development build' });
    }
    out.push({ path: join(root, 'dist', 'bin', arch, TRACER_BINARY), from: 'packaged binary' });
  }
  return out;
}

/** The tracer to run, or an error that lists where it looked. */
export function locateTracer(o: LocateOptions = {}): string {
  const c = tracerCandidates(o);
  const found = c.find((x) => usable(x.path));
  if (found) return found.path;
  if (c.length === 1 && (o.explicit || (o.env ?? process.env).PKTPATH_TRACER)) {
    throw new Error(`the tracer given by ${c[0]!.from} (${c[0]!.path}) does not exist or is not executable`);
  }
  throw new Error(
    `pktpath-tracer not found (looked at ${c.map((x) => x.path).join(', ') || 'nothing: no package root'}); ` +
      'build it with `make -C native-tracer`, or pass --tracer PATH',
  );
}
