// known_hosts checking as OpenSSH does it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): plain and hashed
// (|1|salt|hmac-sha1) host fields, [host]:port for non-22 ports, wildcard and negated patterns,
// @revoked keys (refused) and @cert-authority lines (ignored: ssh2 gives us a plain host key, and a
// CA key must never be mistaken for the host's own key).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  file: string;
  line: number; // 1-based
  marker: 'revoked' | 'cert-authority' | null;
  hosts: string; // the host field as written
  keyType: string;
  key: Buffer; // the key blob (SSH wire format)
}

export interface KeyPlace {
  file: string;
  line: number;
  keyType: string;
}

export type HostKeyVerdict =
  | { kind: 'ok'; hostId: string; fingerprint: string; keyType: string; at: KeyPlace }
  | { kind: 'unknown'; hostId: string; fingerprint: string; keyType: string }
  | { kind: 'changed'; hostId: string; fingerprint: string; keyType: string; offending: KeyPlace[] }
  | { kind: 'revoked'; hostId: string; fingerprint: string; keyType: string; at: KeyPlace };

/** How a host is named in known_hosts: "host" on port 22, "[host]:port" otherwise. */
export function hostId(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

/** OpenSSH's SHA256 fingerprint: unpadded base64 of sha256(key blob). */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside the blob (its first SSH string). */
export function blobKeyType(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  if (n > 64 || 4 + n > key.length) return 'unknown';
  return key.subarray(4, 4 + n).toString('latin1');
}

/** Parse a known_hosts file. Lines that do not parse are skipped (OpenSSH does the same). */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const f = raw.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (f[0]!.startsWith('@')) {
      const m = f.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // an unknown marker: never trust the line
    }
    const [hosts, keyType, b64] = f;
    if (hosts === undefined || keyType === undefined || b64 === undefined) continue;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const key = Buffer.from(b64, 'base64');
    if (blobKeyType(key) !== keyType) continue;
    out.push({ file, line: i + 1, marker, hosts, keyType, key });
  }
  return out;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

function hashedMatch(field: string, id: string): boolean {
  const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(field);
  if (!m) return false;
  const salt = Buffer.from(m[1]!, 'base64');
  const want = Buffer.from(m[2]!, 'base64');
  const got = createHmac('sha1', salt).update(id).digest();
  return got.length === want.length && got.equals(want);
}

/** Does a host field name this host? One hashed entry, or a comma list of patterns with `!` negation. */
export function hostsMatch(hosts: string, id: string): boolean {
  if (hosts.startsWith('|')) return hashedMatch(hosts, id);
  let matched = false;
  for (const p of hosts.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), id)) return false;
    } else if (globMatch(p, id)) {
      matched = true;
    }
  }
  return matched;
}

/** Compare a server's key with the entries for host:port. */
export function verifyHostKey(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const id = hostId(host, port);
  const fp = fingerprint(key);
  const keyType = blobKeyType(key);
  const mine = entries.filter((e) => hostsMatch(e.hosts, id));
  const place = (e: KnownHostEntry): KeyPlace => ({ file: e.file, line: e.line, keyType: e.keyType });
  const revoked = mine.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { kind: 'revoked', hostId: id, fingerprint: fp, keyType, at: place(revoked) };
  const plain = mine.filter((e) => e.marker === null);
  const same = plain.find((e) => e.key.equals(key));
  if (same) return { kind: 'ok', hostId: id, fingerprint: fp, keyType, at: place(same) };
  // Any other key on record for this host is a change. ssh.ts offers the recorded key types first
  // (as OpenSSH does), so a different type only comes from a server that lost the recorded key.
  if (plain.length > 0) return { kind: 'changed', hostId: id, fingerprint: fp, keyType, offending: plain.map(place) };
  return { kind: 'unknown', hostId: id, fingerprint: fp, keyType };
}

/** Read and parse every existing file (missing files are simply empty). */
export function loadKnownHosts(files: readonly string[]): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`cannot read known hosts file ${f}: ${(e as Error).message}`);
    }
    out.push(...parseKnownHosts(text, f));
  }
  return out;
}

/** Key types on record for a host, to offer them first in the key exchange. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const id = hostId(host, port);
  return [...new Set(entries.filter((e) => e.marker === null && hostsMatch(e.hosts, id)).map((e) => e.keyType))];
}

/** A known_hosts line as OpenSSH's accept-new writes it (hashed when HashKnownHosts yes). */
export function knownHostsLine(host: string, port: number, key: Buffer, hashed: boolean, salt: Buffer = randomBytes(20)): string {
  const id = hostId(host, port);
  const field = hashed ? `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(id).digest('base64')}` : id;
  return `${field} ${blobKeyType(key)} ${key.toString('base64')}`;
}

export function appendKnownHost(file: string, host: string, port: number, key: Buffer, hashed: boolean): void {
  const dir = dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  let prefix = '';
  if (existsSync(file)) {
    const cur = readFileSync(file);
    if (cur.length > 0 && cur[cur.length - 1] !== 0x0a) prefix = '\n';
  }
  appendFileSync(file, `${prefix}${knownHostsLine(host, port, key, hashed)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function shortType(t: string): string {
  if (t === 'ssh-ed25519') return 'ED25519';
  if (t === 'ssh-rsa') return 'RSA';
  if (t.startsWith('ecdsa-')) return 'ECDSA';
  if (t === 'ssh-dss') return 'DSA';
  return t;
}

/** The refusal for a changed key, worded like OpenSSH's so users recognise it. */
export function changedKeyMessage(v: Extract<HostKeyVerdict, { kind: 'changed' }>): string {
  const bar = '@'.repeat(59);
  const first = v.offending[0]!;
  return [
    bar,
    '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
    bar,
    'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
    'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
    'It is also possible that a host key has just been changed.',
    `The fingerprint for the ${shortType(v.keyType)} key sent by the remote host is`,
    `${v.fingerprint}.`,
    ...v.offending.map((o) => `Offending ${shortType(o.keyType)} key in ${o.file}:${o.line}`),
    `Host key for ${v.hostId} has changed and pktpath refuses to connect (it always does).`,
    `If the change is expected, remove the old key: ssh-keygen -R '${v.hostId}' -f '${first.file}'`,
  ].join('\n');
}

export function unknownKeyMessage(v: Extract<HostKeyVerdict, { kind: 'unknown' }>, files: readonly string[]): string {
  return [
    `The authenticity of host '${v.hostId}' can't be established: it is not in ${files.join(', ') || 'any known_hosts file'}.`,
    `${shortType(v.keyType)} key fingerprint is ${v.fingerprint}.`,
    'Check it with the host owner, then connect again with --accept-new-host-key to record it',
    "(or `ssh` to it once, or set StrictHostKeyChecking accept-new for it in your ssh config).",
  ].join('\n');
}

export function revokedKeyMessage(v: Extract<HostKeyVerdict, { kind: 'revoked' }>): string {
  return `The ${shortType(v.keyType)} host key for ${v.hostId} (${v.fingerprint}) is marked as revoked in ${v.at.file}:${v.at.line}; refusing to connect.`;
}
