#!/usr/bin/env bash
# Sampler overhead on a CPU-bound target: CPU and wall time of a fixed amount of work
# (test/targets/spin.c --rounds N) alone and under `pktpath-tracer --pid P --sample-hz HZ`,
# alternating the configurations so drifting load from neighbours hits all of them alike.
# Usage: native-tracer/test/overhead.sh [ROUNDS] [REPEATS] [HZ...]   (root; tracer built)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-400}; repeats=${2:-5}; shift $(( $# > 2 ? 2 : $# )) || true
hzs=("${@:-99 999}"); read -r -a hzs <<< "${hzs[*]}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -O2 -g -fno-omit-frame-pointer -o "$tmp/spin" "$root/test/targets/spin.c"
tracer=$root/native-tracer/build/pktpath-tracer

run() { # $1 = hz or 0 for none; prints "cpu_s wall_s"
	local out="$tmp/out" tp=""
	"$tmp/spin" --rounds "$rounds" > "$out" &
	local pid=$!
	if [ "$1" != 0 ]; then
		"$tracer" --pid "$pid" --sample-hz "$1" --duration 60 > "$tmp/stream" 2>/dev/null & tp=$!
	fi
	wait "$pid"
	if [ -n "$tp" ]; then kill -INT "$tp" 2>/dev/null || true; wait "$tp" 2>/dev/null || true; fi
	awk '/cpu_s/ {print $2, $4}' "$out"
}

declare -A cpu wall
for ((r = 0; r < repeats; r++)); do
	for hz in 0 "${hzs[@]}"; do
		read -r c w < <(run "$hz")
		cpu[$hz]+="$c "; wall[$hz]+="$w "
	done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base_c=$(echo "${cpu[0]}" | median); base_w=$(echo "${wall[0]}" | median)
printf "%-8s %10s %10s %10s %10s\n" hz cpu_s wall_s cpu_ovh% wall_ovh%
for hz in 0 "${hzs[@]}"; do
	c=$(echo "${cpu[$hz]}" | median); w=$(echo "${wall[$hz]}" | median)
	awk -v hz="$hz" -v c="$c" -v w="$w" -v bc="$base_c" -v bw="$base_w" \
		'BEGIN {printf "%-8s %10.4f %10.4f %+10.2f %+10.2f\n", hz ? hz : "none", c, w, 100*(c/bc-1), 100*(w/bw-1)}'
done
echo "(medians of $repeats runs of $rounds rounds; all: none=[${cpu[0]}]$(for hz in "${hzs[@]}"; do printf ' %s=[%s]' "$hz" "${cpu[$hz]}"; done))"
