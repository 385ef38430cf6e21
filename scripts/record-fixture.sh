#!/usr/bin/env bash
# Regenerates test/fixtures/demo-session.pktpath.json: a real ~3 s recording of the demo forwarder
# under traffic (5 stages, packets=ret, CPU samples at 999 Hz), used by the webview's browser tests.
# Needs root, the built tracer, demo binaries and CLI (bash scripts/build.sh). Everything the lab
# creates carries a unique name and is removed on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wait-line.sh
ROOT=$(pwd)
OUT=${OUT:-test/fixtures/demo-session.pktpath.json}
PPS=${PPS:-20000}
LAB="$ROOT/native-tracer/demo/lab.sh"
BIN="$ROOT/native-tracer/demo/build/fwd"
NAME="fx$(( $$ % 100000 ))"
fail() { printf 'record-fixture: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (BPF, network namespaces)"
[ -x "$BIN" ] || fail "no forwarder at $BIN: make -C native-tracer/demo"
[ -x native-tracer/build/pktpath-tracer ] || fail "no tracer: make -C native-tracer"
[ -f dist/cli.js ] || fail "no CLI bundle: npm run build"

WORK=$(mktemp -d /tmp/pktpath-fixture.XXXXXX)
FWD_PID="" REC_PID=""
cleanup() {
  local rc=$?
  for pid in $REC_PID $FWD_PID; do
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  bash "$LAB" down "$NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash "$LAB" up "$NAME" >/dev/null
bash "$LAB" fwd "$NAME" >"$WORK/fwd.out" 2>"$WORK/fwd.err" &
FWD_PID=$!
wait_line "$WORK/fwd.out" '"event":"ready"' "$FWD_PID" || { cat "$WORK/fwd.err" >&2; fail "no forwarder ready (exited or 60 s passed)"; }

node dist/cli.js record --pid "$FWD_PID" \
  --stage "fwd_rx=uprobe:$BIN:fwd_rx:packets=ret" \
  --stage "fwd_parse=uprobe:$BIN:fwd_parse:packets=ret" \
  --stage "fwd_route_lookup=uprobe:$BIN:fwd_route_lookup:packets=ret" \
  --stage "fwd_rewrite=uprobe:$BIN:fwd_rewrite:packets=ret" \
  --stage "fwd_tx=uprobe:$BIN:fwd_tx:packets=ret" \
  --sample-hz 999 --duration 4 -o "$WORK/session.pktpath.json" >"$WORK/rec.log" 2>&1 &
REC_PID=$!
wait_line "$WORK/rec.log" '(^|[^a-zA-Z])[Rr]eady' "$REC_PID" || { cat "$WORK/rec.log" >&2; fail "the recorder did not report ready"; }
bash "$LAB" traffic "$NAME" "$PPS" 3
set +e
wait "$REC_PID"
rc=$?
set -e
REC_PID=""
[ "$rc" = 0 ] || { cat "$WORK/rec.log" >&2; fail "the recorder exited with $rc"; }
mkdir -p "$(dirname "$OUT")"
cp "$WORK/session.pktpath.json" "$OUT"
node dist/cli.js report "$OUT"
echo "wrote $OUT"
