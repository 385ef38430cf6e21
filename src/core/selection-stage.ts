// The stage an editor selection stands for, in sampled mode: a function name under the cursor is
// `inline:BIN:FUNC` (its code wherever it was inlined), any other selection the lines it covers,
// `lines:BIN:FILE:FIRST-LAST`. FILE is the source's basename: the DWARF line table is matched by
// path suffix, so it works wherever the binary was built (a clash is reported by the resolver).

export interface SelectionInput {
  /** path of the document */
  file: string;
  /** 0-based, as the editor counts */
  startLine: number;
  endLine: number;
  /** the selection's end column: 0 at the start of a line means that line is not selected */
  endCharacter: number;
  /** the identifier under the cursor when nothing (or only it) is selected */
  word: string | null;
  /** whether that word names a function of the workspace */
  wordIsFunction: boolean;
}

export interface SelectionStage {
  name: string;
  spec: string;
  kind: 'inline' | 'lines';
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function stageName(raw: string): string {
  const s = raw.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z_]+/, '');
  return (s || 'stage').slice(0, 64);
}

/** The stage for `sel` in the target binary `exe` (its path on the host where it runs). */
export function selectionStage(sel: SelectionInput, exe: string): SelectionStage {
  if (sel.word && sel.wordIsFunction && IDENT.test(sel.word) && sel.startLine === sel.endLine) {
    return { name: stageName(sel.word), spec: `inline:${exe}:${sel.word}`, kind: 'inline' };
  }
  const first = sel.startLine + 1;
  const last = Math.max(first, sel.endCharacter === 0 && sel.endLine > sel.startLine ? sel.endLine : sel.endLine + 1);
  const base = sel.file.slice(Math.max(sel.file.lastIndexOf('/'), sel.file.lastIndexOf('\\')) + 1);
  const stem = base.replace(/\.[^.]*$/, '');
  return { name: stageName(`${stem}_${first}-${last}`), spec: `lines:${exe}:${base}:${first}-${last}`, kind: 'lines' };
}
