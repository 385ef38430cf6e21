// The long fuzz run: mutated session files × commands, mutated tracer streams, random command
// lines (test/fuzz/harness.ts). Prints cases and crashes per kind; each crash with its seed, which
// replays it (`--seed N --cases 1 --kind K`). Exit status 1 when anything crashed.
//
//   node --import tsx bench/fuzz.ts [--cases 100000] [--seed 1] [--kind session|stream|argv]
import { parseArgs } from 'node:util';
import { runFuzz, type FuzzKind } from '../test/fuzz/harness.ts';

void (async () => {
  const { values } = parseArgs({ options: { cases: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' }, kind: { type: 'string', multiple: true } } });
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  const kinds = values.kind as FuzzKind[] | undefined;
  const t0 = performance.now();
  const r = await runFuzz({
    seed,
    cases,
    ...(kinds ? { kinds } : {}),
    onProgress: (done, crashes) => {
      if (done % 10_000 === 0) process.stderr.write(`  ${done} cases, ${crashes} crashes, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    },
  });
  const s = (performance.now() - t0) / 1000;
  console.log(`fuzz: seeds ${seed}..${seed + cases - 1}, ${s.toFixed(0)} s\n`);
  console.log('kind      cases    crashes');
  for (const k of Object.keys(r.cases) as FuzzKind[]) {
    console.log(`${k.padEnd(8)}  ${String(r.cases[k]).padStart(7)}  ${String(r.crashes.filter((c) => c.kind === k).length).padStart(7)}`);
  }
  const total = Object.values(r.cases).reduce((a, b) => a + b, 0);
  console.log(`${'total'.padEnd(8)}  ${String(total).padStart(7)}  ${String(r.crashes.length).padStart(7)}`);
  for (const c of r.crashes.slice(0, 20)) console.log(`\n${c.kind} seed ${c.seed}: ${c.what}\n  ${c.detail}`);
  process.exitCode = r.crashes.length ? 1 : 0;
})();
