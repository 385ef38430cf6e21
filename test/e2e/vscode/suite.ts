// The extension-host suite: runs inside code-server's real extension host (extensionTestsPath), against
// the installed .vsix loaded as the development extension. Bundled by the harness (esbuild, `vscode`
// external); exports run() as VS Code's test loader expects. The workspace and what to expect come
// from the environment the harness gives code-server.
import * as vscode from 'vscode';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PktpathApi } from '../../../src/vscode/extension.ts';
import { buildReport } from '../../../src/core/report.ts';
import { fmtNs } from '../../../src/vscode/stage-costs.ts';
import { loadSession } from '../../../src/core/session-io.ts';

type T = { name: string; fn: () => Promise<void> };
const tests: T[] = [];
const test = (name: string, fn: () => Promise<void>): void => void tests.push({ name, fn });

const WS = process.env.PKTPATH_E2E_WS ?? '';
const SESSION = process.env.PKTPATH_E2E_SESSION ?? ''; // a saved demo session inside WS/.pktpath
const ATTACH_PID = Number(process.env.PKTPATH_E2E_ATTACH_PID ?? '0');
const DEMO_BINARY = process.env.PKTPATH_E2E_DEMO_BINARY ?? '';
const DEMO_SOURCE = join(WS, 'native-tracer', 'demo', 'fwd.c');

async function api(): Promise<PktpathApi> {
  const ext = vscode.extensions.getExtension<PktpathApi>('pktpath.pktpath');
  assert.ok(ext, 'extension pktpath.pktpath is installed');
  return ext.isActive ? ext.exports : await ext.activate();
}

function hoverText(hovers: vscode.Hover[]): string {
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
    .join('\n');
}

async function until<V>(what: string, f: () => Promise<V | undefined | null | false>, ms = 15000): Promise<V> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function lineOf(doc: vscode.TextDocument, re: RegExp): vscode.Position {
  for (let i = 0; i < doc.lineCount; i++) {
    const m = re.exec(doc.lineAt(i).text);
    if (m) return new vscode.Position(i, m.index + (m[0].length - (m[1]?.length ?? 0)) + 1);
  }
  throw new Error(`${re} not in ${doc.uri.fsPath}`);
}

test('the extension activates and registers its commands', async () => {
  await api();
  const all = new Set(await vscode.commands.getCommands(true));
  for (const c of ['pktpath.attach', 'pktpath.profileKernel', 'pktpath.stop', 'pktpath.openSession', 'pktpath.exportSession',
    'pktpath.toggleLineHeat', 'pktpath.showViews'])
    assert.ok(all.has(c), `${c} registered`);
});

test('the Sessions tree lists the saved demo session', async () => {
  const a = await api();
  const items = await until('sessions', async () => {
    const xs = await a.sessionsTree.getChildren();
    return xs.length > 0 ? xs : null;
  });
  const item = items.find((i) => i.resourceUri?.fsPath === SESSION);
  assert.ok(item, `tree lists ${SESSION}: ${items.map((i) => i.resourceUri?.fsPath).join(', ')}`);
  const s = await loadSession(SESSION);
  assert.match(String(item.label), new RegExp(`@ ${s.target.host}`));
  assert.match(String(item.description), /slowest: \w+/);
});

test('a saved session of the demo forwarder opens', async () => {
  const a = await api();
  const opened = await vscode.commands.executeCommand<string | undefined>('pktpath.openSession', { path: SESSION });
  assert.equal(opened, SESSION);
  const cur = a.store.getCurrent();
  assert.ok(cur && cur.uri?.fsPath === SESSION, 'current session is the opened one');
  assert.ok(cur.session.stages.length >= 5, 'demo session has the five stages');
});

test('executeHoverProvider on a stage function of the demo source returns its measured cost', async () => {
  const doc = await vscode.workspace.openTextDocument(DEMO_SOURCE);
  await vscode.window.showTextDocument(doc);
  const pos = lineOf(doc, /uint16_t (fwd_parse)\(/);
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, pos);
  const text = hoverText(hovers);
  const report = buildReport(await loadSession(SESSION));
  const row = report.stages.find((r) => r.spec.includes(':fwd_parse'));
  assert.ok(row, 'the fixture has a fwd_parse stage');
  assert.match(text, /stage `parse`/);
  // The numbers are the report's, formatted: the hover must show what was measured, not something else.
  assert.ok(text.includes(fmtNs(row.ns_per_packet)), `ns/packet ${fmtNs(row.ns_per_packet)} in ${text}`);
  assert.ok(text.includes(`${fmtNs(row.p50_ns)} / ${fmtNs(row.p99_ns)}`), `p50/p99 in ${text}`);
  assert.ok(text.includes(row.calls.toLocaleString('en-US')), `calls in ${text}`);
  assert.match(text, /probe overhead \| .*(subtracted|not measured)/);
  // A function that is neither a stage nor sampled gets no Packet Path hover.
  const usage = lineOf(doc, /static void (usage)\(/);
  const none = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, usage));
  assert.doesNotMatch(none, /Packet Path/);
});

test('a CodeLens sits above each of the five stage functions', async () => {
  const doc = await vscode.workspace.openTextDocument(DEMO_SOURCE);
  const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100);
  const ours = lenses.filter((l) => l.command?.command === 'pktpath.showViews');
  const lines = ours.map((l) => doc.lineAt(l.range.start.line).text);
  for (const fn of ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx'])
    assert.ok(lines.some((t) => t.includes(`${fn}(`)), `lens on ${fn}: ${lines.join(' | ')}`);
  assert.ok(ours.every((l) => /ns\/packet|µs\/packet/.test(l.command?.title ?? '')), 'lens titles carry ns/packet');
});

export async function run(): Promise<void> {
  console.log(`extension-host suite: ${tests.length} tests, workspace ${WS}`);
  let failed = 0;
  for (const t of tests) {
    const t0 = Date.now();
    try {
      await t.fn();
      console.log(`ok - ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${t.name}: ${(e as Error).stack ?? String(e)}`);
    }
  }
  console.log(`extension-host suite: ${tests.length - failed} passed, ${failed} failed`);
  if (failed > 0) throw new Error(`${failed} extension-host test(s) failed`);
}
