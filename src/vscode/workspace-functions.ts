// The C functions defined in the workspace, for stage suggestions (a quick scan, not a parser).
import * as vscode from 'vscode';
import { findCFunctions, type CFunction } from './c-functions.ts';

export interface WorkspaceFunction extends CFunction {
  uri: vscode.Uri;
}

const MAX_FILES = 2000;
const MAX_BYTES = 1 << 20;

export async function workspaceCFunctions(token?: vscode.CancellationToken): Promise<WorkspaceFunction[]> {
  const files = await vscode.workspace.findFiles('**/*.{c,cc,cpp}', '{**/node_modules/**,**/.git/**,**/build/**}', MAX_FILES, token);
  const out: WorkspaceFunction[] = [];
  for (const uri of files) {
    if (token?.isCancellationRequested) break;
    const bytes = await vscode.workspace.fs.readFile(uri);
    if (bytes.length > MAX_BYTES) continue;
    for (const f of findCFunctions(new TextDecoder().decode(bytes))) out.push({ ...f, uri });
  }
  return out;
}
