// Resolves what the user typed after --host ([user@]host[:port] or a ~/.ssh/config alias) into
// everything needed to connect, the way OpenSSH would read the same config file.
//
// Read with the `ssh-config` package (`compute`, first value wins as in ssh_config(5)).
// Not supported: `Include`, `Match exec` (never executed: config text must not run commands here),
// ProxyCommand, the hops' own ProxyJump inside a ProxyJump list (OpenSSH would honour them).
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';

export type StrictHostKeyChecking = 'yes' | 'no' | 'accept-new' | 'ask';

export interface SshTarget {
  /** The name the user gave (alias or host), as matched against `Host` patterns. */
  name: string;
  hostname: string;
  port: number;
  user: string;
  /** Expanded paths, in order. `identitiesExplicit` false: OpenSSH's defaults, missing ones skipped. */
  identityFiles: string[];
  identitiesExplicit: boolean;
  /** Agent socket, or undefined for no agent. */
  agent: string | undefined;
  /** Hops to go through first, in order (each resolved through the config itself). */
  jumps: SshTarget[];
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: StrictHostKeyChecking;
  hashKnownHosts: boolean;
  /** Name under which the host key is looked up and stored (HostKeyAlias), else hostname. */
  hostKeyAlias: string | undefined;
}

export interface Destination {
  user?: string;
  host: string;
  port?: number;
}

export interface ResolveOptions {
  /** ssh config file; default ~/.ssh/config (absent is fine, named but absent is an error). */
  configPath?: string;
  /** Config text instead of a file (tests). */
  configText?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
  localUser?: string;
}

// Used when the config has no ServerAliveInterval: we need to notice a dead connection during a
// recording even when OpenSSH's default (no keepalives) is configured.
const DEFAULT_KEEPALIVE_S = 15;
const DEFAULT_KEEPALIVE_COUNT = 3;
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519_sk', 'id_rsa'];

// A host name reaches known_hosts lines and error messages: nothing that could break either.
const HOST_RE = /^[A-Za-z0-9_.%:-]+$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
const USER_RE = /^[^\s@:/\\'"`$;&|<>(){}[\]*?!#~\0-\x1f\x7f]+$/;

/** [user@]host[:port], [user@][v6addr]:port or ssh://[user@]host[:port]. */
export function parseDestination(text: string): Destination {
  let s = text.trim();
  if (s.startsWith('ssh://')) s = s.slice(6).replace(/\/$/, '');
  if (s === '') throw new Error('empty SSH destination');
  let user: string | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    s = s.slice(at + 1);
    if (user === '') throw new Error(`empty user in SSH destination ${JSON.stringify(text)}`);
  }
  let host = s;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    if (v6[2] !== undefined) port = parsePort(v6[2], text);
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const i = s.indexOf(':');
    host = s.slice(0, i);
    port = parsePort(s.slice(i + 1), text);
  }
  checkHost(host, text);
  if (user !== undefined) checkUser(user, text);
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

function parsePort(p: string, ctx: string): number {
  const n = /^\d{1,5}$/.test(p) ? Number(p) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new Error(`invalid port ${JSON.stringify(p)} in SSH destination ${JSON.stringify(ctx)}`);
  return n;
}

function checkHost(host: string, ctx: string): void {
  if (host === '' || host.startsWith('-') || !HOST_RE.test(host)) {
    throw new Error(`invalid host name ${JSON.stringify(host)} in SSH destination ${JSON.stringify(ctx)}`);
  }
}

function checkUser(user: string, ctx: string): void {
  if (user.startsWith('-') || !USER_RE.test(user)) {
    throw new Error(`invalid user name ${JSON.stringify(user)} in SSH destination ${JSON.stringify(ctx)}`);
  }
}

function loadConfig(opts: ResolveOptions, home: string): SSHConfig {
  if (opts.configText !== undefined) return SSHConfig.parse(opts.configText);
  const path = opts.configPath ?? join(home, '.ssh', 'config');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (opts.configPath === undefined && (e as NodeJS.ErrnoException).code === 'ENOENT') return SSHConfig.parse('');
    throw new Error(`cannot read ssh config ${path}: ${(e as Error).message}`);
  }
  try {
    return SSHConfig.parse(text);
  } catch (e) {
    throw new Error(`cannot parse ssh config ${path}: ${(e as Error).message}`);
  }
}

type Computed = Record<string, string | string[]>;

function one(c: Computed, key: string): string | undefined {
  const v = c[key];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : v;
}

function many(c: Computed, key: string): string[] | undefined {
  const v = c[key];
  if (v === undefined) return undefined;
  // Multi-value directives (UserKnownHostsFile a b) arrive as arrays; others as one string.
  return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(/\s+/)).filter((x) => x !== '');
}

interface Ctx {
  home: string;
  localUser: string;
  env: NodeJS.ProcessEnv;
}

/** ssh_config(5) TOKENS and ~ for path-like values. */
function expandPath(p: string, ctx: Ctx, t: { host: string; user: string; port: number; alias: string }): string {
  let s = p.replace(/^"(.*)"$/, '$1');
  s = s.replace(/%[%dhurpniCL]/g, (m) => {
    switch (m[1]) {
      case '%':
        return '%';
      case 'd':
        return ctx.home;
      case 'h':
        return t.host;
      case 'u':
        return ctx.localUser;
      case 'r':
        return t.user;
      case 'p':
        return String(t.port);
      case 'n':
        return t.alias;
      case 'i':
        return String(userInfo().uid);
      default:
        return m;
    }
  });
  s = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => ctx.env[name] ?? '');
  if (s === '~') return ctx.home;
  if (s.startsWith('~/')) return join(ctx.home, s.slice(2));
  return s;
}

function yesNo(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return /^(yes|true)$/i.test(v);
}

function strictness(v: string | undefined): StrictHostKeyChecking {
  switch (v?.toLowerCase()) {
    case 'yes':
    case 'true':
      return 'yes';
    case 'no':
    case 'off':
    case 'false':
      return 'no';
    case 'accept-new':
      return 'accept-new';
    default:
      return 'ask';
  }
}

function intOr(v: string | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new Error(`ssh config: ${what} ${JSON.stringify(v)} is not a number`);
  return Number(v);
}

function resolveOne(dest: Destination, cfg: SSHConfig, ctx: Ctx): Omit<SshTarget, 'jumps'> & { proxyJump: string | undefined } {
  const query = dest.user !== undefined ? { Host: dest.host, User: dest.user } : { Host: dest.host };
  const c = cfg.compute(query, { ignoreCase: true, matchExec: false });
  const hostname = expandPath(one(c, 'hostname') ?? dest.host, ctx, { host: dest.host, user: '', port: 0, alias: dest.host });
  checkHost(hostname, `HostName of ${dest.host}`);
  // The user given on the command line wins over the config's User, as in OpenSSH.
  const user = dest.user ?? one(c, 'user') ?? ctx.localUser;
  checkUser(user, `User of ${dest.host}`);
  const port = dest.port ?? (one(c, 'port') !== undefined ? parsePort(one(c, 'port')!, `Port of ${dest.host}`) : 22);
  const t = { host: hostname, user, port, alias: dest.host };

  const idsCfg = many(c, 'identityfile');
  const identitiesExplicit = idsCfg !== undefined && idsCfg.length > 0 && idsCfg[0]!.toLowerCase() !== 'none';
  const identityFiles = identitiesExplicit
    ? idsCfg.map((p) => expandPath(p, ctx, t))
    : DEFAULT_IDENTITIES.map((n) => join(ctx.home, '.ssh', n));

  const ia = one(c, 'identityagent');
  let agent: string | undefined;
  if (ia === undefined || ia === 'SSH_AUTH_SOCK') agent = ctx.env.SSH_AUTH_SOCK || undefined;
  else if (ia.toLowerCase() === 'none') agent = undefined;
  else if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(ia)) agent = ctx.env[ia.slice(1)] || undefined;
  else agent = expandPath(ia, ctx, t);

  const interval = intOr(one(c, 'serveraliveinterval'), DEFAULT_KEEPALIVE_S, 'ServerAliveInterval');
  const countMax = intOr(one(c, 'serveralivecountmax'), DEFAULT_KEEPALIVE_COUNT, 'ServerAliveCountMax');

  const ukh = many(c, 'userknownhostsfile') ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
  const gkh = many(c, 'globalknownhostsfile') ?? ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
  const pj = one(c, 'proxyjump');
  return {
    name: dest.host,
    hostname,
    port,
    user,
    identityFiles,
    identitiesExplicit,
    agent,
    keepaliveIntervalMs: interval * 1000,
    keepaliveCountMax: countMax,
    userKnownHostsFiles: ukh.filter((p) => p.toLowerCase() !== 'none').map((p) => expandPath(p, ctx, t)),
    globalKnownHostsFiles: gkh.filter((p) => p.toLowerCase() !== 'none').map((p) => expandPath(p, ctx, t)),
    strictHostKeyChecking: strictness(one(c, 'stricthostkeychecking')),
    hashKnownHosts: yesNo(one(c, 'hashknownhosts'), false),
    hostKeyAlias: one(c, 'hostkeyalias'),
    proxyJump: pj === undefined || pj.toLowerCase() === 'none' ? undefined : pj,
  };
}

function withoutJump(r: ReturnType<typeof resolveOne>): Omit<SshTarget, 'jumps'> {
  const copy: Partial<ReturnType<typeof resolveOne>> = { ...r };
  delete copy.proxyJump;
  return copy as Omit<SshTarget, 'jumps'>;
}

/** Resolve a destination through the ssh config, ProxyJump hops included. */
export function resolveTarget(destination: string, opts: ResolveOptions = {}): SshTarget {
  const ctx: Ctx = {
    home: opts.home ?? homedir(),
    localUser: opts.localUser ?? userInfo().username,
    env: opts.env ?? process.env,
  };
  const cfg = loadConfig(opts, ctx.home);
  const main = resolveOne(parseDestination(destination), cfg, ctx);
  const jumps: SshTarget[] = [];
  if (main.proxyJump !== undefined) {
    for (const hop of main.proxyJump.split(',').map((h) => h.trim())) {
      if (hop === '') throw new Error(`ssh config: empty hop in ProxyJump ${JSON.stringify(main.proxyJump)} of ${destination}`);
      const r = resolveOne(parseDestination(hop), cfg, ctx);
      jumps.push({ ...withoutJump(r), jumps: [] });
    }
  }
  return { ...withoutJump(main), jumps };
}
