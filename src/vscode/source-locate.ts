// Finds where a function is defined in the workspace's C sources, for "open source" from the views.
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { findCFunctions } from './c-functions.ts';
import { addr2line } from './addr2line.ts';
import { localBinaryFor, sourcePrefixes } from './local-binary.ts';
import { buildSourceIndex, mapSourcePath } from './source-map.ts';

const C_GLOB = '**/*.{c,h,cc,cpp}';
const EXCLUDE = '{**/node_modules/**,**/.git/**,**/build/**}';

export async function findFunctionDefinition(name: string): Promise<vscode.Location | null> {
  const files = await vscode.workspace.findFiles(C_GLOB, EXCLUDE, 5000);
  for (const uri of files) {
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    if (!text.includes(name)) continue;
    const f = findCFunctions(text).find((x) => x.name === name);
    if (f) return new vscode.Location(uri, new vscode.Position(f.line, f.character));
  }
  return null;
}

/** The workspace line of a sampled address, through the local build's DWARF (inlined code at its call site). */
export async function findAddressLine(frame: { module: string; elf_addr: string | null; kernel: boolean }): Promise<vscode.Location | null> {
  if (frame.kernel || !frame.elf_addr) return null;
  const bin = await localBinaryFor(frame.module, null);
  if (!bin) return null;
  const chain = (await addr2line(bin, [frame.elf_addr])).values().next().value ?? [];
  const files = await vscode.workspace.findFiles(C_GLOB.replace('}', ',hpp}'), EXCLUDE, 20000);
  const index = buildSourceIndex(files.map((f) => f.fsPath));
  const prefixes = sourcePrefixes();
  for (const loc of chain) {
    if (!loc.file || loc.line <= 0) continue;
    const local = mapSourcePath(loc.file, prefixes, index, existsSync);
    if (local) return new vscode.Location(vscode.Uri.file(local), new vscode.Position(loc.line - 1, 0));
  }
  return null;
}

export async function openFunctionSource(
  name: string,
  frame: { module: string; elf_addr?: string | null; kernel?: boolean },
): Promise<void> {
  const loc = (await findAddressLine({ module: frame.module, elf_addr: frame.elf_addr ?? null, kernel: frame.kernel ?? false }).catch(() => null))
    ?? (await findFunctionDefinition(name));
  if (!loc) {
    void vscode.window.showInformationMessage(
      `Packet Path: ${name} (${frame.module}) is not defined in this workspace's C files. Open the folder with its source, or set pktpath.sourceMap.`);
    return;
  }
  const ed = await vscode.window.showTextDocument(loc.uri, { preview: true });
  ed.selection = new vscode.Selection(loc.range.start, loc.range.start);
  ed.revealRange(loc.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
