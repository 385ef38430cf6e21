// No escape reaches the terminal: a hostile session's names and messages, printed by `pktpath`
// (report, report --json, diff, export, a load error; in process through main(), and once as the
// real process) carry no ESC, C1 or bidi control, and --json still gives the same strings back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clampText, hasControls, jsonForTerminal, sanitizeTerminal } from '../../src/core/sanitize.ts';
import { runCli, runCliProcess } from '../helpers/cli-run.ts';

const EVIL = '\u001b]0;owned\u0007\u001b[2J\u009b31m\u202egnp.exe\u2066x\u200f\r\b\u0085';
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

test('sanitizeTerminal replaces one for one and keeps newline and tab', () => {
  assert.equal(sanitizeTerminal('a\u001b[1mb\u009bc\u202ed\n\te'), 'a?[1mb?c?d\n\te');
  assert.equal([...sanitizeTerminal(EVIL)].length, [...EVIL].length);
  assert.ok(hasControls(EVIL) && !hasControls('plain µs ±'));
  assert.equal(JSON.parse(jsonForTerminal({ n: EVIL })).n, EVIL);
  assert.doesNotMatch(jsonForTerminal({ n: EVIL }), FORBIDDEN);
  assert.equal(clampText('x'.repeat(10), 5), 'xxxx…');
  assert.equal(clampText('a\u202eb', 5), 'a?b');
});

function hostileSession(): string {
  const s = JSON.parse(readFileSync('test/fixtures/demo-session.pktpath.json', 'utf8'));
  s.partial = true;
  s.partial_reason = `lost ${EVIL}`;
  s.warnings = [`warn ${EVIL}`];
  s.errors = [`err ${EVIL}`];
  s.end_reason = EVIL;
  s.target.host = `h${EVIL}`;
  s.tracer.version = `v${EVIL}`;
  s.stages[0].name = `st${EVIL}`;
  s.stages[1].attach = { ...s.stages[1].attach, ok: false, error: `attach ${EVIL}` };
  s.stages[2].attach.single_step = true;
  s.stages[2].attach.first_insn = `insn${EVIL}`;
  s.stages[3].attach.warning = `w${EVIL}`;
  s.drops = { [`d${EVIL}`]: 3 };
  for (const f of s.frames.slice(0, 50)) f.fn = `fn${EVIL}`;
  return JSON.stringify(s);
}

function hostileSampled(): string {
  const s = JSON.parse(readFileSync('test/fixtures/demo-session.pktpath.json', 'utf8'));
  s.stages = [];
  s.sampled = {
    sample_hz: 999, samples: 100, unattributed: 10, window_s: 1, packets: 1000,
    packets_source: `netdev ${EVIL}`, counter_packets: 1000, counter_window_s: 1,
    stages: [{ name: `s${EVIL}`, symbol: `sym${EVIL}`, module: `m${EVIL}`, samples: 90, inclusive_samples: 90 }],
  };
  return JSON.stringify(s);
}

test('no ESC, C1 or bidi control reaches stdout or stderr (every command, and the real process)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-hostile-'));
  try {
    const bad = join(dir, 'hostile.pktpath.json');
    const smp = join(dir, 'sampled.pktpath.json');
    const broken = join(dir, `broken${EVIL.slice(0, 4)}.pktpath.json`);
    writeFileSync(bad, hostileSession());
    writeFileSync(smp, hostileSampled());
    writeFileSync(broken, JSON.stringify({ ...JSON.parse(hostileSession()), created: 7, target: 1 }));
    const runs = [
      ['report', bad],
      ['report', smp],
      ['report', bad, '--json'],
      ['diff', bad, bad],
      ['diff', bad, smp, '--json'],
      ['export', bad, '--format', 'folded', '-o', join(dir, 'out.folded')],
      ['report', broken],
    ];
    for (const args of runs) {
      const r = await runCli(...args);
      assert.ok(r.code === 0 || r.code === 1, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, FORBIDDEN, `stdout of ${args[0]} ${args.slice(2).join(' ')}`);
      assert.doesNotMatch(r.stderr, FORBIDDEN, `stderr of ${args[0]} ${args.slice(2).join(' ')}`);
      if (args.includes('--json')) assert.ok(JSON.stringify(JSON.parse(r.stdout)).includes('\\u001b'), 'the JSON keeps the names');
    }
    // the real process: main() over process.stdout/stderr
    const rep = runCliProcess('report', bad);
    assert.doesNotMatch(rep.stdout + rep.stderr, FORBIDDEN);
    assert.match(rep.stdout, /PARTIAL recording: lost \?\]0;owned\?\?\[2J\?31m\?gnp\.exe/);
    const json = JSON.parse((await runCli('report', bad, '--json')).stdout) as { partial_reason: string };
    assert.equal(json.partial_reason, `lost ${EVIL}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('in-process runs are sanitized the same way (every command goes through one Io)', async () => {
  const r = await runCli('nosuch\u001b[31m');
  assert.doesNotMatch(r.stderr, FORBIDDEN);
});
