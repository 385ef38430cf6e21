// The executable of a process on the target host (/proc/PID/exe), for Attach and --auto-stages.
import type { Transport } from './transport.ts';

/** The process's executable path; throws with readlink's message when the process is gone or unreadable. */
export async function targetExe(t: Transport, pid: number): Promise<string> {
  // The user's own process needs no root (the tracer may run with capabilities, without sudo).
  let r = await t.exec(['readlink', `/proc/${pid}/exe`]);
  if (r.code !== 0 || !r.stdout.trim()) r = await t.exec(['readlink', `/proc/${pid}/exe`], { root: true });
  const exe = r.stdout.trim();
  if (r.code !== 0 || !exe) throw new Error(r.stderr.trim() || `readlink /proc/${pid}/exe gave nothing`);
  return exe;
}
