// Host aliases offered by the host picker: the `Host` lines of the user's ssh config (and the files
// it Includes), without wildcard patterns. Resolving an alias is src/remote's job; this only lists.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

export function sshConfigHosts(file: string = join(homedir(), '.ssh', 'config'), depth = 0): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(\w+)\s*=?\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const vals = [...m[2]!.matchAll(/"([^"]*)"|(\S+)/g)].map((x) => x[1] ?? x[2]!).filter(Boolean);
    if (key === 'host') {
      for (const v of vals) if (!/[*?!]/.test(v)) out.push(v);
    } else if (key === 'include' && depth < 4) {
      for (const v of vals) {
        const p = v.startsWith('~/') ? join(homedir(), v.slice(2)) : isAbsolute(v) ? v : join(dirname(file), v);
        // Globs in Include are rare enough for a picker; a literal path is read, a pattern is skipped.
        if (!/[*?]/.test(p)) out.push(...sshConfigHosts(p, depth + 1));
      }
    }
  }
  return [...new Set(out)];
}
