#!/usr/bin/env bash
# Builds the .vsix: the bundles in dist/ and the tracer binary (dist/bin/x86_64/pktpath-tracer), nothing
# else (.vscodeignore is an allow-list). Usage: npm run package [-- -o OUT.vsix]
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
[ -f dist/extension.js ] || { echo "package: dist/extension.js was not built" >&2; exit 1; }
tracer=native-tracer/build/pktpath-tracer
[ -x "$tracer" ] || nice make -s -C native-tracer
[ -x "$tracer" ] || { echo "package: $tracer is missing: run 'make -C native-tracer'" >&2; exit 1; }
mkdir -p dist/bin/x86_64
cp "$tracer" dist/bin/x86_64/pktpath-tracer
out=(-o "pktpath-$(node -p 'require("./package.json").version').vsix")
[ $# -gt 0 ] && out=("$@")
# The .vsix readme is src/vscode/README.md without its screenshots: vsce needs absolute image URLs
# (a published repository) for relative ones, and the images stay in the repository's docs.
mkdir -p dist
sed -e '/^[[:space:]]*!\[.*\](.*\.png)[[:space:]]*$/d' src/vscode/README.md > dist/README.vsix.md
# --no-dependencies: everything the extension runs is bundled by esbuild.
exec npx vsce package --no-dependencies --allow-missing-repository --skip-license --readme-path dist/README.vsix.md "${out[@]}"
