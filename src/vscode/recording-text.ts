// Texts of a recording: the session's file name, the status bar line, and errors turned into what to do.
import type { Session } from '../core/session.ts';
import { buildReport } from '../core/report.ts';
import { verdictOf, fmtVerdictNs } from '../core/verdict.ts';

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 40) || 'x';
}

export function sessionFileName(s: Session, now = new Date()): string {
  const t = s.target;
  const what = t.kernel ? 'kernel' : (t.command ?? t.binary ?? `pid${t.pid ?? ''}`).split(/\s+/)[0]!.split('/').pop()!;
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${slug(t.host)}-${slug(what)}-${stamp}.pktpath.json`;
}

export function statusText(s: Session): string {
  const r = buildReport(s);
  let pps = 0;
  for (const row of r.stages) if ((row.packets_per_s ?? 0) > pps) pps = row.packets_per_s ?? 0;
  const rate = pps >= 1e6 ? `${(pps / 1e6).toFixed(2)} Mpps` : pps >= 1e3 ? `${(pps / 1e3).toFixed(1)} kpps` : `${pps.toFixed(0)} pps`;
  const w = verdictOf(r).weakest;
  return `${rate}${w ? ` · weakest: ${w.name} ${fmtVerdictNs(w.ns_per_packet)}/pkt` : ''}`;
}

/** Turns common failures into what to do about them. */
export function hint(msg: string): string {
  if (/not found.*pktpath-tracer|pktpath-tracer not found/i.test(msg)) return `${msg}. Set pktpath.tracerPath, or reinstall the extension.`;
  if (/setcap cap_bpf/.test(msg)) return msg; // already says what is missing and the command that fixes it
  if (/sudo.*password|a password is required|sudo: /i.test(msg)) return `${msg}. The tracer needs root or CAP_BPF + CAP_PERFMON: allow passwordless sudo for it on the host, setcap its binary, or connect as root.`;
  if (/ECONNREFUSED|EHOSTUNREACH|ENOTFOUND|timed out/i.test(msg)) return `${msg}. Check the host name, that sshd runs, and your ~/.ssh/config.`;
  if (/authentication|All configured authentication methods failed/i.test(msg)) return `${msg}. Load your key into ssh-agent or check IdentityFile in ~/.ssh/config.`;
  if (/host key/i.test(msg)) return `${msg}. Verify the host key; to accept a first-seen key set pktpath.acceptNewHostKeys.`;
  if (/No such process|ESRCH|no process/i.test(msg)) return `${msg}. The process has exited: pick it again (Attach to Process…).`;
  return msg;
}
