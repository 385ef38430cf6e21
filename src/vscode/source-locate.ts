// Finds where a function is defined in the workspace's C sources, for "open source" from the views.
import * as vscode from 'vscode';
import { findCFunctions } from './c-functions.ts';

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

export async function openFunctionSource(name: string, frame: { module: string }): Promise<void> {
  const loc = await findFunctionDefinition(name);
  if (!loc) {
    void vscode.window.showInformationMessage(
      `Packet Path: ${name} (${frame.module}) is not defined in this workspace's C files. Open the folder with its source, or set pktpath.sourceMap.`);
    return;
  }
  const ed = await vscode.window.showTextDocument(loc.uri, { preview: true });
  ed.selection = new vscode.Selection(loc.range.start, loc.range.start);
  ed.revealRange(loc.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
