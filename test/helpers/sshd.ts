// A real OpenSSH lab for the SSH tests: two sshd on 127.0.0.1 (a target and a ProxyJump hop), each
// with its own host key and config, user keys (plain, passphrase-encrypted, agent-only), an
// ssh-agent, a known_hosts file and an ssh config with aliases. stop() kills and removes all of it.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Sshd {
  name: string;
  port: number;
  proc: ChildProcess;
  log: string;
  hostKey: string; // private host key path (…/.pub beside it)
  configPath: string;
}

export interface SshLab {
  dir: string;
  target: Sshd;
  hop: Sshd;
  /** ssh config with the aliases below. */
  config: string;
  knownHosts: string;
  agentSock: string;
  keys: { plain: string; encrypted: string; agentOnly: string };
  passphrase: string;
  /** Aliases in `config`. */
  alias: { key: string; agent: string; encrypted: string; jump: string; hop: string };
  /** Write another ssh config into the lab dir (for a test's own aliases); returns its path. */
  writeConfig(name: string, text: string): string;
  /** Pids of sshd session processes serving connections of this lab (children of both daemons). */
  sessionPids(): number[];
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function waitBanner(port: number, proc: ChildProcess, log: string, timeoutMs = 10000): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tryOnce = (): void => {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        reject(new Error(`sshd exited early (${proc.exitCode ?? proc.signalCode}): ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`));
        return;
      }
      const c = connect(port, '127.0.0.1');
      c.once('data', (d) => {
        c.destroy();
        if (d.toString().startsWith('SSH-2.0')) resolve();
        else reject(new Error(`port ${port} answered without an SSH banner`));
      });
      c.once('error', () => {
        c.destroy();
        if (Date.now() - t0 > timeoutMs) reject(new Error(`sshd on ${port} did not come up: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`));
        else setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

function children(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d), ...children(Number(d)));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function startSshd(dir: string, name: string, authorizedKeys: string, logLevel: string, sftp = true): Promise<Sshd> {
  const base = join(dir, name);
  mkdirSync(base);
  const hostKey = join(base, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}-host`, '-f', hostKey]);
  // sshd wants its privilege-separation directory; it is the system's and stays.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const configPath = join(base, 'sshd_config');
    const log = join(base, 'sshd.log');
    writeFileSync(
      configPath,
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(base, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        `LogLevel ${logLevel}`,
        ...(sftp ? ['Subsystem sftp internal-sftp'] : []),
        'AllowTcpForwarding yes',
        // bash started by sshd sources ~/.bashrc unless SHLVL says it is nested; root's .bashrc on
        // this machine runs `pyenv rehash`, which takes a lock for up to 60 s under concurrent logins.
        // The tests are about SSH, not about root's shell setup.
        'SetEnv SHLVL=1',
        '',
      ].join('\n'),
    );
    const proc = spawn('/usr/sbin/sshd', ['-D', '-f', configPath, '-E', log], { stdio: 'ignore' });
    try {
      await waitBanner(port, proc, log);
      return { name, port, proc, log, hostKey, configPath };
    } catch (e) {
      proc.kill('SIGKILL');
      if (attempt >= 2) throw e; // a port taken between freePort() and bind: try another
    }
  }
}

function safeKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 2000);
  await gone;
  clearTimeout(t);
}

// Labs still running, for the exit hook: a test killed by a signal or a timeout still cleans up.
const live = new Map<string, () => void>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const f of live.values()) f();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const f of live.values()) f();
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
  }
}

/** `sftp: false`: the target's sshd has no SFTP subsystem (as some hardened hosts). */
export async function startSshLab(o: { sftp?: boolean } = {}): Promise<SshLab> {
  const dir = mkdtempSync(join(tmpdir(), `pp-sshlab-${process.pid}-`));
  const procs: ChildProcess[] = [];
  const daemons: Sshd[] = [];
  hookExit();
  live.set(dir, () => {
    for (const d of daemons) for (const pid of children(d.proc.pid ?? -1)) safeKill(pid);
    for (const p of procs) if (p.pid !== undefined && p.exitCode === null) safeKill(p.pid);
    rmSync(dir, { recursive: true, force: true });
  });
  const stop = async (): Promise<void> => {
    live.delete(dir);
    // Sessions outlive their listener, so kill them first, by pid.
    for (const d of daemons) for (const pid of children(d.proc.pid ?? -1)) safeKill(pid);
    for (const p of procs) await stopProc(p);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const passphrase = "correct horse 'battery' $(staple)";
    const keys = { plain: join(dir, 'id_plain'), encrypted: join(dir, 'id_encrypted'), agentOnly: join(dir, 'id_agent') };
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'plain', '-f', keys.plain]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'encrypted', '-f', keys.encrypted]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'agent', '-f', keys.agentOnly]);
    const authorizedKeys = join(dir, 'authorized_keys');
    writeFileSync(authorizedKeys, Object.values(keys).map((k) => readFileSync(`${k}.pub`, 'utf8')).join(''));

    const target = await startSshd(dir, 'target', authorizedKeys, 'VERBOSE', o.sftp ?? true);
    daemons.push(target);
    procs.push(target.proc);
    // The hop logs at DEBUG1 so a test can see the forwarded (direct-tcpip) channel in its log.
    const hop = await startSshd(dir, 'hop', authorizedKeys, 'DEBUG1');
    daemons.push(hop);
    procs.push(hop.proc);

    const agentSock = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    procs.push(agent);
    // the socket file appears at bind(), before the agent listens: wait until it answers (`ssh-add -l`
    // exits 2 only when it cannot reach an agent; 1 is an empty one)
    const agentEnv = { ...process.env, SSH_AUTH_SOCK: agentSock };
    for (let i = 0; i < 100 && spawnSync('ssh-add', ['-l'], { env: agentEnv, stdio: 'ignore' }).status === 2; i++) await new Promise((r) => setTimeout(r, 50));
    execFileSync('ssh-add', ['-q', keys.agentOnly], { env: agentEnv, stdio: 'ignore' });
    // The agent key is only in the agent: remove it from disk so nothing else can use it.
    rmSync(keys.agentOnly);

    const knownHosts = join(dir, 'known_hosts');
    const hostLine = (d: Sshd): string => `[127.0.0.1]:${d.port} ${readFileSync(`${d.hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
    writeFileSync(knownHosts, hostLine(target) + hostLine(hop));

    const alias = { key: 'lab-key', agent: 'lab-agent', encrypted: 'lab-enc', jump: 'lab-jump', hop: 'lab-hop' };
    const config = join(dir, 'ssh_config');
    writeFileSync(
      config,
      [
        `Host ${alias.key} ${alias.jump}`,
        '  HostName 127.0.0.1',
        `  Port ${target.port}`,
        `  IdentityFile ${keys.plain}`,
        '  IdentityAgent none',
        `Host ${alias.jump}`,
        `  ProxyJump ${alias.hop}`,
        `Host ${alias.hop}`,
        '  HostName 127.0.0.1',
        `  Port ${hop.port}`,
        `  IdentityFile ${keys.plain}`,
        '  IdentityAgent none',
        `Host ${alias.agent}`,
        '  HostName 127.0.0.1',
        `  Port ${target.port}`,
        `  IdentityAgent ${agentSock}`,
        `  IdentityFile ${join(dir, 'no-such-key')}`,
        `Host ${alias.encrypted}`,
        '  HostName 127.0.0.1',
        `  Port ${target.port}`,
        '  IdentityAgent none',
        `  IdentityFile ${keys.encrypted}`,
        'Host *',
        '  User root',
        `  UserKnownHostsFile ${knownHosts}`,
        '  GlobalKnownHostsFile none',
        '  ServerAliveInterval 1',
        '  ServerAliveCountMax 3',
        '',
      ].join('\n'),
    );
    return {
      dir,
      target,
      hop,
      config,
      knownHosts,
      agentSock,
      keys,
      passphrase,
      alias,
      writeConfig: (name, text) => {
        const p = join(dir, name);
        writeFileSync(p, text);
        return p;
      },
      sessionPids: () => daemons.flatMap((d) => children(d.proc.pid ?? -1)),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
