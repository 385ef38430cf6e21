// "Attach to Process…" and "Profile Kernel Path…": pick a host, a process and stages, then record.
// Both accept an argument object ({host, pid, stages, durationSeconds, sampleHz}; for DPDK stages
// also mode: exact|sampled and packetsFrom) that skips the pickers, for tests and keybindings.
import * as vscode from 'vscode';
import { errorReporter, type Log } from './log.ts';
import { basename } from 'node:path';
import { openTransport } from '../remote/open.ts';
import type { Transport } from '../remote/transport.ts';
import { discover, type Candidate } from '../remote/discovery.ts';
import { asArgs, argNumber, argString, argStrings } from './args.ts';
import { guessPackets, looksLikeStage } from './c-functions.ts';
import { stageSpecs } from './stage-specs.ts';
import type { Recording, RecordingResult } from './recording.ts';
import { passphraseAsker } from './secrets.ts';
import { settings } from './settings.ts';
import { sshConfigHosts } from './ssh-hosts.ts';
import { workspaceCFunctions } from './workspace-functions.ts';
import { checkBuildId } from './local-binary.ts';
import { tracerOnHost } from '../tracer/record-session.ts';
import { ATTACH_PRESAMPLE_HZ, PRESAMPLE_S, presample } from '../tracer/presample.ts';
import { queryDpdk, type DpdkQuery } from '../tracer/dpdk-query.ts';
import { dpdkPicks, type DpdkPicks } from '../tracer/dpdk-picks.ts';
import { addPathPicks, wantsPathStages } from '../tracer/path-stages.ts';
import { splitDwarfStages } from '../cli/dwarf-stages.ts';
import { symbolizeInEditor } from './symbols.ts';
import { resolveDpdkStages, splitStages } from '../tracer/dpdk-resolve.ts';
import { runningFunctions, type RunningFunction } from '../core/running.ts';
import type { SampledStageOption } from '../tracer/sampled.ts';
import { chooseDpdkMode } from './dpdk-mode.ts';
import { targetExe } from '../remote/target-exe.ts';

/** The program's functions that ran in a short CPU sample of the target (no probes), or null when
 * sampling failed (then nothing is pre-selected and the picker says why). */
async function sampleRunning(t: Transport, pid: number, exe: string, log: Log): Promise<{ fns: RunningFunction[] | null; error: string | null }> {
  try {
    const cfg = settings();
    const s = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Packet Path: sampling process {0} for {1} s to see what runs…', pid, PRESAMPLE_S) },
      () => presample(t, pid, cfg.tracerPath || undefined, ATTACH_PRESAMPLE_HZ),
    );
    const fns = runningFunctions(s, exe);
    log.appendLine(`pre-sample of ${pid}: ${s.samples} samples; running: ${fns.map((f) => `${f.fn}${f.loop ? ' (loop)' : ''} ${f.samples}`).join(', ') || 'none of the program\'s functions'}`);
    return { fns, error: s.samples === 0 ? vscode.l10n.t('no CPU samples in {0} s: is the process idle (no traffic)?', PRESAMPLE_S) : null };
  } catch (e) {
    log.appendLine(`pre-sample of ${pid} failed: ${(e as Error).message}`);
    return { fns: null, error: (e as Error).message };
  }
}

/** A DPDK process's own stages, as `pktpath record --auto-stages` finds them: its rte_graph nodes, else its
 * ethdev ports and the functions a short sample shows between rx and tx; null (and the log says why) when
 * the query fails or finds nothing to pre-select. */
async function queryStages(t: Transport, pid: number, log: Log): Promise<{ q: DpdkQuery; picks: DpdkPicks } | null> {
  try {
    const cfg = settings();
    const q = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Packet Path: reading the DPDK stages of process {0}…', pid) },
      async () => queryDpdk(t, (await tracerOnHost(t, cfg.tracerPath || undefined)).path, pid),
    );
    const picks = dpdkPicks(q);
    for (const n of picks.notes) log.appendLine(`auto-stages: ${n}`);
    if (picks.none) {
      log.appendLine(`dpdk query of ${pid}: ${picks.none}; sampling what runs instead`);
      return null;
    }
    if (wantsPathStages(q)) {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Packet Path: sampling process {0} for {1} s to see what runs between rx and tx…', pid, PRESAMPLE_S) },
        () => addPathPicks(t, pid, cfg.tracerPath || undefined, q, picks, (l) => log.appendLine(l), (s) => symbolizeInEditor(s, log)),
      );
    }
    return { q, picks };
  } catch (e) {
    log.appendLine(`dpdk query of ${pid} failed: ${(e as Error).message}; sampling what runs instead`);
    return null;
  }
}

const RECENT_HOSTS = 'pktpath.recentHosts';
const LAST_STAGES = 'pktpath.lastStages';

/** Along the forwarding path, in order; the first four are pre-selected (each fires once per forwarded skb). */
export const KERNEL_TRACEPOINTS: Array<{ tp: string; picked: boolean }> = [
  { tp: 'net:netif_receive_skb', picked: true }, { tp: 'fib:fib_table_lookup', picked: true },
  { tp: 'net:net_dev_queue', picked: true }, { tp: 'net:net_dev_xmit', picked: true },
  { tp: 'net:netif_rx', picked: false }, { tp: 'net:net_dev_start_xmit', picked: false },
];
export const DEFAULT_KERNEL_STAGES = KERNEL_TRACEPOINTS.filter((k) => k.picked).map((k) => k.tp);

export async function pickHost(context: vscode.ExtensionContext): Promise<string | undefined> {
  const recent = context.globalState.get<string[]>(RECENT_HOSTS, []);
  const cfg = settings();
  const fromConfig = sshConfigHosts(cfg.sshConfig || undefined);
  type Item = vscode.QuickPickItem & { host?: string };
  const items: Item[] = [{ label: 'localhost', description: 'this machine, no SSH', host: 'localhost' }];
  for (const h of recent) if (h !== 'localhost') items.push({ label: h, description: 'recent', host: h });
  for (const h of fromConfig) if (!recent.includes(h)) items.push({ label: h, description: '~/.ssh/config', host: h });
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = 'Packet Path: host running the forwarder';
  qp.placeholder = vscode.l10n.t('localhost, an ~/.ssh/config alias, or user@host[:port]');
  qp.items = items;
  return new Promise((resolve) => {
    qp.onDidAccept(() => {
      const v = qp.selectedItems[0]?.host ?? qp.value.trim();
      qp.hide();
      resolve(v || undefined);
    });
    qp.onDidHide(() => resolve(undefined));
    qp.show();
  });
}

export async function rememberHost(context: vscode.ExtensionContext, host: string): Promise<void> {
  const recent = context.globalState.get<string[]>(RECENT_HOSTS, []).filter((h) => h !== host);
  await context.globalState.update(RECENT_HOSTS, [host, ...recent].slice(0, 10));
}

export async function pickProcess(t: Transport): Promise<Candidate | { pid: number } | undefined> {
  const cands = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Packet Path: looking for packet processes on {0}…', t.host) },
    () => discover(t),
  );
  type Item = vscode.QuickPickItem & { c?: Candidate; other?: true };
  const items: Item[] = cands.map((c) => ({
    label: `${c.comm} (${c.pid})`,
    description: `${c.cpu.toFixed(2)} cores · ${c.reasons.join(', ') || 'busy'}`,
    detail: c.command.join(' '),
    c,
  }));
  items.push({ label: '$(edit) Other process… (enter a PID)', other: true, alwaysShow: true });
  const pick = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Packet Path: process on {0}', t.host),
    placeHolder: cands.length ? vscode.l10n.t('DPDK, AF_PACKET/AF_XDP and busy-polling processes first') : vscode.l10n.t('No packet processes found: enter a PID'),
    matchOnDetail: true,
  });
  if (!pick) return undefined;
  if (pick.c) return pick.c;
  const pid = await vscode.window.showInputBox({ title: vscode.l10n.t('Process id'), validateInput: (v) => (/^\d+$/.test(v) ? null : vscode.l10n.t('a process id')) });
  return pid ? { pid: Number(pid) } : undefined;
}

async function pickStages(
  context: vscode.ExtensionContext, exe: string, sample: () => Promise<{ fns: RunningFunction[] | null; error: string | null }>, dpdk: () => Promise<{ picks: DpdkPicks } | null>,
): Promise<string[] | undefined> {
  const fns = await workspaceCFunctions();
  const sig = new Map(fns.map((f) => [f.name, guessPackets(f)] as const));
  const sets: Array<[string, string[]]> = Object.entries(settings().stageSets);
  const last = context.workspaceState.get<Record<string, string[]>>(LAST_STAGES, {})[basename(exe)];
  if (last) sets.unshift([`last used for ${basename(exe)}`, last]);
  if (sets.length) {
    type SetItem = vscode.QuickPickItem & { stages?: string[] };
    const pick = await vscode.window.showQuickPick<SetItem>(
      [{ label: '$(list-selection) Choose functions…' }, ...sets.map(([n, st]) => ({ label: n, description: `${st.length} stages`, detail: st.join(', '), stages: st }))],
      { title: vscode.l10n.t('Packet Path: stages') },
    );
    if (!pick) return undefined;
    if (pick.stages) return stageSpecs(pick.stages, exe, sig);
  }
  type FnItem = vscode.QuickPickItem & { name: string };
  const seen = new Set<string>();
  const items: FnItem[] = [];
  // A DPDK process says what its stages are: its rte_graph nodes, else its ports' burst functions.
  const d = await dpdk();
  for (const p of d?.picks.picks ?? []) {
    seen.add(p.name); // a workspace function of a node's name would be a second stage of that name
    items.push({ label: p.name, description: p.spec, detail: [p.found, ...p.warnings].join(' · '), picked: p.picked, name: p.stage });
  }
  // Else pre-selected: what ran in a short sample of the target, never a name pattern (a
  // startup-only function named like a stage would sit there with no calls).
  const sampled = d ? { fns: null, error: null } : await sample();
  const ran = new Map((sampled.fns ?? []).map((r) => [r.fn, r] as const));
  for (const f of fns) {
    if (seen.has(f.name)) continue;
    seen.add(f.name);
    const p = guessPackets(f);
    const r = ran.get(f.name);
    const picked = !!r && !r.loop;
    const ranText = r ? (r.loop ? vscode.l10n.t('the loop around the stages ({0} samples)', r.samples) : vscode.l10n.t('ran: {0} samples in {1} s', r.samples, PRESAMPLE_S)) : sampled.fns ? vscode.l10n.t('not seen running') : '';
    items.push({
      label: f.name, description: `${ranText ? `${ranText} · ` : ''}${vscode.workspace.asRelativePath(f.uri)}:${f.line + 1}`,
      detail: p === 'one' ? undefined : `packets=${p}`, picked, name: f.name,
    });
  }
  // Pre-selected first, each group in source order: stages are recorded (and shown) in the order of
  // the packet path, which is how forwarders are usually written down. Stage-like names that did
  // not run follow, then the rest.
  const rank = (i: FnItem): number => (i.picked ? 0 : looksLikeStage(i.name) ? 1 : 2);
  items.sort((a, b) => rank(a) - rank(b));
  const qp = vscode.window.createQuickPick<FnItem>();
  qp.canSelectMany = true;
  qp.title = `Packet Path: functions of ${basename(exe)} to measure (uprobes)`;
  qp.placeholder = !fns.length && !d ? vscode.l10n.t('No C functions in the workspace: type function names or NAME=SPEC, comma-separated')
    : d ? vscode.l10n.t('The DPDK stages of the process (rte_graph nodes, else ethdev ports and the functions a sample saw between them) are pre-selected; type NAME=SPEC and Enter to add a custom stage')
    : sampled.error ? vscode.l10n.t('Could not see what runs ({0}): pick the stages; type NAME=SPEC and Enter to add one', sampled.error)
      : vscode.l10n.t('Functions that ran in a {0} s sample are pre-selected; type NAME=SPEC and Enter to add a custom stage', PRESAMPLE_S);
  qp.items = items;
  qp.selectedItems = items.filter((i) => i.picked);
  const chosen = await new Promise<string[] | undefined>((resolve) => {
    qp.onDidAccept(() => {
      const typed = qp.value.split(',').map((s) => s.trim()).filter(Boolean);
      const picked = items.filter((i) => qp.selectedItems.includes(i)).map((i) => i.name);
      resolve([...picked, ...typed.filter((t) => !picked.includes(t))]);
      qp.hide();
    });
    qp.onDidHide(() => resolve(undefined));
    qp.show();
  });
  if (!chosen || chosen.length === 0) return undefined;
  const all = context.workspaceState.get<Record<string, string[]>>(LAST_STAGES, {});
  await context.workspaceState.update(LAST_STAGES, { ...all, [basename(exe)]: chosen });
  return stageSpecs(chosen, exe, sig);
}

export function registerAttach(context: vscode.ExtensionContext, recording: Recording, log: Log): void {
  const fail = errorReporter(log);
  context.subscriptions.push(
    vscode.commands.registerCommand('pktpath.attach', async (arg?: unknown): Promise<string | undefined> => {
      const a = asArgs(arg);
      const cfg = settings();
      const host = argString(a, 'host') ?? (await pickHost(context));
      if (!host) return undefined;
      let transport: Transport;
      try {
        transport = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Packet Path: connecting to {0}…', host) },
          () => openTransport({ host, ...(cfg.sshConfig ? { sshConfig: cfg.sshConfig } : {}), acceptNewHostKey: cfg.acceptNewHostKeys,
            passphrase: passphraseAsker(context.secrets) }),
        );
      } catch (e) {
        fail(`cannot connect to ${host}: ${(e as Error).message}. Check the host in ~/.ssh/config and that you can \`ssh ${host}\`.`);
        return undefined;
      }
      let result: RecordingResult | undefined;
      try {
        await rememberHost(context, host);
        let pid = argNumber(a, 'pid');
        let exe = argString(a, 'binary') ?? null;
        let command: string | null = null;
        let isDpdk: boolean | null = null; // null: discovery did not see the process
        let filePrefix: string | null = null;
        if (pid === undefined) {
          const p = await pickProcess(transport);
          if (!p) return undefined;
          pid = p.pid;
          if ('exe' in p) {
            exe = p.exe;
            command = p.command.join(' ');
            isDpdk = p.dpdk !== null;
            filePrefix = p.dpdk?.filePrefix ?? null;
          }
        }
        if (!exe) {
          try {
            exe = await targetExe(transport, pid);
          } catch (e) {
            fail(`process ${pid} on ${host} is not running (or not readable): ${(e as Error).message}. Pick it again.`);
            return undefined;
          }
        }
        const given = argStrings(a, 'stages');
        let query: DpdkQuery | null = null;
        const dpdk = async (): Promise<{ picks: DpdkPicks } | null> => {
          if (isDpdk === false) {
            log.appendLine(`process ${pid} maps no DPDK library: sampling what runs`);
            return null;
          }
          const r = await queryStages(transport, pid!, log);
          query = r?.q ?? null;
          return r;
        };
        const picked = given
          ? stageSpecs(given, exe, new Map((await workspaceCFunctions()).map((f) => [f.name, guessPackets(f)] as const)))
          : await pickStages(context, exe, () => sampleRunning(transport, pid!, exe!, log), dpdk);
        if (!picked) return undefined;
        // graph:/ethdev: stages become uprobes as `pktpath record` resolves them; the session keeps the specs
        let stages = picked;
        let specs: ReadonlyMap<string, string> | undefined;
        let sampled: { packetsFrom: string; byRange: SampledStageOption[] } | undefined;
        try {
          const split = splitStages(picked);
          if (split.dpdk.length > 0) {
            const q = query ?? (await queryDpdk(transport, (await tracerOnHost(transport, cfg.tracerPath || undefined)).path, pid));
            const how = await chooseDpdkMode(context, a, q, filePrefix);
            if (!how) return undefined;
            // an inline: path stage can only be sampled: refused as `pktpath record` refuses it
            if (how.mode === 'exact') splitDwarfStages(split.plain, 'exact');
            const taken = new Set(split.plain.map((s) => s.slice(0, s.indexOf('='))));
            const r = resolveDpdkStages(q, split.dpdk, false, how.mode, taken, (l) => log.appendLine(l));
            if (how.mode === 'sampled') {
              stages = split.plain;
              sampled = { packetsFrom: how.packetsFrom, byRange: r.sampled };
            } else {
              stages = [...split.plain, ...r.exact];
              specs = r.original;
            }
          }
        } catch (e) {
          fail((e as Error).message);
          return undefined;
        }
        log.appendLine(`attach ${host} pid ${pid} (${exe}): ${[...stages, ...(sampled?.byRange.map((s) => `${s.name}=${s.spec}`) ?? [])].join(' ')}` +
          (sampled ? `, sampled, packets from ${sampled.packetsFrom}` : ''));
        const duration = argNumber(a, 'durationSeconds') ?? cfg.durationSeconds;
        const hz = argNumber(a, 'sampleHz') ?? cfg.sampleHz;
        result = await recording.run({
          host, pid, stages, transport, command: command ?? exe, ...(specs ? { specs } : {}),
          // sampled mode needs a duration and a rate: 10 s at 999 Hz unless set
          ...(sampled ? { sampled, durationSeconds: duration > 0 ? duration : 10, sampleHz: hz > 0 ? hz : 999 } : { durationSeconds: duration, sampleHz: hz }),
        });
      } finally {
        await transport.close().catch(() => undefined);
      }
      if (result) await checkBuildId(result.session, log);
      return result?.path;
    }),
    vscode.commands.registerCommand('pktpath.profileKernel', async (arg?: unknown): Promise<string | undefined> => {
      const a = asArgs(arg);
      const cfg = settings();
      const host = argString(a, 'host') ?? (await pickHost(context));
      if (!host) return undefined;
      let tps = argStrings(a, 'stages');
      if (!tps) {
        const picks = await vscode.window.showQuickPick(
          KERNEL_TRACEPOINTS.map((t) => ({ label: t.tp, picked: t.picked })),
          { title: vscode.l10n.t('Packet Path: kernel tracepoints along the forwarding path'), canPickMany: true },
        );
        if (!picks || picks.length === 0) return undefined;
        tps = picks.map((p) => p.label);
      }
      await rememberHost(context, host);
      const stages = tps.map((t) => (t.includes('=') ? t : `${t.split(':').pop()}=tracepoint:${t}`));
      const r = await recording.run({
        host, kernel: true, stages,
        durationSeconds: argNumber(a, 'durationSeconds') ?? cfg.durationSeconds,
        sampleHz: argNumber(a, 'sampleHz') ?? cfg.sampleHz,
      });
      return r?.path;
    }),
  );
}
