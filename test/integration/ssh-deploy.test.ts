// Deploy over real SSH: the tracer lands in the per-user cache keyed by sha256, is verified on the
// host, and a second deploy reuses it (no upload). The check runs the real tracer as root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkTracer, deployTracer, localTracerFor, sha256File } from '../../src/remote/deploy.ts';
import { openTransport } from '../../src/remote/open.ts';
import { SshTransport } from '../../src/remote/ssh.ts';
import { startSshLab, type SshLab } from '../helpers/sshd.ts';

let lab: SshLab;
const created: string[] = [];
before(async () => {
  lab = await startSshLab();
});
after(async () => {
  for (const d of created) rmSync(d, { recursive: true, force: true });
  await lab?.stop();
});

function builtTracer(): string | undefined {
  try {
    return localTracerFor('x86_64');
  } catch {
    return undefined;
  }
}

test('unbuilt architectures get a clear error', () => {
  assert.throws(() => localTracerFor('aarch64'), /no pktpath tracer is built for aarch64 hosts/);
  assert.throws(() => localTracerFor('x86_64', '/nonexistent-root'), /tracer is not built: looked for/);
});

test('second deploy reuses the cached, verified tracer; a corrupted copy is replaced', async () => {
  // The caching does not depend on what the binary is; without a built tracer a unique ELF stands in.
  let local = builtTracer();
  if (!local) {
    local = join(lab.dir, 'stand-in-tracer');
    copyFileSync('/bin/true', local);
  }
  const t = await openTransport({ host: lab.alias.key, sshConfig: lab.config });
  try {
    assert.ok(t instanceof SshTransport);
    const first = await deployTracer(t, { localTracer: local });
    created.push(join(first.path, '..'));
    const sha = sha256File(local);
    assert.equal(first.sha256, sha);
    assert.match(first.path, new RegExp(`/\\.cache/pktpath/tracer-${sha}/pktpath-tracer$`));
    assert.equal(statSync(first.path).mode & 0o777, 0o755);
    assert.equal(statSync(join(first.path, '..')).mode & 0o777, 0o700);
    const uploadsAfterFirst = t.uploads;
    const mtime = statSync(first.path).mtimeMs;
    const second = await deployTracer(t, { localTracer: local });
    assert.equal(second.uploaded, false);
    assert.equal(second.path, first.path);
    assert.equal(t.uploads, uploadsAfterFirst, 'no upload on reuse');
    assert.equal(statSync(first.path).mtimeMs, mtime);
    // A damaged cached copy fails verification and is uploaded again.
    writeFileSync(first.path, 'corrupt');
    const third = await deployTracer(t, { localTracer: local });
    assert.equal(third.uploaded, true);
    assert.equal(sha256File(third.path), sha);
    assert.equal(t.uploads, uploadsAfterFirst + 1);
  } finally {
    await t.close();
  }
});

test('the deployed tracer runs --check as root and reports what the host lacks', { skip: builtTracer() ? false : 'native-tracer/build/pktpath-tracer is not built' }, async () => {
  const t = await openTransport({ host: lab.alias.key, sshConfig: lab.config });
  try {
    const d = await deployTracer(t);
    created.push(join(d.path, '..'));
    const c = await checkTracer(t, d.path);
    assert.equal(c.via, 'root');
    assert.equal(c.ok, true, c.error ?? '');
    assert.equal(c.features.uprobes, true);
    // This machine has no kprobes (recipes/README.md): the tracer must say so.
    assert.equal(c.features.kprobes, false);
    assert.ok(c.missing.some((m) => /kprobe/i.test(m)), JSON.stringify(c.missing));
  } finally {
    await t.close();
  }
});

test('a tracer that cannot start is reported, not hidden', async () => {
  const t = await openTransport({ host: lab.alias.key, sshConfig: lab.config });
  try {
    const c = await checkTracer(t, join(lab.dir, 'no-such-tracer'));
    assert.equal(c.ok, false);
    assert.match(c.error ?? '', /No such file|not found/);
    assert.equal(existsSync(join(lab.dir, 'no-such-tracer')), false);
  } finally {
    await t.close();
  }
});
