// Line heat against the real demo binary and binutils' addr2line: inlined DPDK header code lands on
// its call site in fwd.c, library code on the fwd.c line that called it, source paths are mapped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { addr2line } from '../../src/vscode/addr2line.ts';
import { readElfBuildId } from '../../src/core/elf-build-id.ts';
import { computeLineCosts } from '../../src/vscode/line-costs.ts';
import { buildSourceIndex, mapSourcePath } from '../../src/vscode/source-map.ts';
import type { Session } from '../../src/core/session.ts';

const REPO = resolve(__dirname, '..', '..');
const FWD = resolve(REPO, 'native-tracer/demo/build/fwd');
const FWD_C = resolve(REPO, 'native-tracer/demo/fwd.c');
const skip = existsSync(FWD) ? false : 'demo not built (make -C native-tracer/demo)';

function symbols(): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const l of execFileSync('nm', [FWD], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n')) {
    const [a, , n] = l.split(' ');
    if (a && n) m.set(n, BigInt(`0x${a}`));
  }
  return m;
}

function session(frames: Array<{ id: number; fn: string; elf: bigint; module?: string }>, stacks: Array<[number[], number]>): Session {
  return {
    format: 'pktpath-session', version: 1, created: '2026-01-01T00:00:00Z', partial: false, partial_reason: null,
    target: { host: 'localhost', pid: 1, kernel: false, command: FWD, binary: FWD, build_id: null },
    tracer: { stream_version: 1, version: 't', kernel: 'k', arch: 'x86_64', features: {}, missing: [] },
    duration_s: 1, interval_ms: 1000, sample_hz: 99, hist: { sub_bits: 4, max_pow: 37 }, stages: [],
    frames: frames.map((f) => ({ id: f.id, fn: f.fn, off: 0, module: f.module ?? '/remote/build/fwd', build_id: null,
      addr: `0x${f.elf.toString(16)}`, kernel: false, elf_addr: `0x${f.elf.toString(16)}` })),
    stacks: stacks.map(([fr, count]) => ({ frames: fr, count })), samples: 0, lost_samples: 0, drops: {}, warnings: [],
  } as Session;
}

test('inlined rte_* header code is attributed to its call site in fwd.c', { skip }, async () => {
  const sym = symbols();
  const start = sym.get('fwd_parse')!;
  // Find an address in fwd_parse whose innermost line is in a DPDK header (inlined rte_ipv4_cksum & co).
  const addrs = Array.from({ length: 400 }, (_, i) => `0x${(start + BigInt(i)).toString(16)}`);
  const res = await addr2line(FWD, addrs);
  let inlined: { addr: bigint; callLine: number } | null = null;
  for (const [a, chain] of res) {
    if (chain.length >= 2 && chain[0]!.file?.includes('rte_') && chain.at(-1)!.file?.endsWith('/fwd.c')) {
      inlined = { addr: BigInt(a), callLine: chain.at(-1)!.line };
      break;
    }
  }
  assert.ok(inlined, 'fwd_parse has code inlined from an rte_* header');
  const src = readFileSync(FWD_C, 'utf8').split('\n');
  const parseStart = src.findIndex((l) => /uint16_t fwd_parse\(/.test(l)) + 1;
  const parseEnd = parseStart + src.slice(parseStart).findIndex((l) => l === '}') + 1;
  assert.ok(inlined.callLine > parseStart && inlined.callLine <= parseEnd, `call site ${inlined.callLine} in fwd_parse ${parseStart}..${parseEnd}`);

  // Library leaf (no source in the workspace): eth_af_packet_rx called from fwd_rx.
  const rxLeaf = sym.get('eth_af_packet_rx');
  assert.ok(rxLeaf, 'the static demo binary keeps eth_af_packet_rx');
  const rxRet = res.size > 0 ? (await addr2line(FWD, Array.from({ length: 64 }, (_, i) => `0x${(sym.get('fwd_rx')! + BigInt(i)).toString(16)}`))) : new Map();
  // A return address inside fwd_rx, right after its call into the driver.
  const retAddr = [...rxRet.keys()].map((k) => BigInt(k)).find((a) => a > sym.get('fwd_rx')! + 8n)!;
  const s = session(
    [{ id: 1, fn: 'rte_ipv4_cksum', elf: inlined.addr }, { id: 2, fn: 'fwd_parse', elf: start }, { id: 3, fn: 'eth_af_packet_rx', elf: rxLeaf + 4n },
      { id: 4, fn: 'fwd_rx', elf: retAddr }, { id: 5, fn: 'memcpy', elf: 0x1234n, module: '/usr/lib/libc.so.6' }],
    [[[1], 7], [[3, 4], 5], [[5], 2]],
  );
  const index = buildSourceIndex([FWD_C, resolve(REPO, 'native-tracer/demo/gen.c')]);
  const costs = await computeLineCosts(s, {
    localBinary: (m) => (m === '/remote/build/fwd' ? FWD : null),
    mapFile: (p) => mapSourcePath(p, {}, index, existsSync),
  });
  const lines = costs.files.get(FWD_C);
  assert.ok(lines, `fwd.c has heat: ${[...costs.files.keys()].join(', ')}`);
  assert.equal(lines.get(inlined.callLine), 7, 'inlined samples at the call site');
  const rxStart = src.findIndex((l) => /uint16_t fwd_rx\(/.test(l)) + 1;
  const rxLines = [...lines.entries()].filter(([l]) => l > rxStart && l < rxStart + 6);
  assert.deepEqual(rxLines.map(([, n]) => n), [5], 'driver samples on the fwd_rx line that called it');
  assert.equal(costs.samples, 14);
  assert.equal(costs.attributed, 12);
  assert.deepEqual(costs.unresolvedModules, ['/usr/lib/libc.so.6']);
});

test('source mapping: prefix pairs first, then the longest path suffix, ambiguity refused', () => {
  const index = buildSourceIndex(['/ws/a/fwd.c', '/ws/b/fwd.c', '/ws/src/net/route.c', '/ws/route.c']);
  const yes = (): boolean => true;
  assert.equal(mapSourcePath('/build/x/a/fwd.c', {}, index, yes), '/ws/a/fwd.c');
  assert.equal(mapSourcePath('/elsewhere/fwd.c', {}, index, yes), null, 'two fwd.c, only the name in common');
  assert.equal(mapSourcePath('/b/src/net/route.c', {}, index, yes), '/ws/src/net/route.c');
  assert.equal(mapSourcePath('/build/fwd/lib/x.c', { '/build/fwd': '/home/me/fwd' }, index, (p) => p === '/home/me/fwd/lib/x.c'), '/home/me/fwd/lib/x.c');
  assert.equal(mapSourcePath('/build/fwdx/y.c', { '/build/fwd': '/home/me/fwd' }, index, yes), null, 'prefixes match whole components');
  assert.equal(mapSourcePath('/usr/include/dpdk/rte_ip.h', {}, index, yes), null);
});

test('build-id of the demo binary matches readelf', { skip }, async () => {
  const id = await readElfBuildId(FWD);
  const readelf = execFileSync('readelf', ['-n', FWD], { encoding: 'utf8' });
  assert.ok(id && readelf.includes(`Build ID: ${id}`), `${id} in readelf -n`);
  assert.equal(await readElfBuildId(FWD_C), null);
});
