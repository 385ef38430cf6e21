// A node:test reporter that prints, after the run, how long each test file took (slowest first),
// so slow suites are visible in every CI log. Used beside the spec reporter by scripts/test.sh and
// `npm run test:unit`. Plain JavaScript: node loads reporters without the tsx loader.

/** @param {AsyncIterable<{ type: string, data?: { name?: string, file?: string, nesting?: number, details?: { duration_ms?: number, passed?: boolean } } }>} source */
export default async function* durations(source) {
  /** @type {Array<{ file: string, ms: number, passed: boolean }>} */
  const files = [];
  for await (const ev of source) {
    const d = ev.data;
    // with process isolation each file is a test of its own, named by its path
    if (ev.type === 'test:complete' && d?.nesting === 0 && d.file !== undefined && d.file === d.name) {
      files.push({ file: d.file, ms: d.details?.duration_ms ?? 0, passed: d.details?.passed ?? false });
    }
  }
  if (!files.length) return;
  const root = `${process.cwd()}/`;
  const total = files.reduce((s, f) => s + f.ms, 0);
  yield `\nduration per test file (slowest first; ${(total / 1000).toFixed(1)} s in all):\n`;
  for (const f of files.sort((a, b) => b.ms - a.ms)) {
    const name = f.file.startsWith(root) ? f.file.slice(root.length) : f.file;
    yield `${(f.ms / 1000).toFixed(1).padStart(8)} s  ${f.passed ? '    ' : 'FAIL'}  ${name}\n`;
  }
}
