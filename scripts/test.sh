#!/usr/bin/env bash
# Runs all tests on a fresh machine: installs what they need, builds, type-checks, lints, then one
# node:test run over unit, integration and end-to-end suites (integration needs root: it loads BPF
# programs, creates network namespaces and starts sshd). `npm run test:unit` runs the unit tests
# alone (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
npm run -s typecheck
npm run -s lint
# every stream decoder in the tests refuses a record type or member the schema lacks
export PKTPATH_STREAM_STRICT=1
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts)
# one file at a time (integration suites share the machine's CPUs and measure time); the second
# reporter prints each file's duration at the end, slowest first
exec node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./test/helpers/durations-reporter.mjs --test-reporter-destination=stdout \
  "${files[@]}"
