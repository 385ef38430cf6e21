// One recording, start to finish, over any Transport: start the tracer as root, decode its
// stream live into a Session, stop it politely (close stdin, wait for bye; SIGTERM, then SIGKILL
// after a timeout) and return what was measured — also when the tracer dies or the connection
// drops (then the session is partial and says why). The CLI's `record` and the editor's Attach
// command both call recordSession.
import type { Transport } from '../remote/transport.ts';
import { isLocalHost } from '../remote/open.ts';
import { deployTracer } from '../remote/deploy.ts';
import { OTHER_USERS_CAPS, TracerPrivilegeError, setcapCommand, tracerPrivilege, type TracerVia } from '../remote/privilege.ts';
import type { Session } from '../core/session.ts';
import { StreamDecoder } from './decoder.ts';
import { Recorder } from './recorder.ts';
import { parseStageArgs, type StageArg } from './spec.ts';
import { locateTracer } from './locate.ts';
import type { HelloRecord, StageRecord, StreamRecord } from './protocol.ts';

export interface RecordOptions {
  pid?: number;
  kernel?: boolean;
  /** `NAME=SPEC` strings, or already parsed stages. */
  stages: ReadonlyArray<string | StageArg>;
  sampleHz?: number;
  durationS?: number;
  intervalMs?: number;
  calibrate?: boolean;
  /** Measure the probe cost again every this many seconds (tracer --recalibrate-s, default 1; 0: at start only). */
  recalibrateS?: number;
  /** false: keep a single-stepped site's entry timestamp at its first byte (tracer --no-relocate). */
  relocate?: boolean;
  maxOverheadPct?: number;
  /** Probe a uprobe:BIN:0xADDR even where it cannot be checked to start an instruction at which the
   * return address is at the stack pointer (tracer --force-unchecked-offsets). */
  forceUncheckedOffsets?: boolean;
  /**
   * Only packets in this network namespace count on skb-keyed tracepoint stages: a name under
   * /run/netns (`ip netns add`), an absolute path (/proc/PID/ns/net) or the namespace's inode.
   * Resolved by the tracer on the traced host.
   */
  netns?: string;
  /** A local tracer binary (deployed to remote hosts); default: locateTracer(). */
  tracer?: string;
  /** How sampled user stacks are found (tracer --unwind): "dwarf" (default with --pid: CFI over a
   * copy of the stack taken with each sample) or "fp" (frame pointers and the stack scan). */
  unwind?: 'dwarf' | 'fp';
  /** With unwind "dwarf": bytes of user stack copied with each sample (tracer --stack-bytes). */
  stackBytes?: number;
  /** Shown in the session: how the target was started, when known. */
  command?: string | null;
  /** Stops the recording (like the end of --duration); the session is complete, not partial. */
  signal?: AbortSignal;
  /** Stops hard: SIGTERM now, SIGKILL soon after (a second Ctrl-C); what arrived is kept, partial. */
  killSignal?: AbortSignal;
  /** How long to wait for bye after closing the tracer's stdin before SIGTERM (then as long to SIGKILL). */
  stopTimeoutMs?: number;
}

export interface RecordCallbacks {
  onHello?(h: HelloRecord): void;
  onStage?(s: StageRecord): void;
  onReady?(): void;
  /** After every closed interval: an immutable snapshot of the whole session so far. */
  onSnapshot?(s: Session): void;
  onWarning?(message: string): void;
  /** Error records of the tracer and its stderr lines. */
  onError?(message: string): void;
  onRecord?(r: StreamRecord): void;
}

export class RecordError extends Error {}

/** Checks options before anything runs; returns the argv after the tracer path. */
export function tracerArgs(o: RecordOptions): string[] {
  const hasPid = o.pid !== undefined;
  if (hasPid === (o.kernel === true)) throw new RecordError('give exactly one of --pid PID or --kernel');
  if (hasPid && (!Number.isSafeInteger(o.pid) || o.pid! <= 0)) throw new RecordError(`--pid must be a positive process id, got ${o.pid}`);
  const stages = o.stages.map((s) => (typeof s === 'string' ? s : `${s.name}=${s.spec}`));
  parseStageArgs(stages);
  if (stages.length === 0 && !(o.sampleHz && o.sampleHz > 0)) throw new RecordError('nothing to record: give at least one --stage NAME=SPEC (or --sample-hz)');
  const argv = hasPid ? ['--pid', String(o.pid)] : ['--kernel'];
  for (const s of stages) argv.push('--stage', s);
  const int = (flag: string, v: number | undefined, lo: number, hi: number) => {
    if (v === undefined) return;
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RecordError(`${flag} must be a whole number in ${lo}..${hi}, got ${v}`);
    argv.push(flag, String(v));
  };
  int('--sample-hz', o.sampleHz, 0, 100000);
  int('--interval-ms', o.intervalMs, 10, 60000);
  if (o.durationS !== undefined) {
    if (!(o.durationS > 0) || o.durationS > 7 * 86400) throw new RecordError(`--duration must be > 0 seconds, got ${o.durationS}`);
    argv.push('--duration', String(o.durationS));
  }
  if (o.calibrate === false) argv.push('--no-calibrate');
  if (o.recalibrateS !== undefined) argv.push('--recalibrate-s', String(o.recalibrateS));
  if (o.relocate === false) argv.push('--no-relocate');
  if (o.forceUncheckedOffsets === true) argv.push('--force-unchecked-offsets');
  if (o.maxOverheadPct !== undefined) {
    if (!(o.maxOverheadPct > 0 && o.maxOverheadPct <= 100)) throw new RecordError(`--max-overhead must be a percentage in (0, 100], got ${o.maxOverheadPct}`);
    argv.push('--max-overhead', String(o.maxOverheadPct));
  }
  if (o.unwind !== undefined) {
    if (o.unwind !== 'dwarf' && o.unwind !== 'fp') throw new RecordError(`--unwind must be dwarf or fp, got ${JSON.stringify(o.unwind)}`);
    argv.push('--unwind', o.unwind);
  }
  int('--stack-bytes', o.stackBytes, 512, 60000);
  if (o.netns !== undefined) {
    if (!validNetns(o.netns)) throw new RecordError(`--netns expects a namespace name (as in ip netns list), an absolute path or an inode number, got ${JSON.stringify(o.netns)}`);
    argv.push('--netns', o.netns);
  }
  return argv;
}

function validNetns(v: string): boolean {
  // digits are an inode, as the tracer reads them (ns.inum is 32 bits)
  if (/^\d+$/.test(v)) return Number(v) > 0 && Number(v) <= 0xffffffff;
  // eslint-disable-next-line no-control-regex
  if (v.startsWith('/')) return v.length < 4096 && !/[\x00-\x1f]/.test(v);
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/.test(v);
}

export interface TracerOnHost {
  path: string;
  /** Run it with RunOptions.root (as root or through sudo); false when its capabilities suffice. */
  root: boolean;
  via: TracerVia;
  /** With capabilities only: what to add when the kernel refuses something (another user's process). */
  deniedHint?: string;
}

/** The tracer on the transport's host (the local binary, or a verified deployed copy) and how it
 *  gets its privileges there; throws with what is missing when it cannot get them. */
export async function tracerOnHost(t: Transport, explicit?: string): Promise<TracerOnHost> {
  let path: string;
  if (isLocalHost(t.host)) path = locateTracer(explicit !== undefined ? { explicit } : {});
  else {
    const local = explicit !== undefined ? locateTracer({ explicit }) : undefined;
    path = (await deployTracer(t, local !== undefined ? { localTracer: local } : {})).path;
  }
  const p = await tracerPrivilege(t, path);
  if (!p.ok) throw new TracerPrivilegeError(p.message, p.missing);
  if (p.via !== 'caps') return { path, root: p.root, via: p.via };
  const hint = `the tracer runs as ${(await t.facts()).user} with capabilities only; processes of other users need ${OTHER_USERS_CAPS.join(' and ')} too (as root: ${setcapCommand(path, true)})`;
  return { path, root: p.root, via: p.via, deniedHint: hint };
}

export async function recordSession(t: Transport, o: RecordOptions, cb: RecordCallbacks = {}): Promise<Session> {
  const args = tracerArgs(o);
  const tracer = await tracerOnHost(t, o.tracer);
  const rec = new Recorder({
    host: t.host,
    pid: o.pid ?? null,
    kernel: o.kernel === true,
    command: o.command ?? null,
    sampleHz: o.sampleHz ?? 0,
    ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}),
  });
  if (cb.onSnapshot) rec.onSnapshot(cb.onSnapshot);
  const cmd = t.run([tracer.path, ...args], { root: tracer.root });
  const decoder = new StreamDecoder();
  let byeSeen = false;
  let stopping = false;
  let connectionLost = false;
  let durationTimer: NodeJS.Timeout | undefined;
  const timers: NodeJS.Timeout[] = [];
  let resolveBye!: () => void;
  const bye = new Promise<void>((r) => (resolveBye = r));

  const handle = (ev: ReturnType<StreamDecoder['push']>[number]): void => {
    rec.event(ev);
    if (ev.kind === 'warning') cb.onWarning?.(ev.error.toString());
    else if (ev.kind === 'fatal') {
      cb.onError?.(ev.error.toString());
      stop(); // a stream we cannot read: stop the tracer rather than leave it running blind
    } else {
      const r = ev.record;
      cb.onRecord?.(r);
      switch (r.type) {
        case 'hello':
          cb.onHello?.(r);
          break;
        case 'stage':
          cb.onStage?.(r);
          break;
        case 'ready':
          cb.onReady?.();
          if (o.durationS !== undefined) {
            // The tracer stops itself after --duration; this is the backstop if it does not.
            durationTimer = setTimeout(stop, o.durationS * 1000 + 5000);
          }
          break;
        case 'warning':
          cb.onWarning?.(r.message);
          break;
        case 'error':
          cb.onError?.(r.message + (r.missing.length ? ` (missing: ${r.missing.join(', ')})` : '') +
            (tracer.deniedHint && /Permission denied|Operation not permitted/.test(r.message) ? ` (${tracer.deniedHint})` : ''));
          break;
        case 'bye':
          byeSeen = true;
          resolveBye();
          break;
        default:
          break;
      }
    }
  };

  const stdoutDone = new Promise<void>((resolve) => {
    cmd.stdout.on('data', (b: Buffer) => {
      for (const ev of decoder.push(b)) handle(ev);
    });
    cmd.stdout.on('end', resolve);
    cmd.stdout.on('close', resolve);
    cmd.stdout.on('error', resolve);
  });
  const stderrTail: string[] = [];
  let stderrPartial = '';
  cmd.stderr.on('data', (b: Buffer) => {
    const lines = (stderrPartial + b.toString('utf8')).split('\n');
    stderrPartial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.trim()) continue;
      stderrTail.push(l);
      if (stderrTail.length > 20) stderrTail.shift();
    }
  });

  const stopTimeout = o.stopTimeoutMs ?? 5000;
  function stop(): void {
    if (stopping) return;
    stopping = true;
    cmd.stdin.end(); // the tracer's polite stop: end of stdin → final interval, bye, detach
    const escalate = async () => {
      await Promise.race([bye, cmd.exit, delay(stopTimeout, timers)]);
      if (byeSeen) return;
      cmd.kill('SIGTERM');
      await Promise.race([cmd.exit, delay(stopTimeout, timers)]);
      cmd.kill('SIGKILL');
    };
    void escalate();
  }
  const onAbort = () => stop();
  if (o.signal) {
    if (o.signal.aborted) stop();
    else o.signal.addEventListener('abort', onAbort, { once: true });
  }
  const onKill = () => {
    stop();
    cmd.kill('SIGTERM');
    timers.push(setTimeout(() => cmd.kill('SIGKILL'), Math.min(stopTimeout, 2000)));
  };
  if (o.killSignal) {
    if (o.killSignal.aborted) onKill();
    else o.killSignal.addEventListener('abort', onKill, { once: true });
  }
  void t.closed.then(() => {
    connectionLost = true;
    resolveBye();
  });

  const status = await Promise.race([cmd.exit, t.closed.then(() => null)]);
  if (status !== null) await Promise.race([stdoutDone, delay(2000, timers)]);
  for (const ev of decoder.end()) handle(ev);
  if (stderrPartial.trim()) stderrTail.push(stderrPartial);
  clearTimeout(durationTimer);
  for (const tm of timers) clearTimeout(tm);
  o.signal?.removeEventListener('abort', onAbort);
  o.killSignal?.removeEventListener('abort', onKill);

  let reason: string | undefined;
  if (status === null || connectionLost) {
    reason = `the connection to ${t.host} was lost`;
    rec.error(reason);
  } else if (status.code !== 0) {
    const how = status.signal ? `was killed by ${status.signal}` : `exited with status ${status.code}`;
    const tail = stderrTail.filter((l) => !/^\{/.test(l)).slice(-3).join(' | ');
    reason = `the tracer ${how}${tail ? `: ${tail}` : ''}`;
    // A tracer we stopped by signal after a timeout is our doing, not its error.
    if (!(stopping && byeSeen)) rec.error(reason);
  } else if (!byeSeen) {
    reason = 'the tracer exited without saying bye';
  }
  // Stderr lines that repeat an error record (the tracer writes both) are said once.
  const said = new Set(rec.errorMessages.map((m) => m.trim()));
  for (const l of stderrTail) {
    const msg = l.replace(/^pktpath-tracer: /, '').trim();
    if (status && status.code !== 0 && !said.has(msg) && !/^\{/.test(msg)) cb.onError?.(`tracer: ${msg}`);
  }
  return rec.finish(reason);
}

function delay(ms: number, timers: NodeJS.Timeout[]): Promise<void> {
  return new Promise((r) => timers.push(setTimeout(r, ms)));
}
