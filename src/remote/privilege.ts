// How the tracer gets the privileges it needs on a host: as root, with capabilities, or via sudo.
//
// Root runs it directly. Anyone else runs `pktpath-tracer --check` as themselves first: its hello
// says whether it holds CAP_BPF + CAP_PERFMON (file capabilities on the binary, or ambient
// capabilities of the login), and then it runs without root or sudo. Else `sudo -n`; else an error
// that says what is missing and the one command, run as root, that fixes it.
import { posix } from 'node:path';
import { quoteWord } from './quote.ts';
import type { ExecResult, Transport } from './transport.ts';

export type TracerVia = 'root' | 'caps' | 'sudo';

/** Enough for the user's own processes (measured: uprobes, tracepoints, stack sampling). */
export const TRACER_CAPS = ['cap_bpf', 'cap_perfmon'] as const;
/** Also needed for processes of other users: their /proc/PID/maps and auxv, and their binaries. */
export const OTHER_USERS_CAPS = ['cap_sys_ptrace', 'cap_dac_read_search'] as const;

/** Neither root, capabilities nor sudo: the message says what is missing and how to fix it. */
export class TracerPrivilegeError extends Error {
  constructor(message: string, readonly missing: string[]) {
    super(message);
  }
}

export type TracerPrivilege =
  | { ok: true; via: TracerVia; /** run with RunOptions.root */ root: boolean }
  | { ok: false; message: string; missing: string[] };

const CAP_BITS: Record<string, number> = {
  cap_dac_read_search: 2, cap_sys_ptrace: 19, cap_sys_admin: 21, cap_perfmon: 38, cap_bpf: 39,
};

/** The one command, run as root on the host, that lets the tracer at `path` run without root. */
export function setcapCommand(path: string, otherUsers = false): string {
  const caps = otherUsers ? [...TRACER_CAPS, ...OTHER_USERS_CAPS] : [...TRACER_CAPS];
  return `setcap ${caps.join(',')}+ep ${quoteWord(path)}`;
}

/** `getcap` output → file → capability names that are both effective and permitted. Both formats:
 *  libcap ≥ 2.3x `PATH cap_a,cap_b=ep`, older `PATH = cap_a,cap_b+ep`. */
export function parseGetcap(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^(\S+)\s+(?:=\s+)?((?:cap_|=)\S*(?:\s+\S+)*)$/.exec(line);
    if (!m) continue;
    const caps: string[] = [];
    for (const clause of m[2]!.split(/\s+/)) {
      const c = /^([a-z_,]*)([=+][eip]+)$/.exec(clause);
      if (!c || !c[2]!.includes('e') || !c[2]!.includes('p')) continue;
      // `=ep` alone (or `all=ep`) grants every capability.
      if (c[1] === '' || c[1] === 'all') caps.push(...Object.keys(CAP_BITS));
      else caps.push(...c[1]!.split(',').filter((x) => x.startsWith('cap_')));
    }
    out.set(m[1]!, caps);
  }
  return out;
}

/** Capability names among those the tracer cares about set in a /proc status mask (hex). */
export function capsInMask(hex: string): string[] {
  let mask: bigint;
  try {
    mask = BigInt(`0x${hex.trim()}`);
  } catch {
    return [];
  }
  return Object.entries(CAP_BITS).filter(([, bit]) => (mask >> BigInt(bit)) & 1n).map(([name]) => name);
}

/** True when a --check run printed a hello whose features say BPF is allowed. */
export function helloAllowsBpf(stdout: string): boolean | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as { type?: unknown; features?: { bpf_allowed?: unknown } };
      if (o.type === 'hello') return o.features?.bpf_allowed === true;
    } catch {
      /* not a stream line */
    }
  }
  return undefined;
}

export interface Diagnosis {
  host: string;
  user: string;
  uid: number;
  path: string;
  /** File capabilities of the tracer (getcap), null when getcap is not on the host. */
  fileCaps: string[] | null;
  /** The login's effective capabilities (ambient ones show here). */
  userCaps: string[];
  /** Why `sudo -n` did not run the tracer (its own words). */
  sudo: string;
  /** Other cached copies of the tracer that do hold the capabilities (an older deployment). */
  cappedElsewhere: string[];
}

/** The message for a host where neither capabilities nor sudo let the tracer run. */
export function privilegeMessage(d: Diagnosis): { message: string; missing: string[] } {
  const held = new Set([...(d.fileCaps ?? []), ...d.userCaps]);
  const missing = held.has('cap_sys_admin') ? [] : TRACER_CAPS.filter((c) => !held.has(c)).map((c) => c.toUpperCase());
  const lines = [`${d.user}@${d.host} (uid ${d.uid}) is not root, and the tracer cannot get the privileges it needs:`];
  const fileText = d.fileCaps === null ? 'unknown: getcap is not installed' : d.fileCaps.length ? d.fileCaps.join(',') : 'none';
  if (missing.length) {
    lines.push(`  - ${d.path} lacks ${missing.join(' and ')} (file capabilities: ${fileText}; the login's: ${d.userCaps.join(',') || 'none'})`);
  } else {
    lines.push(`  - ${d.path} has ${fileText} but they did not take effect (a file system mounted nosuid, or a capability bounding set without them)`);
  }
  lines.push(`  - sudo -n: ${d.sudo}`);
  if (d.cappedElsewhere.length) {
    lines.push(`  The tracer changed since capabilities were granted: ${d.cappedElsewhere.join(', ')} has them, but this version is a new file and file capabilities do not carry over.`);
  }
  lines.push(`Fix, once per tracer version, as root on ${d.host}:`, `  ${setcapCommand(d.path)}`);
  lines.push(`(add ${OTHER_USERS_CAPS.join(',')} to trace processes of other users), or allow \`sudo -n\` for ${d.user}, or connect as root.`);
  return { message: lines.join('\n'), missing: missing.length ? missing : ['file capabilities not effective'] };
}

function sudoWhy(r: ExecResult): string {
  // sudo's own words; the transport's advice line after them (pktpath: ...) is said below anyway
  const said = r.stderr.split('\n').map((l) => l.trim()).filter((l) => /sudo/.test(l) && !l.startsWith('pktpath:'));
  return said.join(' ') || r.stderr.trim().split('\n').pop() || `exit ${r.code ?? r.signal}`;
}

async function getcap(t: Transport, script: string, args: string[]): Promise<Map<string, string[]> | null> {
  // getcap lives in /sbin or /usr/sbin, often outside a user's PATH.
  const r = await t.exec(['sh', '-c', `PATH="$PATH:/usr/sbin:/sbin"; command -v getcap >/dev/null || exit 127; ${script}`, 'sh', ...args]);
  return r.code === 127 ? null : parseGetcap(r.stdout);
}

async function diagnose(t: Transport, path: string, sudo: ExecResult): Promise<Diagnosis> {
  const f = await t.facts();
  const own = await getcap(t, 'getcap "$1"', [path]);
  const status = await t.exec(['grep', '^CapEff:', '/proc/self/status']);
  const userCaps = capsInMask(/CapEff:\s*([0-9a-f]+)/i.exec(status.stdout)?.[1] ?? '0');
  let cappedElsewhere: string[] = [];
  const dir = posix.dirname(path);
  if (/^tracer-[0-9a-f]{64}$/.test(posix.basename(dir))) {
    const all = await getcap(t, 'for f in "$1"/tracer-*/"$2"; do [ -f "$f" ] && getcap "$f"; done; true', [posix.dirname(dir), posix.basename(path)]);
    cappedElsewhere = [...(all ?? new Map<string, string[]>())]
      .filter(([p, caps]) => p !== path && TRACER_CAPS.every((c) => caps.includes(c)))
      .map(([p]) => p);
  }
  return { host: t.host, user: f.user, uid: f.uid, path, fileCaps: own === null ? null : (own.get(path) ?? []), userCaps, sudo: sudoWhy(sudo), cappedElsewhere };
}

/** Decide how the tracer at `path` runs on the host (see the top of this file). */
export async function tracerPrivilege(t: Transport, path: string): Promise<TracerPrivilege> {
  const f = await t.facts();
  if (f.uid === 0) return { ok: true, via: 'root', root: true };
  const direct = await t.exec([path, '--check']);
  if (helloAllowsBpf(direct.stdout) === true) return { ok: true, via: 'caps', root: false };
  const viaSudo = await t.exec([path, '--check'], { root: true });
  if (helloAllowsBpf(viaSudo.stdout) !== undefined) return { ok: true, via: 'sudo', root: true };
  if (helloAllowsBpf(direct.stdout) === undefined) {
    // It did not run as the user either (a missing file, not executable, a foreign binary).
    const why = direct.stderr.trim() || `exit ${direct.code ?? direct.signal}`;
    return { ok: false, message: `${t.host}: ${path} --check did not run as ${f.user}: ${why}; through sudo -n: ${sudoWhy(viaSudo)}`, missing: [] };
  }
  return { ok: false, ...privilegeMessage(await diagnose(t, path, viaSudo)) };
}
