// The extension in a real VS Code: code-server 4.100.3 (installed once into a cache outside the repo),
// the .vsix built by `npm run package` and installed with --install-extension, then (a) the
// extension-host suite (test/e2e/vscode/suite.ts) and (b) a UI walk-through in chromium
// (test/e2e/vscode/ui.ts) with screenshots in test-artifacts/vscode/. Everything started is stopped
// and every temp dir removed, also on failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { cacheDir, installCodeServer, prepareProfile, removeProfile, run, startServer, type Server } from './vscode/code-server.ts';
import { runExtensionHostSuite } from './vscode/drive.ts';
import { runUiWalkthrough } from './vscode/ui.ts';
import { startDemoLab, startKernelLab, type DemoLab, type KernelLab } from '../helpers/lab.ts';
import { startSshLab, type SshLab } from '../helpers/sshd.ts';
import { writeFile } from 'node:fs/promises';

const REPO = resolve(__dirname, '..', '..');
const FIXTURE = process.env.PKTPATH_E2E_FIXTURE ?? join(REPO, 'test', 'fixtures', 'demo-session.pktpath.json');
const SHOTS = join(REPO, 'test-artifacts', 'vscode');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

let work = '';
let ws = '';
let profileRoot = '';
let server: Server | null = null;
let bin = '';
let vsix = '';
let installedDir = '';
let sessionPath = '';
let lab: DemoLab | null = null;
let lab1: DemoLab | null = null; // the same forwarder with --burst 1: the "code change" a second session compares
let klab: KernelLab | null = null;
let trafficDone = false;
let traffic: Promise<void> | null = null;
const sent = { sent: 0, received: 0, forwarded: 0 };
let ssh: SshLab | null = null;
const timings: Record<string, number> = {};

before(async () => {
  const t0 = Date.now();
  const cs = await installCodeServer();
  bin = cs.bin;
  timings.codeServerInstall_s = cs.installed ? cs.seconds : 0;
  await mkdir(cacheDir(), { recursive: true });
  work = await mkdtemp(join(cacheDir(), 'work-'));
  vsix = join(work, `pktpath-${VERSION}.vsix`);
  let t = Date.now();
  await run(['npm', 'run', '-s', 'package', '--', '-o', vsix], { cwd: REPO });
  timings.package_s = (Date.now() - t) / 1000;

  // A workspace like a user's checkout: the demo source at its path, a recorded session in .pktpath/.
  ws = join(work, 'ws');
  await mkdir(join(ws, 'native-tracer', 'demo'), { recursive: true });
  await mkdir(join(ws, '.pktpath'), { recursive: true });
  // The whole demo source, as a user's checkout has it: startup-only functions (options.c, routes.c)
  // are there for Attach to leave unselected.
  for (const f of readdirSync(join(REPO, 'native-tracer', 'demo')).filter((n) => /\.[ch]$/.test(n)))
    await copyFile(join(REPO, 'native-tracer', 'demo', f), join(ws, 'native-tracer', 'demo', f));
  assert.ok(existsSync(FIXTURE), `${FIXTURE} is missing (a recording of the demo forwarder)`);
  sessionPath = join(ws, '.pktpath', 'demo.pktpath.json');
  await copyFile(FIXTURE, sessionPath);

  // The forwarder Attach records (traffic runs while the suite does), and a loopback sshd to attach through.
  t = Date.now();
  lab = await startDemoLab();
  lab1 = await startDemoLab({ burst: 1 });
  klab = await startKernelLab();
  ssh = await startSshLab();
  timings.labs_s = (Date.now() - t) / 1000;
  await mkdir(join(ws, '.vscode'), { recursive: true });
  await writeFile(join(ws, '.vscode', 'settings.json'), JSON.stringify({
    'pktpath.sshConfig': ssh.config,
    // The fixture may come from another checkout: line heat reads DWARF from this checkout's build.
    'pktpath.localBinary': lab.fwdBinary,
    // Attach from the UI records for this long (the suite passes its own durations): long enough
    // for the walk-through to see the views live on a loaded machine.
    'pktpath.durationSeconds': 6,
    // Quarter-second intervals: 24 in a 6 s recording give the per-interval noise estimate of a
    // comparison 23 degrees of freedom (docs/compare.md).
    'pktpath.intervalMs': 250,
  }, null, 1));

  t = Date.now();
  const profile = await prepareProfile(bin, vsix);
  profileRoot = profile.root;
  timings.installExtension_s = (Date.now() - t) / 1000;
  assert.match(profile.listed, new RegExp(`^pktpath\\.pktpath@${VERSION.replace(/\./g, '\\.')}$`, 'm'), `--list-extensions: ${profile.listed}`);
  installedDir = join(profile.extensions, `pktpath.pktpath-${VERSION}`);

  // The suite runs in the extension host as CommonJS with `vscode` provided by the host.
  await esbuild.build({
    entryPoints: [join(REPO, 'test', 'e2e', 'vscode', 'suite.ts')],
    outfile: join(work, 'suite', 'index.js'),
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], logLevel: 'warning',
  });
  t = Date.now();
  server = await startServer(bin, profile, {
    PKTPATH_E2E_WS: ws,
    PKTPATH_E2E_SESSION: sessionPath,
    PKTPATH_E2E_ATTACH_PID: String(lab.fwdPid),
    PKTPATH_E2E_SSH_HOST: ssh.alias.key,
    PKTPATH_E2E_KERNEL_LAB: klab.name,
    PKTPATH_E2E_OTHER_BINARY: join(dirname(lab.fwdBinary), 'gen'),
  });
  timings.serverStart_s = (Date.now() - t) / 1000;
  // Traffic through both labs for as long as the tests may record (Attach, Profile Kernel Path).
  const l = lab;
  const l1 = lab1;
  const k = klab;
  traffic = Promise.all([
    (async () => {
      while (!trafficDone) await l1.traffic({ pps: 20000, seconds: 10 });
    })(),
    (async () => {
      while (!trafficDone) {
        const r = await l.traffic({ pps: 20000, seconds: 10 });
        sent.sent += r.sent;
        sent.received += r.received;
        sent.forwarded += r.forwarder?.tx ?? 0;
      }
    })(),
    (async () => {
      while (!trafficDone) await k.traffic({ pps: 5000, seconds: 10 });
    })(),
  ]).then(() => undefined);
  timings.setup_s = (Date.now() - t0) / 1000;
});

after(async () => {
  trafficDone = true;
  await traffic?.catch((e: Error) => console.log(`traffic: ${e.message}`));
  console.log(`demo lab traffic during the tests: ${JSON.stringify(sent)}`);
  await server?.stop();
  await lab?.stop();
  await lab1?.stop();
  await klab?.stop();
  await ssh?.stop();
  if (profileRoot) await removeProfile(profileRoot);
  if (work) await rm(work, { recursive: true, force: true });
  console.log(`vscode e2e timings: ${JSON.stringify(timings)}`);
});

test('the .vsix holds the bundles, the tracer binary and the manifest, nothing else', async () => {
  const listing = await run(['unzip', '-Z1', vsix]);
  const files = listing.split('\n').filter((l) => l && !l.endsWith('/')).sort();
  const allowed = new Set(['extension.vsixmanifest', '[Content_Types].xml', 'extension/package.json', 'extension/readme.md',
    'extension/README.md', 'extension/LICENSE.txt', 'extension/LICENSE', 'extension/dist/extension.js', 'extension/dist/webview.js',
    'extension/dist/webview.css', 'extension/media/webview.css', 'extension/dist/bin/x86_64/pktpath-tracer', 'extension/media/icon.png',
    'extension/media/pktpath.svg', 'extension/package.nls.json', 'extension/l10n/bundle.l10n.json',
    'extension/media/walkthrough/attach.md', 'extension/media/walkthrough/verdict.md', 'extension/media/walkthrough/compare.md']);
  for (const f of files) assert.ok(allowed.has(f), `unexpected file in the .vsix: ${f}`);
  for (const f of ['extension/dist/extension.js', 'extension/dist/bin/x86_64/pktpath-tracer', 'extension/package.json'])
    assert.ok(files.includes(f), `${f} in the .vsix`);
  assert.ok(readdirSync(installedDir).includes('dist'), 'installed extension has dist/');
});

test('UI: hover, Attach with the default picks → live views → verdict; compare a --burst 1 session; selection filters line heat; reload restores the views (screenshots)', { timeout: 600_000 }, async () => {
  assert.ok(server);
  const t = Date.now();
  await mkdir(SHOTS, { recursive: true });
  const r = await runUiWalkthrough({ url: server.url, folder: ws, session: sessionPath, shots: SHOTS, attachPid: lab?.fwdPid ?? 0, attachPid2: lab1?.fwdPid ?? 0 });
  timings.ui_s = (Date.now() - t) / 1000;
  console.log(r.log.join('\n'));
  assert.ok(r.ok, r.log.join('\n'));
  for (const s of r.screenshots) assert.ok(existsSync(s), `${s} saved`);
});

test('extension-host suite in code-server (installed .vsix)', { timeout: 240_000 }, async () => {
  assert.ok(server);
  assert.ok(lab);
  const t = Date.now();
  // Traffic through the forwarder for as long as the suite may record (the Attach tests).
  const r = await runExtensionHostSuite({
    url: server.url, devPath: installedDir, testsPath: join(work, 'suite'), folder: ws, timeoutMs: 200_000,
  });
  timings.extensionHostSuite_s = (Date.now() - t) / 1000;
  const log = r.log.join('\n');
  console.log(log.split('\n').filter((l) => /^(ok|not ok|extension-host suite)/.test(l)).join('\n'));
  assert.equal(r.code, 0, `extension-host suite failed:\n${log}`);
  assert.match(log, /extension-host suite: \d+ passed, 0 failed/);
});
