// A Transport over SSH (ssh2): the host resolved from the user's ssh config, ProxyJump hops opened
// one through the other, known_hosts enforced, commands built from argv by quote.ts only.
//
// Remote commands run through the login shell of the remote user (that is what SSH exec does), so
// that shell must be POSIX-compatible (sh, bash, dash, zsh, ksh); quote.ts single-quotes for it.
// The tracer is tied to the session: it reads its stdin from sshd, so when the connection ends sshd
// closes that pipe and the tracer's end-of-stdin exit runs (test/integration/ssh-record.test.ts).
import { readFileSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client, utils, type AnyAuthMethod, type AuthHandlerMiddleware, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import type { Duplex } from 'node:stream';
import {
  appendKnownHost, changedKeyMessage, knownKeyTypes, loadKnownHosts, revokedKeyMessage, unknownKeyMessage, verifyHostKey,
} from './known-hosts.ts';
import { envArgv, shellCommand } from './quote.ts';
import type { SshTarget } from './ssh-config.ts';
import type { ExecResult, ExitStatus, HostFacts, RunOptions, RunningCommand, Transport } from './transport.ts';
import { collect } from './transport.ts';

export interface SshOptions {
  acceptNewHostKey?: boolean;
  passphrase?: (keyPath: string) => Promise<string | undefined>;
  /** ms to wait for each hop's handshake and authentication. */
  readyTimeoutMs?: number;
}

/** The exit status of a command whose connection was lost before it reported one. */
export const CONNECTION_LOST = 'connection-lost';

const HOST_KEY_ALGOS = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
] as const;
type HostKeyAlgo = (typeof HOST_KEY_ALGOS)[number];

/** Offer the key types known for the host first, as OpenSSH does, so a known host is not "changed"
 *  only because the server preferred another of its keys. */
function hostKeyOrder(known: readonly string[]): HostKeyAlgo[] {
  const wanted = new Set<string>(known.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t])));
  return [...HOST_KEY_ALGOS.filter((a) => wanted.has(a)), ...HOST_KEY_ALGOS.filter((a) => !wanted.has(a))];
}

function describe(t: SshTarget): string {
  return `${t.user}@${t.hostname}${t.port === 22 ? '' : `:${t.port}`}${t.name !== t.hostname ? ` (${t.name})` : ''}`;
}

/** The keys to offer, in order: the agent's, then each identity file (asking for passphrases). */
function authHandler(t: SshTarget, opts: SshOptions, notes: string[]): AuthHandlerMiddleware {
  const steps: (() => Promise<AnyAuthMethod | undefined>)[] = [];
  if (t.agent !== undefined) {
    const agent = t.agent;
    steps.push(async () => ({ type: 'agent', username: t.user, agent }));
  }
  for (const path of t.identityFiles) {
    steps.push(async () => {
      let data: Buffer;
      try {
        data = readFileSync(path);
      } catch (e) {
        if (t.identitiesExplicit) notes.push(`identity file ${path}: ${(e as Error).message}`);
        return undefined;
      }
      let parsed = utils.parseKey(data);
      if (!(parsed instanceof Error)) return { type: 'publickey', username: t.user, key: data };
      if (!/encrypted|passphrase/i.test(parsed.message)) {
        notes.push(`identity file ${path}: ${parsed.message}`);
        return undefined;
      }
      if (!opts.passphrase) {
        notes.push(`identity file ${path} is encrypted and no passphrase can be asked here`);
        return undefined;
      }
      // Asked for each attempt and dropped right after: the transport never keeps it.
      const pass = await opts.passphrase(path);
      if (pass === undefined) {
        notes.push(`identity file ${path}: no passphrase given`);
        return undefined;
      }
      parsed = utils.parseKey(data, pass);
      if (parsed instanceof Error) {
        notes.push(`identity file ${path}: wrong passphrase (${parsed.message})`);
        return undefined;
      }
      return { type: 'publickey', username: t.user, key: data, passphrase: pass };
    });
  }
  let i = 0;
  return (_left, _partial, next) => {
    const advance = (): void => {
      const step = steps[i++];
      if (!step) {
        // ssh2 documents `false` as "no more methods"; its typings omit it.
        next(false as unknown as AnyAuthMethod);
        return;
      }
      step().then(
        (m) => (m ? next(m) : advance()),
        (e: unknown) => {
          notes.push(String(e));
          advance();
        },
      );
    };
    advance();
  };
}

/** Connect to one hop (over `sock` when it is reached through the previous hop). */
function connectOne(t: SshTarget, opts: SshOptions, sock: Duplex | undefined): Promise<Client> {
  const files = [...t.userKnownHostsFiles, ...t.globalKnownHostsFiles];
  const entries = loadKnownHosts(files);
  const keyHost = t.hostKeyAlias ?? t.hostname;
  let refusal: string | undefined;
  const notes: string[] = [];
  const hostVerifier = (key: Buffer): boolean => {
    const v = verifyHostKey(entries, keyHost, t.port, key);
    switch (v.kind) {
      case 'ok':
        return true;
      case 'changed':
        refusal = changedKeyMessage(v);
        return false;
      case 'revoked':
        refusal = revokedKeyMessage(v);
        return false;
      case 'unknown': {
        const accept = opts.acceptNewHostKey === true || t.strictHostKeyChecking === 'accept-new' || t.strictHostKeyChecking === 'no';
        if (!accept) {
          refusal = unknownKeyMessage(v, t.userKnownHostsFiles);
          return false;
        }
        const file = t.userKnownHostsFiles[0];
        if (file === undefined) {
          refusal = `cannot record the host key of ${v.hostId}: UserKnownHostsFile is none`;
          return false;
        }
        try {
          appendKnownHost(file, keyHost, t.port, key, t.hashKnownHosts);
        } catch (e) {
          refusal = `cannot record the host key of ${v.hostId} in ${file}: ${(e as Error).message}`;
          return false;
        }
        process.stderr.write(`Warning: Permanently added '${v.hostId}' (${v.keyType}, ${v.fingerprint}) to ${file}.\n`);
        return true;
      }
    }
  };
  const cfg: ConnectConfig = {
    username: t.user,
    readyTimeout: opts.readyTimeoutMs ?? 20000,
    keepaliveInterval: t.keepaliveIntervalMs,
    keepaliveCountMax: t.keepaliveCountMax,
    hostVerifier,
    algorithms: { serverHostKey: hostKeyOrder(knownKeyTypes(entries, keyHost, t.port)) },
    authHandler: authHandler(t, opts, notes),
    ...(sock ? { sock } : { host: t.hostname, port: t.port }),
  };
  return new Promise((resolve, reject) => {
    const c = new Client();
    const onError = (e: Error & { level?: string }): void => {
      c.removeListener('ready', onReady);
      c.end();
      if (refusal !== undefined) {
        reject(new Error(`${describe(t)}: host key verification failed.\n${refusal}`));
      } else if (e.level === 'client-authentication') {
        const tried = [t.agent !== undefined ? `agent ${t.agent}` : 'no agent (SSH_AUTH_SOCK unset, no IdentityAgent)', ...notes];
        reject(new Error(`${describe(t)}: permission denied (publickey). Tried: ${tried.join('; ')}; identity files: ${t.identityFiles.join(', ') || 'none'}`));
      } else {
        reject(new Error(`${describe(t)}: ${e.message}`));
      }
    };
    const onReady = (): void => {
      c.removeListener('error', onError);
      resolve(c);
    };
    c.once('ready', onReady);
    c.once('error', onError);
    c.connect(cfg);
  });
}

function forwardOut(c: Client, host: string, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) =>
    c.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(new Error(`ProxyJump to ${host}:${port}: ${err.message}`)) : resolve(ch))),
  );
}

export class SshTransport implements Transport {
  readonly host: string;
  readonly closed: Promise<void>;
  /** Files written by upload() over this connection (deploy's reuse is checked with it). */
  uploads = 0;
  private factsP: Promise<HostFacts> | undefined;
  private sftpP: Promise<SFTPWrapper> | undefined;
  private ended = false;

  private constructor(
    host: string,
    private readonly client: Client,
    private readonly hops: Client[],
  ) {
    this.host = host;
    this.closed = new Promise((resolve) => {
      const done = (): void => {
        this.ended = true;
        resolve();
      };
      client.once('close', done);
      client.once('end', done);
      // Errors after the handshake (keepalive timeout, reset) end the connection as well.
      client.on('error', () => {});
      for (const h of hops) {
        h.on('error', () => {});
        h.once('close', () => client.end());
      }
    });
  }

  /** Open the connection, hop by hop. `host` is what the user typed (for messages and `host`). */
  static async connect(host: string, target: SshTarget, opts: SshOptions = {}): Promise<SshTransport> {
    const hops: Client[] = [];
    try {
      let sock: Duplex | undefined;
      for (const [i, hop] of [...target.jumps, target].entries()) {
        const c = await connectOne(hop, opts, sock);
        if (i === target.jumps.length) return new SshTransport(host, c, hops);
        hops.push(c);
        const nextHop = target.jumps[i + 1] ?? target;
        sock = await forwardOut(c, nextHop.hostname, nextHop.port);
      }
      throw new Error('unreachable');
    } catch (e) {
      for (const h of hops.reverse()) h.end();
      throw e;
    }
  }

  private async commandLine(argv: readonly string[], opts: RunOptions): Promise<string> {
    if (argv.length === 0) throw new Error('run: empty argv');
    const env = opts.env ?? {};
    if (opts.root === true && (await this.facts()).uid !== 0) {
      // sudo drops a VAR=value prefix, so the environment goes through env(1) behind it.
      const inner = Object.keys(env).length > 0 ? envArgv(argv, env) : [...argv];
      return shellCommand(['sudo', '-n', '--', ...inner]);
    }
    return shellCommand(argv, env);
  }

  run(argv: readonly string[], opts: RunOptions = {}): RunningCommand {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let channel: ClientChannel | undefined;
    let pendingSignal: NodeJS.Signals | undefined;
    const exit = new Promise<ExitStatus>((resolve) => {
      const fail = (msg: string): void => {
        stderr.end(`${msg}\n`);
        stdout.end();
        resolve({ code: 127, signal: null });
      };
      this.commandLine(argv, opts).then(
        (cmd) => {
          if (this.ended) return fail(`ssh ${this.host}: connection closed`);
          this.client.exec(cmd, (err, ch) => {
            if (err) return fail(`ssh ${this.host}: cannot run ${argv[0]}: ${err.message}`);
            channel = ch;
            let status: ExitStatus | undefined;
            ch.on('exit', (code: number | null, signal?: string) => {
              status = code !== null && code !== undefined ? { code, signal: null } : { code: null, signal: signal ? `SIG${signal}` : null };
            });
            ch.pipe(stdout);
            ch.stderr.pipe(stderr);
            stdin.pipe(ch);
            ch.on('error', () => {});
            ch.once('close', () => {
              stdin.unpipe(ch);
              // No exit status means the connection went away under the command.
              resolve(status ?? { code: null, signal: CONNECTION_LOST });
            });
            if (pendingSignal) this.signal(ch, pendingSignal);
          });
        },
        (e: unknown) => fail(`ssh ${this.host}: ${(e as Error).message}`),
      );
    });
    return {
      stdin,
      stdout,
      stderr,
      exit,
      kill: (signal: NodeJS.Signals = 'SIGTERM') => {
        if (channel) this.signal(channel, signal);
        else pendingSignal = signal;
      },
    };
  }

  private signal(ch: ClientChannel, signal: NodeJS.Signals): void {
    // sshd delivers "signal" requests since OpenSSH 7.9; closing stdin and the channel is the
    // fallback that every server honours (the tracer exits on end of stdin).
    try {
      ch.signal(signal.replace(/^SIG/, ''));
    } catch {
      /* channel already gone */
    }
    ch.end();
  }

  async exec(argv: readonly string[], opts?: RunOptions): Promise<ExecResult> {
    const r = await collect(this.run(argv, opts));
    if (opts?.root === true && r.code !== 0 && /sudo: (a password is required|a terminal is required)/.test(r.stderr)) {
      const f = await this.facts();
      r.stderr += `pktpath: ${f.user}@${this.host} is not root and sudo needs a password; allow it without one for the tracer (NOPASSWD in sudoers) or connect as root.\n`;
    } else if (opts?.root === true && r.code === 127 && /sudo: (command )?not found/.test(r.stderr)) {
      r.stderr += `pktpath: ${this.host} has no sudo; connect as root.\n`;
    }
    return r;
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpP ??= new Promise((resolve, reject) =>
      this.client.sftp((err, s) => (err ? reject(new Error(`ssh ${this.host}: SFTP unavailable: ${err.message}`)) : resolve(s))),
    );
    return this.sftpP;
  }

  /** Home directory of the remote user, for paths given as ~/... */
  async home(): Promise<string> {
    const s = await this.sftp();
    return new Promise((resolve, reject) => s.realpath('.', (err, p) => (err ? reject(err) : resolve(p))));
  }

  async upload(localPath: string, remotePath: string, mode?: number): Promise<void> {
    const mk = await this.exec(['mkdir', '-p', '--', dirname(remotePath)]);
    if (mk.code !== 0) throw new Error(`ssh ${this.host}: cannot create ${dirname(remotePath)}: ${mk.stderr.trim()}`);
    const s = await this.sftp();
    // Written beside the target and renamed over it, so a reader never sees half a file.
    const tmp = posix.join(posix.dirname(remotePath), `.${posix.basename(remotePath)}.${process.pid}.${Date.now()}.part`);
    const cb = (resolve: () => void, reject: (e: Error) => void) => (err?: Error | null) => (err ? reject(err) : resolve());
    try {
      await new Promise<void>((res, rej) => s.fastPut(localPath, tmp, mode !== undefined ? { mode } : {}, cb(res, rej)));
      if (mode !== undefined) await new Promise<void>((res, rej) => s.chmod(tmp, mode, cb(res, rej)));
      await new Promise<void>((res, rej) => s.ext_openssh_rename(tmp, remotePath, cb(res, rej)));
    } catch (e) {
      await new Promise<void>((res) => s.unlink(tmp, () => res()));
      throw new Error(`ssh ${this.host}: upload of ${localPath} to ${remotePath} failed: ${(e as Error).message}`);
    }
    this.uploads++;
  }

  async readFile(remotePath: string): Promise<Buffer> {
    const s = await this.sftp();
    return new Promise((resolve, reject) =>
      s.readFile(remotePath, (err: Error | undefined, data: Buffer) => (err ? reject(new Error(`ssh ${this.host}: cannot read ${remotePath}: ${err.message}`)) : resolve(data))),
    );
  }

  facts(): Promise<HostFacts> {
    this.factsP ??= (async () => {
      // A marker first: login-shell startup files may print to stdout before our command runs.
      const r = await collect(this.run(['sh', '-c', 'echo @pktpath-facts@; uname -m -r -s; id -u; id -un']));
      const at = r.stdout.lastIndexOf('@pktpath-facts@\n');
      const lines = (at >= 0 ? r.stdout.slice(at + '@pktpath-facts@\n'.length) : '').split('\n');
      const uname = (lines[0] ?? '').trim().split(/\s+/);
      const uid = Number(lines[1]);
      if (r.code !== 0 || uname.length < 3 || !Number.isInteger(uid)) {
        throw new Error(`ssh ${this.host}: cannot read host facts (uname/id): ${r.stderr.trim() || r.stdout.trim()}`);
      }
      // `uname -m -r -s` prints in the fixed order: sysname release machine.
      return { os: uname[0]!, kernel: uname[1]!, arch: uname[uname.length - 1]!, uid, user: (lines[2] ?? '').trim() };
    })();
    this.factsP.catch(() => (this.factsP = undefined));
    return this.factsP;
  }

  async close(): Promise<void> {
    this.client.end();
    for (const h of [...this.hops].reverse()) h.end();
    await this.closed;
  }
}
