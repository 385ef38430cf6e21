// Sampled mode divides by a packet counter: asked for once, checked as it is typed, remembered.
import * as vscode from 'vscode';
import { parseCounterSource } from '../tracer/counters.ts';

const LAST_PACKETS_FROM = 'pktpath.lastPacketsFrom';

/** A --packets-from value from `given` or the user (proposal first, else the last one used); undefined: cancelled. */
export async function askPacketsFrom(context: vscode.ExtensionContext, title: string, given: string | undefined, proposed: string | null = null): Promise<string | undefined> {
  const packetsFrom = given ?? (await vscode.window.showInputBox({
    title,
    placeHolder: 'dev:IFACE[:rx|tx][@NETNS], dpdk:/var/run/dpdk/PREFIX/dpdk_telemetry.v2[:PORT][:rx|tx] or graph:NODE',
    value: proposed ?? context.workspaceState.get<string>(LAST_PACKETS_FROM, ''),
    validateInput: (v) => {
      try {
        parseCounterSource(v.trim());
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  }))?.trim();
  if (!packetsFrom) return undefined;
  parseCounterSource(packetsFrom); // an argument is checked as the box checks what is typed
  await context.workspaceState.update(LAST_PACKETS_FROM, packetsFrom);
  return packetsFrom;
}
