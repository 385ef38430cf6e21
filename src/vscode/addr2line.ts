// DWARF line info for sampled addresses through binutils' addr2line, batched per binary. With -i a
// code address inlined from a header (DPDK's rte_* helpers) resolves to a chain: the header line
// first, then each caller's call site, ending in the function the code was compiled into.
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';

export interface InlineLocation {
  fn: string; // "??" when unknown
  file: string | null; // null when addr2line printed "??"
  line: number; // 1-based; 0 when unknown
}

/** addr (as given, lower-case hex) → chain, innermost first. */
export type AddrMap = Map<string, InlineLocation[]>;

const BATCH = 2000; // addresses per process: well under ARG_MAX

/** Parses `addr2line -f -i -a` output. Exported for tests. */
export function parseAddr2line(out: string): AddrMap {
  const map: AddrMap = new Map();
  const lines = out.split('\n');
  let cur: InlineLocation[] | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^0x[0-9a-f]+$/i.test(l)) {
      cur = [];
      map.set(normalizeAddr(l), cur);
      continue;
    }
    if (!cur || l === '') continue;
    const loc = lines[++i] ?? '??:0';
    const m = /^(.*):(\d+|\?)(?: \(discriminator \d+\))?$/.exec(loc);
    const file = m && m[1] !== '??' ? m[1]! : null;
    const line = m && m[2] !== '?' ? Number(m[2]) : 0;
    cur.push({ fn: l, file, line });
  }
  return map;
}

export function normalizeAddr(a: string): string {
  return `0x${BigInt(a).toString(16)}`;
}

function runAddr2line(binary: string, addrs: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('addr2line', ['-e', binary, '-f', '-i', '-a', ...addrs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e) =>
      reject(new Error(`addr2line could not run (${e.message}): install binutils (apt-get install binutils)`)),
    );
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`addr2line -e ${binary} failed: ${err.trim()}`))));
  });
}

/** Resolves ELF virtual addresses of one binary. */
export async function addr2line(binary: string, addrs: readonly string[]): Promise<AddrMap> {
  const uniq = [...new Set(addrs.map(normalizeAddr))];
  const map: AddrMap = new Map();
  for (let i = 0; i < uniq.length; i += BATCH) {
    for (const [k, v] of parseAddr2line(await runAddr2line(binary, uniq.slice(i, i + BATCH)))) map.set(k, v);
  }
  return map;
}

/** ET_EXEC binaries are loaded at their link address, so a sampled address is an ELF address. */
export async function isFixedAddress(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(18);
    await fh.read(head, 0, 18, 0);
    return head.readUInt32BE(0) === 0x7f454c46 && head.readUInt16LE(16) === 2;
  } finally {
    await fh.close();
  }
}
