// pktpath ps [--host H] [--json]: candidate forwarders on a host (see src/remote/discovery.ts).
import { parseArgs } from 'node:util';
import { discover, type Candidate } from '../remote/discovery.ts';
import { openTransport } from '../remote/open.ts';
import { EXIT_OK, type Io } from './common.ts';

export const PS_USAGE = `pktpath ps [--host H] [--ssh-config FILE] [--accept-new-host-key] [--json] [--no-root]
    candidate forwarders: DPDK processes (lcore threads, file prefix), AF_PACKET/AF_XDP socket
    holders, busy-polling threads; pid, command, binary, build-id, threads, CPU share (cores)`;

const OPTIONS = {
  host: { type: 'string' },
  'ssh-config': { type: 'string' },
  'accept-new-host-key': { type: 'boolean' },
  json: { type: 'boolean' },
  'no-root': { type: 'boolean' },
} as const;

/** Process names and arguments come from anyone on the host: no terminal control characters. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex -- exactly the characters to neutralise
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function shownArg(a: string): string {
  const p = printable(a);
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(p) ? p : `'${p.replaceAll("'", `'\\''`)}'`;
}

export function formatCandidates(cands: readonly Candidate[], host: string): string {
  if (cands.length === 0) return `no candidate forwarders on ${host} (no DPDK process, AF_PACKET/AF_XDP socket holder or busy-polling thread)`;
  const rows = cands.map((c) => ({
    pid: String(c.pid),
    cpu: c.cpu.toFixed(2),
    thr: String(c.threads),
    kind: c.reasons.join(','),
    prefix: c.dpdk?.filePrefix ?? '-',
    cmd: (c.command.length > 0 ? c.command.map(shownArg).join(' ') : `[${printable(c.comm)}]`).slice(0, 160),
  }));
  const w = (k: keyof (typeof rows)[number], h: string): number => Math.max(h.length, ...rows.map((r) => r[k].length));
  const W = { pid: w('pid', 'PID'), cpu: w('cpu', 'CPU'), thr: w('thr', 'THR'), kind: w('kind', 'KIND'), prefix: w('prefix', 'PREFIX') };
  const line = (r: (typeof rows)[number]): string =>
    `${r.pid.padStart(W.pid)}  ${r.cpu.padStart(W.cpu)}  ${r.thr.padStart(W.thr)}  ${r.kind.padEnd(W.kind)}  ${r.prefix.padEnd(W.prefix)}  ${r.cmd}`;
  const out = [line({ pid: 'PID', cpu: 'CPU', thr: 'THR', kind: 'KIND', prefix: 'PREFIX', cmd: 'COMMAND' })];
  cands.forEach((c, i) => {
    out.push(line(rows[i]!));
    const pad = ' '.repeat(W.pid + 2);
    out.push(`${pad}binary ${c.exe !== null ? printable(c.exe) : '(unreadable)'}  build-id ${c.buildId ?? '(none)'}`);
    if (c.dpdk && c.dpdk.lcoreThreads.length > 0) {
      out.push(`${pad}lcores ${c.dpdk.lcoreThreads.map((t) => `${printable(t.comm)} (${t.tid === c.pid ? 'main lcore, ' : ''}tid ${t.tid}, ${t.cpu.toFixed(2)})`).join(', ')}`);
    }
    const busy = c.busyThreads.filter((t) => !c.dpdk?.lcoreThreads.some((l) => l.tid === t.tid));
    if (busy.length > 0) out.push(`${pad}busy ${busy.map((t) => `${printable(t.comm)} (tid ${t.tid}, ${t.cpu.toFixed(2)})`).join(', ')}`);
    const socks = [c.packetSockets ? `${c.packetSockets} AF_PACKET` : '', c.xdpSockets ? `${c.xdpSockets} AF_XDP` : ''].filter(Boolean);
    if (socks.length > 0) out.push(`${pad}sockets ${socks.join(', ')}`);
  });
  const next = cands.some((c) => c.dpdk) ? '--auto-stages (DPDK: rte_graph nodes or ethdev ports) | --stage NAME=uprobe:BINARY:SYMBOL ...' : '--stage NAME=uprobe:BINARY:SYMBOL ...';
  out.push('', `CPU is in cores over 0.5 s. Next: pktpath record${host === 'localhost' ? '' : ` --host ${host}`} --pid PID ${next}`);
  return out.join('\n');
}

export async function psCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true });
  const t = await openTransport({
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values['ssh-config'] !== undefined ? { sshConfig: values['ssh-config'] } : {}),
    ...(values['accept-new-host-key'] ? { acceptNewHostKey: true } : {}),
  });
  try {
    let cands: Candidate[];
    try {
      cands = await discover(t, { root: values['no-root'] !== true });
    } catch (e) {
      // Without root, /proc shows the user's own processes in full and others' partly: still useful.
      if (values['no-root'] === true || !/sudo/.test((e as Error).message)) throw e;
      io.err(`pktpath ps: ${(e as Error).message.trim()}\npktpath ps: listing as ${(await t.facts()).user} without root: other users' sockets and binaries are not visible`);
      cands = await discover(t, { root: false });
    }
    io.out(values.json ? JSON.stringify({ host: t.host, candidates: cands }, null, 2) : formatCandidates(cands, t.host));
    return EXIT_OK;
  } finally {
    await t.close();
  }
}
