// A host whose sshd has no SFTP subsystem ("Unable to start subsystem: sftp"): the tracer is
// deployed over the exec channel (cat > a temp file, sha256 checked, renamed) and `pktpath record
// --host` records through it. Real sshd (test/helpers/sshd.ts) started without `Subsystem sftp`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { checkTracer, deployTracer, localTracerFor, sha256File } from '../../src/remote/deploy.ts';
import { openTransport } from '../../src/remote/open.ts';
import { loadSession } from '../../src/core/session-io.ts';
import { startSshLab, type SshLab } from '../helpers/sshd.ts';

let lab: SshLab;
const created: string[] = [];
before(async () => {
  lab = await startSshLab({ sftp: false });
});
after(async () => {
  for (const d of created) rmSync(d, { recursive: true, force: true });
  await lab?.stop();
});

test('no SFTP on the host: deploy goes over the exec channel, verified, and the tracer runs', { timeout: 120_000 }, async () => {
  const local = join(lab.dir, 'pktpath-tracer');
  copyFileSync(localTracerFor('x86_64'), local);
  appendFileSync(local, `\nhostile-files ${Date.now()}\n`); // a unique copy: never already in the cache
  const t = await openTransport({ host: lab.alias.key, sshConfig: lab.config });
  try {
    await assert.rejects(t.upload(local, join(lab.dir, 'x'), 0o755), /SFTP unavailable/);
    const d = await deployTracer(t, { localTracer: local });
    created.push(join(d.path, '..'));
    assert.equal(d.uploaded, true);
    assert.equal(d.sha256, sha256File(local));
    assert.equal(sha256File(d.path), d.sha256);
    assert.equal(statSync(d.path).mode & 0o777, 0o755);
    const again = await deployTracer(t, { localTracer: local });
    assert.equal(again.uploaded, false, 'the verified copy is reused');
    const c = await checkTracer(t, d.path);
    assert.ok(c.ok, c.error ?? '');
  } finally {
    await t.close();
  }
});

test('no SFTP on the host: `pktpath record --host` records', { timeout: 120_000 }, () => {
  const built = localTracerFor('x86_64');
  const cache = join(homedir(), '.cache', 'pktpath', `tracer-${sha256File(built)}`);
  rmSync(cache, { recursive: true, force: true }); // so this record uploads it, without SFTP
  created.push(cache);
  const out = join(lab.dir, 'nosftp.pktpath.json');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'record', '--kernel', '--stage', 'rx=tracepoint:net:netif_receive_skb',
    '--duration', '2', '--host', lab.alias.key, '--ssh-config', lab.config, '-o', out], { encoding: 'utf8', timeout: 100_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(cache, 'pktpath-tracer')), 'uploaded over the exec channel');
  return loadSession(out).then((s) => {
    assert.equal(s.target.host, lab.alias.key);
    assert.equal(s.stages[0]?.attach.ok, true, s.stages[0]?.attach.error ?? '');
  });
});
