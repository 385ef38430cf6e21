// One recording at a time: connect (progress with cancel), run the tracer through recordSession, show
// live numbers in the status bar and the views, stop on request, and save the session into the
// workspace's sessions folder when it ends.
import * as vscode from 'vscode';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openTransport } from '../remote/open.ts';
import type { Transport } from '../remote/transport.ts';
import { recordSession, type RecordOptions } from '../tracer/record-session.ts';
import { saveSession } from '../core/session-io.ts';
import { buildReport } from '../core/report.ts';
import type { Session } from '../core/session.ts';
import type { SessionStore } from './session-store.ts';
import { settings, sessionsFolder } from './settings.ts';
import { passphraseAsker } from './secrets.ts';
import { fmtNs } from './stage-costs.ts';

export interface RecordingRequest {
  host: string;
  pid?: number;
  kernel?: boolean;
  stages: string[]; // NAME=SPEC
  durationSeconds: number; // 0: until stopped
  sampleHz: number;
  command?: string | null;
  /** For a transport the caller already opened (Attach discovers processes over it). */
  transport?: Transport;
}

export interface RecordingResult {
  session: Session;
  path: string;
}

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
  const slow = r.stages.find((x) => x.name === r.slowest);
  return `${rate}${slow ? ` · slowest: ${slow.name} ${fmtNs(slow.ns_per_packet)}/pkt` : ''}`;
}

export class Recording implements vscode.Disposable {
  private abort: AbortController | null = null;
  private readonly status: vscode.StatusBarItem;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly store: SessionStore,
    private readonly log: vscode.OutputChannel,
    private readonly onStatus: (recording: boolean, message: string | null) => void,
  ) {
    this.status = vscode.window.createStatusBarItem('pktpath.recording', vscode.StatusBarAlignment.Left, 100);
    this.status.name = 'Packet Path recording';
    this.status.command = 'pktpath.stop';
  }

  dispose(): void {
    this.abort?.abort();
    this.status.dispose();
  }

  get active(): boolean {
    return this.abort !== null;
  }

  stop(): boolean {
    if (!this.abort) return false;
    this.abort.abort();
    return true;
  }

  private setRecording(on: boolean): void {
    void vscode.commands.executeCommand('setContext', 'pktpath.recording', on);
    if (on) this.status.show();
    else this.status.hide();
  }

  /** Records and saves; resolves with the saved file, or undefined when cancelled before ready. */
  async run(req: RecordingRequest): Promise<RecordingResult | undefined> {
    if (this.abort) {
      void vscode.window.showWarningMessage('Packet Path: a recording is already running. Stop it first (Packet Path: Stop Recording).');
      return undefined;
    }
    const abort = new AbortController();
    this.abort = abort;
    const cfg = settings();
    let transport = req.transport;
    let ownTransport = false;
    let ready = false;
    let resolveReady!: () => void;
    const readyP = new Promise<void>((r) => (resolveReady = r));
    const aborted = new Promise<void>((r) => abort.signal.addEventListener('abort', () => r()));
    let recP: Promise<Session> | null = null;
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Packet Path: ${req.kernel ? 'kernel path' : `pid ${req.pid}`} on ${req.host}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => !ready && abort.abort());
          if (!transport) {
            progress.report({ message: 'connecting…' });
            transport = await openTransport({
              host: req.host,
              ...(cfg.sshConfig ? { sshConfig: cfg.sshConfig } : {}),
              acceptNewHostKey: cfg.acceptNewHostKeys,
              passphrase: passphraseAsker(this.context.secrets),
            });
            ownTransport = true;
          }
          if (abort.signal.aborted) return;
          progress.report({ message: 'starting the tracer (deploy, attach, calibrate)…' });
          const opts: RecordOptions = {
            stages: req.stages,
            sampleHz: req.sampleHz,
            intervalMs: cfg.intervalMs,
            signal: abort.signal,
            command: req.command ?? null,
            ...(req.kernel ? { kernel: true } : { pid: req.pid! }),
            ...(req.durationSeconds > 0 ? { durationS: req.durationSeconds } : {}),
            ...(cfg.maxOverheadPercent > 0 ? { maxOverheadPct: cfg.maxOverheadPercent } : {}),
            ...(cfg.tracerPath ? { tracer: cfg.tracerPath } : {}),
          };
          this.status.text = '$(loading~spin) Packet Path: starting…';
          this.status.tooltip = 'Click to stop recording';
          this.setRecording(true);
          this.onStatus(true, null);
          recP = recordSession(transport, opts, {
            onReady: () => {
              ready = true;
              resolveReady();
              this.status.text = '$(record) Packet Path: recording…';
            },
            onSnapshot: (s) => {
              this.status.text = `$(record) ${statusText(s)}`;
              this.store.setCurrent({ uri: null, session: s, live: true });
            },
            onWarning: (m) => this.log.appendLine(`warning: ${m}`),
            onError: (m) => this.log.appendLine(`tracer: ${m}`),
          });
          await Promise.race([readyP, aborted, recP.then(() => undefined)]);
        },
      );
      if (!recP) return undefined; // cancelled while connecting
      const session: Session = await recP;
      if (!ready) {
        if (abort.signal.aborted) return undefined; // cancelled while starting: nothing was measured
        throw new Error(session.partial_reason ?? 'the tracer ended before it was ready');
      }
      return await this.save(session);
    } catch (e) {
      const msg = (e as Error).message;
      this.log.appendLine(`recording failed: ${msg}`);
      void vscode.window.showErrorMessage(`Packet Path: ${hint(msg)}`, 'Show Log').then((p) => p && this.log.show());
      return undefined;
    } finally {
      resolveReady();
      this.abort = null;
      this.setRecording(false);
      this.onStatus(false, null);
      if (ownTransport) await transport?.close().catch(() => undefined);
    }
  }

  private async save(session: Session): Promise<RecordingResult> {
    let folder = sessionsFolder()?.fsPath;
    if (!folder) folder = join(this.context.globalStorageUri.fsPath, 'sessions');
    await mkdir(folder, { recursive: true });
    const path = join(folder, sessionFileName(session));
    await saveSession(path, session);
    const uri = vscode.Uri.file(path);
    this.store.setCurrent({ uri, session, live: false });
    this.store.refresh();
    const r = buildReport(session);
    const what = session.partial ? `partial recording saved (${session.partial_reason ?? 'ended early'})` : 'recording saved';
    void vscode.window
      .showInformationMessage(`Packet Path: ${what} to ${vscode.workspace.asRelativePath(uri)}${r.slowest ? ` — slowest stage: ${r.slowest}` : ''}`, 'Show Views')
      .then((p) => p && vscode.commands.executeCommand('pktpath.showViews'));
    return { session, path };
  }
}

/** Turns common failures into what to do about them. */
export function hint(msg: string): string {
  if (/not found.*pktpath-tracer|pktpath-tracer not found/i.test(msg)) return `${msg}. Set pktpath.tracerPath, or reinstall the extension.`;
  if (/sudo.*password|a password is required|sudo: /i.test(msg)) return `${msg}. The tracer needs root: allow passwordless sudo for it on the host, or connect as root.`;
  if (/ECONNREFUSED|EHOSTUNREACH|ENOTFOUND|timed out/i.test(msg)) return `${msg}. Check the host name, that sshd runs, and your ~/.ssh/config.`;
  if (/authentication|All configured authentication methods failed/i.test(msg)) return `${msg}. Load your key into ssh-agent or check IdentityFile in ~/.ssh/config.`;
  if (/host key/i.test(msg)) return `${msg}. Verify the host key; to accept a first-seen key set pktpath.acceptNewHostKeys.`;
  if (/No such process|ESRCH|no process/i.test(msg)) return `${msg}. The process has exited: pick it again (Attach to Process…).`;
  return msg;
}
