// code-server 4.100.3 (VS Code 1.100.3) as a real, headless VS Code for the e2e tests. It is not a
// project dependency: it is installed from npm into a cache outside the repository, once.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_TARBALL = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

export function cacheDir(): string {
  return process.env.PKTPATH_E2E_CACHE ?? '/var/cache/pktpath-e2e';
}

/** Runs a command to completion; rejects with its output's tail when it fails. */
export function run(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}:\n${out.slice(-4000)}`)),
    );
  });
}

/** Installs code-server into the cache unless it is there; returns the path of its launcher. */
export async function installCodeServer(): Promise<{ bin: string; installed: boolean; seconds: number }> {
  const dir = join(cacheDir(), `code-server-${CODE_SERVER_VERSION}`);
  const bin = join(dir, 'node_modules', '.bin', 'code-server');
  if (existsSync(join(dir, '.complete'))) return { bin, installed: false, seconds: 0 };
  const t0 = Date.now();
  const tmp = join(dir, 'tmp');
  await mkdir(tmp, { recursive: true });
  // @vscode/ripgrep downloads rg from GitHub at install (unreachable here): seed its download cache
  // with Debian's rg, which it then unpacks instead.
  if (!existsSync('/usr/bin/rg')) throw new Error('ripgrep is missing: run scripts/setup.sh (apt-get install ripgrep)');
  const rgc = join(tmp, RIPGREP_CACHE);
  const rgd = join(tmp, 'rg');
  await mkdir(rgc, { recursive: true });
  await mkdir(rgd, { recursive: true });
  await copyFile('/usr/bin/rg', join(rgd, 'rg'));
  await run(['tar', 'czf', join(rgc, RIPGREP_TARBALL), '-C', rgd, 'rg']);
  if (!existsSync(join(dir, 'package.json'))) await writeFile(join(dir, 'package.json'), '{"private":true}\n');
  // --unsafe-perm: its postinstall refuses to run as root otherwise; npm_config_yes: node-pty runs `npx node-gyp`.
  await run(['npm', 'install', '--no-audit', '--no-fund', '--unsafe-perm', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: dir,
    // npm 11 blocks dependencies' install scripts by default; code-server's postinstall builds its
    // native modules (and runs a nested npm install), so this isolated cache allows them.
    env: { ...process.env, npm_config_yes: 'true', npm_config_dangerously_allow_all_scripts: 'true', TMPDIR: tmp },
  });
  await writeFile(join(dir, '.complete'), new Date().toISOString());
  return { bin, installed: true, seconds: (Date.now() - t0) / 1000 };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Server {
  url: string;
  port: number;
  root: string; // temp dir: user data, extensions, logs
  userData: string;
  extensions: string;
  log: string;
  stop(): Promise<void>;
}

const SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'workbench.tips.enabled': false,
  'editor.hover.delay': 100,
  'chat.disableAIFeatures': true,
};

/** A private user-data and extensions dir, with the .vsix installed through --install-extension. */
export async function prepareProfile(bin: string, vsix: string): Promise<{ root: string; userData: string; extensions: string; listed: string }> {
  const root = await mkdtemp(join(cacheDir(), 'run-'));
  const userData = join(root, 'ud');
  const extensions = join(root, 'ext');
  await mkdir(join(userData, 'User'), { recursive: true });
  await mkdir(extensions, { recursive: true });
  await writeFile(join(userData, 'User', 'settings.json'), JSON.stringify(SETTINGS, null, 1));
  const env = profileEnv(root);
  await run([bin, '--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', vsix], { env });
  const listed = await run([bin, '--user-data-dir', userData, '--extensions-dir', extensions, '--list-extensions', '--show-versions'], { env });
  return { root, userData, extensions, listed };
}

function profileEnv(root: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // Keeps code-server's config.yaml, sockets and caches out of ~ and /tmp.
  return { ...process.env, XDG_CONFIG_HOME: join(root, 'xdg'), XDG_DATA_HOME: join(root, 'xdg'), TMPDIR: join(root, 'tmp'), ...extra };
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).ok;
  } catch {
    return false;
  }
}

/** Starts code-server in its own process group (its file watcher and extension hosts die with it). */
export async function startServer(
  bin: string,
  profile: { root: string; userData: string; extensions: string },
  env: NodeJS.ProcessEnv = {},
): Promise<Server> {
  await mkdir(join(profile.root, 'tmp'), { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  if (await healthy(url)) throw new Error(`port ${port} is already in use`);
  const log = join(profile.root, 'server.log');
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(log, 'a');
  const child: ChildProcess = spawn(
    bin,
    ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', profile.userData, '--extensions-dir', profile.extensions,
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override'],
    { detached: true, stdio: ['ignore', fd, fd], env: profileEnv(profile.root, env) },
  );
  closeSync(fd);
  const pgid = child.pid!;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  for (let i = 0; i < 600 && !(await healthy(url)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await healthy(url))) {
    await stop();
    throw new Error(`code-server did not come up on ${url}; see ${log}`);
  }
  return { url, port, root: profile.root, userData: profile.userData, extensions: profile.extensions, log, stop };
}

export async function removeProfile(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}
