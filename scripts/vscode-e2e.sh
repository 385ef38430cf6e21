#!/usr/bin/env bash
# The extension in a real VS Code (code-server 4.100.3, headless chromium): installs code-server into
# $PKTPATH_E2E_CACHE (default /var/cache/pktpath-e2e) on first use, packages and installs the .vsix,
# runs the extension-host suite (incl. Attach against the demo forwarder, locally and over a loopback
# sshd) and the UI walk-through. Screenshots: test-artifacts/vscode/. Needs root (BPF, namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx --test --test-reporter=spec test/e2e/vscode-extension.test.ts test/unit/vscode-*.test.ts
