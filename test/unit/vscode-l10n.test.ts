// Every vscode.l10n.t string of the extension is in the committed bundle (npm run l10n regenerates
// it), and every %key% of package.json is in package.nls.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('the l10n bundle holds every string of src/vscode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-l10n-'));
  try {
    execFileSync(process.execPath, ['node_modules/@vscode/l10n-dev/dist/cli.js', 'export', '--outDir', dir, 'src/vscode'], { stdio: 'pipe' });
    const fresh = JSON.parse(readFileSync(join(dir, 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
    const committed = JSON.parse(readFileSync('l10n/bundle.l10n.json', 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(committed).sort(), Object.keys(fresh).sort(), 'run `npm run l10n` and commit l10n/bundle.l10n.json');
    assert.ok(Object.keys(fresh).length > 40);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('package.json\'s %keys% are all in package.nls.json', () => {
  const pkg = readFileSync('package.json', 'utf8');
  const nls = JSON.parse(readFileSync('package.nls.json', 'utf8')) as Record<string, string>;
  const keys = [...pkg.matchAll(/"%([\w.]+)%"/g)].map((m) => m[1]!);
  assert.ok(keys.length > 10);
  for (const k of keys) assert.ok(k in nls, `${k} missing from package.nls.json`);
});
