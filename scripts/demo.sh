#!/usr/bin/env bash
# The demo, start to finish, on a fresh Debian 12 machine (as root): installs what is missing,
# builds, brings up the namespace lab, starts the DPDK demo forwarder, records ~5 s of it under
# 20 kpps of UDP with the eBPF tracer, prints the per-stage table, and checks that the tx stage
# counted what the sink received (±1%). Writes demo.pktpath.json. Always tears the lab down.
# Exits 0 only if all of that worked.
#   bash scripts/demo.sh            (PPS, TRAFFIC_SECONDS, BURST, OUT may be set in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wait-line.sh
ROOT=$(pwd)

PPS=${PPS:-20000}
SECONDS_TRAFFIC=${TRAFFIC_SECONDS:-3}
BURST=${BURST:-32}
OUT=${OUT:-demo.pktpath.json}
DURATION=5
LAB="$ROOT/native-tracer/demo/lab.sh"
BIN="$ROOT/native-tracer/demo/build/fwd"
NAME="demo$(( $$ % 100000 ))"

say() { printf '\n== %s\n' "$*"; }
fail() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (BPF, network namespaces)"
[ "$SECONDS_TRAFFIC" -lt "$DURATION" ] || fail "TRAFFIC_SECONDS must be shorter than the ${DURATION}s recording"

WORK=$(mktemp -d /tmp/pktpath-demo.XXXXXX)
FWD_PID="" REC_PID=""
cleanup() {
  local rc=$?
  if [ -n "$REC_PID" ] && kill -TERM "$REC_PID" 2>/dev/null; then
    # The recorder detaches its probes on the way out; give it time before insisting.
    for _ in $(seq 100); do kill -0 "$REC_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$REC_PID" 2>/dev/null || true
  fi
  if [ -n "$FWD_PID" ] && kill -0 "$FWD_PID" 2>/dev/null; then
    kill -TERM "$FWD_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$FWD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$FWD_PID" 2>/dev/null || true
  fi
  bash "$LAB" down "$NAME" 2>/dev/null || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "install (scripts/setup.sh)"
bash scripts/setup.sh
say "build (scripts/build.sh)"
bash scripts/build.sh
[ -x "$BIN" ] || fail "no forwarder at $BIN"
[ -f dist/cli.js ] || fail "no CLI bundle at dist/cli.js"

say "lab $NAME: generator ns $NAME-g -> [DPDK forwarder on veths $NAME-gr / $NAME-sr] -> sink ns $NAME-s"
t0=$(date +%s%N)
bash "$LAB" up "$NAME" >/dev/null
bash "$LAB" fwd "$NAME" --burst "$BURST" >"$WORK/fwd.out" 2>"$WORK/fwd.err" &
FWD_PID=$!
wait_line "$WORK/fwd.out" '"event":"ready"' "$FWD_PID" || { cat "$WORK/fwd.err" >&2; fail "no forwarder ready (exited or 60 s passed)"; }
t1=$(date +%s%N)
echo "forwarder pid $FWD_PID ready (burst $BURST) in $(( (t1 - t0) / 1000000 )) ms"

say "record ${DURATION}s: node dist/cli.js record --pid $FWD_PID ..."
rm -f "$OUT"
node dist/cli.js record --pid "$FWD_PID" \
  --stage "rx=uprobe:$BIN:fwd_rx:packets=ret" \
  --stage "parse=uprobe:$BIN:fwd_parse:packets=ret" \
  --stage "route=uprobe:$BIN:fwd_route_lookup:packets=ret" \
  --stage "rewrite=uprobe:$BIN:fwd_rewrite:packets=ret" \
  --stage "tx=uprobe:$BIN:fwd_tx:packets=ret" \
  --sample-hz 99 --duration "$DURATION" -o "$OUT" > >(tee "$WORK/rec.log") 2>&1 &
REC_PID=$!
# The recorder says "ready" once every stage is attached and counting; traffic starts only then,
# so every packet falls inside the recording.
wait_line "$WORK/rec.log" '(^|[^a-zA-Z])[Rr]eady' "$REC_PID" || fail "the recorder did not report ready"

say "traffic: $PPS pps for ${SECONDS_TRAFFIC}s, generator -> forwarder -> sink"
traffic=$(bash "$LAB" traffic "$NAME" "$PPS" "$SECONDS_TRAFFIC")
echo "$traffic"
set +e
wait "$REC_PID"
rec_rc=$?
set -e
REC_PID=""
[ "$rec_rc" = 0 ] || fail "the recorder exited with $rec_rc"
[ -s "$OUT" ] || fail "no session file $OUT"

say "report: node dist/cli.js report $OUT"
node dist/cli.js report "$OUT"
report_json=$(node dist/cli.js report "$OUT" --json)

kill -USR1 "$FWD_PID"
for _ in $(seq 50); do grep -q '"event":"stats"' "$WORK/fwd.out" && break; sleep 0.1; done
fwd_stats=$(grep '"event":"stats"' "$WORK/fwd.out" | tail -1)

say "check: the tx stage's packets against what the sink received"
node - "$traffic" "$report_json" "$fwd_stats" <<'EOF'
const [traffic, report, fwd] = process.argv.slice(2).map((s) => JSON.parse(s || '{}'));
const stages = Array.isArray(report.stages) ? report.stages : [];
const tx = stages.find((s) => s.name === 'tx');
const row = (k, v) => console.log(`${k.padEnd(34)} ${v}`);
row('generator sent', traffic.sent);
row('sink received', traffic.received);
row('forwarder rx / tx / drop (own)', `${fwd.rx} / ${fwd.tx} / ${fwd.drop}`);
row('tx stage packets (tracer)', tx ? tx.packets : 'no tx stage');
const problems = [];
for (const name of ['rx', 'parse', 'route', 'rewrite', 'tx']) {
  const s = stages.find((x) => x.name === name);
  if (!s) problems.push(`stage ${name} missing from the report`);
  else if (!(s.calls > 0)) problems.push(`stage ${name} has no calls`);
}
const near = (a, b) => Math.abs(a - b) <= 0.01 * Math.max(a, b);
if (!(traffic.received > 0)) problems.push('the sink received nothing');
if (!near(traffic.sent, traffic.received)) problems.push(`lost packets: sent ${traffic.sent}, received ${traffic.received}`);
if (!tx || !near(tx.packets, traffic.received)) problems.push(`tx stage counted ${tx?.packets}, sink received ${traffic.received} (beyond 1%)`);
if (problems.length) {
  for (const p of problems) console.error(`demo: ${p}`);
  process.exit(1);
}
console.log('\nOK: the tracer counted what the sink received (within 1%).');
EOF
echo "session file: $(realpath "$OUT")"
