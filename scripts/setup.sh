#!/usr/bin/env bash
# Installs what pktpath needs to build and test on Debian 12, idempotently: Debian packages, npm
# packages, tracefs. Safe to run again; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # native tracer: libbpf CO-RE, skeletons, static link
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcapstone-dev binutils make pkg-config
  # demo forwarder (Debian's DPDK 22.11, statically linked) and USDT headers
  dpdk dpdk-dev libdpdk-dev libsystemd-dev systemtap-sdt-dev
  # lab and tests: namespaces, offloads, a real sshd, a real browser, bpftrace as a reference
  iproute2 ethtool openssh-server openssh-client chromium bpftrace
  # VS Code e2e: code-server's native modules (node-gyp, krb5) and its ripgrep, seeded from Debian's
  ripgrep libkrb5-dev build-essential fonts-dejavu-core
  # SSH tests: a non-root login that reaches root through sudo -n
  sudo
  # real forwarders as users build them: DPDK's sample applications, perf as the unwinding reference,
  # elfutils (libdw CFI unwinding, a real debuginfod server), libunwind
  dpdk-doc linux-perf elfutils libdw-dev libdebuginfod-dev debuginfod libunwind-dev libzstd-dev liblzma-dev libbz2-dev
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d /sys/kernel/tracing/events ] && [ "$(id -u)" = 0 ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >/dev/null
fi
