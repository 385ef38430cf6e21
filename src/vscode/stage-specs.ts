// Stage arguments for the tracer (NAME=SPEC) from what the user picked: bare function names of the
// profiled binary get a uprobe spec and the packet count guessed from their C signature.

/** Specs for bare function names (`fwd_parse`), using the workspace's signature for the packet count. */
export function stageSpecs(names: readonly string[], exe: string, signatures: Map<string, 'one' | 'ret' | `arg${number}`>): string[] {
  return names.map((n) => {
    if (n.includes('=')) return n;
    const p = signatures.get(n) ?? 'one';
    return `${n}=uprobe:${exe}:${n}${p === 'one' ? '' : `:packets=${p}`}`;
  });
}
