// Three bundles: the extension host (node), the CLI (node) and the webview (browser).
// esbuild does not type-check: `npm run typecheck` does.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', minify: false };
const entries = [
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20',
    banner: { js: '#!/usr/bin/env node' }, external: ['cpu-features', './crypto/build/Release/sshcrypto.node'] },
  { entryPoints: ['src/vscode/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs',
    target: 'node20', external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'] },
  { entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife',
    target: 'es2022' },
].filter((e) => existsSync(e.entryPoints[0]));

for (const e of entries) {
  if (watch) await (await esbuild.context({ ...common, ...e })).watch();
  else await esbuild.build({ ...common, ...e });
}
