#!/usr/bin/env bash
# Builds everything: the native tracer, the demo forwarder and the TypeScript bundles.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C native-tracer
make -s -C native-tracer/demo
npm run -s build
