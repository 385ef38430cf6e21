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
import { SESSION_FORMAT, SESSION_VERSION, type Session } from '../core/session.ts';
import { DEFAULT_LAYOUT } from '../core/histogram.ts';
import type { SessionStore } from './session-store.ts';
import { settings, sessionsFolder } from './settings.ts';
import { passphraseAsker } from './secrets.ts';
import { hint, sessionFileName, statusText } from './recording-text.ts';
import { recordSampledFromEditor } from './sampled-recording.ts';
import { restoreSpecs } from '../tracer/dpdk-resolve.ts';
import type { SampledStageOption } from '../tracer/sampled.ts';

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
  /** Sampled mode (no stage probes; inline: and lines: stages): where packets are counted, and
   * stages already resolved to address ranges (DPDK). */
  sampled?: { packetsFrom: string; byRange?: SampledStageOption[] };
  /** Stage name -> the spec to show (graph:NODE) for stages given to the tracer as the uprobes they resolved to. */
  specs?: ReadonlyMap<string, string>;
}

export interface RecordingResult {
  session: Session;
  path: string;
}

/** What the views show from Attach until the first interval: the target, nothing measured yet
 * (never the previous session's numbers under a "recording" badge). */
export function pendingSession(req: RecordingRequest, now = new Date()): Session {
  return {
    format: SESSION_FORMAT, version: SESSION_VERSION, created: now.toISOString(), partial: false, partial_reason: null,
    target: { host: req.host, pid: req.kernel ? null : req.pid ?? null, kernel: req.kernel === true, command: req.command ?? null, binary: null, build_id: null },
    tracer: { stream_version: 0, version: '', kernel: '', arch: '', features: {}, missing: [] },
    duration_s: 0, interval_ms: 0, sample_hz: req.sampleHz, hist: DEFAULT_LAYOUT, stages: [], frames: [], stacks: [],
    samples: 0, lost_samples: 0, drops: {}, warnings: [],
  };
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
      void vscode.window.showWarningMessage(vscode.l10n.t('Packet Path: a recording is already running. Stop it first (Packet Path: Stop Recording).'));
      return undefined;
    }
    const abort = new AbortController();
    this.abort = abort;
    const cfg = settings();
    const shown = (s: Session): Session => (req.specs ? restoreSpecs(s, req.specs) : s);
    let transport = req.transport;
    let ownTransport = false;
    let ready = false;
    let resolveReady!: () => void;
    const readyP = new Promise<void>((r) => (resolveReady = r));
    const aborted = new Promise<void>((r) => abort.signal.addEventListener('abort', () => r()));
    let recP: Promise<Session> | null = null;
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: req.kernel ? vscode.l10n.t('Packet Path: kernel path on {0}', req.host) : vscode.l10n.t('Packet Path: pid {0} on {1}', req.pid ?? '?', req.host), cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => !ready && abort.abort());
          if (!transport) {
            progress.report({ message: vscode.l10n.t('connecting…') });
            transport = await openTransport({
              host: req.host,
              ...(cfg.sshConfig ? { sshConfig: cfg.sshConfig } : {}),
              acceptNewHostKey: cfg.acceptNewHostKeys,
              passphrase: passphraseAsker(this.context.secrets),
            });
            ownTransport = true;
          }
          if (abort.signal.aborted) return;
          progress.report({ message: vscode.l10n.t('starting the tracer (deploy, attach, calibrate)…') });
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
          // The views open on Attach and follow the recording from its first interval.
          this.store.setCurrent({ uri: null, session: pendingSession(req), live: true });
          void vscode.commands.executeCommand('pktpath.showViews');
          this.onStatus(true, null);
          if (req.sampled) {
            // sampled mode has no calibration to wait for: it records from the start
            recP = recordSampledFromEditor(transport, {
              pid: req.pid!, stages: req.stages, packetsFrom: req.sampled.packetsFrom, ...(req.sampled.byRange ? { byRange: req.sampled.byRange } : {}),
              durationS: req.durationSeconds > 0 ? req.durationSeconds : 10, sampleHz: req.sampleHz > 0 ? Math.round(req.sampleHz) : 999,
            }, abort.signal, this.log);
            ready = true;
            resolveReady();
            this.status.text = '$(record) Packet Path: sampling…';
            return;
          }
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
              this.store.setCurrent({ uri: null, session: shown(s), live: true });
            },
            onWarning: (m) => this.log.appendLine(`warning: ${m}`),
            onError: (m) => this.log.appendLine(`tracer: ${m}`),
          });
          await Promise.race([readyP, aborted, recP.then(() => undefined)]);
        },
      );
      if (!recP) return undefined; // cancelled while connecting
      const session: Session = shown(await recP);
      if (!ready) {
        if (abort.signal.aborted) return undefined; // cancelled while starting: nothing was measured
        throw new Error(session.partial_reason ?? 'the tracer ended before it was ready');
      }
      return await this.save(session);
    } catch (e) {
      const msg = (e as Error).message;
      this.log.appendLine(`recording failed: ${msg}`);
      const showLog = vscode.l10n.t('Show Log');
      void vscode.window.showErrorMessage(vscode.l10n.t('Packet Path: {0}', hint(msg)), showLog).then((p) => p && this.log.show());
      return undefined;
    } finally {
      resolveReady();
      this.abort = null;
      this.setRecording(false);
      this.onStatus(false, null);
      if (ownTransport) await transport?.close().catch(() => undefined);
    }
  }

  private async save(recorded: Session): Promise<RecordingResult> {
    const session = await this.store.symbolize(recorded);
    let folder = sessionsFolder()?.fsPath;
    if (!folder) folder = join(this.context.globalStorageUri.fsPath, 'sessions');
    await mkdir(folder, { recursive: true });
    const path = join(folder, sessionFileName(session));
    await saveSession(path, session);
    const uri = vscode.Uri.file(path);
    this.store.setCurrent({ uri, session, live: false });
    this.store.refresh();
    const r = buildReport(session);
    const where = vscode.workspace.asRelativePath(uri);
    const what = session.partial
      ? vscode.l10n.t('Packet Path: partial recording saved ({0}) to {1}', session.partial_reason ?? 'ended early', where)
      : vscode.l10n.t('Packet Path: recording saved to {0}', where);
    const show = vscode.l10n.t('Show Views');
    void vscode.window
      .showInformationMessage(`${what}${r.slowest ? vscode.l10n.t(' — weakest link: {0}', r.slowest) : ''}`, show)
      .then((p) => p && vscode.commands.executeCommand('pktpath.showViews'));
    return { session, path };
  }
}
