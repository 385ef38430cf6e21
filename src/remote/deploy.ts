// Puts the tracer on the host and checks it can run there.
//
// The binary for the host's architecture is copied by SFTP into a per-user cache keyed by its
// sha256 (~/.cache/pktpath/tracer-<sha256>/pktpath-tracer), verified on the host with sha256sum, and
// reused when already there and intact — so file capabilities granted to it stay until the tracer
// changes. A host whose sshd has no SFTP subsystem gets it over the exec channel instead (`cat >` a
// temporary file, checked by sha256, renamed into place). Then `pktpath-tracer --check` runs with
// its privileges (privilege.ts) and its hello line says what the host lacks.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { packageRoot, TRACER_BINARY } from '../tracer/locate.ts';
import { tracerPrivilege, type TracerVia } from './privilege.ts';
import type { Transport } from './transport.ts';

export const TRACER_NAME = TRACER_BINARY;
/** Architectures we build a tracer for (`uname -m` names). */
export const BUILT_ARCHS = ['x86_64'] as const;

export interface TracerCheck {
  /** The tracer started with its privileges and said hello without a fatal error. */
  ok: boolean;
  /** How it gets them: uid 0 already, its capabilities (CAP_BPF + CAP_PERFMON), `sudo -n`, or not at all. */
  via: TracerVia | 'none';
  features: Record<string, boolean>;
  /** What the host lacks, verbatim from the tracer (optional features included). */
  missing: string[];
  /** A fatal error from the tracer or sudo, when !ok. */
  error: string | null;
}

export interface Deployed {
  /** Path of the tracer on the host. */
  path: string;
  sha256: string;
  /** False when a verified copy was already in the cache. */
  uploaded: boolean;
}

/** The local tracer binary built for `arch`, or a clear error. */
export function localTracerFor(arch: string, root: string | undefined = packageRoot()): string {
  if (!(BUILT_ARCHS as readonly string[]).includes(arch)) {
    throw new Error(`no pktpath tracer is built for ${arch} hosts (built: ${BUILT_ARCHS.join(', ')}); the tracer must be cross-built for ${arch} first`);
  }
  const candidates = root ? [join(root, 'dist', 'bin', arch, TRACER_NAME)] : [];
  // The development build is for this machine's own architecture only.
  if (root && process.arch === 'x64' && arch === 'x86_64') candidates.push(join(root, 'native-tracer', 'build', TRACER_NAME));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`the ${arch} tracer is not built: looked for ${candidates.join(', ') || '(no package root)'}; run \`make -C native-tracer\``);
  return found;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function remoteHome(t: Transport): Promise<string> {
  const r = await t.exec(['sh', '-c', 'printf %s "$HOME"']);
  const home = r.stdout;
  if (r.code !== 0 || !home.startsWith('/')) throw new Error(`${t.host}: cannot find the home directory of the remote user: ${r.stderr.trim()}`);
  return home;
}

async function remoteSha256(t: Transport, path: string): Promise<string | undefined> {
  const r = await t.exec(['sha256sum', '--', path]);
  if (r.code !== 0) {
    if (/No such file/i.test(r.stderr)) return undefined;
    if (r.code === 127) throw new Error(`${t.host}: sha256sum is missing on the host (coreutils)`);
    return undefined;
  }
  return /^([0-9a-f]{64})\s/.exec(r.stdout)?.[1];
}

/** Copy (or reuse) the tracer on the host; `localTracer` overrides the built binary. */
export async function deployTracer(t: Transport, opts: { localTracer?: string } = {}): Promise<Deployed> {
  const facts = await t.facts();
  const local = opts.localTracer ?? localTracerFor(facts.arch);
  const sha256 = sha256File(local);
  const home = await remoteHome(t);
  const path = posix.join(home, '.cache', 'pktpath', `tracer-${sha256}`, TRACER_NAME);
  if ((await remoteSha256(t, path)) === sha256) return { path, sha256, uploaded: false };
  const mk = await t.exec(['mkdir', '-p', '-m', '700', '--', posix.dirname(path)]);
  if (mk.code !== 0) throw new Error(`${t.host}: cannot create ${posix.dirname(path)}: ${mk.stderr.trim()}`);
  try {
    await t.upload(local, path, 0o755);
  } catch (e) {
    if (!/SFTP unavailable/.test((e as Error).message)) throw e;
    await uploadByExec(t, local, path, sha256, 0o755);
  }
  const got = await remoteSha256(t, path);
  if (got !== sha256) throw new Error(`${t.host}: the uploaded tracer at ${path} does not verify (sha256 ${got ?? 'unreadable'}, expected ${sha256})`);
  return { path, sha256, uploaded: true };
}

/**
 * Copies a file over the exec channel, for hosts without SFTP: `cat >` a temporary file beside the
 * target, its sha256 checked on the host, then chmod and rename (a reader never sees half a file).
 */
export async function uploadByExec(t: Transport, localPath: string, remotePath: string, sha256: string, mode = 0o644): Promise<void> {
  const tmp = posix.join(posix.dirname(remotePath), `.${posix.basename(remotePath)}.${process.pid}.${Date.now()}.part`);
  const cat = t.run(['sh', '-c', 'umask 077 && cat > "$1"', 'sh', tmp]);
  const err: Buffer[] = [];
  cat.stderr.on('data', (b: Buffer) => err.push(b));
  cat.stdout.resume();
  const src = createReadStream(localPath);
  src.on('error', (e) => cat.stdin.destroy(e));
  src.pipe(cat.stdin); // ends stdin at the file's end: cat then exits
  const st = await cat.exit;
  const r = { ...st, stderr: Buffer.concat(err).toString('utf8') };
  const fail = async (why: string): Promise<never> => {
    await t.exec(['rm', '-f', '--', tmp]);
    throw new Error(`${t.host}: upload of ${localPath} to ${remotePath} over the exec channel failed: ${why}`);
  };
  if (r.code !== 0) await fail(r.stderr.trim() || `cat exited with ${r.code ?? r.signal}`);
  const got = await remoteSha256(t, tmp);
  if (got !== sha256) await fail(`sha256 ${got ?? 'unreadable'}, expected ${sha256}`);
  const mv = await t.exec(['sh', '-c', 'chmod "$1" "$2" && mv -f -- "$2" "$3"', 'sh', mode.toString(8), tmp, remotePath]);
  if (mv.code !== 0) await fail(mv.stderr.trim());
}

interface HelloLine {
  type: 'hello';
  features?: Record<string, boolean>;
  missing?: string[];
}
interface ErrorLine {
  type: 'error';
  message?: string;
  missing?: string[];
}

/** Run `pktpath-tracer --check` with its privileges (privilege.ts) and say exactly what is missing. */
export async function checkTracer(t: Transport, tracerPath: string): Promise<TracerCheck> {
  const p = await tracerPrivilege(t, tracerPath);
  if (!p.ok) return { ok: false, via: 'none', features: {}, missing: p.missing, error: p.message };
  const via = p.via;
  const r = await t.exec([tracerPath, '--check'], { root: p.root });
  let hello: HelloLine | undefined;
  let error: ErrorLine | undefined;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as { type?: unknown };
      if (o.type === 'hello') hello = o as HelloLine;
      else if (o.type === 'error') error = o as ErrorLine;
    } catch {
      /* not a stream line */
    }
  }
  const missing = [...(hello?.missing ?? []), ...(error?.missing ?? [])];
  let message: string | null = null;
  if (error) message = error.message ?? 'the tracer reported an error';
  else if (!hello) message = r.stderr.trim() || `the tracer exited with ${r.code ?? r.signal} and no hello line`;
  else if (r.code !== 0) message = r.stderr.trim() || `the tracer exited with ${r.code ?? r.signal}`;
  return { ok: message === null, via, features: hello?.features ?? {}, missing: [...new Set(missing)], error: message };
}
