// One recording at a time: connect (progress with cancel), run the tracer through recordSession, show
// live numbers in the status bar and the views, stop on request, and save the session into the
// workspace's sessions folder when it ends.
import * as vscode from 'vscode';
import type { Log } from './log.ts';
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
import { hint, sessionFileName, statusText } from './recording-text.ts';

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

export class Recording implements vscode.Disposable {
  private abort: AbortController | null = null;
  private readonly status: vscode.StatusBarItem;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly store: SessionStore,
    private readonly log: Log,
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

  /** What the status bar shows now ('' when hidden): for tests and the views' header. */
  get statusBarText(): string {
    return this.abort ? this.status.text : '';
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
          this.log.appendLine(`starting the tracer on ${req.host}: ${req.stages.join(' ')}`);
          const opts: RecordOptions = {
            stages: req.stages,
            // No flag is no sampling: the tracer refuses --sample-hz 0.
            ...(req.sampleHz > 0 ? { sampleHz: Math.round(req.sampleHz) } : {}),
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
            onHello: (h) => this.log.appendLine(`tracer ${h.tracer} on ${req.host}: kernel ${h.kernel}, missing: ${h.missing.join('; ') || 'nothing'}`),
            onReady: () => {
              this.log.appendLine('tracer ready: recording');
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
