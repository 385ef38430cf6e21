// What the tracer relies on in the demo binaries: stage symbols in .symtab that start with `push`
// (cheap uprobes), the af_packet driver's own symbols kept by static linking, the USDT notes, and a
// stripped twin whose code sits at the same offsets.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { buildDemo, DEMO_DIR } from '../helpers/lab.ts';

const FWD = join(DEMO_DIR, 'build', 'fwd');
const STRIPPED = join(DEMO_DIR, 'build', 'fwd-stripped');
const STAGES = ['fwd_rx', 'fwd_parse', 'fwd_route_lookup', 'fwd_rewrite', 'fwd_tx'];

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { maxBuffer: 256 << 20 }).toString();
}

/** symbol -> virtual address, for function symbols in .symtab */
function symbols(binary: string): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const line of sh('nm', ['--defined-only', binary]).split('\n')) {
    const [addr, type, name] = line.trim().split(/\s+/);
    if (addr && name && /^[tT]$/.test(type ?? '')) m.set(name, BigInt(`0x${addr}`));
  }
  return m;
}

/** file offset of a virtual address, from the program headers */
function fileOffset(binary: string, vaddr: bigint): number {
  for (const line of sh('readelf', ['-lW', binary]).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'LOAD') continue;
    const off = BigInt(f[1]!), va = BigInt(f[2]!), filesz = BigInt(f[4]!);
    if (vaddr >= va && vaddr < va + filesz) return Number(vaddr - va + off);
  }
  throw new Error(`0x${vaddr.toString(16)} is in no LOAD segment of ${binary}`);
}

function bytesAt(binary: string, offset: number, n: number): Buffer {
  const fd = openSync(binary, 'r');
  try {
    const b = Buffer.alloc(n);
    assert.equal(readSync(fd, b, 0, n, offset), n);
    return b;
  } finally {
    closeSync(fd);
  }
}

before(async () => {
  await buildDemo();
});

test('stage functions are in .symtab, global, and start with push %rbp', () => {
  const syms = symbols(FWD);
  const globals = sh('nm', ['--defined-only', '-g', FWD]);
  for (const s of STAGES) {
    const addr = syms.get(s);
    assert.ok(addr !== undefined, `${s} missing from .symtab`);
    assert.match(globals, new RegExp(` T ${s}$`, 'm'), `${s} is not a global function`);
    // 0x55 = push %rbp: a uprobe here is emulated, not single-stepped.
    assert.equal(bytesAt(FWD, fileOffset(FWD, addr), 1)[0], 0x55, `${s} does not start with push %rbp`);
  }
});

test('static linking keeps the af_packet driver symbols', () => {
  const syms = symbols(FWD);
  assert.ok(syms.has('eth_af_packet_rx'));
  assert.ok(syms.has('eth_af_packet_tx'));
});

test('USDT probes pktpath_demo:burst_start and burst_end are in the notes', () => {
  const notes = sh('readelf', ['-nW', FWD]);
  assert.match(notes, /Provider: pktpath_demo\s+Name: burst_start/);
  assert.match(notes, /Provider: pktpath_demo\s+Name: burst_end/);
});

test('fwd-stripped has no .symtab but the same code at the same offsets', () => {
  assert.doesNotMatch(sh('readelf', ['-SW', STRIPPED]), /\.symtab/);
  const syms = symbols(FWD);
  for (const s of STAGES) {
    const addr = syms.get(s)!;
    const off = fileOffset(FWD, addr);
    assert.equal(fileOffset(STRIPPED, addr), off, `${s}: the stripped binary maps it elsewhere`);
    assert.deepEqual(bytesAt(STRIPPED, off, 64), bytesAt(FWD, off, 64), `${s}: code differs`);
  }
});
