#!/usr/bin/env bash
# lab.sh — the network-namespace labs the demo runs in. Everything a lab creates carries its NAME
# (namespaces NAME-*, veths NAME-*, DPDK runtime dir /var/run/dpdk/pktpath-NAME), so `down NAME`
# finds and removes all of it, and labs with different names never collide.
#
#   lab.sh up NAME            DPDK lab: NAME-g (generator) ─ veth ─ [NAME-gr  fwd  NAME-sr] ─ veth ─ NAME-s (sink)
#                             The forwarder opens the root-side ends NAME-gr / NAME-sr with net_af_packet.
#   lab.sh fwd NAME [ARGS]    exec the forwarder (build/fwd, or $FWD_BIN) on the lab's ports; ARGS go to fwd
#   lab.sh kernel-up NAME     kernel lab: NAME-g ─ veth ─ NAME-r (ip_forward=1) ─ veth ─ NAME-s
#   lab.sh traffic NAME PPS SECONDS   sink + generator, prints {"sent":N,"received":M}
#   lab.sh down NAME | kernel-down NAME   remove everything of NAME (idempotent)
#   lab.sh info NAME          the lab's facts as one JSON line (also printed by up / kernel-up)
#
# Addresses are the same in every lab (namespaces keep them apart): generator 10.201.1.1/24, sink
# 10.201.2.2/24, UDP port 9000. In the DPDK lab the generator's next hop is a made-up MAC: the
# forwarder's packet sockets see every frame on the veth, while the root namespace's own IP stack
# drops them as not addressed to it, so no traffic can leave the lab.
set -euo pipefail

DEMO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD="$DEMO_DIR/build"
GEN_IP=10.201.1.1
GW_GEN_IP=10.201.1.254
SINK_IP=10.201.2.2
GW_SINK_IP=10.201.2.254
SINK_NET=10.201.2.0/24
PORT=9000
# Locally administered MACs, fixed so a lab's facts are predictable.
MAC_GEN=02:50:4b:01:00:01   # generator's veth
MAC_FWD_IN=02:50:4b:01:00:fe # the forwarder's "port 0" as the generator sees it (not the root veth's MAC)
MAC_SINK=02:50:4b:02:00:02  # sink's veth: the forwarder's --next-hop-mac
MAC_R_GEN=02:50:4b:01:01:fe # kernel lab: router, generator side
MAC_R_SINK=02:50:4b:02:01:fe # kernel lab: router, sink side

die() { echo "lab: $*" >&2; exit 1; }

check_name() {
  [[ "${1:-}" =~ ^[a-z][a-z0-9]{0,11}$ ]] || die "NAME must be 1-12 chars [a-z0-9], starting with a letter (veth names NAME-xx must fit 15): '${1:-}'"
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces, veths)"
}

ns_exists() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }

offloads_off() { # NS DEV: packet sockets must see real checksums, not CHECKSUM_PARTIAL frames
  local ns=$1 dev=$2
  if [ -n "$ns" ]; then ip netns exec "$ns" ethtool -K "$dev" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  else ethtool -K "$dev" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true; fi
}

quiet_ns() { # NS: no IPv6 autoconf or router solicitations inside the lab
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
}

info_json() {
  local name=$1 kind=$2
  if [ "$kind" = dpdk ]; then
    printf '{"name":"%s","kind":"dpdk","gen_ns":"%s-g","sink_ns":"%s-s","fwd_in":"%s-gr","fwd_out":"%s-sr","sink_mac":"%s","gen_ip":"%s","sink_ip":"%s","sink_net":"%s","port":%d,"file_prefix":"pktpath-%s","telemetry":"/var/run/dpdk/pktpath-%s/dpdk_telemetry.v2"}\n' \
      "$name" "$name" "$name" "$name" "$name" "$MAC_SINK" "$GEN_IP" "$SINK_IP" "$SINK_NET" "$PORT" "$name" "$name"
  else
    printf '{"name":"%s","kind":"kernel","gen_ns":"%s-g","router_ns":"%s-r","sink_ns":"%s-s","router_in":"%s-r0","router_out":"%s-r1","gen_ip":"%s","sink_ip":"%s","port":%d}\n' \
      "$name" "$name" "$name" "$name" "$name" "$name" "$GEN_IP" "$SINK_IP" "$PORT"
  fi
}

lab_kind() { if ns_exists "$1-r"; then echo kernel; else echo dpdk; fi; }

down() {
  local name=$1 ns pid dev
  # Processes we started inside the lab's namespaces (generator, sink) end with them.
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^${name}-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null || true); do kill -TERM "$pid" 2>/dev/null || true; done
  done
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^${name}-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^${name}-" || true); do
    ip link del "$dev" 2>/dev/null || true
  done
  rm -rf "/var/run/dpdk/pktpath-${name}"
}

up_dpdk() {
  local name=$1 g="$1-g" s="$1-s"
  down "$name"
  trap 'down "$name"' ERR INT TERM
  ip netns add "$g"
  ip netns add "$s"
  quiet_ns "$g"
  quiet_ns "$s"
  ip link add "$name-gr" type veth peer name "$name-g0" netns "$g" address "$MAC_GEN"
  ip link add "$name-sr" type veth peer name "$name-s0" netns "$s" address "$MAC_SINK"
  for dev in "$name-gr" "$name-sr"; do
    # The root namespace must never route or answer these frames; only the forwarder sees them.
    sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" "net.ipv4.conf.$dev.forwarding=0" >/dev/null
    offloads_off "" "$dev"
    ip link set "$dev" up
  done
  offloads_off "$g" "$name-g0"
  offloads_off "$s" "$name-s0"
  ip -n "$g" link set lo up
  ip -n "$g" addr add "$GEN_IP/24" dev "$name-g0"
  ip -n "$g" link set "$name-g0" up
  ip -n "$g" route add "$SINK_NET" via "$GW_GEN_IP"
  ip -n "$g" neigh replace "$GW_GEN_IP" lladdr "$MAC_FWD_IN" dev "$name-g0" nud permanent
  ip -n "$s" link set lo up
  ip -n "$s" addr add "$SINK_IP/24" dev "$name-s0"
  ip -n "$s" link set "$name-s0" up
  ip -n "$s" route add 10.201.1.0/24 via "$GW_SINK_IP"
  ip -n "$s" neigh replace "$GW_SINK_IP" lladdr 02:50:4b:02:00:fe dev "$name-s0" nud permanent
  trap - ERR INT TERM
  info_json "$name" dpdk
}

up_kernel() {
  local name=$1 g="$1-g" r="$1-r" s="$1-s"
  down "$name"
  trap 'down "$name"' ERR INT TERM
  ip netns add "$g"
  ip netns add "$r"
  ip netns add "$s"
  for ns in "$g" "$r" "$s"; do quiet_ns "$ns"; ip -n "$ns" link set lo up; done
  ip link add "$name-g0" netns "$g" address "$MAC_GEN" type veth peer name "$name-r0" netns "$r" address "$MAC_R_GEN"
  ip link add "$name-r1" netns "$r" address "$MAC_R_SINK" type veth peer name "$name-s0" netns "$s" address "$MAC_SINK"
  offloads_off "$g" "$name-g0"; offloads_off "$r" "$name-r0"; offloads_off "$r" "$name-r1"; offloads_off "$s" "$name-s0"
  ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
  ip -n "$g" addr add "$GEN_IP/24" dev "$name-g0"
  ip -n "$r" addr add "$GW_GEN_IP/24" dev "$name-r0"
  ip -n "$r" addr add "$GW_SINK_IP/24" dev "$name-r1"
  ip -n "$s" addr add "$SINK_IP/24" dev "$name-s0"
  ip -n "$g" link set "$name-g0" up
  ip -n "$r" link set "$name-r0" up
  ip -n "$r" link set "$name-r1" up
  ip -n "$s" link set "$name-s0" up
  ip -n "$g" route add "$SINK_NET" via "$GW_GEN_IP"
  ip -n "$s" route add 10.201.1.0/24 via "$GW_SINK_IP"
  # Static neighbours: no ARP in the measured path.
  ip -n "$g" neigh replace "$GW_GEN_IP" lladdr "$MAC_R_GEN" dev "$name-g0" nud permanent
  ip -n "$r" neigh replace "$GEN_IP" lladdr "$MAC_GEN" dev "$name-r0" nud permanent
  ip -n "$r" neigh replace "$SINK_IP" lladdr "$MAC_SINK" dev "$name-r1" nud permanent
  ip -n "$s" neigh replace "$GW_SINK_IP" lladdr "$MAC_R_SINK" dev "$name-s0" nud permanent
  trap - ERR INT TERM
  info_json "$name" kernel
}

run_fwd() {
  local name=$1; shift
  ns_exists "$name-g" && ip link show "$name-gr" >/dev/null 2>&1 || die "DPDK lab '$name' is not up (lab.sh up $name)"
  local bin="${FWD_BIN:-$BUILD/fwd}"
  [ -x "$bin" ] || die "forwarder not built: $bin (make -C $DEMO_DIR)"
  exec "$bin" --no-huge -m 256 --no-pci --file-prefix "pktpath-$name" --log-level 'lib.eal:notice' \
    --vdev "net_af_packet0,iface=$name-gr,framecnt=8192" --vdev "net_af_packet1,iface=$name-sr,framecnt=8192" \
    -- --next-hop-mac "$MAC_SINK" --sink-net "$SINK_NET" "$@"
}

traffic() {
  local name=$1 pps=$2 seconds=$3
  [[ "$pps" =~ ^[0-9]+$ && "$seconds" =~ ^[0-9]+$ ]] || die "traffic NAME PPS SECONDS: numbers, got '$pps' '$seconds'"
  ns_exists "$name-g" && ns_exists "$name-s" || die "lab '$name' is not up"
  [ -x "$BUILD/gen" ] && [ -x "$BUILD/sink" ] || die "gen/sink not built (make -C $DEMO_DIR)"
  local tag=$((RANDOM * 32768 + RANDOM)) gen_out sent received i
  # Globals: the EXIT trap runs after this function has returned.
  T_OUT=$(mktemp)
  local out=$T_OUT
  ip netns exec "$name-s" "$BUILD/sink" --port "$PORT" --tag "$tag" --idle-ms "${IDLE_MS:-1000}" \
    --max-seconds $((seconds + 60)) >"$out" &
  T_SINK=$!
  local sink_pid=$T_SINK
  trap 'kill "$T_SINK" 2>/dev/null || true; rm -f "$T_OUT"' EXIT
  for i in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
  grep -q listening "$out" || die "sink did not start"
  gen_out=$(ip netns exec "$name-g" "$BUILD/gen" --dst "$SINK_IP" --port "$PORT" --tag "$tag" --pps "$pps" --seconds "$seconds")
  wait "$sink_pid" || true
  sent=$(sed -n 's/.*"sent":\([0-9]*\).*/\1/p' <<<"$gen_out")
  received=$(sed -n 's/.*"received":\([0-9]*\).*/\1/p' "$out")
  [ -n "$sent" ] && [ -n "$received" ] || die "no counts (gen: $gen_out; sink: $(cat "$out"))"
  printf '{"sent":%s,"received":%s}\n' "$sent" "$received"
}

cmd=${1:-}; name=${2:-}
case "$cmd" in
  up) check_name "$name"; up_dpdk "$name" ;;
  kernel-up) check_name "$name"; up_kernel "$name" ;;
  down|kernel-down) check_name "$name"; down "$name" ;;
  fwd) check_name "$name"; shift 2; run_fwd "$name" "$@" ;;
  traffic) check_name "$name"; traffic "$name" "${3:-}" "${4:-}" ;;
  info) check_name "$name"; ns_exists "$name-g" || die "lab '$name' is not up"; info_json "$name" "$(lab_kind "$name")" ;;
  *) sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
